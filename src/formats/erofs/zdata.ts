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
