/** Parsers for option values; each throws a UsageError naming the option. */
import { UsageError } from "../errors.js";
import { Timestamp } from "../fs/tree.js";

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
