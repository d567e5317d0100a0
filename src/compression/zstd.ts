/**
 * zstd, one frame, as the kernel's lib/decompress_unzstd.c reads it: zstd_decompress_stream()
 * until it reports the end of the first frame. So the stream is exactly one frame; a following
 * frame is a new segment for the caller (the kernel detects its magic again). A skippable frame
 * (magic 0x184D2A50..5F) also counts as a whole, empty, stream here, as it does for libzstd.
 *
 * The end is found by walking the frame and block headers ourselves; libzstd then decodes exactly
 * that frame, chunk by chunk.
 */

import { FormatError, UnsupportedError } from "../errors.js";
import { loadAddon } from "./native-addon.js";

const BLOCK_SIZE_MAX = 128 << 10;
/** the largest window this decoder accepts (libzstd's default limit is lower: 128 MiB) */
const WINDOW_SIZE_MAX = 2145386496;

export interface ZstdFrame {
  /** offset of the first block header */
  blocksAt: number;
  /** offset just past the frame (including the checksum) */
  end: number;
  /** offsets where each block header starts, plus `checksumAt` at the end */
  blockStarts: number[];
  checksumAt: number;
  hasChecksum: boolean;
  contentSize: number | undefined;
  skippable: boolean;
}

function le32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function leN(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + b[at + i];
  return v;
}

/** Walks one frame's headers; throws FormatError naming the offset of anything malformed. */
export function parseZstdFrame(input: Uint8Array, offset: number): ZstdFrame {
  const fail = (at: number, detail: string) => new FormatError("zstd", at, detail);
  const need = (at: number, n: number, what: string) => {
    if (input.length - at < n) throw fail(at, `truncated: ${what} needs ${n} bytes, ${Math.max(0, input.length - at)} left`);
  };
  need(offset, 4, "frame magic");
  const magic = le32(input, offset);
  if ((magic & 0xfffffff0) === 0x184d2a50) {
    need(offset + 4, 4, "skippable frame size");
    const size = le32(input, offset + 4);
    need(offset + 8, size, "skippable frame");
    const end = offset + 8 + size;
    return { blocksAt: end, end, blockStarts: [], checksumAt: end, hasChecksum: false, contentSize: 0, skippable: true };
  }
  if (magic !== 0xfd2fb528) throw fail(offset, "bad magic: not a zstd frame");

  need(offset + 4, 1, "frame header");
  const fhd = input[offset + 4];
  if (fhd & 0x08) throw fail(offset + 4, "reserved bit set in the frame header descriptor");
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd >>> 5) & 1;
  const hasChecksum = ((fhd >>> 2) & 1) === 1;
  const dictIdSize = [0, 1, 2, 4][fhd & 3];
  const fcsSize = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  let p = offset + 5;
  need(p, 1 - singleSegment + dictIdSize + fcsSize, "frame header");

  let windowSize = 0;
  if (!singleSegment) {
    const wd = input[p++];
    const base = 2 ** (10 + (wd >>> 3));
    windowSize = base + (base / 8) * (wd & 7);
  }
  const dictId = leN(input, p, dictIdSize);
  p += dictIdSize;
  if (dictId !== 0) throw new UnsupportedError("zstd", offset, `frame needs dictionary ${dictId}; the kernel has no dictionaries either`);
  let contentSize: number | undefined;
  if (fcsSize > 0) {
    contentSize = leN(input, p, fcsSize) + (fcsSize === 2 ? 256 : 0);
    p += fcsSize;
  }
  if (singleSegment) windowSize = contentSize ?? 0;
  if (windowSize > WINDOW_SIZE_MAX) {
    throw new UnsupportedError("zstd", offset, `window size ${windowSize} is over the supported ${WINDOW_SIZE_MAX}`);
  }
  if (contentSize !== undefined && contentSize > Number.MAX_SAFE_INTEGER) throw fail(offset, "content size too large");

  const blocksAt = p;
  const blockStarts: number[] = [];
  for (;;) {
    need(p, 3, "block header");
    blockStarts.push(p);
    const h = input[p] | (input[p + 1] << 8) | (input[p + 2] << 16);
    const last = h & 1;
    const type = (h >>> 1) & 3;
    const size = h >>> 3;
    if (type === 3) throw fail(p, "reserved block type");
    if (size > BLOCK_SIZE_MAX) throw fail(p, `block size ${size} is over the maximum ${BLOCK_SIZE_MAX}`);
    const bodySize = type === 1 ? 1 : size; // RLE blocks store their byte once
    need(p + 3, bodySize, "block");
    p += 3 + bodySize;
    if (last) break;
  }
  const checksumAt = p;
  if (hasChecksum) need(p, 4, "content checksum");
  const end = p + (hasChecksum ? 4 : 0);
  return { blocksAt, end, blockStarts, checksumAt, hasChecksum, contentSize, skippable: false };
}

interface ZstdAddon {
  createDecoder(windowLogMax: number): object;
  decode(decoder: object, src: Uint8Array, dst: Uint8Array, out: Float64Array): void;
  compress(src: Uint8Array, level: number): Uint8Array;
}

const loadZstd = () => loadAddon<ZstdAddon>("zstd_stream", "libzstd-dev");

/** One whole zstd frame (content size in the header, no checksum) at `level` 1..22, by libzstd through our addon. */
export function compressZstd(input: Uint8Array, level: number): Uint8Array {
  return loadZstd().compress(input, level);
}

/**
 * Output chunks grow from 1 to 16 MiB: the first files reach the consumer early, and later
 * few files span two chunks (the cpio parser copies those).
 */
const FIRST_CHUNK = 1 << 20;
const MAX_CHUNK = 16 << 20;
/** libzstd's own default limit is 2^27; WINDOW_SIZE_MAX (checked on the header) needs 2^31 */
const WINDOW_LOG_MAX = 31;

/**
 * Decodes exactly one frame with libzstd, streaming (ZSTD_decompressStream through our addon
 * src/compression/native/zstd-stream.c): chunks are yielded as they are decoded, so the consumer
 * starts on the first files while the rest is still compressed; pure-JS decoders run at about a
 * sixth of libzstd's speed. libzstd checks the content checksum and the declared content size;
 * the size is also checked here, and libzstd must end the frame exactly where the header walk
 * did.
 */
export async function* decompressZstd(input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  const frame = parseZstdFrame(input, offset);
  if (frame.skippable) return frame.end - offset;
  const zstd = loadZstd();
  const src = input.subarray(offset, frame.end);
  const decoder = zstd.createDecoder(WINDOW_LOG_MAX);
  const out = new Float64Array(3);
  let pos = 0;
  let size = 0;
  let ret = 1;
  let chunkSize = FIRST_CHUNK;
  const decode = (dst: Uint8Array) => {
    try {
      zstd.decode(decoder, src.subarray(pos), dst, out);
    } catch (e) {
      const message = (e as Error).message;
      // libzstd says which check failed, not where: the checksum has a known place
      const at = frame.hasChecksum && /checksum/i.test(message) ? frame.checksumAt : offset + pos;
      throw new FormatError("zstd", at, `corrupt frame: ${message}`);
    }
    pos += out[0];
    ret = out[2];
    return out[1];
  };
  while (ret !== 0) {
    // fresh memory for every chunk: the consumer keeps views into it. Shared memory, so worker
    // threads (the EROFS compressors) can read file contents in place instead of a copy.
    const chunk = new Uint8Array(new SharedArrayBuffer(chunkSize));
    chunkSize = Math.min(2 * chunkSize, MAX_CHUNK);
    let filled = 0;
    while (filled < chunk.length && ret !== 0) {
      const before = pos;
      const written = decode(chunk.subarray(filled));
      filled += written;
      if (written === 0 && pos === before) {
        // all of the frame's bytes are in, yet libzstd wants more: the blocks do not decode to a whole frame
        throw new FormatError("zstd", offset + pos, "corrupt frame: the data ends before the frame is complete");
      }
    }
    size += filled;
    if (frame.contentSize !== undefined && size > frame.contentSize) {
      throw new FormatError("zstd", offset, `frame decodes to more than the ${frame.contentSize} bytes its header says`);
    }
    if (filled) yield chunk.subarray(0, filled);
  }
  if (offset + pos !== frame.end) {
    throw new FormatError("zstd", offset + pos, `libzstd ends the frame here, the block headers at ${frame.end}`);
  }
  if (frame.contentSize !== undefined && size !== frame.contentSize) {
    throw new FormatError("zstd", offset, `frame decodes to ${size} bytes, its header says ${frame.contentSize}`);
  }
  return frame.end - offset;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
