/** `initoverlayfs status`: per kernel, what is installed and whether the pair still belongs together. */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { EarlyArchives } from "../initramfs/early.js";
import { moreReadable } from "../io/file-mode.js";
import { classifyInitramfs } from "./classify.js";
import { findBootPartition } from "./boot-device.js";
import { ImageCheck, imageMatches } from "./image-check.js";
import { extensionsStatus, ExtensionsStatus } from "./extensions.js";
import { detectLayout, imagesOf, KernelLayout, kernelsIn } from "./layout.js";

export interface KernelStatus {
  kver: string;
  layout: KernelLayout["kind"];
  slot: string;
  /** what the boot loader loads */
  state: "installed" | "not-installed" | "no-initramfs" | "replaced" | "broken";
  slotKind: "mini" | "full" | "missing";
  slotBytes?: number;
  original?: { path: string; bytes: number };
  image?: { path: string; pathOnPartition: string; bytes?: number; check: ImageCheck };
  integrity?: string;
  /** how the image is laid out (config image_format): plain, or ddi (a Discoverable Disk Image) */
  imageFormat?: "plain" | "ddi";
  boot?: string;
  /** installed: the early archives (microcode, ACPI tables) the mini carries first */
  early?: EarlyArchives;
  /** installed: the extensions storage-init would consider at boot, each judged against the mini's pins */
  extensions?: ExtensionsStatus;
  /** our images of this kernel the mini does not refer to (left by an interrupted run) */
  unreferenced: string[];
  problems: string[];
}

const size = (p: string) => (existsSync(p) ? statSync(p).size : undefined);

export async function status(o: { root?: string; kver?: string; entryDir?: string } = {}): Promise<KernelStatus[]> {
  const root = resolve(o.root ?? "/");
  const kvers = o.kver !== undefined ? [o.kver] : kernelsIn(root);
  const out: KernelStatus[] = [];
  for (const kver of kvers) {
    const layout = detectLayout(root, kver, o.entryDir);
    const cur = await classifyInitramfs(layout.slot);
    const fullBytes = size(layout.full);
    const s: KernelStatus = {
      kver, layout: layout.kind, slot: layout.slot, state: "not-installed", slotKind: cur.kind, slotBytes: size(layout.slot),
      original: fullBytes !== undefined ? { path: layout.full, bytes: fullBytes } : undefined, unreferenced: [], problems: [],
    };
    let referenced: string | undefined;
    if (cur.kind === "missing") s.state = "no-initramfs";
    else if (cur.kind === "full") {
      s.state = fullBytes !== undefined ? "replaced" : "not-installed";
      if (fullBytes !== undefined) s.problems.push(`${layout.slot} is a full initramfs again (regenerated?) and ${layout.full} is stale: run install`);
    } else {
      s.state = "installed";
      s.boot = cur.boot;
      s.early = cur.early;
      s.integrity = "error" in cur.integrity ? `invalid (${cur.integrity.error})` : cur.integrity.mode;
      if (!("error" in cur.integrity)) s.imageFormat = cur.integrity.mode === "dm-verity" && cur.integrity.imageFormat === "ddi" ? "ddi" : "plain";
      // the image path in the config is relative to the boot partition: find it in /boot
      const prefix = findBootPartition(layout.bootDir).prefix;
      const rel = cur.image.startsWith(prefix + "/") ? cur.image.slice(prefix.length) : cur.image;
      referenced = join(layout.bootDir, rel);
      const check = await imageMatches(referenced, "error" in cur.integrity ? { mode: "none" } : cur.integrity);
      s.image = { path: referenced, pathOnPartition: cur.image, bytes: check.bytes, check };
      if (!check.ok) s.problems.push(...check.problems);
      s.extensions = await extensionsStatus(referenced, cur.config, cur.tree);
      if ("error" in cur.integrity) s.problems.push(cur.integrity.error);
      if (fullBytes === undefined) s.problems.push(`${layout.full} (the original) is missing: uninstall cannot restore it`);
      else if (check.bytes !== undefined && moreReadable(statSync(referenced).mode, statSync(layout.full).mode)) {
        const octal = (p: string) => (statSync(p).mode & 0o777).toString(8).padStart(4, "0");
        s.problems.push(`${referenced} (mode ${octal(referenced)}) is more readable than the original ${layout.full} (mode ${octal(layout.full)}): it holds every file of it; run install to tighten it`);
      }
      if (s.problems.length) s.state = "broken";
    }
    s.unreferenced = imagesOf(layout.bootDir, kver).filter((p) => p !== referenced);
    out.push(s);
  }
  return out;
}
