/**
 * Which architecture a build is for. The kernel's modules say it (the ELF machine of a .ko file,
 * in the initramfs or the modules directory); with no modules at all, --arch or the storage-init
 * binary named with --storage-init does. Never the machine the build runs on: a pair for an arm64
 * board is built on an x86-64 machine as well. Everything that must agree is checked here, before
 * anything is written: --arch, the kernel config, the storage-init binary, each module taken.
 */
import { FormatError, UsageError } from "../errors.js";
import { Arch, ARCH_INFO, ARCHES } from "../formats/elf/arch.js";
import { archOfElf, describeElf, readElfIdent } from "../formats/elf/elf.js";
import { FileContent, FileNode } from "../fs/tree.js";
import { readStorageInit, storageInitPath } from "../io/package-files.js";
import { KernelConfig } from "./kernel.js";
import { decompressModule } from "./modules/decompress.js";
import { ModuleSource, parseModulesDep } from "./modules/index-files.js";
import { ModuleCompression } from "./modules/names.js";
import { readTreeFile, resolvePath } from "./modules/tree-path.js";

/** What decided the architecture, as build --json reports it. */
export interface ArchChoice {
  name: Arch;
  /** modules: a module's ELF machine; --arch: named (the kernel has no modules); storage-init: the --storage-init binary's ELF machine (no modules, no --arch) */
  from: "modules" | "--arch" | "storage-init";
  /** the file that decided: a module ("initramfs: kernel/fs/erofs/erofs.ko", "/lib/modules/KVER: kernel/..."), the storage-init binary; null for --arch */
  file: string | null;
}

/** A module's architecture, and where it is, for messages. */
export interface ModuleArch {
  arch: Arch;
  file: string;
}

/**
 * The architecture of a modules directory, from one module: the first uncompressed one in
 * modules.dep order, else the smallest compressed one (decompressed). Undefined when the
 * directory lists no module file that is there (a kernel with everything built in).
 */
export async function modulesArch(source: ModuleSource): Promise<ModuleArch | undefined> {
  const dir = resolvePath(source.tree, source.dir);
  if (!dir || dir.node.kind !== "dir") return undefined;
  const at = (p: string) => (dir.path ? `${dir.path}/${p}` : p);
  const dep = readTreeFile(source.tree, at("modules.dep"));
  if (!dep) return undefined;
  const entries = parseModulesDep(Buffer.from(dep).toString("latin1"), `${source.label}: ${at("modules.dep")}`);
  // named as everywhere else: the source, then the path modules.dep has
  let smallest: { file: string; node: FileNode; compression: ModuleCompression } | undefined;
  for (const e of entries.values()) {
    const r = resolvePath(source.tree, e.path.startsWith("/") ? e.path : at(e.path));
    if (!r || r.node.kind !== "file") continue;
    const file = `${source.label}: ${e.path}`;
    if (e.compression === "none") return { arch: moduleElfArch(r.node.content.read(), file), file };
    if (!smallest || r.node.content.size < smallest.node.content.size) smallest = { file, node: r.node, compression: e.compression };
  }
  if (!smallest) return undefined;
  const { file } = smallest;
  return { arch: moduleElfArch(await decompressModule(smallest.node.content.read(), smallest.compression, file), file), file };
}

/** A kernel module's architecture; one of ours or a FormatError naming the file. */
export function moduleElfArch(bytes: Uint8Array, file: string): Arch {
  const arch = archOfElf(bytes, file);
  if (!arch) throw new FormatError("ELF", 18, `a kernel module for ${describeElf(readElfIdent(bytes, file))}: initoverlayfs builds for ${ARCHES.join(" and ")}`, file);
  return arch;
}

export interface ArchRequest {
  /** --arch */
  arch?: Arch;
  /** each modules directory's architecture (the initramfs's, the host's), where it has modules */
  modules: ModuleArch[];
  kernelConfig?: KernelConfig;
  /** --storage-init: a binary named by the user */
  storageInit?: string;
}

/**
 * The architecture, and storage-init for it: the binary named (which must be built for it) or
 * this package's. Each contradiction is one UsageError naming the files.
 */
export function chooseArch(r: ArchRequest): { arch: ArchChoice; storageInit: FileContent; storageInitPath: string } {
  const [first, ...rest] = r.modules;
  const other = rest.find((m) => m.arch !== first.arch);
  if (first && other) throw new UsageError(`modules of two architectures: ${first.file} is ${first.arch}, ${other.file} is ${other.arch}: name a --modules-dir of the initramfs's kernel`);
  const named = r.storageInit !== undefined ? { path: r.storageInit, content: readStorageInit(r.storageInit) } : undefined;
  let arch: ArchChoice;
  if (first) {
    if (r.arch !== undefined && r.arch !== first.arch) throw new UsageError(`--arch ${r.arch} contradicts the kernel's modules: ${first.file} is ${first.arch}`);
    arch = { name: first.arch, from: "modules", file: first.file };
  } else if (r.arch !== undefined) {
    arch = { name: r.arch, from: "--arch", file: null };
  } else if (named) {
    arch = { name: storageInitArch(named.content, named.path), from: "storage-init", file: named.path };
  } else {
    throw new UsageError(`cannot tell which architecture the kernel is for: it has no modules (all built in?): name it with --arch ${ARCHES.join(" or ")}`);
  }
  checkKernelConfig(arch, r.kernelConfig);
  const path = named?.path ?? storageInitPath(arch.name);
  const content = named?.content ?? readStorageInit(path);
  const got = storageInitArch(content, path);
  if (got !== arch.name) {
    throw new UsageError(`${path}: storage-init is built for ${got}, but the kernel is ${arch.name} (${describeChoice(arch)}): name storage-init for ${arch.name} with --storage-init, or build it with make -C storage-init ${arch.name}`);
  }
  return { arch, storageInit: content, storageInitPath: path };
}

/** storage-init's architecture: a static program for one of ours. */
function storageInitArch(content: FileContent, path: string): Arch {
  const bytes = content.read();
  const arch = archOfElf(bytes, path);
  if (!arch) throw new UsageError(`${path}: storage-init is built for ${describeElf(readElfIdent(bytes, path))}; initoverlayfs builds for ${ARCHES.join(" and ")}`);
  return arch;
}

/** A kernel config of another architecture would misjudge what the kernel can load. */
function checkKernelConfig(arch: ArchChoice, config: KernelConfig | undefined): void {
  if (!config) return;
  const says = ARCHES.find((a) => config.options.get(ARCH_INFO[a].kernelConfig) === "y");
  if (says !== undefined && says !== arch.name) {
    throw new UsageError(`${config.source}: the config of an ${says} kernel (${ARCH_INFO[says].kernelConfig}=y), but the kernel is ${arch.name} (${describeChoice(arch)}): name its config with --kernel-config`);
  }
}

export function describeChoice(a: ArchChoice): string {
  if (a.from === "modules") return `its module ${a.file}`;
  if (a.from === "--arch") return "--arch";
  return `the --storage-init binary ${a.file}`;
}

/** Every module taken whose bytes are plain must be built for the architecture. */
export function checkModuleArch(modules: { bytes: Uint8Array; file: string }[], arch: ArchChoice): void {
  for (const m of modules) {
    const got = moduleElfArch(m.bytes, m.file);
    if (got !== arch.name) throw new UsageError(`${m.file} is an ${got} module, but the kernel is ${arch.name} (${describeChoice(arch)})`);
  }
}
