/**
 * Test systems for install: a root directory whose /boot is a real filesystem (ext4 or vfat on a
 * loop device, always unmounted and detached in finally), a small full initramfs made with cpio
 * and gzip, the CLI run as a separate process (so a fault can kill it), and checks of /boot made
 * with external tools (cpio reads the mini initramfs's config, fsck.erofs checks the image).
 */
import test from "node:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpioOf } from "../helpers/fixtures.js";
import { CLI } from "../helpers/cli.js";
import { miniCpio } from "../helpers/initrd.js";
import { LZ4_LEGACY_MAGIC } from "../../src/compression/lz4-legacy.js";
import { KVER } from "../helpers/kernel.js";
import { prng } from "../helpers/prng.js";
import { run } from "../helpers/run.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

export { KVER };
export const SLOT = `initrd.img-${KVER}`;

export const SPEC = "UUID=5a1e0b7e-0000-4000-8000-1a57a11ed0ff";
// copy: the small test initramfs has no dm-verity module (the default mode needs one); the image digest is still checked by status
export const CONF = `boot = ${SPEC}\ndefault_modules = no\nmini_compression = none\nintegrity = copy\n`;

/** A root directory with /boot as a plain directory and the boot partition configured. */
export function plainRoot(work: string, conf = CONF): { root: string; boot: string } {
  const root = join(work, "root");
  mkdirSync(join(root, "boot"), { recursive: true });
  mkdirSync(join(root, "etc/initoverlayfs"), { recursive: true });
  writeFileSync(join(root, "etc/initoverlayfs/install.conf"), conf);
  return { root, boot: join(root, "boot") };
}

/** The modules a mini initramfs for an ext4 or vfat /boot loads, with their dependencies (modprobe's view). */
const MODULES = ["ext4", "vfat", "loop", "erofs", "overlay", "nls_cp437", "nls_ascii", "nls_iso8859-1"];
function moduleFiles(): string[] {
  const files = new Set<string>();
  for (const m of MODULES) {
    const r = run("modprobe", ["-S", KVER, "--show-depends", m]);
    for (const line of r.stdout.split("\n")) {
      const f = /^insmod (\S+)/.exec(line)?.[1];
      if (f) files.add(f);
    }
  }
  return [...files];
}

/**
 * A small full initramfs as a generator makes one: an /init, the modules a boot needs with the
 * kernel's index files cut down to them, and `filler` random bytes; cpio -o, gzip.
 */
export function makeOriginal(work: string, seed: number, filler = 10_000_000): Buffer {
  const dir = join(work, `orig-src-${seed}`);
  mkdirSync(join(dir, "bin"), { recursive: true });
  writeFileSync(join(dir, "init"), `#!/bin/sh\necho original ${seed}\n`, { mode: 0o755 });
  const rnd = prng(seed);
  const b = Buffer.alloc(filler);
  for (let i = 0; i + 4 <= filler; i += 4) b.writeUInt32LE((rnd() * 2 ** 32) >>> 0, i);
  writeFileSync(join(dir, "bin/filler"), b);
  const hostMods = `/lib/modules/${KVER}`;
  const mods = join(dir, "lib/modules", KVER);
  const rels = moduleFiles().map((f) => f.slice(hostMods.length + 1));
  for (const rel of rels) {
    mkdirSync(join(mods, rel, ".."), { recursive: true });
    writeFileSync(join(mods, rel), readFileSync(join(hostMods, rel)));
  }
  const keep = new Set(rels);
  const names = new Set(rels.map((r) => r.replace(/^.*\//, "").replace(/\.ko.*$/, "").replace(/-/g, "_")));
  const filter = (f: string, ok: (line: string) => boolean) => writeFileSync(join(mods, f), readFileSync(join(hostMods, f), "utf8").split("\n").filter(ok).join("\n") + "\n");
  filter("modules.dep", (l) => keep.has(l.split(":")[0]));
  filter("modules.order", (l) => keep.has(l));
  filter("modules.alias", (l) => names.has(l.split(" ").pop() ?? ""));
  for (const f of ["modules.builtin", "modules.softdep"]) writeFileSync(join(mods, f), readFileSync(join(hostMods, f)));
  const r = spawnSync("gzip", ["-1", "-c"], { input: cpioOf(dir), maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`gzip: ${r.stderr}`);
  removeDir(dir);
  return r.stdout;
}

/** Two small full initramfs files (seeds `seeds`), made before a test file's tests and removed after them. */
export function testOriginals(seeds: [number, number], filler: number): { a: Buffer; b: Buffer } {
  const made = {} as { a: Buffer; b: Buffer };
  const work = makeTempDir("iofs-install-fixtures-");
  test.before(() => {
    made.a = makeOriginal(work, seeds[0], filler);
    made.b = makeOriginal(work, seeds[1], filler);
  });
  test.after(() => removeDir(work));
  return made;
}

export interface TestRoot {
  root: string;
  boot: string;
  image: string;
  uuid: string;
  /** vfat through fusefat (the kernel has no vfat) */
  fuse: boolean;
}

function kernelHasVfat(): boolean {
  if (/\bvfat\b/.test(readFileSync("/proc/filesystems", "utf8"))) return true;
  return run("modprobe", ["vfat"], { allowFail: true }).code === 0;
}

function detach(image: string): void {
  const r = run("losetup", ["-j", image], { allowFail: true });
  for (const line of r.stdout.split("\n")) {
    const dev = line.split(":")[0];
    if (dev.startsWith("/dev/loop")) run("losetup", ["-d", dev], { allowFail: true });
  }
}

/**
 * A root whose /boot is a fresh `fs` filesystem of `mib` MiB, loop-mounted (its backing file in
 * /dev/shm: fsync costs what it costs the filesystem, not the host disk); no lib/modules, so every
 * module comes from the initramfs; `conf` goes to etc/initoverlayfs/install.conf.
 */
export async function withBootFs<T>(fs: "ext4" | "vfat", mib: number, conf: string, fn: (t: TestRoot) => Promise<T>): Promise<T> {
  const work = makeTempDir(`iofs-inst-${fs}-`);
  const root = join(work, "root");
  const boot = join(root, "boot");
  const image = join(existsSync("/dev/shm") ? "/dev/shm" : work, `${work.replace(/.*\//, "")}-boot-${fs}.img`);
  mkdirSync(boot, { recursive: true });
  mkdirSync(join(root, "etc/initoverlayfs"), { recursive: true });
  writeFileSync(join(root, "etc/initoverlayfs/install.conf"), conf);
  run("truncate", ["-s", `${mib}M`, image]);
  const uuid = fs === "ext4" ? "5a1e0b7e-0000-4000-8000-1a57a11ed001" : "1A57-0FA7";
  if (fs === "ext4") run("mkfs.ext4", ["-q", "-F", "-U", uuid, image]);
  else run("mkfs.vfat", ["-i", uuid.replace("-", ""), image]);
  let mounted = false;
  const fuse = fs === "vfat" && !kernelHasVfat();
  try {
    // a kernel without vfat (these build machines): the same FAT image through fusefat
    if (fuse) run("fusefat", ["-o", "rw+", image, boot]);
    else run("mount", ["-o", "loop", image, boot]);
    mounted = true;
    return await fn({ root, boot, image, uuid, fuse });
  } finally {
    if (mounted && run("umount", [boot], { allowFail: true }).code !== 0) run("umount", ["-l", boot], { allowFail: true });
    if (!fuse) detach(image);
    rmSync(image, { force: true });
    removeDir(work);
  }
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function cliEnv(args: string[], env: Record<string, string> = {}): CliRun {
  // staging in RAM when there is /dev/shm: the runs' time goes to /boot, not to the host disk
  const tmp = existsSync("/dev/shm") ? { TMPDIR: "/dev/shm" } : {};
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...tmp, ...env }, encoding: "utf8", maxBuffer: 1 << 28, timeout: 300_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The mini initramfs's config as cpio reads it (gzip or uncompressed archives), or undefined for an archive without it. */
export function miniConfig(path: string): Map<string, string> | undefined {
  const bytes = readFileSync(path);
  // our minis are gzip, lz4 or none; anything else (an original) is read as it is and has no config
  const ours = (bytes[0] === 0x1f && bytes[1] === 0x8b) || (bytes.length >= 4 && bytes.readUInt32LE(0) === LZ4_LEGACY_MAGIC);
  const cpioBytes = ours ? miniCpio(bytes) : bytes;
  const r = spawnSync("cpio", ["-i", "--quiet", "--to-stdout", "etc/initoverlayfs.conf"], { input: cpioBytes, maxBuffer: 1 << 30 });
  const text = r.stdout.toString("latin1");
  if (!text.includes("image")) return undefined;
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const kv = /^\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (kv) m.set(kv[1], kv[2]);
  }
  return m;
}

export const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** name -> sha256 of every file in a directory (lost+found and our lock excluded). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) {
    if (n === "lost+found" || n === ".initoverlayfs.lock") continue;
    out[n] = sha(readFileSync(join(dir, n)));
  }
  return out;
}

/** /init of a full initramfs: gzip + cpio for ours, unmkinitramfs (initramfs-tools) for Debian's. */
function initOf(initramfs: string, tmp: string): Buffer {
  const head = readFileSync(initramfs).subarray(0, 2);
  if (head[0] === 0x1f && head[1] === 0x8b) {
    return spawnSync("cpio", ["-i", "--quiet", "--to-stdout", "init"], { input: spawnSync("gzip", ["-dc", initramfs], { maxBuffer: 1 << 30 }).stdout, maxBuffer: 1 << 30 }).stdout;
  }
  const dir = join(tmp, "unmk");
  run("unmkinitramfs", [initramfs, dir]);
  return readFileSync(existsSync(join(dir, "main/init")) ? join(dir, "main/init") : join(dir, "init"));
}

/**
 * The boot loader's view of /boot is consistent: its initramfs is one of the full `originals`
 * byte for byte, or a mini initramfs whose image exists on the boot filesystem and passes
 * fsck.erofs, with the original it replaced kept as .full. Returns which.
 */
export function checkBootable(boot: string, originals: Buffer[], bootSpec: string): "full" | "mini" {
  const slot = join(boot, SLOT);
  if (!existsSync(slot)) throw new Error(`${SLOT} is missing: the boot loader has no initramfs`);
  const slotBytes = readFileSync(slot);
  if (originals.some((o) => o.equals(slotBytes))) return "full";
  const cfg = miniConfig(slot);
  if (!cfg) throw new Error(`${SLOT} is neither an original nor a mini initramfs`);
  if (cfg.get("boot") !== bootSpec) throw new Error(`mini expects boot ${cfg.get("boot")}, not ${bootSpec}`);
  // the path is on the boot partition: /boot's own filesystem (loop mounts), or / when /boot is a plain directory
  const onPartition = cfg.get("image")!;
  const image = onPartition.startsWith(boot + "/") ? onPartition : join(boot, onPartition);
  if (!existsSync(image)) throw new Error(`the mini initramfs expects ${cfg.get("image")}, which is missing`);
  const full = join(boot, `${SLOT}.full`);
  if (!existsSync(full) || !originals.some((o) => o.equals(readFileSync(full)))) throw new Error(`a mini initramfs is in place but ${SLOT}.full is not an original`);
  // the image holds the original the mini replaced: its /init as fsck.erofs extracts it
  const out = makeTempDir("iofs-fsck-");
  try {
    run("fsck.erofs", [`--extract=${join(out, "x")}`, image]);
    const want = initOf(full, out);
    if (!readFileSync(join(out, "x/init")).equals(want)) throw new Error(`the image ${cfg.get("image")} does not hold the original kept as ${SLOT}.full`);
  } finally {
    removeDir(out);
  }
  return "mini";
}
