/**
 * EROFS on-disk structures (Linux fs/erofs/erofs_fs.h), one definition each, shared by the
 * reader and the writer. Little-endian throughout.
 */
import { bytes, defineStruct, u16, u32, u64, u8 } from "../struct.js";

export const EROFS_MAGIC = 0xe0f5e1e2;
export const SUPERBLOCK_OFFSET = 1024;
export const BLOCK_SIZE_BITS = 12;
export const BLOCK_SIZE = 1 << BLOCK_SIZE_BITS;
/** inodes live in 32-byte slots: nid = (byte offset - meta_blkaddr * BLOCK_SIZE) / 32 */
export const INODE_SLOT_BITS = 5;
export const INODE_SLOT = 1 << INODE_SLOT_BITS;
/** EROFS names are at most 255 bytes */
export const NAME_MAX = 255;
/** "no block": i_u of an inode whose whole data is inline */
export const NULL_ADDR = 0xffffffff;

export const FEATURE_COMPAT_SB_CHKSUM = 0x1;
export const FEATURE_COMPAT_MTIME = 0x2;
export const FEATURE_COMPAT_XATTR_FILTER = 0x4;

export const FEATURE_INCOMPAT_ZERO_PADDING = 0x01;
export const FEATURE_INCOMPAT_COMPR_CFGS = 0x02; // == BIG_PCLUSTER
export const FEATURE_INCOMPAT_CHUNKED_FILE = 0x04;
export const FEATURE_INCOMPAT_DEVICE_TABLE = 0x08; // == COMPR_HEAD2
export const FEATURE_INCOMPAT_ZTAILPACKING = 0x10;
export const FEATURE_INCOMPAT_FRAGMENTS = 0x20; // == DEDUPE
export const FEATURE_INCOMPAT_XATTR_PREFIXES = 0x40;
export const FEATURE_INCOMPAT_48BIT = 0x80;

export const COMPAT_FEATURE_NAMES: Record<number, string> = {
  [FEATURE_COMPAT_SB_CHKSUM]: "sb_csum",
  [FEATURE_COMPAT_MTIME]: "mtime",
  [FEATURE_COMPAT_XATTR_FILTER]: "xattr_filter",
};
export const INCOMPAT_FEATURE_NAMES: Record<number, string> = {
  [FEATURE_INCOMPAT_ZERO_PADDING]: "0padding",
  [FEATURE_INCOMPAT_COMPR_CFGS]: "compr_cfgs",
  [FEATURE_INCOMPAT_CHUNKED_FILE]: "chunked_file",
  [FEATURE_INCOMPAT_DEVICE_TABLE]: "device_table",
  [FEATURE_INCOMPAT_ZTAILPACKING]: "ztailpacking",
  [FEATURE_INCOMPAT_FRAGMENTS]: "fragments",
  [FEATURE_INCOMPAT_XATTR_PREFIXES]: "xattr_prefixes",
  [FEATURE_INCOMPAT_48BIT]: "48bit",
};

export const Superblock = defineStruct("erofs superblock", 128, {
  magic: u32(0x00),
  checksum: u32(0x04),
  featureCompat: u32(0x08),
  blkszbits: u8(0x0c),
  sbExtslots: u8(0x0d),
  rootNid: u16(0x0e),
  inos: u64(0x10),
  buildTime: u64(0x18),
  buildTimeNsec: u32(0x20),
  blocks: u32(0x24),
  metaBlkaddr: u32(0x28),
  xattrBlkaddr: u32(0x2c),
  uuid: bytes(0x30, 16),
  volumeName: bytes(0x40, 16),
  featureIncompat: u32(0x50),
  u1: u16(0x54), // lz4 max distance, or the bitmap of compression configs
  extraDevices: u16(0x56),
  devtSlotoff: u16(0x58),
  dirblkbits: u8(0x5a),
  xattrPrefixCount: u8(0x5b),
  xattrPrefixStart: u32(0x5c),
  packedNid: u64(0x60),
  xattrFilterReserved: u8(0x68),
  reserved: bytes(0x69, 23),
});

/** i_format: bit 0 = extended, bits 1..3 = data layout */
export const INODE_VERSION_EXTENDED = 1;
export const DATALAYOUT_SHIFT = 1;
export const DATALAYOUT_MASK = 0x7;
export enum DataLayout {
  FlatPlain = 0,
  CompressedFull = 1,
  FlatInline = 2,
  CompressedCompact = 3,
  ChunkBased = 4,
}

export const InodeCompact = defineStruct("erofs compact inode", 32, {
  format: u16(0),
  xattrIcount: u16(2),
  mode: u16(4),
  nlink: u16(6),
  size: u32(8),
  reserved: u32(12),
  iu: u32(16), // start block / compressed blocks / rdev / chunk info
  ino: u32(20),
  uid: u16(24),
  gid: u16(26),
  reserved2: u32(28),
});

export const InodeExtended = defineStruct("erofs extended inode", 64, {
  format: u16(0),
  xattrIcount: u16(2),
  mode: u16(4),
  reserved: u16(6),
  size: u64(8),
  iu: u32(16),
  ino: u32(20),
  uid: u32(24),
  gid: u32(28),
  mtime: u64(32),
  mtimeNsec: u32(40),
  nlink: u32(44),
  reserved2: bytes(48, 16),
});

export const Dirent = defineStruct("erofs dirent", 12, {
  nid: u64(0),
  nameoff: u16(8),
  fileType: u8(10),
  reserved: u8(11),
});

export enum FileType {
  Unknown = 0,
  Regular = 1,
  Directory = 2,
  CharDevice = 3,
  BlockDevice = 4,
  Fifo = 5,
  Socket = 6,
  Symlink = 7,
}

/** Header of an inode's inline xattr area; followed by shared ids (le32) and entries. */
export const XattrIbodyHeader = defineStruct("erofs xattr ibody header", 12, {
  nameFilter: u32(0),
  sharedCount: u8(4),
  reserved: bytes(5, 7),
});

/** One xattr entry (inline or shared): then name suffix, value, padding to 4 bytes. */
export const XattrEntry = defineStruct("erofs xattr entry", 4, {
  nameLen: u8(0),
  nameIndex: u8(1),
  valueSize: u16(2),
});

/** Name prefixes by index; index 0 means the full name is stored. */
export const XATTR_PREFIXES: ReadonlyArray<readonly [number, string]> = [
  [1, "user."],
  [2, "system.posix_acl_access"],
  [3, "system.posix_acl_default"],
  [4, "trusted."],
  [6, "security."],
];

/** Inline xattr area size for i_xattr_icount (0 = none). */
export function xattrIbodySize(icount: number): number {
  return icount === 0 ? 0 : XattrIbodyHeader.size + 4 * (icount - 1);
}

/** i_u for device nodes (new_encode_dev). */
export function encodeRdev(major: number, minor: number): number {
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}
export function decodeRdev(v: number): { major: number; minor: number } {
  return { major: (v & 0xfff00) >>> 8, minor: (v & 0xff) | ((v >>> 12) & 0xfff00) };
}

/** Compression map header, 8 bytes at ALIGN(end of inode + xattrs, 8). */
export const MapHeader = defineStruct("erofs z_erofs map header", 8, {
  reserved: u32(0),
  idataSize: u16(2), // h_idata_size (shares `reserved`): bytes of the inline tail pcluster (INLINE_PCLUSTER)
  advise: u16(4),
  algorithmType: u8(6),
  clusterBits: u8(7),
});

/** h_advise bits of the map header */
export const Z_ADVISE_COMPACTED_2B = 0x0001;
export const Z_ADVISE_BIG_PCLUSTER_1 = 0x0002; // HEAD1 pclusters may span several blocks
export const Z_ADVISE_BIG_PCLUSTER_2 = 0x0004; // HEAD2 pclusters may span several blocks
export const Z_ADVISE_INLINE_PCLUSTER = 0x0008; // ztailpacking: the last pcluster is inline after the index
export const Z_ADVISE_INTERLACED_PCLUSTER = 0x0010;
export const Z_ADVISE_FRAGMENT_PCLUSTER = 0x0020;

/** h_algorithmtype (low nibble: HEAD1, high nibble: HEAD2) and the COMPR_CFGS bitmap bit */
export enum CompressionAlgorithm {
  Lz4 = 0,
  Lzma = 1,
  Deflate = 2,
  Zstd = 3,
}

/** lcluster types (2 bits) in full and compact index entries */
export enum LclusterType {
  Plain = 0,
  Head1 = 1,
  NonHead = 2,
  Head2 = 3,
}
export const LCLUSTER_TYPE_BITS = 2;
/** the first NONHEAD after a HEAD of a big pcluster stores this flag | the pcluster's block count */
export const Z_DELTA_CBLKCNT = 0x0800;

/**
 * Full (legacy) index entry, 8 bytes per lcluster, at ALIGN(end of inode + xattrs, 8) + 8 (map
 * header) + 8 (reserved). HEAD/PLAIN entries use `blkaddr`; NONHEAD entries use the two deltas
 * (back to their HEAD, forward to the next HEAD), which share those 4 bytes.
 */
export const FullIndexEntry = defineStruct("erofs full lcluster index", 8, {
  advise: u16(0), // bits 0..1: LclusterType
  clusterOfs: u16(2),
  blkaddr: u32(4),
  delta0: u16(4),
  delta1: u16(6),
});
export const FULL_INDEX_RESERVED = 8;

/** Compact index packs: `count` entries of `bits` bits each, then a le32 base block address. */
export const COMPACT_4B = { bytes: 8, count: 2, bits: 16 } as const;
export const COMPACT_2B = { bytes: 32, count: 16, bits: 14 } as const;
/** within a compact entry: low 12 bits = clusterofs or delta, then the 2 type bits */
export const COMPACT_LO_BITS = BLOCK_SIZE_BITS;

/**
 * Which pack form covers which lclusters of a compact index (fs/erofs/zmap.c): the first n0
 * entries use 4-byte packs until ebase+... is 32-byte aligned; with COMPACTED_2B the next
 * multiple-of-16 entries use 2-byte packs; the rest use 4-byte packs.
 * `ebase` is the absolute image offset where the index starts (ALIGN(end, 8) + 8).
 */
export function compactIndexLayout(ebase: number, totalLclusters: number, compacted2B: boolean): {
  initial4B: number;
  middle2B: number;
  trailing4B: number;
  /** total index bytes (all packs, including a final partial pack) */
  bytes: number;
} {
  let initial4B = ((32 - (ebase % 32)) / 4) % 8;
  if (initial4B > totalLclusters) initial4B = totalLclusters;
  // the kernel only ever starts with an even number of 4B entries: ebase is 8-aligned
  const middle2B = compacted2B && initial4B < totalLclusters ? Math.floor((totalLclusters - initial4B) / 16) * 16 : 0;
  const trailing4B = totalLclusters - initial4B - middle2B;
  const packs4 = Math.ceil(initial4B / 2) + Math.ceil(trailing4B / 2);
  return { initial4B, middle2B, trailing4B, bytes: packs4 * COMPACT_4B.bytes + (middle2B / 16) * COMPACT_2B.bytes };
}

/** The LZ4 config record after the superblock when COMPR_CFGS is set: le16 size, then these 14 bytes. */
export const Lz4Config = defineStruct("erofs lz4 config", 14, {
  maxDistance: u16(0),
  maxPclusterBlks: u16(2),
  reserved: bytes(4, 10),
});
/** compressed data in a pcluster is right-aligned, preceded by zeros (incompat ZERO_PADDING) */

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
