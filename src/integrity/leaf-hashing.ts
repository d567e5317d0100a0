/**
 * Hashes the data blocks of a source in order, in bounded memory: the source is read in chunks
 * of CHUNK bytes and, for large inputs, the chunks are hashed by worker threads (one per core,
 * at most 2 chunks each in flight) while this thread reads the next ones. The digests come back
 * in order. A final partial block is zero-padded (fs-verity; dm-verity callers pass whole blocks).
 */
import { availableParallelism, loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { BlockHashParams, BlockHasher } from "../formats/verity/block-hasher.js";
import { InitoverlayfsError } from "../errors.js";
import { ByteSource } from "./byte-source.js";
import type { HashJob, HashReply } from "./hash-worker.js";

const CHUNK = 4 << 20;
/** below this, starting workers costs more than it saves */
const PARALLEL_MIN = 32 << 20;

export interface LeafHashingOptions {
  /**
   * default: min(cores, 4) for inputs of 32 MiB and more when the machine has idle cores (load
   * average below cores - 1), else 0 (hash in this thread: on a busy machine workers only add
   * their start-up and messaging cost)
   */
  workers?: number;
}

/**
 * Calls `onDigests(digests, dataBytes)` for consecutive runs of blocks covering
 * [start, start + length) of `src`; rejects if the source is shorter.
 */
export async function hashSourceBlocks(
  src: ByteSource,
  start: number,
  length: number,
  params: BlockHashParams,
  onDigests: (digests: Uint8Array, dataBytes: number) => void,
  opts: LeafHashingOptions = {},
): Promise<void> {
  const bs = params.blockSize;
  const chunk = Math.max(bs, CHUNK - (CHUNK % bs));
  // chunk buffers are reused (fresh ones cost a page fault per 4 KiB)
  const spare: Uint8Array[] = [];
  const read = (pos: number): { data: Uint8Array; bytes: number } => {
    const want = Math.min(chunk, start + length - pos);
    const padded = Math.ceil(want / bs) * bs;
    const buf = spare.pop() ?? new Uint8Array(chunk);
    const data = padded === chunk ? buf : buf.subarray(0, padded);
    const got = src.readAt(data.subarray(0, want), pos);
    if (got !== want) throw new InitoverlayfsError(`${src.name}: short read at offset ${pos + got} (the file changed or is truncated)`);
    data.fill(0, want);
    return { data, bytes: want };
  };
  const cores = availableParallelism();
  const workers = opts.workers ?? (length >= PARALLEL_MIN && cores > 1 && loadavg()[0] < cores - 1 ? Math.min(cores, 4) : 0);
  if (workers <= 0) {
    const h = new BlockHasher(params);
    for (let pos = start; pos < start + length; ) {
      const { data, bytes } = read(pos);
      const digests = new Uint8Array((data.length / bs) * h.digestSize);
      h.hashBlocks(data, digests);
      spare.push(new Uint8Array(data.buffer));
      onDigests(digests, bytes);
      pos += bytes;
    }
    return;
  }
  await withWorkers(workers, async (pool) => {
    const pending: { reply: Promise<HashReply>; bytes: number }[] = [];
    let id = 0;
    for (let pos = start; pos < start + length || pending.length; ) {
      // keep the pipeline full, then take the oldest result
      while (pos < start + length && pending.length < workers * 2) {
        const { data, bytes } = read(pos);
        pending.push({ reply: pool.run(id % workers, { id: id++, params, data }), bytes });
        pos += bytes;
      }
      const next = pending.shift()!;
      const reply = await next.reply;
      spare.push(reply.data);
      onDigests(reply.digests, next.bytes);
    }
  });
}

interface Pool {
  run(worker: number, job: HashJob): Promise<HashReply>;
}

async function withWorkers<T>(n: number, fn: (pool: Pool) => Promise<T>): Promise<T> {
  const url = new URL("./hash-worker.js", import.meta.url);
  const ws = Array.from({ length: n }, () => new Worker(url));
  const waiting = new Map<number, { resolve: (r: HashReply) => void; reject: (e: Error) => void }>();
  let failed: Error | undefined;
  const failAll = (e: Error) => {
    failed ??= e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  for (const w of ws) {
    w.on("message", (r: HashReply) => {
      const p = waiting.get(r.id);
      waiting.delete(r.id);
      p?.resolve(r);
    });
    w.on("error", failAll);
    w.on("exit", (code) => { if (waiting.size) failAll(new Error(`hash worker exited with code ${code}`)); });
  }
  try {
    return await fn({
      run(worker, job) {
        if (failed) return Promise.reject(failed);
        const p = new Promise<HashReply>((resolve, reject) => {
          waiting.set(job.id, { resolve, reject });
          ws[worker].postMessage(job, [job.data.buffer as ArrayBuffer]);
        });
        // jobs still in flight when the caller fails are never awaited: not an unhandled rejection
        p.catch(() => undefined);
        return p;
      },
    });
  } finally {
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
