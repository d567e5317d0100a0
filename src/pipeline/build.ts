/**
 * `initoverlayfs build`: one original initramfs in, two files out: the EROFS image of all of it,
 * and the mini initramfs that mounts that image at boot. Everything is computed before anything is
 * written, so a bad selection or option leaves no half-made output.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { UsageError } from "../errors.js";
import {
  absolutePathProblem, BOOT_SPEC_ESP, BootFstype, bootSpecProblem, BUILD_DEFAULTS, checked, defaultImagePath, FailurePolicy, FAILURE_POLICIES, IntegrityConfig,
  MiniCompression, MINI_COMPRESSION_CHOICES, MiniCompressionChoice, renderConfig, SYSEXT_CERT_PATH, SYSEXT_ROOTHASH_KEY, sysextRootHashProblem, VERITY_BLOCK_SIZE,
  LIMITS, MountFstype,
} from "../formats/storage-init-config/index.js";
import { bytesContent, displayName, FileContent, FsTree, Timestamp, toByteString, TreeStats, treeStats } from "../fs/tree.js";
import { EarlyArchives } from "../initramfs/early.js";
import { InitramfsSegment } from "../initramfs/read.js";
import { fsyncDir, writeFileAtomic } from "../io/atomic-file.js";
import { readDirTree } from "../io/dir-reader.js";
import { verifyDdi } from "../integrity/ddi-file.js";
import { loadCertificate } from "../integrity/signature.js";
import { outputModeFor } from "../io/file-mode.js";
import { Arch, archProblem } from "../formats/elf/arch.js";
import { ArchChoice, checkModuleArch, chooseArch, ModuleArch, modulesArch } from "./arch.js";
import { formatUuid, loadCompressing, timestampFromEnv, writeImage } from "./convert.js";
import { CompressionSettings, TreeCompressor, withCompressor } from "./compress-tree.js";
import { checkKver, findInitramfs, findKernelConfig, findModulesDir, KernelConfig, readKernelConfig, runningKernel } from "./kernel.js";
import { packMiniInitramfs } from "./mini-initramfs.js";
import { chooseMiniCompression } from "./mini-compression.js";
import { decompressModule } from "./modules/decompress.js";
import { probeBootFstype } from "./probe-boot.js";
import { AUTO_FSTYPES, bootFsModules, buildWants, DEFAULT_FSTYPES, FSTYPE_MODULE } from "./modules/defaults.js";
import { ModuleSource } from "./modules/index-files.js";
import { uncompressedModulePath, ModuleCompression } from "./modules/names.js";
import { initramfsModuleSource, kernelVersionsIn, ModuleSelection, requireInitramfsModules, selectModules } from "./modules/select.js";
import { findSwitchRootPrograms } from "./modules/shims.js";
import { ModprobeOption, modprobeOptions, moduleParams } from "./modules/modprobe-options.js";
import { resolvePath } from "./modules/tree-path.js";
import { checkSealOptions, sealImage, SealOptions } from "./seal-image.js";

export interface BuildOptions {
  /** the original initramfs (file or directory); default: the one /boot has for kver */
  initramfs?: string;
  /** default: the initramfs's only lib/modules/* when --initramfs is named, else `uname -r` */
  kver?: string;
  /** the boot partition: UUID=..., LABEL=..., PARTUUID=..., PARTLABEL=..., /dev/... or esp (BOOT_SPEC_ESP) */
  boot: string;
  /** default: the boot device's type if this machine sees it, else ext4 and vfat; auto: every type storage-init tries */
  bootFstype?: BootFstype;
  bootFlags?: string;
  /** default "initoverlayfs-out" */
  outputDir?: string;
  /** writing into /boot is refused without it */
  allowBoot?: boolean;
  /** the kernel's architecture when it has no modules to tell (must agree with them otherwise) */
  arch?: Arch;
  /** default: this package's storage-init for the kernel's architecture (storageInitPath) */
  storageInit?: string;
  miniCompression?: MiniCompressionChoice;
  addModules?: string[];
  /** the default storage driver set (default true) */
  defaultModules?: boolean;
  /** where modules the initramfs lacks come from; default /lib/modules/KVER; false: nowhere */
  modulesDir?: string | false;
  /** default /boot/config-KVER or /lib/modules/KVER/config when present */
  kernelConfig?: string;
  decompressModules?: boolean;
  /** init of the image to hand over to (default BUILD_DEFAULTS.init) */
  init?: string;
  /** the image's path on the boot partition (default defaultImagePath(kver)) */
  imagePath?: string;
  timeout?: number;
  failure?: FailurePolicy;
  /** false: storage-init ignores initoverlayfs.* on the kernel command line (config `cmdline = no`) */
  cmdline?: boolean;
  /** every inode's mtime in both outputs (default $SOURCE_DATE_EPOCH; the mini uses 0 without it) */
  timestamp?: Timestamp;
  strict?: boolean;
  /** the most the initramfs may unpack to (default DEFAULT_MAX_UNPACKED) */
  maxUnpackedBytes?: number;
  /** which image the mini initramfs accepts (default BUILD_DEFAULTS.integrity) */
  integrity?: SealOptions["mode"];
  /** dm-verity tree hash or fs-verity digest algorithm */
  integrityHash?: string;
  /** dm-verity salt (hex, "" for none); default derived from the image */
  veritySalt?: string;
  /** dm-verity: sign the root hash (PEM files); the kernel checks it against its trusted keys */
  signKey?: string;
  signCert?: string;
  /** plain (default) or ddi: the image as a Discoverable Disk Image (dm-verity only) */
  imageFormat?: SealOptions["imageFormat"];
  /** system extension images (`sysext`) whose root hashes the mini pins (dm-verity only) */
  sysext?: string[];
  /** extension root hashes pinned as they are (install.conf sysext_roothash) */
  sysextRootHashes?: string[];
  /** a certificate (PEM or DER) whose signed extensions storage-init may stack, stored as DER at SYSEXT_CERT_PATH */
  sysextCert?: string;
  /** EROFS compression; default LZ4HC level 9 with 4 KiB pclusters; null: uncompressed */
  compression?: CompressionSettings | null;
  onProgress?: (done: number, total: number) => void;
}

export interface BuiltModule {
  name: string;
  /** in the mini initramfs */
  path: string;
  source: string;
  bytes: number;
  compression: ModuleCompression;
  needs: string[];
  reason: string;
  /** a storage module: storage-init loads it only while the boot device is missing */
  storageModule: boolean;
  /** an optional module: the kernel may refuse it at boot (a CPU-accelerated variant) and storage-init carries on */
  optionalModule: boolean;
  /** a boot filesystem's module: loaded only before the boot partition is mounted as this type */
  bootFs?: MountFstype;
  /** the initramfs's modprobe.d options for it, which storage-init loads it with */
  params?: string;
}

export interface BuildResult {
  kver: string;
  /** the kernel's architecture and what said so; storage-init and every module are built for it */
  arch: ArchChoice;
  input: { path: string; bytes: number; segments: InitramfsSegment[] };
  image: { path: string; bytes: number; uuid: string; stats: TreeStats; compressedFiles: number; seconds: number };
  /** what the mini initramfs checks the image against */
  integrity: IntegrityConfig;
  mini: {
    path: string; bytes: number; cpioBytes: number; compression: MiniCompression; moduleBytes: number; storageInit: string; seconds: number;
    /** the original's early archives (microcode, ACPI tables), carried first and unchanged: the mini's first `early.bytes` bytes */
    early: EarlyArchives;
  };
  /** in load order */
  modules: BuiltModule[];
  builtin: string[];
  missing: string[];
  skipped: { name: string; reason: string }[];
  shims: string[];
  config: string;
  kernelConfig: string | null;
  hostModules: string | null;
  warnings: string[];
  seconds: number;
}

/** the image `build` writes: LZ4HC (level 9, as mkfs.erofs -zlz4hc) in 4 KiB pclusters, readable by Linux 5.3+ */
export const DEFAULT_BUILD_COMPRESSION: CompressionSettings = { algorithm: "lz4hc", level: 9, maxPclusterBytes: 4096, index: "compact" };

const clock = () => Number(process.hrtime.bigint()) / 1e9;

/** Refuses /boot (where a wrong name replaces what the bootloader loads) unless allowed. */
function checkOutputDir(dir: string, allowBoot: boolean): string {
  const abs = resolve(dir);
  // the nearest existing ancestor decides (a symlink into /boot counts)
  let p = abs;
  const rest: string[] = [];
  while (!existsSync(p) && dirname(p) !== p) rest.unshift(basename(p)), (p = dirname(p));
  const real = join(realpathSync(p), ...rest);
  const boot = existsSync("/boot") ? realpathSync("/boot") : "/boot";
  const inBoot = real === boot || real.startsWith(boot + sep);
  if (inBoot && !allowBoot) throw new UsageError(`refusing to write into ${boot} (${dir}): pass --allow-boot to do so`);
  return abs;
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export function checkBuildOptions(o: BuildOptions): void {
  checked("--boot", o.boot, bootSpecProblem(o.boot));
  if (o.bootFstype !== undefined) bootFsModules(o.bootFstype);
  if (o.init !== undefined) checked("--init", o.init, absolutePathProblem(o.init));
  if (o.imagePath !== undefined) checked("--image-path", o.imagePath, absolutePathProblem(o.imagePath));
  if (o.miniCompression !== undefined && !MINI_COMPRESSION_CHOICES.includes(o.miniCompression)) {
    throw new UsageError(`--mini-compression: expected ${MINI_COMPRESSION_CHOICES.join(", ")}, got ${JSON.stringify(o.miniCompression)}`);
  }
  if (o.failure !== undefined && !FAILURE_POLICIES.includes(o.failure)) {
    throw new UsageError(`--failure: expected ${FAILURE_POLICIES.join(", ")}, got ${JSON.stringify(o.failure)}`);
  }
  if (o.kver !== undefined) checkKver(o.kver);
  if (o.arch !== undefined) checked("--arch", o.arch, archProblem(o.arch));
  checkSealOptions(sealOptions(o));
}

/** `arch`: the kernel's, once the build has chosen it (a DDI's partition types follow it) */
function sealOptions(o: BuildOptions, arch?: Arch): SealOptions {
  return {
    mode: o.integrity ?? BUILD_DEFAULTS.integrity, hashAlgorithm: o.integrityHash, salt: o.veritySalt, signKey: o.signKey, signCert: o.signCert,
    imageFormat: o.imageFormat, ddiArch: arch ?? o.arch,
  };
}

export async function buildPair(options: BuildOptions): Promise<BuildResult> {
  const t0 = clock();
  checkBuildOptions(options);
  // an EFI System Partition is FAT (UEFI specification, 13.3)
  const o = options.boot === BOOT_SPEC_ESP && options.bootFstype === undefined ? { ...options, bootFstype: "vfat" as const } : options;
  const compression = o.compression === null ? undefined : o.compression ?? DEFAULT_BUILD_COMPRESSION;
  // the workers boot while the initramfs loads, then compress each file as it is unpacked
  return withCompressor(compression, async (compressor) => {
    const input = await loadInput(o, compressor);
    // module selection keeps this thread busy for a while: the workers go on without it
    compressor?.handOutAll();
    const kernel = resolveKernel(o, input);
    const mini = await planMini(o, input, kernel);
    const written = await writePair(o, kernel.kver, input, mini, compressor);
    return {
      kver: kernel.kver,
      arch: mini.arch,
      input: { path: input.path, bytes: input.bytes, segments: input.segments },
      image: { ...written.image, stats: treeStats(input.tree) },
      integrity: written.integrity,
      mini: { ...written.mini, early: input.early, moduleBytes: mini.modules.reduce((s, m) => s + m.bytes, 0), storageInit: mini.storageInitPath, seconds: mini.seconds + written.mini.seconds },
      modules: mini.modules,
      builtin: mini.selection.builtin,
      missing: mini.selection.missing,
      skipped: mini.selection.skipped,
      shims: mini.shims,
      config: displayName(written.config),
      kernelConfig: kernel.configPath ?? null,
      hostModules: kernel.hostDir ?? null,
      warnings: [...input.warnings, ...pinWarnings(o)],
      seconds: clock() - t0,
    };
  });
}

/** What the integrity mode means for the boot filesystem once storage-init hands over. */
function pinWarnings(o: BuildOptions): string[] {
  if ((o.integrity ?? BUILD_DEFAULTS.integrity) !== "fs-verity") return [];
  return ["integrity fs-verity: the boot filesystem stays mounted while the image is in use (fs-verity checks reads through it): "
    + "the system cannot mount it read-write while an initramfs process survives the switch-root, and /boot must not be a directory of the root filesystem; dm-verity and copy leave it free"];
}

interface Input {
  path: string;
  /** the kernel version when named or found before loading (not inferred from the tree yet) */
  kver?: string;
  tree: FsTree;
  bytes: number;
  segments: InitramfsSegment[];
  warnings: string[];
  outDir: string;
  early: EarlyArchives;
  earlyData: Uint8Array;
}

/** Finds and loads the original initramfs, offering each file to the compressor as it appears. */
async function loadInput(o: BuildOptions, compressor: TreeCompressor | undefined): Promise<Input> {
  let kver = o.kver;
  const path = o.initramfs ?? findInitramfs((kver ??= checkKver(runningKernel())));
  const outDir = checkOutputDir(o.outputDir ?? "initoverlayfs-out", !!o.allowBoot);
  const loaded = await loadCompressing(path, { strict: o.strict, onProgress: o.onProgress, maxUnpackedBytes: o.maxUnpackedBytes }, compressor);
  return {
    path, kver, tree: loaded.tree, bytes: loaded.inputBytes, segments: loaded.segments, outDir, early: loaded.early, earlyData: loaded.earlyData,
    warnings: loaded.warnings.map((w) => `${w.source}: offset ${w.offset}: ${w.message}`),
  };
}

interface Kernel {
  kver: string;
  configPath?: string;
  config?: KernelConfig;
  /** where modules the initramfs lacks come from */
  hostDir?: string;
  extraSources: ModuleSource[];
}

/** The kernel version, its config and the host's modules directory for it. */
function resolveKernel(o: BuildOptions, input: Input): Kernel {
  const kver = input.kver ?? inferKver(input.tree, input.path);
  const configPath = o.kernelConfig ?? findKernelConfig(kver);
  const hostDir = o.modulesDir === false ? undefined : o.modulesDir ?? findModulesDir(kver);
  const extraSources: ModuleSource[] = [];
  if (hostDir) {
    if (!existsSync(join(hostDir, "modules.dep"))) throw new UsageError(`--modules-dir: ${hostDir} has no modules.dep`);
    extraSources.push({ label: hostDir, tree: readDirTree(hostDir), dir: "" });
  }
  return { kver, configPath, config: configPath ? readKernelConfig(configPath) : undefined, hostDir, extraSources };
}

function inferKver(tree: FsTree, initramfs: string): string {
  const have = kernelVersionsIn(tree);
  if (have.length === 1) return have[0];
  throw new UsageError(`${initramfs}: ${have.length ? `modules for several kernels (${have.join(", ")})` : "no lib/modules/*/modules.dep"}: name the kernel with --kver`);
}

interface MiniPlan {
  arch: ArchChoice;
  storageInit: FileContent;
  storageInitPath: string;
  selection: ModuleSelection;
  /** module files: path inside the archive without the leading slash */
  files: { path: string; content: FileContent }[];
  /** the extension signer's certificate, if any (same form) */
  sysextFiles: { path: string; content: FileContent }[];
  modules: BuiltModule[];
  shims: string[];
  /** renders the config once the image's integrity setting is known */
  configFor: (integrity?: IntegrityConfig) => string;
  compression: MiniCompression;
  seconds: number;
}

/** Everything the mini initramfs holds but the integrity setting, checked before anything is written. */
async function planMini(o: BuildOptions, input: Input, kernel: Kernel): Promise<MiniPlan> {
  const compression = chooseMiniCompression(o.miniCompression ?? BUILD_DEFAULTS.miniCompression, kernel);
  requireInitramfsModules(input.tree, kernel.kver);
  const found: ModuleArch[] = [];
  for (const source of [initramfsModuleSource(input.tree, kernel.kver), ...kernel.extraSources]) {
    const m = await modulesArch(source);
    if (m) found.push(m);
  }
  const { arch, storageInit, storageInitPath } = chooseArch({ arch: o.arch, modules: found, kernelConfig: kernel.config, storageInit: o.storageInit });
  const selection = selectMiniModules(o, input.tree, kernel, arch.name);
  const shims = findSwitchRootPrograms(input.tree);
  checkInit(input, o.init ?? BUILD_DEFAULTS.init);
  const t = clock();
  const { files, modules } = await moduleFiles(o, kernel.kver, selection, arch, modprobeOptions(input.tree));
  const sysext = await sysextPins(o);
  const configFor = (integrity?: IntegrityConfig) => renderConfig({
    integrity,
    comment: `written by initoverlayfs build for kernel ${kernel.kver}`,
    boot: o.boot,
    bootfstype: o.bootFstype && o.bootFstype !== "auto" ? o.bootFstype : undefined,
    bootflags: o.bootFlags,
    image: o.imagePath ?? defaultImagePath(kernel.kver),
    init: o.init ?? BUILD_DEFAULTS.init,
    timeout: o.timeout ?? BUILD_DEFAULTS.timeout,
    failure: o.failure ?? BUILD_DEFAULTS.failure,
    cmdline: o.cmdline,
    modules: files.map((f, i) => ({ path: "/" + f.path, params: modules[i].params, storageModule: modules[i].storageModule, optionalModule: modules[i].optionalModule, bootFs: modules[i].bootFs })),
    shims,
    ...(sysext.rootHashes.length ? { sysextRootHashes: sysext.rootHashes } : {}),
  });
  configFor(); // refuses a config storage-init would refuse before anything is written
  return { arch, storageInit, storageInitPath, selection, files, sysextFiles: sysext.files, modules, shims, configFor, compression, seconds: clock() - t };
}

/**
 * The extensions' root hashes, each recomputed from its data (a DDI that does not verify is
 * refused), and the signer certificate as a mini initramfs file.
 */
async function sysextPins(o: BuildOptions): Promise<{ rootHashes: string[]; files: MiniPlan["files"] }> {
  const given = o.sysext ?? [];
  if ((given.length || o.sysextRootHashes?.length || o.sysextCert !== undefined) && (o.integrity ?? BUILD_DEFAULTS.integrity) !== "dm-verity") {
    throw new UsageError("--sysext, --sysext-cert: need --integrity dm-verity (storage-init checks extensions with dm-verity)");
  }
  const rootHashes = await extensionRootHashes(given);
  for (const h of o.sysextRootHashes ?? []) {
    const p = sysextRootHashProblem(h);
    if (p) throw new UsageError(`${SYSEXT_ROOTHASH_KEY}: ${p}`);
    if (!rootHashes.includes(h.toLowerCase())) rootHashes.push(h.toLowerCase());
  }
  const files: MiniPlan["files"] = [];
  if (o.sysextCert !== undefined) files.push({ path: SYSEXT_CERT_PATH.slice(1), content: bytesContent(loadCertificate(readFileSync(o.sysextCert), o.sysextCert).raw) });
  return { rootHashes, files };
}

/** Each extension file verified (every hash block recomputed) and its root hash, as storage-init will pin it; a bad one is a UsageError naming it. */
export async function extensionRootHashes(given: readonly string[]): Promise<string[]> {
  const rootHashes: string[] = [];
  for (const f of given) {
    const r = await verifyDdi(f);
    if (!r.ok) throw new UsageError(`--sysext ${r.reason}`);
    if (r.info.params.algorithm !== "sha256" || r.info.params.dataBlockSize !== VERITY_BLOCK_SIZE || r.info.params.hashBlockSize !== VERITY_BLOCK_SIZE) {
      throw new UsageError(`--sysext ${f}: storage-init takes sha256 dm-verity with ${VERITY_BLOCK_SIZE}-byte blocks, this is ${r.info.params.algorithm} with ${r.info.params.dataBlockSize}/${r.info.params.hashBlockSize}`);
    }
    // a usr partition's filesystem is /usr: storage-init copies it under /usr in RAM, so only a small one
    if (r.info.parts.kind === "usr" && r.info.params.dataBlocks * VERITY_BLOCK_SIZE > LIMITS.sysextRam) {
      throw new UsageError(`--sysext ${f}: a usr partition of over ${LIMITS.sysextRam >> 20} MiB; storage-init stacks a usr partition only from RAM (a root partition has no such limit)`);
    }
    if (!rootHashes.includes(r.rootHash)) rootHashes.push(r.rootHash);
  }
  return rootHashes;
}

/** The modules for the boot filesystem, storage drivers, storage-init's mounts and the integrity mode. */
function selectMiniModules(o: BuildOptions, tree: FsTree, kernel: Kernel, arch: Arch): ModuleSelection {
  // no type named: the boot device's type if this machine can see it (building for itself)
  const probed = o.bootFstype === undefined ? probeBootFstype(o.boot) : undefined;
  const fstype = o.bootFstype ?? (probed && Object.hasOwn(FSTYPE_MODULE, probed) ? (probed as BootFstype) : undefined);
  const seal = sealOptions(o);
  const wants = buildWants({
    arch, add: o.addModules, defaultStorage: o.defaultModules, fstype, kernelConfig: kernel.config, efivars: o.boot === BOOT_SPEC_ESP,
    integrity: { mode: seal.mode, hashAlgorithm: seal.hashAlgorithm },
  });
  const sel = selectModules(tree, kernel.kver, { wants, extraSources: kernel.extraSources, kernelConfig: kernel.config, decompress: o.decompressModules });
  checkBootFs(sel, fstype);
  return sel;
}

/** With no type named, storage-init tries every type: at least one must be there. */
function checkBootFs(sel: ModuleSelection, fstype: string | undefined): void {
  if (fstype !== undefined && fstype !== "auto") return;
  const wanted = (fstype === "auto" ? AUTO_FSTYPES : DEFAULT_FSTYPES).map((t) => FSTYPE_MODULE[t]);
  const have = wanted.filter((m) => sel.modules.some((x) => x.name === m) || sel.builtin.includes(m));
  if (!have.length) throw new UsageError(`no boot filesystem module (${wanted.join(", ")}) found in the initramfs or the host's modules: name the modules directory with --modules-dir`);
}

/** The init storage-init hands over to must be there and executable, or the boot would panic. */
function checkInit(input: Input, init: string): void {
  const node = resolvePath(input.tree, toByteString(init))?.node;
  if (!node || node.kind !== "file" || (node.perm & 0o111) === 0) {
    throw new UsageError(`${input.path}: ${init} is not an executable file in this initramfs: name its init with --init`);
  }
}

/** Module files in load order: always-loaded ones first (closed under dependencies), then the storage modules. */
async function moduleFiles(o: BuildOptions, kver: string, sel: ModuleSelection, arch: ArchChoice, options: Map<string, ModprobeOption[]>): Promise<Pick<MiniPlan, "files" | "modules">> {
  const files: MiniPlan["files"] = [];
  const modules: BuiltModule[] = [];
  // the compressed ones would have to be decompressed to tell: their directory's sample said already
  const plain: { bytes: Uint8Array; file: string }[] = [];
  const ordered = [...sel.modules.filter((m) => !m.storageModule), ...sel.modules.filter((m) => m.storageModule)];
  for (const m of ordered) {
    const rel = (o.decompressModules ? uncompressedModulePath(m.path) : m.path).replace(/^\/+/, "");
    const path = `lib/modules/${kver}/${rel}`;
    let content = m.node.content;
    if (o.decompressModules && m.compression !== "none") content = bytesContent(await decompressModule(content.read(), m.compression, `${m.source}: ${m.path}`));
    if (m.compression === "none" || o.decompressModules) plain.push({ bytes: content.read(), file: `${m.source}: ${m.path}` });
    files.push({ path, content });
    modules.push({
      name: m.name, path: "/" + displayName(path), source: m.source, bytes: content.size,
      compression: o.decompressModules ? "none" : m.compression, needs: m.needs, reason: m.reason,
      storageModule: m.storageModule, optionalModule: m.optionalModule, ...(m.bootFs ? { bootFs: m.bootFs } : {}),
    });
    // the original init's modprobe would pass them; storage-init loads it first
    const params = moduleParams(options, m.name, LIMITS.params);
    if (params) modules[modules.length - 1].params = params;
  }
  checkModuleArch(plain, arch);
  return { files, modules };
}

interface Written {
  image: { path: string; bytes: number; uuid: string; compressedFiles: number; seconds: number };
  integrity: IntegrityConfig;
  mini: { path: string; bytes: number; cpioBytes: number; compression: MiniCompression; seconds: number };
  config: string;
}

/**
 * The image first (sealed under a staging name, then renamed), then the mini initramfs that
 * expects it: without the mini the image is useless, and a failure removes what was written.
 */
async function writePair(o: BuildOptions, kver: string, input: Input, mini: MiniPlan, compressor: TreeCompressor | undefined): Promise<Written> {
  const imageOut = join(input.outDir, `initoverlayfs-${kver}.img`);
  const miniOut = join(input.outDir, `initramfs-${kver}.img`);
  for (const out of [imageOut, miniOut]) {
    if (sameFile(out, input.path)) throw new UsageError(`${out} is the input initramfs: choose another --output-dir`);
  }
  const compression = mini.compression;
  const timestamp = o.timestamp ?? timestampFromEnv();
  mkdirSync(input.outDir, { recursive: true });
  // the image holds every file of the original: both outputs are at most as readable as it is
  const mode = outputModeFor(input.path);
  const tImage = clock();
  const staged = join(input.outDir, `.${basename(imageOut)}.${process.pid}.staged`);
  let packed, img, sealed, config, imageBytes, packSeconds;
  try {
    img = await writeImage(input.tree, staged, { timestamp }, compressor, mode);
    sealed = await sealImage(staged, img.uuid, sealOptions(o, mini.arch.name));
    imageBytes = statSync(staged).size;
    config = mini.configFor(sealed.integrity);
    const t = clock();
    packed = await packMiniInitramfs({ storageInit: mini.storageInit, config, files: [...mini.files, ...mini.sysextFiles, ...sealed.files], mtime: timestamp }, compression, input.earlyData);
    packSeconds = clock() - t;
    renameSync(staged, imageOut);
    fsyncDir(input.outDir);
  } catch (e) {
    rmSync(staged, { force: true });
    throw e;
  }
  const imageSeconds = clock() - tImage;
  try {
    writeFileAtomic(miniOut, (w) => w.write(0, packed.bytes), { mode });
  } catch (e) {
    rmSync(imageOut, { force: true });
    throw e;
  }
  return {
    image: { path: imageOut, bytes: imageBytes, uuid: formatUuid(img.uuid), compressedFiles: img.compressedFiles, seconds: imageSeconds },
    integrity: sealed.integrity,
    mini: { path: miniOut, bytes: packed.bytes.length, cpioBytes: packed.cpioBytes, compression, seconds: packSeconds },
    config,
  };
}
