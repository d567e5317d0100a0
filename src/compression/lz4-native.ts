/**
 * LZ4 / LZ4HC fixed-output compression through our N-API addon over the system liblz4
 * (src/compression/native/lz4-erofs.c, built by `npm run build`): the same library and calls as
 * mkfs.erofs, so pclusters hold the same amount of input.
 */
import { UsageError } from "../errors.js";
import type { DestSizeCompressor } from "../formats/erofs/writer/compress-file.js";
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
