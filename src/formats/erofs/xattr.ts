/**
 * Extended attributes: an inode's inline area (header, shared ids, entries) and the shared
 * entries at xattr_blkaddr the ids point to. Names come back in full (prefix index resolved).
 */
import { bytesToByteString, displayName, type ByteString } from "../../fs/tree.js";
import { hard, inBounds, u32at, unsupported, type ErofsContext } from "./context.js";
import { XATTR_PREFIXES, XattrEntry, XattrIbodyHeader, alignUp } from "./ondisk.js";

/** The inode fields xattr reading needs. */
export interface XattrInode {
  nid: number;
  offset: number;
  xattrIcount: number;
  xattrOffset: number;
  xattrSize: number;
}

/** Where a shared xattr entry is: its id's offset in the inode, and the entry's range. */
export interface SharedXattrRef {
  idAt: number;
  at: number;
  end: number;
}

/** How many shared xattrs an inode references (h_shared_count; 0 without an xattr area). */
export function sharedXattrCount(bytes: Uint8Array, inode: XattrInode): number {
  return inode.xattrIcount > 1 ? bytes[inode.xattrOffset + XattrIbodyHeader.fields.sharedCount.offset] : 0;
}

/**
 * All xattrs of an inode (inline and shared), full names as byte strings. `shared` receives the
 * ranges of the shared entries the inode uses (fsck checks them for overlaps).
 */
export function readXattrs(ctx: ErofsContext, xattrBase: number, inode: XattrInode, path?: string, shared?: SharedXattrRef[]): Map<ByteString, Uint8Array> {
  const out = new Map<ByteString, Uint8Array>();
  if (inode.xattrIcount === 0) return out;
  const nid = inode.nid;
  const area = inode.xattrOffset;
  const end = area + inode.xattrSize;
  if (inode.xattrIcount === 1) {
    ctx.soft(inode.offset + 2, `nid ${nid}: i_xattr_icount 1 (xattr header without entries) is not supported by Linux`, path);
    return out;
  }
  const count = sharedXattrCount(ctx.bytes, inode);
  let pos = area + XattrIbodyHeader.size + 4 * count;
  if (pos > end) {
    throw hard(area + 4, `nid ${nid}: ${count} shared xattrs do not fit in the ${inode.xattrSize}-byte xattr area`, path);
  }
  const add = (entryAt: number, name: ByteString | undefined, value: Uint8Array) => {
    if (name === undefined) return;
    if (out.has(name)) {
      ctx.soft(entryAt, `nid ${nid}: duplicate xattr "${displayName(name)}"`, path);
      return;
    }
    out.set(name, value);
  };
  for (let i = 0; i < count; i++) {
    const idAt = area + XattrIbodyHeader.size + 4 * i;
    const id = u32at(ctx.bytes, idAt);
    const at = xattrBase + id * 4;
    if (!inBounds(ctx, at, XattrEntry.size)) {
      throw hard(idAt, `nid ${nid}: shared xattr id ${id} points outside the image`, path);
    }
    const { entrySize, name, value } = parseXattrEntry(ctx, at, ctx.limit, nid, path);
    shared?.push({ idAt, at, end: at + entrySize });
    add(at, name, value);
  }
  while (pos < end) {
    const { entrySize, name, value } = parseXattrEntry(ctx, pos, end, nid, path);
    add(pos, name, value);
    pos += entrySize;
  }
  return out;
}

/** One entry at `at` that must end by `end`; `name` is undefined for an unknown prefix index (a soft problem). */
function parseXattrEntry(ctx: ErofsContext, at: number, end: number, nid: number, path?: string): { entrySize: number; name?: ByteString; value: Uint8Array } {
  if (at + XattrEntry.size > end) throw hard(at, `nid ${nid}: xattr entry header runs past its area`, path);
  const bytes = ctx.bytes;
  const e = XattrEntry.decode(bytes, at);
  const entrySize = alignUp(XattrEntry.size + e.nameLen + e.valueSize, 4);
  if (at + entrySize > end) {
    throw hard(at, `nid ${nid}: xattr entry (${e.nameLen}-byte name, ${e.valueSize}-byte value) runs past its area`, path);
  }
  const suffix = bytesToByteString(bytes.subarray(at + XattrEntry.size, at + XattrEntry.size + e.nameLen));
  const vAt = at + XattrEntry.size + e.nameLen;
  const value = new Uint8Array(bytes.subarray(vAt, vAt + e.valueSize));
  if (e.nameIndex & 0x80) throw unsupported(at + 1, `nid ${nid}: long xattr name prefix ${e.nameIndex & 0x7f} not supported`, path);
  if (e.nameIndex === 0) {
    if (suffix.length === 0) ctx.soft(at, `nid ${nid}: xattr with empty name`, path);
    return { entrySize, name: suffix, value };
  }
  const prefix = XATTR_PREFIXES.find(([i]) => i === e.nameIndex)?.[1];
  if (prefix === undefined) {
    ctx.soft(at + 1, `nid ${nid}: unknown xattr name index ${e.nameIndex}`, path);
    return { entrySize, value };
  }
  const acl = e.nameIndex === 2 || e.nameIndex === 3;
  if (acl && suffix.length) ctx.soft(at, `nid ${nid}: POSIX ACL xattr with a name suffix`, path);
  if (!acl && !suffix.length) ctx.soft(at, `nid ${nid}: xattr "${prefix}" with an empty name suffix`, path);
  return { entrySize, name: prefix + suffix, value };
}
