/**
 * Layout pass of the EROFS writer: decides every inode's format, nid, data layout and block
 * address, the shared xattr area and the image size, without producing any bytes. The emit pass
 * (emit.ts) then serializes exactly this plan.
 *
 * Image layout (uncompressed):
 *   block 0          boot area (1024 bytes, zero) + superblock; inodes start right after it
 *   metadata         inodes in depth-first pre-order (root first, so its nid fits 16 bits), each
 *                    in 32-byte slots, followed by its inline xattrs and, for FLAT_INLINE, its tail;
 *                    an inode never straddles a block boundary when it fits in one block
 *   shared xattrs    block aligned
 *   data             full blocks of directories and files, in inode order
 */
import { FormatError, UsageError } from "../../../errors.js";
import {
  compareNames, ByteString, DirNode, FsNode, FsTree, modeOf, Timestamp, walk,
} from "../../../fs/tree.js";
import { packDirectory, DirBlockPlan } from "../dir-pack.js";
import {
  alignUp, BLOCK_SIZE, DataLayout, encodeRdev, FEATURE_INCOMPAT_COMPR_CFGS, FEATURE_INCOMPAT_ZERO_PADDING, FileType,
  FEATURE_INCOMPAT_ZTAILPACKING, InodeCompact, InodeExtended, INODE_SLOT, Lz4Config, MapHeader, NAME_MAX,
  SUPERBLOCK_OFFSET, Superblock, Z_ADVISE_BIG_PCLUSTER_1, Z_ADVISE_BIG_PCLUSTER_2, Z_ADVISE_COMPACTED_2B,
  Z_ADVISE_INLINE_PCLUSTER,
} from "../ondisk.js";
import { CompressedFile, withoutInlineTail } from "./compress-file.js";
import { InodeXattrs, pairKey, planInodeXattrs, XattrPair, xattrEntrySize } from "./xattrs.js";
import { compactIndexBytes, fullIndexBytes } from "./zindex.js";

export interface ErofsWriteOptions {
  /** 16 bytes; default: derived from a hash of the image content (reproducible) */
  uuid?: Uint8Array;
  /** volume label, at most 15 bytes */
  label?: string;
  /**
   * Fixed timestamp. With timestampMode "all" (default, like mkfs.erofs -T) every inode gets it;
   * with "build" only the superblock build time is set.
   */
  timestamp?: Timestamp;
  timestampMode?: "all" | "build";
  /** pack file and directory tails into the metadata area (FLAT_INLINE); default true */
  inlineData?: boolean;
  /** an xattr (name, value) pair used by at least this many inodes goes to the shared area; 0 = never share; default 2 */
  xattrShareThreshold?: number;
  /**
   * LZ4-compressed files (computed beforehand, see src/pipeline/compress-tree.ts): these files are
   * stored compressed, every other file as it is.
   */
  compressed?: ReadonlyMap<FsNode, CompressedFile>;
  /** the pcluster size the files were compressed with, in blocks (> 1: big pclusters); default 1 */
  maxPclusterBlocks?: number;
  /** lcluster index form of compressed files; default "compact" */
  compressIndex?: "compact" | "full";
}

/** A compressed file's place in the plan. */
export interface PlannedZ {
  file: CompressedFile;
  /** h_advise of its map header */
  advise: number;
  /** bytes of map header + index after ALIGN(inode + xattrs, 8) */
  indexBytes: number;
  /** the last extent's data, stored right after the index (ztailpacking) */
  inline?: Uint8Array;
}

export interface DirChild {
  name: ByteString;
  inode: PlannedInode;
}

export interface PlannedInode {
  node: FsNode;
  index: number;
  nid: number;
  /** byte offset of the inode in the image */
  offset: number;
  extended: boolean;
  layout: DataLayout.FlatPlain | DataLayout.FlatInline | DataLayout.CompressedFull | DataLayout.CompressedCompact;
  mode: number;
  nlink: number;
  size: number;
  mtime: Timestamp;
  xattrs: InodeXattrs;
  /** bytes stored after the inode and its xattrs (FLAT_INLINE tail) */
  inlineSize: number;
  /** first data block, or 0 / NULL when there are no full blocks */
  startBlock: number;
  dataBlocks: number;
  /** compressed files only */
  z?: PlannedZ;
  fileType: FileType;
  /** directories: children in byte order, including "." and ".." */
  children?: DirChild[];
  dirBlocks?: DirBlockPlan[];
  parent?: PlannedInode;
}

export interface ImagePlan {
  inodes: PlannedInode[];
  root: PlannedInode;
  buildTime: Timestamp;
  metaEnd: number; // end of the metadata area (bytes, block aligned)
  sharedXattrs: XattrPair[];
  sharedXattrOffsets: number[]; // byte offset of each shared pair inside the area
  xattrBlkaddr: number;
  xattrAreaSize: number;
  totalBlocks: number;
  /** superblock feature_incompat and u1 (lz4 max distance or, with COMPR_CFGS, the algorithm bitmap) */
  featureIncompat: number;
  sbU1: number;
  /** the lz4 config record after the superblock (COMPR_CFGS, big pclusters) */
  lz4Config?: { at: number; maxPclusterBlks: number };
  options: ErofsWriteOptions;
}

/** Maximum big pcluster the kernel takes (Z_EROFS_PCLUSTER_MAX_SIZE, 1 MiB) */
export const MAX_PCLUSTER_BLOCKS = (1 << 20) / BLOCK_SIZE;

const FILE_TYPES: Record<FsNode["kind"], FileType> = {
  file: FileType.Regular, dir: FileType.Directory, chardev: FileType.CharDevice,
  blockdev: FileType.BlockDevice, fifo: FileType.Fifo, socket: FileType.Socket, symlink: FileType.Symlink,
};

/** the lz4 config record (COMPR_CFGS): le16 size, then the record, 4-byte aligned after the superblock */
const LZ4_CONFIG_AT = SUPERBLOCK_OFFSET + Superblock.size;
const LZ4_CONFIG_END = LZ4_CONFIG_AT + 2 + Lz4Config.size;

function checkName(name: ByteString, path: ByteString): void {
  if (name.length === 0 || name.length > NAME_MAX || name === "." || name === ".." || name.includes("\0")) {
    throw new FormatError("erofs", undefined, `invalid file name (1..${NAME_MAX} bytes, no NUL, not "." or ".."): ${JSON.stringify(path)}`);
  }
}

/** Free 32-byte-aligned ranges inside metadata blocks, bucketed by size for best fit. */
class MetaGaps {
  private buckets: number[][] = Array.from({ length: BLOCK_SIZE / INODE_SLOT + 1 }, () => []);

  add(offset: number, size: number): void {
    if (size >= INODE_SLOT) this.buckets[size / INODE_SLOT].push(offset);
  }

  /** The offset of the smallest gap that holds `size` bytes (the rest stays a gap), or undefined. */
  take(size: number): number | undefined {
    const need = size / INODE_SLOT;
    for (let slots = need; slots < this.buckets.length; slots++) {
      const b = this.buckets[slots];
      if (b.length) {
        const offset = b.shift()!;
        this.add(offset + size, (slots - need) * INODE_SLOT);
        return offset;
      }
    }
    return undefined;
  }
}

function timeKey(t: Timestamp): string {
  return `${t.sec}.${t.nsec}`;
}

/** The options, checked, with their defaults. */
interface PlanSettings {
  inlineData: boolean;
  shareThreshold: number;
  maxPcluster: number;
  bigPcluster: boolean;
  compactIndex: boolean;
  compressed: ErofsWriteOptions["compressed"];
}

/** The shared xattr area: its pairs in key order, where each one starts, and by key which one it is. */
interface SharedXattrs {
  pairs: XattrPair[];
  offsets: number[];
  indexByKey: Map<string, number>;
  areaSize: number;
}

/** What the superblock says about compression. */
type CompressionFeatures = Pick<ImagePlan, "featureIncompat" | "sbU1" | "lz4Config">;

/** The layout, phase by phase; each phase sets what the later ones read. */
export function planImage(tree: FsTree, options: ErofsWriteOptions = {}): ImagePlan {
  const settings = checkOptions(options);
  const { inodes, byNode } = collectInodes(tree, options);
  const root = inodes[0];
  const buildTime = pickBuildTime(inodes, options.timestamp);
  const shared = planSharedXattrs(inodes, settings.shareThreshold);
  for (const i of inodes) layOutInode(i, byNode, buildTime, shared, settings);
  const features = compressionFeatures(inodes, settings);
  // the first inode comes after the superblock and, if there is one, the lz4 config record
  const metaEnd = placeMetadata(inodes, features.lz4Config ? LZ4_CONFIG_END : SUPERBLOCK_OFFSET + Superblock.size);
  if (root.nid > 0xffff) throw new FormatError("erofs", undefined, "root nid does not fit 16 bits");
  const { xattrBlkaddr, totalBlocks } = placeData(inodes, metaEnd, shared.areaSize);
  return {
    inodes, root, buildTime, metaEnd, sharedXattrs: shared.pairs, sharedXattrOffsets: shared.offsets,
    xattrBlkaddr, xattrAreaSize: shared.areaSize, totalBlocks, ...features, options,
  };
}

function checkOptions(options: ErofsWriteOptions): PlanSettings {
  if (options.label !== undefined && Buffer.byteLength(options.label) > 15) throw new UsageError("volume label longer than 15 bytes");
  if (options.uuid !== undefined && options.uuid.length !== 16) throw new UsageError("uuid must be 16 bytes");
  const maxPcluster = options.maxPclusterBlocks ?? 1;
  if (!Number.isInteger(maxPcluster) || maxPcluster < 1 || maxPcluster > MAX_PCLUSTER_BLOCKS) {
    throw new UsageError(`max pcluster must be 1..${MAX_PCLUSTER_BLOCKS} blocks, got ${maxPcluster}`);
  }
  return {
    inlineData: options.inlineData ?? true,
    shareThreshold: options.xattrShareThreshold ?? 2,
    maxPcluster,
    bigPcluster: maxPcluster > 1,
    compactIndex: (options.compressIndex ?? "compact") === "compact",
    compressed: options.compressed,
  };
}

/** Phase 1: inodes in depth-first pre-order; a node reached again is a hard link. */
function collectInodes(tree: FsTree, options: ErofsWriteOptions): { inodes: PlannedInode[]; byNode: Map<FsNode, PlannedInode> } {
  const byNode = new Map<FsNode, PlannedInode>();
  const inodes: PlannedInode[] = [];
  for (const { path, node, parent, depth } of walk(tree)) {
    if (depth > 0) checkName(path.slice(path.lastIndexOf("/") + 1), path);
    const seen = byNode.get(node);
    if (seen) {
      if (node.kind === "dir") throw new FormatError("erofs", undefined, `directory hard link or cycle at ${JSON.stringify(path)}`);
      seen.nlink++;
      continue;
    }
    const mtime = options.timestamp && (options.timestampMode ?? "all") === "all" ? options.timestamp : node.mtime;
    const inode: PlannedInode = {
      node, index: inodes.length, nid: 0, offset: 0, extended: false, layout: DataLayout.FlatPlain,
      mode: modeOf(node), nlink: node.kind === "dir" ? 2 : 1, size: 0, mtime,
      xattrs: planInodeXattrs([], []), inlineSize: 0, startBlock: 0, dataBlocks: 0,
      fileType: FILE_TYPES[node.kind], parent: parent ? byNode.get(parent) : undefined,
    };
    if (inode.parent && node.kind === "dir") inode.parent.nlink++;
    byNode.set(node, inode);
    inodes.push(inode);
  }
  inodes[0].parent = inodes[0];
  return { inodes, byNode };
}

/** Phase 2: the build time is the most common mtime, so that most inodes can be compact. */
function pickBuildTime(inodes: PlannedInode[], timestamp: Timestamp | undefined): Timestamp {
  if (timestamp) return timestamp;
  const counts = new Map<string, { t: Timestamp; n: number }>();
  for (const i of inodes) {
    const k = timeKey(i.mtime);
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { t: i.mtime, n: 1 });
  }
  let best: { t: Timestamp; n: number } | undefined;
  for (const c of counts.values()) {
    if (!best || c.n > best.n || (c.n === best.n && (c.t.sec < best.t.sec || (c.t.sec === best.t.sec && c.t.nsec < best.t.nsec)))) best = c;
  }
  return best && best.t.sec >= 0 ? best.t : { sec: 0, nsec: 0 };
}

/** Phase 3: the pairs used by at least `threshold` inodes go to the shared area. */
function planSharedXattrs(inodes: PlannedInode[], threshold: number): SharedXattrs {
  const pairUse = new Map<string, { pair: XattrPair; n: number }>();
  for (const i of inodes) {
    for (const [name, value] of i.node.xattrs) {
      const k = pairKey(name, value);
      const u = pairUse.get(k);
      if (u) u.n++;
      else pairUse.set(k, { pair: { name, value }, n: 1 });
    }
  }
  const sharedKeys = [...pairUse.entries()]
    .filter(([, u]) => threshold > 0 && u.n >= threshold)
    .map(([k]) => k)
    .sort();
  const shared: SharedXattrs = { pairs: [], offsets: [], indexByKey: new Map(), areaSize: 0 };
  for (const k of sharedKeys) {
    const pair = pairUse.get(k)!.pair;
    shared.indexByKey.set(k, shared.pairs.length);
    shared.pairs.push(pair);
    shared.offsets.push(shared.areaSize);
    shared.areaSize += xattrEntrySize(pair);
  }
  return shared;
}

/** Phase 4, one inode: its xattrs, size, format (compact or extended) and data layout. */
function layOutInode(i: PlannedInode, byNode: Map<FsNode, PlannedInode>, buildTime: Timestamp, shared: SharedXattrs, settings: PlanSettings): void {
  const node = i.node;
  i.xattrs = inodeXattrs(node, shared);
  if (node.kind === "dir") planDirectory(i, node, byNode);
  else if (node.kind === "file") i.size = node.content.size;
  else if (node.kind === "symlink") i.size = node.target.length;
  i.extended =
    i.size > 0xffffffff || node.uid > 0xffff || node.gid > 0xffff || i.nlink > 0xffff ||
    i.mtime.sec !== buildTime.sec || i.mtime.nsec !== buildTime.nsec;
  const zfile = node.kind === "file" ? settings.compressed?.get(node) : undefined;
  if (zfile) planCompressed(i, zfile, settings);
  else planFlat(i, settings.inlineData);
}

/** The node's xattrs in name order, each either a reference to the shared area or inline. */
function inodeXattrs(node: FsNode, shared: SharedXattrs): InodeXattrs {
  const sharedRefs: number[] = [];
  const inline: XattrPair[] = [];
  for (const name of [...node.xattrs.keys()].sort(compareNames)) {
    const value = node.xattrs.get(name)!;
    const s = shared.indexByKey.get(pairKey(name, value));
    if (s !== undefined) sharedRefs.push(shared.offsets[s] / 4);
    else inline.push({ name, value });
  }
  return planInodeXattrs(sharedRefs, inline);
}

/** Children in byte order with "." and "..", packed into dirent blocks. */
function planDirectory(i: PlannedInode, node: DirNode, byNode: Map<FsNode, PlannedInode>): void {
  const children: DirChild[] = [
    { name: ".", inode: i },
    { name: "..", inode: i.parent! },
    ...[...node.entries.entries()].map(([name, n]) => ({ name, inode: byNode.get(n)! })),
  ].sort((a, b) => compareNames(a.name, b.name));
  i.children = children;
  const packed = packDirectory(children.map((c) => c.name.length));
  i.dirBlocks = packed.blocks;
  i.size = packed.size;
}

/** Uncompressed data: the tail goes inline when it fits the inode's block, else full blocks only. */
function planFlat(i: PlannedInode, inlineData: boolean): void {
  const tail = i.size % BLOCK_SIZE;
  if (inlineData && tail > 0 && headSize(i) + tail <= BLOCK_SIZE) {
    i.layout = DataLayout.FlatInline;
    i.inlineSize = tail;
    i.dataBlocks = Math.floor(i.size / BLOCK_SIZE);
  } else {
    i.layout = DataLayout.FlatPlain;
    i.dataBlocks = Math.ceil(i.size / BLOCK_SIZE);
  }
}

/** Phase 4, a compressed file: its index size and h_advise, and whether its tail stays inline. */
function planCompressed(i: PlannedInode, zfile: CompressedFile, { maxPcluster, bigPcluster, compactIndex }: PlanSettings): void {
  if (zfile.size !== i.size) throw new FormatError("erofs", undefined, `compressed data of ${i.size}-byte file is for ${zfile.size} bytes`);
  if (zfile.extents.some((e) => e.blocks > maxPcluster)) throw new UsageError(`file compressed with pclusters larger than maxPclusterBlocks (${maxPcluster})`);
  const lclusters = Math.ceil(i.size / BLOCK_SIZE);
  const indexAt = alignUp(headSize(i), 8);
  const ebase = indexAt + MapHeader.size; // inodes are 32-byte aligned: ebase % 32 is known
  const indexBytes = compactIndex ? compactIndexBytes(ebase, lclusters) : fullIndexBytes(lclusters);
  // an inline tail must not cross a block: keep it only when the whole inode record fits one
  let inline = zfile.extents[zfile.extents.length - 1].inline;
  if (inline && indexAt + indexBytes + inline.length > BLOCK_SIZE) {
    zfile = withoutInlineTail(zfile);
    inline = undefined;
  }
  i.layout = compactIndex ? DataLayout.CompressedCompact : DataLayout.CompressedFull;
  i.z = {
    file: zfile,
    advise: (compactIndex
      ? Z_ADVISE_COMPACTED_2B | (bigPcluster ? Z_ADVISE_BIG_PCLUSTER_1 | Z_ADVISE_BIG_PCLUSTER_2 : 0)
      : (bigPcluster ? Z_ADVISE_BIG_PCLUSTER_1 : 0)) | (inline ? Z_ADVISE_INLINE_PCLUSTER : 0),
    indexBytes,
    inline,
  };
  i.dataBlocks = zfile.blocks;
}

/** Bytes of the inode and its xattrs. */
function headSize(i: PlannedInode): number {
  return (i.extended ? InodeExtended.size : InodeCompact.size) + i.xattrs.size;
}

/**
 * Feature bits and the lz4 config record. The record (big pclusters only) sits between the
 * superblock and the first inode, so this comes before metadata placement.
 */
function compressionFeatures(inodes: PlannedInode[], { bigPcluster, maxPcluster }: PlanSettings): CompressionFeatures {
  if (!inodes.some((i) => i.z)) return { featureIncompat: 0, sbU1: 0, lz4Config: undefined };
  return {
    featureIncompat: FEATURE_INCOMPAT_ZERO_PADDING | (bigPcluster ? FEATURE_INCOMPAT_COMPR_CFGS : 0) |
      (inodes.some((i) => i.z?.inline) ? FEATURE_INCOMPAT_ZTAILPACKING : 0),
    sbU1: bigPcluster ? 1 << 0 /* lz4 */ : 0,
    lz4Config: bigPcluster ? { at: LZ4_CONFIG_AT, maxPclusterBlks: maxPcluster } : undefined,
  };
}

/**
 * Phase 5: metadata placement from `start`: 32-byte slots, no inode (with its inline part) across
 * a block boundary. When an inode does not fit the rest of the current block, that rest becomes a
 * gap that later, smaller inodes fill (best fit), so inline tails cost no padding. Returns the
 * block-aligned end of the metadata area.
 */
function placeMetadata(inodes: PlannedInode[], start: number): number {
  const gaps = new MetaGaps();
  let pos = alignUp(start, INODE_SLOT);
  for (const i of inodes) {
    const head = headSize(i);
    const total = alignUp(i.z ? alignUp(head, 8) + i.z.indexBytes + (i.z.inline?.length ?? 0) : head + i.inlineSize, INODE_SLOT);
    const inGap = total <= BLOCK_SIZE ? gaps.take(total) : undefined;
    if (inGap !== undefined) {
      i.offset = inGap;
    } else {
      const inBlock = pos % BLOCK_SIZE;
      if (total <= BLOCK_SIZE && inBlock + total > BLOCK_SIZE) {
        gaps.add(pos, BLOCK_SIZE - inBlock);
        pos = alignUp(pos, BLOCK_SIZE);
      }
      i.offset = pos;
      pos += total;
    }
    i.nid = i.offset / INODE_SLOT;
  }
  return alignUp(pos, BLOCK_SIZE);
}

/** Phase 6: the shared xattr area right after the metadata, then data blocks in inode order. */
function placeData(inodes: PlannedInode[], metaEnd: number, xattrAreaSize: number): { xattrBlkaddr: number; totalBlocks: number } {
  let block = metaEnd / BLOCK_SIZE;
  const xattrBlkaddr = xattrAreaSize ? block : 0;
  block += Math.ceil(xattrAreaSize / BLOCK_SIZE);
  for (const i of inodes) {
    if (i.dataBlocks > 0) {
      i.startBlock = block;
      block += i.dataBlocks;
    } else {
      i.startBlock = i.layout === DataLayout.FlatInline ? 0xffffffff : 0;
    }
    if (i.node.kind === "chardev" || i.node.kind === "blockdev") i.startBlock = encodeRdev(i.node.rdevMajor, i.node.rdevMinor);
  }
  if (block > 0xffffffff) throw new FormatError("erofs", undefined, "image larger than 16 TiB");
  return { xattrBlkaddr, totalBlocks: block };
}
