/**
 * The reader on LZ4-compressed images made by mkfs.erofs 1.5, with the kernel as the oracle:
 * every mkfs layout variant (compact 2B/4B and full indexes, big pclusters, tail packing, lz4 and
 * lz4hc, with and without ZERO_PADDING) on a synthetic tree and on the Debian initramfs. Our tree
 * must equal the loop-mounted image and the source, our fsck and fsck.erofs must find nothing, and
 * the image must really use the layout the variant is about (so a silent mkfs fallback fails).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fsckErofs } from "../../../src/formats/erofs/fsck.js";
import { inspectErofs, type CompressionSummary } from "../../../src/formats/erofs/inspect.js";
import { ErofsImage, readErofs } from "../../../src/formats/erofs/reader.js";
import { diffTrees } from "../../../src/fs/compare.js";
import { walk, type FsTree } from "../../../src/fs/tree.js";
import { readInitramfs } from "../../../src/initramfs/read.js";
import { readDirTree } from "../../../src/io/dir-reader.js";
import { extractTree } from "../../../src/io/extract.js";
import { mkfsErofs } from "../../helpers/erofs.js";
import { withLoopMount } from "../../helpers/mount.js";
import { prng } from "../../helpers/prng.js";
import { run } from "../../helpers/run.js";
import { buildSourceTree } from "../../helpers/source-tree.js";
import { makeTempDir, removeDir } from "../../helpers/tmp.js";

const SIZES = [1, 100, 4095, 4096, 4097, 8191, 8192, 8193, 12288, 65535, 65536, 65537, 200_000, 1_048_577, 3_500_000];

/** Files whose content compresses in different ways, at sizes around lcluster and pcluster edges. */
function buildDataTree(dir: string): void {
  const rnd = prng(4242);
  const z = path.join(dir, "z");
  fs.mkdirSync(z);
  const random = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (rnd() * 256) | 0;
    return b;
  };
  const words = ["modprobe", "kernel", "initramfs", "overlay", "erofs", "\n", " ", "lz4", "block", "0x", "=", "/usr/lib/"];
  const text = (n: number) => {
    const parts: string[] = [];
    let len = 0;
    while (len < n) {
      const w = words[(rnd() * words.length) | 0] + ((rnd() * 1000) | 0);
      parts.push(w);
      len += w.length;
    }
    return Buffer.from(parts.join("")).subarray(0, n);
  };
  for (const n of SIZES) {
    fs.writeFileSync(path.join(z, `random-${n}`), random(n));
    fs.writeFileSync(path.join(z, `zero-${n}`), Buffer.alloc(n));
    fs.writeFileSync(path.join(z, `repeat-${n}`), Buffer.from("abcdefgh".repeat(Math.ceil(n / 8))).subarray(0, n));
    fs.writeFileSync(path.join(z, `text-${n}`), text(n));
  }
  // half random, half text: stored (PLAIN) extents next to compressed ones inside one file
  fs.writeFileSync(path.join(z, "mixed"), Buffer.concat([random(30_000), text(50_000), random(9000), Buffer.alloc(70_000), text(5000)]));
  fs.writeFileSync(path.join(z, "empty"), Buffer.alloc(0));
  fs.linkSync(path.join(z, "text-65537"), path.join(z, "hardlink-to-text"));
  fs.symlinkSync("text-4097", path.join(z, "symlink"));
}

interface Variant {
  name: string;
  args: string[];
  expect: (z: CompressionSummary, img: ErofsImage) => void;
}

/** The largest pcluster of any compressed file, in bytes. */
function maxPlen(img: ErofsImage): number {
  let m = 0;
  const stack = [img.readInode(img.rootNid)];
  while (stack.length) {
    const ino = stack.pop()!;
    if (ino.kind === "dir") {
      for (const e of img.readDir(ino)) if (e.name !== "." && e.name !== "..") stack.push(img.readInode(e.nid));
    } else if (ino.compressed) {
      for (const e of img.compressedMap(ino).extents) if (!e.inline) m = Math.max(m, e.plen);
    }
  }
  return m;
}

const compactDefaults = (z: CompressionSummary) => {
  assert.ok(z.layouts.compactIndex > 10 && z.layouts.fullIndex === 0, JSON.stringify(z.layouts));
  assert.ok(z.layouts.compact2B > 0, "2B packs used");
};
const variants: Variant[] = [
  { name: "lz4", args: ["-zlz4"], expect: (z) => (compactDefaults(z), assert.ok((z.extents.stored ?? 0) > 0, "stored extents")) },
  { name: "lz4hc", args: ["-zlz4hc"], expect: compactDefaults },
  { name: "lz4hc level 12", args: ["-zlz4hc,12"], expect: compactDefaults },
  {
    name: "big pclusters 64 KiB",
    args: ["-zlz4", "-C65536"],
    expect: (z, img) => (compactDefaults(z), assert.equal(z.maxPclusterBlocks, 16), assert.ok(maxPlen(img) > 4096 * 4, "multi-block pclusters")),
  },
  {
    name: "lz4hc big pclusters 16 KiB",
    args: ["-zlz4hc", "-C16384"],
    expect: (z, img) => (assert.equal(z.layouts.bigPcluster, z.inodes), assert.equal(maxPlen(img), 16384)),
  },
  {
    name: "legacy (full) index",
    args: ["-zlz4", "-E", "legacy-compress"],
    expect: (z) => assert.ok(z.layouts.fullIndex > 10 && z.layouts.compactIndex === 0, JSON.stringify(z.layouts)),
  },
  {
    name: "ztailpacking",
    args: ["-zlz4hc", "-E", "ztailpacking"],
    expect: (z) => (compactDefaults(z), assert.ok(z.layouts.inlineTail > 5, JSON.stringify(z.layouts))),
  },
  {
    name: "ztailpacking with big pclusters",
    args: ["-zlz4", "-E", "ztailpacking", "-C65536"],
    expect: (z, img) => (assert.ok(z.layouts.inlineTail > 5 && z.layouts.bigPcluster > 5), assert.ok(maxPlen(img) > 4096)),
  },
  {
    name: "legacy with big pclusters",
    args: ["-zlz4hc", "-E", "legacy-compress", "-C65536"],
    expect: (z, img) => (assert.ok(z.layouts.fullIndex > 10 && z.layouts.bigPcluster > 10), assert.ok(maxPlen(img) > 4096)),
  },
  {
    name: "legacy with ztailpacking",
    args: ["-zlz4", "-E", "legacy-compress,ztailpacking"],
    expect: (z) => assert.ok(z.layouts.fullIndex > 10 && z.layouts.inlineTail > 5, JSON.stringify(z.layouts)),
  },
];

/** Our tree vs the kernel's view of the image, and vs the source directory. */
async function compareWithKernel(image: string, tree: FsTree, src: FsTree, srcOpts: { mtimes?: boolean } = {}): Promise<void> {
  const kernelDiff = await withLoopMount(image, (mnt) => diffTrees(tree, readDirTree(mnt, { xattrs: true })));
  assert.deepEqual(kernelDiff, [], "image tree vs mounted image");
  assert.deepEqual(diffTrees(tree, src, srcOpts), [], "image tree vs source");
}

function checkFsck(image: string, bytes: Uint8Array): void {
  const f = fsckErofs(bytes);
  assert.deepEqual(f.problems, [], "our fsck");
  assert.ok(f.stats.compressedExtents > 0 && f.stats.uncompressedBytes > f.stats.compressedBytes, JSON.stringify(f.stats));
  const r = run("fsck.erofs", [image], { allowFail: true });
  assert.equal(r.code, 0, `fsck.erofs agrees: ${r.stderr}${r.stdout}`);
}

describe("compressed EROFS images from mkfs.erofs 1.5 read like the kernel reads them", () => {
  let tmp: string;
  let src: string;
  let srcTree: FsTree;

  before(() => {
    tmp = makeTempDir("iofs-erofs-z-");
    src = path.join(tmp, "src");
    fs.mkdirSync(src);
    buildSourceTree(src, { bigDirEntries: 200, depth: 8, maxNameLen: 254 });
    buildDataTree(src);
    srcTree = readDirTree(src, { xattrs: true });
  });
  after(() => removeDir(tmp));

  for (const v of variants) {
    test(`${v.name} (${v.args.join(" ")})`, { timeout: 120_000 }, async () => {
      const image = path.join(tmp, `${v.name.replace(/\W+/g, "_")}.img`);
      mkfsErofs(image, src, v.args);
      try {
        const bytes = fs.readFileSync(image);
        const info = inspectErofs(bytes);
        assert.ok(info.compression, "inspect reports compression");
        v.expect(info.compression, ErofsImage.open(bytes));
        assert.equal(info.compression.unreadableIndexes, 0);
        await compareWithKernel(image, readErofs(bytes), srcTree);
        checkFsck(image, bytes);
      } finally {
        fs.rmSync(image, { force: true });
      }
    });
  }

  test("every pcluster is decoded once per file read, and reads repeat", () => {
    const image = path.join(tmp, "once.img");
    mkfsErofs(image, src, ["-zlz4hc", "-C65536"]);
    const bytes = fs.readFileSync(image);
    const img = ErofsImage.open(bytes);
    const ino = img.lookup("z/text-3500000")!;
    const { extents } = img.compressedMap(ino);
    assert.ok(extents.length > 10);
    // extents tile the file exactly, in order
    let at = 0;
    for (const e of extents) {
      assert.equal(e.logical, at);
      at += e.length;
    }
    assert.equal(at, ino.size);
    let calls = 0;
    const parts: Buffer[] = [];
    const n = img.forEachCompressedExtent(ino, (_l, d) => (calls++, parts.push(Buffer.from(d))));
    assert.equal(calls, extents.length);
    assert.equal(n, ino.size);
    const want = fs.readFileSync(path.join(src, "z/text-3500000"));
    assert.ok(Buffer.concat(parts).equals(want));
    assert.ok(Buffer.from(img.readData(ino)).equals(want));
    assert.ok(Buffer.from(img.readData(ino)).equals(want), "second read");
    fs.rmSync(image);
  });
});

describe("the Debian initramfs, compressed", () => {
  const initrd = fs.readdirSync("/boot").filter((n) => n.startsWith("initrd.img-")).sort().pop();
  let tmp: string;
  let tree: string;
  let srcTree: FsTree;

  before(async () => {
    assert.ok(initrd, "a Debian initramfs in /boot");
    tmp = makeTempDir("iofs-erofs-zreal-");
    tree = path.join(tmp, "tree");
    const { tree: t } = await readInitramfs(fs.readFileSync(path.join("/boot", initrd)));
    extractTree(t, tree);
    srcTree = readDirTree(tree, { xattrs: true });
  });
  after(() => removeDir(tmp));

  for (const args of [["-zlz4hc"], ["-zlz4", "-C65536", "-E", "ztailpacking"]]) {
    test(`mkfs.erofs ${args.join(" ")}`, { timeout: 300_000 }, async () => {
      const image = path.join(tmp, "real.img");
      mkfsErofs(image, tree, args);
      try {
        const bytes = fs.readFileSync(image);
        const z = inspectErofs(bytes).compression!;
        assert.ok(z.inodes > 500 && z.uncompressedBytes > 100e6, JSON.stringify(z));
        const t = readErofs(bytes);
        let files = 0;
        for (const { node } of walk(t)) if (node.kind === "file") files++;
        assert.ok(files > 1000);
        // cpio carries whole seconds; the extracted tree and the image keep them
        await compareWithKernel(image, t, srcTree);
        checkFsck(image, bytes);
      } finally {
        fs.rmSync(image, { force: true });
      }
    });
  }
});
