/**
 * EROFS image reader. Pure: takes the whole image as bytes, never touches the filesystem.
 *
 * Every structure is bounds-checked against the image before it is used, every error names the
 * byte offset in the image, walks are iterative (no recursion), and no allocation is driven by an
 * unchecked size.
 *
 * Two kinds of problems:
 * - hard: the structure cannot be interpreted (out of bounds, broken directory block, ...). Always
 *   a FormatError (or UnsupportedError for valid but unimplemented features).
 * - soft: the data is still reachable but the format does not allow it (unsorted directory,
 *   file type mismatch, bad checksum, ...). A FormatError in strict mode (the default), ignored
 *   in non-strict mode, or handed to `onProblem` when given (fsck collects them that way).
 */
import { FormatError, UnsupportedError } from "../../errors.js";
import {
  bytesContent,
  bytesToByteString,
  displayName,
  splitPath,
  type ByteString,
  type DirNode,
  type FsNode,
  type FsTree,
  type NodeKind,
  type NodeMeta,
  type Timestamp,
  kindFromMode,
} from "../../fs/tree.js";
import type { StructValue } from "../struct.js";
import { erofsSuperblockChecksum } from "./crc32c.js";
import {
  BLOCK_SIZE,
  BLOCK_SIZE_BITS,
  DATALAYOUT_MASK,
  DATALAYOUT_SHIFT,
  DataLayout,
  Dirent,
  EROFS_MAGIC,
  FEATURE_COMPAT_SB_CHKSUM,
  FEATURE_INCOMPAT_48BIT,
  FEATURE_INCOMPAT_CHUNKED_FILE,
  FEATURE_INCOMPAT_COMPR_CFGS,
  FEATURE_INCOMPAT_DEVICE_TABLE,
  FEATURE_INCOMPAT_FRAGMENTS,
  FEATURE_INCOMPAT_XATTR_PREFIXES,
  FEATURE_INCOMPAT_ZERO_PADDING,
  FEATURE_INCOMPAT_ZTAILPACKING,
  FileType,
  INODE_SLOT,
  INODE_VERSION_EXTENDED,
  InodeCompact,
  InodeExtended,
  Lz4Config,
  NAME_MAX,
  NULL_ADDR,
  SUPERBLOCK_OFFSET,
  Superblock,
  XATTR_PREFIXES,
  XattrEntry,
  XattrIbodyHeader,
  Z_PCLUSTER_MAX_BLKS,
  alignUp,
  decodeRdev,
  xattrIbodySize,
} from "./ondisk.js";
import { decompressExtent } from "./zdata.js";
import { algorithmName, mapCompressed, parseMapHeader, type ZImage, type ZMap, type ZMapHeader } from "./zmap.js";

const FMT = "erofs";

/** incompat features this reader understands (fragments only as far as metadata goes: their data is refused when read) */
const KNOWN_INCOMPAT =
  FEATURE_INCOMPAT_ZERO_PADDING |
  FEATURE_INCOMPAT_COMPR_CFGS |
  FEATURE_INCOMPAT_CHUNKED_FILE |
  FEATURE_INCOMPAT_DEVICE_TABLE |
  FEATURE_INCOMPAT_ZTAILPACKING |
  FEATURE_INCOMPAT_FRAGMENTS;

/** chunk format bits (i_u low 16 bits of CHUNK_BASED inodes) */
const CHUNK_FORMAT_BLKBITS_MASK = 0x1f;
const CHUNK_FORMAT_INDEXES = 0x20;
const CHUNK_FORMAT_48BIT = 0x40;
/** size of one chunk index entry {le16 advise, le16 device_id, le32 blkaddr} */
const CHUNK_INDEX_SIZE = 8;
/** size of one block map entry (le32 blkaddr) */
const BLOCK_MAP_ENTRY_SIZE = 4;

/** i_format bit 4: nlink==1 (non-dirs) / "." omitted (dirs), Linux 6.15+ only */
const I_FORMAT_BIT4 = 0x10;

/**
 * readData refuses to assemble more than this many bytes at once. Flat layouts are bounded by the
 * image anyway; this bounds sparse (chunk-based, hole) files so a crafted image cannot make us
 * allocate gigabytes of zeros.
 */
const MAX_MATERIALIZE = 1 << 30;

export interface ErofsProblem {
  offset?: number;
  path?: string;
  message: string;
}

export interface ErofsReadOptions {
  /** Reject everything the format does not allow, even if the data is still reachable. Default true. */
  strict?: boolean;
  /**
   * Receives the "soft" problems (things strict mode rejects but that do not stop reading) instead
   * of throwing them. Used by fsck to collect every problem.
   */
  onProblem?: (p: ErofsProblem) => void;
}

export type ErofsSuperblock = StructValue<typeof Superblock.fields>;

/** The compression configuration from the superblock (and its COMPR_CFGS records). */
export interface ErofsCompressionConfig {
  /** algorithms the superblock announces (COMPR_CFGS bitmap; just lz4 without it) */
  algorithms: string[];
  lz4MaxDistance: number;
  /** largest pcluster in blocks */
  maxPclusterBlks: number;
  /** image byte range of the config records, when present */
  records?: { start: number; end: number };
}

/** A piece of a file's data: `length` bytes at `logical`, stored at byte `physical`, or a hole (zeros). */
export interface DataExtent {
  logical: number;
  length: number;
  /** byte offset in the image, or null for a hole */
  physical: number | null;
}

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

export interface ErofsDirEntry {
  name: ByteString;
  nid: number;
  fileType: number;
  /** byte offset of the dirent in the image */
  offset: number;
}

const FILE_TYPE_KIND: Record<number, NodeKind | undefined> = {
  [FileType.Regular]: "file",
  [FileType.Directory]: "dir",
  [FileType.CharDevice]: "chardev",
  [FileType.BlockDevice]: "blockdev",
  [FileType.Fifo]: "fifo",
  [FileType.Socket]: "socket",
  [FileType.Symlink]: "symlink",
};

export function fileTypeOfKind(kind: NodeKind): FileType {
  for (const [ft, k] of Object.entries(FILE_TYPE_KIND)) if (k === kind) return Number(ft) as FileType;
  return FileType.Unknown;
}

function pathNote(path: string | undefined): string {
  return path === undefined ? "" : ` (path "${displayName(path) || "/"}")`;
}

function u16at(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}
function u32at(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

/** Re-creates a FormatError (keeping its class) with more context appended. */
export function withContext(e: unknown, context: string): unknown {
  if (!(e instanceof FormatError) || context === "" || e.detail.includes(context)) return e;
  const Ctor = e instanceof UnsupportedError ? UnsupportedError : FormatError;
  const out = new Ctor(e.format, e.offset, `${e.detail}${context}`, e.source);
  return out;
}

export class ErofsImage {
  readonly bytes: Uint8Array;
  readonly strict: boolean;
  readonly superblock: ErofsSuperblock;
  /** Bytes that metadata and data may reference: the image, cut to `blocks` in strict mode. */
  readonly limit: number;
  readonly metaBase: number;
  readonly xattrBase: number;
  readonly buildTime: Timestamp;
  private readonly onProblem?: (p: ErofsProblem) => void;
  readonly compression: ErofsCompressionConfig;
  private readonly inodes = new Map<number, ErofsInode>();
  private readonly zmaps = new Map<number, ZMap>();
  private readonly zimage: ZImage;

  private constructor(bytes: Uint8Array, opts: ErofsReadOptions) {
    this.bytes = bytes;
    this.strict = opts.strict ?? true;
    this.onProblem = opts.onProblem;

    if (bytes.length < SUPERBLOCK_OFFSET + Superblock.size) {
      throw new FormatError(FMT, bytes.length, `image is ${bytes.length} bytes, too short for a superblock`);
    }
    const sb = Superblock.decode(bytes, SUPERBLOCK_OFFSET);
    this.superblock = sb;
    const at = (field: keyof typeof Superblock.fields) => SUPERBLOCK_OFFSET + Superblock.fields[field].offset;
    if (sb.magic !== EROFS_MAGIC) {
      throw new FormatError(FMT, at("magic"), `bad magic 0x${sb.magic.toString(16)}, expected 0x${EROFS_MAGIC.toString(16)}`);
    }
    if (sb.blkszbits !== BLOCK_SIZE_BITS) {
      throw new UnsupportedError(FMT, at("blkszbits"), `block size 2^${sb.blkszbits} not supported (only 4096)`);
    }
    const unknown = sb.featureIncompat & ~KNOWN_INCOMPAT;
    if (unknown & FEATURE_INCOMPAT_XATTR_PREFIXES) {
      throw new UnsupportedError(FMT, at("featureIncompat"), "long xattr name prefixes (incompat xattr_prefixes) not supported");
    }
    if (unknown & FEATURE_INCOMPAT_48BIT) {
      throw new UnsupportedError(FMT, at("featureIncompat"), "48-bit layout (incompat 48bit) not supported");
    }
    if (unknown) {
      throw new UnsupportedError(FMT, at("featureIncompat"), `unknown incompatible features 0x${unknown.toString(16)}`);
    }
    if (sb.dirblkbits !== 0) {
      throw new UnsupportedError(FMT, at("dirblkbits"), `dirblkbits ${sb.dirblkbits} not supported (must be 0)`);
    }
    if (sb.extraDevices !== 0) {
      throw new UnsupportedError(FMT, at("extraDevices"), `${sb.extraDevices} extra devices not supported`);
    }
    if (bytes.length < BLOCK_SIZE) {
      throw new FormatError(FMT, bytes.length, `image is ${bytes.length} bytes, shorter than block 0`);
    }
    if (sb.featureCompat & FEATURE_COMPAT_SB_CHKSUM) {
      const block = new Uint8Array(bytes.subarray(SUPERBLOCK_OFFSET, BLOCK_SIZE)); // a copy (Buffer.slice is a view)
      block.fill(0, Superblock.fields.checksum.offset, Superblock.fields.checksum.offset + 4);
      const crc = erofsSuperblockChecksum(block);
      if (crc !== sb.checksum) {
        this.soft(at("checksum"), `superblock checksum 0x${sb.checksum.toString(16)} does not match computed 0x${crc.toString(16)}`);
      }
    }
    const declared = sb.blocks * BLOCK_SIZE;
    if (declared > bytes.length) {
      this.soft(at("blocks"), `superblock declares ${sb.blocks} blocks (${declared} bytes) but the image has ${bytes.length} bytes (truncated?)`);
    }
    this.limit = this.strict ? Math.min(bytes.length, declared) : bytes.length;
    if (!sb.volumeName.includes(0)) this.soft(at("volumeName"), "volume name is not NUL-terminated");

    this.metaBase = sb.metaBlkaddr * BLOCK_SIZE;
    this.xattrBase = sb.xattrBlkaddr * BLOCK_SIZE;
    if (this.metaBase >= this.limit) {
      throw new FormatError(FMT, at("metaBlkaddr"), `meta_blkaddr ${sb.metaBlkaddr} is outside the image (${this.limit} bytes)`);
    }
    const bt = BigInt.asIntN(64, sb.buildTime);
    if (bt > BigInt(Number.MAX_SAFE_INTEGER) || bt < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new FormatError(FMT, at("buildTime"), `build time ${bt} out of range`);
    }
    let btNsec = sb.buildTimeNsec;
    if (btNsec >= 1e9) {
      this.soft(at("buildTimeNsec"), `build_time_nsec ${btNsec} is not below 10^9`);
      btNsec = 999_999_999;
    }
    this.buildTime = { sec: Number(bt), nsec: btNsec };
    this.compression = this.readCompressionConfig();
    this.zimage = {
      bytes,
      limit: this.limit,
      featureIncompat: sb.featureIncompat,
      maxPclusterBlks: this.compression.maxPclusterBlks,
      announcedAlgorithms: sb.featureIncompat & FEATURE_INCOMPAT_COMPR_CFGS ? sb.u1 : undefined,
      soft: (o, d, p) => this.soft(o, d, p),
    };

    const root = this.readInode(sb.rootNid, "");
    if (root.kind !== "dir") {
      throw new FormatError(FMT, root.offset, `root nid ${sb.rootNid} is a ${root.kind}, not a directory`);
    }
  }

  /**
   * Without COMPR_CFGS, u1 is the lz4 window and pclusters are one block. With it, u1 is a bitmap
   * of algorithms, each with a record {le16 size, payload} after the superblock (4-byte aligned).
   */
  private readCompressionConfig(): ErofsCompressionConfig {
    const sb = this.superblock;
    const u1At = SUPERBLOCK_OFFSET + Superblock.fields.u1.offset;
    if (!(sb.featureIncompat & FEATURE_INCOMPAT_COMPR_CFGS)) {
      return { algorithms: ["lz4"], lz4MaxDistance: sb.u1, maxPclusterBlks: 1 };
    }
    const algs = sb.u1;
    if (algs >> 4) throw new UnsupportedError(FMT, u1At, `unknown compression algorithms in the COMPR_CFGS bitmap 0x${algs.toString(16)}`);
    if (algs === 0) this.soft(u1At, "COMPR_CFGS is set but no compression algorithm is announced");
    const start = SUPERBLOCK_OFFSET + Superblock.size + sb.sbExtslots * 16;
    let pos = start;
    const out: ErofsCompressionConfig = { algorithms: [], lz4MaxDistance: 0, maxPclusterBlks: 1 };
    for (let alg = 0; alg < 4; alg++) {
      if (!(algs & (1 << alg))) continue;
      out.algorithms.push(algorithmName(alg));
      pos = alignUp(pos, 4);
      if (!this.inBounds(pos, 2)) throw this.hard(pos, `${algorithmName(alg)} config record runs past the end of the image`);
      const len = u16at(this.bytes, pos) || 0x10000;
      if (!this.inBounds(pos + 2, len)) throw this.hard(pos, `${algorithmName(alg)} config record of ${len} bytes runs past the end of the image`);
      if (alg === 0) {
        if (len < Lz4Config.size) throw this.hard(pos, `lz4 config record is ${len} bytes, expected ${Lz4Config.size}`);
        if (len !== Lz4Config.size) this.soft(pos, `lz4 config record is ${len} bytes, expected ${Lz4Config.size}`);
        const c = Lz4Config.decode(this.bytes, pos + 2);
        if (c.maxPclusterBlks > Z_PCLUSTER_MAX_BLKS) {
          throw this.hard(pos + 2 + Lz4Config.fields.maxPclusterBlks.offset, `lz4 config: pclusters of up to ${c.maxPclusterBlks} blocks (at most ${Z_PCLUSTER_MAX_BLKS} allowed)`);
        }
        out.lz4MaxDistance = c.maxDistance;
        out.maxPclusterBlks = c.maxPclusterBlks || 1; // 0 is the reserved "one block" case
      }
      pos += 2 + len;
    }
    out.records = { start, end: pos };
    return out;
  }

  static open(bytes: Uint8Array, opts: ErofsReadOptions = {}): ErofsImage {
    return new ErofsImage(bytes, opts);
  }

  get rootNid(): number {
    return this.superblock.rootNid;
  }

  /** Reports a problem the strict mode rejects but that does not stop reading. */
  soft(offset: number | undefined, detail: string, path?: string): void {
    if (this.onProblem) this.onProblem({ offset, path, message: detail + pathNote(path) });
    else if (this.strict) throw new FormatError(FMT, offset, detail + pathNote(path));
  }

  private hard(offset: number | undefined, detail: string, path?: string): FormatError {
    return new FormatError(FMT, offset, detail + pathNote(path));
  }

  /** Checks that [off, off+len) is inside the image. */
  private inBounds(off: number, len: number): boolean {
    return off >= 0 && len >= 0 && off + len <= this.limit;
  }

  nidOffset(nid: number): number {
    return this.metaBase + nid * INODE_SLOT;
  }

  /** Largest nid whose compact inode still fits in the image. */
  get maxNid(): number {
    return Math.floor((this.limit - INODE_SLOT - this.metaBase) / INODE_SLOT);
  }

  readInode(nid: number, path?: string): ErofsInode {
    const cached = this.inodes.get(nid);
    if (cached) return cached;
    const ino = this.parseInode(nid, path);
    this.inodes.set(nid, ino);
    return ino;
  }

  private parseInode(nid: number, path?: string): ErofsInode {
    const b = this.bytes;
    if (!Number.isSafeInteger(nid) || nid < 0 || nid > this.maxNid) {
      throw this.hard(undefined, `nid ${nid} is outside the inode area`, path);
    }
    const off = this.nidOffset(nid);
    const format = u16at(b, off);
    if (format & ~0x1f) {
      throw this.hard(off, `nid ${nid}: reserved i_format bits set (0x${format.toString(16)})`, path);
    }
    if (format & I_FORMAT_BIT4) {
      throw new UnsupportedError(FMT, off, `nid ${nid}: i_format bit 4 (nlink_1 / dot_omitted, Linux 6.15+) not supported${pathNote(path)}`);
    }
    const layout = (format >> DATALAYOUT_SHIFT) & DATALAYOUT_MASK;
    if (layout > DataLayout.ChunkBased) {
      throw new UnsupportedError(FMT, off, `nid ${nid}: unknown data layout ${layout}${pathNote(path)}`);
    }
    const extended = (format & INODE_VERSION_EXTENDED) !== 0;
    const inodeSize = extended ? InodeExtended.size : InodeCompact.size;
    if (!this.inBounds(off, inodeSize)) {
      throw this.hard(off, `nid ${nid}: ${inodeSize}-byte inode runs past the end of the image`, path);
    }

    let mode: number, nlink: number, size: number, uid: number, gid: number, iu: number, ino: number, xattrIcount: number;
    let mtime: Timestamp;
    if (extended) {
      const d = InodeExtended.decode(b, off);
      mode = d.mode;
      nlink = d.nlink;
      if (d.size > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw this.hard(off + InodeExtended.fields.size.offset, `nid ${nid}: size ${d.size} is absurd`, path);
      }
      size = Number(d.size);
      uid = d.uid;
      gid = d.gid;
      iu = d.iu;
      ino = d.ino;
      xattrIcount = d.xattrIcount;
      const sec = BigInt.asIntN(64, d.mtime);
      if (sec > BigInt(Number.MAX_SAFE_INTEGER) || sec < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw this.hard(off + InodeExtended.fields.mtime.offset, `nid ${nid}: mtime ${sec} out of range`, path);
      }
      let nsec = d.mtimeNsec;
      if (nsec >= 1e9) {
        this.soft(off + InodeExtended.fields.mtimeNsec.offset, `nid ${nid}: mtime nsec ${nsec} is not below 10^9`, path);
        nsec = 999_999_999;
      }
      mtime = { sec: Number(sec), nsec };
      if (d.reserved !== 0) this.soft(off + InodeExtended.fields.reserved.offset, `nid ${nid}: reserved field is ${d.reserved}, not 0`, path);
    } else {
      const d = InodeCompact.decode(b, off);
      mode = d.mode;
      nlink = d.nlink;
      size = d.size;
      uid = d.uid;
      gid = d.gid;
      iu = d.iu;
      ino = d.ino;
      xattrIcount = d.xattrIcount;
      // Linux 6.15+ reads the former i_reserved as an mtime offset from build_time (older kernels: 0)
      mtime = { sec: this.buildTime.sec + d.reserved, nsec: this.buildTime.nsec };
    }

    const kind = kindFromMode(mode);
    if (kind === undefined) throw this.hard(off + 4, `nid ${nid}: bogus i_mode 0${mode.toString(8)}`, path);
    if (nlink === 0) this.soft(off + 6, `nid ${nid}: nlink is 0`, path);

    const xattrOffset = off + inodeSize;
    const xattrSize = xattrIbodySize(xattrIcount);
    const payloadOffset = xattrOffset + xattrSize;
    if (!this.inBounds(xattrOffset, xattrSize)) {
      throw this.hard(off + 2, `nid ${nid}: xattr area (${xattrSize} bytes at ${xattrOffset}) runs past the end of the image`, path);
    }

    const inode: ErofsInode = {
      nid,
      offset: off,
      extended,
      inodeSize,
      format,
      layout,
      mode,
      kind,
      perm: mode & 0o7777,
      nlink,
      size,
      uid,
      gid,
      mtime,
      ino,
      iu,
      xattrIcount,
      xattrOffset,
      xattrSize,
      payloadOffset,
      metaEnd: payloadOffset,
      compressed: layout === DataLayout.CompressedFull || layout === DataLayout.CompressedCompact,
    };

    if (kind === "chardev" || kind === "blockdev" || kind === "fifo" || kind === "socket") {
      if (kind === "chardev" || kind === "blockdev") inode.rdev = decodeRdev(iu);
      if (size !== 0) this.soft(off + 8, `nid ${nid}: ${kind} has size ${size}, expected 0`, path);
      if (layout !== DataLayout.FlatPlain) this.soft(off, `nid ${nid}: ${kind} has data layout ${layout}, expected 0`, path);
      inode.extents = [];
      return inode;
    }

    if (inode.compressed) {
      if (kind !== "file") this.soft(off, `nid ${nid}: compressed ${kind}`, path);
      // the map header and index geometry now; the index entries when data is read
      inode.zHeader = parseMapHeader(this.zimage, inode, path);
      inode.metaEnd = inode.zHeader.end;
      return inode;
    }

    inode.extents = this.mapExtents(inode, path);
    if (kind === "dir" && size > this.limit) {
      throw this.hard(off + 8, `nid ${nid}: directory size ${size} is larger than the image`, path);
    }
    return inode;
  }

  /** Computes and bounds-checks where an uncompressed inode's data lives. */
  private mapExtents(inode: ErofsInode, path?: string): DataExtent[] {
    const { nid, size, iu, offset: off } = inode;
    const sizeAt = off + 8;
    const iuAt = off + 16;
    if (size === 0) return [];
    const nblocks = Math.ceil(size / BLOCK_SIZE);
    switch (inode.layout) {
      case DataLayout.FlatPlain: {
        if (iu === NULL_ADDR) {
          // Linux 6.15+ reads this as a hole; older kernels fail
          this.soft(iuAt, `nid ${nid}: FLAT_PLAIN data at NULL_ADDR (a hole only Linux 6.15+ understands)`, path);
          return [{ logical: 0, length: size, physical: null }];
        }
        const start = iu * BLOCK_SIZE;
        if (!this.inBounds(start, size)) {
          throw this.hard(sizeAt, `nid ${nid}: ${size} bytes of data at block ${iu} do not fit in the image (${this.limit} bytes)`, path);
        }
        return [{ logical: 0, length: size, physical: start }];
      }
      case DataLayout.FlatInline: {
        const full = (nblocks - 1) * BLOCK_SIZE;
        const tail = size - full;
        const out: DataExtent[] = [];
        if (full > 0) {
          const start = iu * BLOCK_SIZE;
          if (iu === NULL_ADDR || !this.inBounds(start, full)) {
            throw this.hard(sizeAt, `nid ${nid}: ${full} bytes of data at block ${iu} do not fit in the image (${this.limit} bytes)`, path);
          }
          out.push({ logical: 0, length: full, physical: start });
        }
        const tailAt = inode.payloadOffset;
        if ((tailAt % BLOCK_SIZE) + tail > BLOCK_SIZE) {
          throw this.hard(tailAt, `nid ${nid}: inline data (${tail} bytes) crosses a block boundary`, path);
        }
        if (!this.inBounds(tailAt, tail)) {
          throw this.hard(tailAt, `nid ${nid}: inline data runs past the end of the image`, path);
        }
        out.push({ logical: full, length: tail, physical: tailAt });
        inode.metaEnd = tailAt + tail;
        return out;
      }
      case DataLayout.ChunkBased: {
        const fmt = iu & 0xffff;
        if (!(this.superblock.featureIncompat & FEATURE_INCOMPAT_CHUNKED_FILE)) {
          this.soft(off, `nid ${nid}: chunk-based inode but the chunked_file feature is not set`, path);
        }
        if (fmt & CHUNK_FORMAT_48BIT) {
          throw new UnsupportedError(FMT, iuAt, `nid ${nid}: 48-bit chunk format not supported${pathNote(path)}`);
        }
        if (fmt & ~(CHUNK_FORMAT_BLKBITS_MASK | CHUNK_FORMAT_INDEXES)) {
          throw this.hard(iuAt, `nid ${nid}: unknown chunk format bits 0x${fmt.toString(16)}`, path);
        }
        if (iu >>> 16) this.soft(iuAt + 2, `nid ${nid}: chunk info reserved field is not 0`, path);
        const chunkBits = BLOCK_SIZE_BITS + (fmt & CHUNK_FORMAT_BLKBITS_MASK);
        inode.chunkBits = chunkBits;
        const chunkSize = 2 ** chunkBits;
        const unit = fmt & CHUNK_FORMAT_INDEXES ? CHUNK_INDEX_SIZE : BLOCK_MAP_ENTRY_SIZE;
        const nchunks = Math.ceil(size / chunkSize);
        const base = alignUp(inode.payloadOffset, unit);
        if (!this.inBounds(base, nchunks * unit)) {
          throw this.hard(base, `nid ${nid}: chunk index (${nchunks} x ${unit} bytes) runs past the end of the image`, path);
        }
        inode.metaEnd = base + nchunks * unit;
        const out: DataExtent[] = [];
        const b = this.bytes;
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
            if (!this.inBounds(physical, length)) {
              throw this.hard(e, `nid ${nid}: chunk ${i} (${length} bytes at block ${blk}) does not fit in the image`, path);
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
      default:
        throw this.hard(off, `nid ${nid}: unexpected data layout ${inode.layout}`, path);
    }
  }

  /** Translates a logical offset in an uncompressed inode's data to an image offset (for messages). */
  physicalOffset(inode: ErofsInode, logical: number): number | undefined {
    for (const e of inode.extents ?? []) {
      if (logical >= e.logical && logical < e.logical + e.length) return e.physical === null ? undefined : e.physical + logical - e.logical;
    }
    return undefined;
  }

  /** A compressed inode's extents (index decoded and checked once, then cached). */
  compressedMap(inode: ErofsInode, path?: string): ZMap {
    if (!inode.zHeader) throw this.hard(inode.offset, `nid ${inode.nid} is not compressed`, path);
    let m = this.zmaps.get(inode.nid);
    if (!m) {
      m = mapCompressed(this.zimage, inode, inode.zHeader, path);
      this.zmaps.set(inode.nid, m);
    }
    return m;
  }

  /**
   * Decompresses every extent of a compressed inode, one at a time into a scratch buffer (no
   * whole-file allocation), and calls `each` with the bytes. Returns the bytes decoded.
   */
  forEachCompressedExtent(
    inode: ErofsInode,
    each: ((logical: number, data: Uint8Array) => void) | undefined,
    path?: string,
    /** when given, a broken extent is handed here and the next one is decoded (fsck); else it throws */
    onExtentError?: (e: FormatError) => void,
  ): number {
    const { extents } = this.compressedMap(inode, path);
    let scratch = new Uint8Array(0);
    let total = 0;
    const zeroPadding = (this.superblock.featureIncompat & FEATURE_INCOMPAT_ZERO_PADDING) !== 0;
    for (let i = 0; i < extents.length; i++) {
      const e = extents[i];
      if (scratch.length < e.length) scratch = new Uint8Array(e.length);
      const dst = scratch.subarray(0, e.length);
      try {
        decompressExtent(this.bytes, e, dst, { zeroPadding, last: i === extents.length - 1, nid: inode.nid, path });
      } catch (err) {
        if (!onExtentError || !(err instanceof FormatError)) throw err;
        onExtentError(err);
        continue;
      }
      each?.(e.logical, dst);
      total += e.length;
    }
    return total;
  }

  /** The whole data of a compressed inode: each pcluster is decoded once, straight into the result. */
  private readCompressed(inode: ErofsInode, path?: string): Uint8Array {
    const { extents } = this.compressedMap(inode, path);
    if (inode.size > MAX_MATERIALIZE) {
      throw new UnsupportedError(FMT, inode.offset, `nid ${inode.nid}: file of ${inode.size} bytes is too large to read into memory${pathNote(path)}`);
    }
    const out = new Uint8Array(inode.size);
    const zeroPadding = (this.superblock.featureIncompat & FEATURE_INCOMPAT_ZERO_PADDING) !== 0;
    for (let i = 0; i < extents.length; i++) {
      const e = extents[i];
      const dst = out.subarray(e.logical, e.logical + e.length);
      decompressExtent(this.bytes, e, dst, { zeroPadding, last: i === extents.length - 1, nid: inode.nid, path });
    }
    return out;
  }

  /** The whole data of a regular file, symlink or directory. May be a view into the image. */
  readData(inode: ErofsInode, path?: string): Uint8Array {
    if (inode.compressed) return this.readCompressed(inode, path);
    if (!inode.extents) throw this.hard(inode.offset, `nid ${inode.nid} has no data map`, path);
    const ex = inode.extents;
    if (ex.length === 0) return new Uint8Array(0);
    if (ex.length === 1 && ex[0].physical !== null) return this.bytes.subarray(ex[0].physical, ex[0].physical + inode.size);
    if (inode.size > MAX_MATERIALIZE) {
      throw new UnsupportedError(FMT, inode.offset, `nid ${inode.nid}: file of ${inode.size} bytes is too large to read into memory${pathNote(path)}`);
    }
    const out = new Uint8Array(inode.size);
    for (const e of ex) {
      if (e.physical !== null) out.set(this.bytes.subarray(e.physical, e.physical + e.length), e.logical);
    }
    return out;
  }

  readLink(inode: ErofsInode, path?: string): ByteString {
    if (inode.kind !== "symlink") throw this.hard(inode.offset, `nid ${inode.nid} is not a symlink`, path);
    if (inode.size === 0) this.soft(inode.offset + 8, `nid ${inode.nid}: empty symlink target`, path);
    if (inode.size >= BLOCK_SIZE) this.soft(inode.offset + 8, `nid ${inode.nid}: symlink target of ${inode.size} bytes is longer than 4095`, path);
    if (inode.size > BLOCK_SIZE * 16) throw this.hard(inode.offset + 8, `nid ${inode.nid}: symlink target of ${inode.size} bytes is absurd`, path);
    let data = this.readData(inode, path);
    const nul = data.indexOf(0);
    if (nul >= 0) {
      this.soft(this.physicalOffset(inode, nul), `nid ${inode.nid}: symlink target contains a NUL byte`, path);
      data = data.subarray(0, nul);
    }
    return bytesToByteString(data);
  }

  /**
   * Reads a directory's entries, "." and ".." included, in on-disk order. Checks the block
   * structure, name lengths, order, file types and "." (and ".." when `parentNid` is given).
   */
  readDir(inodeOrNid: ErofsInode | number, opts: { parentNid?: number; path?: string } = {}): ErofsDirEntry[] {
    const path = opts.path;
    const inode = typeof inodeOrNid === "number" ? this.readInode(inodeOrNid, path) : inodeOrNid;
    const nid = inode.nid;
    if (inode.kind !== "dir") throw this.hard(inode.offset, `nid ${nid} is not a directory`, path);
    const data = this.readData(inode, path);
    const size = inode.size;
    const out: ErofsDirEntry[] = [];
    let prev: ByteString | undefined;
    let unsorted = false;
    const seen = new Set<ByteString>();
    const maxNid = this.maxNid;
    for (let base = 0; base < size; base += BLOCK_SIZE) {
      const maxsize = Math.min(BLOCK_SIZE, size - base);
      const phys = (o: number) => this.physicalOffset(inode, base + o);
      if (maxsize < Dirent.size) {
        throw this.hard(phys(0), `directory nid ${nid}: block at ${base} has only ${maxsize} bytes`, path);
      }
      const nameoff0 = u16at(data, base + Dirent.fields.nameoff.offset);
      if (nameoff0 < Dirent.size || nameoff0 >= maxsize || nameoff0 % Dirent.size !== 0) {
        throw this.hard(phys(Dirent.fields.nameoff.offset), `directory nid ${nid}: invalid first nameoff ${nameoff0} (block of ${maxsize} bytes)`, path);
      }
      const n = nameoff0 / Dirent.size;
      for (let i = 0; i < n; i++) {
        const de = base + i * Dirent.size;
        const deAt = phys(i * Dirent.size);
        const d = Dirent.decode(data, de);
        const nameoff = d.nameoff;
        let namelen: number;
        if (i + 1 < n) {
          const next = u16at(data, de + Dirent.size + Dirent.fields.nameoff.offset);
          if (next <= nameoff || next > maxsize) {
            throw this.hard(deAt, `directory nid ${nid}: dirent ${i}: nameoff ${nameoff} then ${next} (block of ${maxsize} bytes)`, path);
          }
          namelen = next - nameoff;
        } else {
          if (nameoff >= maxsize) {
            throw this.hard(deAt, `directory nid ${nid}: dirent ${i}: nameoff ${nameoff} past the block (${maxsize} bytes)`, path);
          }
          const region = data.subarray(base + nameoff, base + maxsize);
          const z = region.indexOf(0);
          namelen = z < 0 ? region.length : z;
        }
        if (i === 0 && nameoff !== nameoff0) throw this.hard(deAt, `directory nid ${nid}: inconsistent first nameoff`, path);
        if (namelen === 0) throw this.hard(deAt, `directory nid ${nid}: dirent ${i} has an empty name`, path);
        if (namelen > NAME_MAX) throw this.hard(deAt, `directory nid ${nid}: dirent ${i} name is ${namelen} bytes (max ${NAME_MAX})`, path);
        const nameBytes = data.subarray(base + nameoff, base + nameoff + namelen);
        if (nameBytes.includes(0) || nameBytes.includes(0x2f)) {
          throw this.hard(phys(nameoff), `directory nid ${nid}: dirent ${i} name contains NUL or '/'`, path);
        }
        const name = bytesToByteString(nameBytes);
        if (d.nid > BigInt(maxNid)) {
          throw this.hard(deAt, `directory nid ${nid}: entry "${displayName(name)}" points to nid ${d.nid}, outside the inode area`, path);
        }
        const childNid = Number(d.nid);
        if (seen.has(name)) throw this.hard(deAt, `directory nid ${nid}: duplicate entry "${displayName(name)}"`, path);
        seen.add(name);
        if (prev !== undefined && !(prev < name) && !unsorted) {
          unsorted = true;
          this.soft(deAt, `directory nid ${nid}: entries not sorted ("${displayName(prev)}" before "${displayName(name)}")`, path);
        }
        prev = name;
        if (d.fileType >= 8) this.soft(deAt, `directory nid ${nid}: entry "${displayName(name)}" has file type ${d.fileType}`, path);
        out.push({ name, nid: childNid, fileType: d.fileType, offset: deAt ?? inode.offset });
      }
    }
    const dot = out.find((e) => e.name === ".");
    const dotdot = out.find((e) => e.name === "..");
    if (!dot) this.soft(inode.offset, `directory nid ${nid} has no "." entry`, path);
    else if (dot.nid !== nid) this.soft(dot.offset, `directory nid ${nid}: "." points to nid ${dot.nid}`, path);
    if (!dotdot) this.soft(inode.offset, `directory nid ${nid} has no ".." entry`, path);
    else if (opts.parentNid !== undefined && dotdot.nid !== opts.parentNid) {
      this.soft(dotdot.offset, `directory nid ${nid}: ".." points to nid ${dotdot.nid}, expected ${opts.parentNid}`, path);
    }
    for (const e of [dot, dotdot]) {
      if (e && e.fileType !== FileType.Directory) this.soft(e.offset, `directory nid ${nid}: "${e.name}" has file type ${e.fileType}`, path);
    }
    return out;
  }

  /** Checks a dirent's file type against the inode it points to (soft problem). */
  checkFileType(entry: ErofsDirEntry, inode: ErofsInode, path?: string): void {
    const k = FILE_TYPE_KIND[entry.fileType];
    if (k !== inode.kind && entry.fileType < 8) {
      this.soft(entry.offset, `entry "${displayName(entry.name)}" has file type ${entry.fileType} but nid ${inode.nid} is a ${inode.kind}`, path);
    }
  }

  /** All xattrs of an inode (inline and shared), full names as byte strings. */
  readXattrs(inode: ErofsInode, path?: string): Map<ByteString, Uint8Array> {
    const out = new Map<ByteString, Uint8Array>();
    if (inode.xattrIcount === 0) return out;
    const nid = inode.nid;
    const area = inode.xattrOffset;
    const end = area + inode.xattrSize;
    if (inode.xattrIcount === 1) {
      this.soft(inode.offset + 2, `nid ${nid}: i_xattr_icount 1 (xattr header without entries) is not supported by Linux`, path);
      return out;
    }
    const shared = this.bytes[area + XattrIbodyHeader.fields.sharedCount.offset];
    let pos = area + XattrIbodyHeader.size + 4 * shared;
    if (pos > end) {
      throw this.hard(area + 4, `nid ${nid}: ${shared} shared xattrs do not fit in the ${inode.xattrSize}-byte xattr area`, path);
    }
    const add = (entryAt: number, name: ByteString | undefined, value: Uint8Array) => {
      if (name === undefined) return;
      if (out.has(name)) {
        this.soft(entryAt, `nid ${nid}: duplicate xattr "${displayName(name)}"`, path);
        return;
      }
      out.set(name, value);
    };
    for (let i = 0; i < shared; i++) {
      const idAt = area + XattrIbodyHeader.size + 4 * i;
      const id = u32at(this.bytes, idAt);
      const at = this.xattrBase + id * 4;
      if (!this.inBounds(at, XattrEntry.size)) {
        throw this.hard(idAt, `nid ${nid}: shared xattr id ${id} points outside the image`, path);
      }
      const { entrySize, name, value } = this.parseXattrEntry(at, this.limit, nid, path);
      void entrySize;
      add(at, name, value);
    }
    while (pos < end) {
      const { entrySize, name, value } = this.parseXattrEntry(pos, end, nid, path);
      add(pos, name, value);
      pos += entrySize;
    }
    return out;
  }

  private parseXattrEntry(at: number, end: number, nid: number, path?: string): { entrySize: number; name?: ByteString; value: Uint8Array } {
    if (at + XattrEntry.size > end) throw this.hard(at, `nid ${nid}: xattr entry header runs past its area`, path);
    const e = XattrEntry.decode(this.bytes, at);
    const entrySize = alignUp(XattrEntry.size + e.nameLen + e.valueSize, 4);
    if (at + entrySize > end) {
      throw this.hard(at, `nid ${nid}: xattr entry (${e.nameLen}-byte name, ${e.valueSize}-byte value) runs past its area`, path);
    }
    const suffix = bytesToByteString(this.bytes.subarray(at + XattrEntry.size, at + XattrEntry.size + e.nameLen));
    const vAt = at + XattrEntry.size + e.nameLen;
    const value = new Uint8Array(this.bytes.subarray(vAt, vAt + e.valueSize));
    if (e.nameIndex & 0x80) {
      throw new UnsupportedError(FMT, at + 1, `nid ${nid}: long xattr name prefix ${e.nameIndex & 0x7f} not supported${pathNote(path)}`);
    }
    let name: ByteString | undefined;
    if (e.nameIndex === 0) {
      name = suffix;
      if (suffix.length === 0) this.soft(at, `nid ${nid}: xattr with empty name`, path);
    } else {
      const prefix = XATTR_PREFIXES.find(([i]) => i === e.nameIndex)?.[1];
      if (prefix === undefined) {
        this.soft(at + 1, `nid ${nid}: unknown xattr name index ${e.nameIndex}`, path);
        return { entrySize, value };
      }
      const acl = e.nameIndex === 2 || e.nameIndex === 3;
      if (acl && suffix.length) this.soft(at, `nid ${nid}: POSIX ACL xattr with a name suffix`, path);
      if (!acl && !suffix.length) this.soft(at, `nid ${nid}: xattr "${prefix}" with an empty name suffix`, path);
      name = prefix + suffix;
    }
    return { entrySize, name, value };
  }

  /** Resolves a path ("a/b", "/a/b") to an inode; undefined when a component does not exist. */
  lookup(path: ByteString): ErofsInode | undefined {
    let inode = this.readInode(this.rootNid, "");
    for (const part of splitPath(path)) {
      if (inode.kind !== "dir") return undefined;
      const e = this.readDir(inode).find((d) => d.name === part);
      if (!e) return undefined;
      inode = this.readInode(e.nid);
    }
    return inode;
  }

  /** Builds the node for an inode (not its directory entries). Symlink targets and xattrs are read now, file data lazily. */
  makeNode(inode: ErofsInode, path?: string): FsNode {
    const meta: NodeMeta = {
      perm: inode.perm,
      uid: inode.uid,
      gid: inode.gid,
      mtime: { ...inode.mtime },
      xattrs: this.readXattrs(inode, path),
    };
    switch (inode.kind) {
      case "dir":
        return { ...meta, kind: "dir", entries: new Map() };
      case "file": {
        const img = this;
        return {
          ...meta,
          kind: "file",
          content: inode.size === 0 ? bytesContent(new Uint8Array(0)) : { size: inode.size, read: () => img.readData(inode, path) },
        };
      }
      case "symlink":
        return { ...meta, kind: "symlink", target: this.readLink(inode, path) };
      case "chardev":
      case "blockdev":
        return { ...meta, kind: inode.kind, rdevMajor: inode.rdev!.major, rdevMinor: inode.rdev!.minor };
      case "fifo":
      case "socket":
        return { ...meta, kind: inode.kind };
    }
  }
}

function joinPath(dir: ByteString, name: ByteString): ByteString {
  return dir ? `${dir}/${name}` : name;
}

/**
 * Reads the whole tree. File contents are lazy: read() slices, assembles or decompresses from the
 * image on each call. Hard links come back as one node object at several
 * paths; a directory reachable twice (a cycle or a hard-linked directory) is a FormatError.
 */
export function readErofs(bytes: Uint8Array, opts: ErofsReadOptions = {}): FsTree {
  const img = ErofsImage.open(bytes, opts);
  const rootInode = img.readInode(img.rootNid, "");
  const root = img.makeNode(rootInode, "") as DirNode;
  const nodes = new Map<number, { node: FsNode; path: ByteString }>();
  nodes.set(rootInode.nid, { node: root, path: "" });
  const stack: Array<{ inode: ErofsInode; node: DirNode; path: ByteString; parentNid: number }> = [
    { inode: rootInode, node: root, path: "", parentNid: rootInode.nid },
  ];
  while (stack.length) {
    const { inode, node, path, parentNid } = stack.pop()!;
    let entries: ErofsDirEntry[];
    try {
      entries = img.readDir(inode, { parentNid, path });
    } catch (e) {
      throw withContext(e, pathNote(path));
    }
    for (const ent of entries) {
      if (ent.name === "." || ent.name === "..") continue;
      const childPath = joinPath(path, ent.name);
      const known = nodes.get(ent.nid);
      if (known) {
        if (known.node.kind === "dir") {
          throw new FormatError(
            FMT,
            ent.offset,
            `directory nid ${ent.nid} is reachable twice ("${displayName(known.path) || "/"}" and "${displayName(childPath)}"): a cycle or a hard-linked directory`,
          );
        }
        img.checkFileType(ent, img.readInode(ent.nid), childPath);
        node.entries.set(ent.name, known.node);
        continue;
      }
      let child: FsNode;
      let childInode: ErofsInode;
      try {
        childInode = img.readInode(ent.nid, childPath);
        img.checkFileType(ent, childInode, childPath);
        child = img.makeNode(childInode, childPath);
      } catch (e) {
        throw withContext(e, pathNote(childPath));
      }
      nodes.set(ent.nid, { node: child, path: childPath });
      node.entries.set(ent.name, child);
      if (child.kind === "dir") stack.push({ inode: childInode, node: child, path: childPath, parentNid: inode.nid });
    }
  }
  return { root };
}
