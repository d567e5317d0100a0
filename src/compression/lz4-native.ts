/**
 * LZ4 / LZ4HC fixed-output compression through our N-API addon over the system liblz4
 * (src/compression/native/lz4-erofs.c, built by `npm run build`): the same library and calls as
 * mkfs.erofs, so pclusters hold the same amount of input.
 */
import { UsageError } from "../errors.js";
import type { DestSizeCompressor } from "../formats/erofs/writer/compress-file.js";
import { lz4CompressBound } from "../formats/lz4/block.js";
import { LZ4_LEGACY_CHUNK, LZ4_LEGACY_MAGIC } from "./lz4-legacy.js";
import { loadAddon } from "./native-addon.js";

interface Lz4Addon {
  destSize(src: Uint8Array, dst: Uint8Array, level: number, out: Uint32Array, fresh: boolean): void;
  version(): string;
}

const load = () => loadAddon<Lz4Addon>("lz4_erofs", "liblz4-dev");

export type Lz4Algorithm = "lz4" | "lz4hc";
export const LZ4HC_DEFAULT_LEVEL = 9; // LZ4HC_CLEVEL_DEFAULT, mkfs.erofs -zlz4hc's default
export const LZ4HC_MAX_LEVEL = 12;

export function lz4Version(): string {
  return load().version();
}

/** level 0 = LZ4 (fast); 1..12 = LZ4HC at that level */
export function lz4DestSize(level: number): DestSizeCompressor {
  if (!Number.isInteger(level) || level < 0 || level > LZ4HC_MAX_LEVEL) throw new UsageError(`lz4 level must be 0..${LZ4HC_MAX_LEVEL}, got ${level}`);
  const a = load();
  const out = new Uint32Array(2);
  return (src, dst, firstOfFile) => {
    a.destSize(src, dst, level, out, firstOfFile);
    return { consumed: out[0], written: out[1] };
  };
}

/**
 * The lz4 legacy frame the kernel unpacks an initramfs from (`lz4 -l`): its magic, then each
 * 8 MiB of input as one independent LZ4HC block after its le32 size.
 */
export function compressLz4Legacy(input: Uint8Array, level = LZ4HC_DEFAULT_LEVEL): Uint8Array {
  const compress = lz4DestSize(level);
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, LZ4_LEGACY_MAGIC, true);
  parts.push(head);
  const dst = new Uint8Array(lz4CompressBound(LZ4_LEGACY_CHUNK));
  for (let at = 0; at < input.length; ) {
    const src = input.subarray(at, Math.min(input.length, at + LZ4_LEGACY_CHUNK));
    const { consumed, written } = compress(src, dst, true);
    // the bound always fits the whole chunk: anything less is the library failing
    if (consumed !== src.length || written === 0) throw new Error(`lz4: compressed ${consumed} of ${src.length} bytes at offset ${at}`);
    const chunk = new Uint8Array(4 + written);
    new DataView(chunk.buffer).setUint32(0, written, true);
    chunk.set(dst.subarray(0, written), 4);
    parts.push(chunk);
    at += consumed;
  }
  return Buffer.concat(parts);
}
