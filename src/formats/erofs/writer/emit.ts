/**
 * Emit pass of the EROFS writer: serializes an ImagePlan. Output goes to a positional sink in
 * large sequential pieces: first the shared xattr area and all data blocks, then the metadata
 * blocks, block 0 last, because the default UUID is a hash of everything else and the superblock
 * checksum covers block 0.
 */
import { createHash } from "node:crypto";
import { FormatError } from "../../../errors.js";
import { FsNode } from "../../../fs/tree.js";
import { erofsSuperblockChecksum } from "../crc32c.js";
import {
  alignUp, BLOCK_SIZE, BLOCK_SIZE_BITS, CompressionAlgorithm, DATALAYOUT_SHIFT, DataLayout, Dirent, EROFS_MAGIC,
  FEATURE_COMPAT_MTIME, FEATURE_COMPAT_SB_CHKSUM, InodeCompact, InodeExtended, INODE_VERSION_EXTENDED, Lz4Config,
  MapHeader, SUPERBLOCK_OFFSET, Superblock,
} from "../ondisk.js";
import { encodeInodeXattrs, encodeXattrEntry } from "./xattrs.js";
import { encodeCompactIndex, encodeFullIndex, FULL_INDEX_RESERVED_BYTES, lclusterIndex } from "./zindex.js";
import { ImagePlan, PlannedInode } from "./plan.js";

/**
 * Receives the image in pieces; offsets never overlap and cover [0, size). `bytes` is only valid
 * during the call (the writer reuses its buffer): copy it if you keep it.
 */
export interface ImageSink {
  write(offset: number, bytes: Uint8Array): void;
}

export interface EmitResult {
  size: number;
  uuid: Uint8Array;
}

function fileBytes(node: FsNode): Uint8Array {
  if (node.kind === "symlink") return Buffer.from(node.target, "latin1");
  if (node.kind !== "file") return new Uint8Array(0);
  const b = node.content.read();
  if (b.length !== node.content.size) {
    throw new FormatError("erofs", undefined, `file content changed while writing: expected ${node.content.size} bytes, got ${b.length}`);
  }
  return b;
}

/** The directory's content: dirent blocks, the last one possibly partial. */
function dirBytes(i: PlannedInode): Uint8Array {
  const out = new Uint8Array(i.size);
  const children = i.children!;
  i.dirBlocks!.forEach((blk, b) => {
    const base = b * BLOCK_SIZE;
    let nameoff = (blk.end - blk.first) * Dirent.size;
    for (let k = blk.first; k < blk.end; k++) {
      const c = children[k];
      Dirent.encode(out, base + (k - blk.first) * Dirent.size, {
        nid: BigInt(c.inode.nid), nameoff, fileType: c.inode.fileType, reserved: 0,
      });
      out.set(Buffer.from(c.name, "latin1"), base + nameoff);
      nameoff += c.name.length;
    }
  });
  return out;
}

function contentOf(i: PlannedInode): Uint8Array {
  return i.node.kind === "dir" ? dirBytes(i) : fileBytes(i.node);
}

/** Coalesces sequential writes into large pieces. */
class Coalescer {
  private buf = new Uint8Array(1 << 20);
  private len = 0;
  private start = 0;
  constructor(private readonly sink: ImageSink, private readonly hash: ReturnType<typeof createHash>) {}
  at(offset: number): void {
    if (offset !== this.start + this.len) this.flush(), (this.start = offset);
  }
  put(bytes: Uint8Array): void {
    this.hash.update(bytes);
    if (bytes.length >= this.buf.length) {
      this.flush();
      this.sink.write(this.start, bytes);
      this.start += bytes.length;
      return;
    }
    if (this.len + bytes.length > this.buf.length) this.flush();
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  zeros(n: number): void {
    while (n > 0) {
      const k = Math.min(n, BLOCK_SIZE);
      this.put(ZERO_BLOCK.subarray(0, k));
      n -= k;
    }
  }
  flush(): void {
    if (this.len) {
      this.sink.write(this.start, this.buf.subarray(0, this.len));
      this.start += this.len;
      this.len = 0;
    }
  }
}

const ZERO_BLOCK = new Uint8Array(BLOCK_SIZE);

/** Map header and lcluster index of a compressed inode; `end` = end of its inode + xattrs. */
function emitIndex(meta: Uint8Array, i: PlannedInode, end: number, bigPcluster: boolean): void {
  const z = i.z!;
  const at = alignUp(end, 8);
  MapHeader.encode(meta, at, { reserved: 0, advise: z.advise, algorithmType: CompressionAlgorithm.Lz4, clusterBits: 0 });
  // ztailpacking: the kernel finds the tail right after the index pack of the last lcluster
  if (z.inline) MapHeader.encode(meta, at, { idataSize: z.inline.length }), meta.set(z.inline, at + z.indexBytes);
  const index = lclusterIndex(z.file, i.startBlock, bigPcluster);
  if (i.layout === DataLayout.CompressedCompact) encodeCompactIndex(meta, at + MapHeader.size, index, bigPcluster);
  else encodeFullIndex(meta, at + MapHeader.size + FULL_INDEX_RESERVED_BYTES, index);
}

export function emitImage(plan: ImagePlan, sink: ImageSink): EmitResult {
  const hash = createHash("sha256");
  const out = new Coalescer(sink, hash);
  const { options } = plan;

  // shared xattrs and data blocks
  const tails = new Map<PlannedInode, Uint8Array>();
  if (plan.xattrAreaSize) {
    const area = new Uint8Array(Math.ceil(plan.xattrAreaSize / BLOCK_SIZE) * BLOCK_SIZE);
    plan.sharedXattrs.forEach((p, k) => encodeXattrEntry(area, plan.sharedXattrOffsets[k], p));
    out.at(plan.xattrBlkaddr * BLOCK_SIZE);
    out.put(area);
  }
  for (const i of plan.inodes) {
    if (i.z) {
      out.at(i.startBlock * BLOCK_SIZE);
      out.put(i.z.file.payload);
      continue;
    }
    if (i.size === 0 || (i.node.kind !== "file" && i.node.kind !== "dir" && i.node.kind !== "symlink")) continue;
    const bytes = contentOf(i);
    if (i.dataBlocks > 0) {
      out.at(i.startBlock * BLOCK_SIZE);
      const full = Math.min(bytes.length, i.dataBlocks * BLOCK_SIZE);
      out.put(bytes.subarray(0, full));
      out.zeros(i.dataBlocks * BLOCK_SIZE - full);
    }
    if (i.inlineSize) tails.set(i, bytes.subarray(i.size - i.inlineSize));
  }
  out.flush();

  // metadata: inodes, inline xattrs and tails
  const meta = new Uint8Array(plan.metaEnd);
  for (const i of plan.inodes) {
    const format = (i.extended ? INODE_VERSION_EXTENDED : 0) | (i.layout << DATALAYOUT_SHIFT);
    const common = {
      // compressed files: i_u is the number of compressed blocks (for stat's st_blocks)
      format, xattrIcount: i.xattrs.icount, mode: i.mode, iu: i.z ? i.z.file.blocks : i.startBlock, ino: i.index + 1,
      uid: i.node.uid, gid: i.node.gid,
    };
    if (i.extended) {
      InodeExtended.encode(meta, i.offset, {
        ...common, size: BigInt(i.size), mtime: BigInt(i.mtime.sec), mtimeNsec: i.mtime.nsec, nlink: i.nlink,
      });
    } else {
      InodeCompact.encode(meta, i.offset, { ...common, size: i.size, nlink: i.nlink });
    }
    const xattrAt = i.offset + (i.extended ? InodeExtended.size : InodeCompact.size);
    encodeInodeXattrs(meta, xattrAt, i.xattrs);
    const tail = tails.get(i);
    if (tail) meta.set(tail, xattrAt + i.xattrs.size);
    if (i.z) emitIndex(meta, i, xattrAt + i.xattrs.size, plan.lz4Config !== undefined);
  }
  if (plan.lz4Config) {
    const at = plan.lz4Config.at;
    new DataView(meta.buffer, meta.byteOffset).setUint16(at, Lz4Config.size, true);
    Lz4Config.encode(meta, at + 2, { maxDistance: 0, maxPclusterBlks: plan.lz4Config.maxPclusterBlks });
  }

  // superblock, with the uuid derived from everything written so far unless given
  const buildTime = plan.buildTime;
  const sbFields = {
    magic: EROFS_MAGIC, checksum: 0, featureCompat: FEATURE_COMPAT_SB_CHKSUM | FEATURE_COMPAT_MTIME,
    blkszbits: BLOCK_SIZE_BITS, sbExtslots: 0, rootNid: plan.root.nid, inos: BigInt(plan.inodes.length),
    buildTime: BigInt(Math.max(0, buildTime.sec)), buildTimeNsec: buildTime.nsec, blocks: plan.totalBlocks,
    metaBlkaddr: 0, xattrBlkaddr: plan.xattrBlkaddr, uuid: new Uint8Array(16),
    volumeName: Buffer.from(options.label ?? "", "utf8"), featureIncompat: plan.featureIncompat, u1: plan.sbU1,
  };
  Superblock.encode(meta, SUPERBLOCK_OFFSET, sbFields);
  let uuid = options.uuid;
  if (!uuid) {
    hash.update(meta);
    uuid = new Uint8Array(hash.digest().subarray(0, 16));
    uuid[6] = (uuid[6] & 0x0f) | 0x80; // RFC 9562 version 8: a custom, content-derived uuid
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
  }
  Superblock.encode(meta, SUPERBLOCK_OFFSET, { uuid });
  const csum = erofsSuperblockChecksum(meta.subarray(SUPERBLOCK_OFFSET, BLOCK_SIZE));
  Superblock.encode(meta, SUPERBLOCK_OFFSET, { checksum: csum });

  // metadata blocks after block 0 first, block 0 last
  if (plan.metaEnd > BLOCK_SIZE) sink.write(BLOCK_SIZE, meta.subarray(BLOCK_SIZE));
  sink.write(0, meta.subarray(0, BLOCK_SIZE));
  return { size: plan.totalBlocks * BLOCK_SIZE, uuid };
}
