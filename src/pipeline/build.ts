/**
 * `initoverlayfs build`: one original initramfs in, two files out: the EROFS image of all of it,
 * and the mini initramfs that mounts that image at boot. Everything is computed before anything is
 * written, so a bad selection or option leaves no half-made output.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { FormatError, UsageError } from "../errors.js";
import { bytesContent, displayName, FileContent, Timestamp, toByteString, TreeStats, treeStats } from "../fs/tree.js";
import { InitramfsSegment } from "../initramfs/read.js";
import { fsyncDir, writeFileAtomic } from "../io/atomic-file.js";
import { readDirTree } from "../io/dir-reader.js";
import { formatUuid, timestampFromEnv, writeImage } from "./convert.js";
import { CompressionSettings, TreeCompressor } from "./compress-tree.js";
import { checkKver, findInitramfs, findKernelConfig, findModulesDir, KernelConfig, readKernelConfig, runningKernel } from "./kernel.js";
import { loadTree } from "./load-tree.js";
import {
  checkAbsolutePath, checkBootSpec, FailurePolicy, FAILURE_POLICIES, MiniCompression, MINI_COMPRESSIONS, packMiniInitramfs, renderConfig,
} from "./mini-initramfs.js";
import { decompressModule } from "./modules/decompress.js";
import { probeBootFstype } from "./probe-boot.js";
import { AUTO_FSTYPES, bootFsModules, buildWants, DEFAULT_FSTYPES, FSTYPE_MODULE } from "./modules/defaults.js";
import { ModuleSource } from "./modules/index-files.js";
import { uncompressedModulePath, ModuleCompression } from "./modules/names.js";
import { kernelVersionsIn, ModuleSelection, selectModules } from "./modules/select.js";
import { findSwitchRootPrograms } from "./modules/shims.js";
import { resolvePath } from "./modules/tree-path.js";
import { IntegrityConfig } from "./integrity-config.js";
import { checkSealOptions, sealImage, SealOptions } from "./seal-image.js";

export interface BuildOptions {
  /** the original initramfs (file or directory); default: the one /boot has for kver */
  initramfs?: string;
  /** default: the initramfs's only lib/modules/* when --initramfs is named, else `uname -r` */
  kver?: string;
  /** the boot partition: UUID=..., LABEL=..., PARTUUID=..., PARTLABEL=... or /dev/... */
  boot: string;
  /** ext4, ext2, ext3, vfat, xfs, btrfs or auto (default: modules for all storage-init tries) */
  bootFstype?: string;
  bootFlags?: string;
  /** default "initoverlayfs-out" */
  outputDir?: string;
  /** writing into /boot is refused without it */
  allowBoot?: boolean;
  /** default: storage-init/build/storage-init of this package */
  storageInit?: string;
  miniCompression?: MiniCompression;
  addModules?: string[];
  /** the default storage driver set (default true) */
  defaultModules?: boolean;
  /** where modules the initramfs lacks come from; default /lib/modules/KVER; false: nowhere */
  modulesDir?: string | false;
  /** default /boot/config-KVER or /lib/modules/KVER/config when present */
  kernelConfig?: string;
  decompressModules?: boolean;
  /** init of the image to hand over to (default /init) */
  init?: string;
  /** the image's path on the boot partition (default /initoverlayfs-KVER.img) */
  imagePath?: string;
  timeout?: number;
  failure?: FailurePolicy;
  /** every inode's mtime in both outputs (default $SOURCE_DATE_EPOCH; the mini uses 0 without it) */
  timestamp?: Timestamp;
  strict?: boolean;
  /** which image the mini initramfs accepts: dm-verity (default), fs-verity, copy or none */
  integrity?: SealOptions["mode"];
  /** dm-verity tree hash or fs-verity digest algorithm */
  integrityHash?: string;
  /** dm-verity salt (hex, "" for none); default derived from the image */
  veritySalt?: string;
  /** dm-verity: sign the root hash (PEM files); the kernel checks it against its trusted keys */
  signKey?: string;
  signCert?: string;
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
  /** a storage driver storage-init loads only while the boot device is missing */
  untilBoot: boolean;
  /** the kernel may refuse it at boot (a CPU-accelerated variant): storage-init carries on */
  mayFail: boolean;
}

export interface BuildResult {
  kver: string;
  input: { path: string; bytes: number; segments: InitramfsSegment[] };
  image: { path: string; bytes: number; uuid: string; stats: TreeStats; compressedFiles: number; seconds: number };
  /** what the mini initramfs checks the image against */
  integrity: IntegrityConfig;
  mini: { path: string; bytes: number; cpioBytes: number; compression: MiniCompression; moduleBytes: number; storageInit: string; seconds: number };
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

/** The package's own directory: the nearest parent with initoverlayfs's package.json. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      if (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name === "initoverlayfs") return dir;
    } catch { /* not here */ }
    if (dirname(dir) === dir) return undefined;
  }
}

export function defaultStorageInitPath(): string {
  return join(packageRoot() ?? ".", "storage-init", "build", "storage-init");
}

export function readStorageInit(path: string): FileContent {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`storage-init binary not found at ${path}: run make -C storage-init`);
  }
  if (!st.isFile()) throw new UsageError(`storage-init binary not found at ${path} (not a file): run make -C storage-init`);
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 4).toString("latin1") !== "\x7fELF") throw new FormatError("storage-init", 0, "not an ELF executable", path);
  return bytesContent(bytes);
}

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
  checkBootSpec(o.boot);
  if (o.bootFstype !== undefined) bootFsModules(o.bootFstype);
  if (o.init !== undefined) checkAbsolutePath("--init", o.init);
  if (o.imagePath !== undefined) checkAbsolutePath("--image-path", o.imagePath);
  if (o.miniCompression !== undefined && !MINI_COMPRESSIONS.includes(o.miniCompression)) {
    throw new UsageError(`--mini-compression: expected ${MINI_COMPRESSIONS.join(", ")}, got ${JSON.stringify(o.miniCompression)}`);
  }
  if (o.failure !== undefined && !FAILURE_POLICIES.includes(o.failure)) {
    throw new UsageError(`--failure: expected ${FAILURE_POLICIES.join(", ")}, got ${JSON.stringify(o.failure)}`);
  }
  if (o.kver !== undefined) checkKver(o.kver);
  checkSealOptions(sealOptions(o));
}

function sealOptions(o: BuildOptions): SealOptions {
  return { mode: o.integrity ?? "dm-verity", hashAlgorithm: o.integrityHash, salt: o.veritySalt, signKey: o.signKey, signCert: o.signCert };
}

function inferKver(tree: Parameters<typeof kernelVersionsIn>[0], initramfs: string): string {
  const have = kernelVersionsIn(tree);
  if (have.length === 1) return have[0];
  throw new UsageError(`${initramfs}: ${have.length ? `modules for several kernels (${have.join(", ")})` : "no lib/modules/*/modules.dep"}: name the kernel with --kver`);
}

/** With no type named, storage-init tries every type: at least one must be there. */
function checkBootFs(sel: ModuleSelection, fstype: string | undefined): void {
  if (fstype !== undefined && fstype !== "auto") return;
  const wanted = (fstype === "auto" ? AUTO_FSTYPES : DEFAULT_FSTYPES).map((t) => FSTYPE_MODULE[t]);
  const have = wanted.filter((m) => sel.modules.some((x) => x.name === m) || sel.builtin.includes(m));
  if (!have.length) throw new UsageError(`no boot filesystem module (${wanted.join(", ")}) found in the initramfs or the host's modules: name the modules directory with --modules-dir`);
}

export async function buildPair(o: BuildOptions): Promise<BuildResult> {
  const compression = o.compression === null ? undefined : o.compression ?? DEFAULT_BUILD_COMPRESSION;
  // the workers boot while the initramfs loads, then compress each file as it is unpacked
  const compressor = compression && new TreeCompressor(compression);
  try {
    return await buildPairWith(o, compression, compressor);
  } finally {
    await compressor?.close(); // writeImage closed it already unless something failed
  }
}

async function buildPairWith(o: BuildOptions, imageCompression: CompressionSettings | undefined, compressor: TreeCompressor | undefined): Promise<BuildResult> {
  const t0 = clock();
  checkBuildOptions(o);
  const storageInitPath = o.storageInit ?? defaultStorageInitPath();
  const storageInit = readStorageInit(storageInitPath);

  let kver = o.kver;
  const initramfs = o.initramfs ?? findInitramfs((kver ??= checkKver(runningKernel())));
  const outDir = checkOutputDir(o.outputDir ?? "initoverlayfs-out", !!o.allowBoot);

  const loaded = await loadTree(initramfs, { strict: o.strict, onProgress: o.onProgress, onFile: compressor && ((n) => compressor.offer(n)) });
  const tree = loaded.tree;
  // module selection below keeps this thread busy for a while: the workers go on without it
  compressor?.handOutAll();
  kver ??= inferKver(tree, initramfs);

  const configPath = o.kernelConfig ?? findKernelConfig(kver);
  const kernelConfig: KernelConfig | undefined = configPath ? readKernelConfig(configPath) : undefined;
  const hostDir = o.modulesDir === false ? undefined : o.modulesDir ?? findModulesDir(kver);
  const extraSources: ModuleSource[] = [];
  if (hostDir) {
    if (!existsSync(join(hostDir, "modules.dep"))) throw new UsageError(`--modules-dir: ${hostDir} has no modules.dep`);
    extraSources.push({ label: hostDir, tree: readDirTree(hostDir), dir: "" });
  }

  // no type named: the boot device's type if this machine can see it (building for itself)
  const probed = o.bootFstype === undefined ? probeBootFstype(o.boot) : undefined;
  const fstype = o.bootFstype ?? (probed && Object.hasOwn(FSTYPE_MODULE, probed) ? probed : undefined);
  const seal = sealOptions(o);
  const wants = buildWants({
    add: o.addModules, defaultStorage: o.defaultModules, fstype, kernelConfig,
    integrity: { mode: seal.mode, hashAlgorithm: seal.hashAlgorithm },
  });
  const sel = selectModules(tree, kver, { wants, extraSources, kernelConfig, decompress: o.decompressModules });
  checkBootFs(sel, fstype);
  const shims = findSwitchRootPrograms(tree);
  // the init storage-init hands over to must be there and executable, or the boot would panic
  const init = o.init ?? "/init";
  const initNode = resolvePath(tree, toByteString(init))?.node;
  if (!initNode || initNode.kind !== "file" || (initNode.perm & 0o111) === 0) {
    throw new UsageError(`${initramfs}: ${init} is not an executable file in this initramfs: name its init with --init`);
  }

  // the mini initramfs, in memory
  const tMini = clock();
  const files: { path: string; content: FileContent }[] = [];
  const modules: BuiltModule[] = [];
  // always-needed modules first (closed under dependencies), then the storage drivers, which
  // storage-init stops loading once the boot device is there
  const ordered = [...sel.modules.filter((m) => !m.untilBoot), ...sel.modules.filter((m) => m.untilBoot)];
  for (const m of ordered) {
    const rel = (o.decompressModules ? uncompressedModulePath(m.path) : m.path).replace(/^\/+/, "");
    const path = `lib/modules/${kver}/${rel}`;
    let content = m.node.content;
    if (o.decompressModules && m.compression !== "none") content = bytesContent(await decompressModule(content.read(), m.compression, `${m.source}: ${m.path}`));
    files.push({ path, content });
    modules.push({
      name: m.name, path: "/" + displayName(path), source: m.source, bytes: content.size,
      compression: o.decompressModules ? "none" : m.compression, needs: m.needs, reason: m.reason, untilBoot: m.untilBoot, mayFail: m.mayFail,
    });
  }
  const timestamp = o.timestamp ?? timestampFromEnv();
  const configFor = (integrity?: IntegrityConfig) => renderConfig({
    integrity,
    comment: `written by initoverlayfs build for kernel ${kver}`,
    boot: o.boot,
    bootfstype: o.bootFstype && o.bootFstype !== "auto" ? o.bootFstype : undefined,
    bootflags: o.bootFlags,
    image: o.imagePath ?? `/initoverlayfs-${kver}.img`,
    init: o.init ?? "/init",
    timeout: o.timeout ?? 10,
    failure: o.failure ?? "panic",
    modules: files.map((f, i) => ({ path: "/" + f.path, untilBoot: modules[i].untilBoot, mayFail: modules[i].mayFail })),
    shims,
  });
  configFor(); // refuses a config storage-init would refuse before anything is written
  let miniSeconds = clock() - tMini;
  const compression = o.miniCompression ?? "gzip";

  // outputs
  const imageOut = join(outDir, `initoverlayfs-${kver}.img`);
  const miniOut = join(outDir, `initramfs-${kver}.img`);
  for (const out of [imageOut, miniOut]) {
    if (sameFile(out, initramfs)) throw new UsageError(`${out} is the input initramfs: choose another --output-dir`);
  }
  mkdirSync(outDir, { recursive: true });
  const tImage = clock();
  // the image first, then the mini initramfs that expects it; without the mini the image is useless.
  // The image is sealed (hash area appended, or digest taken) under a staging name, then renamed.
  const staged = join(outDir, `.${basename(imageOut)}.${process.pid}.staged`);
  let config: string;
  let mini: Awaited<ReturnType<typeof packMiniInitramfs>>;
  let integrity: IntegrityConfig;
  let imageBytes: number;
  let img: Awaited<ReturnType<typeof writeImage>>;
  try {
    img = await writeImage(tree, staged, { timestamp }, imageCompression, compressor);
    const sealed = await sealImage(staged, img.uuid, seal);
    integrity = sealed.integrity;
    imageBytes = statSync(staged).size;
    config = configFor(integrity);
    const t = clock();
    mini = await packMiniInitramfs({ storageInit, config, files: [...files, ...sealed.files], mtime: timestamp }, compression);
    miniSeconds += clock() - t;
    renameSync(staged, imageOut);
    fsyncDir(outDir);
  } catch (e) {
    rmSync(staged, { force: true });
    throw e;
  }
  const imageSeconds = clock() - tImage;
  try {
    writeFileAtomic(miniOut, (w) => w.write(0, mini.bytes));
  } catch (e) {
    rmSync(imageOut, { force: true });
    throw e;
  }

  return {
    kver,
    input: { path: initramfs, bytes: loaded.inputBytes, segments: loaded.segments },
    image: { path: imageOut, bytes: imageBytes, uuid: formatUuid(img.uuid), stats: treeStats(tree), compressedFiles: img.compressedFiles, seconds: imageSeconds },
    integrity,
    mini: {
      path: miniOut, bytes: mini.bytes.length, cpioBytes: mini.cpioBytes, compression,
      moduleBytes: modules.reduce((s, m) => s + m.bytes, 0), storageInit: storageInitPath, seconds: miniSeconds,
    },
    modules,
    builtin: sel.builtin,
    missing: sel.missing,
    skipped: sel.skipped,
    shims,
    config: displayName(config),
    kernelConfig: configPath ?? null,
    hostModules: hostDir ?? null,
    warnings: loaded.warnings.map((w) => `${w.source}: offset ${w.offset}: ${w.message}`),
    seconds: clock() - t0,
  };
}
