import test from "node:test";
import assert from "node:assert/strict";
import { lzo1xDecompress } from "../../src/compression/lzo1x.js";
import { adler32 } from "../../src/compression/lzo.js";
import { FormatError } from "../../src/errors.js";
import { randomBytes } from "../helpers/prng.js";

const EOF_MARKER = [0x11, 0x00, 0x00];
const bytes = (...parts: (number | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "latin1")] : [p])));

function decode(src: Uint8Array, capacity = 1024): string {
  const dst = new Uint8Array(capacity);
  return Buffer.from(dst.subarray(0, lzo1xDecompress(src, dst))).toString("latin1");
}

function throwsAt(fn: () => unknown, offset: number, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e));
    assert.equal(e.offset, offset, e.message);
    assert.match(e.detail, pattern);
    return true;
  });
}

test("first-byte literal run, then the end marker", () => {
  assert.equal(decode(bytes(17 + 5, "hello", ...EOF_MARKER)), "hello");
  assert.equal(decode(bytes(...EOF_MARKER)), "");
});

test("matches: M2 (3..8 bytes within 2 KiB) and M3 with overlap", () => {
  // "abcd", then M2 length 4 (010 1 DDD SS: L=1 -> 4), distance 4 -> D=3, H=0: 0b01_1_011_00
  assert.equal(decode(bytes(17 + 4, "abcd", 0b01101100, 0, ...EOF_MARKER)), "abcdabcd");
  // "ab", then M3 length 2+8=10, distance 2 (LE16 = (2-1) << 2), then 1 literal "z" via S=1
  assert.equal(decode(bytes(17 + 2, "ab", 0x20 | 8, (1 << 2) | 1, 0, "z", ...EOF_MARKER)), "ab" + "ababababab" + "z");
});

test("long literal run with zero-byte length extension", () => {
  const lit = "q".repeat(3 + 15 + 255 + 7);
  // first byte 0..16 in state 0: a literal run; 0 -> extended: 15 + 255 * 1 zero + 7
  assert.equal(decode(bytes(0, 0, 7, lit, ...EOF_MARKER), 2048), lit);
});

test("malformed streams are FormatErrors at the failing byte", () => {
  // M2 reaching before the output
  throwsAt(() => decode(bytes(17 + 1, "a", 0b01101100, 0, ...EOF_MARKER)), 2, /before the start/);
  // literal run past the input
  throwsAt(() => decode(bytes(17 + 9, "abc")), 1, /truncated/);
  // no end marker
  throwsAt(() => decode(bytes(17 + 3, "abc")), 4, /truncated/);
  // end marker with a length other than 3
  throwsAt(() => decode(bytes(17 + 3, "abc", 0x12, 0, 0)), 4, /end marker/);
  // bytes after the end marker
  throwsAt(() => decode(bytes(17 + 3, "abc", ...EOF_MARKER, 0)), 7, /after the end marker/);
  // output overflow
  throwsAt(() => decode(bytes(17 + 5, "hello", ...EOF_MARKER), 4), 1, /overflow/);
  throwsAt(() => decode(bytes()), 0, /truncated/);
});

test("random streams: only FormatErrors", () => {
  for (let i = 0; i < 3000; i++) {
    const src = randomBytes(3 + (i % 60), i + 7);
    const dst = new Uint8Array(i % 300);
    try {
      assert.ok(lzo1xDecompress(src, dst) <= dst.length);
    } catch (e) {
      assert.ok(e instanceof FormatError, String(e));
    }
  }
});

test("adler32", () => {
  assert.equal(adler32(new Uint8Array(0)), 1);
  assert.equal(adler32(Buffer.from("Wikipedia")), 0x11e60398);
  // the deferred modulo agrees with the by-the-book version on long runs of 0xff
  const data = new Uint8Array(100_000).fill(0xff);
  let a = 1, b = 0;
  for (const x of data) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  assert.equal(adler32(data), ((b << 16) | a) >>> 0);
});
