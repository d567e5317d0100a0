/**
 * Reads a directory tree from disk into an FsTree: raw byte names, types, permissions, owners,
 * nanosecond mtimes, hard links (by device and inode: one node object), device numbers, symlink
 * targets as bytes, and optionally xattrs (through one `getfattr` run for the whole tree, as Node
 * has no xattr API). File contents are read lazily, when read() is called.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as nodePath from "node:path";
import { InitoverlayfsError } from "../errors.js";
import {
  bytesToByteString,
  type ByteString,
  type DirNode,
  type FileContent,
  type FsNode,
  type FsTree,
  type NodeMeta,
  type Timestamp,
  kindFromMode,
} from "../fs/tree.js";

export interface DirReadOptions {
  /** read xattrs with getfattr (default false) */
  xattrs?: boolean;
  /** the getfattr binary (default "getfattr") */
  getfattr?: string;
}

const NS = 1_000_000_000n;

export function timestampFromNs(ns: bigint): Timestamp {
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    nsec += NS;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec) };
}

/** glibc's gnu_dev_major / gnu_dev_minor */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor & 0xffffffffn) };
}

function lazyFile(path: Buffer, size: number): FileContent {
  return {
    size,
    read() {
      const data = fs.readFileSync(path);
      if (data.length !== size) {
        throw new InitoverlayfsError(`${path.toString()}: file changed size while reading (${size} -> ${data.length})`);
      }
      return data;
    },
  };
}

function joinBuf(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from("/"), name]);
}

/** Reads the tree rooted at `root` (a directory; symlinks below it are not followed). */
export function readDirTree(root: string | Buffer, opts: DirReadOptions = {}): FsTree {
  const rootBuf = typeof root === "string" ? Buffer.from(nodePath.resolve(root)) : root;
  const st = fs.lstatSync(rootBuf, { bigint: true });
  if (!st.isDirectory()) throw new InitoverlayfsError(`${rootBuf.toString()}: not a directory`);

  const byInode = new Map<string, FsNode>();
  const byPath = new Map<ByteString, FsNode>(); // absolute path (latin1) -> node, for xattrs

  const metaOf = (s: fs.BigIntStats): NodeMeta => ({
    perm: Number(s.mode & 0o7777n),
    uid: Number(s.uid),
    gid: Number(s.gid),
    mtime: timestampFromNs(s.mtimeNs),
    xattrs: new Map(),
  });

  const rootNode: DirNode = { ...metaOf(st), kind: "dir", entries: new Map() };
  byPath.set(bytesToByteString(rootBuf), rootNode);
  const stack: Array<{ path: Buffer; node: DirNode }> = [{ path: rootBuf, node: rootNode }];
  while (stack.length) {
    const { path, node } = stack.pop()!;
    const names = fs.readdirSync(path, { encoding: "buffer" }) as Buffer[];
    for (const name of names) {
      const p = joinBuf(path, name);
      const s = fs.lstatSync(p, { bigint: true });
      const kind = kindFromMode(Number(s.mode));
      if (!kind) throw new InitoverlayfsError(`${bytesToByteString(p)}: unknown file type (mode 0${s.mode.toString(8)})`);
      let child: FsNode | undefined;
      const key = `${s.dev}:${s.ino}`;
      if (kind !== "dir") child = byInode.get(key);
      if (!child) {
        const meta = metaOf(s);
        switch (kind) {
          case "dir":
            child = { ...meta, kind, entries: new Map() };
            stack.push({ path: p, node: child });
            break;
          case "file":
            child = { ...meta, kind, content: lazyFile(p, Number(s.size)) };
            break;
          case "symlink":
            child = { ...meta, kind, target: bytesToByteString(fs.readlinkSync(p, { encoding: "buffer" })) };
            break;
          case "chardev":
          case "blockdev": {
            const { major, minor } = splitDev(s.rdev);
            child = { ...meta, kind, rdevMajor: major, rdevMinor: minor };
            break;
          }
          case "fifo":
          case "socket":
            child = { ...meta, kind };
            break;
        }
        if (kind !== "dir") byInode.set(key, child);
      }
      node.entries.set(bytesToByteString(name), child);
      byPath.set(bytesToByteString(p), child);
    }
  }

  if (opts.xattrs) readXattrsInto(rootBuf, byPath, opts.getfattr ?? "getfattr");
  return { root: rootNode };
}

/** Undoes getfattr's quoting: "\ooo" octal escapes (a backslash itself is "\134"). Byte strings in and out. */
export function unquoteGetfattr(s: ByteString): ByteString {
  if (!s.includes("\\")) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      out += c;
    }
  }
  return out;
}

/** Parses `getfattr -d -e hex --absolute-names` output: path -> name -> value. */
export function parseGetfattrDump(text: ByteString): Map<ByteString, Map<ByteString, Uint8Array>> {
  const out = new Map<ByteString, Map<ByteString, Uint8Array>>();
  let cur: Map<ByteString, Uint8Array> | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("# file: ")) {
      const p = unquoteGetfattr(line.slice("# file: ".length));
      cur = out.get(p) ?? new Map();
      out.set(p, cur);
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    if (!cur) throw new InitoverlayfsError(`getfattr output: attribute line before any "# file:" line: ${line}`);
    const eq = line.indexOf("=");
    const name = unquoteGetfattr(eq < 0 ? line : line.slice(0, eq));
    const raw = eq < 0 ? "" : line.slice(eq + 1);
    let value: Uint8Array;
    if (raw === "" || raw === "0x") value = new Uint8Array(0);
    else if (raw.startsWith("0x")) value = Buffer.from(raw.slice(2), "hex");
    else if (raw.startsWith("0s")) value = Buffer.from(raw.slice(2), "base64");
    else if (raw.startsWith('"') && raw.endsWith('"')) value = Buffer.from(unquoteGetfattr(raw.slice(1, -1)), "latin1");
    else throw new InitoverlayfsError(`getfattr output: cannot parse value of ${name}: ${raw}`);
    cur.set(name, new Uint8Array(value));
  }
  return out;
}

function readXattrsInto(root: Buffer, byPath: Map<ByteString, FsNode>, getfattr: string): void {
  // arguments are passed as UTF-8: the root path must survive that
  const rootArg = root.toString("utf8");
  if (!Buffer.from(rootArg, "utf8").equals(root)) {
    throw new InitoverlayfsError(`cannot read xattrs below ${rootArg}: the root path is not valid UTF-8`);
  }
  // -R recursive, -P do not follow symlinked directories, -h do not dereference symlinks
  const r = spawnSync(getfattr, ["-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", "--", rootArg], {
    maxBuffer: 1 << 30,
    encoding: "buffer",
  });
  if (r.error) throw new InitoverlayfsError(`cannot run ${getfattr}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new InitoverlayfsError(`${getfattr} failed (exit ${r.status}): ${r.stderr.toString()}`);
  }
  const dump = parseGetfattrDump(r.stdout.toString("latin1"));
  for (const [p, attrs] of dump) {
    const node = byPath.get(p);
    if (!node) throw new InitoverlayfsError(`getfattr reported a path not in the tree: ${p}`);
    for (const [n, v] of attrs) node.xattrs.set(n, v);
  }
}
