/**
 * What a read may unpack into memory unless told otherwise: far above real initramfs files (Debian's
 * unpacks to ~140 MiB), far below what a small compressed bomb (xz, zstd: 1000:1 and more) asks for.
 */
export const DEFAULT_MAX_UNPACKED = 4 * 2 ** 30;
