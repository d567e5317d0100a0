/**
 * Every compressor against data made by the real CLI tools: same bytes out, the exact consumed
 * count when other data follows, and typed errors for truncated or corrupted streams.
 */

import test from "node:test";
import assert from "node:assert/strict";
import { decompress, detectCompression, type Compression } from "../../src/compression/index.js";
import { collect, expectFormatError, expectNoCrash, hasTool, randomBytes, runTool, structuredData } from "./support.js";

interface Case {
  kind: Compression;
  cmd: string;
  args: string[];
  /** a flipped byte is always detected (the format has a checksum) */
  checksummed: boolean;
}

const CASES: Case[] = [
  { kind: "gzip", cmd: "gzip", args: ["-c", "-n"], checksummed: true },
  { kind: "zstd", cmd: "zstd", args: ["-c", "-q"], checksummed: true },
  { kind: "xz", cmd: "xz", args: ["-c"], checksummed: true },
  { kind: "lzma", cmd: "xz", args: ["--format=lzma", "-c"], checksummed: false },
  { kind: "bzip2", cmd: "bzip2", args: ["-c"], checksummed: true },
  { kind: "lz4", cmd: "lz4", args: ["-l", "-c"], checksummed: false },
  { kind: "lzo", cmd: "lzop", args: ["-c"], checksummed: true },
];

const RANDOM = randomBytes(200_000, 42);
const STRUCTURED = structuredData(1_000_000);
/** the highest ratio a compressor reaches: decoders that size their buffers from the input must still fit it */
const ZEROS = new Uint8Array(20_000_000);

for (const c of CASES) {
  const compress = (data: Uint8Array) => runTool(c.cmd, c.args, data)!;

  test(`${c.kind}: detected by its magic`, () => {
    const comp = compress(STRUCTURED);
    assert.equal(detectCompression(comp, 0), c.kind);
    const shifted = Buffer.concat([Buffer.from("xyz"), comp]);
    assert.equal(detectCompression(shifted, 3), c.kind);
  });

  for (const [name, data] of [["random", RANDOM], ["structured", STRUCTURED], ["zeros", ZEROS], ["empty", Buffer.alloc(0)]] as const) {
    test(`${c.kind}: ${name} data, exact end before padding and a second stream`, async () => {
      const comp = compress(data);
      const second = Buffer.from("second stream ".repeat(100));
      const comp2 = compress(second);
      const padding = Buffer.alloc(4);
      const input = Buffer.concat([Buffer.from([9, 9, 9, 9, 9]), comp, padding, comp2, padding, Buffer.from([0xde, 0xad])]);
      const first = await collect(decompress(c.kind, input, 5));
      assert.ok(first.data.equals(data as Uint8Array), "output differs");
      assert.equal(first.consumed, comp.length);
      const next = 5 + comp.length + padding.length;
      const two = await collect(decompress(c.kind, input, next));
      assert.ok(two.data.equals(second), "second output differs");
      assert.equal(two.consumed, comp2.length);
    });
  }

  test(`${c.kind}: chunks are not reused`, async () => {
    const comp = compress(STRUCTURED);
    const { chunks, data } = await collect(decompress(c.kind, comp, 0));
    // collect() concatenated at the end: had a buffer been overwritten, data would differ
    assert.ok(data.equals(STRUCTURED));
    assert.ok(chunks.every((ch) => ch.length > 0), "no empty chunks");
  });

  test(`${c.kind}: truncated input is a FormatError`, async () => {
    const comp = compress(STRUCTURED);
    for (const cut of [1, 3, Math.floor(comp.length / 2), comp.length - 1]) {
      const e = await expectFormatError(collect(decompress(c.kind, comp.subarray(0, cut), 0)), c.kind);
      assert.ok(e.offset !== undefined && e.offset >= 0 && e.offset <= cut, `offset ${e.offset} within the input (cut ${cut})`);
    }
  });

  test(`${c.kind}: a flipped byte in the middle is ${c.checksummed ? "a FormatError" : "no crash"}`, async () => {
    const comp = compress(STRUCTURED);
    const bad = Buffer.from(comp);
    bad[bad.length >> 1] ^= 0x10;
    if (c.checksummed) {
      await expectFormatError(collect(decompress(c.kind, bad, 0)), c.kind);
    } else {
      // no checksum in the format: garbage out is possible, but only output or a FormatError
      await expectNoCrash(collect(decompress(c.kind, bad, 0)), c.kind);
    }
  });

  test(`${c.kind}: fuzzed flips and cuts end with output or a FormatError`, async () => {
    const comp = compress(structuredData(20_000, 3));
    const rnd = randomBytes(400, 99);
    for (let i = 0; i < 100; i++) {
      const bad = Buffer.from(comp);
      const at = ((rnd[2 * i] << 8) | rnd[2 * i + 1]) % bad.length;
      bad[at] ^= 1 << (i % 8);
      const input = i % 3 === 0 ? bad.subarray(0, bad.length - (i % 17) - 1) : bad;
      await expectNoCrash(collect(decompress(c.kind, input, 0)), c.kind);
    }
  });

  test(`${c.kind}: stopping early releases the decoder`, async () => {
    const comp = compress(structuredData(6_000_000, 5));
    const gen = decompress(c.kind, comp, 0);
    const first = await gen.next();
    assert.equal(first.done, false);
    const r = await gen.return(0);
    assert.equal(r.done, true);
    // and a fresh decode still works
    const again = await collect(decompress(c.kind, comp, 0));
    assert.equal(again.consumed, comp.length);
  });
}
