/**
 * Applies cpio entries to a tree with the semantics of the kernel's initramfs unpacker
 * (init/initramfs.c), so the tree is what the kernel would put in rootfs:
 * - a later entry for a path replaces the earlier one when the type differs; a regular file of
 *   the same type is truncated and rewritten in place (its other hard links see the change);
 *   a directory of the same type keeps its contents and takes the new metadata; a symlink always
 *   replaces; a device/fifo/socket of the same type keeps its rdev but takes the new metadata;
 * - a non-empty directory cannot be replaced by another type (rmdir fails), the entry is dropped;
 * - missing parents are not created: the entry is dropped;
 * - hard links: entries with nlink >= 2 and the same (ino, devmajor, devminor, type) inside one
 *   archive are one inode; an entry of the group with no data keeps the data already there;
 *   TRAILER!!! forgets the groups;
 * - symlinks in parent components are followed (at most 40, as the VFS does).
 * In strict mode every dropped entry is an error instead of a warning.
 */
import { FormatError } from "../errors.js";
import { CpioEntry, CpioSink } from "../formats/cpio/parser.js";
import {
  bytesContent, ByteString, DirNode, FileNode, FsNode, FsTree, kindFromMode, NodeKind, newTree, splitPath,
} from "../fs/tree.js";

const MAX_SYMLINK_FOLLOWS = 40;
/** Linux PATH_MAX: longer symlink bodies are ignored by the kernel */
const SYMLINK_MAX = 4096;

export interface UnpackOptions {
  strict?: boolean;
  /** name of the input, for messages */
  source?: string;
  /** called whenever a regular file gets its content (lets a pipeline start on it early) */
  onFile?: (node: FileNode) => void;
}

export interface UnpackWarning {
  /** what `offset` is in: the file, or "FILE: zstd stream at offset N, decompressed" */
  source: string;
  offset: number;
  path: string;
  message: string;
}

export class InitramfsUnpacker implements CpioSink {
  readonly tree: FsTree = newTree();
  readonly warnings: UnpackWarning[] = [];
  entries = 0;
  private links = new Map<string, FsNode>();
  /** offset of the current segment's start in the input file, to report file offsets */
  segmentBase = 0;
  /** describes the stream being read (e.g. "x.img: zstd stream at offset 0, decompressed") */
  currentSource?: string;

  constructor(private readonly opts: UnpackOptions = {}) {}

  trailer(): void {
    this.links.clear();
  }

  entry(e: CpioEntry): void {
    this.entries++;
    const h = e.header;
    const kind = kindFromMode(h.mode);
    if (!kind) return this.drop(e, `unknown file type in mode 0${h.mode.toString(8)}`);
    const parts = splitPath(e.name);
    if (parts.length === 0) {
      // "." or "/": the root directory itself
      if (kind !== "dir") return this.drop(e, "the root can only be a directory");
      this.setMeta(this.tree.root, e);
      return;
    }
    const name = parts[parts.length - 1];
    if (name === "..") return this.drop(e, '".." as the last path component');
    if (name.length > 255) return this.drop(e, `name component longer than 255 bytes`);
    const parent = this.resolveParent(parts.slice(0, -1));
    if (typeof parent === "string") return this.drop(e, parent);
    const existing = parent.entries.get(name);

    switch (kind) {
      case "file": return this.addFile(e, parent, name, existing);
      case "dir": return this.addDir(e, parent, name, existing);
      case "symlink": return this.addSymlink(e, parent, name, existing);
      default: return this.addSpecial(e, kind, parent, name, existing);
    }
  }

  private drop(e: CpioEntry, why: string): void {
    const message = `entry ${JSON.stringify(Buffer.from(e.name, "latin1").toString("utf8"))} dropped: ${why}`;
    if (this.opts.strict) throw new FormatError("cpio", this.segmentBase + e.offset, message, this.currentSource ?? this.opts.source);
    this.warnings.push({ source: this.currentSource ?? this.opts.source ?? "cpio", offset: this.segmentBase + e.offset, path: e.name, message });
  }

  /** clean_path(): remove what is at the path if its type differs; false if that is impossible */
  private clean(parent: DirNode, name: ByteString, existing: FsNode | undefined, kind: NodeKind | null): boolean {
    if (!existing || existing.kind === kind) return true;
    if (existing.kind === "dir" && existing.entries.size > 0) return false;
    parent.entries.delete(name);
    return true;
  }

  private linkKey(e: CpioEntry, kind: NodeKind): string | undefined {
    const h = e.header;
    return h.nlink >= 2 ? `${h.ino}:${h.devmajor}:${h.devminor}:${kind}` : undefined;
  }

  /** maybe_link(): 1 = linked to an earlier member of the group, 0 = first of its group or no group, -1 = failed */
  private maybeLink(e: CpioEntry, kind: NodeKind, parent: DirNode, name: ByteString): { result: -1 | 0 | 1; key?: string } {
    const key = this.linkKey(e, kind);
    if (key === undefined) return { result: 0 };
    const old = this.links.get(key);
    if (!old) return { result: 0, key };
    if (!this.clean(parent, name, parent.entries.get(name), null)) return { result: -1 };
    parent.entries.set(name, old);
    return { result: 1 };
  }

  private addFile(e: CpioEntry, parent: DirNode, name: ByteString, existing: FsNode | undefined): void {
    if (!this.clean(parent, name, existing, "file")) return this.drop(e, "a non-empty directory is in the way");
    const link = this.maybeLink(e, "file", parent, name);
    if (link.result < 0) return this.drop(e, "hard link target is gone");
    let node = parent.entries.get(name);
    if (link.result === 1 && node?.kind === "file") {
      // opened without O_TRUNC, truncated to the body length only if there is a body
      if (e.data.length) node.content = bytesContent(e.data);
    } else if (node?.kind === "file") {
      node.content = bytesContent(e.data); // O_TRUNC on the existing inode
    } else {
      node = { kind: "file", content: bytesContent(e.data), ...this.meta(e) };
      parent.entries.set(name, node);
    }
    this.setMeta(node, e);
    if (link.key && link.result === 0) this.links.set(link.key, node);
    if (node.kind === "file") this.opts.onFile?.(node);
  }

  private addDir(e: CpioEntry, parent: DirNode, name: ByteString, existing: FsNode | undefined): void {
    if (!this.clean(parent, name, existing, "dir")) return this.drop(e, "a non-empty directory is in the way");
    let node = parent.entries.get(name);
    if (!node) {
      node = { kind: "dir", entries: new Map(), ...this.meta(e) };
      parent.entries.set(name, node);
    }
    this.setMeta(node, e);
  }

  private addSymlink(e: CpioEntry, parent: DirNode, name: ByteString, existing: FsNode | undefined): void {
    if (e.data.length > SYMLINK_MAX) return this.drop(e, `symlink target longer than ${SYMLINK_MAX} bytes`);
    if (!this.clean(parent, name, existing, null)) return this.drop(e, "a non-empty directory is in the way");
    const nul = e.data.indexOf(0);
    const target = Buffer.from(e.data.buffer, e.data.byteOffset, nul < 0 ? e.data.length : nul).toString("latin1");
    if (target.length === 0) return this.drop(e, "empty symlink target");
    // symlink permissions are always 0777 on Linux; chmod is not applied
    parent.entries.set(name, { kind: "symlink", target, ...this.meta(e), perm: 0o777 });
  }

  private addSpecial(e: CpioEntry, kind: NodeKind, parent: DirNode, name: ByteString, existing: FsNode | undefined): void {
    if (!this.clean(parent, name, existing, kind)) return this.drop(e, "a non-empty directory is in the way");
    const link = this.maybeLink(e, kind, parent, name);
    if (link.result !== 0) return; // linked (metadata untouched, as the kernel does) or failed
    const h = e.header;
    let node = parent.entries.get(name);
    if (!node) {
      node = kind === "chardev" || kind === "blockdev"
        ? { kind, rdevMajor: h.rdevmajor, rdevMinor: h.rdevminor, ...this.meta(e) }
        : { kind: kind as "fifo" | "socket", ...this.meta(e) };
      parent.entries.set(name, node);
    }
    this.setMeta(node, e); // mknod failed with EEXIST, but chown/chmod/utime still apply
    if (link.key) this.links.set(link.key, node);
  }

  private meta(e: CpioEntry) {
    const h = e.header;
    return { perm: h.mode & 0o7777, uid: h.uid, gid: h.gid, mtime: { sec: h.mtime, nsec: 0 }, xattrs: new Map() };
  }

  private setMeta(node: FsNode, e: CpioEntry): void {
    const h = e.header;
    if (node.kind !== "symlink") node.perm = h.mode & 0o7777;
    node.uid = h.uid;
    node.gid = h.gid;
    node.mtime = { sec: h.mtime, nsec: 0 };
  }

  /** Walks the parent components like the VFS: "..", and symlinks followed. Error text on failure. */
  private resolveParent(parts: ByteString[]): DirNode | string {
    let follows = 0;
    const stack: DirNode[] = [this.tree.root];
    const queue = [...parts];
    while (queue.length) {
      const part = queue.shift()!;
      const cur = stack[stack.length - 1];
      if (part === "..") {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const next = cur.entries.get(part);
      if (!next) return `parent directory ${JSON.stringify(part)} does not exist`;
      if (next.kind === "symlink") {
        if (++follows > MAX_SYMLINK_FOLLOWS) return "too many levels of symbolic links";
        if (next.target.startsWith("/")) stack.length = 1;
        queue.unshift(...splitPath(next.target));
        continue;
      }
      if (next.kind !== "dir") return `${JSON.stringify(part)} is not a directory`;
      stack.push(next);
    }
    return stack[stack.length - 1];
  }
}
