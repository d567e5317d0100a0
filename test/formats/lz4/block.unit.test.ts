import test from "node:test";
import assert from "node:assert/strict";
import { lz4DecodeBlock, lz4DecompressBlock, lz4DecompressBlockExact } from "../../../src/formats/lz4/block.js";
import { FormatError } from "../../../src/errors.js";
import { randomBytes } from "../../helpers/prng.js";

const bytes = (...parts: (number | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "latin1")] : [p])));
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

function decodeText(src: Uint8Array, capacity = 1024): string {
  const dst = new Uint8Array(capacity);
  return text(dst.subarray(0, lz4DecompressBlock(src, dst)));
}

function throwsAt(fn: () => unknown, offset: number, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `FormatError, got ${String(e)}`);
    assert.equal(e.offset, offset, e.message);
    assert.match(e.detail, pattern);
    return true;
  });
}

test("literals only", () => {
  assert.equal(decodeText(bytes(0x50, "hello")), "hello");
  assert.equal(decodeText(bytes(0x00)), ""); // an empty input's block
});

test("long literal run with 255 continuation bytes", () => {
  const lit = "x".repeat(15 + 255 + 10);
  assert.equal(decodeText(bytes(0xf0, 255, 10, lit)), lit);
});

test("overlapping match repeats a pattern", () => {
  // "a", then offset 1 length 10, then the last literals "b"
  assert.equal(decodeText(bytes(0x16, "a", 1, 0, 0x10, "b")), "a".repeat(11) + "b");
  // "abc", offset 3 length 4+15+3 = 22 (extra length byte)
  assert.equal(decodeText(bytes(0x3f, "abc", 3, 0, 3, 0x00)), "abc" + "abcabcabcabcabcabcabca");
});

test("long matches: non-overlapping and overlapping with a long period", () => {
  const head = randomBytes(100, 5);
  // 100 literals, then offset 100 length 4+15+200 = 219 (overlaps: 219 > 100)
  const src = Uint8Array.from([0xff, 85, ...head, 100, 0, 200, 0x00]);
  // literal length 15 + 85 = 100
  const dst = new Uint8Array(400);
  const n = lz4DecompressBlock(src, dst);
  assert.equal(n, 319);
  for (let i = 100; i < 319; i++) assert.equal(dst[i], dst[i - 100]);
  // offset 40 length 36: non-overlapping copy
  const src2 = Uint8Array.from([0xff, 25, ...head.subarray(0, 40), 40, 0, 17, 0x00]);
  const dst2 = new Uint8Array(100);
  assert.equal(lz4DecompressBlock(src2, dst2), 76);
  assert.deepEqual(dst2.subarray(40, 76), dst2.subarray(0, 36));
});

test("malformed: offset 0", () => {
  throwsAt(() => decodeText(bytes(0x14, "a", 0, 0, 0x00)), 2, /offset 0/);
});

test("malformed: offset beyond the output so far", () => {
  throwsAt(() => decodeText(bytes(0x14, "a", 5, 0, 0x00)), 2, /before the start/);
});

test("malformed: literal length past the end of the block", () => {
  throwsAt(() => decodeText(bytes(0x50, "ab")), 1, /passes the end/);
  throwsAt(() => decodeText(bytes(0xf0)), 1, /inside a literal length/);
  throwsAt(() => decodeText(bytes(0xf0, 255)), 2, /inside a literal length/);
});

test("malformed: block ends inside or right after a match", () => {
  throwsAt(() => decodeText(bytes(0x14, "a", 1)), 2, /inside a match offset/);
  throwsAt(() => decodeText(bytes(0x1f, "a", 1, 0)), 4, /inside a match length/);
  throwsAt(() => decodeText(bytes(0x14, "a", 1, 0)), 4, /last sequence must be literals/);
  throwsAt(() => decodeText(bytes()), 0, /empty block/);
});

test("malformed: output overflow of dst", () => {
  throwsAt(() => decodeText(bytes(0x50, "hello"), 3), 0, /output overflow/);
  throwsAt(() => decodeText(bytes(0x16, "a", 1, 0, 0x00), 5), 0, /output overflow/);
});

test("errors name the offset in the caller's input", () => {
  const dst = new Uint8Array(10);
  throwsAt(() => lz4DecompressBlock(bytes(0x14, "a", 0, 0, 0), dst, 1000), 1002, /offset 0/);
});

test("exact variant: output must fill dst", () => {
  lz4DecompressBlockExact(bytes(0x50, "hello"), new Uint8Array(5));
  assert.throws(() => lz4DecompressBlockExact(bytes(0x50, "hello"), new Uint8Array(6)), FormatError);
});

test("stopWhenFull: stops mid-literals and mid-match", () => {
  const dst = new Uint8Array(3);
  assert.deepEqual(lz4DecodeBlock(bytes(0x50, "hello"), dst, { stopWhenFull: true }), { read: 4, written: 3 });
  assert.equal(text(dst), "hel");
  const dst2 = new Uint8Array(6);
  const r = lz4DecodeBlock(bytes(0x16, "a", 1, 0, 0x10, "b"), dst2, { stopWhenFull: true });
  assert.equal(r.written, 6);
  assert.equal(text(dst2), "aaaaaa");
  // a block that ends before dst is full still reports what it wrote
  assert.deepEqual(lz4DecodeBlock(bytes(0x20, "hi"), new Uint8Array(8), { stopWhenFull: true }), { read: 3, written: 2 });
});

test("random blocks: only FormatErrors, never out of bounds", () => {
  let errors = 0;
  for (let i = 0; i < 3000; i++) {
    const src = randomBytes(1 + (i % 64), i + 1);
    const dst = new Uint8Array(i % 200);
    try {
      const { written, read } = lz4DecodeBlock(src, dst, { stopWhenFull: i % 2 === 0 });
      assert.ok(written <= dst.length && read <= src.length);
    } catch (e) {
      assert.ok(e instanceof FormatError, String(e));
      assert.ok(e.offset !== undefined && e.offset >= 0 && e.offset <= src.length);
      errors++;
    }
  }
  assert.ok(errors > 0);
});
