/** extract: dir -> tree -> extract -> tree round trips, an EROFS image extracted, and refusals. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { InitoverlayfsError } from "../../src/errors.js";
import { readErofs } from "../../src/formats/erofs/reader.js";
import { diffTrees } from "../../src/fs/compare.js";
import { bytesContent, lookup, newDir, type FsTree } from "../../src/fs/tree.js";
import { readDirTree } from "../../src/io/dir-reader.js";
import { extractTree } from "../../src/io/extract.js";
import { mkfsErofs } from "../helpers/erofs.js";
import { isRoot } from "../helpers/run.js";
import { buildSourceTree } from "../helpers/source-tree.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

describe("extract", () => {
  let tmp: string;
  let src: string;
  let tree: FsTree;

  before(() => {
    tmp = makeTempDir("iofs-extract-");
    src = path.join(tmp, "src");
    fs.mkdirSync(src);
    buildSourceTree(src);
    tree = readDirTree(src, { xattrs: true });
  });
  after(() => removeDir(tmp));

  test("read -> extract -> read is the identity (nanosecond mtimes, owners, xattrs, hard links)", () => {
    const dst = path.join(tmp, "dst1");
    const res = extractTree(tree, dst);
    assert.deepEqual(res.skipped, []);
    const again = readDirTree(dst, { xattrs: true });
    assert.deepEqual(diffTrees(tree, again), []);
    // and against the original directory once more, read independently
    assert.deepEqual(diffTrees(readDirTree(src, { xattrs: true }), again), []);
  });

  test("an EROFS image extracted equals the image tree", () => {
    const image = path.join(tmp, "x.img");
    const s2 = path.join(tmp, "src254");
    fs.mkdirSync(s2);
    buildSourceTree(s2, { maxNameLen: 254, bigDirEntries: 200, depth: 30 });
    mkfsErofs(image, s2);
    const t = readErofs(fs.readFileSync(image));
    const dst = path.join(tmp, "dst2");
    extractTree(t, dst);
    assert.deepEqual(diffTrees(t, readDirTree(dst, { xattrs: true })), []);
  });

  test("device nodes can be skipped", () => {
    const t: FsTree = { root: newDir() };
    const meta = { perm: 0o600, uid: 0, gid: 0, mtime: { sec: 5, nsec: 0 }, xattrs: new Map() };
    const dev = { ...meta, kind: "chardev" as const, rdevMajor: 1, rdevMinor: 3 };
    t.root.entries.set("null", dev);
    t.root.entries.set("null2", dev);
    t.root.entries.set("f", { ...meta, kind: "file", content: bytesContent(new Uint8Array([1])) });
    const dst = path.join(tmp, "dst3");
    const res = extractTree(t, dst, { devices: "skip" });
    assert.deepEqual(res.skipped.sort(), ["null", "null2"]);
    assert.deepEqual(fs.readdirSync(dst), ["f"]);
    assert.ok(isRoot(), "these tests need root (device nodes)");
    {
      const dst4 = path.join(tmp, "dst4");
      extractTree(t, dst4);
      const st = fs.lstatSync(path.join(dst4, "null"));
      assert.ok(st.isCharacterDevice());
      assert.equal(st.nlink, 2);
      assert.deepEqual(diffTrees(t, readDirTree(dst4)), []);
    }
  });

  test("refuses unsafe names, non-empty targets and hard-linked directories", () => {
    const outside = path.join(tmp, "outside");
    fs.mkdirSync(outside);
    const evil = (name: string): FsTree => {
      const root = newDir();
      const sub = newDir();
      root.entries.set("sub", sub);
      sub.entries.set(name, { perm: 0o644, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, xattrs: new Map(), kind: "file", content: bytesContent(new Uint8Array(1)) });
      return { root };
    };
    for (const name of ["..", ".", "", "a/b", "../../outside/x", "nul\0"]) {
      const dst = path.join(tmp, `evil-${Math.random().toString(36).slice(2)}`);
      assert.throws(() => extractTree(evil(name), dst), InitoverlayfsError, JSON.stringify(name));
    }
    assert.deepEqual(fs.readdirSync(outside), []);
    // non-empty target
    const full = path.join(tmp, "full");
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, "x"), "");
    assert.throws(() => extractTree(evil("ok"), full), /not empty/);
    // a symlink as target
    const link = path.join(tmp, "link-target");
    fs.symlinkSync(outside, link);
    assert.throws(() => extractTree(evil("ok"), link), /not a directory/);
    assert.deepEqual(fs.readdirSync(outside), []);
    // hard-linked directory
    const root = newDir();
    const d = newDir();
    root.entries.set("a", d);
    root.entries.set("b", d);
    assert.throws(() => extractTree({ root }, path.join(tmp, "hl")), /hard-linked/);
  });

  test("symlinks in the tree are never followed while extracting", () => {
    const root = newDir();
    root.entries.set("l", { perm: 0o777, uid: 0, gid: 0, mtime: { sec: 1, nsec: 0 }, xattrs: new Map(), kind: "symlink", target: "/" });
    const dst = path.join(tmp, "sym");
    extractTree({ root }, dst);
    assert.equal(fs.readlinkSync(path.join(dst, "l")), "/");
    const t = readDirTree(dst);
    assert.equal(lookup(t, "l")!.mtime.sec, 1);
  });
});
