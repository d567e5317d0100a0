/**
 * Decompressing one extent of a compressed inode from its pcluster. Pure.
 *
 * Stored (PLAIN) extents are copied from the start of their pcluster. LZ4 pclusters are
 * right-aligned with ZERO_PADDING: leading zeros (only inside the pcluster's first block, as the
 * kernel looks) are skipped and the rest must be exactly one LZ4 block that decodes to exactly the
 * extent. The extent that ends the file, and every extent of an image without ZERO_PADDING, is
 * decoded the way the kernel does it there: partially, stopping once the extent is full.
 */
import { FormatError, UnsupportedError } from "../../errors.js";
import { displayName } from "../../fs/tree.js";
import { lz4DecodeBlock } from "../lz4/block.js";
import { BLOCK_SIZE, CompressionAlgorithm } from "./ondisk.js";
import { algorithmName, type ZExtent } from "./zmap.js";

const FMT = "erofs";

export interface ZDecodeOptions {
  /** incompat ZERO_PADDING is set */
  zeroPadding: boolean;
  /** this extent ends the file */
  last: boolean;
  nid: number;
  path?: string;
}

function note(o: ZDecodeOptions, ext: ZExtent): string {
  return ` (nid ${o.nid}, extent at ${ext.logical}${o.path === undefined ? "" : `, path "${displayName(o.path) || "/"}"`})`;
}

/** Fills `dst` (exactly ext.length bytes) with the extent's data. */
export function decompressExtent(bytes: Uint8Array, ext: ZExtent, dst: Uint8Array, o: ZDecodeOptions): void {
  if (dst.length !== ext.length) throw new RangeError(`decompressExtent: dst is ${dst.length} bytes, extent ${ext.length}`);
  if (ext.physical < 0 || ext.physical + ext.plen > bytes.length) {
    throw new FormatError(FMT, ext.entryOffset, `pcluster [${ext.physical}, +${ext.plen}) is outside the image${note(o, ext)}`);
  }
  const src = bytes.subarray(ext.physical, ext.physical + ext.plen);
  if (ext.algorithm === -1) {
    if (ext.length > src.length) {
      throw new FormatError(FMT, ext.entryOffset, `stored extent of ${ext.length} bytes but its pcluster holds ${src.length}${note(o, ext)}`);
    }
    dst.set(src.subarray(0, ext.length));
    return;
  }
  if (ext.algorithm !== CompressionAlgorithm.Lz4) {
    throw new UnsupportedError(FMT, ext.entryOffset, `unsupported compression algorithm ${algorithmName(ext.algorithm)}${note(o, ext)}`);
  }
  let margin = 0;
  if (o.zeroPadding) {
    // the kernel looks for the start only inside the pcluster's first block
    const scan = Math.min(src.length, BLOCK_SIZE - (ext.physical % BLOCK_SIZE));
    while (margin < scan && src[margin] === 0) margin++;
    if (margin === scan) {
      throw new FormatError(FMT, ext.physical, `lz4 pcluster has no data in its first ${scan} bytes (all zero padding)${note(o, ext)}`);
    }
  }
  const partial = !o.zeroPadding || o.last;
  let written: number;
  try {
    written = lz4DecodeBlock(src.subarray(margin), dst, { stopWhenFull: partial, baseOffset: ext.physical + margin, format: FMT }).written;
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(FMT, e.offset, `${e.detail}${note(o, ext)}`);
    throw e;
  }
  if (written !== ext.length) {
    throw new FormatError(FMT, ext.physical + margin, `lz4 pcluster decodes to ${written} bytes, the extent is ${ext.length}${note(o, ext)}`);
  }
}

/** The file-level options: `last` is worked out per extent. */
export type ZFileOptions = Omit<ZDecodeOptions, "last">;

/**
 * Decodes each extent in turn into one scratch buffer (no whole-file allocation) and hands the
 * bytes to `each`. A broken extent goes to `onError` when given (the next is still decoded), else
 * it throws. Returns the bytes decoded.
 */
export function forEachExtent(
  bytes: Uint8Array,
  extents: readonly ZExtent[],
  o: ZFileOptions,
  each: ((logical: number, data: Uint8Array) => void) | undefined,
  onError?: (e: FormatError) => void,
): number {
  let scratch = new Uint8Array(0);
  let total = 0;
  for (let i = 0; i < extents.length; i++) {
    const e = extents[i];
    if (scratch.length < e.length) scratch = new Uint8Array(e.length);
    const dst = scratch.subarray(0, e.length);
    try {
      decompressExtent(bytes, e, dst, { ...o, last: i === extents.length - 1 });
    } catch (err) {
      if (!onError || !(err instanceof FormatError)) throw err;
      onError(err);
      continue;
    }
    each?.(e.logical, dst);
    total += e.length;
  }
  return total;
}

/** The whole file of `size` bytes: each pcluster is decoded once, straight into the result. */
export function decompressAll(bytes: Uint8Array, extents: readonly ZExtent[], size: number, o: ZFileOptions): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < extents.length; i++) {
    const e = extents[i];
    decompressExtent(bytes, e, out.subarray(e.logical, e.logical + e.length), { ...o, last: i === extents.length - 1 });
  }
  return out;
}
