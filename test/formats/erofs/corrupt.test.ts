/**
 * Damaged EROFS images: truncations, seeded random bit flips and crafted corruptions. The reader,
 * fsck and inspect may only ever fail with FormatError (UnsupportedError included), must name
 * offsets, must not hang, and must agree: whenever strict readErofs fails, fsck reports a problem.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FormatError, UnsupportedError } from "../../../src/errors.js";
import { fsckErofs } from "../../../src/formats/erofs/fsck.js";
import { DataLayout, SUPERBLOCK_OFFSET } from "../../../src/formats/erofs/ondisk.js";
import { ErofsImage, readErofs } from "../../../src/formats/erofs/reader.js";
import { lookup } from "../../../src/fs/tree.js";
import { fixSuperblockChecksum, mkfsErofs, readAllContents } from "../../helpers/erofs.js";
import { exercise, expectFsckProblem, expectReadError } from "../../helpers/erofs-damage.js";
import { prng, randInt } from "../../helpers/prng.js";
import { buildSourceTree } from "../../helpers/source-tree.js";
import { makeTempDir, removeDir } from "../../helpers/tmp.js";

describe("EROFS reader and fsck on damaged images", () => {
  let tmp: string;
  let image: Buffer; // extended inodes (per-file mtimes)
  let compact: Buffer; // -T: compact inodes

  before(() => {
    tmp = makeTempDir("iofs-erofs-corrupt-");
    const src = path.join(tmp, "src");
    fs.mkdirSync(src);
    buildSourceTree(src, { bigDirEntries: 300, depth: 12, maxNameLen: 254 });
    mkfsErofs(path.join(tmp, "a.img"), src);
    mkfsErofs(path.join(tmp, "b.img"), src, ["-T", "1234567"]);
    image = fs.readFileSync(path.join(tmp, "a.img"));
    compact = fs.readFileSync(path.join(tmp, "b.img"));
    assert.deepEqual(fsckErofs(image).problems, []);
    assert.deepEqual(fsckErofs(compact).problems, []);
  });
  after(() => removeDir(tmp));

  const patched = (base: Buffer, fn: (b: Buffer, img: ErofsImage) => void): Buffer => {
    const b = Buffer.from(base);
    fn(b, ErofsImage.open(base));
    fixSuperblockChecksum(b);
    return b;
  };
  const direntOf = (img: ErofsImage, dir: string, name: string) => {
    const e = img.readDir(img.lookup(dir)!).find((d) => d.name === name);
    assert.ok(e, `${dir}/${name}`);
    return e;
  };

  test("truncated images", { timeout: 60_000 }, () => {
    const start = Date.now();
    const cuts = new Set<number>([0, 1, 1023, 1024, 1100, 1151, 1152, 2000, 4095, 4096]);
    for (let c = 4096; c < image.length; c += 1536) cuts.add(c);
    const rnd = prng(7);
    for (let i = 0; i < 60; i++) cuts.add(randInt(rnd, image.length));
    for (const cut of cuts) {
      const bytes = image.subarray(0, cut);
      const { strictError, fsck } = exercise(bytes);
      assert.ok(strictError, `strict reading of an image cut at ${cut} must fail`);
      assert.ok(fsck.problems.length > 0);
      assert.ok(fsck.problems.every((p) => p.offset === undefined || (p.offset >= 0 && Number.isFinite(p.offset))));
    }
    assert.ok(Date.now() - start < 30_000, "truncation loop took too long");
  });

  test("random bit flips (seeded) never escape as other errors, never hang", { timeout: 120_000 }, () => {
    const start = Date.now();
    // metadata byte ranges of the clean image: inodes (+ inline data, chunk indexes) and directory data
    const img = ErofsImage.open(image);
    const meta: Array<[number, number]> = [[SUPERBLOCK_OFFSET, SUPERBLOCK_OFFSET + 128]];
    const stack = [img.rootNid];
    const seen = new Set<number>();
    while (stack.length) {
      const nid = stack.pop()!;
      if (seen.has(nid)) continue;
      seen.add(nid);
      const ino = img.readInode(nid);
      meta.push([ino.offset, ino.metaEnd]);
      if (ino.kind === "dir") {
        for (const e of ino.extents ?? []) if (e.physical !== null) meta.push([e.physical, e.physical + e.length]);
        for (const d of img.readDir(ino)) if (d.name !== "." && d.name !== "..") stack.push(d.nid);
      }
    }
    const rnd = prng(20240601);
    let detected = 0;
    const N = 800;
    for (let i = 0; i < N; i++) {
      let off: number;
      if (rnd() < 0.8) {
        const [s, e] = meta[randInt(rnd, meta.length)];
        off = s + randInt(rnd, Math.max(1, e - s));
      } else {
        off = randInt(rnd, image.length);
      }
      const bit = randInt(rnd, 8);
      const bytes = Buffer.from(image);
      bytes[off] ^= 1 << bit;
      if (rnd() < 0.5) fixSuperblockChecksum(bytes); // half the time, get past the checksum
      let r;
      try {
        r = exercise(bytes);
      } catch (e) {
        throw new Error(`flip #${i} at ${off} bit ${bit}: ${(e as Error).message}`);
      }
      if (r.fsck.problems.length) detected++;
    }
    const elapsed = Date.now() - start;
    assert.ok(elapsed < 90_000, `bit-flip loop took ${elapsed} ms`);
    assert.ok(detected > N / 5, `only ${detected} of ${N} flips detected`);
  });

  test("random multi-byte garbage in metadata", { timeout: 60_000 }, () => {
    const rnd = prng(99);
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(compact);
      const off = 1024 + randInt(rnd, Math.min(compact.length, 3 * 4096) - 1024);
      const n = 1 + randInt(rnd, 16);
      for (let k = 0; k < n && off + k < bytes.length; k++) bytes[off + k] = randInt(rnd, 256);
      fixSuperblockChecksum(bytes);
      try {
        exercise(bytes);
      } catch (e) {
        throw new Error(`garbage #${i} at ${off} (${n} bytes): ${(e as Error).message}`);
      }
    }
  });

  test("directory cycle: a dirent pointing to an ancestor", () => {
    const img = ErofsImage.open(image);
    const target = direntOf(img, "deep/d0/d1", "d2");
    const ancestor = img.lookup("deep")!.nid;
    const bytes = patched(image, (b) => b.writeBigUInt64LE(BigInt(ancestor), target.offset));
    expectReadError(bytes, /reachable twice/, { offset: target.offset });
    expectReadError(bytes, /reachable twice/, { strict: false, offset: target.offset });
    expectFsckProblem(bytes, /reachable twice/, target.offset);
    // to the root
    const toRoot = patched(image, (b, i) => b.writeBigUInt64LE(BigInt(i.rootNid), target.offset));
    expectReadError(toRoot, /reachable twice/, { offset: target.offset });
    expectFsckProblem(toRoot, /reachable twice/, target.offset);
    // to itself (a subdirectory entry that is its own directory)
    const self = img.lookup("deep/d0/d1")!.nid;
    const toSelf = patched(image, (b) => b.writeBigUInt64LE(BigInt(self), target.offset));
    expectReadError(toSelf, /reachable twice/);
  });

  test("hard-linked directory", () => {
    const img = ErofsImage.open(image);
    const e = direntOf(img, "perms", "sgid-dir");
    const other = img.lookup("files")!.nid;
    const bytes = patched(image, (b) => b.writeBigUInt64LE(BigInt(other), e.offset));
    expectReadError(bytes, /reachable twice/, { strict: false });
    expectFsckProblem(bytes, /reachable twice/, e.offset);
  });

  test("out-of-range nid", () => {
    const img = ErofsImage.open(image);
    const e = direntOf(img, "files", "f1");
    for (const nid of [2n ** 40n, 2n ** 64n - 1n, BigInt(img.maxNid + 1)]) {
      const bytes = patched(image, (b) => b.writeBigUInt64LE(nid, e.offset));
      expectReadError(bytes, /outside the inode area/, { strict: false, offset: e.offset });
      expectFsckProblem(bytes, /outside the inode area/, e.offset);
    }
  });

  test("out-of-range block and huge sizes", () => {
    const img = ErofsImage.open(image);
    const f = img.lookup("files/f4096")!;
    assert.equal(f.layout, DataLayout.FlatPlain);
    assert.ok(f.extended);
    const badBlock = patched(image, (b) => b.writeUInt32LE(0xffffff00, f.offset + 16));
    expectReadError(badBlock, /do not fit/, { strict: false });
    expectFsckProblem(badBlock, /do not fit/);
    const huge = patched(image, (b) => b.writeBigUInt64LE(2n ** 50n, f.offset + 8));
    expectReadError(huge, /do not fit/, { strict: false });
    const absurd = patched(image, (b) => b.writeBigUInt64LE(2n ** 63n, f.offset + 8));
    expectReadError(absurd, /absurd/, { strict: false, offset: f.offset + 8 });
    // compact inode, 32-bit size
    const ci = ErofsImage.open(compact).lookup("files/f4096")!;
    assert.ok(!ci.extended);
    const csize = patched(compact, (b) => b.writeUInt32LE(0xfffffff0, ci.offset + 8));
    expectReadError(csize, /do not fit/, { strict: false });
    // inline tail growing across the block boundary
    const t = img.lookup("files/f4097")!;
    assert.equal(t.layout, DataLayout.FlatInline);
    const cross = patched(image, (b) => b.writeBigUInt64LE(BigInt(4096 + 4095), t.offset + 8));
    expectReadError(cross, /crosses a block boundary|past the end/, { strict: false });
    // a directory claiming to be bigger than the image
    const d = img.lookup("big")!;
    const bigDir = patched(image, (b) => b.writeBigUInt64LE(BigInt(image.length * 2), d.offset + 8));
    expectReadError(bigDir, /do not fit|larger than the image/, { strict: false });
    // chunk-based: a chunk index pointing outside
  });

  test("superblock problems", () => {
    const magic = Buffer.from(image);
    magic[SUPERBLOCK_OFFSET] ^= 1;
    expectReadError(magic, /bad magic/, { offset: SUPERBLOCK_OFFSET });
    const blk = patched(image, (b) => (b[SUPERBLOCK_OFFSET + 0x0c] = 13));
    expectReadError(blk, /block size/, { cls: UnsupportedError });
    for (const [bit, re] of [[0x100, /unknown incompatible/], [0x40, /xattr_prefixes/], [0x80, /48-bit/]] as const) {
      const inc = patched(image, (b) => b.writeUInt32LE((b.readUInt32LE(SUPERBLOCK_OFFSET + 0x50) | bit) >>> 0, SUPERBLOCK_OFFSET + 0x50));
      expectReadError(inc, re, { cls: UnsupportedError, offset: SUPERBLOCK_OFFSET + 0x50 });
      expectFsckProblem(inc, re);
    }
    const csum = Buffer.from(image);
    csum.writeUInt32LE((csum.readUInt32LE(SUPERBLOCK_OFFSET + 4) ^ 0x10) >>> 0, SUPERBLOCK_OFFSET + 4);
    expectReadError(csum, /checksum/, { offset: SUPERBLOCK_OFFSET + 4 });
    readAllContents(readErofs(csum, { strict: false }));
    expectFsckProblem(csum, /checksum/, SUPERBLOCK_OFFSET + 4);
    const root = patched(image, (b, i) => b.writeUInt16LE(i.lookup("files/f1")!.nid, SUPERBLOCK_OFFSET + 0x0e));
    expectReadError(root, /not a directory/, { strict: false });
    const blocks = patched(image, (b) => b.writeUInt32LE(b.readUInt32LE(SUPERBLOCK_OFFSET + 0x24) + 1, SUPERBLOCK_OFFSET + 0x24));
    expectReadError(blocks, /truncated/);
    const meta = patched(image, (b) => b.writeUInt32LE(0x7fffffff, SUPERBLOCK_OFFSET + 0x28));
    expectReadError(meta, /meta_blkaddr/, { strict: false });
  });

  test("inode format problems", () => {
    const img = ErofsImage.open(image);
    const f = img.lookup("files/f1")!;
    const reserved = patched(image, (b) => b.writeUInt16LE(b.readUInt16LE(f.offset) | 0x20, f.offset));
    expectReadError(reserved, /reserved i_format/, { strict: false, offset: f.offset });
    const layout = patched(image, (b) => b.writeUInt16LE((b.readUInt16LE(f.offset) & 1) | (5 << 1), f.offset));
    expectReadError(layout, /data layout 5/, { strict: false, cls: UnsupportedError });
    const mode = patched(image, (b) => b.writeUInt16LE(0o170644, f.offset + 4));
    expectReadError(mode, /bogus i_mode/, { strict: false });
    const xattrs = patched(image, (b) => b.writeUInt16LE(0xffff, f.offset + 2));
    expectReadError(xattrs, /xattr/, { strict: false });
    const shared = patched(image, (b) => {
      const fi = img.lookup("files/f0")!;
      assert.ok(fi.xattrIcount > 1);
      b[fi.xattrOffset + 4] = 1;
      b.writeUInt32LE(0x7fffffff, fi.xattrOffset + 12);
    });
    expectReadError(shared, /shared xattr/, { strict: false });
  });

  test("directory structure problems", () => {
    const img = ErofsImage.open(image);
    const hard = img.lookup("hard")!;
    const ents = img.readDir(hard);
    const names = ents.map((e) => e.name);
    assert.deepEqual(names, [".", "..", "big", "big2", "one", "sym", "sym2", "two"]);
    const dataAt = (name: string) => {
      // names are stored after the dirents; find them in the directory's inline block
      const e = ents.find((x) => x.name === name)!;
      const nameoff = image.readUInt16LE(e.offset + 8);
      return e.offset - ents.indexOf(e) * 12 + nameoff;
    };
    // swap "one" and "two": still valid entries (same inode), but no longer sorted
    const unsorted = patched(image, (b) => {
      b.write("two", dataAt("one"), "latin1");
      b.write("one", dataAt("two"), "latin1");
    });
    expectReadError(unsorted, /not sorted/);
    const t = readErofs(unsorted, { strict: false });
    assert.equal(lookup(t, "hard/one"), lookup(t, "hard/two"));
    expectFsckProblem(unsorted, /not sorted/);
    // duplicate names are never accepted
    const dup = patched(image, (b) => b.write("one", dataAt("two"), "latin1"));
    expectReadError(dup, /duplicate|not sorted/);
    expectReadError(dup, /duplicate/, { strict: false });
    // wrong file type in a dirent
    const one = ents.find((e) => e.name === "one")!;
    const ftype = patched(image, (b) => (b[one.offset + 10] = 2));
    expectReadError(ftype, /file type/);
    readAllContents(readErofs(ftype, { strict: false }));
    // file type out of range
    const ft9 = patched(image, (b) => (b[one.offset + 10] = 9));
    expectReadError(ft9, /file type/);
    // ".." pointing elsewhere
    const dotdot = ents.find((e) => e.name === "..")!;
    const dd = patched(image, (b, i) => b.writeBigUInt64LE(BigInt(i.lookup("files")!.nid), dotdot.offset));
    expectReadError(dd, /"\.\." points to/, { offset: dotdot.offset });
    readAllContents(readErofs(dd, { strict: false }));
    expectFsckProblem(dd, /"\.\." points to/, dotdot.offset);
    // "." pointing elsewhere
    const dot = ents.find((e) => e.name === ".")!;
    const d1 = patched(image, (b, i) => b.writeBigUInt64LE(BigInt(i.lookup("files")!.nid), dot.offset));
    expectReadError(d1, /"\." points to/);
    // broken nameoffs
    const first = patched(image, (b) => b.writeUInt16LE(5, ents[0].offset + 8));
    expectReadError(first, /first nameoff/, { strict: false });
    const mid = patched(image, (b) => b.writeUInt16LE(1, ents[3].offset + 8));
    expectReadError(mid, /nameoff/, { strict: false });
    const past = patched(image, (b) => b.writeUInt16LE(4000, ents[7].offset + 8));
    expectReadError(past, /nameoff/, { strict: false });
    // a name with a slash
    const slash = patched(image, (b) => (b[dataAt("big")] = 0x2f));
    expectReadError(slash, /NUL or '\/'/, { strict: false });
    // an empty directory (no "." or "..")
    const empty = patched(image, (b) => b.writeBigUInt64LE(0n, hard.offset + 8));
    expectReadError(empty, /no "\."/);
    // a multi-block directory with a broken second block
    const big = img.lookup("big")!;
    assert.ok(big.size > 8192);
    const second = img.physicalOffset(big, 4096)!;
    const broken = patched(image, (b) => b.writeUInt16LE(0xffff, second + 8));
    expectReadError(broken, /first nameoff/, { strict: false, offset: second + 8 });
    expectFsckProblem(broken, /first nameoff/, second + 8);
    // fsck keeps going: other problems elsewhere are found too
    const two = patched(broken, (b) => b.writeUInt16LE(5, ents[0].offset + 8));
    const r = fsckErofs(two);
    assert.ok(r.problems.some((p) => p.offset === second + 8));
    assert.ok(r.problems.some((p) => p.offset === ents[0].offset + 8));
  });
});
