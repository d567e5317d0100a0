/**
 * The cpio "newc" header (magic 070701) and its checksummed variant "crc" (070702): 110 ASCII
 * bytes, a 6-byte magic then 13 fields of 8 hex digits. One definition for reader and writer.
 */
import { FormatError } from "../../errors.js";

export const NEWC_MAGIC = "070701";
export const CRC_MAGIC = "070702";
export const HEADER_SIZE = 110;
export const TRAILER_NAME = "TRAILER!!!";

/** Field order and offsets; every field is 8 hex digits. */
export const NEWC_FIELDS = [
  "ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
  "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check",
] as const;
export const fieldOffset = (i: number): number => 6 + 8 * i;

export interface NewcHeader {
  /** true for 070702: `check` is the 32-bit sum of the data bytes */
  crc: boolean;
  ino: number; mode: number; uid: number; gid: number; nlink: number; mtime: number;
  filesize: number; devmajor: number; devminor: number; rdevmajor: number; rdevminor: number;
  namesize: number; check: number;
}

/** Rounds up to a multiple of 4 in plain arithmetic: offsets in a decompressed archive pass 2^31. */
export const align4 = (n: number): number => n + ((4 - (n % 4)) % 4);

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Parses the 110 bytes at buf[at]; `offset` is the position in the input, for error messages. */
export function decodeNewcHeader(buf: Uint8Array, at: number, offset: number): NewcHeader {
  const magic = String.fromCharCode(...buf.subarray(at, at + 6));
  if (magic !== NEWC_MAGIC && magic !== CRC_MAGIC) {
    if (magic === "070707") throw new FormatError("cpio", offset, "old portable (odc) cpio format; expected newc (070701) or crc (070702)");
    throw new FormatError("cpio", offset, `no cpio magic: expected "070701" or "070702", found ${JSON.stringify(magic)}`);
  }
  const h: Record<string, number | boolean> = { crc: magic === CRC_MAGIC };
  NEWC_FIELDS.forEach((name, i) => {
    let v = 0;
    const o = at + fieldOffset(i);
    for (let k = 0; k < 8; k++) {
      const d = hexDigit(buf[o + k]);
      if (d < 0) throw new FormatError("cpio", offset + fieldOffset(i) + k, `field ${name}: expected a hex digit, found byte 0x${buf[o + k].toString(16).padStart(2, "0")}`);
      v = v * 16 + d;
    }
    h[name] = v;
  });
  return h as unknown as NewcHeader;
}

export function encodeNewcHeader(h: Omit<NewcHeader, "crc"> & { crc?: boolean }): Uint8Array {
  let s = h.crc ? CRC_MAGIC : NEWC_MAGIC;
  for (const name of NEWC_FIELDS) {
    const v = h[name];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`cpio field ${name} out of range: ${v}`);
    s += v.toString(16).toUpperCase().padStart(8, "0");
  }
  return Buffer.from(s, "latin1");
}
