/**
 * dm-verity hash areas against the notes' known answers and against `veritysetup format`
 * (cryptsetup): the whole hash device, byte for byte, with --salt and --uuid given.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FormatError, UsageError } from "../../../src/errors.js";
import { HashName, toHex } from "../../../src/formats/verity/algorithms.js";
import { decodeVeritySuperblock, dmVerityHashArea, verityTableLine } from "../../../src/formats/verity/dm-verity.js";
import { run } from "../../helpers/run.js";
import { withTempDir } from "../../helpers/tmp.js";

const SALT = "e48da609055204e89ae53b655ca2216dd983cf3cb829f34f63a297d106d53e2d";
const UUID = "8f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

test("known answers from the notes (8 MiB of zeros)", () => {
  const z = new Uint8Array(8 << 20);
  assert.equal(toHex(dmVerityHashArea(z, { salt: Buffer.from(SALT, "hex") }).rootHash), "e522df0f97da4febb882ac40f30b37dc0b444bf6df418929463fa25280f09d5c");
  assert.equal(toHex(dmVerityHashArea(z, {}).rootHash), "ef29c902d87350f1da4bfa536e16cebc162a909bf89abe448b81ec500d4fb9bf");
});

interface Case { blocks: number; alg: HashName; type: 0 | 1; dbs: number; hbs: number; salt: string }

function veritysetup(dir: string, data: Uint8Array, c: Case): { root: string; hash: Buffer } {
  const dataFile = join(dir, "data");
  const hashFile = join(dir, "hash");
  writeFileSync(dataFile, data);
  writeFileSync(hashFile, "");
  const out = run("veritysetup", [
    "format", dataFile, hashFile, `--hash=${c.alg}`, `--format=${c.type}`, `--data-block-size=${c.dbs}`, `--hash-block-size=${c.hbs}`,
    `--salt=${c.salt || "-"}`, `--uuid=${UUID}`, `--data-blocks=${c.blocks}`,
  ]).stdout;
  const root = /Root hash:\s+([0-9a-f]+)/.exec(out)?.[1];
  assert.ok(root, out);
  return { root, hash: readFileSync(hashFile) };
}

test("the whole hash device equals `veritysetup format`: sizes, algorithms, both formats, block sizes, salts", async () => {
  await withTempDir(async (dir) => {
    const cases: Case[] = [];
    for (const blocks of [1, 2, 127, 128, 129, 129 * 128 + 1]) cases.push({ blocks, alg: "sha256", type: 1, dbs: 4096, hbs: 4096, salt: SALT });
    for (const alg of ["sha1", "sha512"] as const) for (const type of [0, 1] as const) cases.push({ blocks: 300, alg, type, dbs: 4096, hbs: 4096, salt: "00ff11" });
    cases.push({ blocks: 1000, alg: "sha256", type: 0, dbs: 4096, hbs: 4096, salt: SALT });
    cases.push({ blocks: 1000, alg: "sha256", type: 1, dbs: 4096, hbs: 4096, salt: "" });
    cases.push({ blocks: 3000, alg: "sha256", type: 1, dbs: 512, hbs: 1024, salt: "ab" });
    cases.push({ blocks: 700, alg: "sha512", type: 1, dbs: 1024, hbs: 4096, salt: "cd".repeat(256) });
    cases.push({ blocks: 500, alg: "sha1", type: 0, dbs: 4096, hbs: 512, salt: "" });
    cases.push({ blocks: 40, alg: "sha256", type: 1, dbs: 65536, hbs: 65536, salt: "01" });
    for (const c of cases) {
      const data = randomBytes(c.blocks * c.dbs);
      const ref = veritysetup(dir, data, c);
      const ours = dmVerityHashArea(data, {
        algorithm: c.alg, hashType: c.type, dataBlockSize: c.dbs, hashBlockSize: c.hbs,
        salt: Buffer.from(c.salt, "hex"), uuid: Buffer.from(UUID.replace(/-/g, ""), "hex"),
      });
      const what = JSON.stringify({ ...c, salt: c.salt.length / 2 });
      assert.equal(toHex(ours.rootHash), ref.root, what);
      assert.equal(ours.area.length, ref.hash.length, what);
      assert.ok(Buffer.compare(Buffer.from(ours.area), ref.hash) === 0, `hash device differs: ${what}`);
      // veritysetup's superblock reads back as the parameters we used
      const sb = decodeVeritySuperblock(ref.hash);
      assert.deepEqual({ ...sb, salt: toHex(sb.salt) }, { ...ours.params, salt: toHex(ours.params.salt), uuid: sb.uuid });
    }
  });
});

test("more than 128*128 data blocks (three levels): equals veritysetup", async () => {
  await withTempDir(async (dir) => {
    const c: Case = { blocks: 128 * 128 + 5, alg: "sha256", type: 1, dbs: 4096, hbs: 4096, salt: SALT };
    const data = randomBytes(c.blocks * 4096);
    const ref = veritysetup(dir, data, c);
    const ours = dmVerityHashArea(data, { salt: Buffer.from(SALT, "hex"), uuid: Buffer.from(UUID.replace(/-/g, ""), "hex") });
    assert.equal(toHex(ours.rootHash), ref.root);
    assert.ok(Buffer.compare(Buffer.from(ours.area), ref.hash) === 0);
  });
});

test("kernel table line", () => {
  const r = dmVerityHashArea(new Uint8Array(8 << 20), { salt: Buffer.from(SALT, "hex"), hashOffset: 8 << 20 });
  assert.equal(
    verityTableLine(r.params, r.rootHash, { dataDevice: "/dev/loop0", hashDevice: "/dev/loop0", optional: ["panic_on_corruption"] }),
    `0 16384 verity 1 /dev/loop0 /dev/loop0 4096 4096 2048 2049 sha256 e522df0f97da4febb882ac40f30b37dc0b444bf6df418929463fa25280f09d5c ${SALT} 1 panic_on_corruption`,
  );
});

test("superblock reader is strict; bad options are usage errors", () => {
  const { area } = dmVerityHashArea(new Uint8Array(4096 * 3), {});
  const sb = area.slice(0, 512);
  for (const [at, v, off] of [[0, 0x56, 0], [8, 2, 8], [12, 7, 12], [32, 0x78, 32], [64, 0x11, 64], [81, 0x10, 80]] as const) {
    const b = new Uint8Array(sb);
    b[at] = v;
    assert.throws(() => decodeVeritySuperblock(b, 4096), (e: unknown) => e instanceof FormatError && e.offset === 4096 + off, `byte ${at}`);
  }
  assert.throws(() => dmVerityHashArea(new Uint8Array(100), {}), UsageError);
  assert.throws(() => dmVerityHashArea(new Uint8Array(4096), { hashBlockSize: 3000 }), UsageError);
  assert.throws(() => dmVerityHashArea(new Uint8Array(4096), { salt: new Uint8Array(257) }), UsageError);
});
