/** Parsers for option values; each throws a UsageError naming the option. */
import { UsageError } from "../errors.js";
import { Timestamp } from "../fs/tree.js";
import { memberOf } from "../formats/storage-init-config/schema.js";

export function parseUuid(s: string): Uint8Array {
  const hex = s.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new UsageError(`--uuid: expected 32 hex digits (dashes allowed), got ${JSON.stringify(s)}`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function parseTimestamp(s: string): Timestamp {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(s);
  if (!m) throw new UsageError(`--timestamp: expected seconds since the epoch (e.g. 1700000000 or 1700000000.5), got ${JSON.stringify(s)}`);
  return { sec: Number(m[1]), nsec: m[2] ? Number(m[2].padEnd(9, "0")) : 0 };
}

/** An option whose value must be one of `allowed`: the one way option strings become unions. */
export function oneOf<T extends string>(option: string, v: string, allowed: readonly T[]): T {
  return memberOf(allowed, v) ?? usage(`${option}: expected ${allowed.join(", ")}, got ${JSON.stringify(v)}`);
}

/** `oneOf` for an option that may be absent. */
export function optionalOneOf<T extends string>(option: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  return v === undefined ? undefined : oneOf(option, v, allowed);
}

export function whole(option: string, v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`${option}: expected a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function usage(message: string): never {
  throw new UsageError(message);
}

/** A size in bytes: a whole number with an optional K, M, G or T suffix (powers of 1024). */
export function parseSize(option: string, s: string): number {
  const m = /^(\d+)([KMGT]?)(?:i?B)?$/i.exec(s);
  const n = m ? Number(m[1]) * 1024 ** " KMGT".indexOf((m[2] || " ").toUpperCase()) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${option}: expected a size such as 512M or 8G, got ${JSON.stringify(s)}`);
  return n;
}
