/** Small in-memory trees for the unit tests: put a node at a path, file nodes from bytes or text. */
import { bytesContent, FsNode, FsTree, newDir, splitPath } from "../../src/fs/tree.js";

/** Puts `node` at `path`, making missing parents as directories. */
export function put(tree: FsTree, path: string, node: FsNode): void {
  const parts = splitPath(path);
  let dir = tree.root;
  for (const p of parts.slice(0, -1)) {
    let next = dir.entries.get(p);
    if (!next) dir.entries.set(p, (next = newDir()));
    if (next.kind !== "dir") throw new Error(`${p} is not a dir`);
    dir = next;
  }
  dir.entries.set(parts[parts.length - 1], node);
}

export const file = (data: string | Uint8Array): FsNode => ({ ...newDir(), kind: "file", content: bytesContent(typeof data === "string" ? Buffer.from(data) : data) });

export const symlink = (target: string): FsNode => ({ ...newDir(), kind: "symlink", target });
