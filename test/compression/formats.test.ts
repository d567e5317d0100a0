/** Format-specific end-of-stream rules and header handling. */

import test from "node:test";
import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { decompress } from "../../src/compression/index.js";
import { compressZstd, parseZstdFrame } from "../../src/compression/zstd.js";
import { UnsupportedError } from "../../src/errors.js";
import { collect, expectFormatError, hasTool, randomBytes, runTool, structuredData } from "./support.js";

const DATA = structuredData(300_000, 11);

// ---- lz4 legacy ----

const lz4 = (data: Uint8Array) => runTool("lz4", ["-l", "-c"], data)!;

test("lz4: a repeated magic continues the stream (concatenated lz4 -l outputs)", async () => {
  const a = lz4(DATA), b = lz4(Buffer.from("tail"));
  const r = await collect(decompress("lz4", Buffer.concat([a, b]), 0));
  assert.ok(r.data.equals(Buffer.concat([DATA, Buffer.from("tail")])));
  assert.equal(r.consumed, a.length + b.length);
});

test("lz4: more than 8 MiB is several chunks", async () => {
  const big = structuredData(9 << 20, 4);
  const comp = lz4(big);
  const r = await collect(decompress("lz4", comp, 0));
  assert.ok(r.data.equals(big));
  assert.equal(r.chunks.length, 2);
  assert.equal(r.consumed, comp.length);
});

test("lz4: ends at a zero size or with under 4 bytes left, which are not consumed", async () => {
  const a = lz4(DATA);
  for (const tail of [[], [0], [1, 2, 3], [0, 0, 0, 0, 7, 7]]) {
    const r = await collect(decompress("lz4", Buffer.concat([a, Buffer.from(tail)]), 0));
    assert.equal(r.consumed, a.length, `tail ${tail}`);
  }
});

test("lz4: data right after the stream without zero padding is an error, as in the kernel", async () => {
  const a = lz4(DATA);
  const e = await expectFormatError(collect(decompress("lz4", Buffer.concat([a, Buffer.from("070701")]), 0)), "lz4");
  assert.equal(e.offset, a.length);
});

test("lz4: the modern lz4 frame is rejected with a clear message", async () => {
  const modern = runTool("lz4", ["-c"], DATA)!;
  const e = await expectFormatError(collect(decompress("lz4", modern, 0)), "lz4");
  assert.match(e.message, /legacy/);
});

// ---- zstd ----

const zstd = (data: Uint8Array, ...args: string[]) => runTool("zstd", ["-c", "-q", ...args], data)!;

test("zstd: frame with a content size (from a file) and without a checksum", async () => {
  const sized = zstd(DATA, `--stream-size=${DATA.length}`);
  assert.equal(parseZstdFrame(sized, 0).contentSize, DATA.length);
  assert.ok((await collect(decompress("zstd", sized, 0))).data.equals(DATA));
  const unchecked = zstd(DATA, "--no-check");
  assert.equal(parseZstdFrame(unchecked, 0).hasChecksum, false);
  const r = await collect(decompress("zstd", unchecked, 0));
  assert.ok(r.data.equals(DATA));
  assert.equal(r.consumed, unchecked.length);
});

test("zstd: compressZstd makes one frame that zstd(1) and our reader decode, with the content size in its header", async () => {
  for (const [data, level] of [[DATA, 3], [DATA, 19], [new Uint8Array(0), 3]] as const) {
    const frame = compressZstd(data, level);
    assert.ok(Buffer.from(runTool("zstd", ["-dc"], frame)!).equals(data), `zstd -dc, level ${level}`);
    assert.equal(parseZstdFrame(frame, 0).contentSize, data.length);
    const r = await collect(decompress("zstd", frame, 0));
    assert.ok(r.data.equals(data));
    assert.equal(r.consumed, frame.length);
  }
  assert.ok(compressZstd(DATA, 19).length < compressZstd(DATA, 1).length, "the level is used");
  assert.throws(() => compressZstd(DATA, 23), /level out of range/);
  assert.throws(() => compressZstd(DATA, 0), /level out of range/);
});

test("zstd: only the first of several frames, like the kernel", async () => {
  const a = zstd(DATA), b = zstd(Buffer.from("second"));
  const r = await collect(decompress("zstd", Buffer.concat([a, b]), 0));
  assert.ok(r.data.equals(DATA));
  assert.equal(r.consumed, a.length);
});

test("zstd: a skippable frame is a whole, empty stream", async () => {
  const skippable = Buffer.from([0x52, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3, 0xff]);
  const r = await collect(decompress("zstd", skippable, 0));
  assert.equal(r.data.length, 0);
  assert.equal(r.consumed, 11);
  await expectFormatError(collect(decompress("zstd", skippable.subarray(0, 10), 0)), "zstd");
});

test("zstd: checksum mismatch and content size mismatch are FormatErrors", async () => {
  const comp = zstd(DATA);
  const badSum = Buffer.from(comp);
  badSum[badSum.length - 1] ^= 1;
  const e = await expectFormatError(collect(decompress("zstd", badSum, 0)), "zstd");
  assert.match(e.message, /checksum/);
  assert.equal(e.offset, comp.length - 4);

  const sized = Buffer.from(zstd(DATA, `--stream-size=${DATA.length}`, "--no-check"));
  const frame = parseZstdFrame(sized, 0);
  assert.equal(frame.contentSize, DATA.length);
  // the 4-byte content size field ends right before the first block header
  sized.writeUInt32LE(DATA.length + 1, frame.blocksAt - 4);
  await expectFormatError(collect(decompress("zstd", sized, 0)), "zstd");
});

test("zstd: header errors name their offset", async () => {
  const magic = [0x28, 0xb5, 0x2f, 0xfd];
  // reserved bit in the frame header descriptor
  let e = await expectFormatError(collect(decompress("zstd", Buffer.from([...magic, 0x08, 0x50, 1, 0, 0]), 0)), "zstd");
  assert.equal(e.offset, 4);
  // reserved block type 3: FHD 0 (window byte follows), block header at 6
  e = await expectFormatError(collect(decompress("zstd", Buffer.from([...magic, 0x00, 0x50, 0x07, 0, 0]), 0)), "zstd");
  assert.equal(e.offset, 6);
  // a block size over 128 KiB
  e = await expectFormatError(collect(decompress("zstd", Buffer.from([...magic, 0x00, 0x50, 0x01, 0x00, 0x20]), 0)), "zstd");
  assert.match(e.detail, /block size/);
  // dictionary frames are unsupported (the kernel has no dictionaries)
  await assert.rejects(collect(decompress("zstd", Buffer.from([...magic, 0x01, 0x50, 7, 0x01, 0, 0, 0]), 0)), UnsupportedError);
  // a raw block announcing more bytes than there are
  e = await expectFormatError(collect(decompress("zstd", Buffer.from([...magic, 0x00, 0x50, 0x81, 0, 0, 1, 2]), 0)), "zstd");
  assert.match(e.detail, /truncated/);
});

test("zstd: a frame bigger than one output chunk is decoded as it goes, equal to zstd -dc", async () => {
  const big = structuredData(10 << 20, 5);
  const comp = zstd(big);
  const r = await collect(decompress("zstd", comp, 0));
  assert.ok(r.chunks.length >= 2, `${r.chunks.length} chunk(s)`);
  assert.ok(r.data.equals(runTool("zstd", ["-dc"], comp)!));
  assert.equal(r.consumed, comp.length);

  // a bad checksum is found at the end, after the first chunks went out: the consumer must fail then
  const bad = Buffer.from(comp);
  bad[bad.length - 1] ^= 0x80;
  const gen = decompress("zstd", bad, 0);
  let before = 0;
  const e = await expectFormatError((async () => {
    for (let r = await gen.next(); !r.done; r = await gen.next()) before += r.value.length;
  })(), "zstd");
  assert.ok(before > 0 && before <= big.length, `${before} bytes before the error`);
  assert.equal(e.offset, comp.length - 4);
  assert.match(e.message, /checksum/);
});

test("zstd: windows over libzstd's default limit (2^27) decode, as in the kernel", async () => {
  // from stdin the size is unknown, so zstd keeps the 2^28 window --long=28 asks for
  const data = structuredData(1 << 20, 9);
  const comp = zstd(data, "--long=28");
  assert.ok(runTool("zstd", ["-dc", "--long=28"], comp)!.equals(data));
  assert.equal(comp[4] & 0x20, 0, "no single-segment frame: the window descriptor is there");
  assert.equal(comp[5] >>> 3, 28 - 10, "window log 28");
  assert.ok((await collect(decompress("zstd", comp, 0))).data.equals(data));
});

// ---- gzip ----

const gzip = (data: Uint8Array) => runTool("gzip", ["-c", "-n"], data)!;

test("gzip: optional header fields (extra, name, comment, header CRC)", async () => {
  const plain = gzip(DATA);
  assert.equal(plain[3], 0);
  const head = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16 | 2]),
    plain.subarray(4, 10),
    Buffer.from([3, 0, 0xaa, 0xbb, 0xcc]),
    Buffer.from("name.cpio\0comment\0"),
  ]);
  const hcrc = Buffer.alloc(2);
  hcrc.writeUInt16LE(crc32(head) & 0xffff);
  const full = Buffer.concat([head, hcrc, plain.subarray(10)]);
  const r = await collect(decompress("gzip", full, 0));
  assert.ok(r.data.equals(DATA));
  assert.equal(r.consumed, full.length);
  hcrc[0] ^= 1;
  await expectFormatError(collect(decompress("gzip", Buffer.concat([head, hcrc, plain.subarray(10)]), 0)), "gzip");
});

test("gzip: only one member, trailer checked", async () => {
  const a = gzip(DATA), b = gzip(Buffer.from("b"));
  const r = await collect(decompress("gzip", Buffer.concat([a, b]), 0));
  assert.ok(r.data.equals(DATA));
  assert.equal(r.consumed, a.length);
  const badSize = Buffer.from(a);
  badSize[badSize.length - 1] ^= 1;
  const e = await expectFormatError(collect(decompress("gzip", badSize, 0)), "gzip");
  assert.equal(e.offset, a.length - 4);
  const noTrailer = a.subarray(0, a.length - 8);
  assert.match((await expectFormatError(collect(decompress("gzip", noTrailer, 0)), "gzip")).detail, /trailer/);
});

test("gzip: 1f 9e is detected as gzip but unsupported, like the kernel's gunzip", async () => {
  await assert.rejects(collect(decompress("gzip", Buffer.from([0x1f, 0x9e, 8, 0, 0, 0, 0, 0, 0, 0, 0]), 0)), UnsupportedError);
});

// ---- bzip2, xz, lzma headers ----

test("bad magic after a matching detection prefix is a FormatError", async () => {
  const cases: [Parameters<typeof decompress>[0], number[]][] = [
    ["bzip2", [0x42, 0x5a, 0x30, 0x39, 0, 0]],
    ["bzip2", [0x42, 0x5a, 0x68, 0x30, 0, 0]],
    ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01, 0, 0]],
    ["lzma", [0xe1, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]],
    ["lz4", [0x02, 0x21, 0x4c, 0x17, 0, 0]],
    ["zstd", [0x28, 0xb5, 0x2f, 0xfe, 0, 0]],
  ];
  for (const [kind, bytes] of cases) {
    const e = await expectFormatError(collect(decompress(kind, Buffer.from(bytes), 0)), kind);
    assert.equal(e.offset, 0, e.message);
  }
});

test("xz: a multi-block stream (xz -T2) and stream padding after it", async () => {
  const big = structuredData(3 << 20, 8);
  const comp = runTool("xz", ["-c", "-T2", "--block-size=1MiB"], big)!;
  const r = await collect(decompress("xz", Buffer.concat([comp, Buffer.alloc(8)]), 0));
  assert.ok(r.data.equals(big));
  assert.equal(r.consumed, comp.length);
});

// ---- lzo ----

const lzop = (data: Uint8Array, ...args: string[]) => runTool("lzop", ["-c", ...args], data)!;

test("lzo: levels, CRC-32 checksums, several blocks, the end marker is consumed", async () => {
  const big = structuredData(700_000, 12); // three 256 KiB blocks
  for (const args of [["-1"], ["-9"], ["--crc32"], ["-3", "-n"]]) {
    const comp = lzop(big, ...args);
    const r = await collect(decompress("lzo", Buffer.concat([comp, Buffer.from([0, 0, 0x89, 0x4c])]), 0));
    assert.ok(r.data.equals(big), `lzop ${args}`);
    assert.equal(r.consumed, comp.length);
    assert.equal(r.chunks.length, 3);
  }
});

test("lzo: header checksum and block checksum mismatches are FormatErrors", async () => {
  const comp = lzop(DATA);
  const badHeader = Buffer.from(comp);
  badHeader[20] ^= 1; // inside mode/mtime, covered by the header checksum
  assert.match((await expectFormatError(collect(decompress("lzo", badHeader, 0)), "lzo")).detail, /header checksum/);
});

test("lzo: stored (incompressible) blocks", async () => {
  const rnd = randomBytes(300_000, 5);
  const comp = lzop(rnd);
  const r = await collect(decompress("lzo", comp, 0));
  assert.ok(r.data.equals(rnd));
  assert.equal(r.consumed, comp.length);
});
