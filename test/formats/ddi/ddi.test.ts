/**
 * DDIs against systemd's own tools: systemd-repart 252 makes the same disk image, byte for byte,
 * from the same EROFS file once given its random salt, verity UUID and seed-derived disk GUID;
 * systemd-dissect reads ours and pairs its partitions with the root hash; veritysetup verifies the
 * hash partition; openssl verifies the signature partition. Damage anywhere is refused.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FormatError } from "../../../src/errors.js";
import { decodeVeritySignature } from "../../../src/formats/ddi/index.js";
import { toHex } from "../../../src/formats/verity/algorithms.js";
import { decodeVeritySuperblock } from "../../../src/formats/verity/dm-verity.js";
import { readDdi, verifyDdi, writeDdi } from "../../../src/integrity/ddi-file.js";
import { mkfsErofs } from "../../helpers/erofs.js";
import { makeTestKey } from "../../helpers/keys.js";
import { randomBytes } from "../../helpers/prng.js";
import { hasCommand, run } from "../../helpers/run.js";
import { withTempDir } from "../../helpers/tmp.js";

const SEED = "e2a40bf9-73f1-4278-9160-49c031e7aedd";

function makeErofs(dir: string, bytes = 3_000_000): string {
  const src = join(dir, "src");
  mkdirSync(join(src, "etc"), { recursive: true });
  writeFileSync(join(src, "etc", "hello"), "hello\n");
  writeFileSync(join(src, "etc", "blob"), randomBytes(bytes, 7));
  const img = join(dir, "root.erofs");
  mkfsErofs(img, src, ["-T0", "-U", "11111111-2222-3333-4444-555555555555"]);
  return img;
}

/** repart.d for root + root-verity (+ signature) of `erofs`, the partition sizes pinned to ours */
function repart(dir: string, erofs: string, out: string, sizes: number[], key?: { keyFile: string; certFile: string }): void {
  const defs = join(dir, "repart.d");
  mkdirSync(defs, { recursive: true });
  const size = (n: number) => `SizeMinBytes=${n}\nSizeMaxBytes=${n}\n`;
  writeFileSync(join(defs, "10-root.conf"), `[Partition]\nType=root\nCopyBlocks=${erofs}\nVerity=data\nVerityMatchKey=root\nReadOnly=yes\nGrowFileSystem=no\n${size(sizes[0])}`);
  writeFileSync(join(defs, "20-verity.conf"), `[Partition]\nType=root-verity\nVerity=hash\nVerityMatchKey=root\nReadOnly=yes\n${size(sizes[1])}`);
  if (key) writeFileSync(join(defs, "30-sig.conf"), "[Partition]\nType=root-verity-sig\nVerity=signature\nVerityMatchKey=root\n");
  run("systemd-repart", [
    `--definitions=${defs}`, "--empty=create", "--size=auto", "--dry-run=no", `--seed=${SEED}`, "--pretty=no", "--json=off",
    ...(key ? [`--private-key=${key.keyFile}`, `--certificate=${key.certFile}`] : []), out,
  ]);
}

const sfdisk = (f: string) => JSON.parse(run("sfdisk", ["--json", f]).stdout).partitiontable;

test("byte for byte what systemd-repart writes from the same EROFS file", { skip: !hasCommand("systemd-repart") && "systemd-repart is not installed" }, () => withTempDir(async (dir) => {
  const erofs = makeErofs(dir);
  // our layout first, to give repart the same partition sizes (252 has no Minimize=)
  const probe = await writeDdi(erofs, join(dir, "probe.raw"), { salt: new Uint8Array(32), uuid: new Uint8Array(16), blockSize: 512 });
  const ref = join(dir, "repart.raw");
  repart(dir, erofs, ref, probe.table.partitions.map((p) => p.size));
  // repart 252 picks a random salt and verity UUID: read them back, with the disk GUID from the seed
  const refBytes = readFileSync(ref);
  const table = sfdisk(ref);
  const sb = decodeVeritySuperblock(refBytes.subarray(table.partitions[1].start * 512), 0, ref);
  const ours = join(dir, "ours.raw");
  const w = await writeDdi(erofs, ours, { salt: sb.salt, uuid: sb.uuid, blockSize: sb.dataBlockSize, diskGuid: table.id.toLowerCase() });
  assert.equal(sb.dataBlockSize, 512);
  const oursBytes = readFileSync(ours);
  assert.equal(oursBytes.length, refBytes.length);
  const diff = oursBytes.findIndex((b, i) => b !== refBytes[i]);
  assert.equal(diff, -1, `first difference at byte ${diff}`);
  // repart's root hash is the partition GUIDs' halves, unchanged (no UUID version bits)
  assert.equal((table.partitions[0].uuid + table.partitions[1].uuid).replace(/-/g, "").toLowerCase(), toHex(w.rootHash));
}));

test("signed: the signature partition's JSON as repart writes it, and openssl verifies ours", { skip: !hasCommand("systemd-repart") && "systemd-repart is not installed" }, () => withTempDir(async (dir) => {
  const erofs = makeErofs(dir, 200_000);
  const key = makeTestKey(dir);
  const ours = join(dir, "ours.raw");
  const w = await writeDdi(erofs, ours, { salt: new Uint8Array(32).fill(1), uuid: new Uint8Array(16).fill(2), sign: { key: key.key, cert: readFileSync(key.certFile) } });
  const ref = join(dir, "repart.raw");
  repart(dir, erofs, ref, [w.table.partitions[0].size, 1 << 20], key);
  const readSig = (f: string) => {
    const t = sfdisk(f);
    const p = t.partitions[2];
    assert.equal(p.type, "41092B05-9FC8-4523-994F-2DEF0408B176");
    const raw = readFileSync(f).subarray(p.start * 512, (p.start + p.size) * 512);
    assert.equal(raw.length % 4096, 0);
    return { raw, sig: decodeVeritySignature(raw, p.start * 512, f) };
  };
  const a = readSig(ours);
  const b = readSig(ref);
  // same keys in the same order, same fingerprint of the same certificate
  const keys = (raw: Uint8Array) => Object.keys(JSON.parse(Buffer.from(raw).toString("utf8").replace(/\0+$/, "")));
  assert.deepEqual(keys(a.raw), keys(b.raw));
  assert.deepEqual(keys(a.raw), ["rootHash", "certificateFingerprint", "signature"]);
  const fp = run("openssl", ["x509", "-in", key.certFile, "-noout", "-fingerprint", "-sha256"]).stdout.split("=")[1].trim().replace(/:/g, "").toLowerCase();
  assert.equal(a.sig.certificateFingerprint, fp);
  assert.equal(b.sig.certificateFingerprint, fp);
  assert.equal(a.sig.rootHash, toHex(w.rootHash));
  // both signatures are detached PKCS#7 over the root hash hex string: openssl checks ours and repart's
  for (const [name, s] of [["ours", a.sig], ["repart", b.sig]] as const) {
    writeFileSync(join(dir, `${name}.p7s`), s.signature);
    writeFileSync(join(dir, `${name}.txt`), s.rootHash);
    run("openssl", ["smime", "-verify", "-binary", "-inform", "DER", "-in", join(dir, `${name}.p7s`), "-content", join(dir, `${name}.txt`),
      "-certfile", key.certFile, "-nointern", "-noverify", "-out", "/dev/null"]);
  }
  const v = await verifyDdi(ours, { certificate: key.cert, rootHash: a.sig.rootHash });
  assert.deepEqual([v.ok, v.reason, v.rootHash, v.signature], [true, undefined, a.sig.rootHash, "verified"]);
  // and repart's DDI passes our verifier too (512-byte verity blocks, its signature embeds the certificate)
  const r = await verifyDdi(ref, { certificate: key.cert });
  assert.equal(r.ok, true, r.reason);
  assert.equal(r.signature, "verified");
}));

test("veritysetup verifies our hash partition over our root partition (4096-byte blocks)", () => withTempDir(async (dir) => {
  const erofs = makeErofs(dir, 500_000);
  const ours = join(dir, "ours.raw");
  const w = await writeDdi(erofs, ours, { salt: randomBytes(32, 3), uuid: randomBytes(16, 4) });
  const bytes = readFileSync(ours);
  const [root, verity] = w.table.partitions;
  writeFileSync(join(dir, "data"), bytes.subarray(root.offset, root.offset + root.size));
  writeFileSync(join(dir, "hash"), bytes.subarray(verity.offset, verity.offset + verity.size));
  assert.deepEqual(bytes.subarray(root.offset, root.offset + root.size), readFileSync(erofs));
  const dump = run("veritysetup", ["dump", join(dir, "hash")]).stdout;
  assert.match(dump, /Data blocks:\s+(\d+)/);
  assert.equal(Number(/Data blocks:\s+(\d+)/.exec(dump)![1]) * 4096, root.size);
  run("veritysetup", ["verify", join(dir, "data"), join(dir, "hash"), toHex(w.rootHash)]);
  // a flipped data byte: veritysetup and we both refuse
  bytes[root.offset + 5000] ^= 1;
  writeFileSync(join(dir, "data"), bytes.subarray(root.offset, root.offset + root.size));
  assert.notEqual(run("veritysetup", ["verify", join(dir, "data"), join(dir, "hash"), toHex(w.rootHash)], { allowFail: true }).code, 0);
}));

test("systemd-dissect reads our DDI: partitions, labels, GUIDs, and the root hash pairs with them", { skip: (!hasCommand("systemd-dissect") && "systemd-dissect (systemd-container) is not installed") || (process.getuid?.() !== 0 && "systemd-dissect attaches a loop device: needs root") }, () => withTempDir(async (dir) => {
  const erofs = makeErofs(dir, 200_000);
  const key = makeTestKey(dir);
  const ours = join(dir, "ours.raw");
  const w = await writeDdi(erofs, ours, { salt: randomBytes(32, 5), uuid: randomBytes(16, 6), sign: { key: key.key, cert: readFileSync(key.certFile) } });
  const plain = JSON.parse(run("systemd-dissect", ["--json=short", ours]).stdout);
  assert.deepEqual(plain.mounts.map((m: Record<string, unknown>) => [m.designator, m.partition_uuid, m.partition_label, m.fstype, m.architecture, m.rw, m.growfs]), [
    ["root", w.table.partitions[0].guid, "root-x86-64", "erofs", "x86-64", "ro", false],
    ["root-verity", w.table.partitions[1].guid, "root-x86-64-verity", "DM_verity_hash", "x86-64", "ro", false],
    ["root-verity-sig", w.table.partitions[2].guid, "root-x86-64-verity-sig", "verity_hash_signature", "x86-64", "ro", false],
  ]);
  assert.equal(plain.size, w.size);
  // dissect read the root hash from our signature JSON and found the partitions by its halves
  assert.equal(plain.mounts[0].verity, "signed");
  // unsigned: given our root hash, dissect pairs the partitions with it; a wrong one pairs nothing
  const unsigned = join(dir, "unsigned.raw");
  const u = await writeDdi(erofs, unsigned, { salt: randomBytes(32, 5), uuid: randomBytes(16, 6) });
  const verityOf = (...args: string[]) => {
    const r = run("systemd-dissect", ["--json=short", ...args, unsigned], { allowFail: true });
    return r.code === 0 ? JSON.parse(r.stdout).mounts[0].verity : `exit ${r.code}`;
  };
  assert.equal(verityOf(), "no");
  assert.equal(verityOf(`--root-hash=${toHex(u.rootHash)}`), "yes");
  assert.notEqual(verityOf(`--root-hash=${"0".repeat(64)}`), "yes");
}));

test("damage is refused: data, hash partition, GPT, signature JSON's root hash", () => withTempDir(async (dir) => {
  const erofs = makeErofs(dir, 200_000);
  const key = makeTestKey(dir);
  const ours = join(dir, "ours.raw");
  const w = await writeDdi(erofs, ours, { salt: randomBytes(32, 8), uuid: randomBytes(16, 9), sign: { key: key.key, cert: readFileSync(key.certFile) } });
  const good = readFileSync(ours);
  const hex = toHex(w.rootHash);
  const [root, verity, sig] = w.table.partitions;
  assert.equal((await verifyDdi(ours, { rootHash: hex, certificate: key.cert })).ok, true);
  const tamper = async (name: string, damage: (b: Buffer) => void, why: RegExp) => {
    const b = Buffer.from(good);
    damage(b);
    const f = join(dir, `${name}.raw`);
    writeFileSync(f, b);
    try {
      const r = await verifyDdi(f, { rootHash: hex, certificate: key.cert });
      assert.equal(r.ok, false, name);
      assert.match(r.reason!, why, name);
    } catch (e) {
      assert.ok(e instanceof FormatError, `${name}: ${e}`);
      assert.match(e.message, why, name);
    }
  };
  await tamper("data", (b) => (b[root.offset + 100_000] ^= 1), /hash block at offset \d+ does not match/);
  await tamper("hash", (b) => (b[verity.offset + 4096 + 7] ^= 1), /hash block at offset \d+ does not match|root hash .* does not match the pinned/);
  await tamper("gpt", (b) => (b[512 + 56] ^= 1), /offset 528: GPT: header CRC32 mismatch/);
  const json = good.subarray(sig.offset, sig.offset + sig.size).toString("latin1");
  const other = (hex[0] === "0" ? "1" : "0") + hex.slice(1);
  await tamper("sig", (b) => b.write(json.replace(hex, other), sig.offset, "latin1"), /the signature partition names root hash/);
  // a well-formed DDI with another root hash: the pin refuses it
  const r = await verifyDdi(ours, { rootHash: createHash("sha256").update("x").digest("hex") });
  assert.equal(r.ok, false);
  assert.match(r.reason!, /does not match the pinned/);
  assert.equal(readDdi(ours).signature?.rootHash, hex);
}));
