/** Source trees and archives for conversion tests, made with the real tools. */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync, symlinkSync, linkSync, utimesSync, chownSync, chmodSync, lutimesSync } from "node:fs";
import { join } from "node:path";

/** A directory with every kind of file and the edge cases of the foundation issue. */
export function makeEdgeCaseTree(dir: string, opts: { bigDir?: number; depth?: number } = {}): void {
  const p = (...a: string[]) => join(dir, ...a);
  mkdirSync(p("files"));
  for (const n of [0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 100_000]) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + n) & 0xff;
    writeFileSync(p("files", `size-${n}`), b);
  }
  mkdirSync(p("big"));
  for (let i = 0; i < (opts.bigDir ?? 20_000); i++) writeFileSync(p("big", `entry-${i.toString(36).padStart(4, "0")}`), i % 7 === 0 ? `${i}` : "");
  mkdirSync(p("names"));
  writeFileSync(p("names", "n".repeat(255)), "long");
  for (const n of ["-x", ".a", "..a", "...", "!", "-", ".-", "a", "A", "~", " space"]) writeFileSync(p("names", n), n);
  // names that are not UTF-8 text: raw bytes >= 0x80
  for (const bytes of [[0x80], [0xff, 0xfe], [0xc3, 0xa9], [0x2e, 0xff]]) {
    writeFileSync(Buffer.concat([Buffer.from(p("names") + "/"), Buffer.from(bytes)]), Buffer.from(bytes));
  }
  let deep = p("deep");
  mkdirSync(deep);
  for (let i = 0; i < (opts.depth ?? 200); i++) {
    deep = join(deep, "d");
    mkdirSync(deep);
  }
  writeFileSync(join(deep, "bottom"), "deep");
  mkdirSync(p("links"));
  writeFileSync(p("links", "target"), "shared data");
  linkSync(p("links", "target"), p("links", "hard1"));
  linkSync(p("links", "target"), p("links", "hard2"));
  writeFileSync(p("links", "empty-target"), "");
  linkSync(p("links", "empty-target"), p("links", "empty-hard"));
  symlinkSync("target", p("links", "sym"));
  symlinkSync("/" + "x".repeat(3000), p("links", "longsym"));
  symlinkSync("../files/size-1", p("links", "rel"));
  mkdirSync(p("dev"));
  mknod(p("dev", "null"), "c", 1, 3);
  mknod(p("dev", "sda"), "b", 8, 0);
  mknod(p("dev", "big-minor"), "c", 240, 70000);
  mknod(p("dev", "fifo"), "p");
  mkdirSync(p("perm"));
  for (const [n, m] of [["suid", 0o4755], ["sgid", 0o2711], ["sticky", 0o1777], ["none", 0o000], ["ro", 0o444]] as const) {
    writeFileSync(p("perm", n), n);
    chmodSync(p("perm", n), m);
  }
  writeFileSync(p("perm", "owned"), "owned");
  chownSync(p("perm", "owned"), 1000, 100);
  writeFileSync(p("perm", "big-ids"), "ids");
  chownSync(p("perm", "big-ids"), 100_000, 70_000);
  // a spread of mtimes (cpio carries whole seconds)
  utimesSync(p("files", "size-1"), 1_000_000_000, 1_000_000_000);
  utimesSync(p("files", "size-4096"), 2_000_000_000, 0);
  utimesSync(p("perm"), 1_600_000_000, 1_600_000_000);
  lutimesSync(p("links", "sym"), 1_500_000_000, 1_500_000_000);
}

function mknod(path: string, type: "c" | "b" | "p", major?: number, minor?: number): void {
  const args = type === "p" ? [path, "p"] : [path, type, String(major), String(minor)];
  const r = spawnSync("mknod", args);
  if (r.status !== 0) throw new Error(`mknod ${args.join(" ")}: ${r.stderr}`);
}

/** `find . | cpio -o -H newc` of a directory, as initramfs generators do. */
export function cpioOf(dir: string, format: "newc" | "crc" = "newc"): Buffer {
  const r = spawnSync("sh", ["-c", `find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H ${format} --quiet`], { cwd: dir, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`cpio -o failed: ${r.stderr}`);
  return r.stdout;
}

export const COMPRESSORS: Record<string, string[]> = {
  gzip: ["gzip", "-c", "-9"],
  zstd: ["zstd", "-c", "-q", "-19"],
  xz: ["xz", "-c", "--check=crc32"],
  lzma: ["xz", "-c", "--format=lzma"],
  bzip2: ["bzip2", "-c"],
  lz4: ["lz4", "-l", "-c", "-q"],
  lzo: ["lzop", "-c"],
};

export function compress(kind: string, data: Buffer): Buffer {
  const [cmd, ...args] = COMPRESSORS[kind];
  const r = spawnSync(cmd, args, { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

/** What `cpio -i` makes of an archive (as root: owners, devices, mtimes with -m; -u: later entries replace earlier files, as in the kernel). */
export function cpioExtract(archive: Buffer, dir: string): void {
  const r = spawnSync("cpio", ["-i", "-d", "-m", "-u", "--quiet", "--no-absolute-filenames"], { cwd: dir, input: archive, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`cpio -i failed: ${r.stderr}`);
}
