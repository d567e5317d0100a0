/** initramfs (or directory) → EROFS image file, written atomically. */
import { UsageError } from "../errors.js";
import { formatUuid } from "../formats/uuid.js";
import { FsTree, Timestamp, treeStats, TreeStats } from "../fs/tree.js";
import { writeErofs, ErofsWriteOptions } from "../formats/erofs/writer/index.js";
import { writeFileAtomic } from "../io/atomic-file.js";
import { outputModeFor } from "../io/file-mode.js";
import { loadTree, LoadOptions } from "./load-tree.js";
import { InitramfsSegment } from "../initramfs/read.js";
import { TreeCompressor } from "./compress-tree.js";
import { UnpackWarning } from "../initramfs/unpack.js";

export interface ConvertOptions extends ErofsWriteOptions, LoadOptions {
  input: string;
  output: string;
  /**
   * Compresses the image's files with its settings (none: an uncompressed image). Start it before
   * calling, so its workers boot while the input loads; the caller closes it.
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

/** `mode`: the permission bits, outputModeFor(the input) (default 0644) */
export function writeImageFile(tree: FsTree, output: string, options: ErofsWriteOptions, mode?: number) {
  return writeFileAtomic(output, (w) => writeErofs(tree, w, options), { size: (r) => r.size, mode });
}

/** Compresses (with `compressor`, if any: its workers may have started already), then writes the image. */
export async function writeImage(tree: FsTree, output: string, options: ErofsWriteOptions, compressor?: TreeCompressor, mode?: number) {
  const compressed = compressor && (await compressor.finish(tree));
  const r = writeImageFile(tree, output, compressor ? { ...options, ...compressor.writerOptions(compressed!) } : options, mode);
  return { ...r, compressedFiles: compressed?.size ?? 0 };
}

/** Loads the input while `compressor`'s workers already compress each file the unpacker produces. */
export function loadCompressing(input: string, opts: LoadOptions, compressor?: TreeCompressor) {
  return loadTree(input, { ...opts, onFile: compressor && ((n) => compressor.offer(n)) });
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
  const loaded = await loadCompressing(opts.input, opts, opts.compressor);
  const r = await writeImage(loaded.tree, opts.output, opts, opts.compressor, outputModeFor(opts.input));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    input: opts.input, output: opts.output, inputKind: loaded.kind, inputBytes: loaded.inputBytes,
    segments: loaded.segments, warnings: loaded.warnings, stats: treeStats(loaded.tree),
    imageBytes: r.size, compressedFiles: r.compressedFiles, uuid: formatUuid(r.uuid), seconds,
  };
}
