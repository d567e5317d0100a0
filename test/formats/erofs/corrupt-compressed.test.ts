/**
 * Damaged compressed EROFS images (made by mkfs.erofs 1.5): seeded random damage to map headers,
 * indexes, inline tails, pclusters and the lz4 config record, then crafted corruptions with the
 * exact error and offset expected. The reader, inspect and fsck may only fail with FormatError
 * (UnsupportedError included), name offsets, and finish each case within a time bound.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { FormatError, UnsupportedError } from "../../../src/errors.js";
import { fsckErofs } from "../../../src/formats/erofs/fsck.js";
import { inspectErofs } from "../../../src/formats/erofs/inspect.js";
import { FullIndexEntry, LclusterType, Lz4Config, MapHeader, SUPERBLOCK_OFFSET, Superblock } from "../../../src/formats/erofs/ondisk.js";
import { ErofsImage, readErofs, type ErofsInode } from "../../../src/formats/erofs/reader.js";
import { lookup, walk } from "../../../src/fs/tree.js";
import { fixSuperblockChecksum, mkfsErofs } from "../../helpers/erofs.js";
import { exercise, expectFsckProblem, expectReadError } from "../../helpers/erofs-damage.js";
import { prng, randInt } from "../../helpers/prng.js";
import { makeTempDir, removeDir } from "../../helpers/tmp.js";

/** fsck problems about compressed data, which must name an offset */
const COMPRESSION_PROBLEM = /lcluster|pcluster|lz4|extent|compression|CBLKCNT|lookback|lookahead/;

/** Per damaged image: the whole exercise (two reads, inspect, fsck) must finish within this. */
const CASE_MS = 3000;

/** A digest of every file's path and content (strict reading). */
function contentDigest(bytes: Uint8Array): string {
  const h = createHash("sha256");
  for (const { path: p, node } of walk(readErofs(bytes))) {
    h.update(p + "\0");
    if (node.kind === "file") h.update(node.content.read());
  }
  return h.digest("hex");
}

function compressedInodes(img: ErofsImage): Array<{ ino: ErofsInode; path: string }> {
  const out: Array<{ ino: ErofsInode; path: string }> = [];
  const stack: Array<{ ino: ErofsInode; path: string }> = [{ ino: img.readInode(img.rootNid), path: "" }];
  while (stack.length) {
    const { ino, path: p } = stack.pop()!;
    if (ino.compressed) out.push({ ino, path: p });
    if (ino.kind === "dir") {
      for (const e of img.readDir(ino)) if (e.name !== "." && e.name !== "..") stack.push({ ino: img.readInode(e.nid), path: p ? `${p}/${e.name}` : e.name });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

describe("damaged compressed EROFS images", () => {
  let tmp: string;
  /** compact index, 2B packs, big pclusters (16 KiB), inline tails */
  let compact: Buffer;
  /** full index, big pclusters, ZERO_PADDING */
  let full: Buffer;
  /** full index, one-block pclusters, no ZERO_PADDING */
  let legacy: Buffer;
  /** compact index, one-block pclusters */
  let plain: Buffer;

  before(() => {
    tmp = makeTempDir("iofs-erofs-zcorrupt-");
    const src = path.join(tmp, "src");
    fs.mkdirSync(src);
    const rnd = prng(77);
    const text = (n: number) => {
      let s = "";
      while (s.length < n) s += `line ${(rnd() * 100000) | 0} of ${["modules", "firmware", "scripts"][(rnd() * 3) | 0]}\n`;
      return s.slice(0, n);
    };
    const random = (n: number) => Buffer.from(Array.from({ length: n }, () => (rnd() * 256) | 0));
    fs.writeFileSync(path.join(src, "big-text"), text(200_000));
    fs.writeFileSync(path.join(src, "text-50k"), text(50_000));
    fs.writeFileSync(path.join(src, "text-4097"), text(4097));
    fs.writeFileSync(path.join(src, "text-9000"), text(9000));
    fs.writeFileSync(path.join(src, "zeros"), Buffer.alloc(100_000));
    fs.writeFileSync(path.join(src, "mixed"), Buffer.concat([random(20_000), Buffer.from(text(30_000)), random(5000)]));
    fs.mkdirSync(path.join(src, "sub"));
    fs.writeFileSync(path.join(src, "sub", "repeat"), "0123456789".repeat(7000));
    fs.symlinkSync("big-text", path.join(src, "link"));
    const mk = (name: string, args: string[]) => {
      const image = path.join(tmp, name);
      mkfsErofs(image, src, args);
      const b = fs.readFileSync(image);
      assert.deepEqual(fsckErofs(b).problems, [], `${name} is clean`);
      return b;
    };
    compact = mk("compact.img", ["-zlz4hc", "-C16384", "-E", "ztailpacking"]);
    full = mk("full.img", ["-zlz4", "-C16384", "-E", "legacy-compress"]);
    legacy = mk("legacy.img", ["-zlz4", "-E", "legacy-compress"]);
    plain = mk("plain.img", ["-zlz4"]);
  });
  after(() => removeDir(tmp));

  const patched = (base: Buffer, fn: (b: Buffer, img: ErofsImage) => void): Buffer => {
    const b = Buffer.from(base);
    fn(b, ErofsImage.open(base));
    fixSuperblockChecksum(b);
    return b;
  };
  const fileOf = (base: Buffer, p: string) => {
    const img = ErofsImage.open(base);
    const ino = img.lookup(p)!;
    assert.ok(ino.compressed, `${p} is compressed`);
    return { img, ino, map: img.compressedMap(ino) };
  };
  /** image offset of a full index entry */
  const fullEntry = (ino: ErofsInode, lcn: number) => ino.zHeader!.indexOffset + lcn * FullIndexEntry.size;

  test("seeded random damage to headers, indexes, pclusters and the lz4 config", { timeout: 240_000 }, () => {
    const images: Array<[string, Buffer]> = [["compact", compact], ["full", full], ["legacy", legacy], ["plain", plain]];
    const rnd = prng(31337);
    let cases = 0;
    let detected = 0;
    let slowest = 0;
    let metaCases = 0;
    let metaSilentlyDifferent = 0;
    for (const [name, base] of images) {
      const img = ErofsImage.open(base);
      const clean = contentDigest(base);
      const meta: Array<[number, number]> = [];
      const data: Array<[number, number]> = [];
      for (const { ino } of compressedInodes(img)) {
        const h = ino.zHeader!;
        meta.push([h.offset, h.offset + MapHeader.size], [h.indexOffset, h.indexOffset + h.indexBytes]);
        for (const e of img.compressedMap(ino).extents) data.push([e.physical, e.physical + e.plen]); // inline tails too
      }
      const cfg = img.compression.records;
      const sbU1 = SUPERBLOCK_OFFSET + Superblock.fields.u1.offset;
      for (let i = 0; i < 220; i++) {
        const r = rnd();
        let range: [number, number];
        const inData = r >= 0.55 && r < 0.85;
        if (r < 0.55) range = meta[randInt(rnd, meta.length)];
        else if (r < 0.85) range = data[randInt(rnd, data.length)];
        else if (cfg && r < 0.95) range = [cfg.start, cfg.end];
        else range = [sbU1, sbU1 + 2];
        const off = range[0] + randInt(rnd, Math.max(1, range[1] - range[0]));
        const bytes = Buffer.from(base);
        const how = randInt(rnd, 3);
        if (how === 0) bytes[off] ^= 1 << randInt(rnd, 8);
        else if (how === 1) bytes[off] = randInt(rnd, 256);
        else for (let k = 0; k < 4 && off + k < bytes.length; k++) bytes[off + k] = randInt(rnd, 256);
        fixSuperblockChecksum(bytes);
        let res;
        try {
          res = exercise(bytes, { offsetsFor: COMPRESSION_PROBLEM });
        } catch (e) {
          throw new Error(`${name} damage #${i} (${how}) at ${off}: ${(e as Error).message}`);
        }
        slowest = Math.max(slowest, res.ms);
        assert.ok(res.ms < CASE_MS, `${name} damage #${i} at ${off} took ${res.ms} ms`);
        cases++;
        if (res.fsck.problems.length) detected++;
        else if (!inData) {
          // damage to headers, indexes and configs that nothing notices must be harmless (unused
          // bits, links that lead to the same place); the rare exception is a block address moved
          // onto another valid pcluster of the same decoded length, which no format check can see
          if (contentDigest(bytes) !== clean) metaSilentlyDifferent++;
        }
        if (!inData) metaCases++;
      }
    }
    // (LZ4 has no checksum: changed literals in a pcluster decode "fine", as in the kernel)
    assert.ok(detected > cases / 3, `only ${detected} of ${cases} damaged images detected (slowest case ${slowest} ms)`);
    assert.ok(metaSilentlyDifferent <= metaCases / 50, `${metaSilentlyDifferent} of ${metaCases} metadata damages changed file data unnoticed`);
  });

  test("index: lcluster 0 not a head, lookback and lookahead links, clusterofs", () => {
    const { ino, map } = fileOf(full, "big-text");
    assert.equal(map.header.compact, false);
    // lcluster 0 turned into NONHEAD
    const e0 = fullEntry(ino, 0);
    const nonhead0 = patched(full, (b) => b.writeUInt16LE(LclusterType.NonHead, e0));
    expectReadError(nonhead0, /lcluster 0 is NONHEAD/, { offset: e0, strict: false });
    expectFsckProblem(nonhead0, /lcluster 0 is NONHEAD/, e0);
    // a NONHEAD whose delta[0] reaches into the previous extent
    const ext = map.extents.find((e, i) => i > 0 && map.extents[i + 1] && map.extents[i + 1].headLcn - e.headLcn >= 3)!;
    assert.ok(ext, "an extent spanning 3+ lclusters");
    const lcn = ext.headLcn + 2;
    const at = fullEntry(ino, lcn);
    assert.equal(full.readUInt16LE(at) & 3, LclusterType.NonHead);
    const back = patched(full, (b) => b.writeUInt16LE(b.readUInt16LE(at + 4) + 1, at + 4));
    expectReadError(back, /lookback/, { offset: at, strict: false });
    expectFsckProblem(back, /lookback/, at);
    const zero = patched(full, (b) => b.writeUInt16LE(0, at + 4));
    expectReadError(zero, /lookback distance 0/, { offset: at, strict: false });
    const before0 = patched(full, (b) => b.writeUInt16LE(0x7ff, at + 4));
    expectReadError(before0, /before the first lcluster|lookback/, { offset: at, strict: false });
    // delta[1] wrong: strict reading refuses it, non-strict reads the right data, fsck reports it
    const ahead = patched(full, (b) => b.writeUInt16LE(b.readUInt16LE(at + 6) + 5, at + 6));
    expectReadError(ahead, /lookahead/, { offset: at });
    const t = readErofs(ahead, { strict: false });
    const f = lookup(t, "big-text");
    assert.ok(f?.kind === "file");
    assert.ok(Buffer.from(f.content.read()).equals(Buffer.from(ErofsImage.open(full).readData(ino))));
    expectFsckProblem(ahead, /lookahead/, at);
    // clusterofs past the lcluster
    const head = map.extents[1];
    const co = patched(full, (b) => b.writeUInt16LE(5000, head.entryOffset + 2));
    expectReadError(co, /clusterofs 5000/, { offset: head.entryOffset, strict: false });
  });

  test("pclusters: block addresses, CBLKCNT block counts and the lz4 config maximum", () => {
    const { ino, map } = fileOf(full, "big-text");
    const head = map.extents.find((e) => e.plen > 4096)!;
    assert.ok(head, "a big pcluster");
    const cblk = fullEntry(ino, head.headLcn + 1);
    assert.equal(full.readUInt16LE(cblk + 4) & 0x800, 0x800, "CBLKCNT after the head");
    const far = patched(full, (b) => b.writeUInt32LE(0x7fffffff, head.entryOffset + 4));
    expectReadError(far, /outside the image/, { offset: head.entryOffset, strict: false });
    expectFsckProblem(far, /outside the image/, head.entryOffset);
    const tooBig = patched(full, (b) => b.writeUInt16LE(0x800 | 100, cblk + 4));
    expectReadError(tooBig, /100 blocks exceeds the maximum of 4/, { offset: head.entryOffset, strict: false });
    const none = patched(full, (b) => b.writeUInt16LE(0x800, cblk + 4));
    expectReadError(none, /CBLKCNT of 0 blocks/, { offset: cblk, strict: false });
    const missing = patched(full, (b) => b.writeUInt16LE(1, cblk + 4));
    expectReadError(missing, /no CBLKCNT/, { offset: cblk, strict: false });
    // lz4 config record: pcluster maximum above 1 MiB, a short record, a record past the image
    const img = ErofsImage.open(full);
    const rec = img.compression.records!;
    assert.equal(full.readUInt16LE(rec.start), Lz4Config.size);
    const maxAt = rec.start + 2 + Lz4Config.fields.maxPclusterBlks.offset;
    assert.equal(full.readUInt16LE(maxAt), 4);
    const huge = patched(full, (b) => b.writeUInt16LE(300, maxAt));
    expectReadError(huge, /at most 256/, { offset: maxAt });
    expectFsckProblem(huge, /at most 256/, maxAt);
    const short = patched(full, (b) => b.writeUInt16LE(4, rec.start));
    expectReadError(short, /lz4 config record is 4 bytes/, { offset: rec.start });
    const lower = patched(full, (b) => b.writeUInt16LE(2, maxAt));
    expectReadError(lower, /exceeds the maximum of 2/, { strict: false });
    const unknownAlg = patched(full, (b) => b.writeUInt16LE(0x21, SUPERBLOCK_OFFSET + Superblock.fields.u1.offset));
    expectReadError(unknownAlg, /unknown compression algorithms/, { cls: UnsupportedError });
  });

  test("compressed data: zero-filled, garbage, and short pclusters", () => {
    for (const [name, base] of [["compact", compact], ["legacy (no zero padding)", legacy]] as const) {
      const { map } = fileOf(base, "big-text");
      const e = map.extents.find((x) => !x.inline && x.algorithm === 0)!;
      const within: [number, number] = [e.physical, e.physical + e.plen];
      const garbage = patched(base, (b) => b.fill(0xff, e.physical, e.physical + e.plen));
      expectReadError(garbage, /lz4|literal|match|decodes/, { within, strict: false });
      expectFsckProblem(garbage, /big-text|nid/);
      const zeros = patched(base, (b) => b.fill(0, e.physical, e.physical + e.plen));
      if (name === "compact") expectReadError(zeros, /zero padding/, { offset: e.physical, strict: false });
      else expectReadError(zeros, /lz4|match|decodes/, { within, strict: false });
      // the first half of the stream gone: the stream no longer produces the extent
      const half = patched(base, (b) => b.fill(0, e.physical, e.physical + Math.floor(e.plen / 2)));
      assert.ok(half.compare(base) !== 0);
      const r = exercise(half, { offsetsFor: COMPRESSION_PROBLEM });
      assert.ok(r.strictError, `${name}: half a pcluster must fail`);
    }
  });

  test("inline tails (ztailpacking): sizes that do not fit", () => {
    const { ino, map } = fileOf(compact, "text-9000");
    assert.ok(map.header.inlineOffset !== undefined, "text-9000 has an inline tail");
    const idataAt = map.header.offset + MapHeader.fields.idataSize.offset;
    const huge = patched(compact, (b) => b.writeUInt16LE(0xffff, idataAt));
    expectReadError(huge, /inline pcluster|tail-packing|past the end|overlap/, { strict: false });
    const empty = patched(compact, (b) => b.writeUInt16LE(0, idataAt));
    expectReadError(empty, /tail-packing pcluster of 0 bytes/, { offset: map.header.offset, strict: false });
    void ino;
  });

  test("HEAD2 extents use the map header's second algorithm", () => {
    const { img, ino, map } = fileOf(full, "big-text");
    const e = map.extents.find((x) => x.headType === LclusterType.Head1 && x.plen === 4096 && x.headLcn > 0)!;
    assert.ok(e, "a one-block HEAD1 pcluster");
    const want = Buffer.from(img.readData(ino));
    const head2 = patched(full, (b) => b.writeUInt16LE((b.readUInt16LE(e.entryOffset) & ~3) | LclusterType.Head2, e.entryOffset));
    const i2 = ErofsImage.open(head2);
    const m2 = i2.compressedMap(i2.lookup("big-text")!);
    assert.equal(m2.extents.find((x) => x.headLcn === e.headLcn)!.headType, LclusterType.Head2);
    assert.ok(Buffer.from(i2.readData(i2.lookup("big-text")!)).equals(want), "HEAD2 with lz4 (algorithm 0) reads the same");
    const algAt = map.header.offset + MapHeader.fields.algorithmType.offset;
    const zstd2 = patched(head2, (b) => (b[algAt] = 0x30));
    expectReadError(zstd2, /unsupported compression algorithm zstd/, { cls: UnsupportedError, offset: e.entryOffset, strict: false });
    // the superblock announces lz4 only: strict reading and fsck notice before decoding
    expectReadError(zstd2, /uses zstd, which the superblock does not announce/, { offset: e.entryOffset });
    expectFsckProblem(zstd2, /does not announce/, e.entryOffset);
    expectFsckProblem(zstd2, /unsupported compression algorithm zstd/, e.entryOffset);
  });

  test("map header: unsupported algorithms, fragments, lcluster sizes, advise bits", () => {
    const { ino, map } = fileOf(plain, "big-text");
    const h = map.header.offset;
    const algAt = h + MapHeader.fields.algorithmType.offset;
    for (const [alg, name] of [[1, "lzma"], [2, "deflate"], [3, "zstd"]] as const) {
      const b = patched(plain, (x) => (x[algAt] = alg));
      const e = expectReadError(b, new RegExp(`unsupported compression algorithm ${name}`), { cls: UnsupportedError, strict: false });
      assert.match(e.message, /big-text/);
      expectFsckProblem(b, new RegExp(`unsupported compression algorithm ${name}`));
      // metadata stays readable: inspect counts the extents by algorithm
      const z = inspectErofs(b).compression!;
      assert.ok((z.extents[name] ?? 0) > 0, JSON.stringify(z.extents));
    }
    const adviseAt = h + MapHeader.fields.advise.offset;
    const frag = patched(plain, (x) => x.writeUInt16LE(x.readUInt16LE(adviseAt) | 0x20, adviseAt));
    expectReadError(frag, /fragments/, { cls: UnsupportedError, offset: h, strict: false });
    const bits = patched(plain, (x) => (x[h + MapHeader.fields.clusterBits.offset] = 1));
    expectReadError(bits, /lcluster size 2\^13/, { cls: UnsupportedError, strict: false });
    const c = fileOf(compact, "big-text");
    const cAdvise = c.map.header.offset + MapHeader.fields.advise.offset;
    const half = patched(compact, (x) => x.writeUInt16LE(x.readUInt16LE(cAdvise) & ~0x4, cAdvise));
    expectReadError(half, /disagree/, { offset: cAdvise, strict: false });
    // an absurd size: the index no longer fits in the image
    const sizeAt = ino.offset + 8;
    const big = patched(plain, (x) => (ino.extended ? x.writeBigUInt64LE(2n ** 40n, sizeAt) : x.writeUInt32LE(0xfffff000, sizeAt)));
    expectReadError(big, /compression index .* runs past the end of the image/, { strict: false });
  });
});
