/**
 * Tree comparison: the oracle every test uses. Returns human-readable differences; an empty list
 * means the trees are equal under the options.
 */
import { displayName, type ByteString, type FsNode, type FsTree, type NodeKind } from "./tree.js";

export interface DiffOptions {
  /** compare mtimes at all (default true) */
  mtimes?: boolean;
  /** compare only the seconds of mtimes */
  ignoreNsec?: boolean;
  /** do not compare mtimes of these kinds (e.g. ["symlink", "dir"]) */
  ignoreMtimeOf?: NodeKind[];
  /** do not compare the root directory's metadata (perm, owner, mtime, xattrs) */
  ignoreRootMeta?: boolean;
  /** compare xattrs (default true) */
  xattrs?: boolean;
  /** only xattrs whose name passes this filter are compared */
  xattrFilter?: (name: ByteString) => boolean;
  /** compare file contents (default true; sizes are always compared) */
  contents?: boolean;
  /** compare owners (default true) */
  owners?: boolean;
  /** compare the partition of paths into hard-link groups (default true) */
  hardLinks?: boolean;
  /** stop after this many differences (default 100) */
  maxDiffs?: number;
}

function show(p: ByteString): string {
  return p === "" ? "/" : displayName(p);
}

function oct(n: number): string {
  return "0" + n.toString(8).padStart(4, "0");
}

function hexPreview(v: Uint8Array): string {
  const h = Buffer.from(v.subarray(0, 32)).toString("hex");
  return `${v.length} bytes 0x${h}${v.length > 32 ? "..." : ""}`;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  // compare in chunks for speed
  const step = 65536;
  for (let off = 0; off < n; off += step) {
    const end = Math.min(n, off + step);
    if (Buffer.compare(Buffer.from(a.buffer, a.byteOffset + off, end - off), Buffer.from(b.buffer, b.byteOffset + off, end - off)) !== 0) {
      for (let i = off; i < end; i++) if (a[i] !== b[i]) return i;
    }
  }
  return a.length === b.length ? -1 : n;
}

class Done extends Error {}

/** Differences between trees `a` and `b`, one line each ("path: what: a-value != b-value"). */
export function diffTrees(a: FsTree, b: FsTree, opts: DiffOptions = {}): string[] {
  const out: string[] = [];
  const max = opts.maxDiffs ?? 100;
  const add = (s: string) => {
    out.push(s);
    if (out.length >= max) {
      out.push(`... stopped after ${max} differences`);
      throw new Done();
    }
  };
  try {
    compare(a, b, opts, add);
  } catch (e) {
    if (!(e instanceof Done)) throw e;
  }
  return out;
}

function compare(a: FsTree, b: FsTree, opts: DiffOptions, add: (s: string) => void): void {
  const compared = new Set<FsNode>(); // a-nodes already compared (hard links: once)
  const groupsA = new Map<FsNode, ByteString[]>();
  const groupsB = new Map<FsNode, ByteString[]>();
  const common: ByteString[] = [];
  const stack: Array<[ByteString, FsNode, FsNode]> = [["", a.root, b.root]];
  const onStackA = new Set<FsNode>();
  while (stack.length) {
    const [path, na, nb] = stack.pop()!;
    if (na.kind !== "dir") {
      (groupsA.get(na) ?? groupsA.set(na, []).get(na)!).push(path);
      (groupsB.get(nb) ?? groupsB.set(nb, []).get(nb)!).push(path);
      common.push(path);
    }
    if (na.kind !== nb.kind) {
      add(`${show(path)}: kind: ${na.kind} != ${nb.kind}`);
      continue;
    }
    if (!compared.has(na)) {
      compared.add(na);
      compareNode(path, na, nb, opts, add);
    }
    if (na.kind === "dir" && nb.kind === "dir") {
      if (onStackA.has(na)) {
        add(`${show(path)}: directory reachable twice in a`);
        continue;
      }
      onStackA.add(na);
      const names = new Set([...na.entries.keys(), ...nb.entries.keys()]);
      const sorted = [...names].sort().reverse();
      for (const name of sorted) {
        const p = path ? `${path}/${name}` : name;
        const ca = na.entries.get(name);
        const cb = nb.entries.get(name);
        if (!ca) add(`${show(p)}: only in b (${cb!.kind})`);
        else if (!cb) add(`${show(p)}: only in a (${ca.kind})`);
        else stack.push([p, ca, cb]);
      }
    }
  }

  if (opts.hardLinks ?? true) {
    const commonSet = new Set(common);
    const groupOf = (groups: Map<FsNode, ByteString[]>) => {
      const m = new Map<ByteString, string>();
      for (const paths of groups.values()) {
        const key = paths.filter((p) => commonSet.has(p)).sort().join("\0");
        for (const p of paths) m.set(p, key);
      }
      return m;
    };
    const ga = groupOf(groupsA);
    const gb = groupOf(groupsB);
    const reported = new Set<string>();
    for (const p of [...common].sort()) {
      const ka = ga.get(p)!;
      const kb = gb.get(p)!;
      if (ka !== kb && !reported.has(ka) && !reported.has(kb)) {
        reported.add(ka);
        reported.add(kb);
        const fmt = (k: string) => "{" + k.split("\0").map(show).join(", ") + "}";
        add(`${show(p)}: hard links: ${fmt(ka)} != ${fmt(kb)}`);
      }
    }
  }
}

function compareNode(path: ByteString, a: FsNode, b: FsNode, opts: DiffOptions, add: (s: string) => void): void {
  const p = show(path);
  const isRoot = path === "";
  const meta = !(isRoot && opts.ignoreRootMeta);
  if (meta) {
    if (a.perm !== b.perm) add(`${p}: perm: ${oct(a.perm)} != ${oct(b.perm)}`);
    if (opts.owners ?? true) {
      if (a.uid !== b.uid) add(`${p}: uid: ${a.uid} != ${b.uid}`);
      if (a.gid !== b.gid) add(`${p}: gid: ${a.gid} != ${b.gid}`);
    }
    const mt = (opts.mtimes ?? true) && !(opts.ignoreMtimeOf ?? []).includes(a.kind);
    if (mt) {
      if (a.mtime.sec !== b.mtime.sec || (!opts.ignoreNsec && a.mtime.nsec !== b.mtime.nsec)) {
        const f = (t: { sec: number; nsec: number }) => `${t.sec}.${String(t.nsec).padStart(9, "0")}`;
        add(`${p}: mtime: ${f(a.mtime)} != ${f(b.mtime)}`);
      }
    }
    if (opts.xattrs ?? true) {
      const filter = opts.xattrFilter ?? (() => true);
      const names = new Set([...a.xattrs.keys(), ...b.xattrs.keys()].filter(filter));
      for (const n of [...names].sort()) {
        const va = a.xattrs.get(n);
        const vb = b.xattrs.get(n);
        if (!va) add(`${p}: xattr ${displayName(n)}: only in b`);
        else if (!vb) add(`${p}: xattr ${displayName(n)}: only in a`);
        else if (Buffer.compare(Buffer.from(va), Buffer.from(vb)) !== 0) {
          add(`${p}: xattr ${displayName(n)}: ${hexPreview(va)} != ${hexPreview(vb)}`);
        }
      }
    }
  }
  switch (a.kind) {
    case "file": {
      const fb = b as typeof a;
      if (a.content.size !== fb.content.size) {
        add(`${p}: size: ${a.content.size} != ${fb.content.size}`);
        break;
      }
      if (opts.contents ?? true) {
        const da = a.content.read();
        const db = fb.content.read();
        if (da.length !== a.content.size) add(`${p}: content of a is ${da.length} bytes but its size is ${a.content.size}`);
        if (db.length !== fb.content.size) add(`${p}: content of b is ${db.length} bytes but its size is ${fb.content.size}`);
        const d = firstDifference(da, db);
        if (d >= 0) add(`${p}: content differs at byte ${d}`);
      }
      break;
    }
    case "symlink": {
      const sb = b as typeof a;
      if (a.target !== sb.target) {
        const t = (s: string) => JSON.stringify(displayName(s.length > 80 ? s.slice(0, 80) + "..." : s)) + ` (${s.length} bytes)`;
        add(`${p}: symlink target: ${t(a.target)} != ${t(sb.target)}`);
      }
      break;
    }
    case "chardev":
    case "blockdev": {
      const db = b as typeof a;
      if (a.rdevMajor !== db.rdevMajor || a.rdevMinor !== db.rdevMinor) {
        add(`${p}: rdev: ${a.rdevMajor}:${a.rdevMinor} != ${db.rdevMajor}:${db.rdevMinor}`);
      }
      break;
    }
    default:
      break;
  }
}
