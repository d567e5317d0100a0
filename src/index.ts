/**
 * initoverlayfs library API. Format code is pure (bytes in, structures out); the io/ and pipeline/
 * functions do the file system work at the edges.
 */
// errors
export { InitoverlayfsError, FormatError, UnsupportedError, UsageError } from "./errors.js";

// the tree: common currency of every reader and writer
export * from "./fs/tree.js";
export { diffTrees, type DiffOptions } from "./fs/compare.js";

// initramfs and cpio
export { readInitramfs, type InitramfsReadResult, type InitramfsSegment, type InitramfsReadOptions } from "./initramfs/read.js";
export { InitramfsUnpacker, type UnpackWarning } from "./initramfs/unpack.js";
export { CpioParser, type CpioEntry, type CpioSink } from "./formats/cpio/parser.js";
export { CpioWriter, treeToCpio, type RawCpioEntry } from "./formats/cpio/writer.js";
export { detectCompression, decompress, type Compression } from "./compression/index.js";

// EROFS
export { writeErofs, buildErofsImage, planImage, emitImage, type ErofsWriteOptions, type ImageSink } from "./formats/erofs/writer/index.js";
export { ErofsImage, readErofs, type ErofsReadOptions, type ErofsInode, type ErofsDirEntry } from "./formats/erofs/reader.js";
export { fsckErofs, type FsckResult, type FsckProblem } from "./formats/erofs/fsck.js";
export { inspectErofs, type ErofsInspection } from "./formats/erofs/inspect.js";
export { compressFile, type CompressedFile, type ZExtent, type DestSizeCompressor } from "./formats/erofs/writer/compress-file.js";

// edges: directories on disk, files, pipelines
export { readDirTree, type DirReadOptions } from "./io/dir-reader.js";
export { extractTree, type ExtractOptions } from "./io/extract.js";
export { writeFileAtomic } from "./io/atomic-file.js";
export { convert, writeImageFile, writeImage, type ConvertOptions, type ConvertResult } from "./pipeline/convert.js";
export { compressTree, parseCompression, type CompressionSettings } from "./pipeline/compress-tree.js";
export { lz4DestSize, lz4Version } from "./compression/lz4-native.js";
export { loadTree } from "./pipeline/load-tree.js";

// build: the EROFS image + mini initramfs pair
export { buildPair, type BuildOptions, type BuildResult, type BuiltModule } from "./pipeline/build.js";
export { ARCHES, type Arch } from "./formats/elf/arch.js";
export { type ArchChoice } from "./pipeline/arch.js";
export { storageInitPath, STORAGE_INIT_ARCHES } from "./io/package-files.js";
export { selectModules, kernelVersionsIn, type ModuleRequest, type ModuleSelection, type ModuleWant, type SelectedModule } from "./pipeline/modules/select.js";
export { type ModuleSource } from "./pipeline/modules/index-files.js";
export { buildWants, DEFAULT_STORAGE_MODULES, type WantsOptions } from "./pipeline/modules/defaults.js";
export { findSwitchRootPrograms } from "./pipeline/modules/shims.js";
export { packMiniInitramfs, miniInitramfsTree } from "./pipeline/mini-initramfs.js";
export { readMiniInitramfs, type MiniInitramfs } from "./initramfs/mini-config.js";

// storage-init's config file: the contract between the build and the early-boot program
export {
  CONFIG_PATH, BUILD_DEFAULTS, renderConfig, parseConfig, parseConfigText, ConfigKeys, parseIntegrity, renderIntegrity, dmVerityConfigOf,
  type StorageInitConfig, type ModuleSpec, type MiniCompression, type IntegrityConfig, type IntegrityMode, type ConfigEntry,
} from "./formats/storage-init-config/index.js";
export { parseKernelConfig, type KernelConfig } from "./pipeline/kernel.js";

// integrity: fs-verity and dm-verity (pure formats, then the file edges), PKCS#7 signatures
export { fsverityDigest, FsverityTree, formatDigest, parseDigest, formattedDigest, parseFormattedDigest, type FsverityOptions, type FsverityDigest } from "./formats/verity/fsverity.js";
export { dmVerityHashArea, DmVerityTree, dmVerityParams, dmVerityGeometry, encodeVeritySuperblock, decodeVeritySuperblock, verityTableLine, type DmVerityOptions, type DmVerityParams, type DmVerityGeometry } from "./formats/verity/dm-verity.js";
export { type ByteSource, bytesSource, withFileSource } from "./integrity/byte-source.js";
export { fsverityDigestOfFile, fsverityDigestOfSource } from "./integrity/fsverity-file.js";
export { appendVerityHashTree, computeDmVerityTree, type AppendVerityOptions, type AppendVerityResult } from "./integrity/dm-verity-file.js";
export { verifyImage, type VerifyOptions, type VerifyResult } from "./integrity/verify.js";
export { readMiniIntegrity, type MiniIntegrity } from "./integrity/mini-config.js";
export { signDetached, signFsverityDigest, signRootHash, verifyDetached, loadCertificate, type SignatureCheck } from "./integrity/signature.js";
