/**
 * The in-memory filesystem tree: the common currency between every reader (cpio, directory,
 * EROFS) and every writer.
 *
 * Names are byte strings: each char code is one byte (0..255), the "latin1" mapping. Linux file
 * names are bytes, not text; byte strings keep names with bytes >= 0x80 exact, and JS string
 * comparison on them is the same as memcmp, which is the order EROFS directories need.
 *
 * Hard links are object identity: a File (or other non-directory node) reachable from several
 * directory entries is one inode with several links.
 */

export type ByteString = string;

export interface Timestamp {
  /** seconds since the epoch (may be negative) */
  sec: number;
  /** nanoseconds, 0..999_999_999 */
  nsec: number;
}

/** Where a regular file's bytes come from; readers provide lazily read sources where they can. */
export interface FileContent {
  readonly size: number;
  /** The whole content. May be called more than once; implementations may return a view. */
  read(): Uint8Array;
}

export interface NodeMeta {
  /** permission and special bits only (07777); the type is the node kind */
  perm: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  /** full xattr names ("user.foo", "security.selinux") as byte strings */
  xattrs: Map<ByteString, Uint8Array>;
}

export interface DirNode extends NodeMeta {
  kind: "dir";
  entries: Map<ByteString, FsNode>;
}
export interface FileNode extends NodeMeta {
  kind: "file";
  content: FileContent;
}
export interface SymlinkNode extends NodeMeta {
  kind: "symlink";
  target: ByteString;
}
export interface DeviceNode extends NodeMeta {
  kind: "chardev" | "blockdev";
  rdevMajor: number;
  rdevMinor: number;
}
export interface SpecialNode extends NodeMeta {
  kind: "fifo" | "socket";
}

export type FsNode = DirNode | FileNode | SymlinkNode | DeviceNode | SpecialNode;
export type NodeKind = FsNode["kind"];

export const S_IFMT = 0o170000;
const KIND_TO_IFMT: Record<NodeKind, number> = {
  socket: 0o140000,
  symlink: 0o120000,
  file: 0o100000,
  blockdev: 0o060000,
  dir: 0o040000,
  chardev: 0o020000,
  fifo: 0o010000,
};

export function modeOf(node: FsNode): number {
  return KIND_TO_IFMT[node.kind] | (node.perm & 0o7777);
}

export function kindFromMode(mode: number): NodeKind | undefined {
  const fmt = mode & S_IFMT;
  for (const [kind, ifmt] of Object.entries(KIND_TO_IFMT)) if (ifmt === fmt) return kind as NodeKind;
  return undefined;
}

export function emptyMeta(): NodeMeta {
  return { perm: 0o755, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, xattrs: new Map() };
}

export function newDir(meta: Partial<NodeMeta> = {}): DirNode {
  return { ...emptyMeta(), ...meta, kind: "dir", entries: new Map() };
}

export function bytesContent(bytes: Uint8Array): FileContent {
  return { size: bytes.length, read: () => bytes };
}

/** A tree is its root directory. */
export interface FsTree {
  root: DirNode;
}

export function newTree(): FsTree {
  return { root: newDir() };
}

/** Converts a JS (UTF-8) path or name to a byte string. */
export function toByteString(s: string): ByteString {
  return Buffer.from(s, "utf8").toString("latin1");
}

/** Converts raw bytes to a byte string. */
export function bytesToByteString(b: Uint8Array): ByteString {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}


/** For display: decode as UTF-8 (invalid sequences become U+FFFD). */
export function displayName(s: ByteString): string {
  return Buffer.from(s, "latin1").toString("utf8");
}

/** Splits "/a/b/c", "./a/b", "a//b/" into components; "." components are dropped. */
export function splitPath(path: ByteString): ByteString[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}

export function lookup(tree: FsTree, path: ByteString): FsNode | undefined {
  let node: FsNode = tree.root;
  for (const part of splitPath(path)) {
    if (node.kind !== "dir") return undefined;
    const next = node.entries.get(part);
    if (!next) return undefined;
    node = next;
  }
  return node;
}

/** Sorted as EROFS and memcmp order them: byte-wise, shorter prefix first. */
export function compareNames(a: ByteString, b: ByteString): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface WalkEntry {
  path: ByteString; // "" for the root, else "a/b"
  node: FsNode;
  parent: DirNode | undefined;
  depth: number;
}

/** Depth-first pre-order walk, children in byte order. Iterative: deep trees cannot overflow the stack. */
export function* walk(tree: FsTree): Generator<WalkEntry> {
  const stack: WalkEntry[] = [{ path: "", node: tree.root, parent: undefined, depth: 0 }];
  while (stack.length) {
    const e = stack.pop()!;
    yield e;
    if (e.node.kind === "dir") {
      const names = [...e.node.entries.keys()].sort(compareNames);
      for (let i = names.length - 1; i >= 0; i--) {
        const name = names[i];
        stack.push({
          path: e.path ? `${e.path}/${name}` : name,
          node: e.node.entries.get(name)!,
          parent: e.node,
          depth: e.depth + 1,
        });
      }
    }
  }
}

export interface TreeStats {
  inodes: number;
  files: number;
  dirs: number;
  symlinks: number;
  others: number;
  /** sum of regular file sizes, each inode once */
  bytes: number;
}

export function treeStats(tree: FsTree): TreeStats {
  const seen = new Set<FsNode>();
  const s: TreeStats = { inodes: 0, files: 0, dirs: 0, symlinks: 0, others: 0, bytes: 0 };
  for (const { node } of walk(tree)) {
    if (seen.has(node)) continue;
    seen.add(node);
    s.inodes++;
    if (node.kind === "file") {
      s.files++;
      s.bytes += node.content.size;
    } else if (node.kind === "dir") s.dirs++;
    else if (node.kind === "symlink") s.symlinks++;
    else s.others++;
  }
  return s;
}
