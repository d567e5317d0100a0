/** Free space and hard-link support of the boot filesystem (statfs). */
import { statfsSync } from "node:fs";
import { InitoverlayfsError } from "../errors.js";

/**
 * statfs f_type of filesystems where the original is copied rather than hard-linked: FAT (the ESP
 * or a vfat /boot) and exFAT have no hard links; FUSE may not (fusefat) and cannot be told apart.
 */
const NO_HARDLINKS = new Set([0x4d44 /* MSDOS_SUPER_MAGIC */, 0x2011bab0 /* EXFAT_SUPER_MAGIC */, 0x65735546 /* FUSE_SUPER_MAGIC */]);

export function fsInfo(dir: string): { free: number; blockSize: number; hardLinks: boolean } {
  const s = statfsSync(dir);
  return { free: s.bavail * s.bsize, blockSize: s.bsize, hardLinks: !NO_HARDLINKS.has(s.type) };
}

/** What a file of `bytes` occupies, rounded up to whole blocks. */
export function onDisk(bytes: number, blockSize: number): number {
  return Math.ceil(bytes / blockSize) * blockSize;
}

export class NoSpaceError extends InitoverlayfsError {
  override name = "NoSpaceError";
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** Refuses before anything is written when `needed` bytes do not fit. */
export function requireSpace(dir: string, needed: number, what: string): void {
  const { free } = fsInfo(dir);
  if (needed > free) {
    throw new NoSpaceError(`not enough space in ${dir} for ${what}: needed ${mb(needed)} (${needed} bytes), free ${mb(free)} (${free} bytes); nothing was changed`);
  }
}
