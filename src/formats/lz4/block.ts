/**
 * LZ4 block decoder (the raw block format, no frame). Used for the kernel's legacy lz4 frame and,
 * later, EROFS LZ4 clusters. Every read and write is bounds-checked: malformed input throws a
 * FormatError naming the byte offset, it never reads or writes outside src / dst.
 *
 * Block format: sequences of
 *   token (literal length << 4 | match length - 4), [more literal length bytes], literals,
 *   match offset (le16, 1..65535 back from the output position), [more match length bytes]
 * where a length nibble of 15 continues with bytes added until one is not 255. The last sequence
 * has literals only: the block ends right after them.
 */

import { FormatError } from "../../errors.js";

export interface Lz4BlockOptions {
  /**
   * Stop as soon as dst is full, even in the middle of a sequence (EROFS-style partial decoding:
   * the wanted output length is known and the block may describe more). Without it, src must be
   * exactly one whole block and its output must fit in dst.
   */
  stopWhenFull?: boolean;
  /** Offset of src[0] in the caller's input, so errors name the byte in the original file. */
  baseOffset?: number;
  /** Format name in error messages. */
  format?: string;
}

export interface Lz4BlockResult {
  /** bytes of src used */
  read: number;
  /** bytes written to dst, from dst[0] */
  written: number;
}

/** Below this many bytes a plain loop beats set()/copyWithin() and their call overhead. */
const SHORT_COPY = 32;

export function lz4DecodeBlock(src: Uint8Array, dst: Uint8Array, options: Lz4BlockOptions = {}): Lz4BlockResult {
  const stopWhenFull = options.stopWhenFull ?? false;
  const base = options.baseOffset ?? 0;
  const format = options.format ?? "lz4";
  const fail = (at: number, detail: string) => new FormatError(format, base + at, detail);
  const srcEnd = src.length;
  const dstEnd = dst.length;
  let ip = 0;
  let op = 0;

  if (srcEnd === 0) throw fail(0, "empty block (a block holds at least its token byte)");

  for (;;) {
    if (stopWhenFull && op === dstEnd) return { read: ip, written: op };
    if (ip >= srcEnd) throw fail(ip, "block ends after a match (the last sequence must be literals)");
    const tokenAt = ip;
    const token = src[ip++];

    // literal length
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw fail(ip, "block ends inside a literal length");
        b = src[ip++];
        litLen += b;
      } while (b === 255);
    }
    if (litLen > srcEnd - ip) {
      throw fail(ip, `literal run of ${litLen} bytes passes the end of the block (${srcEnd - ip} left)`);
    }
    if (litLen > dstEnd - op) {
      if (!stopWhenFull) throw fail(tokenAt, `output overflow: ${litLen} literals at output ${op}, capacity ${dstEnd}`);
      litLen = dstEnd - op;
    }
    if (litLen < SHORT_COPY) {
      for (let i = 0; i < litLen; i++) dst[op + i] = src[ip + i];
    } else {
      dst.set(src.subarray(ip, ip + litLen), op);
    }
    ip += litLen;
    op += litLen;
    if (ip === srcEnd) return { read: ip, written: op };
    if (stopWhenFull && op === dstEnd) return { read: ip, written: op };

    // match
    if (srcEnd - ip < 2) throw fail(ip, "block ends inside a match offset");
    const offsetAt = ip;
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0) throw fail(offsetAt, "match offset 0");
    if (offset > op) throw fail(offsetAt, `match offset ${offset} reaches before the start of the output (${op} bytes written)`);
    let matchLen = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw fail(ip, "block ends inside a match length");
        b = src[ip++];
        matchLen += b;
      } while (b === 255);
    }
    if (matchLen > dstEnd - op) {
      if (!stopWhenFull) throw fail(tokenAt, `output overflow: match of ${matchLen} bytes at output ${op}, capacity ${dstEnd}`);
      matchLen = dstEnd - op;
    }
    let from = op - offset;
    if (offset >= matchLen && matchLen >= SHORT_COPY) {
      dst.copyWithin(op, from, from + matchLen);
      op += matchLen;
    } else if (offset >= SHORT_COPY) {
      // overlapping but with a long period: copy in offset-sized pieces that never overlap
      const end = op + matchLen;
      while (op < end) {
        const n = Math.min(offset, end - op);
        dst.copyWithin(op, from, from + n);
        op += n;
        from += n;
      }
    } else {
      // short or overlapping (offset < length repeats a pattern): byte by byte, in order
      for (let i = 0; i < matchLen; i++) dst[op + i] = dst[from + i];
      op += matchLen;
    }
  }
}

/**
 * Decodes one whole LZ4 block (all of src) into dst; returns the bytes written. Throws if the
 * block is malformed or its output does not fit in dst.
 */
export function lz4DecompressBlock(src: Uint8Array, dst: Uint8Array, baseOffset = 0, format = "lz4"): number {
  return lz4DecodeBlock(src, dst, { baseOffset, format }).written;
}

/** Decodes one whole block whose output must be exactly dst.length bytes (EROFS, known size). */
export function lz4DecompressBlockExact(src: Uint8Array, dst: Uint8Array, baseOffset = 0, format = "lz4"): void {
  const written = lz4DecompressBlock(src, dst, baseOffset, format);
  if (written !== dst.length) {
    throw new FormatError(format, baseOffset, `block decodes to ${written} bytes, expected ${dst.length}`);
  }
}

/** The largest compressed size of n input bytes (LZ4_compressBound). */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}
