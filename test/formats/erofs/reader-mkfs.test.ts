/**
 * The EROFS reader against images made by mkfs.erofs 1.5, with the kernel as the oracle: the tree
 * readErofs returns must equal what a loop mount shows (read with dir-reader, xattrs included) and
 * the source directory itself. fsck (ours and fsck.erofs) must find nothing wrong.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fsckErofs } from "../../../src/formats/erofs/fsck.js";
import { inspectErofs } from "../../../src/formats/erofs/inspect.js";
import { DataLayout } from "../../../src/formats/erofs/ondisk.js";
import { ErofsImage, readErofs } from "../../../src/formats/erofs/reader.js";
import { diffTrees } from "../../../src/fs/compare.js";
import { lookup, toByteString, walk, type FsTree } from "../../../src/fs/tree.js";
import { readDirTree } from "../../../src/io/dir-reader.js";
import { fixSuperblockChecksum, mkfsErofs } from "../../helpers/erofs.js";
import { withLoopMount } from "../../helpers/mount.js";
import { run } from "../../helpers/run.js";
import { buildSourceTree } from "../../helpers/source-tree.js";
import { makeTempDir, removeDir } from "../../helpers/tmp.js";

interface Variant {
  name: string;
  args: string[];
  fixedTime?: number;
  check?: (bytes: Uint8Array, tree: FsTree) => void;
}

const layoutOf = (bytes: Uint8Array, p: string) => ErofsImage.open(bytes).lookup(p)!.layout;

const variants: Variant[] = [
  {
    name: "default",
    args: [],
    check: (bytes) => {
      assert.equal(layoutOf(bytes, "files/f4097"), DataLayout.FlatInline);
      assert.equal(layoutOf(bytes, "files/f4096"), DataLayout.FlatPlain);
      assert.ok(inspectErofs(bytes).counts.sharedXattrRefs > 0, "shared xattrs used");
    },
  },
  {
    name: "noinline_data",
    args: ["-E", "noinline_data"],
    check: (bytes) => {
      assert.equal(layoutOf(bytes, "files/f4097"), DataLayout.FlatPlain);
      assert.equal(layoutOf(bytes, "files/f100000"), DataLayout.FlatPlain);
    },
  },
  {
    name: "fixed time",
    args: ["-T", "1234567"],
    fixedTime: 1234567,
    check: (bytes, tree) => {
      const info = inspectErofs(bytes);
      assert.equal(info.buildTime.sec, 1234567);
      assert.ok(info.counts.compactInodes > 3000, "compact inodes take the build time");
      for (const { path: p, node } of walk(tree)) assert.equal(node.mtime.sec, 1234567, p);
    },
  },
  {
    name: "shared xattrs -x1",
    args: ["-x", "1"],
    check: (bytes) => assert.ok(inspectErofs(bytes).counts.sharedXattrRefs > 0),
  },
  {
    name: "force-inode-extended",
    args: ["-T", "1234567", "-E", "force-inode-extended"],
    fixedTime: 1234567,
    check: (bytes) => assert.equal(inspectErofs(bytes).counts.compactInodes, 0),
  },
  {
    name: "chunked 8192",
    args: ["--chunksize=8192"],
    check: (bytes) => {
      const info = inspectErofs(bytes);
      assert.ok(info.featureIncompat.includes("chunked_file"));
      assert.ok((info.layouts.chunk_based ?? 0) > 0);
      const img = ErofsImage.open(bytes);
      const f = img.lookup("files/f100000")!;
      assert.equal(f.layout, DataLayout.ChunkBased);
      assert.equal(f.chunkBits, 13);
    },
  },
];

describe("EROFS reader vs mkfs.erofs 1.5 and the kernel", () => {
  let tmp: string;
  let src: string;
  let srcTree: FsTree;

  before(() => {
    tmp = makeTempDir("iofs-erofs-mkfs-");
    src = path.join(tmp, "src");
    fs.mkdirSync(src);
    buildSourceTree(src, { maxNameLen: 254 }); // mkfs.erofs 1.5 fails on 255-byte names
    srcTree = readDirTree(src, { xattrs: true });
  });
  after(() => removeDir(tmp));

  for (const v of variants) {
    test(`${v.name}: readErofs equals the kernel's view and the source`, async () => {
      const image = path.join(tmp, `${v.name.replace(/\W+/g, "_")}.img`);
      mkfsErofs(image, src, v.args);
      const bytes = fs.readFileSync(image);
      const tree = readErofs(bytes);

      const kernelDiff = await withLoopMount(image, (mnt) => diffTrees(tree, readDirTree(mnt, { xattrs: true })));
      assert.deepEqual(kernelDiff, [], "image tree vs mounted image");
      assert.deepEqual(diffTrees(tree, srcTree, { mtimes: v.fixedTime === undefined }), [], "image tree vs source dir");

      const fsck = fsckErofs(bytes);
      assert.deepEqual(fsck.problems, []);
      assert.equal(fsck.stats.inodes, inspectErofs(bytes).counts.inodes);
      assert.ok(fsck.stats.bytesRead > 100000);
      assert.equal(run("fsck.erofs", [image], { allowFail: true }).code, 0, "fsck.erofs agrees");
      v.check?.(bytes, tree);
      fs.rmSync(image);
    });
  }

  test("spot checks of the tree and the image API", () => {
    const image = path.join(tmp, "spot.img");
    mkfsErofs(image, src);
    const bytes = fs.readFileSync(image);
    const tree = readErofs(bytes);
    const at = (p: string) => {
      const n = lookup(tree, toByteString(p));
      assert.ok(n, p);
      return n;
    };
    // hard links are one object
    assert.equal(at("hard/one"), at("hard/two"));
    assert.equal(at("hard/one"), at("files/three-link"));
    assert.equal(at("hard/sym"), at("hard/sym2"));
    assert.notEqual(at("hard/one"), at("hard/big"));
    const dev = at("special/bigdev");
    assert.ok(dev.kind === "chardev" && dev.rdevMajor === 511 && dev.rdevMinor === 1048575);
    const blk = at("special/blk2");
    assert.ok(blk.kind === "blockdev" && blk.rdevMajor === 259 && blk.rdevMinor === 300);
    assert.equal(at("special/fifo").kind, "fifo");
    assert.equal(at("special/sock").kind, "socket");
    const long = at("links/long");
    assert.ok(long.kind === "symlink" && long.target === "a".repeat(3000));
    const hb = at("links/highbyte");
    assert.ok(hb.kind === "symlink" && hb.target === "t\xfet");
    const f1 = at("files/f1");
    assert.deepEqual(f1.mtime, { sec: 1700000000, nsec: 123456789 });
    assert.deepEqual([...f1.xattrs.keys()].sort(), ["trusted.t", "user.empty", "user.one"]);
    assert.equal(f1.xattrs.get("user.empty")!.length, 0);
    const all = at("perms/all");
    assert.equal(all.perm, 0o7777);
    assert.equal(all.uid, 100000);
    assert.equal(all.gid, 4000000000);
    assert.equal(at("perms/sticky").perm, 0o1777);
    const names = at("names");
    assert.ok(names.kind === "dir");
    assert.ok(names.entries.has("n\xff\x80\xc3"));
    assert.ok(names.entries.has("\xff"));
    assert.ok(names.entries.has(toByteString("ünïcödé")));
    assert.ok(names.entries.has("new\nline"));
    const big = at("big");
    assert.ok(big.kind === "dir" && big.entries.size === 3000);
    const f = at("files/f100000");
    assert.ok(f.kind === "file");
    assert.deepEqual(Buffer.from(f.content.read()), fs.readFileSync(path.join(src, "files/f100000")));

    const img = ErofsImage.open(bytes);
    const bigInode = img.lookup("big")!;
    assert.ok(bigInode.size > 4096 * 10, "the big directory spans many blocks");
    const ents = img.readDir(bigInode);
    assert.equal(ents.length, 3002);
    const sorted = [...ents.map((e) => e.name)].sort();
    assert.deepEqual(ents.map((e) => e.name), sorted, "on-disk order is byte order");
    assert.equal(img.lookup("/deep/d0/d1/../d1/d2")!.kind, "dir");
    assert.equal(img.lookup("nope"), undefined);
    assert.equal(img.lookup("files/f1/x"), undefined);
    assert.equal(img.readInode(img.rootNid).kind, "dir");
    let depth = 0;
    for (const { depth: d } of walk(tree)) depth = Math.max(depth, d);
    assert.ok(depth >= 100);
  });

  test("a 255-byte name (patched in: mkfs.erofs 1.5 cannot make one) reads like the kernel reads it", async () => {
    const image = path.join(tmp, "n255.img");
    mkfsErofs(image, src);
    const bytes = fs.readFileSync(image);
    const img = ErofsImage.open(bytes);
    const dir = img.lookup("n255")!;
    const ents = img.readDir(dir);
    assert.deepEqual(ents.map((e) => e.name), [".", "..", "L".repeat(254)]);
    assert.equal(dir.layout, DataLayout.FlatInline);
    const end = dir.payloadOffset + dir.size;
    assert.equal(bytes[end], 0, "padding after the inline directory");
    assert.ok(end % 32 !== 0, "room left in the inode's last 32-byte slot");
    bytes[end] = "L".charCodeAt(0);
    if (dir.extended) bytes.writeBigUInt64LE(BigInt(dir.size + 1), dir.offset + 8);
    else bytes.writeUInt32LE(dir.size + 1, dir.offset + 8);
    fixSuperblockChecksum(bytes);
    fs.writeFileSync(image, bytes);

    const tree = readErofs(bytes);
    const n255 = lookup(tree, "n255");
    assert.ok(n255?.kind === "dir");
    assert.deepEqual([...n255.entries.keys()], ["L".repeat(255)]);
    assert.deepEqual(fsckErofs(bytes).problems, []);
    const diff = await withLoopMount(image, (mnt) => {
      assert.ok(fs.existsSync(path.join(mnt, "n255", "L".repeat(255))));
      return diffTrees(tree, readDirTree(mnt, { xattrs: true }));
    });
    assert.deepEqual(diff, []);
  });

  test("withLoopMount reports a failing mount and cleans up", async () => {
    const bad = path.join(tmp, "garbage.img");
    fs.writeFileSync(bad, Buffer.alloc(8192, 0x5a));
    let ran = false;
    await assert.rejects(
      withLoopMount(bad, () => {
        ran = true;
      }),
      /mount .*failed/,
    );
    assert.equal(ran, false);
    assert.equal(run("losetup", ["-j", bad]).stdout.trim(), "", "no loop device left attached");
  });

  test("compressed images: lazy reading, data decoded on read(), fsck decodes everything", () => {
    const csrc = path.join(tmp, "csrc");
    fs.mkdirSync(csrc);
    fs.writeFileSync(path.join(csrc, "zeros"), Buffer.alloc(100000));
    fs.writeFileSync(path.join(csrc, "text"), "x".repeat(20000));
    fs.writeFileSync(path.join(csrc, "small"), "tiny");
    fs.symlinkSync("zeros", path.join(csrc, "link"));
    const image = path.join(tmp, "lz4.img");
    mkfsErofs(image, csrc, ["-zlz4"]);
    const bytes = fs.readFileSync(image);
    const info = inspectErofs(bytes);
    assert.ok((info.layouts.compressed_full ?? 0) + (info.layouts.compressed_compact ?? 0) > 0, JSON.stringify(info.layouts));
    assert.equal(info.compression?.inodes, 2, "zeros and text are compressed");
    const tree = readErofs(bytes); // lazy: no data read yet
    const z = lookup(tree, "zeros");
    assert.ok(z?.kind === "file" && z.content.size === 100000);
    assert.ok(Buffer.from(z.content.read()).equals(Buffer.alloc(100000)));
    const t = lookup(tree, "text");
    assert.ok(t?.kind === "file");
    assert.equal(Buffer.from(t.content.read()).toString(), "x".repeat(20000));
    const small = lookup(tree, "small");
    assert.ok(small?.kind === "file");
    assert.equal(Buffer.from(small.content.read()).toString(), "tiny");
    const fsck = fsckErofs(bytes);
    assert.deepEqual(fsck.problems, []);
    assert.equal(fsck.stats.compressedFiles, 2);
    assert.equal(fsck.stats.uncompressedBytes, 120000);
  });
});
