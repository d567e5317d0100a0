/**
 * fs-verity digests against the notes' known answers and against `fsverity digest` (fsverity-utils)
 * on random inputs of many sizes, block sizes, algorithms and salts.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FormatError, UsageError } from "../../../src/errors.js";
import { FsverityTree, formatDigest, formattedDigest, fsverityDigest, parseDigest, parseFormattedDigest } from "../../../src/formats/verity/fsverity.js";
import { run } from "../../helpers/run.js";
import { withTempDir } from "../../helpers/tmp.js";

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i % 11 + i % 439 + i % 1103) & 0xff;
  return b;
}

function fsverityTool(file: string, alg: string, bs: number, salt?: Uint8Array): string {
  const args = ["digest", file, `--hash-alg=${alg}`, `--block-size=${bs}`, "--compact"];
  if (salt) args.push(`--salt=${Buffer.from(salt).toString("hex")}`);
  return `${alg}:${run("fsverity", args).stdout.trim()}`;
}

test("known answers from the notes", () => {
  assert.equal(formatDigest(fsverityDigest(pattern(1_000_000))), "sha256:48df0c462329cd879661bd05b39aa81b05cc16afd27a7196a559da83531d39d9");
  assert.equal(formatDigest(fsverityDigest(new Uint8Array(0))), "sha256:3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95");
  assert.deepEqual(fsverityDigest(new Uint8Array(0)).rootHash, new Uint8Array(32));
});

test("equals `fsverity digest` for sizes, block sizes, algorithms and salts", async () => {
  await withTempDir(async (dir) => {
    const sizes = [0, 1, 4095, 4096, 4097, 129 * 4096, 128 * 4096 + 1, 300_001];
    const cases: [string, number, Uint8Array | undefined][] = [
      ["sha256", 4096, undefined], ["sha512", 4096, undefined], ["sha256", 1024, undefined], ["sha512", 1024, randomBytes(32)],
      ["sha256", 65536, randomBytes(1)], ["sha256", 4096, randomBytes(17)], ["sha512", 16384, randomBytes(3)], ["sha256", 2048, undefined],
    ];
    let n = 0;
    for (const size of sizes) {
      const data = randomBytes(size);
      const file = join(dir, `f${size}`);
      writeFileSync(file, data);
      for (const [alg, bs, salt] of cases) {
        const ours = formatDigest(fsverityDigest(data, { algorithm: alg as "sha256" | "sha512", blockSize: bs, salt }));
        assert.equal(ours, fsverityTool(file, alg, bs, salt), `size ${size} ${alg} block ${bs} salt ${salt?.length ?? 0}`);
        n++;
      }
    }
    assert.equal(n, sizes.length * 8);
  });
});

test("multi-level trees: more than 128*128 blocks (3 levels at sha256/4096) and deep 1 KiB/sha512 trees", async () => {
  await withTempDir(async (dir) => {
    for (const [size, alg, bs] of [[128 * 128 * 4096 + 4096 * 3 + 5, "sha256", 4096], [17 * 16 * 16 * 1024 + 1, "sha512", 1024]] as const) {
      const data = randomBytes(size);
      const file = join(dir, "big");
      writeFileSync(file, data);
      assert.equal(formatDigest(fsverityDigest(data, { algorithm: alg, blockSize: bs })), fsverityTool(file, alg, bs));
    }
  });
});

test("a real file: the Debian initramfs in /boot", async () => {
  const { readdirSync, readFileSync } = await import("node:fs");
  const name = readdirSync("/boot").find((f) => f.startsWith("initrd.img-"));
  assert.ok(name, "no /boot/initrd.img-* (setup.sh installs linux-image-amd64)");
  const file = join("/boot", name);
  assert.equal(formatDigest(fsverityDigest(readFileSync(file))), fsverityTool(file, "sha256", 4096));
});

test("streaming: digests fed in uneven whole-block runs and a partial tail give the one-shot result", () => {
  const data = randomBytes(4096 * 1000 + 77);
  const t = new FsverityTree();
  let at = 0;
  for (const blocks of [1, 127, 128, 129, 3, 500]) {
    t.addData(data.subarray(at, at + blocks * 4096));
    at += blocks * 4096;
  }
  t.addData(data.subarray(at));
  assert.deepEqual(t.digest(), fsverityDigest(data));
});

test("formatted digest: layout, round trip and strict parsing", () => {
  const d = parseDigest("sha512:" + "ab".repeat(64));
  const f = formattedDigest(d);
  assert.equal(Buffer.from(f.subarray(0, 12)).toString("hex"), Buffer.from("FSVerity").toString("hex") + "0200" + "4000");
  assert.deepEqual(parseFormattedDigest(f), d);
  assert.throws(() => parseFormattedDigest(f.subarray(0, 40)), FormatError);
  const bad = new Uint8Array(f);
  bad[8] = 9;
  assert.throws(() => parseFormattedDigest(bad), (e: unknown) => e instanceof FormatError && e.offset === 8);
  assert.throws(() => parseDigest("sha256:abcd"), UsageError);
  assert.throws(() => fsverityDigest(new Uint8Array(1), { blockSize: 512 }), UsageError);
  assert.throws(() => fsverityDigest(new Uint8Array(1), { salt: new Uint8Array(33) }), UsageError);
});
