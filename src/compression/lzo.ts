/**
 * lzo: the lzop file format, as the kernel's lib/decompress_unlzo.c reads it. Header (magic,
 * versions, method, flags, mode, mtime, name, header checksum), then blocks of
 *   be32 uncompressed size (0 ends the stream: those 4 bytes are consumed), be32 compressed size,
 *   checksums as the flags say, data (stored as is when both sizes are equal, else LZO1X).
 * Blocks hold at most 256 KiB, the kernel's limit and lzop's block size.
 *
 * Stricter than the kernel, which skips exactly one 4-byte checksum per block and checks none:
 * the flags decide which checksums are present, and all of them are verified.
 */

import { crc32 } from "node:zlib";
import { FormatError, UnsupportedError } from "../errors.js";
import { lzo1xDecompress } from "./lzo1x.js";

const MAGIC = [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a];
const F_ADLER32_D = 0x1, F_ADLER32_C = 0x2, F_H_EXTRA_FIELD = 0x40, F_CRC32_D = 0x100, F_CRC32_C = 0x200;
const F_H_FILTER = 0x800, F_H_CRC32 = 0x1000;
const BLOCK_SIZE_MAX = 256 << 10;

export function adler32(data: Uint8Array, start = 1): number {
  let a = start & 0xffff;
  let b = start >>> 16;
  for (let i = 0; i < data.length; ) {
    const end = Math.min(data.length, i + 5552); // the most bytes before b can overflow 2^32
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

export async function* decompressLzo(input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  const fail = (at: number, detail: string) => new FormatError("lzo", at, detail);
  let p = offset;
  const need = (n: number, what: string) => {
    if (input.length - p < n) throw fail(p, `truncated: ${what}`);
  };
  const u8 = () => input[p++];
  const be16 = () => {
    const v = (input[p] << 8) | input[p + 1];
    p += 2;
    return v;
  };
  const be32 = () => {
    const v = ((input[p] << 24) | (input[p + 1] << 16) | (input[p + 2] << 8) | input[p + 3]) >>> 0;
    p += 4;
    return v;
  };

  // header
  need(MAGIC.length, "header");
  for (let i = 0; i < MAGIC.length; i++) if (input[p + i] !== MAGIC[i]) throw fail(offset, "bad magic: not an lzop file");
  p += MAGIC.length;
  const headerAt = p;
  need(2 + 2 + 2 + 1 + 1 + 4, "header");
  const version = be16();
  be16(); // library version
  if (version >= 0x0940) be16(); // version needed to extract
  const methodAt = p;
  const method = u8();
  if (version >= 0x0940) u8(); // level
  const flags = be32();
  if (method < 1 || method > 3) throw new UnsupportedError("lzo", methodAt, `method ${method} is not LZO1X`);
  if (flags & F_H_FILTER) throw new UnsupportedError("lzo", p, "lzop filters are not supported (nor by the kernel)");
  need(4 + 4 + (version >= 0x0940 ? 4 : 0) + 1, "header");
  p += 8 + (version >= 0x0940 ? 4 : 0); // mode, mtime (low, high)
  const nameLength = u8();
  need(nameLength + 4, "header");
  p += nameLength;
  const header = input.subarray(headerAt, p);
  const headerSum = (flags & F_H_CRC32) ? crc32(header) >>> 0 : adler32(header);
  if (be32() !== headerSum) throw fail(p - 4, "header checksum mismatch");
  if (flags & F_H_EXTRA_FIELD) {
    need(4, "extra field");
    const size = be32();
    need(size + 4, "extra field");
    p += size + 4;
  }

  // blocks
  for (;;) {
    const blockAt = p;
    need(4, "block header");
    const dstLen = be32();
    if (dstLen === 0) break;
    if (dstLen > BLOCK_SIZE_MAX) throw fail(blockAt, `block of ${dstLen} bytes, more than ${BLOCK_SIZE_MAX}`);
    need(4, "block header");
    const srcLen = be32();
    if (srcLen === 0 || srcLen > dstLen) throw fail(blockAt + 4, `compressed size ${srcLen} for a block of ${dstLen} bytes`);
    const compressed = srcLen < dstLen;
    const sums: [kind: "adler" | "crc", of: "data" | "compressed", value: number, at: number][] = [];
    for (const [flag, kind, of] of [
      [F_ADLER32_D, "adler", "data"],
      [F_CRC32_D, "crc", "data"],
      [F_ADLER32_C, "adler", "compressed"],
      [F_CRC32_C, "crc", "compressed"],
    ] as const) {
      if (!(flags & flag) || (of === "compressed" && !compressed)) continue;
      need(4, "block checksum");
      sums.push([kind, of, be32(), p - 4]);
    }
    need(srcLen, `block of ${srcLen} bytes`);
    const src = input.subarray(p, p + srcLen);
    const srcAt = p;
    p += srcLen;
    let out: Uint8Array;
    if (compressed) {
      out = new Uint8Array(dstLen);
      const n = lzo1xDecompress(src, out, srcAt);
      if (n !== dstLen) throw fail(srcAt, `block decodes to ${n} bytes, its header says ${dstLen}`);
    } else {
      out = src.slice();
    }
    for (const [kind, of, value, at] of sums) {
      const bytes = of === "data" ? out : src;
      const actual = kind === "adler" ? adler32(bytes) : crc32(bytes) >>> 0;
      if (actual !== value) throw fail(at, `${kind === "adler" ? "Adler-32" : "CRC-32"} mismatch: corrupt ${of === "data" ? "data" : "block"}`);
    }
    yield out;
  }
  return p - offset;
}
