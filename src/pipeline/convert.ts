/** initramfs (or directory) → EROFS image file, written atomically. */
import { UsageError } from "../errors.js";
import { formatUuid } from "../formats/uuid.js";
import { FsTree, Timestamp, treeStats, TreeStats } from "../fs/tree.js";
import { writeErofs, ErofsWriteOptions } from "../formats/erofs/writer/index.js";
import { writeFileAtomic } from "../io/atomic-file.js";
import { loadTree, LoadOptions } from "./load-tree.js";
import { InitramfsSegment } from "../initramfs/read.js";
import { CompressionSettings, TreeCompressor, writerOptions } from "./compress-tree.js";
import { UnpackWarning } from "../initramfs/unpack.js";

export interface ConvertOptions extends ErofsWriteOptions, LoadOptions {
  input: string;
  output: string;
  /** default: none (an uncompressed image) */
  compression?: CompressionSettings;
  /**
   * A compressor already started with `compression` (new TreeCompressor(compression)), so its
   * workers boot while the input is still loading; convert owns and closes it.
   */
  compressor?: TreeCompressor;
}

export interface ConvertResult {
  input: string;
  output: string;
  inputKind: "initramfs" | "directory";
  inputBytes: number;
  segments: InitramfsSegment[];
  warnings: UnpackWarning[];
  stats: TreeStats;
  imageBytes: number;
  /** files stored compressed */
  compressedFiles: number;
  uuid: string;
  seconds: number;
}

export { formatUuid };

export function writeImageFile(tree: FsTree, output: string, options: ErofsWriteOptions) {
  return writeFileAtomic(output, (w) => writeErofs(tree, w, options), { size: (r) => r.size });
}

/**
 * Compresses (when asked: first, in worker threads), then writes the image. `compressor`: one
 * that already started on the tree's files while it was read (see loadCompressing).
 */
export async function writeImage(tree: FsTree, output: string, options: ErofsWriteOptions, compression?: CompressionSettings, compressor?: TreeCompressor) {
  const compressed = compression ? await (compressor ?? new TreeCompressor(compression)).finish(tree) : undefined;
  const r = writeImageFile(tree, output, compression ? { ...options, ...writerOptions(compression, compressed!) } : options);
  return { ...r, compressedFiles: compressed?.size ?? 0 };
}

/**
 * Loads the input while worker threads already compress each file the initramfs unpacker
 * produces, so reading and compressing overlap. Returns the compressor for writeImage (`started`,
 * if given, else a new one); it is closed here if loading fails.
 */
export async function loadCompressing(input: string, opts: LoadOptions, compression?: CompressionSettings, started?: TreeCompressor) {
  const compressor = started ?? (compression ? new TreeCompressor(compression) : undefined);
  try {
    const loaded = await loadTree(input, { ...opts, onFile: compressor && ((n) => compressor.offer(n)) });
    return { loaded, compressor };
  } catch (e) {
    await compressor?.close();
    throw e;
  }
}

/** SOURCE_DATE_EPOCH, as reproducible-builds.org defines it, when no timestamp is given. */
export function timestampFromEnv(env: NodeJS.ProcessEnv = process.env): Timestamp | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`SOURCE_DATE_EPOCH must be a non-negative integer, got ${JSON.stringify(v)}`);
  return { sec: Number(v), nsec: 0 };
}

export async function convert(opts: ConvertOptions): Promise<ConvertResult> {
  const t0 = process.hrtime.bigint();
  if (opts.compressor && !opts.compression) {
    await opts.compressor.close();
    throw new UsageError("convert: a compressor was given without compression settings");
  }
  const { loaded, compressor } = await loadCompressing(opts.input, opts, opts.compression, opts.compressor);
  const r = await writeImage(loaded.tree, opts.output, opts, opts.compression, compressor);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    input: opts.input, output: opts.output, inputKind: loaded.kind, inputBytes: loaded.inputBytes,
    segments: loaded.segments, warnings: loaded.warnings, stats: treeStats(loaded.tree),
    imageBytes: r.size, compressedFiles: r.compressedFiles, uuid: formatUuid(r.uuid), seconds,
  };
}
