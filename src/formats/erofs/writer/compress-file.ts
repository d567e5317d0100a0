/**
 * Fixed-output compression of one file into EROFS physical clusters (pure: bytes in, extents and
 * block images out; the compressor is passed in).
 *
 * Like mkfs.erofs: each pcluster takes as much input as compresses into at most
 * `maxPclusterBlocks` blocks (LZ4_compress_destSize); it is kept only if it saves at least one
 * block (input > blocks * 4096), else 4096 bytes are stored plain. The last <= 4096 bytes are
 * always plain. A file that saves no block at all is not compressed (undefined).
 *
 * So every extent but the last covers >= 4096 bytes: each lcluster holds at most one extent
 * start, and a multi-block pcluster always has a NONHEAD lcluster right after its HEAD (where the
 * index stores its block count).
 */
import { FormatError } from "../../../errors.js";
import { BLOCK_SIZE } from "../ondisk.js";

/**
 * Compresses a prefix of src on its own into at most dst.length bytes; written 0 = could not.
 * `firstOfFile` lets an implementation reuse state within a file only, so that a file's result
 * never depends on the files compressed before it.
 */
export type DestSizeCompressor = (src: Uint8Array, dst: Uint8Array, firstOfFile: boolean) => { consumed: number; written: number };

export interface ZExtent {
  /** logical start and length in the file */
  start: number;
  length: number;
  /** physical blocks of its pcluster */
  blocks: number;
  /** LZ4 data, right-aligned in its blocks (ZERO_PADDING); false = plain, left-aligned */
  compressed: boolean;
  /** the last extent, kept out of the payload to be stored inline after the index (ztailpacking); blocks = 0 */
  inline?: Uint8Array;
}

export interface CompressedFile {
  size: number;
  extents: ZExtent[];
  /** the pcluster block images, in extent order: blocks * 4096 bytes */
  payload: Uint8Array;
  blocks: number;
}

export interface CompressFileOptions {
  /** blocks per physical cluster, at most (1 = no big pclusters) */
  maxPclusterBlocks: number;
  /**
   * ztailpacking: a last extent that fits in less than a block (LZ4 data, or the plain rest) is
   * kept apart, for the metadata area, instead of taking a block
   */
  tailPacking?: boolean;
  /**
   * Input bytes one extent may cover, at most. Keeps index deltas small (compact entries hold
   * 11 bits) and bounds what the kernel decompresses at once.
   */
  maxExtentBytes: number;
}

export const DEFAULT_MAX_EXTENT_BYTES = 1 << 20;

export function compressFile(data: Uint8Array, compress: DestSizeCompressor, opts: CompressFileOptions): CompressedFile | undefined {
  const size = data.length;
  if (size <= BLOCK_SIZE) return undefined;
  // it must save a block over the file stored as it is (which, with tail packing on, would keep
  // its tail inline too)
  const limitBlocks = (opts.tailPacking ? Math.floor(size / BLOCK_SIZE) : Math.ceil(size / BLOCK_SIZE)) - 1;
  if (limitBlocks <= 0 && !opts.tailPacking) return undefined;
  const payload = new Uint8Array(Math.max(0, limitBlocks) * BLOCK_SIZE);
  const dst = new Uint8Array(opts.maxPclusterBlocks * BLOCK_SIZE);
  const extents: ZExtent[] = [];
  let blocks = 0;
  let pos = 0;
  while (pos < size) {
    const left = size - pos;
    let ext: ZExtent | undefined;
    if (left > BLOCK_SIZE || opts.tailPacking) {
      const { consumed, written } = compress(data.subarray(pos, pos + Math.min(left, opts.maxExtentBytes)), dst, pos === 0);
      if (written > dst.length || consumed > left) throw new FormatError("lz4", pos, "compressor reported more than it was given");
      const k = Math.ceil(written / BLOCK_SIZE);
      if (opts.tailPacking && written > 0 && consumed === left && written < Math.min(left, BLOCK_SIZE)) {
        ext = { start: pos, length: consumed, blocks: 0, compressed: true, inline: dst.slice(0, written) };
      } else if (left > BLOCK_SIZE && written > 0 && consumed > k * BLOCK_SIZE) {
        if (blocks + k > limitBlocks) return undefined;
        payload.set(dst.subarray(0, written), (blocks + k) * BLOCK_SIZE - written);
        ext = { start: pos, length: consumed, blocks: k, compressed: true };
      }
    }
    if (!ext && opts.tailPacking && left < BLOCK_SIZE) {
      ext = { start: pos, length: left, blocks: 0, compressed: false, inline: data.slice(pos) };
    }
    if (!ext) {
      if (blocks + 1 > limitBlocks) return undefined;
      const n = Math.min(left, BLOCK_SIZE);
      payload.set(data.subarray(pos, pos + n), blocks * BLOCK_SIZE);
      ext = { start: pos, length: n, blocks: 1, compressed: false };
    }
    extents.push(ext);
    blocks += ext.blocks;
    pos += ext.length;
  }
  return { size, extents, payload: payload.slice(0, blocks * BLOCK_SIZE), blocks };
}

/** The same file with its inline tail moved into a block of its own (when it cannot be inline). */
export function withoutInlineTail(f: CompressedFile): CompressedFile {
  const last = f.extents[f.extents.length - 1];
  if (!last?.inline) return f;
  const payload = new Uint8Array((f.blocks + 1) * BLOCK_SIZE);
  payload.set(f.payload);
  const at = last.compressed ? payload.length - last.inline.length : f.blocks * BLOCK_SIZE;
  payload.set(last.inline, at);
  return {
    size: f.size, payload, blocks: f.blocks + 1,
    extents: [...f.extents.slice(0, -1), { start: last.start, length: last.length, blocks: 1, compressed: last.compressed }],
  };
}
