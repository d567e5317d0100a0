/** Early archives as distributions make them: GNU cpio -H newc of a kernel/ directory tree. */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { prng } from "./prng.js";

export const UCODE_INTEL = "kernel/x86/microcode/GenuineIntel.bin";

/** `cpio -H newc -o` of `files` (path → bytes) under `dir`: directories first, as initramfs-tools lists them. */
export function cpioArchiveOf(dir: string, files: Record<string, Uint8Array>): Buffer {
  for (const [p, data] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), data);
  }
  const r = spawnSync("sh", ["-c", "find kernel | LC_ALL=C sort | cpio -H newc -o --quiet"], { cwd: dir, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`cpio: ${r.stderr}`);
  return r.stdout;
}

/** An early microcode archive with `size` random bytes as GenuineIntel.bin (real microcode is signed and encrypted: it does not compress either). */
export function microcodeArchive(dir: string, size: number, seed = 7): { archive: Buffer; ucode: Buffer } {
  const rnd = prng(seed);
  const ucode = Buffer.alloc(size);
  for (let i = 0; i < size; i++) ucode[i] = (rnd() * 256) | 0;
  return { archive: cpioArchiveOf(dir, { [UCODE_INTEL]: ucode }), ucode };
}
