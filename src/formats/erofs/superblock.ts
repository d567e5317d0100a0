/**
 * The superblock (block 0, at byte 1024) and the compression config records after it. The one
 * place the superblock is checked: the reader, inspect and the install-time image check all use
 * parseSuperblock, which needs only the first block.
 */
import { FormatError, UnsupportedError } from "../../errors.js";
import type { Timestamp } from "../../fs/tree.js";
import type { StructValue } from "../struct.js";
import { FMT, hard, inBounds, u16at, type ErofsContext } from "./context.js";
import { erofsSuperblockChecksum } from "./crc32c.js";
import {
  BLOCK_SIZE,
  BLOCK_SIZE_BITS,
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
  Lz4Config,
  SUPERBLOCK_OFFSET,
  Superblock,
  Z_PCLUSTER_MAX_BLKS,
  alignUp,
} from "./ondisk.js";
import { algorithmName } from "./zmap.js";

/** incompat features this reader understands (fragments only as far as metadata goes: their data is refused when read) */
const KNOWN_INCOMPAT =
  FEATURE_INCOMPAT_ZERO_PADDING |
  FEATURE_INCOMPAT_COMPR_CFGS |
  FEATURE_INCOMPAT_CHUNKED_FILE |
  FEATURE_INCOMPAT_DEVICE_TABLE |
  FEATURE_INCOMPAT_ZTAILPACKING |
  FEATURE_INCOMPAT_FRAGMENTS;

export type ErofsSuperblock = StructValue<typeof Superblock.fields>;

/** The checks whose failure leaves the superblock readable ("soft"); callers may pick which matter. */
export type SuperblockCheck = "checksum" | "size" | "volume-name" | "build-time";

export interface SuperblockOptions {
  /** size of the whole image (`head` may be only its first block) */
  imageSize: number;
  strict: boolean;
  /** Receives soft problems; without it, strict parsing throws them and lenient parsing ignores them. */
  soft?: (offset: number, detail: string, check: SuperblockCheck) => void;
}

export interface ParsedSuperblock {
  fields: ErofsSuperblock;
  /** Bytes that metadata and data may reference: the image, cut to `blocks` in strict mode. */
  limit: number;
  metaBase: number;
  xattrBase: number;
  buildTime: Timestamp;
  /** crc32c of block 0 from the superblock on, checksum field zeroed (computed even when SB_CHKSUM is off) */
  computedChecksum: number;
}

const at = (field: keyof typeof Superblock.fields) => SUPERBLOCK_OFFSET + Superblock.fields[field].offset;

/** Parses and checks the superblock in `head` (at least block 0 of the image). Hard problems throw FormatError. */
export function parseSuperblock(head: Uint8Array, o: SuperblockOptions): ParsedSuperblock {
  const size = o.imageSize;
  const soft = (offset: number, detail: string, check: SuperblockCheck) => {
    if (o.soft) o.soft(offset, detail, check);
    else if (o.strict) throw new FormatError(FMT, offset, detail);
  };
  if (size < SUPERBLOCK_OFFSET + Superblock.size || head.length < SUPERBLOCK_OFFSET + Superblock.size) {
    throw new FormatError(FMT, size, `image is ${size} bytes, too short for a superblock`);
  }
  const sb = Superblock.decode(head, SUPERBLOCK_OFFSET);
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
  if (size < BLOCK_SIZE || head.length < BLOCK_SIZE) {
    throw new FormatError(FMT, size, `image is ${size} bytes, shorter than block 0`);
  }
  const block = new Uint8Array(head.subarray(SUPERBLOCK_OFFSET, BLOCK_SIZE)); // a copy (Buffer.slice is a view)
  block.fill(0, Superblock.fields.checksum.offset, Superblock.fields.checksum.offset + 4);
  const computedChecksum = erofsSuperblockChecksum(block);
  if (sb.featureCompat & FEATURE_COMPAT_SB_CHKSUM && computedChecksum !== sb.checksum) {
    soft(at("checksum"), `superblock checksum 0x${sb.checksum.toString(16)} does not match computed 0x${computedChecksum.toString(16)}`, "checksum");
  }
  const declared = sb.blocks * BLOCK_SIZE;
  if (declared > size) {
    soft(at("blocks"), `superblock declares ${sb.blocks} blocks (${declared} bytes) but the image has ${size} bytes (truncated?)`, "size");
  }
  const limit = o.strict ? Math.min(size, declared) : size;
  if (!sb.volumeName.includes(0)) soft(at("volumeName"), "volume name is not NUL-terminated", "volume-name");

  const metaBase = sb.metaBlkaddr * BLOCK_SIZE;
  if (metaBase >= limit) {
    throw new FormatError(FMT, at("metaBlkaddr"), `meta_blkaddr ${sb.metaBlkaddr} is outside the image (${limit} bytes)`);
  }
  const bt = BigInt.asIntN(64, sb.buildTime);
  if (bt > BigInt(Number.MAX_SAFE_INTEGER) || bt < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new FormatError(FMT, at("buildTime"), `build time ${bt} out of range`);
  }
  let btNsec = sb.buildTimeNsec;
  if (btNsec >= 1e9) {
    soft(at("buildTimeNsec"), `build_time_nsec ${btNsec} is not below 10^9`, "build-time");
    btNsec = 999_999_999;
  }
  return {
    fields: sb,
    limit,
    metaBase,
    xattrBase: sb.xattrBlkaddr * BLOCK_SIZE,
    buildTime: { sec: Number(bt), nsec: btNsec },
    computedChecksum,
  };
}

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

/**
 * Without COMPR_CFGS, u1 is the lz4 window and pclusters are one block. With it, u1 is a bitmap
 * of algorithms, each with a record {le16 size, payload} after the superblock (4-byte aligned).
 */
export function readCompressionConfig(ctx: ErofsContext, sb: ErofsSuperblock): ErofsCompressionConfig {
  if (!(sb.featureIncompat & FEATURE_INCOMPAT_COMPR_CFGS)) {
    return { algorithms: ["lz4"], lz4MaxDistance: sb.u1, maxPclusterBlks: 1 };
  }
  const algs = sb.u1;
  if (algs >> 4) throw new UnsupportedError(FMT, at("u1"), `unknown compression algorithms in the COMPR_CFGS bitmap 0x${algs.toString(16)}`);
  if (algs === 0) ctx.soft(at("u1"), "COMPR_CFGS is set but no compression algorithm is announced");
  const start = SUPERBLOCK_OFFSET + Superblock.size + sb.sbExtslots * 16;
  let pos = start;
  const out: ErofsCompressionConfig = { algorithms: [], lz4MaxDistance: 0, maxPclusterBlks: 1 };
  for (let alg = 0; alg < 4; alg++) {
    if (!(algs & (1 << alg))) continue;
    out.algorithms.push(algorithmName(alg));
    pos = alignUp(pos, 4);
    if (!inBounds(ctx, pos, 2)) throw hard(pos, `${algorithmName(alg)} config record runs past the end of the image`);
    const len = u16at(ctx.bytes, pos) || 0x10000;
    if (!inBounds(ctx, pos + 2, len)) throw hard(pos, `${algorithmName(alg)} config record of ${len} bytes runs past the end of the image`);
    if (alg === 0) {
      if (len < Lz4Config.size) throw hard(pos, `lz4 config record is ${len} bytes, expected ${Lz4Config.size}`);
      if (len !== Lz4Config.size) ctx.soft(pos, `lz4 config record is ${len} bytes, expected ${Lz4Config.size}`);
      const c = Lz4Config.decode(ctx.bytes, pos + 2);
      if (c.maxPclusterBlks > Z_PCLUSTER_MAX_BLKS) {
        throw hard(pos + 2 + Lz4Config.fields.maxPclusterBlks.offset, `lz4 config: pclusters of up to ${c.maxPclusterBlks} blocks (at most ${Z_PCLUSTER_MAX_BLKS} allowed)`);
      }
      out.lz4MaxDistance = c.maxDistance;
      out.maxPclusterBlks = c.maxPclusterBlks || 1; // 0 is the reserved "one block" case
    }
    pos += 2 + len;
  }
  out.records = { start, end: pos };
  return out;
}
