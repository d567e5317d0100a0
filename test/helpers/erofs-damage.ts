/** Shared checks for damaged EROFS images: only typed errors, with offsets, and reader/fsck agreement. */
import assert from "node:assert/strict";
import { FormatError } from "../../src/errors.js";
import { fsckErofs, type FsckResult } from "../../src/formats/erofs/fsck.js";
import { inspectErofs } from "../../src/formats/erofs/inspect.js";
import { readErofs } from "../../src/formats/erofs/reader.js";
import { readAllContents } from "./erofs.js";

/**
 * Reads everything every way (strict and lenient reader, inspect, fsck); only FormatErrors may
 * come out, and whenever strict reading fails fsck must report a problem. With `offsetsFor`, the
 * strict error and every fsck problem whose message matches it must name an offset.
 */
export function exercise(bytes: Uint8Array, opts: { offsetsFor?: RegExp } = {}): { strictError?: FormatError; fsck: FsckResult; ms: number } {
  const t0 = Date.now();
  let strictError: FormatError | undefined;
  for (const strict of [true, false]) {
    try {
      readAllContents(readErofs(bytes, { strict }));
    } catch (e) {
      if (!(e instanceof FormatError)) throw new Error(`readErofs(strict=${strict}) threw a non-FormatError: ${(e as Error)?.stack ?? e}`);
      if (opts.offsetsFor) assert.notEqual(e.offset, undefined, `no offset in: ${e.message}`);
      if (strict) strictError = e;
    }
  }
  try {
    inspectErofs(bytes);
  } catch (e) {
    if (!(e instanceof FormatError)) throw new Error(`inspectErofs threw a non-FormatError: ${(e as Error)?.stack ?? e}`);
  }
  const fsck = fsckErofs(bytes);
  for (const p of fsck.problems) {
    if (/internal error/.test(p.message)) throw new Error(`fsck hit an internal error: ${p.message}`);
    if (opts.offsetsFor?.test(p.message)) assert.ok(Number.isFinite(p.offset), `fsck problem without an offset: ${p.message}`);
  }
  if (strictError && fsck.problems.length === 0) throw new Error(`strict readErofs failed (${strictError.message}) but fsck found nothing`);
  return { strictError, fsck, ms: Date.now() - t0 };
}

/** Reading all of `bytes` fails with `cls` (default FormatError), a message matching `re`, and an offset. */
export function expectReadError(
  bytes: Uint8Array, re: RegExp,
  opts: { strict?: boolean; cls?: typeof FormatError; offset?: number; within?: [number, number] } = {},
): FormatError {
  let err: unknown;
  try {
    readAllContents(readErofs(bytes, { strict: opts.strict }));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof (opts.cls ?? FormatError), `expected ${(opts.cls ?? FormatError).name}, got ${err}`);
  const fe = err as FormatError;
  assert.match(fe.message, re);
  assert.ok(Number.isFinite(fe.offset), `the error names an offset: ${fe.message}`);
  if (opts.offset !== undefined) assert.equal(fe.offset, opts.offset, fe.message);
  if (opts.within) assert.ok(fe.offset! >= opts.within[0] && fe.offset! <= opts.within[1], `offset ${fe.offset} in [${opts.within}]: ${fe.message}`);
  return fe;
}

export function expectFsckProblem(bytes: Uint8Array, re: RegExp, offset?: number): void {
  const r = fsckErofs(bytes);
  const hit = r.problems.find((p) => re.test(p.message) && (offset === undefined || p.offset === offset));
  assert.ok(hit, `fsck should report ${re} at ${offset}; got ${JSON.stringify(r.problems)}`);
}
