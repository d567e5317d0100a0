/**
 * The lcluster index of a compressed file (pure): which type each 4 KiB logical cluster gets,
 * and its full (8 bytes each) or compact (4B/2B packs) encoding, as fs/erofs/zmap.c reads them.
 */
import { FormatError } from "../../../errors.js";
import {
  BLOCK_SIZE, COMPACT_2B, COMPACT_4B, COMPACT_LO_BITS, compactIndexLayout, FullIndexEntry, LclusterType, Z_DELTA_CBLKCNT,
} from "../ondisk.js";
import { CompressedFile } from "./compress-file.js";

export interface Lcluster {
  type: LclusterType;
  /** HEAD/PLAIN: where the extent starts in this lcluster */
  clusterOfs: number;
  /** HEAD/PLAIN: first block of the pcluster (a trailing PLAIN: the block after the payload) */
  blkaddr: number;
  /** NONHEAD: lclusters back to the HEAD, forward to the next HEAD (or past the end) */
  delta0: number;
  delta1: number;
  /** NONHEAD right after a HEAD with big pclusters: the pcluster's block count */
  cblkcnt: number;
  /** a PLAIN entry that only marks where the last extent ends (no extent starts here) */
  eofMarker: boolean;
}

/**
 * One entry per lcluster (ceil(size / 4096)). An lcluster where no extent starts is a NONHEAD of
 * the extent covering it, except a last, partial one, which (as mkfs.erofs does) gets a PLAIN
 * entry whose clusterofs is the end of the file: the kernel then knows the last extent's end.
 * With big pclusters, the first NONHEAD after every HEAD carries the block count.
 */
export function lclusterIndex(file: CompressedFile, startBlock: number, bigPcluster: boolean): Lcluster[] {
  const n = Math.ceil(file.size / BLOCK_SIZE);
  const out: Lcluster[] = new Array(n);
  let blk = startBlock;
  for (const e of file.extents) {
    const head = Math.floor(e.start / BLOCK_SIZE);
    if (out[head]) throw new FormatError("erofs", undefined, `two extents start in lcluster ${head}`);
    out[head] = {
      type: e.compressed ? LclusterType.Head1 : LclusterType.Plain, clusterOfs: e.start % BLOCK_SIZE, blkaddr: blk,
      delta0: 0, delta1: 0, cblkcnt: 0, eofMarker: false,
    };
    const end = e.start + e.length;
    for (let m = head + 1; m * BLOCK_SIZE < end; m++) {
      const lastPartial = end === file.size && m === n - 1 && file.size % BLOCK_SIZE !== 0;
      if (end < file.size && end < (m + 1) * BLOCK_SIZE) break; // the next extent starts in m
      out[m] = lastPartial
        ? { type: LclusterType.Plain, clusterOfs: file.size % BLOCK_SIZE, blkaddr: blk + e.blocks, delta0: 0, delta1: 0, cblkcnt: 0, eofMarker: true }
        : {
          type: LclusterType.NonHead, clusterOfs: 0, blkaddr: 0, delta0: m - head, delta1: 0,
          // an inline tail (0 blocks) still says 1: the kernel rejects a bare delta of 1 here
          cblkcnt: bigPcluster && m === head + 1 ? Math.max(1, e.blocks) : 0, eofMarker: false,
        };
    }
    if (e.blocks > 1 && !(bigPcluster && out[head + 1]?.cblkcnt === e.blocks)) {
      throw new FormatError("erofs", undefined, `a ${e.blocks}-block pcluster at lcluster ${head} has no NONHEAD for its block count`);
    }
    blk += e.blocks;
  }
  // delta1: forward to the next lcluster that is not NONHEAD (or one past the last)
  let next = n;
  for (let m = n - 1; m >= 0; m--) {
    if (!out[m]) throw new FormatError("erofs", undefined, `lcluster ${m} is not covered by any extent`);
    if (out[m].type === LclusterType.NonHead) out[m].delta1 = next - m;
    else next = m;
  }
  return out;
}

export const FULL_INDEX_RESERVED_BYTES = 8;

/** bytes after ALIGN(inode + xattrs, 8): map header, 8 reserved, 8 per lcluster */
export function fullIndexBytes(lclusters: number): number {
  return 8 + FULL_INDEX_RESERVED_BYTES + lclusters * FullIndexEntry.size;
}

export function encodeFullIndex(out: Uint8Array, at: number, index: Lcluster[]): void {
  index.forEach((l, k) => {
    const o = at + k * FullIndexEntry.size;
    if (l.type === LclusterType.NonHead) {
      const d0 = l.cblkcnt ? Z_DELTA_CBLKCNT | l.cblkcnt : l.delta0;
      FullIndexEntry.encode(out, o, { advise: l.type, clusterOfs: 0, delta0: d0, delta1: Math.min(l.delta1, 0xffff) });
    } else {
      FullIndexEntry.encode(out, o, { advise: l.type, clusterOfs: l.clusterOfs, blkaddr: l.eofMarker ? 0 : l.blkaddr });
    }
  });
}

/** bytes after ALIGN(inode + xattrs, 8): map header, then the packs */
export function compactIndexBytes(ebase: number, lclusters: number): number {
  return 8 + compactIndexLayout(ebase, lclusters, true).bytes;
}

const LO_MAX = (1 << COMPACT_LO_BITS) - 1;

/** The 12-bit value of entry k stored in slot `slot` of a pack of `count`. */
function compactLo(l: Lcluster, lastSlot: boolean): number {
  if (l.type !== LclusterType.NonHead) return l.clusterOfs;
  if (l.cblkcnt) {
    if (l.cblkcnt >= Z_DELTA_CBLKCNT) throw new FormatError("erofs", undefined, `pcluster of ${l.cblkcnt} blocks does not fit a compact index`);
    return Z_DELTA_CBLKCNT | l.cblkcnt;
  }
  // the last slot of a pack holds delta[1]; the kernel derives its delta[0] from the slot before
  const d = lastSlot ? l.delta1 : l.delta0;
  if (d >= Z_DELTA_CBLKCNT || d > LO_MAX) throw new FormatError("erofs", undefined, `extent of ${d} lclusters does not fit a compact index`);
  return d;
}

/**
 * Compact index, written at `ebase` (absolute image offset: ALIGN(inode + xattrs, 8) + 8), 2B packs
 * in the middle (h_advise COMPACTED_2B). Each pack ends with a le32 base block: the kernel adds one
 * block per HEAD before the wanted one in the pack (big pclusters: each one's block count, found
 * in its CBLKCNT entry) and, without big pclusters, one more.
 */
export function encodeCompactIndex(out: Uint8Array, ebase: number, index: Lcluster[], bigPcluster: boolean): void {
  const layout = compactIndexLayout(ebase, index.length, true);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = ebase;
  let k = 0;
  const pack = (form: typeof COMPACT_4B | typeof COMPACT_2B, entries: number): void => {
    for (let done = 0; done < entries; done += form.count) {
      const first = k;
      const count = Math.min(form.count, index.length - k);
      const packBytes = form.count * form.bits / 8;
      out.fill(0, at, at + packBytes);
      let base: number | undefined;
      let counted = 0; // blocks the kernel counts before the current slot
      for (let s = 0; s < count; s++, k++) {
        const l = index[k];
        const v = (l.type << COMPACT_LO_BITS) | compactLo(l, s === form.count - 1);
        orBits(out, at, s * form.bits, v);
        // base: the kernel finds a HEAD's block as base + what it counts before it in the pack
        // (big pclusters: each earlier pcluster's block count; otherwise one per earlier HEAD, plus one)
        const countsHere = bigPcluster
          ? (l.type === LclusterType.NonHead ? l.cblkcnt : index[k + 1]?.cblkcnt ? 0 : 1)
          : (l.type === LclusterType.NonHead ? 0 : 1);
        if (l.type !== LclusterType.NonHead && base === undefined) base = l.blkaddr - counted - (bigPcluster ? 0 : 1);
        counted += countsHere;
      }
      if (base === undefined) base = first > 0 ? nearestBlk(index, first) : 0;
      dv.setUint32(at + form.bytes - 4, base >>> 0, true);
      at += form.bytes;
    }
  };
  pack(COMPACT_4B, layout.initial4B);
  pack(COMPACT_2B, layout.middle2B);
  pack(COMPACT_4B, layout.trailing4B);
}

/** ORs `v` (no bits beyond its field) into `out` at bit `bit` after byte `at`, least significant bit first. */
function orBits(out: Uint8Array, at: number, bit: number, v: number): void {
  for (let p = at + (bit >> 3), sh = bit & 7; v; p++, sh = 0) {
    out[p] |= (v << sh) & 0xff;
    v >>>= 8 - sh;
  }
}

/** A pack with no HEAD: its base is never used; write the block of the extent it belongs to. */
function nearestBlk(index: Lcluster[], k: number): number {
  for (let m = k; m >= 0; m--) if (index[m].type !== LclusterType.NonHead) return index[m].blkaddr;
  return 0;
}
