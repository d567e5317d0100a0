/**
 * bzip2, one stream, as the kernel's lib/decompress_bunzip2.c reads it: "BZh1".."BZh9", blocks,
 * the end-of-stream marker and the combined CRC. The stream ends in the byte holding the CRC's
 * last bit, which is where the kernel's `*pos` points too.
 *
 * seek-bzip does the decoding; its one-shot decode() reads past the end of its input as zeros
 * and stops at the end of the input without checking the stream CRC, so its block-level methods
 * are driven here, with a byte reader that throws at the end of the input. It is slow (pure JS,
 * one call per output byte), but bzip2 initramfs images are rare.
 */

import { createRequire } from "node:module";
import { FormatError } from "../errors.js";

interface ByteReader {
  readByte(): number;
  read(buffer: Uint8Array, at: number, length: number): number;
}
interface ByteWriter {
  writeByte(byte: number): void;
}
interface BunzipState {
  _init_block(): boolean;
  _read_bunzip(): number;
  reader: { read(bits: number): number };
  streamCRC: number;
}
type BunzipConstructor = new (input: ByteReader, output: ByteWriter) => BunzipState;

const require = createRequire(import.meta.url);
let Bunzip: BunzipConstructor | undefined;

const OUTPUT_CHUNK = 1 << 20;
const FIRST_CHUNK = 64 << 10;

class TruncatedInput extends Error {}

export async function* decompressBzip2(input: Uint8Array, offset: number): AsyncGenerator<Uint8Array, number, void> {
  if (input.length - offset < 4) throw new FormatError("bzip2", offset, "truncated header");
  const level = input[offset + 3] - 0x30;
  if (input[offset] !== 0x42 || input[offset + 1] !== 0x5a || input[offset + 2] !== 0x68 || level < 1 || level > 9) {
    throw new FormatError("bzip2", offset, "bad magic: not \"BZh1\"..\"BZh9\"");
  }
  Bunzip ??= require("seek-bzip") as BunzipConstructor;

  let pos = offset;
  const reader: ByteReader = {
    readByte() {
      if (pos >= input.length) throw new TruncatedInput();
      return input[pos++];
    },
    read(buffer, at, length) {
      const n = Math.min(length, input.length - pos);
      for (let i = 0; i < n; i++) buffer[at + i] = input[pos++];
      return n;
    },
  };
  // Output goes into chunks that double up to 1 MiB (a tiny stream does not pay for 1 MiB); views
  // of the filled part are yielded and never written again.
  let chunk = new Uint8Array(FIRST_CHUNK);
  let filled = 0;
  let yielded = 0;
  const ready: Uint8Array[] = [];
  const writer: ByteWriter = {
    writeByte(byte) {
      if (filled === chunk.length) {
        if (filled > yielded) ready.push(chunk.subarray(yielded, filled));
        chunk = new Uint8Array(Math.min(OUTPUT_CHUNK, chunk.length * 2));
        filled = yielded = 0;
      }
      chunk[filled++] = byte;
    },
  };
  const fail = (e: unknown): FormatError => {
    if (e instanceof FormatError) return e;
    if (e instanceof TruncatedInput) return new FormatError("bzip2", pos, "truncated: unexpected end of input");
    return new FormatError("bzip2", pos, `corrupt data: ${(e as Error).message}`);
  };

  let bz: BunzipState;
  try {
    bz = new Bunzip(reader, writer);
  } catch (e) {
    throw fail(e);
  }
  for (;;) {
    let more: boolean;
    try {
      more = bz._init_block();
      if (more) bz._read_bunzip();
    } catch (e) {
      throw fail(e);
    }
    if (filled > yielded) {
      ready.push(chunk.subarray(yielded, filled));
      yielded = filled;
    }
    for (const out of ready) yield out;
    ready.length = 0;
    if (!more) break;
  }
  let storedCrc: number;
  try {
    storedCrc = bz.reader.read(32) >>> 0;
  } catch (e) {
    throw fail(e);
  }
  if (storedCrc !== bz.streamCRC >>> 0) throw new FormatError("bzip2", pos - 4, "stream CRC mismatch: corrupt data");
  return pos - offset;
}
