/**
 * Which kernel modules the mini initramfs needs, in the order storage-init must load them.
 * Pure: trees in, a list out. Like `modprobe` it follows modules.dep (hard dependencies) and
 * modules.softdep (pre: before, post: after), resolves aliases, and skips built-in modules.
 *
 * Unlike modprobe, a failed load is fatal to storage-init, so a softdep never pulls in a
 * CPU-specific module (one with a cpu: alias, e.g. crc32c_intel): it fails with ENODEV on a CPU
 * without the feature, and its generic sibling (crc32c_generic) does the job everywhere. Such a
 * module comes only when asked for by name as an `optionalModule` (an accelerated hash for
 * dm-verity): storage-init then carries on when the kernel refuses it.
 */
import { FormatError, UnsupportedError, UsageError } from "../../errors.js";
import { FileNode, FsTree } from "../../fs/tree.js";
import { MountFstype } from "../../formats/storage-init-config/schema.js";
import { configIsY, KernelConfig } from "../kernel.js";
import { loadModuleIndex, matchAlias, ModuleEntry, ModuleIndex, ModuleSource, moduleFile } from "./index-files.js";
import { ModuleCompression, normalizeAlias, normalizeModuleName } from "./names.js";
import { resolvePath } from "./tree-path.js";
import { modinfoVermagic } from "./vermagic.js";

export interface ModuleWant {
  /** a module name ("usb-storage" = "usb_storage") or an alias ("fs-ext4", "crypto-crc32c") */
  name: string;
  /** drop it silently when nothing provides it (the default driver set) */
  ifAvailable?: boolean;
  /** wanted too, but only when this one is selected (vfat needs its nls tables) */
  with?: ModuleWant[];
  /** why it is wanted, for the result: "storage driver", "--add-modules" */
  why?: string;
  /** a storage module: only possibly needed to make the boot device appear (a storage driver
   * guess); storage-init skips it, and whatever only it needs, once the boot device is there */
  storageModule?: boolean;
  /** an optional module: the kernel may refuse it at boot (it needs a CPU feature) and
   * storage-init carries on; what it needs that nothing else needs is optional too */
  optionalModule?: boolean;
  /** a boot filesystem's module: storage-init loads it, and what only it needs, just before it
   * mounts the boot partition as this type */
  bootFs?: MountFstype;
}

export interface ModuleRequest {
  wants: ModuleWant[];
  /** more module directories, searched after the initramfs's own (the host's /lib/modules/KVER) */
  extraSources?: ModuleSource[];
  /** the kernel's config: can it load compressed modules itself? */
  kernelConfig?: KernelConfig;
  /** compressed modules will be decompressed when packed: the kernel needs no decompressor */
  decompress?: boolean;
}

export interface SelectedModule {
  name: string;
  /** relative to the modules directory, as modules.dep has it: "kernel/fs/ext4/ext4.ko" */
  path: string;
  /** the label of the source the file comes from */
  source: string;
  node: FileNode;
  size: number;
  compression: ModuleCompression;
  /** all modules it needs (modules.dep) */
  needs: string[];
  /** what pulled it in: "storage driver", "dependency of ext4", "softdep of ext4 (crypto-crc32c)" */
  reason: string;
  /** needed only by storage-module wants: loaded at boot only while the boot device is missing */
  storageModule: boolean;
  /** needed only by optional-module wants: a refusal at boot is not an error */
  optionalModule: boolean;
  /** needed only by this boot filesystem type's wants: loaded before a mount as that type */
  bootFs?: MountFstype;
}

export interface ModuleSelection {
  kver: string;
  /** in load order: every module after all it needs */
  modules: SelectedModule[];
  /** wanted names the kernel has built in */
  builtin: string[];
  /** wanted-if-available names nothing provides */
  missing: string[];
  /** softdep candidates left out, and why */
  skipped: { name: string; reason: string }[];
}

type Ref = { idx: ModuleIndex; entry: ModuleEntry };
type Resolution = { kind: "modules"; refs: Ref[]; viaAlias: boolean } | { kind: "builtin"; name: string } | { kind: "none" };

/** The modules directory of `kver` in an initramfs tree: lib/modules/KVER (often via lib -> usr/lib). */
export function initramfsModuleSource(tree: FsTree, kver: string, label = "initramfs"): ModuleSource {
  return { label, tree, dir: `lib/modules/${kver}` };
}

/** The kernel versions an initramfs has modules for. */
export function kernelVersionsIn(tree: FsTree): string[] {
  const r = resolvePath(tree, "lib/modules");
  if (!r || r.node.kind !== "dir") return [];
  return [...r.node.entries.keys()].filter((k) => resolvePath(tree, `${r.path}/${k}/modules.dep`)).sort();
}

/** The initramfs's modules index for `kver` must be there: its modules are the build's first source. */
export function requireInitramfsModules(tree: FsTree, kver: string): void {
  if (resolvePath(tree, `lib/modules/${kver}/modules.dep`)?.node.kind === "file") return;
  const have = kernelVersionsIn(tree);
  throw new UsageError(`the initramfs has no lib/modules/${kver}/modules.dep` +
    (have.length ? ` (it has modules for ${have.join(", ")}): check --kver` : ""));
}

export function selectModules(tree: FsTree, kver: string, request: ModuleRequest): ModuleSelection {
  const primary = loadModuleIndex(initramfsModuleSource(tree, kver));
  if (!primary) {
    requireInitramfsModules(tree, kver);
    throw new UsageError(`the initramfs's lib/modules/${kver} is not a directory`);
  }
  const indexes = [primary];
  for (const s of request.extraSources ?? []) {
    const idx = loadModuleIndex(s);
    if (!idx) throw new UsageError(`${s.label}: no modules.dep there`);
    indexes.push(idx);
  }
  const sel = new Selector(indexes);
  for (const w of request.wants) sel.want(w);
  sel.markLoadKinds();
  // a module left out as one provider of an alias may still be wanted by name
  const skipped = sel.skipped.filter((x) => !sel.order.some((m) => m.name === x.name));
  const result: ModuleSelection = { kver, modules: sel.order, builtin: sel.builtin, missing: sel.missing, skipped };
  checkCompression(result, request);
  checkVermagic(result, primary.source.label);
  return result;
}

class Selector {
  order: SelectedModule[] = [];
  builtin: string[] = [];
  missing: string[] = [];
  skipped: { name: string; reason: string }[] = [];
  private state = new Map<string, "visiting" | "done">();
  private stack: string[] = [];
  /** what each want that is not a storage module resolved to: the roots of what is always loaded */
  private alwaysRoots: Ref[] = [];
  /** what each want that must load resolved to (not an optional module) */
  private requiredRoots: Ref[] = [];
  /** what each boot filesystem type's wants resolved to */
  private bootFsRoots = new Map<MountFstype, Ref[]>();

  constructor(private indexes: ModuleIndex[]) {}

  private searched(): string {
    return this.indexes.map((i) => i.source.label).join(", ");
  }

  /** The first source whose modules.dep lists the module and whose tree has its file. */
  private find(name: string): Ref | undefined {
    let listed: Ref | undefined;
    for (const idx of this.indexes) {
      const entry = idx.modules.get(name);
      if (!entry) continue;
      listed ??= { idx, entry };
      if (moduleFile(idx, entry)) return { idx, entry };
    }
    if (listed) {
      throw new FormatError("modules.dep", undefined, `${listed.entry.path} is listed but the file is missing (searched ${this.searched()})`, listed.idx.source.label);
    }
    return undefined;
  }

  private isBuiltin(name: string): boolean {
    return this.indexes.some((i) => i.builtin.has(name));
  }

  private resolve(name: string): Resolution {
    const n = normalizeModuleName(name);
    const direct = this.find(n);
    if (direct) return { kind: "modules", refs: [direct], viaAlias: false };
    if (this.isBuiltin(n)) return { kind: "builtin", name: n };
    const alias = normalizeAlias(name);
    for (const idx of this.indexes) {
      const b = idx.builtinAliases.get(alias);
      if (b?.length) return { kind: "builtin", name: b[0] };
    }
    for (const idx of this.indexes) {
      const names = matchAlias(idx, alias);
      if (!names.length) continue;
      if (names.some((m) => this.isBuiltin(m))) return { kind: "builtin", name: names.find((m) => this.isBuiltin(m))! };
      const refs = names.map((m) => this.find(m)).filter((r): r is Ref => !!r);
      if (refs.length) return { kind: "modules", refs, viaAlias: true };
    }
    return { kind: "none" };
  }

  private isCpuSpecific(r: Ref): boolean {
    return this.indexes.some((i) => i.cpuSpecific.has(r.entry.name));
  }

  want(w: ModuleWant): void {
    const r = this.resolve(w.name);
    if (r.kind === "none") {
      if (w.ifAvailable) return void this.missing.push(w.name);
      const hint = w.why?.startsWith("integrity") ? `; ${w.why} needs it: name a --modules-dir that has it, or choose --integrity copy` : "";
      throw new UsageError(`module ${w.name} not found: not in modules.dep, modules.builtin or modules.alias of ${this.searched()}${hint}`);
    }
    if (r.kind === "builtin") this.builtin.push(w.name);
    else {
      let refs = r.refs;
      // an alias several modules provide: leave out the CPU-specific ones while a generic one remains
      if (r.viaAlias && refs.length > 1 && refs.some((x) => !this.isCpuSpecific(x))) {
        for (const x of refs.filter((x) => this.isCpuSpecific(x))) this.skip(x.entry.name, `CPU-specific provider of ${w.name}`);
        refs = refs.filter((x) => !this.isCpuSpecific(x));
      }
      if (w.bootFs) this.bootFsRoots.set(w.bootFs, [...(this.bootFsRoots.get(w.bootFs) ?? []), ...refs]);
      else if (!w.storageModule) this.alwaysRoots.push(...refs);
      if (!w.optionalModule) this.requiredRoots.push(...refs);
      for (const ref of refs) {
        const why = w.why ?? "requested";
        this.visit(ref, normalizeModuleName(w.name) === ref.entry.name ? why : `${why} (${w.name})`);
      }
    }
    for (const c of w.with ?? []) this.want({ why: `needed by ${w.name}`, storageModule: w.storageModule, optionalModule: w.optionalModule, bootFs: w.bootFs, ...c });
  }

  /**
   * A module is a storage module only if no other want reaches it through dependencies or
   * softdeps; the others are closed under both, so loading them first keeps the order valid.
   * Likewise it may fail only if no want that must load reaches it. A boot filesystem's module
   * is one only one type's wants reach: what a storage driver or another type needs too is
   * always loaded, so each type's set needs nothing loaded later.
   */
  markLoadKinds(): void {
    const always = this.reach(this.alwaysRoots), required = this.reach(this.requiredRoots);
    const byType = [...this.bootFsRoots].map(([t, roots]) => [t, this.reach(roots)] as const);
    const storage = this.reach(this.order.filter((m) => !always.has(m.name) && !byType.some(([, r]) => r.has(m.name))).map((m) => this.find(m.name)!));
    for (const m of this.order) {
      const types = byType.filter(([, r]) => r.has(m.name)).map(([t]) => t);
      const bootFs = !always.has(m.name) && !storage.has(m.name) && types.length === 1 ? types[0] : undefined;
      const loadedFirst = always.has(m.name) || (types.length > 0 && bootFs === undefined);
      m.storageModule = !loadedFirst && !bootFs;
      m.optionalModule = !required.has(m.name);
      if (bootFs) m.bootFs = bootFs;
    }
  }

  /** The selected modules these roots lead to through dependencies and softdeps. */
  private reach(roots: Ref[]): Set<string> {
    const selected = new Set(this.order.map((m) => m.name));
    const seen = new Set<string>();
    const stack = [...roots];
    while (stack.length) {
      const ref = stack.pop()!;
      const name = ref.entry.name;
      if (seen.has(name) || !selected.has(name)) continue;
      seen.add(name);
      for (const d of ref.entry.deps) {
        const dep = this.find(d);
        if (dep) stack.push(dep);
      }
      const soft = this.softdeps(name);
      for (const sd of [...soft.pre, ...soft.post]) {
        const r = this.resolve(sd);
        if (r.kind === "modules") stack.push(...r.refs);
      }
    }
    return seen;
  }

  private visit(ref: Ref, reason: string): void {
    const name = ref.entry.name;
    const st = this.state.get(name);
    if (st === "done") return;
    if (st === "visiting") {
      const cycle = [...this.stack.slice(this.stack.indexOf(name)), name].join(" -> ");
      throw new FormatError("modules.dep", undefined, `dependency cycle: ${cycle}`, ref.idx.source.label);
    }
    this.state.set(name, "visiting");
    this.stack.push(name);
    // modules.dep lists what a module needs in reverse load order (modprobe loads from the end)
    for (const d of [...ref.entry.deps].reverse()) {
      const dep = this.find(d);
      if (dep) this.visit(dep, `dependency of ${name}`);
      else if (!this.isBuiltin(d)) {
        throw new FormatError("modules.dep", undefined, `${name} needs ${d}, which is not in modules.dep`, ref.idx.source.label);
      }
    }
    // then its pre: softdeps, right before it, as kmod orders them
    const soft = this.softdeps(name);
    for (const s of soft.pre) this.visitSoft(s, name);
    const file = moduleFile(ref.idx, ref.entry)!;
    this.order.push({
      name, path: ref.entry.path, source: ref.idx.source.label, node: file.node, size: file.node.content.size,
      compression: ref.entry.compression, needs: ref.entry.deps, reason, storageModule: false, optionalModule: false,
    });
    this.stack.pop();
    this.state.set(name, "done");
    for (const s of soft.post) this.visitSoft(s, name);
  }

  private softdeps(name: string) {
    for (const idx of this.indexes) {
      const sd = idx.softdeps.get(name);
      if (sd) return sd;
    }
    return { pre: [], post: [] };
  }

  /** Each left-out module once, with the first reason. */
  private skip(name: string, reason: string): void {
    if (!this.skipped.some((s) => s.name === name)) this.skipped.push({ name, reason });
  }

  /** Soft dependencies are best effort, as in modprobe: missing or looping ones are skipped. */
  private visitSoft(dep: string, owner: string): void {
    const r = this.resolve(dep);
    if (r.kind === "builtin") return;
    if (r.kind === "none") return this.skip(dep, `softdep of ${owner}: not found`);
    for (const ref of r.refs) {
      if (this.isCpuSpecific(ref)) {
        this.skip(ref.entry.name, `softdep of ${owner} (${dep}): CPU-specific`);
        continue;
      }
      if (this.state.get(ref.entry.name) === "visiting") continue;
      this.visit(ref, `softdep of ${owner}${dep === ref.entry.name ? "" : ` (${dep})`}`);
    }
  }
}

const COMPRESS_OPTION: Record<Exclude<ModuleCompression, "none">, string> = {
  xz: "CONFIG_MODULE_COMPRESS_XZ",
  zstd: "CONFIG_MODULE_COMPRESS_ZSTD",
  gzip: "CONFIG_MODULE_COMPRESS_GZIP",
};

/**
 * storage-init loads compressed modules with finit_module(MODULE_INIT_COMPRESSED_FILE): the
 * kernel then needs CONFIG_MODULE_DECOMPRESS and its one compiled-in format. Better a build error
 * now than a panic at boot.
 */
function checkCompression(sel: ModuleSelection, req: ModuleRequest): void {
  if (req.decompress) return;
  const compressed = sel.modules.filter((m) => m.compression !== "none");
  if (!compressed.length) return;
  const list = compressed.slice(0, 3).map((m) => m.path).join(", ") + (compressed.length > 3 ? `, ... (${compressed.length} in all)` : "");
  const fix = "or let the build decompress them (--decompress-modules)";
  const cfg = req.kernelConfig;
  if (!cfg) {
    throw new UnsupportedError("modules", undefined, `compressed modules are needed (${list}) and no kernel config tells whether kernel ${sel.kver} can load them: name it with --kernel-config, ${fix}`);
  }
  if (!configIsY(cfg, "CONFIG_MODULE_DECOMPRESS")) {
    throw new UnsupportedError("modules", undefined, `kernel ${sel.kver} cannot load compressed modules (CONFIG_MODULE_DECOMPRESS is not set in ${cfg.source}) but these are compressed: ${list}; ${fix}`);
  }
  for (const m of compressed) {
    const opt = COMPRESS_OPTION[m.compression as Exclude<ModuleCompression, "none">];
    if (!configIsY(cfg, opt)) {
      throw new UnsupportedError("modules", undefined, `kernel ${sel.kver} decompresses modules of one format only and ${opt} is not set in ${cfg.source}: cannot load ${m.path}; ${fix}`);
    }
  }
}

/** Modules taken from another directory must be built for the same kernel as the initramfs's own. */
function checkVermagic(sel: ModuleSelection, primaryLabel: string): void {
  const plain = sel.modules.filter((m) => m.compression === "none");
  const ref = plain.find((m) => m.source === primaryLabel);
  if (!ref) return;
  const want = modinfoVermagic(ref.node.content.read());
  if (want === undefined) return;
  for (const m of plain) {
    if (m.source === primaryLabel) continue;
    const got = modinfoVermagic(m.node.content.read());
    if (got !== undefined && got !== want) {
      throw new FormatError("modules", undefined, `${m.source}: ${m.path} was built for "${got}" but the initramfs's modules for "${want}": not the same kernel`);
    }
  }
}

export type { ModuleSource } from "./index-files.js";
