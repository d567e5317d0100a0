/**
 * Decompression of initramfs segments: pure functions from bytes to bytes. Each decoder reads
 * one compressed stream the way the kernel's decompressor for initramfs does, and reports how
 * many input bytes it occupied, so the caller continues with the next segment exactly where
 * the kernel would (its `my_inptr`).
 */

import { FormatError, UnsupportedError } from "../errors.js";
import { decompressBzip2 } from "./bzip2.js";
import { decompressGzip } from "./gzip.js";
import { decompressLzma, decompressXz } from "./liblzma.js";
import { decompressLz4Legacy } from "./lz4-legacy.js";
import { decompressLzo } from "./lzo.js";
import { decompressZstd } from "./zstd.js";

export type Compression = "gzip" | "zstd" | "xz" | "lzma" | "bzip2" | "lz4" | "lzo";

export const COMPRESSIONS: readonly Compression[] = ["gzip", "zstd", "xz", "lzma", "bzip2", "lz4", "lzo"];

/**
 * The kernel's table (lib/decompress.c): like decompress_method(), only the first two bytes
 * decide; the decoder then checks the rest of its magic (gzip 1f 8b 08, bzip2 "BZh1".."BZh9",
 * xz fd 37 7a 58 5a 00, lzop 89 4c 5a 4f 00 0d 0a 1a 0a, lz4 02 21 4c 18, zstd 28 b5 2f fd)
 * and fails with a FormatError, as the kernel's does.
 */
const MAGICS: ReadonlyArray<readonly [number, number, Compression]> = [
  [0x1f, 0x8b, "gzip"],
  [0x1f, 0x9e, "gzip"],
  [0x42, 0x5a, "bzip2"],
  [0x5d, 0x00, "lzma"],
  [0xfd, 0x37, "xz"],
  [0x89, 0x4c, "lzo"],
  [0x02, 0x21, "lz4"],
  [0x28, 0xb5, "zstd"],
];

/** The compression whose magic starts at input[offset], as the kernel detects it. */
export function detectCompression(input: Uint8Array, offset: number): Compression | undefined {
  if (!(offset >= 0) || input.length - offset < 2) return undefined;
  const a = input[offset], b = input[offset + 1];
  for (const [m0, m1, kind] of MAGICS) if (a === m0 && b === m1) return kind;
  return undefined;
}

type Decoder = (input: Uint8Array, offset: number) => AsyncGenerator<Uint8Array, number, void>;

const DECODERS: Record<Compression, Decoder> = {
  gzip: decompressGzip,
  zstd: decompressZstd,
  xz: decompressXz,
  lzma: decompressLzma,
  bzip2: decompressBzip2,
  lz4: decompressLz4Legacy,
  lzo: decompressLzo,
};

/**
 * Decompresses the stream that starts at input[offset]. Yields the output in order, in chunks
 * that are never reused or overwritten (the consumer may keep them). Returns the number of input
 * bytes the compressed stream occupied. Bad input throws a FormatError (UnsupportedError for
 * valid but unsupported input) naming the compressor and an offset into `input`.
 *
 * How the end is found: gzip one member (header + deflate end + 8-byte trailer); zstd one frame
 * (header and block walk); xz one stream (liblzma stops after the footer); lzma the end marker or
 * the header's size; bzip2 the end-of-stream marker and CRC; lzo (lzop) the zero block size;
 * lz4 legacy has no end marker: the end of the input, a zero chunk size (padding, not consumed)
 * or fewer than 4 bytes left, as in the kernel. Every count is exact.
 */
export async function* decompress(kind: Compression, input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  const decoder = Object.hasOwn(DECODERS, kind) ? DECODERS[kind] : undefined;
  if (!decoder) throw new UnsupportedError(String(kind), offset, `unknown compression ${String(kind)}`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > input.length) {
    throw new FormatError(kind, offset, `offset outside the input (${input.length} bytes)`);
  }
  if (offset === input.length) throw new FormatError(kind, offset, "truncated: no data");
  try {
    return yield* decoder(input, offset);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    // A decoder library failing in a way we did not foresee is still bad input, not a crash.
    throw new FormatError(kind, offset, `decoder failed: ${(e as Error)?.message ?? String(e)}`);
  }
}
