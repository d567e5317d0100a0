/**
 * Reads an initramfs file into a tree, segment by segment, as the kernel's unpack_to_rootfs()
 * does: an uncompressed cpio archive starts with "0" at a 4-byte-aligned offset, NUL bytes are
 * padding, anything else must be a compressed stream, whose decompressed bytes are one or more
 * cpio archives; the next segment starts right after the compressed stream. Everything is
 * streamed into the tree: nothing is extracted to disk.
 */
import { setImmediate } from "node:timers/promises";
import { Compression, decompress, detectCompression } from "../compression/index.js";
import { FormatError } from "../errors.js";
import { CpioParser } from "../formats/cpio/parser.js";
import { FsTree } from "../fs/tree.js";
import { DEFAULT_MAX_UNPACKED } from "./limits.js";
import { InitramfsUnpacker, UnpackOptions, UnpackWarning } from "./unpack.js";

export interface InitramfsSegment {
  offset: number;
  /** bytes of the input file the segment occupies */
  length: number;
  compression: Compression | "none";
  /** decompressed bytes */
  size: number;
}

export interface InitramfsReadResult {
  tree: FsTree;
  segments: InitramfsSegment[];
  warnings: UnpackWarning[];
  entries: number;
}

export interface InitramfsReadOptions extends UnpackOptions {
  onProgress?: (inputDone: number, inputTotal: number) => void;
  /** refuse input whose archives hold more than this many bytes (default DEFAULT_MAX_UNPACKED) */
  maxUnpackedBytes?: number;
}

export async function readInitramfs(input: Uint8Array, opts: InitramfsReadOptions = {}): Promise<InitramfsReadResult> {
  const source = opts.source ?? "initramfs";
  const unpacker = new InitramfsUnpacker({ ...opts, source });
  const segments: InitramfsSegment[] = [];
  const max = opts.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED;
  let unpacked = 0;
  const count = (bytes: number, at: number) => {
    unpacked += bytes;
    if (unpacked > max) throw new FormatError("initramfs", at, `unpacks to more than ${max} bytes (the limit; raise it with --max-unpacked)`, source);
  };
  let pos = 0;
  while (pos < input.length) {
    if (input[pos] === 0) {
      pos++;
      continue;
    }
    if (input[pos] === 0x30 /* '0' */ && (pos & 3) === 0) {
      // uncompressed archive(s), parsed in place; stops at the first byte that starts no archive
      unpacker.segmentBase = 0;
      unpacker.currentSource = source;
      const parser = new CpioParser(unpacker, source, pos);
      const used = parser.push(input.subarray(pos), true);
      count(used, pos);
      parser.end();
      segments.push({ offset: pos, length: used, compression: "none", size: used });
      pos += used;
      opts.onProgress?.(pos, input.length);
      continue;
    }
    const kind = detectCompression(input, pos);
    if (!kind) {
      throw new FormatError("initramfs", pos, `invalid magic at start of compressed archive: bytes ${hex(input.subarray(pos, pos + 4))}`, source);
    }
    // offsets inside a decompressed stream are reported as "segment offset + stream offset"
    const streamSource = `${source}: ${kind} stream at offset ${pos}, decompressed`;
    unpacker.segmentBase = 0;
    unpacker.currentSource = streamSource;
    const parser = new CpioParser(unpacker, streamSource, 0);
    const gen = decompress(kind, input, pos);
    let size = 0;
    let r = await gen.next();
    while (!r.done) {
      size += r.value.length;
      count(r.value.length, pos);
      parser.push(r.value);
      // the event loop runs between chunks (worker replies: see TreeCompressor), also when the
      // decoder itself never waits (zstd, lz4, lzo, bzip2 decode synchronously)
      await setImmediate();
      r = await gen.next();
    }
    const consumed = r.value;
    if (!parser.atArchiveBoundary) {
      throw new FormatError("cpio", parser.offset, "junk at the end of compressed archive: the cpio data stops inside an entry", streamSource);
    }
    segments.push({ offset: pos, length: consumed, compression: kind, size });
    if (consumed <= 0) throw new FormatError(kind, pos, "decoder consumed no input", source);
    pos += consumed;
    opts.onProgress?.(pos, input.length);
  }
  return { tree: unpacker.tree, segments, warnings: unpacker.warnings, entries: unpacker.entries };
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
}
