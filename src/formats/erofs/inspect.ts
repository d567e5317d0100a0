/**
 * A summary of an EROFS image: superblock, features and counts, as a plain JSON-friendly object.
 * Reads metadata only (never file data): for compressed files, the map headers and indexes.
 */
import { FormatError } from "../../errors.js";
import {
  BLOCK_SIZE,
  COMPAT_FEATURE_NAMES,
  DataLayout,
  FEATURE_COMPAT_SB_CHKSUM,
  FEATURE_INCOMPAT_COMPR_CFGS,
  FEATURE_INCOMPAT_ZERO_PADDING,
  INCOMPAT_FEATURE_NAMES,
  Z_ADVISE_BIG_PCLUSTER_1,
  Z_ADVISE_BIG_PCLUSTER_2,
  Z_ADVISE_COMPACTED_2B,
} from "./ondisk.js";
import { algorithmName } from "./zmap.js";
import { formatUuid } from "../uuid.js";
import { countKind, emptyKindCounts, type KindCounts } from "./kind-counts.js";
import { ErofsImage, type ErofsInode, type ErofsReadOptions } from "./reader.js";
import { walkTree } from "./walk.js";
import { sharedXattrCount } from "./xattr.js";

export interface ErofsInspection {
  imageBytes: number;
  blockSize: number;
  blocks: number;
  /** blocks * blockSize */
  declaredBytes: number;
  rootNid: number;
  metaBlkaddr: number;
  xattrBlkaddr: number;
  /** superblock inode count */
  inos: number;
  buildTime: { sec: number; nsec: number; iso: string };
  uuid: string;
  volumeName: string;
  checksum: { enabled: boolean; stored: string; computed: string; ok: boolean | null };
  featureCompat: string[];
  featureIncompat: string[];
  featureCompatRaw: number;
  featureIncompatRaw: number;
  counts: KindCounts & {
    /** directory entries other than "." and ".." */
    dirents: number;
    /** extra links to already counted inodes */
    hardLinks: number;
    compactInodes: number;
    extendedInodes: number;
    inodesWithXattrs: number;
    /** references from inodes to shared xattr entries */
    sharedXattrRefs: number;
    /** regular file bytes, each inode once */
    fileBytes: number;
  };
  layouts: Record<string, number>;
  /** present when the image has compressed inodes or announces compression */
  compression?: CompressionSummary;
}

export interface CompressionSummary {
  /** algorithms the superblock announces */
  algorithms: string[];
  lz4MaxDistance: number;
  maxPclusterBlocks: number;
  /** compressed inodes */
  inodes: number;
  /** how many compressed inodes use each index form / feature */
  layouts: { fullIndex: number; compactIndex: number; compact2B: number; bigPcluster: number; inlineTail: number };
  /** extents per kind: an algorithm name, or "stored" for uncompressed (PLAIN) extents */
  extents: Record<string, number>;
  /** pcluster bytes (inline tails included) and the uncompressed bytes they hold */
  compressedBytes: number;
  uncompressedBytes: number;
  /** compressed inodes whose index could not be decoded (see fsck) */
  unreadableIndexes: number;
}

const LAYOUT_NAMES: Record<number, string> = {
  [DataLayout.FlatPlain]: "flat_plain",
  [DataLayout.CompressedFull]: "compressed_full",
  [DataLayout.FlatInline]: "flat_inline",
  [DataLayout.CompressedCompact]: "compressed_compact",
  [DataLayout.ChunkBased]: "chunk_based",
};

function featureNames(bits: number, names: Record<number, string>): string[] {
  const out: string[] = [];
  for (let bit = 1; bit !== 0 && bit <= 0x80000000; bit = (bit << 1) >>> 0) {
    if (bits & bit) out.push(names[bit] ?? `unknown_0x${bit.toString(16)}`);
  }
  return out;
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

/** Inspects an image. Non-strict by default (it is a summary, not a check; use fsck for that). */
export function inspectErofs(bytes: Uint8Array, opts: ErofsReadOptions = {}): ErofsInspection {
  const img = ErofsImage.open(bytes, { strict: opts.strict ?? false, onProblem: opts.onProblem });
  const sb = img.superblock;

  const computed = img.computedChecksum;
  const csumEnabled = (sb.featureCompat & FEATURE_COMPAT_SB_CHKSUM) !== 0;
  const nul = sb.volumeName.indexOf(0);

  const counts: ErofsInspection["counts"] = {
    ...emptyKindCounts(),
    dirents: 0, hardLinks: 0, compactInodes: 0, extendedInodes: 0, inodesWithXattrs: 0, sharedXattrRefs: 0, fileBytes: 0,
  };
  const layouts: Record<string, number> = {};
  const cfg = img.compression;
  const z: CompressionSummary = {
    algorithms: (sb.featureIncompat & FEATURE_INCOMPAT_COMPR_CFGS) ? cfg.algorithms : [],
    lz4MaxDistance: cfg.lz4MaxDistance,
    maxPclusterBlocks: cfg.maxPclusterBlks,
    inodes: 0,
    layouts: { fullIndex: 0, compactIndex: 0, compact2B: 0, bigPcluster: 0, inlineTail: 0 },
    extents: {},
    compressedBytes: 0,
    uncompressedBytes: 0,
    unreadableIndexes: 0,
  };
  const countCompressed = (ino: ErofsInode, path: string) => {
    const h = ino.zHeader!;
    z.inodes++;
    if (h.compact) z.layouts.compactIndex++;
    else z.layouts.fullIndex++;
    if (h.compact && h.advise & Z_ADVISE_COMPACTED_2B) z.layouts.compact2B++;
    if (h.advise & (Z_ADVISE_BIG_PCLUSTER_1 | Z_ADVISE_BIG_PCLUSTER_2)) z.layouts.bigPcluster++;
    if (h.inlineOffset !== undefined) z.layouts.inlineTail++;
    try {
      for (const e of img.compressedMap(ino, path).extents) {
        const k = e.algorithm === -1 ? "stored" : algorithmName(e.algorithm);
        z.extents[k] = (z.extents[k] ?? 0) + 1;
        z.compressedBytes += e.plen;
        z.uncompressedBytes += e.length;
      }
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      z.unreadableIndexes++;
    }
  };
  const count = (ino: ErofsInode, path: string) => {
    if (ino.compressed) countCompressed(ino, path);
    countKind(counts, ino.kind);
    if (ino.kind === "file") counts.fileBytes += ino.size;
    if (ino.extended) counts.extendedInodes++;
    else counts.compactInodes++;
    if (ino.xattrIcount > 0) counts.inodesWithXattrs++;
    counts.sharedXattrRefs += sharedXattrCount(bytes, ino);
    const ln = LAYOUT_NAMES[ino.layout] ?? `layout_${ino.layout}`;
    layouts[ln] = (layouts[ln] ?? 0) + 1;
  };

  const root = img.readInode(img.rootNid, "");
  count(root, "");
  for (const step of walkTree(img, root)) {
    if (step.type === "error") throw step.error;
    counts.dirents++;
    if (step.type === "new") count(step.inode, step.path);
    else if (step.inode.kind === "dir") {
      throw new FormatError("erofs", step.entry.offset, `directory nid ${step.entry.nid} is reachable twice: a cycle or a hard-linked directory`);
    } else counts.hardLinks++;
  }

  return {
    imageBytes: bytes.length,
    blockSize: BLOCK_SIZE,
    blocks: sb.blocks,
    declaredBytes: sb.blocks * BLOCK_SIZE,
    rootNid: sb.rootNid,
    metaBlkaddr: sb.metaBlkaddr,
    xattrBlkaddr: sb.xattrBlkaddr,
    inos: Number(sb.inos),
    buildTime: {
      sec: img.buildTime.sec,
      nsec: img.buildTime.nsec,
      iso: (() => {
        const d = new Date(img.buildTime.sec * 1000);
        return Number.isNaN(d.getTime()) ? "" : d.toISOString();
      })(),
    },
    uuid: formatUuid(sb.uuid),
    volumeName: Buffer.from(sb.volumeName.subarray(0, nul < 0 ? sb.volumeName.length : nul)).toString("latin1"),
    checksum: { enabled: csumEnabled, stored: hex(sb.checksum), computed: hex(computed), ok: csumEnabled ? computed === sb.checksum : null },
    featureCompat: featureNames(sb.featureCompat, COMPAT_FEATURE_NAMES),
    featureIncompat: featureNames(sb.featureIncompat, INCOMPAT_FEATURE_NAMES),
    featureCompatRaw: sb.featureCompat,
    featureIncompatRaw: sb.featureIncompat,
    counts,
    layouts,
    ...(z.inodes > 0 || z.algorithms.length > 0 || sb.featureIncompat & FEATURE_INCOMPAT_ZERO_PADDING ? { compression: z } : {}),
  };
}
