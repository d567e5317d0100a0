/**
 * gzip, one member, as the kernel's lib/decompress_inflate.c reads it: header, raw deflate, 8-byte
 * trailer. The next member (if any) is a new segment for the caller.
 *
 * Node's gunzip mode would run on into a following member (or choke on trailing data), so the
 * header and trailer are handled here and only the deflate body goes to zlib (inflateRaw, on
 * zlib's thread pool). zlib's `bytesWritten` after the deflate end is exactly the body's length.
 *
 * More lenient than the kernel, which only skips FNAME: FEXTRA, FCOMMENT and FHCRC are parsed too.
 * Stricter: the trailer's CRC32 and size are verified (the kernel skips them).
 */

import { createInflateRaw, crc32 } from "node:zlib";
import { FormatError, UnsupportedError } from "../errors.js";

const FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16;
const OUTPUT_CHUNK = 1 << 20;

function le32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** Returns the offset of the deflate data. */
export function parseGzipHeader(input: Uint8Array, offset: number): number {
  const truncated = (at: number) => new FormatError("gzip", at, "truncated header");
  if (input.length - offset < 2) throw truncated(offset);
  if (input[offset] !== 0x1f || (input[offset + 1] !== 0x8b && input[offset + 1] !== 0x9e)) {
    throw new FormatError("gzip", offset, "bad magic");
  }
  if (input[offset + 1] === 0x9e) {
    throw new UnsupportedError("gzip", offset, "magic 1f 9e (old gzip) is not supported; the kernel's gunzip rejects it too");
  }
  if (input.length - offset < 10) throw truncated(offset);
  if (input[offset + 2] !== 8) throw new FormatError("gzip", offset + 2, `compression method ${input[offset + 2]}, only 8 (deflate) exists`);
  const flags = input[offset + 3];
  if (flags & 0xe0) throw new FormatError("gzip", offset + 3, "reserved flag bits set");
  let p = offset + 10;
  if (flags & FEXTRA) {
    if (input.length - p < 2) throw truncated(p);
    p += 2 + (input[p] | (input[p + 1] << 8));
    if (p > input.length) throw truncated(input.length);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const nul = input.indexOf(0, p);
    if (nul < 0) throw truncated(input.length);
    p = nul + 1;
  }
  if (flags & FHCRC) {
    if (input.length - p < 2) throw truncated(p);
    const stored = input[p] | (input[p + 1] << 8);
    if (stored !== (crc32(input.subarray(offset, p)) & 0xffff)) throw new FormatError("gzip", p, "header CRC mismatch");
    p += 2;
  }
  return p;
}

export async function* decompressGzip(input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  const bodyAt = parseGzipHeader(input, offset);
  const inflater = createInflateRaw({ chunkSize: OUTPUT_CHUNK });
  // Errors surface through the iterator below; this keeps an early 'error' from being unhandled.
  inflater.on("error", () => {});
  inflater.end(input.subarray(bodyAt));
  let crc = 0;
  let size = 0;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      yield chunk;
    }
  } catch (e) {
    if (e instanceof FormatError) throw e;
    const message = (e as Error).message;
    const detail = /unexpected end/i.test(message) ? "truncated deflate data" : `corrupt deflate data: ${message}`;
    throw new FormatError("gzip", bodyAt + inflater.bytesWritten, detail);
  } finally {
    inflater.destroy();
  }
  const trailerAt = bodyAt + inflater.bytesWritten;
  if (input.length - trailerAt < 8) throw new FormatError("gzip", trailerAt, "truncated trailer");
  const storedCrc = le32(input, trailerAt);
  if (storedCrc !== crc >>> 0) throw new FormatError("gzip", trailerAt, "CRC32 mismatch: corrupt data");
  if (le32(input, trailerAt + 4) !== size % 0x100000000) throw new FormatError("gzip", trailerAt + 4, "size mismatch: corrupt data");
  return trailerAt + 8 - offset;
}
