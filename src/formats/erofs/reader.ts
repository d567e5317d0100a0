/**
 * EROFS image reader. Pure: takes the whole image as bytes, never touches the filesystem.
 * ErofsImage is a facade over one module per on-disk concern: superblock.ts, inode.ts,
 * extents.ts (plain data), zmap.ts/zdata.ts (compressed data), dirent.ts and xattr.ts; walk.ts
 * walks the tree. Every structure is bounds-checked before it is used and every error names its
 * byte offset; context.ts says how hard and soft problems differ.
 */
import { FormatError } from "../../errors.js";
import {
  bytesContent,
  bytesToByteString,
  splitPath,
  type ByteString,
  type DirNode,
  type FsNode,
  type FsTree,
  type NodeMeta,
  type Timestamp,
} from "../../fs/tree.js";
import { FMT, hard, pathNote, unsupported, withContext, type ErofsProblem } from "./context.js";
import { checkDots, checkFileType, dirEntries, type DirSource, type ErofsDirEntry } from "./dirent.js";
import { MAX_MATERIALIZE, physicalOffset, readExtents } from "./extents.js";
import { maxNid, parseInode, type ErofsInode, type InodeContext } from "./inode.js";
import { BLOCK_SIZE, FEATURE_INCOMPAT_COMPR_CFGS, FEATURE_INCOMPAT_ZERO_PADDING, INODE_SLOT } from "./ondisk.js";
import { parseSuperblock, readCompressionConfig, type ErofsCompressionConfig, type ErofsSuperblock } from "./superblock.js";
import { reachableTwice, walkTree } from "./walk.js";
import { readXattrs, type SharedXattrRef } from "./xattr.js";
import { decompressAll, forEachExtent, type ZFileOptions } from "./zdata.js";
import { mapCompressed, type ZImage, type ZMap } from "./zmap.js";

export { withContext, type ErofsProblem } from "./context.js";
export { type ErofsDirEntry } from "./dirent.js";
export type { DataExtent } from "./extents.js";
export type { ErofsInode } from "./inode.js";
export type { ErofsCompressionConfig, ErofsSuperblock } from "./superblock.js";

export interface ErofsReadOptions {
  /** Reject everything the format does not allow, even if the data is still reachable. Default true. */
  strict?: boolean;
  /**
   * Receives the "soft" problems (things strict mode rejects but that do not stop reading) instead
   * of throwing them. Used by fsck to collect every problem.
   */
  onProblem?: (p: ErofsProblem) => void;
}

export class ErofsImage implements InodeContext {
  readonly bytes: Uint8Array;
  readonly strict: boolean;
  readonly superblock: ErofsSuperblock;
  /** crc32c of the superblock block as computed (whether or not SB_CHKSUM asks for it) */
  readonly computedChecksum: number;
  /** Bytes that metadata and data may reference: the image, cut to `blocks` in strict mode. */
  readonly limit: number;
  readonly metaBase: number;
  readonly xattrBase: number;
  readonly buildTime: Timestamp;
  readonly featureIncompat: number;
  private readonly onProblem?: (p: ErofsProblem) => void;
  readonly compression: ErofsCompressionConfig;
  readonly zimage: ZImage;
  private readonly inodes = new Map<number, ErofsInode>();
  private readonly zmaps = new Map<number, ZMap>();

  private constructor(bytes: Uint8Array, opts: ErofsReadOptions) {
    this.bytes = bytes;
    this.strict = opts.strict ?? true;
    this.onProblem = opts.onProblem;
    const sb = parseSuperblock(bytes, { imageSize: bytes.length, strict: this.strict, soft: (o, d) => this.soft(o, d) });
    this.superblock = sb.fields;
    this.computedChecksum = sb.computedChecksum;
    this.limit = sb.limit;
    this.metaBase = sb.metaBase;
    this.xattrBase = sb.xattrBase;
    this.buildTime = sb.buildTime;
    this.featureIncompat = sb.fields.featureIncompat;
    this.compression = readCompressionConfig(this, sb.fields);
    this.zimage = {
      bytes,
      limit: this.limit,
      featureIncompat: this.featureIncompat,
      maxPclusterBlks: this.compression.maxPclusterBlks,
      announcedAlgorithms: this.featureIncompat & FEATURE_INCOMPAT_COMPR_CFGS ? sb.fields.u1 : undefined,
      soft: (o, d, p) => this.soft(o, d, p),
    };

    const root = this.readInode(this.rootNid, "");
    if (root.kind !== "dir") {
      throw new FormatError(FMT, root.offset, `root nid ${this.rootNid} is a ${root.kind}, not a directory`);
    }
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

  nidOffset(nid: number): number {
    return this.metaBase + nid * INODE_SLOT;
  }

  /** Largest nid whose compact inode still fits in the image. */
  get maxNid(): number {
    return maxNid(this);
  }

  readInode(nid: number, path?: string): ErofsInode {
    let ino = this.inodes.get(nid);
    if (!ino) {
      ino = parseInode(this, nid, path);
      this.inodes.set(nid, ino);
    }
    return ino;
  }

  /** Translates a logical offset in an uncompressed inode's data to an image offset (for messages). */
  physicalOffset(inode: ErofsInode, logical: number): number | undefined {
    return physicalOffset(inode.extents ?? [], logical);
  }

  /** A compressed inode's extents (index decoded and checked once, then cached). */
  compressedMap(inode: ErofsInode, path?: string): ZMap {
    if (!inode.zHeader) throw hard(inode.offset, `nid ${inode.nid} is not compressed`, path);
    let m = this.zmaps.get(inode.nid);
    if (!m) {
      m = mapCompressed(this.zimage, inode, inode.zHeader, path);
      this.zmaps.set(inode.nid, m);
    }
    return m;
  }

  /** What decoding a compressed inode's pclusters needs to know. */
  private zOptions(inode: ErofsInode, path?: string): ZFileOptions {
    return { zeroPadding: (this.featureIncompat & FEATURE_INCOMPAT_ZERO_PADDING) !== 0, nid: inode.nid, path };
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
    return forEachExtent(this.bytes, extents, this.zOptions(inode, path), each, onExtentError);
  }

  private tooLarge(inode: ErofsInode, path?: string): FormatError {
    return unsupported(inode.offset, `nid ${inode.nid}: file of ${inode.size} bytes is too large to read into memory`, path);
  }

  /** The whole data of a regular file, symlink or directory. May be a view into the image. */
  readData(inode: ErofsInode, path?: string): Uint8Array {
    if (inode.compressed) {
      const { extents } = this.compressedMap(inode, path);
      if (inode.size > MAX_MATERIALIZE) throw this.tooLarge(inode, path);
      return decompressAll(this.bytes, extents, inode.size, this.zOptions(inode, path));
    }
    if (!inode.extents) throw hard(inode.offset, `nid ${inode.nid} has no data map`, path);
    return readExtents(this.bytes, inode.extents, inode.size, () => this.tooLarge(inode, path));
  }

  readLink(inode: ErofsInode, path?: string): ByteString {
    const { nid, size, offset } = inode;
    if (inode.kind !== "symlink") throw hard(offset, `nid ${nid} is not a symlink`, path);
    if (size === 0) this.soft(offset + 8, `nid ${nid}: empty symlink target`, path);
    if (size >= BLOCK_SIZE) this.soft(offset + 8, `nid ${nid}: symlink target of ${size} bytes is longer than 4095`, path);
    if (size > BLOCK_SIZE * 16) throw hard(offset + 8, `nid ${nid}: symlink target of ${size} bytes is absurd`, path);
    let data = this.readData(inode, path);
    const nul = data.indexOf(0);
    if (nul >= 0) {
      this.soft(this.physicalOffset(inode, nul), `nid ${nid}: symlink target contains a NUL byte`, path);
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
    if (inode.kind !== "dir") throw hard(inode.offset, `nid ${inode.nid} is not a directory`, path);
    const dir: DirSource = {
      nid: inode.nid,
      inodeOffset: inode.offset,
      data: this.readData(inode, path),
      physical: (logical) => this.physicalOffset(inode, logical),
      maxNid: this.maxNid,
    };
    const out = [...dirEntries(this, dir, path)];
    checkDots(this, dir, out, opts.parentNid, path);
    return out;
  }

  /** Checks a dirent's file type against the inode it points to (soft problem). */
  checkFileType(entry: ErofsDirEntry, inode: ErofsInode, path?: string): void {
    checkFileType(this, entry, inode.nid, inode.kind, path);
  }

  /**
   * All xattrs of an inode (inline and shared), full names as byte strings. `shared` receives the
   * ranges of the shared entries it uses.
   */
  readXattrs(inode: ErofsInode, path?: string, shared?: SharedXattrRef[]): Map<ByteString, Uint8Array> {
    return readXattrs(this, this.xattrBase, inode, path, shared);
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
      case "file":
        return {
          ...meta,
          kind: "file",
          content: inode.size === 0 ? bytesContent(new Uint8Array(0)) : { size: inode.size, read: () => this.readData(inode, path) },
        };
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

/**
 * Reads the whole tree. File contents are lazy: read() slices, assembles or decompresses from the
 * image on each call. Hard links come back as one node object at several
 * paths; a directory reachable twice (a cycle or a hard-linked directory) is a FormatError.
 */
export function readErofs(bytes: Uint8Array, opts: ErofsReadOptions = {}): FsTree {
  const img = ErofsImage.open(bytes, opts);
  const rootInode = img.readInode(img.rootNid, "");
  const root = img.makeNode(rootInode, "") as DirNode;
  const nodes = new Map<number, FsNode>([[rootInode.nid, root]]);
  for (const step of walkTree(img, rootInode)) {
    if (step.type === "error") throw withContext(step.error, pathNote(step.path));
    const { entry, path, inode } = step;
    const parent = nodes.get(step.dir.nid) as DirNode;
    if (step.type === "seen") {
      if (inode.kind === "dir") throw new FormatError(FMT, entry.offset, reachableTwice(entry.nid, step.firstPath, path));
      img.checkFileType(entry, inode, path);
      parent.entries.set(entry.name, nodes.get(entry.nid)!);
      continue;
    }
    let child: FsNode;
    try {
      img.checkFileType(entry, inode, path);
      child = img.makeNode(inode, path);
    } catch (e) {
      throw withContext(e, pathNote(path));
    }
    nodes.set(entry.nid, child);
    parent.entries.set(entry.name, child);
  }
  return { root };
}
