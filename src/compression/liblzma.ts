/**
 * xz and legacy .lzma ("lzma-alone") through liblzma, streaming, by our N-API addon
 * (src/compression/native/lzma-stream.c), as zstd.ts reads zstd: chunks are yielded as they are
 * decoded, so the consumer starts on the first files while the rest is still compressed.
 *
 * xz: one stream, as the kernel's xz_dec_run() reads it (no concatenation, no stream padding):
 * the stream decoder without LZMA_CONCATENATED stops right after the stream footer, and the input
 * it consumed is then exactly the stream's length. lzma: the alone decoder stops at the end marker
 * or at the size in the header, the consumed input again exact (the kernel's unlzma counts the
 * same bytes).
 */

import { FormatError, UnsupportedError } from "../errors.js";
import { loadAddon } from "./native-addon.js";

interface LzmaAddon {
  createDecoder(format: 0 | 1, memlimit: number): object;
  decode(decoder: object, src: Uint8Array, dst: Uint8Array, out: Float64Array): void;
  version(): string;
}

const loadLzma = () => loadAddon<LzmaAddon>("lzma_stream", "liblzma-dev");

/** liblzma's version (the one linked into the addon) */
export function liblzmaVersion(): string {
  return loadLzma().version();
}

/** Enough for any dictionary xz can make (1.5 GiB); bounds what a hostile header can allocate. */
const MEMLIMIT = 2 ** 31;
/** output chunks grow like zstd.ts's: the first files reach the consumer early */
const FIRST_CHUNK = 1 << 20;
const MAX_CHUNK = 16 << 20;

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/** lzma_ret values (<lzma/base.h>, a stable ABI) */
const LZMA_OK = 0;
const LZMA_STREAM_END = 1;
const RET_NAMES: Record<number, string> = {
  2: "LZMA_NO_CHECK", 3: "LZMA_UNSUPPORTED_CHECK", 4: "LZMA_GET_CHECK", 5: "LZMA_MEM_ERROR", 6: "LZMA_MEMLIMIT_ERROR",
  7: "LZMA_FORMAT_ERROR", 8: "LZMA_OPTIONS_ERROR", 9: "LZMA_DATA_ERROR", 10: "LZMA_BUF_ERROR", 11: "LZMA_PROG_ERROR",
};

function describe(kind: string, ret: number): { detail: string; unsupported: boolean } {
  switch (RET_NAMES[ret]) {
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
      return { detail: `liblzma: ${RET_NAMES[ret] ?? `error ${ret}`}`, unsupported: false };
  }
}

async function* decompressLiblzma(kind: "xz" | "lzma", input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  let lib: LzmaAddon;
  try {
    lib = loadLzma();
  } catch (e) {
    throw new UnsupportedError(kind, offset, (e as Error).message);
  }
  const decoder = lib.createDecoder(kind === "xz" ? 0 : 1, MEMLIMIT);
  const src = input.subarray(offset);
  const out = new Float64Array(3);
  let pos = 0;
  let chunkSize = FIRST_CHUNK;
  for (;;) {
    // fresh memory for every chunk: the consumer keeps views into it (shared: see zstd.ts)
    const chunk = new Uint8Array(new SharedArrayBuffer(chunkSize));
    chunkSize = Math.min(2 * chunkSize, MAX_CHUNK);
    let filled = 0;
    let ret = LZMA_OK;
    while (filled < chunk.length) {
      lib.decode(decoder, src.subarray(pos), chunk.subarray(filled), out);
      pos += out[0];
      filled += out[1];
      ret = out[2];
      if (ret !== LZMA_OK) break;
      // all input given with LZMA_FINISH, room left, yet no end: liblzma's next call says LZMA_BUF_ERROR
      if (out[0] === 0 && out[1] === 0) {
        ret = 10;
        break;
      }
    }
    if (filled) yield chunk.subarray(0, filled);
    if (ret === LZMA_STREAM_END) return pos;
    if (ret !== LZMA_OK) {
      const { detail, unsupported } = describe(kind, ret);
      const Err = unsupported ? UnsupportedError : FormatError;
      throw new Err(kind, offset + pos, detail);
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
