/**
 * Compresses the files of a tree for the EROFS writer, before the layout pass: each file is cut
 * into fixed-output LZ4 pclusters (formats/erofs/writer/compress-file.ts) in worker threads. Files
 * are independent, so the result does not depend on the number of workers or on their order.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { UsageError } from "../errors.js";
import { FileContent, FileNode, FsNode, FsTree, walk } from "../fs/tree.js";
import { BLOCK_SIZE } from "../formats/erofs/ondisk.js";
import { compressFile, CompressedFile, CompressFileOptions, DEFAULT_MAX_EXTENT_BYTES } from "../formats/erofs/writer/compress-file.js";
import { MAX_PCLUSTER_BLOCKS } from "../formats/erofs/writer/plan.js";
import { Lz4Algorithm, lz4DestSize, LZ4HC_DEFAULT_LEVEL, LZ4HC_MAX_LEVEL } from "../compression/lz4-native.js";
import type { CompressJob, CompressReply } from "./compress-worker.js";

export interface CompressionSettings {
  algorithm: Lz4Algorithm;
  /** LZ4HC level 1..12 (ignored for lz4) */
  level?: number;
  /** physical cluster size in bytes, a multiple of 4096 up to 1 MiB; default 4096 */
  maxPclusterBytes?: number;
  /** files whose path (relative to the root, e.g. "usr/lib/firmware/x.bin") matches one of these stay uncompressed */
  exclude?: RegExp[];
  /** worker threads; default: one per CPU; 1 = compress in this thread */
  workers?: number;
  /** lcluster index form; default "compact" */
  index?: "compact" | "full";
  /** ztailpacking: a last pcluster smaller than a block goes inline after the index (Linux 5.17+) */
  tailPacking?: boolean;
}

/** The writer options for files compressed with these settings. */
export function writerOptions(s: CompressionSettings, compressed: ReadonlyMap<FsNode, CompressedFile>) {
  return { compressed, maxPclusterBlocks: pclusterBlocks(s), compressIndex: s.index ?? "compact" } as const;
}

/** Parses `-z` values: "none", "lz4", "lz4hc" or "lz4hc,LEVEL". */
export function parseCompression(s: string): { algorithm: Lz4Algorithm; level: number } | undefined {
  const m = /^(none|lz4|lz4hc)(?:,(\d+))?$/.exec(s);
  if (!m || (m[2] !== undefined && m[1] !== "lz4hc")) throw new UsageError(`-z: expected none, lz4, lz4hc or lz4hc,LEVEL, got ${JSON.stringify(s)}`);
  if (m[1] === "none") return undefined;
  if (m[1] === "lz4") return { algorithm: "lz4", level: 0 };
  const level = m[2] === undefined ? LZ4HC_DEFAULT_LEVEL : Number(m[2]);
  if (level < 1 || level > LZ4HC_MAX_LEVEL) throw new UsageError(`-z lz4hc: level must be 1..${LZ4HC_MAX_LEVEL}, got ${level}`);
  return { algorithm: "lz4hc", level };
}

/** Parses a pcluster size: bytes, or with a K/M suffix; a multiple of 4096 up to 1 MiB. */
export function parsePclusterSize(s: string): number {
  const m = /^(\d+)([kKmM]?)(?:i?B)?$/.exec(s);
  const n = m ? Number(m[1]) * (m[2] === "" ? 1 : /k/i.test(m[2]) ? 1024 : 1 << 20) : NaN;
  if (!(n >= BLOCK_SIZE && n % BLOCK_SIZE === 0 && n / BLOCK_SIZE <= MAX_PCLUSTER_BLOCKS)) {
    throw new UsageError(`--max-pcluster: expected a multiple of 4096 from 4K to 1M, got ${JSON.stringify(s)}`);
  }
  return n;
}

export function pclusterBlocks(s: CompressionSettings): number {
  const bytes = s.maxPclusterBytes ?? BLOCK_SIZE;
  if (bytes % BLOCK_SIZE || bytes < BLOCK_SIZE || bytes / BLOCK_SIZE > MAX_PCLUSTER_BLOCKS) throw new UsageError(`max pcluster must be a multiple of 4096 up to 1 MiB, got ${bytes}`);
  return bytes / BLOCK_SIZE;
}

function levelOf(s: CompressionSettings): number {
  return s.algorithm === "lz4" ? 0 : s.level ?? LZ4HC_DEFAULT_LEVEL;
}

/** Files worth trying, once each (hard links), largest first so workers finish together. */
function candidates(tree: FsTree, exclude: RegExp[]): FileNode[] {
  const seen = new Set<FsNode>();
  const files: FileNode[] = [];
  for (const { path, node } of walk(tree)) {
    if (node.kind !== "file" || seen.has(node)) continue;
    seen.add(node);
    // a file of one block or less never saves a block
    if (node.content.size <= BLOCK_SIZE || exclude.some((r) => r.test(path))) continue;
    files.push(node);
  }
  return files.sort((a, b) => b.content.size - a.content.size);
}

interface Job {
  content: FileContent;
  resolve: (r: CompressedFile | undefined) => void;
  reject: (e: Error) => void;
}

/** A worker and the jobs posted to it, in the order it answers them. */
interface Slot {
  post: (j: Job) => void;
  inflight: Job[];
  bytes: number;
}

/**
 * Bytes of input a worker may have queued beyond the file it compresses (~20 ms of LZ4HC): while
 * the main thread decodes the input it answers workers only between chunks, and a worker with
 * nothing queued would wait idle; more would leave one worker busy after the other ran dry.
 */
const INFLIGHT_BYTES = 1 << 20;

/**
 * Compresses files in worker threads, also while the tree is still being read: `offer()` a file
 * as soon as its content is known (the initramfs unpacker calls it for every file), `finish()`
 * once the tree is complete. Results are kept per content object, so a file whose content was
 * replaced later (a later cpio entry) is compressed again; each result depends only on the bytes.
 */
export class TreeCompressor {
  private readonly opts: CompressFileOptions;
  private readonly level: number;
  private readonly results = new Map<FileContent, Promise<CompressedFile | undefined>>();
  private readonly queue: Job[] = [];
  private readonly slots: Slot[] = [];
  private readonly pool: Worker[] = [];
  private failed: Error | undefined;
  private inflightBytes = INFLIGHT_BYTES;

  constructor(readonly settings: CompressionSettings) {
    this.opts = { maxPclusterBlocks: pclusterBlocks(settings), maxExtentBytes: DEFAULT_MAX_EXTENT_BYTES, tailPacking: !!settings.tailPacking };
    this.level = levelOf(settings);
    lz4DestSize(this.level); // fail here, not in a worker, when the addon is missing
    const n = settings.workers ?? availableParallelism();
    if (n > 1) for (let k = 0; k < n; k++) this.addWorker();
  }

  private addWorker(): void {
    const w = new Worker(new URL("./compress-worker.js", import.meta.url));
    const slot: Slot = {
      inflight: [],
      bytes: 0,
      post: (j) => {
        slot.inflight.push(j);
        slot.bytes += j.content.size;
        const bytes = j.content.read();
        // bytes in shared memory (the zstd decoder's output) cross over as they are; others as a copy
        const shared = bytes.buffer instanceof SharedArrayBuffer;
        const data = shared ? bytes : new Uint8Array(bytes);
        const msg: CompressJob = { data, level: this.level, ...this.opts };
        w.postMessage(msg, shared ? [] : [data.buffer as ArrayBuffer]);
      },
    };
    // a worker answers its messages in order
    w.on("message", (r: CompressReply) => {
      const job = slot.inflight.shift()!;
      slot.bytes -= job.content.size;
      job.resolve(r.result);
      this.dispatch();
    });
    const fail = (e: Error) => {
      this.failed ??= e;
      for (const j of slot.inflight.splice(0)) j.reject(e);
      for (const j of this.queue.splice(0)) j.reject(e);
    };
    w.on("error", fail);
    w.on("exit", (code) => fail(new Error(`compression worker exited (${code})`)));
    this.pool.push(w);
    this.slots.push(slot);
  }

  /** Hands queued jobs to the least loaded workers that have room (an idle one always has). */
  private dispatch(): void {
    while (this.queue.length) {
      let best: Slot | undefined;
      for (const s of this.slots) {
        if (s.inflight.length && s.bytes >= this.inflightBytes) continue;
        if (!best || s.bytes < best.bytes) best = s;
      }
      if (!best) return;
      best.post(this.queue.shift()!);
    }
  }

  private run(content: FileContent): Promise<CompressedFile | undefined> {
    let p = this.results.get(content);
    if (!p) {
      p = this.failed
        ? Promise.reject(this.failed)
        : new Promise((resolve, reject) => this.queue.push({ content, resolve, reject }));
      p.catch(() => undefined); // a result nobody asks for must not fail the process
      this.results.set(content, p);
      this.dispatch();
    }
    return p;
  }

  /**
   * Hands every queued file to the workers now, largest first, each to the least loaded one:
   * for a caller that turns to long synchronous work, during which it could not hand out the
   * next file as a worker finishes one. The workers may then finish less evenly.
   */
  handOutAll(): void {
    this.inflightBytes = Infinity;
    this.queue.sort((a, b) => b.content.size - a.content.size);
    this.dispatch();
  }

  /** Starts compressing this file's current content (in a worker) if it may be worth it. */
  offer(node: FileNode): void {
    if (this.pool.length && node.content.size > BLOCK_SIZE) this.run(node.content);
  }

  /** Stops the workers. Whoever made the compressor closes it, once, whatever happened. */
  async close(): Promise<void> {
    await Promise.all(this.pool.splice(0).map((w) => w.terminate()));
  }

  /** The compressed files of the finished tree. */
  async finish(tree: FsTree): Promise<Map<FsNode, CompressedFile>> {
    const out = new Map<FsNode, CompressedFile>();
    const files = candidates(tree, this.settings.exclude ?? []);
    if (!this.pool.length) {
      const compress = lz4DestSize(this.level);
      for (const f of files) {
        const r = compressFile(f.content.read(), compress, this.opts);
        if (r) out.set(f, r);
      }
      return out;
    }
    const results = await Promise.all(files.map((f) => this.run(f.content)));
    files.forEach((f, k) => results[k] && out.set(f, results[k]!));
    return out;
  }

  /** The writer options for the files finish() compressed. */
  writerOptions(compressed: ReadonlyMap<FsNode, CompressedFile>) {
    return writerOptions(this.settings, compressed);
  }
}

/** Runs `work` with a compressor for `s` (none for an uncompressed image) and closes it after. */
export async function withCompressor<T>(s: CompressionSettings | undefined, work: (c: TreeCompressor | undefined) => Promise<T>): Promise<T> {
  const c = s && new TreeCompressor(s);
  try {
    return await work(c);
  } finally {
    await c?.close();
  }
}

export async function compressTree(tree: FsTree, s: CompressionSettings): Promise<Map<FsNode, CompressedFile>> {
  return withCompressor(s, (c) => c!.finish(tree));
}
