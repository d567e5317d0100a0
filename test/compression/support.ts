/** Shared helpers for the compression tests (no tests here). */

import { execFileSync } from "node:child_process";
import { FormatError } from "../../src/errors.js";
import { hasCommand } from "../helpers/run.js";

/** Runs a CLI tool with `input` on stdin; undefined when the tool is not installed. */
export function runTool(cmd: string, args: string[], input: Uint8Array): Buffer | undefined {
  if (!hasCommand(cmd)) return undefined;
  return execFileSync(cmd, args, { input, maxBuffer: 1 << 30 });
}

export { hasCommand as hasTool };

export interface Collected {
  data: Buffer;
  consumed: number;
  chunks: Uint8Array[];
}

/** Drains a decompress() generator, keeping its return value. */
export async function collect(gen: AsyncGenerator<Uint8Array, number, void>): Promise<Collected> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const r = await gen.next();
    if (r.done) return { data: Buffer.concat(chunks), consumed: r.value, chunks };
    chunks.push(r.value);
  }
}

/** Deterministic pseudo-random bytes (xorshift32). */
import { randomBytes } from "../helpers/prng.js";
export { randomBytes };

/** Compressible data: text lines, runs of zeros, repeated binary patterns, some noise. */
export function structuredData(n: number, seed = 7): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  let i = 0;
  while (size < n) {
    let part: Buffer;
    switch (i % 4) {
      case 0:
        part = Buffer.from(`line ${i}: /usr/lib/modules/6.1.0/kernel/drivers/net/${i % 97}.ko\n`.repeat(20));
        break;
      case 1:
        part = Buffer.alloc(1000 + (i % 5000));
        break;
      case 2:
        part = Buffer.from(Array.from({ length: 4096 }, (_, k) => (k * 31 + i) & 0xff));
        break;
      default:
        part = randomBytes(200 + (i % 300), seed + i);
    }
    parts.push(part);
    size += part.length;
    i++;
  }
  return Buffer.concat(parts).subarray(0, n);
}

/** Asserts that `p` rejects with a FormatError for `format`; returns it. */
export async function expectFormatError(p: Promise<unknown>, format: string): Promise<FormatError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof FormatError)) throw new Error(`expected a FormatError, got ${String(e)}`, { cause: e });
    if (e.format !== format) throw new Error(`expected a ${format} FormatError, got: ${e.message}`);
    return e;
  }
  throw new Error(`expected a ${format} FormatError, but it succeeded`);
}

/** Succeeds or fails with a FormatError of `format`; anything else (crash, TypeError) fails. */
export async function expectNoCrash(p: Promise<unknown>, format: string): Promise<"ok" | "error"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof FormatError && e.format === format) return "error";
    throw new Error(`expected success or a ${format} FormatError, got ${String(e)}`, { cause: e });
  }
}
