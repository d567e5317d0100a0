/**
 * dir-reader against an independent oracle: find(1) -printf (raw byte names, types, modes,
 * owners, nanosecond mtimes, sizes, inode numbers, link targets) and stat(1) for device numbers.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { lookup, walk, type FsNode, type FsTree } from "../../src/fs/tree.js";
import { parseGetfattrDump, readDirTree, splitDev, timestampFromNs, unquoteGetfattr } from "../../src/io/dir-reader.js";
import { isRoot, run } from "../helpers/run.js";
import { buildSourceTree } from "../helpers/source-tree.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

const TYPE: Record<string, FsNode["kind"]> = { f: "file", d: "dir", l: "symlink", c: "chardev", b: "blockdev", p: "fifo", s: "socket" };

describe("dir-reader", () => {
  let tmp: string;
  let src: string;
  let tree: FsTree;

  before(() => {
    tmp = makeTempDir("iofs-dirreader-");
    src = path.join(tmp, "src");
    fs.mkdirSync(src);
    buildSourceTree(src);
    tree = readDirTree(src, { xattrs: true });
  });
  after(() => removeDir(tmp));

  test("every entry matches find -printf", () => {
    const r = spawnSync("find", [".", "-mindepth", "1", "-printf", "%P\\0%y\\0%m\\0%U\\0%G\\0%T@\\0%s\\0%i\\0%l\\0"], { cwd: src, maxBuffer: 1 << 28 });
    assert.equal(r.status, 0);
    const f = r.stdout.toString("latin1").split("\0");
    f.pop();
    assert.equal(f.length % 9, 0);
    const byIno = new Map<string, FsNode>();
    let count = 0;
    for (let i = 0; i < f.length; i += 9) {
      const [p, y, m, uid, gid, t, size, ino, target] = f.slice(i, i + 9);
      count++;
      const node = lookup(tree, p);
      assert.ok(node, `missing ${JSON.stringify(p)}`);
      assert.equal(node.kind, TYPE[y], p);
      assert.equal(node.perm, parseInt(m, 8), p);
      assert.equal(node.uid, Number(uid), p);
      assert.equal(node.gid, Number(gid), p);
      const [sec, frac] = t.split(".");
      assert.equal(node.mtime.sec, Number(sec), p);
      assert.equal(node.mtime.nsec, Number(frac.slice(0, 9)), p);
      if (node.kind === "file") {
        assert.equal(node.content.size, Number(size), p);
        assert.equal(node.content.read().length, Number(size), p);
      }
      if (node.kind === "symlink") assert.equal(node.target, target, p);
      if (node.kind !== "dir") {
        const prev = byIno.get(ino);
        if (prev) assert.equal(node, prev, `${p}: hard link is the same object`);
        else byIno.set(ino, node);
      }
    }
    let nodes = 0;
    for (const _ of walk(tree)) nodes++;
    assert.equal(nodes, count + 1);
    assert.ok(count > 3000);
    // distinct inodes are distinct objects
    assert.equal(new Set(byIno.values()).size, byIno.size);
  });

  test("devices, special bits, names and xattrs", () => {
    assert.ok(isRoot(), "these tests need root (device nodes, owners, loop mounts)");
    {
      const out = run("stat", ["-c", "%Hr %Lr", "special/bigdev", "special/blk2"], { cwd: src }).stdout.trim().split("\n");
      const dev = lookup(tree, "special/bigdev");
      assert.ok(dev?.kind === "chardev");
      assert.equal(`${dev.rdevMajor} ${dev.rdevMinor}`, out[0]);
      const blk = lookup(tree, "special/blk2");
      assert.ok(blk?.kind === "blockdev");
      assert.equal(`${blk.rdevMajor} ${blk.rdevMinor}`, out[1]);
      assert.equal(lookup(tree, "special/null"), lookup(tree, "special/null-link"));
      assert.equal(lookup(tree, "perms/all")!.gid, 4000000000);
    }
    assert.equal(lookup(tree, "perms/setuid")!.perm, 0o4755);
    assert.equal(lookup(tree, "perms/sticky")!.perm, 0o1777);
    assert.equal(lookup(tree, "special/sock")!.kind, "socket");
    const names = lookup(tree, "names");
    assert.ok(names?.kind === "dir");
    assert.ok(names.entries.has("n\xff\x80\xc3"));
    assert.ok(names.entries.has("L".repeat(255)));
    assert.ok(names.entries.has("new\nline"));
    const f1 = lookup(tree, "files/f1")!;
    assert.deepEqual(Buffer.from(f1.xattrs.get("user.one")!), Buffer.from("1"));
    assert.equal(f1.xattrs.get("user.empty")!.length, 0);
    assert.deepEqual(Buffer.from(f1.xattrs.get("trusted.t")!), Buffer.from([0, 0xff, 0]));
    assert.deepEqual(Buffer.from(lookup(tree, "names/n\xff\x80\xc3")!.xattrs.get("user.x")!), Buffer.from("x"));
    assert.ok(lookup(tree, "special/fifo")!.xattrs.has("trusted.fifo"));
    assert.ok(lookup(tree, "links/short")!.xattrs.has("trusted.onlink"), "symlink's own xattrs, not its target's");
    assert.equal(lookup(tree, "files/text")!.xattrs.has("trusted.onlink"), false);
    // without the option, no xattrs are read
    const plain = readDirTree(src);
    assert.equal(lookup(plain, "files/f1")!.xattrs.size, 0);
    const hb = lookup(tree, "links/highbyte");
    assert.ok(hb?.kind === "symlink" && hb.target === "t\xfet");
  });

  test("helpers: getfattr quoting, timestamps, device numbers", () => {
    assert.equal(unquoteGetfattr("a\\012b\\134c\\377"), "a\nb\\c\xff");
    const d = parseGetfattrDump("# file: /x/a\\012b\nuser.a=0x6869\nuser.e=0x\nuser.s=0sAP8=\n\n# file: /y\ntrusted.q=\"v\"\n");
    assert.deepEqual(Buffer.from(d.get("/x/a\nb")!.get("user.a")!), Buffer.from("hi"));
    assert.equal(d.get("/x/a\nb")!.get("user.e")!.length, 0);
    assert.deepEqual(Buffer.from(d.get("/x/a\nb")!.get("user.s")!), Buffer.from([0, 0xff]));
    assert.deepEqual(Buffer.from(d.get("/y")!.get("trusted.q")!), Buffer.from("v"));
    assert.deepEqual(timestampFromNs(-1_500_000_000n), { sec: -2, nsec: 500_000_000 });
    assert.deepEqual(timestampFromNs(1_700_000_000_123_456_789n), { sec: 1700000000, nsec: 123456789 });
    // makedev(511, 1048575) as glibc encodes it
    const dev = (511n & 0xfffn) << 8n | (1048575n & 0xffn) | ((1048575n & ~0xffn) << 12n);
    assert.deepEqual(splitDev(dev), { major: 511, minor: 1048575 });
  });
});
