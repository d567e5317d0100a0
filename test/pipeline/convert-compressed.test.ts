/**
 * The real Debian initramfs converted to compressed EROFS images (the default lz4hc, and lz4 with
 * big pclusters, full indexes and inline tails): the kernel mounts each and fsck.erofs --extract gives exactly
 * what cpio -i extracts from the original.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DiffOptions } from "../../src/fs/compare.js";
import { checkAgainstKernelAndFsck } from "../helpers/erofs-check.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { cli } from "../helpers/cli.js";
import { compress, cpioExtract, cpioOf } from "../helpers/fixtures.js";
import { withLoopMount } from "../helpers/mount.js";
import { text } from "../helpers/compressible-tree.js";

// cpio -i cannot set a symlink's mtime and does not keep a directory's mtime once it adds entries
const VS_CPIO: DiffOptions = { ignoreMtimeOf: ["symlink", "dir"], xattrs: false, ignoreRootMeta: true };

test("the Debian initramfs as compressed images (lz4hc; lz4 with 64K pclusters, full indexes and ztailpacking) equals cpio -i in the kernel and fsck.erofs", async () => {
  const initrds = readdirSync("/boot").filter((n) => /^initrd\.img-/.test(n));
  assert.ok(initrds.length > 0, "no /boot/initrd.img-*: .ci/run must install linux-image-amd64");
  const initrd = join("/boot", initrds.sort().pop()!);
  const work = makeTempDir();
  try {
    const expected = join(work, "expected");
    mkdirSync(expected);
    let segments: { offset: number; length: number; compression: string }[] | undefined;
    for (const cfg of [["-z", "lz4hc"], ["-z", "lz4", "--max-pcluster", "64K", "--full-index", "--ztailpacking"]]) {
      const what = cfg.join(" ");
      const image = join(work, "debian.erofs");
      const r = cli(["convert", initrd, "-o", image, "--json", ...cfg]);
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      const summary = JSON.parse(r.stdout.toString());
      assert.ok(summary.compressedFiles > 300, `${what}: only ${summary.compressedFiles} files compressed`);
      assert.ok(summary.imageBytes < summary.stats.bytes * 0.7, `${what}: image ${summary.imageBytes} B for ${summary.stats.bytes} B of data`);
      if (!segments) {
        // reference: each segment extracted in order with the matching tool
        segments = summary.segments as { offset: number; length: number; compression: string }[];
        const bytes = readFileSync(initrd);
        for (const seg of segments) {
          const part = bytes.subarray(seg.offset, seg.offset + seg.length);
          const tool: Record<string, string[]> = { zstd: ["zstd", "-dc"], gzip: ["gzip", "-dc"], xz: ["xz", "-dc"], lzma: ["xz", "-dc"], bzip2: ["bzip2", "-dc"], lz4: ["lz4", "-dc"] };
          const archive = seg.compression === "none" ? part : spawnSync(tool[seg.compression][0], tool[seg.compression].slice(1), { input: part, maxBuffer: 1 << 30 }).stdout;
          cpioExtract(archive, expected);
        }
      }
      await checkAgainstKernelAndFsck(image, expected, work, VS_CPIO, what);
    }
  } finally {
    removeDir(work);
  }
});

test("files compressed while the initramfs is read: a later entry's content wins; same image with 1 or 2 workers", async () => {
  const work = makeTempDir();
  try {
    const [a, b] = [join(work, "a"), join(work, "b")];
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(join(a, "f"), text(50000, 1));
    writeFileSync(join(a, "g"), text(60000, 2));
    writeFileSync(join(b, "f"), text(70000, 3)); // replaces a/f (O_TRUNC), after a/f was offered for compression
    const initrd = join(work, "initrd");
    writeFileSync(initrd, Buffer.concat([compress("zstd", cpioOf(a)), compress("zstd", cpioOf(b))]));
    const images: Buffer[] = [];
    for (const workers of ["2", "1"]) {
      const image = join(work, `w${workers}.erofs`);
      const r = cli(["convert", initrd, "-o", image, "-z", "lz4hc", "--workers", workers, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout.toString()).compressedFiles, 2);
      images.push(readFileSync(image));
      await withLoopMount(image, (mnt) => {
        assert.ok(readFileSync(join(mnt, "f")).equals(text(70000, 3)), "f has the later content");
        assert.ok(readFileSync(join(mnt, "g")).equals(text(60000, 2)));
      });
    }
    assert.ok(images[0].equals(images[1]), "images differ between 1 and 2 workers");
  } finally {
    removeDir(work);
  }
});
