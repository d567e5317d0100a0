/**
 * Compressed inodes (COMPRESSED_FULL and COMPRESSED_COMPACT): map header, lcluster index decoding
 * and the extents they describe. Pure: bytes in, extents out.
 *
 * The index has one entry per 4 KiB lcluster of the uncompressed file. A HEAD/PLAIN entry starts
 * an extent at (lcn * 4096 + clusterofs) and names its pcluster; NONHEAD entries continue it. We
 * decode every entry with the kernel's rules (fs/erofs/zmap.c: the compact pack tricks, lookback by
 * delta[0], lookahead by delta[1], CBLKCNT for big pclusters), then build the extent list in one
 * linear pass and check that the lookback and lookahead links agree with it. Anything that makes
 * the mapping ambiguous or unreadable is a FormatError; inconsistencies the kernel does not
 * need for reading (delta[1], misplaced CBLKCNT, odd header bits) go to `soft`.
 */
import { FormatError, UnsupportedError } from "../../errors.js";
import { displayName } from "../../fs/tree.js";
import {
  BLOCK_SIZE,
  BLOCK_SIZE_BITS,
  COMPACT_2B,
  COMPACT_4B,
  CompressionAlgorithm,
  DataLayout,
  FEATURE_INCOMPAT_COMPR_CFGS,
  FEATURE_INCOMPAT_FRAGMENTS,
  FEATURE_INCOMPAT_ZTAILPACKING,
  FULL_INDEX_RESERVED,
  FullIndexEntry,
  LclusterType,
  MapHeader,
  Z_ADVISE_BIG_PCLUSTER_1,
  Z_ADVISE_BIG_PCLUSTER_2,
  Z_ADVISE_COMPACTED_2B,
  Z_ADVISE_FRAGMENT_PCLUSTER,
  Z_ADVISE_INLINE_PCLUSTER,
  Z_ADVISE_INTERLACED_PCLUSTER,
  Z_DELTA_CBLKCNT,
  alignUp,
  compactIndexLayout,
} from "./ondisk.js";

const FMT = "erofs";
const LO_MASK = BLOCK_SIZE - 1;
const KNOWN_ADVISE = 0x3f;
/** h_clusterbits bit 7: the whole inode is a fragment of the packed inode (Linux 6.1+) */
const CLUSTERBITS_FRAGMENT_INODE = 0x80;
/** The most an LZ4 block can expand: a 255 length byte adds 255 output bytes; bound per input byte. */
export const LZ4_MAX_EXPANSION = 255;

export const ALGORITHM_NAMES: Record<number, string> = {
  [CompressionAlgorithm.Lz4]: "lz4",
  [CompressionAlgorithm.Lzma]: "lzma",
  [CompressionAlgorithm.Deflate]: "deflate",
  [CompressionAlgorithm.Zstd]: "zstd",
};
export function algorithmName(alg: number): string {
  return ALGORITHM_NAMES[alg] ?? `algorithm ${alg}`;
}

/** What the index decoder needs from the image. */
export interface ZImage {
  bytes: Uint8Array;
  /** bytes that metadata and data may reference */
  limit: number;
  featureIncompat: number;
  /** largest pcluster in blocks (lz4 config record; 1 without COMPR_CFGS) */
  maxPclusterBlks: number;
  /** COMPR_CFGS bitmap of the algorithms the superblock announces; undefined without COMPR_CFGS */
  announcedAlgorithms?: number;
  soft(offset: number | undefined, detail: string, path?: string): void;
}

/** The parts of an inode the decoder needs. */
export interface ZInode {
  nid: number;
  offset: number;
  layout: DataLayout;
  size: number;
  /** end of inode + xattr area */
  payloadOffset: number;
}

export interface ZMapHeader {
  /** image offset of the map header */
  offset: number;
  /** h_advise as used (0 for a legacy full index the kernel reads without its header) */
  advise: number;
  /** algorithm of HEAD1 and HEAD2 extents */
  algorithms: [number, number];
  compact: boolean;
  /** index entries = lclusters of the file */
  lclusters: number;
  /** image offset of the first index entry */
  indexOffset: number;
  indexBytes: number;
  /** ztailpacking: image offset and size of the inline pcluster */
  inlineOffset?: number;
  idataSize: number;
  /** end of the inode's compression metadata (index, then the inline pcluster) */
  end: number;
  /** set when the data uses something this reader does not implement (metadata stays readable) */
  unsupported?: string;
}

export interface ZExtent {
  /** uncompressed start and length */
  logical: number;
  length: number;
  /** LclusterType of the head entry: Plain (stored), Head1 or Head2 */
  headType: LclusterType;
  /** compression algorithm, or -1 for a stored (PLAIN) extent */
  algorithm: number;
  /** image byte offset and size of the pcluster */
  physical: number;
  plen: number;
  inline: boolean;
  headLcn: number;
  /** image offset of the head index entry (for messages) */
  entryOffset: number;
}

function pathNote(path: string | undefined): string {
  return path === undefined ? "" : ` (path "${displayName(path) || "/"}")`;
}

/**
 * Reads the map header and the index geometry. Bounds are checked here (a broken index makes the
 * inode's metadata unreadable); unsupported variants are only recorded, so listing still works.
 */
export function parseMapHeader(img: ZImage, inode: ZInode, path?: string): ZMapHeader {
  const { nid } = inode;
  const at = alignUp(inode.payloadOffset, 8);
  const hard = (off: number, d: string) => new FormatError(FMT, off, `nid ${nid}: ${d}${pathNote(path)}`);
  if (at < 0 || at + MapHeader.size > img.limit) throw hard(at, "compression map header runs past the end of the image");
  const h = MapHeader.decode(img.bytes, at);
  const compact = inode.layout === DataLayout.CompressedCompact;
  let advise = h.advise;
  let algorithms: [number, number] = [h.algorithmType & 15, h.algorithmType >> 4];
  let clusterBits = h.clusterBits;
  let idataSize = h.idataSize;
  const fi = img.featureIncompat;
  // a full index on an image without big pclusters, tail packing or fragments: the kernel (and
  // erofs-utils) ignore the header entirely (images made before it existed)
  if (!compact && !(fi & (FEATURE_INCOMPAT_COMPR_CFGS | FEATURE_INCOMPAT_ZTAILPACKING | FEATURE_INCOMPAT_FRAGMENTS))) {
    advise = 0;
    algorithms = [0, 0];
    clusterBits = 0;
    idataSize = 0;
  }
  let unsupported: string | undefined;
  const adviseAt = at + MapHeader.fields.advise.offset;
  if (advise & ~KNOWN_ADVISE) img.soft(adviseAt, `nid ${nid}: unknown h_advise bits 0x${(advise & ~KNOWN_ADVISE).toString(16)}`, path);
  if (advise & Z_ADVISE_FRAGMENT_PCLUSTER || clusterBits & CLUSTERBITS_FRAGMENT_INODE) {
    unsupported = "fragments (incompat fragments, Linux 6.1+) not supported";
  } else if (advise & Z_ADVISE_INTERLACED_PCLUSTER) {
    unsupported = "interlaced pclusters (Linux 6.6+) not supported";
  } else if (clusterBits & 7) {
    unsupported = `lcluster size 2^${BLOCK_SIZE_BITS + (clusterBits & 7)} not supported (only 4096)`;
  }
  if (clusterBits & 0x78) img.soft(at + MapHeader.fields.clusterBits.offset, `nid ${nid}: reserved h_clusterbits bits set (0x${clusterBits.toString(16)})`, path);
  if (compact && !(advise & Z_ADVISE_BIG_PCLUSTER_1) !== !(advise & Z_ADVISE_BIG_PCLUSTER_2)) {
    throw hard(adviseAt, "big pcluster HEAD1/HEAD2 advise bits of a compact index disagree");
  }
  if (advise & (Z_ADVISE_BIG_PCLUSTER_1 | Z_ADVISE_BIG_PCLUSTER_2) && !(fi & FEATURE_INCOMPAT_COMPR_CFGS)) {
    img.soft(adviseAt, `nid ${nid}: big pcluster advise without the big_pcluster (compr_cfgs) feature`, path);
  }
  if (advise & Z_ADVISE_INLINE_PCLUSTER && !(fi & FEATURE_INCOMPAT_ZTAILPACKING)) {
    img.soft(adviseAt, `nid ${nid}: inline pcluster without the ztailpacking feature`, path);
  }
  if (!compact && advise & Z_ADVISE_COMPACTED_2B) img.soft(adviseAt, `nid ${nid}: COMPACTED_2B advise on a full index`, path);

  const lclusters = Math.ceil(inode.size / BLOCK_SIZE);
  let indexOffset: number;
  let indexBytes: number;
  if (compact) {
    indexOffset = at + MapHeader.size;
    indexBytes = compactIndexLayout(indexOffset, lclusters, (advise & Z_ADVISE_COMPACTED_2B) !== 0).bytes;
  } else {
    indexOffset = at + MapHeader.size + FULL_INDEX_RESERVED;
    indexBytes = lclusters * FullIndexEntry.size;
  }
  if (indexOffset + indexBytes > img.limit) {
    throw hard(indexOffset, `${lclusters}-entry compression index (${indexBytes} bytes for ${inode.size} bytes of data) runs past the end of the image`);
  }
  let end = indexOffset + indexBytes;
  let inlineOffset: number | undefined;
  if (advise & Z_ADVISE_INLINE_PCLUSTER) {
    inlineOffset = end;
    end += idataSize;
    if (end > img.limit) throw hard(inlineOffset, `inline pcluster of ${idataSize} bytes runs past the end of the image`);
  }
  return { offset: at, advise, algorithms, compact, lclusters, indexOffset, indexBytes, inlineOffset, idataSize, end, unsupported };
}

/** Every index entry decoded as the kernel reads it. */
export interface Lclusters {
  type: Uint8Array;
  /** HEAD/PLAIN: clusterofs; NONHEAD: unused */
  clusterOfs: Uint16Array;
  /** HEAD/PLAIN: pcluster block address */
  blkaddr: Uint32Array;
  /** NONHEAD: distance back (towards the head); 1 for a CBLKCNT entry */
  delta0: Uint32Array;
  /** NONHEAD: distance forward (lookahead), as the kernel computes it */
  delta1: Float64Array;
  /** NONHEAD with the CBLKCNT flag: the pcluster's block count (may be 0: corrupt); else -1 */
  cblkcnt: Int32Array;
  /** image offset of each entry */
  at: Float64Array;
}

function newLclusters(n: number): Lclusters {
  return {
    type: new Uint8Array(n),
    clusterOfs: new Uint16Array(n),
    blkaddr: new Uint32Array(n),
    delta0: new Uint32Array(n),
    delta1: new Float64Array(n),
    cblkcnt: new Int32Array(n).fill(-1),
    at: new Float64Array(n),
  };
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function decodeLclusters(img: ZImage, inode: ZInode, h: ZMapHeader, path?: string): Lclusters {
  const n = h.lclusters;
  const L = newLclusters(n);
  const b = img.bytes;
  const big1 = (h.advise & Z_ADVISE_BIG_PCLUSTER_1) !== 0;
  const hard = (off: number, d: string) => new FormatError(FMT, off, `nid ${inode.nid}: ${d}${pathNote(path)}`);

  if (!h.compact) {
    const anyBig = (h.advise & (Z_ADVISE_BIG_PCLUSTER_1 | Z_ADVISE_BIG_PCLUSTER_2)) !== 0;
    for (let lcn = 0; lcn < n; lcn++) {
      const e = h.indexOffset + lcn * FullIndexEntry.size;
      const d = FullIndexEntry.decode(b, e);
      const type = d.advise & 3;
      L.type[lcn] = type;
      L.at[lcn] = e;
      if (type === LclusterType.NonHead) {
        if (d.delta0 & Z_DELTA_CBLKCNT) {
          if (!anyBig) throw hard(e, `lcluster ${lcn}: CBLKCNT entry but the inode has no big pclusters`);
          L.cblkcnt[lcn] = d.delta0 & ~Z_DELTA_CBLKCNT;
          L.delta0[lcn] = 1;
        } else {
          L.delta0[lcn] = d.delta0;
        }
        L.delta1[lcn] = d.delta1;
      } else {
        L.clusterOfs[lcn] = d.clusterOfs;
        L.blkaddr[lcn] = d.blkaddr;
      }
    }
    return L;
  }

  const geo = compactIndexLayout(h.indexOffset, n, (h.advise & Z_ADVISE_COMPACTED_2B) !== 0);
  let lcn = 0;
  let pos = h.indexOffset;
  const section = (count: number, form: typeof COMPACT_4B | typeof COMPACT_2B) => {
    const encodebits = ((form.bytes - 4) * 8) / form.count;
    for (let first = 0; first < count; first += form.count) {
      const valid = Math.min(form.count, count - first);
      decodePack(b, pos, form.count, encodebits, valid, lcn + first, L, big1, hard);
      pos += form.bytes;
    }
    lcn += count;
  };
  section(geo.initial4B, COMPACT_4B);
  section(geo.middle2B, COMPACT_2B);
  section(geo.trailing4B, COMPACT_4B);
  return L;
}

/** Decodes `valid` entries of one compact pack (kernel unpack_compacted_index for each of them). */
function decodePack(
  b: Uint8Array,
  pack: number,
  vcnt: number,
  encodebits: number,
  valid: number,
  lcn0: number,
  L: Lclusters,
  big: boolean,
  hard: (off: number, d: string) => FormatError,
): void {
  const lo = new Uint16Array(vcnt);
  const type = new Uint8Array(vcnt);
  for (let i = 0; i < vcnt; i++) {
    const bit = encodebits * i;
    const v = u32le(b, pack + (bit >> 3)) >>> (bit & 7);
    lo[i] = v & LO_MASK;
    type[i] = (v >>> BLOCK_SIZE_BITS) & 3;
  }
  const base = u32le(b, pack + (vcnt * encodebits) / 8); // the le32 after the entries
  for (let i = 0; i < valid; i++) {
    const lcn = lcn0 + i;
    const at = pack + ((encodebits * i) >> 3);
    L.type[lcn] = type[i];
    L.at[lcn] = at;
    if (type[i] === LclusterType.NonHead) {
      // lookahead: NONHEADs up to the end of the pack, plus the last one's stored delta[1]
      let d1 = 0;
      let j = i;
      for (; j < vcnt && type[j] === LclusterType.NonHead; j++) d1++;
      if (j === vcnt && !(lo[vcnt - 1] & Z_DELTA_CBLKCNT)) d1 += lo[vcnt - 1] - 1;
      L.delta1[lcn] = d1;
      if (lo[i] & Z_DELTA_CBLKCNT) {
        if (!big) throw hard(at, `lcluster ${lcn}: CBLKCNT entry but the inode has no big pclusters`);
        L.cblkcnt[lcn] = lo[i] & ~Z_DELTA_CBLKCNT;
        L.delta0[lcn] = 1;
      } else if (i + 1 !== vcnt) {
        L.delta0[lcn] = lo[i];
      } else {
        // the last entry of a pack stores delta[1]; delta[0] comes from the one before it
        let prev = 0;
        if (type[i - 1] === LclusterType.NonHead) prev = lo[i - 1] & Z_DELTA_CBLKCNT ? 1 : lo[i - 1];
        L.delta0[lcn] = prev + 1;
      }
      continue;
    }
    L.clusterOfs[lcn] = lo[i];
    // the pack stores one base block; each HEAD before this one in the pack adds its blocks
    let nblk: number;
    let k = i;
    if (!big) {
      nblk = 1;
      while (k > 0) {
        --k;
        if (type[k] === LclusterType.NonHead) k -= lo[k];
        if (k >= 0) ++nblk;
      }
    } else {
      nblk = 0;
      while (k > 0) {
        --k;
        if (type[k] === LclusterType.NonHead) {
          if (lo[k] & Z_DELTA_CBLKCNT) {
            --k;
            nblk += lo[k + 1] & ~Z_DELTA_CBLKCNT;
            continue;
          }
          if (lo[k] <= 1) throw hard(pack + ((encodebits * k) >> 3), `lcluster ${lcn0 + k}: big pcluster NONHEAD with delta[0] ${lo[k]}`);
          k -= lo[k] - 2;
          continue;
        }
        ++nblk;
      }
    }
    L.blkaddr[lcn] = (base + nblk) >>> 0;
  }
}

export interface ZMap {
  header: ZMapHeader;
  extents: ZExtent[];
}

/**
 * Decodes the whole index of a compressed inode into its extents, checking every entry.
 * Throws UnsupportedError for variants this reader does not implement.
 */
export function mapCompressed(img: ZImage, inode: ZInode, header: ZMapHeader, path?: string): ZMap {
  const { nid, size } = inode;
  const hard = (off: number | undefined, d: string) => new FormatError(FMT, off, `nid ${nid}: ${d}${pathNote(path)}`);
  const soft = (off: number | undefined, d: string) => img.soft(off, `nid ${nid}: ${d}`, path);
  if (header.unsupported) throw new UnsupportedError(FMT, header.offset, `nid ${nid}: ${header.unsupported}${pathNote(path)}`);
  const n = header.lclusters;
  if (n === 0) return { header, extents: [] };
  const L = decodeLclusters(img, inode, header, path);

  // heads in order; for each NONHEAD, the lookback must reach the head before it
  interface Head { lcn: number; la: number }
  const heads: Head[] = [];
  const headOf = new Int32Array(n);
  let lastHead = -1;
  for (let lcn = 0; lcn < n; lcn++) {
    const at = L.at[lcn];
    if (L.type[lcn] !== LclusterType.NonHead) {
      const co = L.clusterOfs[lcn];
      if (co >= BLOCK_SIZE) throw hard(at, `lcluster ${lcn}: clusterofs ${co} is not below ${BLOCK_SIZE}`);
      if (lcn === 0 && co !== 0) throw hard(at, `lcluster 0 starts its extent at ${co}, not 0: the first bytes belong to no extent`);
      const la = lcn * BLOCK_SIZE + co;
      if (la >= size) {
        // the final lcluster may only mark where the previous extent ends
        if (co !== size - lcn * BLOCK_SIZE) soft(at, `lcluster ${lcn}: final clusterofs ${co}, expected ${size - lcn * BLOCK_SIZE} (the file size)`);
      } else {
        heads.push({ lcn, la });
      }
      headOf[lcn] = lcn;
      lastHead = lcn;
      continue;
    }
    if (lcn === 0) throw hard(at, "lcluster 0 is NONHEAD: the file starts inside no extent");
    const d0 = L.delta0[lcn];
    if (d0 === 0) throw hard(at, `lcluster ${lcn}: lookback distance 0`);
    if (d0 > lcn) throw hard(at, `lcluster ${lcn}: lookback distance ${d0} reaches before the first lcluster`);
    const reached = headOf[lcn - d0];
    if (reached !== lastHead) {
      throw hard(at, `lcluster ${lcn}: lookback (delta[0] ${d0}) reaches the extent of lcluster ${reached}, expected the one of lcluster ${lastHead}`);
    }
    headOf[lcn] = lastHead;
    if (L.cblkcnt[lcn] >= 0 && L.type[lcn - 1] === LclusterType.NonHead) {
      soft(at, `lcluster ${lcn}: CBLKCNT entry not right after its HEAD`);
    }
  }
  if (heads.length === 0) throw hard(L.at[0], "no extent starts inside the file");

  // lookahead (delta[1]) from every NONHEAD must lead to where its extent ends
  const reach = new Float64Array(n); // lcluster where the chain stops: a head, n (EOF), or -(p+1) "ends with lcluster p"
  for (let p = n - 1; p >= 0; p--) {
    if (L.type[p] !== LclusterType.NonHead) reach[p] = p;
    else {
      const d = L.delta1[p];
      reach[p] = d === 0 ? -(p + 1) : p + d >= n ? n : reach[p + d];
    }
  }
  const extentEndOfHead = new Map<number, number>();
  for (let i = 0; i < heads.length; i++) extentEndOfHead.set(heads[i].lcn, i + 1 < heads.length ? heads[i + 1].la : size);
  let reportedD1 = 0;
  for (let lcn = 1; lcn < n && reportedD1 < 5; lcn++) {
    if (L.type[lcn] !== LclusterType.NonHead) continue;
    const r = reach[lcn];
    const end = r < 0 ? (-r - 1) * BLOCK_SIZE + BLOCK_SIZE : r >= n ? size : r * BLOCK_SIZE + L.clusterOfs[r];
    const want = extentEndOfHead.get(headOf[lcn]) ?? size;
    if (Math.min(end, size) !== want) {
      soft(L.at[lcn], `lcluster ${lcn}: lookahead (delta[1] ${L.delta1[lcn]}) ends the extent at ${end}, expected ${want}`);
      reportedD1++;
    }
  }

  // extents and their pclusters
  const bigFor = (t: LclusterType) =>
    t === LclusterType.Head1 ? (header.advise & Z_ADVISE_BIG_PCLUSTER_1) !== 0 : (header.advise & Z_ADVISE_BIG_PCLUSTER_2) !== 0;
  const extents: ZExtent[] = [];
  for (let i = 0; i < heads.length; i++) {
    const { lcn, la } = heads[i];
    const at = L.at[lcn];
    const end = i + 1 < heads.length ? heads[i + 1].la : size;
    const length = end - la;
    const headType = L.type[lcn] as LclusterType;
    const algorithm = headType === LclusterType.Plain ? -1 : header.algorithms[headType === LclusterType.Head1 ? 0 : 1];
    const last = i === heads.length - 1;
    let physical: number;
    let plen: number;
    let inline = false;
    if (last && header.inlineOffset !== undefined) {
      inline = true;
      physical = header.inlineOffset;
      plen = header.idataSize;
      if (plen === 0 || (physical % BLOCK_SIZE) + plen > BLOCK_SIZE) {
        throw hard(header.offset, `invalid tail-packing pcluster of ${plen} bytes at ${physical} (must be non-empty and inside one block)`);
      }
    } else {
      let blocks = 1;
      if (bigFor(headType) && lcn + 1 < n) {
        const nx = lcn + 1;
        if (L.type[nx] === LclusterType.NonHead) {
          if (L.cblkcnt[nx] < 0) throw hard(L.at[nx], `lcluster ${nx}: big pcluster of lcluster ${lcn} has no CBLKCNT entry`);
          blocks = L.cblkcnt[nx];
          if (blocks === 0) throw hard(L.at[nx], `lcluster ${nx}: CBLKCNT of 0 blocks`);
        }
      }
      if (blocks > img.maxPclusterBlks) {
        throw hard(at, `lcluster ${lcn}: pcluster of ${blocks} blocks exceeds the maximum of ${img.maxPclusterBlks} (lz4 config)`);
      }
      plen = blocks * BLOCK_SIZE;
      physical = L.blkaddr[lcn] * BLOCK_SIZE;
      if (physical + plen > img.limit) {
        throw hard(at, `lcluster ${lcn}: pcluster at block ${L.blkaddr[lcn]} (${blocks} blocks) is outside the image (${img.limit} bytes)`);
      }
    }
    if (algorithm === -1) {
      if (length > plen) throw hard(at, `lcluster ${lcn}: stored (PLAIN) extent of ${length} bytes but its pcluster holds ${plen}`);
    } else if (length > plen * LZ4_MAX_EXPANSION && algorithm === CompressionAlgorithm.Lz4) {
      throw hard(at, `lcluster ${lcn}: extent of ${length} bytes cannot come from a ${plen}-byte lz4 pcluster`);
    }
    extents.push({ logical: la, length, headType, algorithm, physical, plen, inline, headLcn: lcn, entryOffset: at });
  }
  const announced = img.announcedAlgorithms;
  if (announced !== undefined) {
    const e = extents.find((x) => x.algorithm >= 0 && !(announced & (1 << x.algorithm)));
    if (e) soft(e.entryOffset, `lcluster ${e.headLcn}: uses ${algorithmName(e.algorithm)}, which the superblock does not announce (COMPR_CFGS bitmap 0x${announced.toString(16)})`);
  }
  // the file as a whole: even shared pclusters cannot expand beyond the LZ4 bound (this also
  // bounds what reading the file allocates by the image size, whatever i_size claims)
  const unique = new Map<number, number>();
  for (const e of extents) unique.set(e.physical, Math.max(unique.get(e.physical) ?? 0, e.plen));
  let pbytes = 0;
  for (const v of unique.values()) pbytes += v;
  if (size > pbytes * LZ4_MAX_EXPANSION) {
    throw hard(inode.offset + 8, `${size} bytes of data cannot come from ${pbytes} bytes of pclusters`);
  }
  return { header, extents };
}
