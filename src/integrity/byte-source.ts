/** Positional byte sources for the integrity checks: an open file or bytes in memory. */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export interface ByteSource {
  /** for messages */
  readonly name: string;
  readonly size: number;
  /** Reads up to `into.length` bytes at `position`; returns how many (fewer only at the end). */
  readAt(into: Uint8Array, position: number): number;
}

export function bytesSource(bytes: Uint8Array, name = "image"): ByteSource {
  return {
    name,
    size: bytes.length,
    readAt(into, position) {
      const part = bytes.subarray(Math.min(position, bytes.length), Math.min(position + into.length, bytes.length));
      into.set(part);
      return part.length;
    },
  };
}

/** Opens `path`, runs `fn` with it as a source, closes it even when `fn` fails. */
export async function withFileSource<T>(path: string, fn: (s: ByteSource) => Promise<T>, flags = "r"): Promise<T> {
  const fd = openSync(path, flags);
  try {
    return await fn(fdSource(fd, path, fstatSync(fd).size));
  } finally {
    closeSync(fd);
  }
}

/** A source over an open file descriptor (the caller closes it). */
export function fdSource(fd: number, name: string, size: number): ByteSource {
  return {
    name,
    size,
    readAt(into, position) {
      let done = 0;
      while (done < into.length && position + done < size) {
        const n = readSync(fd, into, done, into.length - done, position + done);
        if (n === 0) break;
        done += n;
      }
      return done;
    },
  };
}

/** Reads exactly `length` bytes or fewer at the end of the source. */
export function readRange(src: ByteSource, position: number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  return b.subarray(0, src.readAt(b, position));
}
