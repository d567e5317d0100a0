/**
 * LZO1X decompressor (what lzop and the kernel's lzo1x_decompress_safe() decode), with every
 * read and write bounds-checked; malformed input throws a FormatError naming the byte offset.
 * Format: Documentation/staging/lzo.rst in the kernel tree. The stream must end with the end
 * marker (an M4 match of distance 16384 and length 3) exactly at the end of src.
 */

import { FormatError } from "../errors.js";

export function lzo1xDecompress(src: Uint8Array, dst: Uint8Array, baseOffset = 0, format = "lzo"): number {
  const fail = (at: number, detail: string) => new FormatError(format, baseOffset + at, detail);
  const srcEnd = src.length;
  const dstEnd = dst.length;
  let ip = 0;
  let op = 0;
  const needIn = (n: number) => {
    if (srcEnd - ip < n) throw fail(ip, "truncated: the stream ends before its end marker");
  };
  /** "L ?: base + zero_bytes * 255 + non_zero_byte" */
  const extendedLength = (base: number) => {
    let zeros = 0;
    for (;;) {
      needIn(1);
      const b = src[ip++];
      if (b !== 0) return base + zeros * 255 + b;
      zeros++;
    }
  };
  const copyLiterals = (n: number) => {
    needIn(n);
    if (n > dstEnd - op) throw fail(ip, `output overflow: ${n} literals at output ${op}, capacity ${dstEnd}`);
    if (n > 32) dst.set(src.subarray(ip, ip + n), op);
    else for (let i = 0; i < n; i++) dst[op + i] = src[ip + i];
    ip += n;
    op += n;
  };

  if (srcEnd < 3) throw fail(0, "truncated: shorter than the end marker");
  let version = 0;
  if (srcEnd >= 5 && src[0] === 17) {
    version = src[1];
    ip = 2;
  }
  // state: literals copied by the previous instruction (0..3), or 4 after a literal run
  let state = 0;
  if (src[ip] > 17) {
    const n = src[ip++] - 17;
    copyLiterals(n);
    state = n < 4 ? n : 4;
  }

  for (;;) {
    needIn(1);
    const at = ip;
    const t = src[ip++];
    let length: number;
    let distance: number;
    let next: number;
    if (t < 16) {
      if (state === 0) {
        copyLiterals(t === 0 ? extendedLength(15) + 3 : t + 3);
        state = 4;
        continue;
      }
      needIn(1);
      const h = src[ip++];
      next = t & 3;
      if (state !== 4) {
        length = 2;
        distance = (h << 2) + ((t >> 2) & 3) + 1;
      } else {
        length = 3;
        distance = (h << 2) + ((t >> 2) & 3) + 2049;
      }
    } else if (t >= 64) {
      needIn(1);
      const h = src[ip++];
      length = (t >> 5) + 1;
      distance = (h << 3) + ((t >> 2) & 7) + 1;
      next = t & 3;
    } else if (t >= 32) {
      length = (t & 31) === 0 ? extendedLength(31) + 2 : (t & 31) + 2;
      needIn(2);
      const v = src[ip] | (src[ip + 1] << 8);
      ip += 2;
      distance = (v >> 2) + 1;
      next = v & 3;
    } else {
      needIn(2);
      let v = src[ip] | (src[ip + 1] << 8);
      if (version !== 0 && (v & 0xfffc) === 0xfffc && (t & 0xf8) === 0x18) {
        // version 1 run of zeros
        needIn(3);
        const run = ((src[ip + 2] << 3) | (t & 7)) + 4;
        ip += 3;
        if (run > dstEnd - op) throw fail(at, `output overflow: zero run of ${run} at output ${op}, capacity ${dstEnd}`);
        dst.fill(0, op, op + run);
        op += run;
        state = v & 3;
        copyLiterals(state);
        continue;
      }
      if ((t & 7) === 0) {
        length = extendedLength(7) + 2;
        needIn(2);
        v = src[ip] | (src[ip + 1] << 8);
      } else {
        length = (t & 7) + 2;
      }
      ip += 2;
      const d = ((t & 8) << 11) + (v >> 2);
      if (d === 0) {
        if (length !== 3) throw fail(at, "malformed end marker");
        if (ip !== srcEnd) throw fail(ip, `${srcEnd - ip} bytes after the end marker`);
        return op;
      }
      distance = d + 16384;
      next = v & 3;
    }

    if (distance > op) throw fail(at, `match distance ${distance} reaches before the start of the output (${op} bytes written)`);
    if (length > dstEnd - op) throw fail(at, `output overflow: match of ${length} at output ${op}, capacity ${dstEnd}`);
    const from = op - distance;
    if (distance >= length && length > 32) {
      dst.copyWithin(op, from, from + length);
    } else {
      for (let i = 0; i < length; i++) dst[op + i] = dst[from + i];
    }
    op += length;
    state = next;
    copyLiterals(next);
  }
}
