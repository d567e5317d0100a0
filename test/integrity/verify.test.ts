/**
 * appendVerityHashTree against `veritysetup format --hash-offset` on the same file (and
 * `veritysetup verify` on ours), fsverityDigestOfFile with and without worker threads against
 * `fsverity digest`, and verifyImage detecting single-byte changes at random offsets in every mode.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DmVerityConfig, dmVerityConfigOf, IntegrityConfig } from "../../src/formats/storage-init-config/index.js";
import { UsageError } from "../../src/errors.js";
import { formatDigest } from "../../src/formats/verity/fsverity.js";
import { bytesSource } from "../../src/integrity/byte-source.js";
import { appendVerityHashTree } from "../../src/integrity/dm-verity-file.js";
import { fsverityDigestOfFile } from "../../src/integrity/fsverity-file.js";
import { signFsverityDigest, signRootHash } from "../../src/integrity/signature.js";
import { verifyImage } from "../../src/integrity/verify.js";
import { mkfsErofs } from "../helpers/erofs.js";
import { makeTestKey } from "../helpers/keys.js";
import { prng, randInt } from "../helpers/prng.js";
import { run } from "../helpers/run.js";
import { withTempDir } from "../helpers/tmp.js";

const UUID = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";

/** A real EROFS image made by mkfs.erofs from random files. */
function erofsImage(dir: string, files: number, maxSize: number): string {
  const src = join(dir, "src");
  mkdirSync(src);
  const rnd = prng(files);
  for (let i = 0; i < files; i++) writeFileSync(join(src, `f${i}`), randomBytes(randInt(rnd, maxSize)));
  const image = join(dir, "image.erofs");
  mkfsErofs(image, src);
  return image;
}

test("appendVerityHashTree writes what `veritysetup format --hash-offset` writes into the same file", async () => {
  await withTempDir(async (dir) => {
    const image = erofsImage(dir, 40, 300_000);
    const size = statSync(image).size;
    for (const [algorithm, hashType, salt] of [["sha256", 1, "5a".repeat(32)], ["sha512", 0, "-"], ["sha1", 1, "0102"]] as const) {
      const ours = join(dir, "ours");
      const theirs = join(dir, "theirs");
      copyFileSync(image, ours);
      copyFileSync(image, theirs);
      const r = await appendVerityHashTree(ours, { algorithm, hashType, salt: salt === "-" ? new Uint8Array(0) : Buffer.from(salt, "hex"), uuid: Buffer.from(UUID.replace(/-/g, ""), "hex") });
      const rc = dmVerityConfigOf(r.params, r.rootHash);
      const out = run("veritysetup", ["format", theirs, theirs, `--hash-offset=${size}`, `--data-blocks=${size / 4096}`, `--hash=${algorithm}`, `--format=${hashType}`, `--salt=${salt}`, `--uuid=${UUID}`]).stdout;
      assert.equal(rc.rootHash, /Root hash:\s+([0-9a-f]+)/.exec(out)?.[1], algorithm);
      assert.ok(Buffer.compare(readFileSync(ours), readFileSync(theirs)) === 0, `${algorithm}: files differ`);
      assert.deepEqual({ dataBlocks: rc.dataBlocks, hashOffset: rc.hashOffset, size: r.size }, { dataBlocks: size / 4096, hashOffset: size, size: statSync(ours).size });
      // veritysetup's own check of our file
      run("veritysetup", ["verify", ours, ours, rc.rootHash, `--hash-offset=${size}`, `--data-blocks=${size / 4096}`]);
      assert.deepEqual(await verifyImage(ours, rc), { ok: true, mode: "dm-verity", computed: rc.rootHash });
    }
  });
});

test("appendVerityHashTree refuses an image that is not whole 4096-byte blocks and leaves it as it was", async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, "odd");
    const data = randomBytes(4096 * 3 + 1);
    writeFileSync(f, data);
    await assert.rejects(appendVerityHashTree(f), UsageError);
    assert.ok(Buffer.compare(readFileSync(f), data) === 0);
  });
});

test("fsverityDigestOfFile: in this thread and on worker threads, equal to `fsverity digest`", async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, "data");
    writeFileSync(f, randomBytes((9 << 20) + 12345));
    const want = "sha256:" + run("fsverity", ["digest", f, "--compact"]).stdout.trim();
    for (const workers of [0, 1, 2, 3]) assert.equal(formatDigest(await fsverityDigestOfFile(f, { workers })), want, `workers ${workers}`);
    const want512 = "sha512:" + run("fsverity", ["digest", f, "--compact", "--hash-alg=sha512", "--block-size=1024"]).stdout.trim();
    assert.equal(formatDigest(await fsverityDigestOfFile(f, { workers: 2, algorithm: "sha512", blockSize: 1024 })), want512);
  });
});

/** Flips one byte at each of `count` random offsets in [from, to) and expects verification to fail. */
async function everyChangeDetected(bytes: Uint8Array, from: number, to: number, count: number, seed: number, check: (b: Uint8Array) => Promise<boolean>): Promise<number> {
  const rnd = prng(seed);
  assert.equal(await check(bytes), true, "the unchanged image must verify");
  let n = 0;
  for (let i = 0; i < count; i++) {
    const at = from + randInt(rnd, to - from);
    const old = bytes[at];
    bytes[at] ^= 1 + randInt(rnd, 255);
    try {
      assert.equal(await check(bytes), false, `change at offset ${at} not detected`);
    } finally {
      bytes[at] = old;
    }
    n++;
  }
  return n;
}

test("verifyImage detects every single-byte change at random offsets: fs-verity, copy, dm-verity data and hash area, signatures", async () => {
  await withTempDir(async (dir) => {
    const image = erofsImage(dir, 30, 200_000);
    const plain = new Uint8Array(readFileSync(image));
    const key = makeTestKey(dir);

    // fs-verity digest and copy: the whole file
    const d = await fsverityDigestOfFile(image);
    for (const mode of ["fs-verity", "copy"] as const) {
      const cfg: IntegrityConfig = { mode, algorithm: "sha256", digest: Buffer.from(d.digest).toString("hex") };
      const n = await everyChangeDetected(plain, 0, plain.length, 40, 1, async (b) => (await verifyImage(bytesSource(b), cfg, { workers: 0 })).ok);
      assert.equal(n, 40);
    }

    // dm-verity: data blocks and the hash area (superblock, padding, tree)
    const withTree = join(dir, "verity");
    copyFileSync(image, withTree);
    const r = await appendVerityHashTree(withTree, { salt: randomBytes(32) });
      const rc = dmVerityConfigOf(r.params, r.rootHash);
    const v = new Uint8Array(readFileSync(withTree));
    const cfg: DmVerityConfig = rc;
    const ok = async (b: Uint8Array) => (await verifyImage(bytesSource(b), cfg, { workers: 0 })).ok;
    assert.equal(await everyChangeDetected(v, 0, cfg.hashOffset, 40, 2, ok), 40);
    assert.equal(await everyChangeDetected(v, cfg.hashOffset, v.length, 40, 3, ok), 40);
    // every byte of the superblock's block, exhaustively, except the UUID (not part of the config)
    for (let at = cfg.hashOffset; at < cfg.hashOffset + 4096; at++) {
      if (at >= cfg.hashOffset + 16 && at < cfg.hashOffset + 32) continue;
      v[at] ^= 0x80;
      assert.equal(await ok(v), false, `superblock byte ${at - cfg.hashOffset}`);
      v[at] ^= 0x80;
    }

    // signatures: fs-verity digest and dm-verity root hash signed; image changes break them
    const fsSig = signFsverityDigest(d, key.key, key.cert);
    const fsCfg: IntegrityConfig = { mode: "fs-verity", algorithm: "sha256", digest: Buffer.from(d.digest).toString("hex") };
    assert.equal((await verifyImage(bytesSource(plain), fsCfg, { signature: fsSig, certificate: key.cert })).signature, "verified");
    await everyChangeDetected(plain, 0, plain.length, 20, 4, async (b) => (await verifyImage(bytesSource(b), fsCfg, { signature: fsSig, certificate: key.cert, workers: 0 })).ok);
    const rootSig = signRootHash(cfg.rootHash, key.key, key.cert);
    await everyChangeDetected(v, 0, v.length, 20, 5, async (b) => (await verifyImage(bytesSource(b), cfg, { signature: rootSig, certificate: key.cert, workers: 0 })).ok);
    // a signature of another root hash fails even though the image matches the config
    const wrong = await verifyImage(bytesSource(v), cfg, { signature: signRootHash("00".repeat(32), key.key, key.cert), certificate: key.cert });
    assert.equal(wrong.ok, false);
    assert.equal(wrong.signature, "failed");
  });
});

test("verifyImage reasons: truncated image, wrong root hash", async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, "img");
    writeFileSync(f, randomBytes(4096 * 10));
    const r = await appendVerityHashTree(f, {});
      const rc = dmVerityConfigOf(r.params, r.rootHash);
    const all = readFileSync(f);
    const cut = await verifyImage(bytesSource(all.subarray(0, all.length - 1)), rc);
    assert.match(cut.reason ?? "", /hash tree ends at byte/);
    const other = await verifyImage(f, { ...rc, rootHash: "11".repeat(32) });
    assert.match(other.reason ?? "", /root hash [0-9a-f]{64} does not match the expected 1111/);
  });
});

test("verifyImage accepts veritysetup's own layout with a gap between the data and the hash offset", async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, "img");
    writeFileSync(f, randomBytes(4096 * 33));
    const out = run("veritysetup", ["format", f, f, "--data-blocks=30", `--hash-offset=${4096 * 40}`, "--hash=sha512", "--format=0", "--salt=abcd"]).stdout;
    const rootHash = /Root hash:\s+([0-9a-f]+)/.exec(out)![1];
    const cfg: DmVerityConfig = { mode: "dm-verity", rootHash, salt: "abcd", hashAlgorithm: "sha512", hashType: 0, dataBlocks: 30, hashOffset: 4096 * 40 };
    assert.deepEqual(await verifyImage(f, cfg), { ok: true, mode: "dm-verity", computed: rootHash });
    assert.equal((await verifyImage(f, { ...cfg, salt: "abce" })).ok, false);
    assert.equal((await verifyImage(f, { ...cfg, dataBlocks: 29 })).ok, false);
  });
});
