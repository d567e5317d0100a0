/** The EROFS compression options shared by `convert` and `build`. */
import { Command } from "commander";
import type { CompressionSettings } from "../pipeline/compress-tree.js";
import { UsageError } from "../errors.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addCompressionOptions(cmd: Command, defaultAlgorithm: string): Command {
  return cmd
    .option("-z, --compression <alg>", "EROFS data compression: none, lz4, lz4hc (level 9) or lz4hc,LEVEL (1-12)", defaultAlgorithm)
    .option("--max-pcluster <size>", "physical cluster size for compressed data, 4K to 1M (above 4K: big pclusters, Linux 5.13+)", "4K")
    .option("--full-index", "write full (8 bytes per 4 KiB) lcluster indexes instead of compact ones")
    .option("--ztailpacking", "store each compressed file's last, sub-block pcluster inline after its index (Linux 5.17+)")
    .option("--uncompressed <regex>", "keep files whose path (relative, e.g. usr/lib/firmware/.*\\.xz$) matches uncompressed; repeatable", collect)
    .option("--workers <n>", "compression threads (default: one per CPU)");
}

/** Async: the compression modules load only for a command that runs (not for --help). */
export async function compressionFromOptions(o: Record<string, unknown>): Promise<CompressionSettings | undefined> {
  const { parseCompression, parsePclusterSize } = await import("../pipeline/compress-tree.js");
  const alg = parseCompression(String(o.compression));
  if (!alg) return undefined;
  let workers: number | undefined;
  if (o.workers !== undefined) {
    workers = Number(o.workers);
    if (!/^\d+$/.test(String(o.workers)) || workers < 1 || workers > 256) throw new UsageError(`--workers: expected 1..256, got ${JSON.stringify(o.workers)}`);
  }
  const exclude = ((o.uncompressed as string[] | undefined) ?? []).map((r) => {
    try {
      return new RegExp(r);
    } catch (e) {
      throw new UsageError(`--uncompressed: invalid regular expression ${JSON.stringify(r)}: ${(e as Error).message}`);
    }
  });
  return {
    ...alg, maxPclusterBytes: parsePclusterSize(String(o.maxPcluster)), index: o.fullIndex ? "full" : "compact", exclude, workers,
    tailPacking: !!o.ztailpacking,
  };
}
