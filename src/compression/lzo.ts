/**
 * lzo (lzop format, lib/decompress_unlzo.c). No maintained JavaScript lzop/LZO1X decoder exists
 * on npm (the "lzo" binding is unmaintained native code), so this reports a clear error.
 */

import { UnsupportedError } from "../errors.js";

// eslint-disable-next-line require-yield
export async function* decompressLzo(_input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  throw new UnsupportedError("lzo", offset, "unsupported compression lzo: recompress the initramfs with zstd, gzip, xz or lz4 (-l)");
}
