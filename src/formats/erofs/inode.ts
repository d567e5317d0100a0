/**
 * Inodes: compact (32-byte) and extended (64-byte) on-disk inodes, found by nid in 32-byte slots
 * from meta_blkaddr. Parsing also bounds the xattr area and maps the data (extents.ts for plain
 * layouts, zmap.ts's header for compressed ones).
 */
import { kindFromMode, type NodeKind, type Timestamp } from "../../fs/tree.js";
import { hard, inBounds, u16at, unsupported, type ErofsContext } from "./context.js";
import { mapExtents, type DataExtent } from "./extents.js";
import {
  DATALAYOUT_MASK,
  DATALAYOUT_SHIFT,
  DataLayout,
  INODE_SLOT,
  INODE_VERSION_EXTENDED,
  InodeCompact,
  InodeExtended,
  decodeRdev,
  xattrIbodySize,
} from "./ondisk.js";
import { parseMapHeader, type ZImage, type ZMapHeader } from "./zmap.js";

/** i_format bit 4: nlink==1 (non-dirs) / "." omitted (dirs), Linux 6.15+ only */
const I_FORMAT_BIT4 = 0x10;

export interface ErofsInode {
  nid: number;
  /** byte offset of the on-disk inode */
  offset: number;
  extended: boolean;
  /** 32 (compact) or 64 (extended) */
  inodeSize: number;
  /** raw i_format */
  format: number;
  layout: DataLayout;
  mode: number;
  kind: NodeKind;
  perm: number;
  nlink: number;
  size: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  /** i_ino (32-bit stat compatibility) */
  ino: number;
  /** raw i_u */
  iu: number;
  rdev?: { major: number; minor: number };
  xattrIcount: number;
  /** byte offset of the inline xattr area (right after the inode) */
  xattrOffset: number;
  xattrSize: number;
  /** end of inode + xattr area: inline tail, chunk indexes or the compression map start here (after alignment) */
  payloadOffset: number;
  /** end of the inode's metadata: after the inline tail / chunk index array */
  metaEnd: number;
  compressed: boolean;
  /** chunk size bits for CHUNK_BASED inodes */
  chunkBits?: number;
  /** compressed inodes: map header and index geometry (the index itself is decoded when data is read) */
  zHeader?: ZMapHeader;
  /** where the data is; undefined for compressed inodes */
  extents?: DataExtent[];
}

/** What inode parsing needs beyond the bytes: the superblock's meta area, build time and features. */
export interface InodeContext extends ErofsContext {
  readonly metaBase: number;
  readonly buildTime: Timestamp;
  readonly featureIncompat: number;
  readonly zimage: ZImage;
}

/** Largest nid whose compact inode still fits in the image. */
export function maxNid(ctx: InodeContext): number {
  return Math.floor((ctx.limit - INODE_SLOT - ctx.metaBase) / INODE_SLOT);
}

/** The fields both inode versions have, decoded from either. */
type CoreFields = Pick<ErofsInode, "mode" | "nlink" | "size" | "uid" | "gid" | "iu" | "ino" | "xattrIcount" | "mtime">;

function decodeExtended(ctx: InodeContext, nid: number, off: number, path?: string): CoreFields {
  const d = InodeExtended.decode(ctx.bytes, off);
  if (d.size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw hard(off + InodeExtended.fields.size.offset, `nid ${nid}: size ${d.size} is absurd`, path);
  }
  const sec = BigInt.asIntN(64, d.mtime);
  if (sec > BigInt(Number.MAX_SAFE_INTEGER) || sec < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw hard(off + InodeExtended.fields.mtime.offset, `nid ${nid}: mtime ${sec} out of range`, path);
  }
  let nsec = d.mtimeNsec;
  if (nsec >= 1e9) {
    ctx.soft(off + InodeExtended.fields.mtimeNsec.offset, `nid ${nid}: mtime nsec ${nsec} is not below 10^9`, path);
    nsec = 999_999_999;
  }
  if (d.reserved !== 0) ctx.soft(off + InodeExtended.fields.reserved.offset, `nid ${nid}: reserved field is ${d.reserved}, not 0`, path);
  const { mode, nlink, uid, gid, iu, ino, xattrIcount } = d;
  return { mode, nlink, size: Number(d.size), uid, gid, iu, ino, xattrIcount, mtime: { sec: Number(sec), nsec } };
}

function decodeCompact(ctx: InodeContext, off: number): CoreFields {
  const d = InodeCompact.decode(ctx.bytes, off);
  const { mode, nlink, size, uid, gid, iu, ino, xattrIcount } = d;
  // Linux 6.15+ reads the former i_reserved as an mtime offset from build_time (older kernels: 0)
  return { mode, nlink, size, uid, gid, iu, ino, xattrIcount, mtime: { sec: ctx.buildTime.sec + d.reserved, nsec: ctx.buildTime.nsec } };
}

export function parseInode(ctx: InodeContext, nid: number, path?: string): ErofsInode {
  if (!Number.isSafeInteger(nid) || nid < 0 || nid > maxNid(ctx)) {
    throw hard(undefined, `nid ${nid} is outside the inode area`, path);
  }
  const off = ctx.metaBase + nid * INODE_SLOT;
  const format = u16at(ctx.bytes, off);
  if (format & ~0x1f) {
    throw hard(off, `nid ${nid}: reserved i_format bits set (0x${format.toString(16)})`, path);
  }
  if (format & I_FORMAT_BIT4) {
    throw unsupported(off, `nid ${nid}: i_format bit 4 (nlink_1 / dot_omitted, Linux 6.15+) not supported`, path);
  }
  const layout = (format >> DATALAYOUT_SHIFT) & DATALAYOUT_MASK;
  if (layout > DataLayout.ChunkBased) throw unsupported(off, `nid ${nid}: unknown data layout ${layout}`, path);
  const extended = (format & INODE_VERSION_EXTENDED) !== 0;
  const inodeSize = extended ? InodeExtended.size : InodeCompact.size;
  if (!inBounds(ctx, off, inodeSize)) {
    throw hard(off, `nid ${nid}: ${inodeSize}-byte inode runs past the end of the image`, path);
  }
  const core = extended ? decodeExtended(ctx, nid, off, path) : decodeCompact(ctx, off);
  const { mode, nlink, size, iu, xattrIcount } = core;

  const kind = kindFromMode(mode);
  if (kind === undefined) throw hard(off + 4, `nid ${nid}: bogus i_mode 0${mode.toString(8)}`, path);
  if (nlink === 0) ctx.soft(off + 6, `nid ${nid}: nlink is 0`, path);

  const xattrOffset = off + inodeSize;
  const xattrSize = xattrIbodySize(xattrIcount);
  const payloadOffset = xattrOffset + xattrSize;
  if (!inBounds(ctx, xattrOffset, xattrSize)) {
    throw hard(off + 2, `nid ${nid}: xattr area (${xattrSize} bytes at ${xattrOffset}) runs past the end of the image`, path);
  }

  const inode: ErofsInode = {
    nid, offset: off, extended, inodeSize, format, layout,
    mode, kind, perm: mode & 0o7777, nlink, size, uid: core.uid, gid: core.gid, mtime: core.mtime, ino: core.ino, iu,
    xattrIcount, xattrOffset, xattrSize, payloadOffset, metaEnd: payloadOffset,
    compressed: layout === DataLayout.CompressedFull || layout === DataLayout.CompressedCompact,
  };

  if (kind === "chardev" || kind === "blockdev" || kind === "fifo" || kind === "socket") {
    if (kind === "chardev" || kind === "blockdev") inode.rdev = decodeRdev(iu);
    if (size !== 0) ctx.soft(off + 8, `nid ${nid}: ${kind} has size ${size}, expected 0`, path);
    if (layout !== DataLayout.FlatPlain) ctx.soft(off, `nid ${nid}: ${kind} has data layout ${layout}, expected 0`, path);
    inode.extents = [];
    return inode;
  }

  if (inode.compressed) {
    if (kind !== "file") ctx.soft(off, `nid ${nid}: compressed ${kind}`, path);
    // the map header and index geometry now; the index entries when data is read
    inode.zHeader = parseMapHeader(ctx.zimage, inode, path);
    inode.metaEnd = inode.zHeader.end;
    return inode;
  }

  inode.extents = mapExtents(ctx, ctx.featureIncompat, inode, path);
  if (kind === "dir" && size > ctx.limit) {
    throw hard(off + 8, `nid ${nid}: directory size ${size} is larger than the image`, path);
  }
  return inode;
}
