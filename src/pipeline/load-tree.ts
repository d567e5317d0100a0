/** Loads a tree from an initramfs file or a directory: the input side of every pipeline. */
import { readFileSync, statSync } from "node:fs";
import { FormatError } from "../errors.js";
import { FileNode, FsTree } from "../fs/tree.js";
import { EarlyArchives, findEarlyArchives, NO_EARLY_ARCHIVES } from "../initramfs/early.js";
import { readInitramfs, InitramfsSegment } from "../initramfs/read.js";
import { UnpackWarning } from "../initramfs/unpack.js";
import { readDirTree } from "../io/dir-reader.js";

export interface LoadedTree {
  tree: FsTree;
  kind: "initramfs" | "directory";
  inputBytes: number;
  segments: InitramfsSegment[];
  warnings: UnpackWarning[];
  /** initramfs input: its early archives (microcode, ACPI tables) and their bytes, as the kernel finds them */
  early: EarlyArchives;
  earlyData: Uint8Array;
}

export interface LoadOptions {
  strict?: boolean;
  xattrs?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** initramfs input: called as each regular file gets its content (see TreeCompressor.offer) */
  onFile?: (node: FileNode) => void;
  /** initramfs input: the most its archives may unpack to (default DEFAULT_MAX_UNPACKED) */
  maxUnpackedBytes?: number;
}

export async function loadTree(path: string, opts: LoadOptions = {}): Promise<LoadedTree> {
  const st = statSync(path);
  if (st.isDirectory()) {
    const tree = readDirTree(path, { xattrs: opts.xattrs ?? false });
    return { tree, kind: "directory", inputBytes: 0, segments: [], warnings: [], early: NO_EARLY_ARCHIVES, earlyData: new Uint8Array(0) };
  }
  const input = readFileSync(path);
  if (input.length === 0) throw new FormatError("initramfs", 0, "empty file", path);
  try {
    const r = await readInitramfs(input, { strict: opts.strict, source: path, onProgress: opts.onProgress, onFile: opts.onFile, maxUnpackedBytes: opts.maxUnpackedBytes });
    const early = findEarlyArchives(input, path);
    // a copy: the rest of the input need not stay in memory
    return { tree: r.tree, kind: "initramfs", inputBytes: input.length, segments: r.segments, warnings: r.warnings, early, earlyData: input.slice(0, early.bytes) };
  } catch (e) {
    throw e instanceof FormatError ? e.withSource(path) : e;
  }
}
