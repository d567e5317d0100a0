/** Worker thread of compress-tree.ts: compresses one file per message. */
import { parentPort } from "node:worker_threads";
import { compressFile, CompressedFile } from "../formats/erofs/writer/compress-file.js";
import { lz4DestSize } from "../compression/lz4-native.js";
import type { DestSizeCompressor } from "../formats/erofs/writer/compress-file.js";

export interface CompressJob {
  data: Uint8Array;
  level: number;
  maxPclusterBlocks: number;
  maxExtentBytes: number;
  tailPacking?: boolean;
}
export interface CompressReply {
  result: CompressedFile | undefined;
}

const compressors = new Map<number, DestSizeCompressor>();

parentPort?.on("message", (job: CompressJob) => {
  let c = compressors.get(job.level);
  if (!c) compressors.set(job.level, (c = lz4DestSize(job.level)));
  const result = compressFile(job.data, c, job);
  const reply: CompressReply = { result };
  parentPort!.postMessage(reply, result ? [result.payload.buffer as ArrayBuffer] : []);
});
