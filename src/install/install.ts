/**
 * `initoverlayfs install` and `uninstall`: put the pair in place for a kernel and take it out,
 * so that at every instant the boot loader's initramfs and what it needs belong together.
 *
 * install (under the lock):
 *   1. build the pair from the original (the slot if it holds a full initramfs, e.g. one
 *      update-initramfs just wrote; else SLOT.full) into a staging directory outside /boot
 *      (staging.ts), every output at most as readable as the original (io/file-mode.ts);
 *   2. check /boot has room for everything about to be written (refuse before writing);
 *   3. write the image under a new generation name (nothing refers to it yet);
 *   4. if the slot holds the original, keep it as SLOT.full (hard link, or a copy on FAT);
 *   5. write the mini initramfs that expects the new image over the slot (one rename), unless
 *      the slot changed since it was read (update-initramfs or dracut racing us);
 *   6. remove images of this kernel no slot's mini refers to.
 * uninstall: rename SLOT.full over the slot (the original, byte for byte, in one step), then
 * remove the images. Every write is temp + fsync + rename + directory fsync (file-steps.ts).
 * Under --root every path resolves inside ROOT (io/in-root.ts).
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { buildPair, BuildOptions, extensionRootHashes } from "../pipeline/build.js";
import { STORAGE_INIT_ARCHES, storageInitPath } from "../io/package-files.js";
import { BOOT_FSTYPES, BUILD_DEFAULTS, memberOf } from "../formats/storage-init-config/schema.js";
import { findKernelConfig } from "../pipeline/kernel.js";
import { InitoverlayfsError, UsageError } from "../errors.js";
import { modeFollowing, moreReadable } from "../io/file-mode.js";
import { inRoot } from "../io/in-root.js";
import { EarlyArchives, findEarlyArchives } from "../initramfs/early.js";
import { findBootPartition } from "./boot-device.js";
import { classifyInitramfs, requireFullOriginal } from "./classify.js";
import { copyInto, duplicateInto, leftoverTemps, removeFiles, renameInto } from "./file-steps.js";
import { imageMatches } from "./image-check.js";
import { bootDirOf, detectLayout, imageName, imagesOf, isOurTarget, KernelLayout, kernelsIn, slotsOf } from "./layout.js";
import { lockBootDir } from "./lock.js";
import { InstallSettings, readSettings } from "./settings.js";
import { fsInfo, onDisk, requireSpace } from "./space.js";
import { makeStaging, removeStaging, removeStaleStaging } from "./staging.js";

export interface InstallOptions extends InstallSettings {
  /** the system to work on (default /): every path, /boot included, is inside it */
  root?: string;
  /** default: every kernel with an initramfs in ROOT/boot */
  kver?: string;
  /** a BLS entry directory (path inside the root) whose `initrd` is the slot */
  entryDir?: string;
  storageInit?: string;
  /** rebuild even when the installed pair is up to date */
  force?: boolean;
  /** seconds to wait for another run's lock (default 600) */
  lockTimeout?: number;
  log?: (line: string) => void;
}

export interface InstallResult {
  kver: string;
  layout: KernelLayout["kind"];
  slot: string;
  original: string;
  action: "installed" | "up-to-date";
  image: string;
  imagePath: string;
  imageBytes: number;
  miniBytes: number;
  originalBytes: number;
  /** the original's early archives (microcode, ACPI tables), which the mini carries first */
  early: EarlyArchives;
  /** the kernel's architecture, as the build found it (a new build only; up to date: not read again) */
  arch?: string;
  removed: string[];
}

export interface UninstallResult {
  kver: string;
  slot: string;
  action: "restored" | "nothing-installed" | "removed";
  removed: string[];
}

const rootOf = (o: { root?: string }) => resolve(o.root ?? "/");

function kernelsToDo(o: InstallOptions, what: string): string[] {
  if (o.kver !== undefined) return [o.kver];
  // install: the kernels that have an initramfs now; uninstall: every kernel with a file of ours too
  const all = kernelsIn(rootOf(o)).filter((k) => what !== "install" || existsSync(detectLayout(rootOf(o), k).slot));
  if (!all.length) throw new UsageError(`no kernel initramfs found in ${bootDirOf(rootOf(o))}: nothing to ${what} (name one with --kver)`);
  return all;
}

function withLock<T>(o: InstallOptions, fn: () => Promise<T>): Promise<T> {
  const bootDir = bootDirOf(rootOf(o));
  if (!existsSync(bootDir)) throw new UsageError(`${bootDir} does not exist`);
  const unlock = lockBootDir(bootDir, o.lockTimeout ?? 600, () => o.log?.(`waiting for another initoverlayfs run (${bootDir}/.initoverlayfs.lock)`));
  return fn().finally(unlock);
}

function removeTemps(layout: KernelLayout): string[] {
  const dirs = new Set([layout.bootDir, resolve(layout.slot, "..")]);
  const temps = [...dirs].flatMap((d) => leftoverTemps(d, (n) => isOurTarget(layout, n)));
  removeFiles(temps, "temp files of an interrupted run");
  return temps;
}

/**
 * Images of this kernel that another initramfs slot's mini refers to (a /boot initramfs and BLS
 * entry initrds of the same kernel, converted): never removed from under it.
 */
async function referencedElsewhere(root: string, layout: KernelLayout): Promise<Set<string>> {
  const keep = new Set<string>();
  const prefix = findBootPartition(layout.bootDir).prefix;
  for (const slot of slotsOf(root, layout.kver)) {
    if (slot === layout.slot || !existsSync(slot)) continue;
    const k = await classifyInitramfs(slot);
    if (k.kind === "mini") keep.add(join(layout.bootDir, k.image.startsWith(prefix + "/") ? k.image.slice(prefix.length) : k.image));
  }
  return keep;
}

/** Modules and the kernel config come from the root being installed, not from the host. */
function rootKernelFiles(root: string, kver: string): Pick<BuildOptions, "modulesDir" | "kernelConfig"> {
  const modulesDir = [`/lib/modules/${kver}`, `/usr/lib/modules/${kver}`].map((p) => inRoot(root, p)).find((p) => existsSync(join(p, "modules.dep")));
  const kernelConfig = root === "/" ? findKernelConfig(kver) : [`/boot/config-${kver}`, `/lib/modules/${kver}/config`, `/usr/lib/modules/${kver}/config`].map((p) => inRoot(root, p)).find(existsSync);
  return { modulesDir: modulesDir ?? false, kernelConfig };
}

/** What a slot was when we read it: a change later means another program wrote it meanwhile. */
type Identity = { dev: number; ino: number; size: number; mtimeMs: number } | undefined;

function identityOf(path: string): Identity {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return st && { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

export class SlotChangedError extends InitoverlayfsError {
  override name = "SlotChangedError";
}

/** Refuses to replace `slot` when it is no longer the file we read (update-initramfs or dracut wrote a new one). */
function requireUnchanged(slot: string, seen: Identity): void {
  if (JSON.stringify(identityOf(slot)) !== JSON.stringify(seen)) {
    throw new SlotChangedError(`${slot} changed while this run was working (update-initramfs or dracut wrote it?): left as it is; run again`);
  }
}

/** Files of an earlier install made more readable than the original now allows: tightened in place. */
function tighten(paths: string[], mode: number): void {
  for (const p of paths) if (existsSync(p) && moreReadable(statSync(p).mode, mode)) chmodSync(p, mode);
}

export async function install(o: InstallOptions = {}): Promise<InstallResult[]> {
  const root = rootOf(o);
  const settings = { ...readSettings(root), ...definedOnly(o) };
  const kvers = kernelsToDo(o, "install");
  return withLock(o, async () => {
    removeStaleStaging(o.log);
    const out: InstallResult[] = [];
    for (const kver of kvers) out.push(await installOne(root, kver, settings, o));
    return out;
  });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function installOne(root: string, kver: string, s: InstallSettings, o: InstallOptions): Promise<InstallResult> {
  const layout = detectLayout(root, kver, o.entryDir);
  const removed = removeTemps(layout);
  const seen = identityOf(layout.slot);
  const current = await classifyInitramfs(layout.slot);
  if (current.kind === "missing") {
    const looked = layout.kind === "entry-dir" ? layout.slot : `${join(layout.bootDir, `initrd.img-${kver}`)} or ${join(layout.bootDir, `initramfs-${kver}.img`)}`;
    throw new UsageError(`no initramfs for kernel ${kver}: no ${looked} (make one first: update-initramfs -c -k ${kver} or dracut)`);
  }
  // the slot holds a full initramfs (first install, or update-initramfs replaced our mini): it is the original now
  const originalIsSlot = current.kind === "full";
  const original = originalIsSlot ? layout.slot : layout.full;
  if (!originalIsSlot) await requireFullOriginal(layout.full, `install for ${kver}`);

  const part = findBootPartition(layout.bootDir);
  const boot = s.boot ?? part.spec;
  if (!boot) {
    throw new UsageError(`cannot tell which partition holds ${layout.bootDir} (${part.source ?? "no block device"}): set boot = UUID=... in ${join(root, "etc/initoverlayfs/install.conf")} or pass --boot`);
  }
  const bootFstype = s.bootFstype ?? (part.fstype ? memberOf(BOOT_FSTYPES, part.fstype) : undefined);
  if (part.prefix !== "" && (s.integrity ?? BUILD_DEFAULTS.integrity) === "fs-verity") {
    // fs-verity reads through the filesystem: the root's superblock would stay read-only under the initramfs
    throw new UsageError(`${layout.bootDir} is a directory of the root filesystem: with integrity fs-verity the initramfs could not mount or check the root read-write; use dm-verity (the default) or copy`);
  }
  // the build takes this package's storage-init for the kernel's architecture: any of them may be it
  const storageInits = o.storageInit !== undefined ? [o.storageInit] : STORAGE_INIT_ARCHES.map(storageInitPath);
  // extensions named by file are pinned by the root hash they have now (recomputed), so a changed file is a new generation
  const sysextRootHashes = [...await extensionRootHashes(s.sysext ?? []), ...(s.sysextRootHashes ?? [])];
  const build: BuildOptions = {
    initramfs: original, kver, boot, bootFstype, failure: s.failure, timeout: s.timeout, init: s.init,
    miniCompression: s.miniCompression, addModules: s.addModules, defaultModules: s.defaultModules,
    integrity: s.integrity, integrityHash: s.integrityHash, signKey: s.signKey, signCert: s.signCert, cmdline: s.cmdline,
    imageFormat: s.imageFormat, storageInit: o.storageInit, ...rootKernelFiles(root, kver),
    ...(sysextRootHashes.length ? { sysextRootHashes } : {}), ...(s.sysextCert !== undefined ? { sysextCert: s.sysextCert } : {}),
  };

  // the generation: which original, options and storage-init the image belongs to
  const originalBytes = readFileSync(original);
  const mode = modeFollowing(statSync(original).mode);
  const hashFor = (attempt: number) => {
    const h = createHash("sha256").update(originalBytes).update(JSON.stringify({ ...build, initramfs: undefined, attempt }));
    for (const p of storageInits) if (existsSync(p)) h.update(readFileSync(p));
    if (s.sysextCert !== undefined && existsSync(s.sysextCert)) h.update(readFileSync(s.sysextCert));
    return h.digest("hex").slice(0, 12);
  };
  const pathOnPartition = (gen: string) => `${part.prefix}/${imageName(kver, gen)}`;
  let gen = hashFor(0);
  // a mini built before early archives were carried (or from another original) is not up to date
  const early = findEarlyArchives(originalBytes, original);
  const earlyCarried = current.kind === "mini" && Buffer.from(current.earlyData).equals(originalBytes.subarray(0, early.bytes));
  if (current.kind === "mini" && current.image === pathOnPartition(gen)) {
    const check = await imageMatches(join(layout.bootDir, imageName(kver, gen)), "error" in current.integrity ? { mode: "none" } : current.integrity);
    if (check.ok && !o.force && earlyCarried) {
      tighten([join(layout.bootDir, imageName(kver, gen)), layout.slot], mode);
      const elsewhere = await referencedElsewhere(root, layout);
      const stale = imagesOf(layout.bootDir, kver).filter((p) => basename(p) !== imageName(kver, gen) && !elsewhere.has(p));
      removeFiles(stale, "images no longer referenced");
      o.log?.(`${kver}: up to date (${layout.slot} expects ${current.image})`);
      return {
        kver, layout: layout.kind, slot: layout.slot, original, action: "up-to-date", image: join(layout.bootDir, imageName(kver, gen)),
        imagePath: current.image, imageBytes: check.bytes ?? 0, miniBytes: current.bytes, originalBytes: originalBytes.length, early, removed: [...removed, ...stale],
      };
    }
    gen = hashFor(1); // never rewrite the image the installed mini expects
  }
  const image = join(layout.bootDir, imageName(kver, gen));

  const staging = makeStaging();
  try {
    o.log?.(`${kver}: building the pair from ${original}`);
    const r = await buildPair({ ...build, imagePath: pathOnPartition(gen), outputDir: staging });
    for (const w of r.warnings) o.log?.(`warning: ${w}`);

    const fs = fsInfo(layout.bootDir);
    const keepCopy = originalIsSlot && !fs.hardLinks ? onDisk(originalBytes.length, fs.blockSize) : 0;
    const needed = onDisk(r.image.bytes, fs.blockSize) + onDisk(r.mini.bytes, fs.blockSize) + keepCopy + 16 * fs.blockSize;
    requireSpace(layout.bootDir, needed, `kernel ${kver} (image ${r.image.bytes} B, mini initramfs ${r.mini.bytes} B${keepCopy ? `, a copy of the original ${originalBytes.length} B` : ""})`);

    copyInto(r.image.path, image, `image ${basename(image)}`, mode);
    if (originalIsSlot) {
      requireUnchanged(layout.slot, seen);
      duplicateInto(layout.slot, layout.full, `original initramfs as ${basename(layout.full)}`, fs.hardLinks, mode);
    }
    copyInto(r.mini.path, layout.slot, `mini initramfs ${basename(layout.slot)}`, mode, () => requireUnchanged(layout.slot, seen));
    const elsewhere = await referencedElsewhere(root, layout);
    const stale = imagesOf(layout.bootDir, kver).filter((p) => p !== image && !elsewhere.has(p));
    removeFiles(stale, "images no longer referenced");
    o.log?.(`${kver}: ${layout.slot} is now the mini initramfs (${r.mini.bytes} B); it mounts ${image} (${r.image.bytes} B); original kept as ${layout.full}`);
    return {
      kver, layout: layout.kind, slot: layout.slot, original: layout.full, action: "installed", image, imagePath: pathOnPartition(gen),
      imageBytes: r.image.bytes, miniBytes: r.mini.bytes, originalBytes: originalBytes.length, early: r.mini.early, arch: r.arch.name, removed: [...removed, ...stale],
    };
  } finally {
    removeStaging(staging, o.log);
  }
}

export interface UninstallOptions {
  root?: string;
  kver?: string;
  entryDir?: string;
  /** the kernel itself is being removed: delete our files, restore nothing */
  kernelRemoved?: boolean;
  lockTimeout?: number;
  log?: (line: string) => void;
}

export async function uninstall(o: UninstallOptions = {}): Promise<UninstallResult[]> {
  const root = rootOf(o);
  const kvers = kernelsToDo(o, "uninstall");
  return withLock(o, async () => {
    removeStaleStaging(o.log);
    const out: UninstallResult[] = [];
    for (const kver of kvers) out.push(await uninstallOne(root, kver, o));
    return out;
  });
}

async function uninstallOne(root: string, kver: string, o: UninstallOptions): Promise<UninstallResult> {
  const layout = detectLayout(root, kver, o.entryDir);
  const removed = removeTemps(layout);
  const seen = identityOf(layout.slot);
  const current = await classifyInitramfs(layout.slot);
  const hasFull = existsSync(layout.full);
  let action: UninstallResult["action"] = "nothing-installed";
  if (o.kernelRemoved) {
    // the kernel is gone: its initramfs (if ours) and everything we kept for it go too
    const ours = [...(current.kind === "mini" ? [layout.slot] : []), ...(hasFull ? [layout.full] : [])];
    removeFiles(ours, `files of removed kernel ${kver}`);
    removed.push(...ours);
    if (ours.length) action = "removed";
  } else if (current.kind === "mini") {
    await requireFullOriginal(layout.full, `uninstall for ${kver}`);
    renameInto(layout.full, layout.slot, `original ${basename(layout.full)} back to ${basename(layout.slot)}`, () => requireUnchanged(layout.slot, seen));
    action = "restored";
  } else if (hasFull) {
    if (current.kind === "full") {
      // update-initramfs replaced our mini without us: the kept original is stale
      removeFiles([layout.full], "stale original");
      removed.push(layout.full);
    } else {
      renameInto(layout.full, layout.slot, `original ${basename(layout.full)} back to ${basename(layout.slot)}`, () => requireUnchanged(layout.slot, seen));
      action = "restored";
    }
  }
  const elsewhere = await referencedElsewhere(root, layout);
  const images = imagesOf(layout.bootDir, kver).filter((p) => !elsewhere.has(p));
  removeFiles(images, "images");
  removed.push(...images);
  if (images.length && action === "nothing-installed") action = "removed";
  o.log?.(`${kver}: ${action}${removed.length ? `; removed ${removed.map((p) => basename(p)).join(", ")}` : ""}`);
  return { kver, slot: layout.slot, action, removed };
}
