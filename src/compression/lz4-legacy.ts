/**
 * The lz4 *legacy* frame, the only lz4 format the kernel reads (`lz4 -l`, lib/decompress_unlz4.c):
 * magic 02 21 4c 18, then chunks of le32 compressed size + one LZ4 block that decodes to at most
 * 8 MiB. There is no end marker; like the kernel (with input in memory) the stream ends
 *  - at the end of the input, or with fewer than 4 bytes left (those are not consumed),
 *  - at a zero chunk size (padding; the zeros are not consumed, the initramfs loop skips them).
 * A repeated magic is skipped (concatenated `lz4 -l` outputs decode as one stream).
 * Any other size is a chunk; one larger than an LZ4 block of 8 MiB can be is an error, as in the
 * kernel, whose decoder fails there too (a following segment needs zero padding before it).
 */

import { FormatError } from "../errors.js";
import { lz4CompressBound, lz4DecompressBlock } from "../formats/lz4/block.js";

export const LZ4_LEGACY_MAGIC = 0x184c2102;
/**
 * A zero chunk size, which a writer puts after the last chunk when more may follow: the kernel's
 * decoder (5.11 and later) and ours stop there, and the initramfs loop skips the zeros.
 */
export const LZ4_LEGACY_END_BYTES = 4;
/** what one chunk decodes to at most, and what a writer puts in each */
export const LZ4_LEGACY_CHUNK = 8 << 20;
const CHUNK_OUTPUT_MAX = LZ4_LEGACY_CHUNK;
const CHUNK_INPUT_MAX = lz4CompressBound(CHUNK_OUTPUT_MAX);
/**
 * What a block of n bytes can decode to at most: a match-length extension byte adds 255 bytes out,
 * every other byte far less (a 3-byte sequence head makes at most 19; literals are 1:1).
 */
function blockOutputBound(n: number): number {
  return Math.min(CHUNK_OUTPUT_MAX, 255 * n + 64);
}

function le32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

export async function* decompressLz4Legacy(input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  if (input.length - offset < 4 || le32(input, offset) !== LZ4_LEGACY_MAGIC) {
    throw new FormatError("lz4", offset, "bad magic: not an lz4 legacy frame (the kernel reads only `lz4 -l` output)");
  }
  let pos = offset + 4;
  // One scratch buffer, grown to what the chunks can decode to (not 8 MiB for a 40-byte stream);
  // each chunk's output is copied out at its exact size so the consumer may keep it.
  let scratch = new Uint8Array(0);
  for (;;) {
    if (input.length - pos < 4) break;
    const size = le32(input, pos);
    if (size === LZ4_LEGACY_MAGIC) {
      pos += 4;
      continue;
    }
    if (size === 0) break;
    if (size > CHUNK_INPUT_MAX) {
      throw new FormatError("lz4", pos, `chunk size ${size} is more than an lz4 legacy chunk can hold (${CHUNK_INPUT_MAX}); data after an lz4 segment must be preceded by zero padding`);
    }
    if (size > input.length - pos - 4) {
      throw new FormatError("lz4", pos, `truncated: chunk of ${size} bytes, only ${input.length - pos - 4} left`);
    }
    if (scratch.length < blockOutputBound(size)) scratch = new Uint8Array(blockOutputBound(size));
    const blockAt = pos + 4;
    const n = lz4DecompressBlock(input.subarray(blockAt, blockAt + size), scratch, blockAt);
    if (n > 0) yield scratch.slice(0, n);
    pos = blockAt + size;
  }
  return pos - offset;
}
