/**
 * Writes an FsTree to a directory: every node kind, permissions (setuid/setgid/sticky too),
 * owners, mtimes with nanoseconds, hard links, device nodes (root only), fifos, sockets and xattrs.
 *
 * Safety: the target must be missing or an empty directory; names ".", "..", "" and names with
 * "/" or NUL are refused; nothing is ever created through a symlink (everything below the target
 * is created by us, in pre-order), and files are created exclusively.
 *
 * Node has no mknod, xattr or nanosecond-exact utimes API, so a few helpers are spawned, each once
 * per batch: `sh` + `mknod` for device nodes and fifos, a Node child for sockets, `setfattr
 * --restore` for xattrs, and `touch` (grouped by timestamp) for mtimes that utimes cannot set
 * exactly.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import { FormatError, InitoverlayfsError, UsageError } from "../errors.js";
import { bytesToByteString, displayName, type ByteString, type FsNode, type FsTree, type Timestamp } from "../fs/tree.js";

export interface ExtractOptions {
  /** set uid/gid (default: when running as root) */
  owners?: boolean;
  /** device nodes: create them (needs root; default) or skip them */
  devices?: "create" | "skip";
  /** write xattrs (default true) */
  xattrs?: boolean;
  /** set mtimes (default true) */
  mtimes?: boolean;
  /** apply the tree root's metadata to the target directory (default true) */
  rootMeta?: boolean;
}

export interface ExtractResult {
  /** paths (relative, display form) of device nodes that were skipped */
  skipped: string[];
  /** number of inodes created (hard links count once) */
  inodes: number;
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function checkName(name: ByteString, parent: ByteString): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new FormatError("tree", undefined, `refusing to extract unsafe name ${JSON.stringify(displayName(name))} in "${displayName(parent) || "/"}"`);
  }
}

/** Quotes a byte string for `sh` (single quotes; the script is fed as raw bytes). */
function shQuote(s: ByteString): ByteString {
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

/** Quotes a byte string the way getfattr does, for `setfattr --restore`: octal escapes. */
function attrQuote(s: ByteString): ByteString {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x5c || c === 0x3d || c === 0x22) out += "\\" + c.toString(8).padStart(3, "0");
    else out += s[i];
  }
  return out;
}

function formatTouchTime(t: Timestamp): string {
  // "@S.N" meaning S + N/1e9, also for negative times
  if (t.sec >= 0 || t.nsec === 0) return `@${t.sec}.${String(t.nsec).padStart(9, "0")}`;
  return `@-${-(t.sec + 1)}.${String(1_000_000_000 - t.nsec).padStart(9, "0")}`;
}

function run(cmd: string, args: string[], input: Buffer | undefined, cwd?: string): void {
  const r = spawnSync(cmd, args, { input, cwd, maxBuffer: 1 << 26 });
  if (r.error) throw new InitoverlayfsError(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new InitoverlayfsError(`${cmd} ${args.join(" ")} failed (exit ${r.status}): ${r.stderr.toString().trim()}`);
  }
}

interface Placed {
  node: FsNode;
  /** absolute path (byte string) */
  abs: ByteString;
  rel: ByteString;
}

/**
 * Extracts into a fresh sibling directory that is renamed onto `dest` only when complete, so a
 * failure (a corrupt image's data is read lazily, halfway through) leaves nothing behind.
 */
export function extractTree(tree: FsTree, dest: string, opts: ExtractOptions = {}): ExtractResult {
  const destAbs = nodePath.resolve(dest);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(destAbs);
  } catch {
    st = undefined;
  }
  if (st) {
    if (!st.isDirectory()) throw new UsageError(`${destAbs}: exists and is not a directory`);
    if (fs.readdirSync(destAbs).length) throw new UsageError(`${destAbs}: directory is not empty`);
  }
  fs.mkdirSync(nodePath.dirname(destAbs), { recursive: true });
  const work = fs.mkdtempSync(nodePath.join(nodePath.dirname(destAbs), `.${nodePath.basename(destAbs)}.extract-`));
  try {
    const r = extractInto(tree, work, opts);
    if (st) fs.rmdirSync(destAbs);
    fs.renameSync(work, destAbs);
    return r;
  } catch (e) {
    fs.rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

function extractInto(tree: FsTree, destAbs: string, opts: ExtractOptions): ExtractResult {
  const owners = opts.owners ?? isRoot();
  const devices = opts.devices ?? "create";
  const destB = bytesToByteString(Buffer.from(destAbs, "utf8"));
  const buf = (abs: ByteString) => Buffer.from(abs, "latin1");

  const result: ExtractResult = { skipped: [], inodes: 0 };
  const firstPlace = new Map<FsNode, Placed>();
  const order: Placed[] = []; // every inode once, pre-order
  const links: Array<{ from: Placed; to: ByteString }> = [];
  const specials: Placed[] = [];

  // pass 1: directories, files, symlinks; collect specials and hard links
  const rootPlaced: Placed = { node: tree.root, abs: destB, rel: "" };
  firstPlace.set(tree.root, rootPlaced);
  order.push(rootPlaced);
  const stack: Placed[] = [rootPlaced];
  while (stack.length) {
    const dir = stack.pop()!;
    if (dir.node.kind !== "dir") continue;
    for (const [name, child] of dir.node.entries) {
      checkName(name, dir.rel);
      const rel = dir.rel ? `${dir.rel}/${name}` : name;
      const abs = `${dir.abs}/${name}`;
      const seen = firstPlace.get(child);
      if (seen) {
        if (child.kind === "dir") {
          throw new FormatError("tree", undefined, `directory "${displayName(seen.rel)}" is also at "${displayName(rel)}": directories cannot be hard-linked`);
        }
        links.push({ from: seen, to: abs });
        continue;
      }
      const placed: Placed = { node: child, abs, rel };
      firstPlace.set(child, placed);
      switch (child.kind) {
        case "dir":
          fs.mkdirSync(buf(abs), 0o700);
          stack.push(placed);
          break;
        case "file":
          fs.writeFileSync(buf(abs), child.content.read(), { mode: 0o600, flag: "wx" });
          break;
        case "symlink":
          fs.symlinkSync(buf(child.target), buf(abs));
          break;
        case "chardev":
        case "blockdev":
          if (devices === "skip") {
            result.skipped.push(displayName(rel));
            firstPlace.set(child, { ...placed, abs: "" });
            continue;
          }
          if (!isRoot()) {
            throw new InitoverlayfsError(`cannot create device node "${displayName(rel)}": not running as root (use devices: "skip")`);
          }
          specials.push(placed);
          break;
        case "fifo":
        case "socket":
          specials.push(placed);
          break;
      }
      order.push(placed);
    }
  }

  // pass 2: device nodes, fifos and sockets, made under ASCII names in a temp dir, then renamed
  if (specials.length) {
    const tmp = fs.mkdtempSync(nodePath.join(destAbs, ".extract-tmp-"));
    try {
      let script = "";
      const sockets: string[] = [];
      specials.forEach((p, i) => {
        const n = p.node;
        if (n.kind === "chardev" || n.kind === "blockdev") {
          script += `mknod -m 600 n${i} ${n.kind === "chardev" ? "c" : "b"} ${n.rdevMajor} ${n.rdevMinor}\n`;
        } else if (n.kind === "fifo") {
          script += `mknod -m 600 n${i} p\n`;
        } else {
          sockets.push(`n${i}`);
        }
      });
      if (script) run("sh", ["-e", "-s"], Buffer.from(script), tmp);
      if (sockets.length) {
        const js =
          `const net=require("net");const names=${JSON.stringify(sockets)};let n=0;` +
          `for(const p of names){const s=net.createServer();s.on("error",e=>{console.error(e.message);process.exit(1)});` +
          `s.listen(p,()=>{if(++n===names.length)process.exit(0)})}`;
        run(process.execPath, ["-e", js], undefined, tmp);
      }
      specials.forEach((p, i) => fs.renameSync(nodePath.join(tmp, `n${i}`), buf(p.abs)));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  // pass 3: hard links
  for (const { from, to } of links) {
    if (from.abs === "") {
      result.skipped.push(displayName(to.slice(destB.length + 1)));
      continue;
    }
    fs.linkSync(buf(from.abs), buf(to));
  }
  result.inodes = order.length;

  // pass 4: metadata, children before parents
  const targets = order.filter((p) => p.abs !== "" && (p !== rootPlaced || (opts.rootMeta ?? true))).reverse();
  if (opts.xattrs ?? true) {
    let restore = "";
    for (const p of targets) {
      if (p.node.xattrs.size === 0) continue;
      restore += `# file: ${attrQuote(p.abs)}\n`;
      for (const [name, value] of p.node.xattrs) restore += `${attrQuote(name)}=0x${Buffer.from(value).toString("hex")}\n`;
      restore += "\n";
    }
    if (restore) {
      const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), "extract-xattrs-"));
      try {
        const file = nodePath.join(dir, "restore");
        fs.writeFileSync(file, Buffer.from(restore, "latin1"));
        run("setfattr", ["-h", `--restore=${file}`], undefined);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  for (const p of targets) {
    const b = buf(p.abs);
    if (owners) fs.lchownSync(b, p.node.uid, p.node.gid);
    if (p.node.kind !== "symlink") fs.chmodSync(b, p.node.perm);
  }
  if (opts.mtimes ?? true) {
    const inexact = new Map<string, ByteString[]>();
    for (const p of targets) {
      const t = p.node.mtime;
      const b = buf(p.abs);
      fs.lutimesSync(b, t.sec + t.nsec / 1e9, t.sec + t.nsec / 1e9);
      if (t.nsec !== 0) {
        const got = fs.lstatSync(b, { bigint: true }).mtimeNs;
        if (got !== BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec)) {
          const k = formatTouchTime(t);
          (inexact.get(k) ?? inexact.set(k, []).get(k)!).push(p.abs);
        }
      }
    }
    if (inexact.size) {
      // utimes takes a double: fix the nanoseconds with touch, one command per timestamp
      let script = "";
      for (const [time, paths] of inexact) {
        for (let i = 0; i < paths.length; i += 200) {
          script += `touch -h -d ${time} -- ${paths.slice(i, i + 200).map(shQuote).join(" ")}\n`;
        }
      }
      run("sh", ["-e", "-s"], Buffer.from(script, "latin1"));
    }
  }
  return result;
}
