/** Worker thread: hashes the blocks of the chunks it is sent (see leaf-hashing.ts). */
import { parentPort } from "node:worker_threads";
import { BlockHashParams, BlockHasher } from "../formats/verity/block-hasher.js";

export interface HashJob {
  id: number;
  params: BlockHashParams;
  data: Uint8Array;
}
export interface HashReply {
  id: number;
  digests: Uint8Array;
  /** the whole chunk buffer, handed back for reuse */
  data: Uint8Array;
}

let cached: { key: string; hasher: BlockHasher } | undefined;

parentPort!.on("message", (job: HashJob) => {
  const key = `${job.params.algorithm}/${job.params.blockSize}/${job.params.saltPosition}/${Buffer.from(job.params.salt).toString("hex")}`;
  if (cached?.key !== key) cached = { key, hasher: new BlockHasher(job.params) };
  const h = cached.hasher;
  const digests = new Uint8Array((job.data.length / job.params.blockSize) * h.digestSize);
  h.hashBlocks(job.data, digests);
  const data = new Uint8Array(job.data.buffer);
  parentPort!.postMessage({ id: job.id, digests, data } satisfies HashReply, [digests.buffer as ArrayBuffer, data.buffer as ArrayBuffer]);
});
