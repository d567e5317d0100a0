/**
 * Xattr encoding for the writer: which (name, value) pairs go to the shared area, and the bytes
 * of an inode's inline xattr area.
 */
import { FormatError } from "../../../errors.js";
import { alignUp, XattrEntry, XattrIbodyHeader } from "../ondisk.js";
import { splitXattrName } from "../xattr-names.js";

export interface XattrPair {
  name: string;
  value: Uint8Array;
}

export const pairKey = (name: string, value: Uint8Array): string => `${name}\0${Buffer.from(value).toString("latin1")}`;

/** Size of one encoded entry, padded to 4 bytes. */
export function xattrEntrySize(p: XattrPair): number {
  const { suffix } = splitXattrName(p.name);
  return alignUp(XattrEntry.size + suffix.length + p.value.length, 4);
}

export function encodeXattrEntry(out: Uint8Array, at: number, p: XattrPair): number {
  const { index, suffix } = splitXattrName(p.name);
  if (index === 0) throw new FormatError("erofs", undefined, `xattr ${JSON.stringify(p.name)}: no EROFS prefix (user., trusted., security., system.posix_acl_*) — the kernel could not show it`);
  if (suffix.length > 255) throw new FormatError("erofs", undefined, `xattr name ${JSON.stringify(p.name)} too long`);
  if (p.value.length > 65535) throw new FormatError("erofs", undefined, `xattr ${JSON.stringify(p.name)}: value larger than 65535 bytes`);
  XattrEntry.encode(out, at, { nameLen: suffix.length, nameIndex: index, valueSize: p.value.length });
  out.set(Buffer.from(suffix, "latin1"), at + XattrEntry.size);
  out.set(p.value, at + XattrEntry.size + suffix.length);
  return xattrEntrySize(p);
}

/** The layout of one inode's inline xattr area. */
export interface InodeXattrs {
  sharedIds: number[];
  inline: XattrPair[];
  /** bytes of the inline area (0 when the inode has no xattrs) */
  size: number;
  /** i_xattr_icount */
  icount: number;
}

export function planInodeXattrs(sharedIds: number[], inline: XattrPair[]): InodeXattrs {
  if (sharedIds.length === 0 && inline.length === 0) return { sharedIds, inline, size: 0, icount: 0 };
  if (sharedIds.length > 255) throw new FormatError("erofs", undefined, "more than 255 shared xattrs on one inode");
  const size = XattrIbodyHeader.size + 4 * sharedIds.length + inline.reduce((s, p) => s + xattrEntrySize(p), 0);
  const icount = (size - XattrIbodyHeader.size) / 4 + 1;
  if (icount > 0xffff) throw new FormatError("erofs", undefined, "xattrs of one inode exceed the 256 KiB inline limit");
  return { sharedIds, inline, size, icount };
}

export function encodeInodeXattrs(out: Uint8Array, at: number, x: InodeXattrs): void {
  if (x.size === 0) return;
  XattrIbodyHeader.encode(out, at, { nameFilter: 0, sharedCount: x.sharedIds.length });
  let o = at + XattrIbodyHeader.size;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const id of x.sharedIds) dv.setUint32(o, id, true), (o += 4);
  for (const p of x.inline) o += encodeXattrEntry(out, o, p);
}
