import { test } from "node:test";
import assert from "node:assert/strict";
import { diffTrees } from "../../src/fs/compare.js";
import { bytesContent, newDir, type DirNode, type FsNode, type FsTree } from "../../src/fs/tree.js";

const meta = () => ({ perm: 0o644, uid: 1, gid: 2, mtime: { sec: 100, nsec: 5 }, xattrs: new Map<string, Uint8Array>() });

function sample(): FsTree {
  const root = newDir({ perm: 0o755 });
  const sub = newDir({ perm: 0o700 });
  const file: FsNode = { ...meta(), kind: "file", content: bytesContent(new Uint8Array([1, 2, 3])) };
  root.entries.set("sub", sub);
  root.entries.set("f", file);
  sub.entries.set("hard", file);
  sub.entries.set("other", { ...meta(), kind: "file", content: bytesContent(new Uint8Array([1, 2, 3])) });
  sub.entries.set("l", { ...meta(), kind: "symlink", target: "f" });
  sub.entries.set("c", { ...meta(), kind: "chardev", rdevMajor: 1, rdevMinor: 3 });
  sub.entries.set("p", { ...meta(), kind: "fifo" });
  root.xattrs.set("user.a", new Uint8Array([9]));
  return { root };
}

const at = (t: FsTree, ...p: string[]): FsNode => {
  let n: FsNode = t.root;
  for (const c of p) n = (n as DirNode).entries.get(c)!;
  return n;
};

test("equal trees have no differences", () => {
  assert.deepEqual(diffTrees(sample(), sample()), []);
});

test("every kind of difference is reported", () => {
  const cases: Array<[string, (t: FsTree) => void, RegExp]> = [
    ["perm", (t) => (at(t, "sub", "l").perm = 0o777), /sub\/l: perm: 00644 != 00777/],
    ["uid", (t) => (at(t, "sub", "p").uid = 7), /uid: 1 != 7/],
    ["gid", (t) => (at(t, "sub").gid = 5), /^sub: gid: 0 != 5/],
    ["mtime sec", (t) => (at(t, "sub", "c").mtime = { sec: 101, nsec: 5 }), /mtime: 100.000000005 != 101.000000005/],
    ["mtime nsec", (t) => (at(t, "sub", "c").mtime = { sec: 100, nsec: 6 }), /mtime/],
    ["size", (t) => ((at(t, "sub", "other") as any).content = bytesContent(new Uint8Array(4))), /size: 3 != 4/],
    ["content", (t) => ((at(t, "sub", "other") as any).content = bytesContent(new Uint8Array([1, 9, 3]))), /content differs at byte 1/],
    ["target", (t) => ((at(t, "sub", "l") as any).target = "g"), /symlink target/],
    ["rdev", (t) => ((at(t, "sub", "c") as any).rdevMinor = 4), /rdev: 1:3 != 1:4/],
    ["kind", (t) => (at(t, "sub") as DirNode).entries.set("p", { ...meta(), kind: "socket" }), /kind: fifo != socket/],
    ["only in a", (t) => (at(t, "sub") as DirNode).entries.delete("p"), /sub\/p: only in a/],
    ["only in b", (t) => (at(t, "sub") as DirNode).entries.set("new", { ...meta(), kind: "fifo" }), /sub\/new: only in b/],
    ["xattr value", (t) => t.root.xattrs.set("user.a", new Uint8Array([8])), /xattr user.a/],
    ["xattr missing", (t) => t.root.xattrs.delete("user.a"), /xattr user.a: only in a/],
    ["hard link split", (t) => (at(t, "sub") as DirNode).entries.set("hard", { ...meta(), kind: "file", content: bytesContent(new Uint8Array([1, 2, 3])) }), /hard links/],
    ["hard link joined", (t) => (at(t, "sub") as DirNode).entries.set("other", at(t, "f")), /hard links/],
  ];
  for (const [name, mutate, re] of cases) {
    const b = sample();
    mutate(b);
    const d = diffTrees(sample(), b);
    assert.ok(d.length > 0, `${name}: no difference found`);
    assert.ok(d.some((l) => re.test(l)), `${name}: ${JSON.stringify(d)}`);
  }
});

test("options relax comparisons", () => {
  const b = sample();
  at(b, "sub", "c").mtime = { sec: 100, nsec: 999 };
  assert.equal(diffTrees(sample(), b).length, 1);
  assert.deepEqual(diffTrees(sample(), b, { ignoreNsec: true }), []);
  assert.deepEqual(diffTrees(sample(), b, { ignoreMtimeOf: ["chardev"] }), []);
  assert.deepEqual(diffTrees(sample(), b, { mtimes: false }), []);
  const x = sample();
  x.root.xattrs.clear();
  assert.deepEqual(diffTrees(sample(), x, { xattrs: false }), []);
  assert.deepEqual(diffTrees(sample(), x, { xattrFilter: (n) => !n.startsWith("user.") }), []);
  assert.deepEqual(diffTrees(sample(), x, { ignoreRootMeta: true }), []);
  const h = sample();
  (at(h, "sub") as DirNode).entries.set("hard", { ...meta(), kind: "file", content: bytesContent(new Uint8Array([1, 2, 3])) });
  assert.deepEqual(diffTrees(sample(), h, { hardLinks: false }), []);
  const c = sample();
  (at(c, "sub", "other") as any).content = bytesContent(new Uint8Array([7, 7, 7]));
  assert.deepEqual(diffTrees(sample(), c, { contents: false }), []);
});

test("maxDiffs bounds the output and cycles in a do not loop", () => {
  const a = newDir();
  const b = newDir();
  for (let i = 0; i < 50; i++) a.entries.set(`n${i}`, { ...meta(), kind: "fifo" });
  const d = diffTrees({ root: a }, { root: b }, { maxDiffs: 10 });
  assert.equal(d.length, 11);
  const cyc = newDir();
  cyc.entries.set("self", cyc);
  const other = newDir();
  const o2 = newDir();
  other.entries.set("self", o2);
  o2.entries.set("self", newDir());
  const out = diffTrees({ root: cyc }, { root: other });
  assert.ok(out.some((l) => /reachable twice/.test(l)));
});
