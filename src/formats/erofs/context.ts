/**
 * What the per-structure readers (superblock, inode, extents, dirent, xattr) share: the image
 * bytes and bounds, how problems are reported, and little-endian helpers for hot loops.
 *
 * Two kinds of problems:
 * - hard: the structure cannot be interpreted (out of bounds, broken directory block, ...). Always
 *   a FormatError (or UnsupportedError for valid but unimplemented features).
 * - soft: the data is still reachable but the format does not allow it (unsorted directory,
 *   file type mismatch, bad checksum, ...). A FormatError in strict mode (the default), ignored
 *   in non-strict mode, or handed to `onProblem` when given (fsck collects them that way).
 */
import { FormatError, UnsupportedError } from "../../errors.js";
import { displayName } from "../../fs/tree.js";

export const FMT = "erofs";

export interface ErofsProblem {
  offset?: number;
  path?: string;
  message: string;
}

/** The parts of an open image the structure readers need. */
export interface ErofsContext {
  readonly bytes: Uint8Array;
  /** Bytes that metadata and data may reference: the image, cut to `blocks` in strict mode. */
  readonly limit: number;
  /** Reports a problem the strict mode rejects but that does not stop reading. */
  soft(offset: number | undefined, detail: string, path?: string): void;
}

export function pathNote(path: string | undefined): string {
  return path === undefined ? "" : ` (path "${displayName(path) || "/"}")`;
}

/** A structure that cannot be interpreted (the caller throws it). */
export function hard(offset: number | undefined, detail: string, path?: string): FormatError {
  return new FormatError(FMT, offset, detail + pathNote(path));
}

export function unsupported(offset: number | undefined, detail: string, path?: string): UnsupportedError {
  return new UnsupportedError(FMT, offset, detail + pathNote(path));
}

/** Is [off, off+len) inside the bytes the image may reference? */
export function inBounds(ctx: ErofsContext, off: number, len: number): boolean {
  return off >= 0 && len >= 0 && off + len <= ctx.limit;
}

export function u16at(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}
export function u32at(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}

/** Re-creates a FormatError (keeping its class) with more context appended. */
export function withContext(e: unknown, context: string): unknown {
  if (!(e instanceof FormatError) || context === "" || e.detail.includes(context)) return e;
  const Ctor = e instanceof UnsupportedError ? UnsupportedError : FormatError;
  return new Ctor(e.format, e.offset, `${e.detail}${context}`, e.source);
}
