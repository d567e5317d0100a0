import type { EarlyArchives } from "../initramfs/early.js";

/** Human-readable numbers for one-line summaries. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) v /= 1024, u++;
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** What the mini carries first, uncompressed, for the kernel's early loaders (empty when nothing). */
export function describeEarly(e: EarlyArchives, indent = ""): string {
  if (!e.archives) return "";
  const files = e.members.map((m) => `${indent}  ${m.path} (${m.size} B)\n`).join("");
  return `${indent}early archives carried first, uncompressed: ${e.archives} archive(s), ${e.bytes} B, ${e.members.length} file(s)\n${files}`;
}
