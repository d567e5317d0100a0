/**
 * xz and legacy .lzma ("lzma-alone") through liblzma (lzma-native's native stream, used directly:
 * its JS Transform wrapper restarts after a stream end to read concatenated streams, which would
 * hide where the first one ends).
 *
 * xz: one stream, as the kernel's xz_dec_run() reads it (no concatenation, no stream padding):
 * the stream decoder without LZMA_CONCATENATED stops right after the stream footer, and liblzma's
 * total_in is then exactly the stream's length. lzma: the alone decoder stops at the end marker
 * or at the size in the header, total_in again exact (the kernel's unlzma counts the same bytes).
 *
 * Decoding runs on the libuv thread pool (lzma-native's async mode); the next input step is
 * started before the previous output is yielded, so liblzma works while the consumer does.
 */

import { createRequire } from "node:module";
import { FormatError, UnsupportedError } from "../errors.js";

interface NativeStream {
  bufferHandler: (buf: Buffer | null | undefined, processedChunks: number | undefined, err: Error | null | undefined, totalIn: number | null) => void;
  code(chunk: Uint8Array | null, async: boolean): void;
  streamDecoder_(memlimit: number | null, flags: number): void;
  aloneDecoder_(memlimit: number | null): void;
  setBufsize(size: number): number;
  resetUnderlying(): void;
}
interface LzmaNative {
  Stream: new () => NativeStream;
  asyncCodeAvailable: boolean;
}

const require = createRequire(import.meta.url);
let native: LzmaNative | undefined;

function loadNative(kind: string, offset: number): LzmaNative {
  if (native) return native;
  try {
    native = require("lzma-native") as LzmaNative;
    return native;
  } catch (e) {
    throw new UnsupportedError(kind, offset, `liblzma binding (lzma-native) cannot be loaded: ${(e as Error).message}`);
  }
}

/** Enough for any dictionary xz can make (1.5 GiB); bounds what a hostile header can allocate. */
const MEMLIMIT = 2 ** 31;
const STEP_INPUT = 1 << 20;
const OUTPUT_BUFSIZE = 1 << 20;

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

interface StepResult {
  outputs: Buffer[];
  ended: boolean;
  error: (Error & { name?: string }) | undefined;
  totalIn: number;
  /** this step sent the end of input (LZMA_FINISH): it must end or fail */
  finishing: boolean;
}

function describe(kind: string, error: Error & { name?: string }): { detail: string; unsupported: boolean } {
  switch (error.name) {
    case "LZMA_BUF_ERROR":
      return { detail: "truncated: unexpected end of input", unsupported: false };
    case "LZMA_DATA_ERROR":
      return { detail: "corrupt data", unsupported: false };
    case "LZMA_FORMAT_ERROR":
      return { detail: `not ${kind} data (bad header)`, unsupported: false };
    case "LZMA_OPTIONS_ERROR":
      return { detail: "unsupported options (filter or header values)", unsupported: true };
    case "LZMA_MEMLIMIT_ERROR":
      return { detail: `needs more than ${MEMLIMIT} bytes of decoder memory`, unsupported: true };
    default:
      return { detail: `liblzma: ${error.message}`, unsupported: false };
  }
}

async function* decompressLiblzma(kind: "xz" | "lzma", input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  const lib = loadNative(kind, offset);
  const stream = new lib.Stream();
  if (kind === "xz") stream.streamDecoder_(MEMLIMIT, 0);
  else stream.aloneDecoder_(MEMLIMIT);
  stream.setBufsize(OUTPUT_BUFSIZE);
  const useAsync = lib.asyncCodeAvailable;

  // At most one code() call is in flight; its callbacks (outputs, then end/error, then the
  // processed-chunks count) all land in `current`.
  let current: StepResult = { outputs: [], ended: false, error: undefined, totalIn: 0, finishing: false };
  let wake: (() => void) | undefined;
  stream.bufferHandler = (buf, processedChunks, err, totalIn) => {
    if (totalIn !== null && totalIn !== undefined) current.totalIn = totalIn;
    if (buf) current.outputs.push(buf);
    else if (buf === null) {
      if (err) current.error = err;
      else current.ended = true;
    }
    if (buf === null || typeof processedChunks === "number") {
      const w = wake;
      wake = undefined;
      w?.();
    }
  };

  let pos = offset;
  let totalIn = 0;
  const step = (): Promise<StepResult> => {
    const chunk = pos < input.length ? input.subarray(pos, Math.min(pos + STEP_INPUT, input.length)) : null;
    if (chunk) pos += chunk.length;
    current = { outputs: [], ended: false, error: undefined, totalIn, finishing: chunk === null };
    const result = current;
    return new Promise<StepResult>((resolve) => {
      wake = () => resolve(result);
      try {
        stream.code(chunk, useAsync);
      } catch (e) {
        result.error = e as Error;
        wake = undefined;
        resolve(result);
      }
    });
  };

  let finished = false;
  let pending: Promise<StepResult> | undefined;
  try {
    let next: Promise<StepResult> = step();
    pending = next;
    for (;;) {
      const result = await next;
      pending = undefined;
      totalIn = result.totalIn;
      if (result.finishing && !result.ended && !result.error) {
        // liblzma reports LZMA_BUF_ERROR here; never call it again after the finish
        result.error = Object.assign(new Error("no progress"), { name: "LZMA_BUF_ERROR" });
      }
      const done = result.ended || result.error !== undefined;
      if (!done) pending = next = step();
      for (const out of result.outputs) yield out;
      if (result.error) {
        const { detail, unsupported } = describe(kind, result.error);
        const Err = unsupported ? UnsupportedError : FormatError;
        throw new Err(kind, offset + totalIn, detail);
      }
      if (result.ended) {
        finished = true;
        return totalIn;
      }
    }
  } finally {
    // liblzma resets itself after an end or error; otherwise release it now (the consumer
    // stopped early), after the step started ahead of the consumer has come back.
    if (pending) await pending;
    if (!finished) {
      try {
        stream.resetUnderlying();
      } catch {
        // already released
      }
    }
  }
}

export function decompressXz(input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  for (let i = 0; i < XZ_MAGIC.length; i++) {
    if (input[offset + i] !== XZ_MAGIC[i]) {
      return failing(new FormatError("xz", offset, input.length - offset < XZ_MAGIC.length ? "truncated header" : "bad magic"));
    }
  }
  return decompressLiblzma("xz", input, offset);
}

export function decompressLzma(input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  // 13-byte header: properties (lc/lp/pb packed, < 225), dictionary size, uncompressed size
  if (input.length - offset < 13) return failing(new FormatError("lzma", offset, "truncated header"));
  if (input[offset] >= 225) return failing(new FormatError("lzma", offset, `bad properties byte ${input[offset]}`));
  return decompressLiblzma("lzma", input, offset);
}

async function* failing(error: Error): AsyncGenerator<Uint8Array, number, void> {
  throw error;
}
