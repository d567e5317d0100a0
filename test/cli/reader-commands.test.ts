/** The reader commands as a user runs them: output, --json, exit codes, errors without stack traces. */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli } from "../helpers/cli.js";
import { diffTrees, readDirTree } from "../helpers/api.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { makeEdgeCaseTree } from "../helpers/fixtures.js";
import { ErofsImage } from "../../src/formats/erofs/reader.js";

test("--help on every command, exit 0; unknown command or option: exit 2", () => {
  for (const c of [[], ["convert"], ["build"], ["inspect"], ["ls"], ["cat"], ["extract"], ["fsck"]]) {
    const r = cli([...c, "--help"]);
    assert.equal(r.code, 0, c.join(" "));
    assert.match(r.stdout.toString(), /Usage: initoverlayfs/);
  }
  assert.equal(cli(["frobnicate"]).code, 2);
  assert.equal(cli(["convert", "x", "--bogus"]).code, 2);
  assert.equal(cli(["convert", "x", "-o", "y", "--uuid", "nothex"]).code, 2);
});

test("inspect, ls, cat, extract and fsck on a converted tree", () => {
  const work = makeTempDir();
  try {
    const src = join(work, "src");
    mkdirSync(src);
    makeEdgeCaseTree(src, { bigDir: 300, depth: 20 });
    const image = join(work, "img.erofs");
    assert.equal(cli(["convert", src, "-o", image, "--label", "test", "--uuid", "01234567-89ab-cdef-0123-456789abcdef"]).code, 0);

    const info = JSON.parse(cli(["inspect", image, "--json"]).stdout.toString());
    assert.equal(info.uuid, "01234567-89ab-cdef-0123-456789abcdef");
    assert.equal(info.volumeName, "test");
    assert.equal(info.checksum.ok, true);
    assert.match(cli(["inspect", image]).stdout.toString(), /uuid\s+01234567-89ab-cdef-0123-456789abcdef/);

    const names = cli(["ls", image, "/links"]).stdout.toString().trim().split("\n");
    assert.deepEqual(names, ["empty-hard", "empty-target", "hard1", "hard2", "longsym", "rel", "sym", "target"]);
    assert.match(cli(["ls", "-l", image, "/links/sym"]).stdout.toString(), /^lrwxrwxrwx .* -> target\n$/);
    const all = JSON.parse(cli(["ls", "-R", "--json", image]).stdout.toString());
    assert.ok(all.some((r: { path: string }) => r.path.endsWith("/deep/d/d/d")));

    assert.ok(cli(["cat", image, "/files/size-100000"]).stdout.equals(readFileSync(join(src, "files/size-100000"))));
    assert.equal(cli(["cat", image, "/nope"]).code, 2);
    assert.equal(cli(["cat", image, "/files"]).code, 2);

    const out = join(work, "out");
    assert.equal(cli(["extract", image, out]).code, 0);
    assert.deepEqual(diffTrees(readDirTree(src), readDirTree(out), { ignoreRootMeta: true }), []);

    const f = cli(["fsck", image]);
    assert.equal(f.code, 0);
    assert.match(f.stdout.toString(), /clean/);
    // damage a directory block's dirent: fsck reports it and exits 1
    const bytes = Buffer.from(readFileSync(image));
    const broken = join(work, "broken.erofs");
    bytes.writeUInt32LE(0xdeadbeef, 1024 + 4); // superblock checksum
    writeFileSync(broken, bytes);
    const fb = cli(["fsck", broken]);
    assert.equal(fb.code, 1, fb.stdout.toString() + fb.stderr);
    assert.match(fb.stdout.toString(), /checksum/);
    // not an image at all: one line, exit 3
    writeFileSync(broken, Buffer.alloc(8192));
    // LZ4-compressed images: cat, extract and fsck read them like any other
    const lz4 = join(work, "lz4.erofs");
    const mk = spawnSync("mkfs.erofs", ["-zlz4hc", lz4, join(src, "files")]);
    assert.equal(mk.status, 0, mk.stderr.toString());
    assert.ok(cli(["cat", lz4, "/size-100000"]).stdout.equals(readFileSync(join(src, "files/size-100000"))));
    const outz = join(work, "outz");
    assert.equal(cli(["extract", lz4, outz]).code, 0);
    assert.deepEqual(diffTrees(readDirTree(join(src, "files")), readDirTree(outz), { ignoreRootMeta: true }), []);
    assert.equal(cli(["fsck", lz4]).code, 0);
    assert.match(cli(["inspect", lz4]).stdout.toString(), /compression\s+\d+ inodes/);
    // a broken pcluster: extraction fails halfway, exit 3, no directory left behind; fsck exit 1
    const img = ErofsImage.open(readFileSync(lz4));
    const ino = img.lookup("size-100000")!;
    const pcl = img.compressedMap(ino).extents[0];
    const zb = Buffer.from(readFileSync(lz4));
    zb.fill(0xff, pcl.physical, pcl.physical + pcl.plen);
    const lz4bad = join(work, "lz4bad.erofs");
    writeFileSync(lz4bad, zb);
    const half = join(work, "half");
    const rx = cli(["extract", lz4bad, half]);
    assert.equal(rx.code, 3, rx.stderr);
    assert.match(rx.stderr, new RegExp(`lz4bad\\.erofs: offset \\d+: erofs: .*size-100000`));
    assert.equal(rx.stderr.trim().split("\n").length, 1);
    assert.ok(!existsSync(half), "partial extraction left behind");
    assert.deepEqual(readdirSync(work).filter((n) => n.includes("half")), []);
    const fzb = cli(["fsck", lz4bad]);
    assert.equal(fzb.code, 1);
    assert.match(fzb.stdout.toString(), /size-100000/);
    // fsck reports it as a problem found (exit 1), the others refuse the input (exit 3)
    const fz = cli(["fsck", broken]);
    assert.equal(fz.code, 1);
    assert.match(fz.stdout.toString(), /offset 1024: bad magic/);
    for (const cmd of [["inspect"], ["ls"], ["extract"]]) {
      const r = cli([...cmd, broken, ...(cmd[0] === "extract" ? [join(work, "x")] : [])]);
      assert.equal(r.code, 3, `${cmd}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1);
      assert.match(r.stderr, /broken\.erofs.*offset 1024.*magic/);
    }
  } finally {
    removeDir(work);
  }
});
