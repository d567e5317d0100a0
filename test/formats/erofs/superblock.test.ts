/** The one superblock check (reader, inspect and install's image check use it): from the first block alone. */
import test from "node:test";
import assert from "node:assert/strict";
import { FormatError, UnsupportedError } from "../../../src/errors.js";
import { BLOCK_SIZE, SUPERBLOCK_OFFSET, Superblock } from "../../../src/formats/erofs/ondisk.js";
import { parseSuperblock, type SuperblockCheck } from "../../../src/formats/erofs/superblock.js";
import { buildErofsImage, bytesContent, newTree } from "../../helpers/api.js";
import { fixSuperblockChecksum } from "../../helpers/erofs.js";

function image(): Buffer {
  const t = newTree();
  t.root.entries.set("f", { kind: "file", content: bytesContent(Buffer.alloc(10_000, 7)), perm: 0o644, uid: 0, gid: 0, mtime: { sec: 1, nsec: 0 }, xattrs: new Map() });
  return Buffer.from(buildErofsImage(t));
}
const at = (f: keyof typeof Superblock.fields) => SUPERBLOCK_OFFSET + Superblock.fields[f].offset;

test("the first block is enough, and gives what the whole image gives", () => {
  const img = image();
  const whole = parseSuperblock(img, { imageSize: img.length, strict: true });
  const head = parseSuperblock(img.subarray(0, BLOCK_SIZE), { imageSize: img.length, strict: true });
  assert.deepEqual(head, whole);
  assert.equal(whole.computedChecksum, whole.fields.checksum);
  assert.equal(whole.limit, whole.fields.blocks * BLOCK_SIZE);
});

test("hard problems throw, naming the offset; soft ones are tagged", () => {
  const img = image();
  const bad = Buffer.from(img);
  bad[SUPERBLOCK_OFFSET] ^= 1;
  assert.throws(() => parseSuperblock(bad, { imageSize: bad.length, strict: false }), (e) => e instanceof FormatError && e.offset === at("magic") && /bad magic/.test(e.detail));
  const blk = Buffer.from(img);
  blk[at("blkszbits")] = 9;
  fixSuperblockChecksum(blk);
  assert.throws(() => parseSuperblock(blk, { imageSize: blk.length, strict: true }), (e) => e instanceof UnsupportedError && e.offset === at("blkszbits"));
  assert.throws(() => parseSuperblock(img.subarray(0, 1100), { imageSize: 1100, strict: true }), (e) => e instanceof FormatError && e.offset === 1100);

  const csum = Buffer.from(img);
  csum.writeUInt32LE(0xdeadbeef, at("checksum"));
  const seen: Array<[number, SuperblockCheck]> = [];
  const p = parseSuperblock(csum, { imageSize: csum.length - BLOCK_SIZE, strict: true, soft: (o, _d, c) => seen.push([o, c]) });
  assert.deepEqual(seen, [[at("checksum"), "checksum"], [at("blocks"), "size"]]);
  assert.notEqual(p.computedChecksum, p.fields.checksum);
  assert.throws(() => parseSuperblock(csum, { imageSize: csum.length, strict: true }), (e) => e instanceof FormatError && e.offset === at("checksum"));
  assert.doesNotThrow(() => parseSuperblock(csum, { imageSize: csum.length, strict: false }));
});
