/**
 * Where the boot loader expects a kernel's initramfs, and the names initoverlayfs adds next to it:
 *   Debian (initramfs-tools)   BOOT/initrd.img-KVER
 *   Fedora (dracut)            BOOT/initramfs-KVER.img
 *   BLS entry directory        ENTRY_DIR/initrd (kernel-install's layout=bls: $BOOT/ENTRY-TOKEN/KVER/)
 * The original full initramfs is kept as SLOT.full; images are BOOT/initoverlayfs-KVER-GEN.img
 * (GEN: 12 hex digits naming one generation, so a new image never overwrites the one the boot
 * loader's current mini initramfs expects).
 */
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { checkKver } from "../pipeline/kernel.js";
import { UsageError } from "../errors.js";
import { inRoot, realRoot } from "../io/in-root.js";

export type LayoutKind = "debian" | "fedora" | "entry-dir";

export interface KernelLayout {
  kver: string;
  kind: LayoutKind;
  /** the root's /boot: images and the lock live here */
  bootDir: string;
  /** the file the boot loader loads as the initramfs */
  slot: string;
  /** the original full initramfs while a mini one is installed */
  full: string;
}

export const FULL_SUFFIX = ".full";
const IMAGE_RE = /^initoverlayfs-(.+)-([0-9a-f]{12})\.img$/;

export function bootDirOf(root: string): string {
  return inRoot(root, "/boot");
}

export function imageName(kver: string, gen: string): string {
  return `initoverlayfs-${kver}-${gen}.img`;
}

/** The generation images of `kver` present in the boot directory. */
export function imagesOf(bootDir: string, kver: string): string[] {
  if (!existsSync(bootDir)) return [];
  return readdirSync(bootDir).filter((n) => IMAGE_RE.exec(n)?.[1] === kver).sort().map((n) => join(bootDir, n));
}

function layoutAt(kver: string, kind: LayoutKind, bootDir: string, slot: string): KernelLayout {
  return { kver, kind, bootDir, slot, full: slot + FULL_SUFFIX };
}

const isSymlink = (p: string) => {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
};

/** Under --root, the slot and .full are read and replaced as they are: a symlink there would lead out of ROOT. */
function checkNoSymlinks(root: string, l: KernelLayout): KernelLayout {
  if (realRoot(root) === "/") return l;
  for (const p of [l.slot, l.full]) if (isSymlink(p)) throw new UsageError(`${p} is a symbolic link: with --root, install works on regular files only`);
  return l;
}

/**
 * The layout for `kver` under `root`. `entryDir` (a path inside the root) selects a BLS entry
 * directory. Otherwise the name that exists (as the slot or as our .full) decides; with neither,
 * Debian if the root is Debian, else Fedora.
 */
export function detectLayout(root: string, kver: string, entryDir?: string): KernelLayout {
  checkKver(kver);
  const bootDir = bootDirOf(root);
  if (entryDir !== undefined) {
    if (!entryDir.startsWith("/")) throw new UsageError(`--entry-dir: must be an absolute path: ${JSON.stringify(entryDir)}`);
    if (entryDir.split("/").includes("..")) throw new UsageError(`--entry-dir: must not contain "..": ${JSON.stringify(entryDir)}`);
    return checkNoSymlinks(root, layoutAt(kver, "entry-dir", bootDir, join(inRoot(root, entryDir), "initrd")));
  }
  const [debian, fedora] = bootSlots(bootDir, kver).map((slot, i) => layoutAt(kver, i === 0 ? "debian" : "fedora", bootDir, slot));
  for (const l of [debian, fedora]) if (existsSync(l.slot) || existsSync(l.full)) return checkNoSymlinks(root, l);
  return checkNoSymlinks(root, existsSync(inRoot(root, "/etc/debian_version")) ? debian : fedora);
}

/** The initramfs names of `kver` in the boot directory: Debian's, then Fedora's. */
function bootSlots(bootDir: string, kver: string): [string, string] {
  return [join(bootDir, `initrd.img-${kver}`), join(bootDir, `initramfs-${kver}.img`)];
}

/**
 * Where kernel-install (layout=bls) puts entry directories, $BOOT/ENTRY-TOKEN/KVER/: $BOOT is the
 * XBOOTLDR partition or the ESP, mounted at one of these.
 */
const BLS_BOOTS = ["/efi", "/boot", "/boot/efi"];

const isDir = (p: string) => {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * Every initramfs slot of `kver` under ROOT: /boot's own names and each entry directory's initrd
 * (its token and version directories real directories, not symlinks), so that no run removes an
 * image another slot's mini initramfs still refers to.
 */
export function slotsOf(root: string, kver: string): string[] {
  const slots = new Set(bootSlots(bootDirOf(root), kver));
  for (const base of new Set(BLS_BOOTS.map((b) => inRoot(root, b)))) {
    if (!isDir(base)) continue;
    for (const token of readdirSync(base)) {
      const dir = join(base, token, kver);
      if (isDir(join(base, token)) && isDir(dir) && lstatSync(join(dir, "initrd"), { throwIfNoEntry: false })?.isFile()) slots.add(join(dir, "initrd"));
    }
  }
  return [...slots];
}

/** Kernel versions that have an initramfs, an original kept by us or an image of ours in /boot. */
export function kernelsIn(root: string): string[] {
  const bootDir = bootDirOf(root);
  if (!existsSync(bootDir)) return [];
  const found = new Set<string>();
  for (const n of readdirSync(bootDir)) {
    const name = n.endsWith(FULL_SUFFIX) ? n.slice(0, -FULL_SUFFIX.length) : n;
    const m = /^initrd\.img-(.+)$/.exec(name) ?? /^initramfs-(.+)\.img$/.exec(name) ?? IMAGE_RE.exec(name);
    if (m && /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/.test(m[1]) && !/\.(bak|dpkg-bak|new|old)$/.test(m[1])) found.add(m[1]);
  }
  return [...found].sort();
}

/** Names of files we create in the boot directory (their temp files are ours to remove). */
export function isOurTarget(layout: KernelLayout, name: string): boolean {
  return name === basename(layout.slot) || name === basename(layout.full) || IMAGE_RE.exec(name)?.[1] === layout.kver;
}
