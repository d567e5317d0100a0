/** Hash algorithms of dm-verity and fs-verity: digest sizes, fs-verity numbers, hash input block sizes. */
import { UsageError } from "../../errors.js";

export type HashName = "sha1" | "sha256" | "sha512";

export const DIGEST_SIZE: Record<HashName, number> = { sha1: 20, sha256: 32, sha512: 64 };
/** the hash function's own input block size: fs-verity pads its salt to it */
export const HASH_INPUT_BLOCK: Record<HashName, number> = { sha1: 64, sha256: 64, sha512: 128 };

/** fs-verity's algorithm numbers (FS_VERITY_HASH_ALG_*) */
export const FSVERITY_ALG_NUMBER = { sha256: 1, sha512: 2 } as const;
export type FsverityHashName = keyof typeof FSVERITY_ALG_NUMBER;

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function checkBlockSize(what: string, n: number, min: number, max: number): number {
  if (!isPowerOfTwo(n) || n < min || n > max) throw new UsageError(`${what}: expected a power of two from ${min} to ${max}, got ${n}`);
  return n;
}

export function checkHex(what: string, s: string, maxBytes: number): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new UsageError(`${what}: expected hex digits, got ${JSON.stringify(s)}`);
  if (s.length / 2 > maxBytes) throw new UsageError(`${what}: at most ${maxBytes} bytes, got ${s.length / 2}`);
  return new Uint8Array(Buffer.from(s, "hex"));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}
