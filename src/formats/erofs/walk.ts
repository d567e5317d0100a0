/**
 * The tree walk readErofs, inspect and fsck share: depth-first from the root, iterative, each
 * directory's entries read through the directory-entry iterator. Every inode is read once; an
 * entry pointing to an inode seen before is yielded as a link to it and never descended into.
 * Problems come out as steps, so each caller decides whether to stop (reader) or go on (fsck).
 */
import { displayName, type ByteString } from "../../fs/tree.js";
import type { ErofsDirEntry } from "./dirent.js";
import type { ErofsInode } from "./inode.js";

/** The image operations the walk uses (ErofsImage has them). */
export interface WalkImage {
  readInode(nid: number, path?: string): ErofsInode;
  readDir(inode: ErofsInode, opts: { parentNid?: number; path?: string }): ErofsDirEntry[];
}

export type WalkStep =
  /** an entry to an inode not seen before; directories are descended into after this step */
  | { type: "new"; dir: ErofsInode; entry: ErofsDirEntry; path: ByteString; inode: ErofsInode }
  /** an entry to an inode seen before, first at `firstPath` (a hard link, or a cycle if it is a directory) */
  | { type: "seen"; dir: ErofsInode; entry: ErofsDirEntry; path: ByteString; inode: ErofsInode; firstPath: ByteString }
  /** a directory's entries (path: the directory) or, with `entry`, an entry's inode (path: the entry) could not be read */
  | { type: "error"; error: unknown; path: ByteString; entry?: ErofsDirEntry };

export function joinPath(dir: ByteString, name: ByteString): ByteString {
  return dir ? `${dir}/${name}` : name;
}

/** Walks the tree below `root` (already read), "." and ".." left out. */
export function* walkTree(img: WalkImage, root: ErofsInode): Generator<WalkStep> {
  const seen = new Map<number, { path: ByteString; inode: ErofsInode }>([[root.nid, { path: "", inode: root }]]);
  const stack: Array<{ inode: ErofsInode; path: ByteString; parentNid: number }> = [{ inode: root, path: "", parentNid: root.nid }];
  while (stack.length) {
    const { inode: dir, path, parentNid } = stack.pop()!;
    let entries: ErofsDirEntry[];
    try {
      entries = img.readDir(dir, { parentNid, path });
    } catch (error) {
      yield { type: "error", error, path };
      continue;
    }
    for (const entry of entries) {
      if (entry.name === "." || entry.name === "..") continue;
      const childPath = joinPath(path, entry.name);
      const known = seen.get(entry.nid);
      if (known) {
        yield { type: "seen", dir, entry, path: childPath, inode: known.inode, firstPath: known.path };
        continue;
      }
      let inode: ErofsInode;
      try {
        inode = img.readInode(entry.nid, childPath);
      } catch (error) {
        yield { type: "error", error, path: childPath, entry };
        continue;
      }
      seen.set(entry.nid, { path: childPath, inode });
      yield { type: "new", dir, entry, path: childPath, inode };
      if (inode.kind === "dir") stack.push({ inode, path: childPath, parentNid: dir.nid });
    }
  }
}

/** The message for a directory reached by a second path (the reader's and fsck's wording). */
export function reachableTwice(nid: number, firstPath: ByteString, path: ByteString): string {
  return `directory nid ${nid} is reachable twice ("${displayName(firstPath) || "/"}" and "${displayName(path) || "/"}"): a cycle or a hard-linked directory`;
}
