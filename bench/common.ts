/** Shared helpers for benchmarks: timed runs of whole commands, tmpfs scratch space. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Timed {
  seconds: number;
  maxRssKiB: number;
}

/** Runs `sh -c cmd` under GNU time; max RSS is that of the largest process of the pipeline. */
export function timed(cmd: string): Timed {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", "sh", "-c", cmd], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`benchmark command failed (${r.status}): ${cmd}\n${r.stderr}`);
  const last = r.stderr.trim().split("\n").pop()!;
  const [s, m] = last.split(" ");
  return { seconds: Number(s), maxRssKiB: Number(m) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A fresh tmpfs, unmounted by the returned function. */
export function tmpfs(sizeMiB = 4096): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "bench-"));
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", dir]);
  if (m.status !== 0) throw new Error(`mount tmpfs failed: ${m.stderr}`);
  return {
    dir,
    cleanup: () => {
      spawnSync("umount", [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The newest Debian initramfs in /boot. */
export function defaultInitramfs(): string {
  const names = readdirSync("/boot").filter((n) => n.startsWith("initrd.img-") && !n.endsWith(".full")).sort();
  if (!names.length) throw new Error("no /boot/initrd.img-* found (install linux-image-amd64)");
  return join("/boot", names[names.length - 1]);
}

/** The CLI decompressor for an initramfs's first compressed segment, for the reference pipeline. */
export function decompressorFor(magic: Uint8Array): string {
  const hex = Buffer.from(magic.subarray(0, 4)).toString("hex");
  if (hex.startsWith("28b52ffd")) return "zstd -dc";
  if (hex.startsWith("1f8b")) return "gzip -dc";
  if (hex.startsWith("fd377a58")) return "xz -dc";
  if (hex.startsWith("5d00")) return "xz --format=lzma -dc";
  if (hex.startsWith("425a")) return "bzip2 -dc";
  if (hex.startsWith("02214c18")) return "lz4 -dc";
  return "cat";
}
