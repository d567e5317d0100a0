/**
 * Path lookups inside a tree that follow symlinks the way the kernel would once the tree is the
 * root: merged-/usr initramfs images have lib -> usr/lib, bin -> usr/bin, so "lib/modules/KVER"
 * is only reachable through a symlink. Absolute targets are relative to the tree's root.
 */
import { ByteString, FsNode, FsTree, splitPath } from "../../fs/tree.js";

const MAX_SYMLINKS = 40; // the kernel's MAXSYMLINKS

export interface Resolved {
  node: FsNode;
  /** the real path, without symlinks (except the last component when not followed): "usr/lib/x" */
  path: ByteString;
}

/**
 * Resolves `path` in `tree`. Symlinks in directory components are always followed; the last
 * component only with followLast. Undefined when a component is missing, a symlink loops, or a
 * non-directory is used as a directory.
 */
export function resolvePath(tree: FsTree, path: ByteString, followLast = true): Resolved | undefined {
  let pending = splitPath(path);
  const stack: FsNode[] = [tree.root];
  const names: ByteString[] = [];
  let links = 0;
  while (pending.length) {
    const [part, ...rest] = pending;
    pending = rest;
    if (part === "..") {
      if (names.length) stack.pop(), names.pop();
      continue;
    }
    const dir = stack[stack.length - 1];
    if (dir.kind !== "dir") return undefined;
    const next = dir.entries.get(part);
    if (!next) return undefined;
    if (next.kind === "symlink" && (rest.length > 0 || followLast)) {
      if (++links > MAX_SYMLINKS) return undefined;
      if (next.target.startsWith("/")) stack.length = 1, names.length = 0;
      pending = [...splitPath(next.target), ...rest];
      continue;
    }
    stack.push(next);
    names.push(part);
  }
  return { node: stack[stack.length - 1], path: names.join("/") };
}

/** The file at `path` (symlinks followed), or undefined if it is missing or not a regular file. */
export function readTreeFile(tree: FsTree, path: ByteString): Uint8Array | undefined {
  const r = resolvePath(tree, path);
  return r && r.node.kind === "file" ? r.node.content.read() : undefined;
}
