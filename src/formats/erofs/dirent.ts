/**
 * Directory blocks: each 4 KiB block (the last one may be shorter) starts with an array of
 * 12-byte dirents whose nameoffs point at the names packed after it; the first nameoff gives
 * the count. The iterator checks the structure and yields entries with their image offsets.
 */
import { bytesToByteString, displayName, type ByteString, type NodeKind } from "../../fs/tree.js";
import { hard, u16at, type ErofsContext } from "./context.js";
import { BLOCK_SIZE, Dirent, FileType, NAME_MAX } from "./ondisk.js";

export interface ErofsDirEntry {
  name: ByteString;
  nid: number;
  fileType: number;
  /** byte offset of the dirent in the image */
  offset: number;
}

/** A directory to iterate: its nid, its data, and where each logical offset of it lies in the image. */
export interface DirSource {
  nid: number;
  /** byte offset of the directory's inode (named when "." or ".." are missing) */
  inodeOffset: number;
  data: Uint8Array;
  physical(logical: number): number | undefined;
  /** largest nid an entry may point to */
  maxNid: number;
}

const FILE_TYPE_KIND: Record<number, NodeKind | undefined> = {
  [FileType.Regular]: "file",
  [FileType.Directory]: "dir",
  [FileType.CharDevice]: "chardev",
  [FileType.BlockDevice]: "blockdev",
  [FileType.Fifo]: "fifo",
  [FileType.Socket]: "socket",
  [FileType.Symlink]: "symlink",
};

/** Checks a dirent's file type against the kind of the inode it points to (soft problem). */
export function checkFileType(ctx: ErofsContext, entry: ErofsDirEntry, nid: number, kind: NodeKind, path?: string): void {
  if (FILE_TYPE_KIND[entry.fileType] !== kind && entry.fileType < 8) {
    ctx.soft(entry.offset, `entry "${displayName(entry.name)}" has file type ${entry.fileType} but nid ${nid} is a ${kind}`, path);
  }
}

/**
 * Yields a directory's entries, "." and ".." included, in on-disk order. Checks the block
 * structure, name lengths and characters, nids, duplicates, order and file type values.
 */
export function* dirEntries(ctx: ErofsContext, dir: DirSource, path?: string): Generator<ErofsDirEntry> {
  const { nid, data } = dir;
  const size = data.length;
  let prev: ByteString | undefined;
  let unsorted = false;
  const seen = new Set<ByteString>();
  for (let base = 0; base < size; base += BLOCK_SIZE) {
    const maxsize = Math.min(BLOCK_SIZE, size - base);
    const phys = (o: number) => dir.physical(base + o);
    if (maxsize < Dirent.size) {
      throw hard(phys(0), `directory nid ${nid}: block at ${base} has only ${maxsize} bytes`, path);
    }
    const nameoff0 = u16at(data, base + Dirent.fields.nameoff.offset);
    if (nameoff0 < Dirent.size || nameoff0 >= maxsize || nameoff0 % Dirent.size !== 0) {
      throw hard(phys(Dirent.fields.nameoff.offset), `directory nid ${nid}: invalid first nameoff ${nameoff0} (block of ${maxsize} bytes)`, path);
    }
    const n = nameoff0 / Dirent.size;
    for (let i = 0; i < n; i++) {
      const de = base + i * Dirent.size;
      const deAt = phys(i * Dirent.size);
      const d = Dirent.decode(data, de);
      const nameoff = d.nameoff;
      let namelen: number;
      if (i + 1 < n) {
        const next = u16at(data, de + Dirent.size + Dirent.fields.nameoff.offset);
        if (next <= nameoff || next > maxsize) {
          throw hard(deAt, `directory nid ${nid}: dirent ${i}: nameoff ${nameoff} then ${next} (block of ${maxsize} bytes)`, path);
        }
        namelen = next - nameoff;
      } else {
        if (nameoff >= maxsize) {
          throw hard(deAt, `directory nid ${nid}: dirent ${i}: nameoff ${nameoff} past the block (${maxsize} bytes)`, path);
        }
        // the last name of a block ends at the first NUL or at the end of the block
        const region = data.subarray(base + nameoff, base + maxsize);
        const z = region.indexOf(0);
        namelen = z < 0 ? region.length : z;
      }
      if (i === 0 && nameoff !== nameoff0) throw hard(deAt, `directory nid ${nid}: inconsistent first nameoff`, path);
      if (namelen === 0) throw hard(deAt, `directory nid ${nid}: dirent ${i} has an empty name`, path);
      if (namelen > NAME_MAX) throw hard(deAt, `directory nid ${nid}: dirent ${i} name is ${namelen} bytes (max ${NAME_MAX})`, path);
      const nameBytes = data.subarray(base + nameoff, base + nameoff + namelen);
      if (nameBytes.includes(0) || nameBytes.includes(0x2f)) {
        throw hard(phys(nameoff), `directory nid ${nid}: dirent ${i} name contains NUL or '/'`, path);
      }
      const name = bytesToByteString(nameBytes);
      if (d.nid > BigInt(dir.maxNid)) {
        throw hard(deAt, `directory nid ${nid}: entry "${displayName(name)}" points to nid ${d.nid}, outside the inode area`, path);
      }
      if (seen.has(name)) throw hard(deAt, `directory nid ${nid}: duplicate entry "${displayName(name)}"`, path);
      seen.add(name);
      if (prev !== undefined && !(prev < name) && !unsorted) {
        unsorted = true;
        ctx.soft(deAt, `directory nid ${nid}: entries not sorted ("${displayName(prev)}" before "${displayName(name)}")`, path);
      }
      prev = name;
      if (d.fileType >= 8) ctx.soft(deAt, `directory nid ${nid}: entry "${displayName(name)}" has file type ${d.fileType}`, path);
      yield { name, nid: Number(d.nid), fileType: d.fileType, offset: deAt ?? dir.inodeOffset };
    }
  }
}

/** Checks "." (and ".." when the parent is known) of a directory's complete entry list (soft problems). */
export function checkDots(ctx: ErofsContext, dir: DirSource, entries: readonly ErofsDirEntry[], parentNid?: number, path?: string): void {
  const { nid } = dir;
  const dot = entries.find((e) => e.name === ".");
  const dotdot = entries.find((e) => e.name === "..");
  if (!dot) ctx.soft(dir.inodeOffset, `directory nid ${nid} has no "." entry`, path);
  else if (dot.nid !== nid) ctx.soft(dot.offset, `directory nid ${nid}: "." points to nid ${dot.nid}`, path);
  if (!dotdot) ctx.soft(dir.inodeOffset, `directory nid ${nid} has no ".." entry`, path);
  else if (parentNid !== undefined && dotdot.nid !== parentNid) {
    ctx.soft(dotdot.offset, `directory nid ${nid}: ".." points to nid ${dotdot.nid}, expected ${parentNid}`, path);
  }
  for (const e of [dot, dotdot]) {
    if (e && e.fileType !== FileType.Directory) ctx.soft(e.offset, `directory nid ${nid}: "${e.name}" has file type ${e.fileType}`, path);
  }
}
