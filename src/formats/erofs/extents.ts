/**
 * Where an uncompressed inode's data lives (FLAT_PLAIN, FLAT_INLINE, CHUNK_BASED), as a list of
 * extents, and reading it back. Compressed inodes are mapped by zmap.ts.
 */
import { UnsupportedError } from "../../errors.js";
import { FMT, hard, inBounds, pathNote, u16at, u32at, type ErofsContext } from "./context.js";
import { BLOCK_SIZE, BLOCK_SIZE_BITS, DataLayout, FEATURE_INCOMPAT_CHUNKED_FILE, NULL_ADDR, alignUp } from "./ondisk.js";

/** chunk format bits (i_u low 16 bits of CHUNK_BASED inodes) */
const CHUNK_FORMAT_BLKBITS_MASK = 0x1f;
const CHUNK_FORMAT_INDEXES = 0x20;
const CHUNK_FORMAT_48BIT = 0x40;
/** size of one chunk index entry {le16 advise, le16 device_id, le32 blkaddr} */
const CHUNK_INDEX_SIZE = 8;
/** size of one block map entry (le32 blkaddr) */
const BLOCK_MAP_ENTRY_SIZE = 4;

/**
 * Data is never assembled beyond this many bytes at once. Flat layouts are bounded by the image
 * anyway; this bounds sparse (chunk-based, hole) files so a crafted image cannot make us allocate
 * gigabytes of zeros.
 */
export const MAX_MATERIALIZE = 1 << 30;

/** A piece of a file's data: `length` bytes at `logical`, stored at byte `physical`, or a hole (zeros). */
export interface DataExtent {
  logical: number;
  length: number;
  /** byte offset in the image, or null for a hole */
  physical: number | null;
}

/** The inode fields the mapping reads; it sets `metaEnd` (and `chunkBits`) as it finds the tail or index. */
export interface MappedInode {
  nid: number;
  offset: number;
  layout: DataLayout;
  size: number;
  iu: number;
  payloadOffset: number;
  metaEnd: number;
  chunkBits?: number;
}

/** Computes and bounds-checks where an uncompressed inode's data lives. */
export function mapExtents(ctx: ErofsContext, featureIncompat: number, inode: MappedInode, path?: string): DataExtent[] {
  const { nid, size, iu, offset: off } = inode;
  const sizeAt = off + 8;
  const iuAt = off + 16;
  if (size === 0) return [];
  switch (inode.layout) {
    case DataLayout.FlatPlain: {
      if (iu === NULL_ADDR) {
        // Linux 6.15+ reads this as a hole; older kernels fail
        ctx.soft(iuAt, `nid ${nid}: FLAT_PLAIN data at NULL_ADDR (a hole only Linux 6.15+ understands)`, path);
        return [{ logical: 0, length: size, physical: null }];
      }
      const start = iu * BLOCK_SIZE;
      if (!inBounds(ctx, start, size)) {
        throw hard(sizeAt, `nid ${nid}: ${size} bytes of data at block ${iu} do not fit in the image (${ctx.limit} bytes)`, path);
      }
      return [{ logical: 0, length: size, physical: start }];
    }
    case DataLayout.FlatInline:
      return mapInline(ctx, inode, path);
    case DataLayout.ChunkBased: {
      if (!(featureIncompat & FEATURE_INCOMPAT_CHUNKED_FILE)) {
        ctx.soft(off, `nid ${nid}: chunk-based inode but the chunked_file feature is not set`, path);
      }
      return mapChunks(ctx, inode, path);
    }
    default:
      throw hard(off, `nid ${nid}: unexpected data layout ${inode.layout}`, path);
  }
}

/** FLAT_INLINE: whole blocks at i_u, then the tail right after the inode and its xattrs. */
function mapInline(ctx: ErofsContext, inode: MappedInode, path?: string): DataExtent[] {
  const { nid, size, iu } = inode;
  const full = (Math.ceil(size / BLOCK_SIZE) - 1) * BLOCK_SIZE;
  const tail = size - full;
  const out: DataExtent[] = [];
  if (full > 0) {
    const start = iu * BLOCK_SIZE;
    if (iu === NULL_ADDR || !inBounds(ctx, start, full)) {
      throw hard(inode.offset + 8, `nid ${nid}: ${full} bytes of data at block ${iu} do not fit in the image (${ctx.limit} bytes)`, path);
    }
    out.push({ logical: 0, length: full, physical: start });
  }
  const tailAt = inode.payloadOffset;
  if ((tailAt % BLOCK_SIZE) + tail > BLOCK_SIZE) {
    throw hard(tailAt, `nid ${nid}: inline data (${tail} bytes) crosses a block boundary`, path);
  }
  if (!inBounds(ctx, tailAt, tail)) {
    throw hard(tailAt, `nid ${nid}: inline data runs past the end of the image`, path);
  }
  out.push({ logical: full, length: tail, physical: tailAt });
  inode.metaEnd = tailAt + tail;
  return out;
}

/** CHUNK_BASED: a block map or chunk index array after the inode; adjacent chunks merge into one extent. */
function mapChunks(ctx: ErofsContext, inode: MappedInode, path?: string): DataExtent[] {
  const { nid, size, iu } = inode;
  const iuAt = inode.offset + 16;
  const fmt = iu & 0xffff;
  if (fmt & CHUNK_FORMAT_48BIT) {
    throw new UnsupportedError(FMT, iuAt, `nid ${nid}: 48-bit chunk format not supported${pathNote(path)}`);
  }
  if (fmt & ~(CHUNK_FORMAT_BLKBITS_MASK | CHUNK_FORMAT_INDEXES)) {
    throw hard(iuAt, `nid ${nid}: unknown chunk format bits 0x${fmt.toString(16)}`, path);
  }
  if (iu >>> 16) ctx.soft(iuAt + 2, `nid ${nid}: chunk info reserved field is not 0`, path);
  const chunkBits = BLOCK_SIZE_BITS + (fmt & CHUNK_FORMAT_BLKBITS_MASK);
  inode.chunkBits = chunkBits;
  const chunkSize = 2 ** chunkBits;
  const unit = fmt & CHUNK_FORMAT_INDEXES ? CHUNK_INDEX_SIZE : BLOCK_MAP_ENTRY_SIZE;
  const nchunks = Math.ceil(size / chunkSize);
  const base = alignUp(inode.payloadOffset, unit);
  if (!inBounds(ctx, base, nchunks * unit)) {
    throw hard(base, `nid ${nid}: chunk index (${nchunks} x ${unit} bytes) runs past the end of the image`, path);
  }
  inode.metaEnd = base + nchunks * unit;
  const out: DataExtent[] = [];
  const b = ctx.bytes;
  for (let i = 0; i < nchunks; i++) {
    const e = base + i * unit;
    const logical = i * chunkSize;
    const length = Math.min(chunkSize, size - logical);
    let blk: number;
    if (unit === CHUNK_INDEX_SIZE) {
      const dev = u16at(b, e + 2);
      blk = u32at(b, e + 4);
      if (dev !== 0 && blk !== NULL_ADDR) {
        throw new UnsupportedError(FMT, e + 2, `nid ${nid}: chunk on extra device ${dev} not supported${pathNote(path)}`);
      }
    } else {
      blk = u32at(b, e);
    }
    let physical: number | null = null;
    if (blk !== NULL_ADDR) {
      physical = blk * BLOCK_SIZE;
      if (!inBounds(ctx, physical, length)) {
        throw hard(e, `nid ${nid}: chunk ${i} (${length} bytes at block ${blk}) does not fit in the image`, path);
      }
    }
    const last = out[out.length - 1];
    if (
      last &&
      ((last.physical === null && physical === null) ||
        (last.physical !== null && physical !== null && last.physical + last.length === physical))
    ) {
      last.length += length;
    } else {
      out.push({ logical, length, physical });
    }
  }
  return out;
}

/** Translates a logical offset in an uncompressed inode's data to an image offset (for messages). */
export function physicalOffset(extents: readonly DataExtent[], logical: number): number | undefined {
  for (const e of extents) {
    if (logical >= e.logical && logical < e.logical + e.length) return e.physical === null ? undefined : e.physical + logical - e.logical;
  }
  return undefined;
}

/** The data the extents describe: a view into the image when it is one piece, else assembled (holes are zeros). */
export function readExtents(bytes: Uint8Array, extents: readonly DataExtent[], size: number, tooLarge: () => Error): Uint8Array {
  if (extents.length === 0) return new Uint8Array(0);
  const first = extents[0];
  if (extents.length === 1 && first.physical !== null) return bytes.subarray(first.physical, first.physical + size);
  if (size > MAX_MATERIALIZE) throw tooLarge();
  const out = new Uint8Array(size);
  for (const e of extents) {
    if (e.physical !== null) out.set(bytes.subarray(e.physical, e.physical + e.length), e.logical);
  }
  return out;
}
