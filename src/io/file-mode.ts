/**
 * Files made from an initramfs are at most as readable as it is: the image holds every file of
 * it, and dracut (umask 077) and initramfs-tools (UMASK=0077, for embedded LUKS keyfiles) make
 * the original 0600 to keep such secrets from other users. The rule: a world-readable original
 * gives 0644, any other gives 0600 (its group is not ours to copy).
 */
import { statSync } from "node:fs";

export function modeFollowing(originalMode: number): number {
  return originalMode & 0o004 ? 0o644 : 0o600;
}

/** The permission bits for files made from `original` (a file or directory). */
export function outputModeFor(original: string): number {
  return modeFollowing(statSync(original).mode);
}

/** `mode` lets group or others read what `original` does not. */
export function moreReadable(mode: number, original: number): boolean {
  return (mode & 0o044 & ~original) !== 0;
}
