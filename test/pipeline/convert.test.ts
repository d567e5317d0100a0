/**
 * The foundation issue's acceptance tests: initramfs files (every compressor, the real Debian one)
 * converted to EROFS, mounted by the kernel, checked by erofs-utils, compared with what cpio -i
 * extracts.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { diffTrees, DiffOptions } from "../../src/fs/compare.js";
import { readDirTree } from "../../src/io/dir-reader.js";
import { readErofs } from "../../src/formats/erofs/reader.js";
import { withLoopMount } from "../helpers/mount.js";
import { run } from "../helpers/run.js";
import { makeTempDir, removeDir, withTempDir } from "../helpers/tmp.js";
import { gzipSync } from "node:zlib";
import { CpioWriter } from "../../src/formats/cpio/writer.js";
import { cli } from "../helpers/cli.js";
import { compress, COMPRESSORS, cpioExtract, cpioOf, makeEdgeCaseTree } from "../helpers/fixtures.js";

// cpio -i cannot set a symlink's mtime and does not keep a directory's mtime once it adds
// entries to it; compare those only where the source is not cpio -i.
const VS_CPIO: DiffOptions = { ignoreMtimeOf: ["symlink", "dir"], xattrs: false, ignoreRootMeta: true };

/** "path: perm: 04755 != 00755" where only the setuid/setgid bits are gone */
function isOnlySetidLoss(diff: string): boolean {
  const m = / perm: 0([0-7]+) != 0([0-7]+)$/.exec(diff);
  return !!m && (parseInt(m[1], 8) & ~0o6000) === parseInt(m[2], 8);
}

/** convert → kernel mount == expected tree; fsck.erofs clean; fsck.erofs --extract == expected; our reader == expected. */
async function checkImage(image: string, expected: string, work: string, opts: DiffOptions = VS_CPIO): Promise<void> {
  const want = readDirTree(expected);
  await withLoopMount(image, (mnt) => {
    const got = readDirTree(mnt);
    assert.deepEqual(diffTrees(want, got, opts), [], "kernel mount differs from the source");
  });
  const f = run("fsck.erofs", [image], { allowFail: true });
  assert.equal(f.code, 0, `fsck.erofs: ${f.stdout}${f.stderr}`);
  const out = join(work, `fsck-extract-${Math.random().toString(36).slice(2)}`);
  const fx = run("fsck.erofs", [`--extract=${out}`, image], { allowFail: true });
  assert.equal(fx.code, 0, `fsck.erofs --extract: ${fx.stdout}${fx.stderr}`);
  // fsck.erofs 1.5 --extract makes no hard links (every link becomes a copy), restores no times
  // of dirs and symlinks, and chowns after chmod, which clears setuid/setgid bits: compare the rest
  const extractDiffs = diffTrees(want, readDirTree(out), { ...opts, hardLinks: false, ignoreMtimeOf: ["symlink", "dir"] })
    .filter((d) => !isOnlySetidLoss(d));
  assert.deepEqual(extractDiffs, [], "fsck.erofs --extract differs");
  removeDir(out);
  assert.deepEqual(diffTrees(want, readErofs(readFileSync(image)), opts), [], "our reader differs");
}

test("synthetic archives with every compressor: kernel mount, fsck.erofs and our reader agree with cpio -i", async () => {
  const work = makeTempDir();
  try {
    const src = join(work, "src");
    mkdirSync(src);
    makeEdgeCaseTree(src, { bigDir: 2000 });
    const archive = cpioOf(src);
    const extracted = join(work, "cpio-i");
    mkdirSync(extracted);
    cpioExtract(archive, extracted);
    const inputs: [string, Buffer][] = [["none", archive], ...Object.keys(COMPRESSORS).map((k) => [k, compress(k, archive)] as [string, Buffer])];
    for (const [kind, bytes] of inputs) {
      const file = join(work, `initramfs.${kind}`);
      writeFileSync(file, bytes);
      const image = join(work, `${kind}.erofs`);
      const r = cli(["convert", file, "-o", image]);
      assert.equal(r.code, 0, `${kind}: ${r.stderr}`);
      await checkImage(image, extracted, work);
    }
  } finally {
    removeDir(work);
  }
});

test("edge cases: 20,000 entries, 255-byte and non-UTF-8 names, deep nesting, devices, links, big ids", async () => {
  const work = makeTempDir();
  try {
    const src = join(work, "src");
    mkdirSync(src);
    makeEdgeCaseTree(src, { bigDir: 20_000, depth: 300 });
    const archive = cpioOf(src, "crc");
    const file = join(work, "initramfs.zst");
    writeFileSync(file, compress("zstd", archive));
    const extracted = join(work, "cpio-i");
    mkdirSync(extracted);
    cpioExtract(archive, extracted);
    const image = join(work, "img.erofs");
    const r = cli(["convert", file, "-o", image]);
    assert.equal(r.code, 0, r.stderr);
    await checkImage(image, extracted, work);
    // a directory as input: the source itself, nanosecond mtimes included
    const image2 = join(work, "dir.erofs");
    const r2 = cli(["convert", src, "-o", image2]);
    assert.equal(r2.code, 0, r2.stderr);
    await checkImage(image2, src, work, { xattrs: false, ignoreRootMeta: false });
  } finally {
    removeDir(work);
  }
});

test("an early uncompressed archive followed by a compressed one; later segments override earlier ones", async () => {
  const work = makeTempDir();
  try {
    const early = join(work, "early"), main = join(work, "main");
    mkdirSync(join(early, "kernel/x86/microcode"), { recursive: true });
    writeFileSync(join(early, "kernel/x86/microcode/GenuineIntel.bin"), Buffer.alloc(5000, 0xab));
    writeFileSync(join(early, "override-me"), "from the early archive");
    mkdirSync(join(main, "etc"), { recursive: true });
    writeFileSync(join(main, "etc/hostname"), "main\n");
    writeFileSync(join(main, "override-me"), "from the main archive, longer");
    const earlyCpio = cpioOf(early);
    const padded = Buffer.concat([earlyCpio, Buffer.alloc((512 - (earlyCpio.length % 512)) % 512 + 512)]);
    const file = join(work, "initrd.img");
    writeFileSync(file, Buffer.concat([padded, compress("zstd", cpioOf(main))]));
    // the kernel's view: both extracted into one directory in order
    const expected = join(work, "expected");
    mkdirSync(expected);
    cpioExtract(earlyCpio, expected);
    cpioExtract(cpioOf(main), expected);
    const image = join(work, "img.erofs");
    const r = cli(["convert", file, "-o", image, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.toString());
    assert.deepEqual(summary.segments.map((s: { compression: string }) => s.compression), ["none", "zstd"]);
    assert.equal(summary.segments[1].offset, padded.length);
    await checkImage(image, expected, work);
    await withLoopMount(image, (mnt) => {
      assert.equal(readFileSync(join(mnt, "override-me"), "utf8"), "from the main archive, longer");
    });
  } finally {
    removeDir(work);
  }
});

test("the real Debian initramfs from /boot converts, mounts and equals what cpio -i extracts", async () => {
  const initrds = readdirSync("/boot").filter((n) => /^initrd\.img-/.test(n));
  assert.ok(initrds.length > 0, "no /boot/initrd.img-*: .ci/run must install linux-image-amd64");
  const initrd = join("/boot", initrds.sort().pop()!);
  const work = makeTempDir();
  try {
    const image = join(work, "debian.erofs");
    const r = cli(["convert", initrd, "-o", image, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.toString());
    assert.ok(summary.stats.files > 500, `only ${summary.stats.files} files`);
    // reference: each segment extracted in order with the matching tool
    const expected = join(work, "expected");
    mkdirSync(expected);
    const bytes = readFileSync(initrd);
    for (const seg of summary.segments as { offset: number; length: number; compression: string }[]) {
      const part = bytes.subarray(seg.offset, seg.offset + seg.length);
      const tool: Record<string, string[]> = { zstd: ["zstd", "-dc"], gzip: ["gzip", "-dc"], xz: ["xz", "-dc"], lzma: ["xz", "-dc"], bzip2: ["bzip2", "-dc"], lz4: ["lz4", "-dc"] };
      const archive = seg.compression === "none" ? part : spawnSync(tool[seg.compression][0], tool[seg.compression].slice(1), { input: part, maxBuffer: 1 << 30 }).stdout;
      cpioExtract(archive, expected);
    }
    await checkImage(image, expected, work);
    // reproducible: a second conversion gives the same bytes
    const image2 = join(work, "debian2.erofs");
    assert.equal(cli(["convert", initrd, "-o", image2]).code, 0);
    assert.ok(readFileSync(image).equals(readFileSync(image2)), "two conversions differ");
  } finally {
    removeDir(work);
  }
});

test("bad input: one clear line naming file and offset, exit 3, no output left behind", () => {
  const work = makeTempDir();
  try {
    const src = join(work, "src");
    mkdirSync(src);
    writeFileSync(join(src, "file"), Buffer.alloc(20000, 7));
    const archive = cpioOf(src);
    const cases: [string, Buffer][] = [
      ["truncated cpio", archive.subarray(0, 300)],
      ["truncated zstd", compress("zstd", archive).subarray(0, 40)],
      ["truncated gzip", compress("gzip", archive).subarray(0, 50)],
      ["truncated xz", compress("xz", archive).subarray(0, 60)],
      ["corrupt gzip", (() => { const b = compress("gzip", archive); b[b.length >> 1] ^= 0xff; return b; })()],
      ["garbage", Buffer.from("this is not an initramfs at all")],
      ["odc cpio", Buffer.from("070707" + "0".repeat(200))],
    ];
    for (const [what, bytes] of cases) {
      const file = join(work, "bad.img");
      writeFileSync(file, bytes);
      const out = join(work, "out.erofs");
      const r = cli(["convert", file, "-o", out]);
      assert.equal(r.code, 3, `${what}: exit ${r.code}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${what}: expected one line, got:\n${r.stderr}`);
      assert.match(lines[0], new RegExp(`^initoverlayfs: ${file.replace(/[.]/g, "\\.")}.*offset \\d+`), what);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: stack trace`);
      assert.deepEqual(readdirSync(work).filter((n) => n.includes("out.erofs")), [], `${what}: output left behind`);
      assert.ok(!existsSync(out));
    }
  } finally {
    removeDir(work);
  }
});

test("convert: an initramfs that unpacks past --max-unpacked is refused with one line, exit 3, no output", () =>
  withTempDir((dir) => {
    const bomb = join(dir, "bomb.img");
    writeFileSync(bomb, gzipSync(new CpioWriter().add({ name: "zeros", mode: 0o100644, data: Buffer.alloc(4 << 20) }).trailer().bytes()));
    const out = join(dir, "out.img");
    const r = cli(["convert", bomb, "-o", out, "--max-unpacked", "1M"]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^initoverlayfs: .*bomb\.img: offset 0: initramfs: unpacks to more than 1048576 bytes \(the limit; raise it with --max-unpacked\)\n$/);
    assert.ok(!existsSync(out));
    assert.equal(cli(["convert", bomb, "-o", out, "--max-unpacked", "lots"]).code, 2);
    assert.equal(cli(["convert", bomb, "-o", out, "--max-unpacked", "8M"]).code, 0);
  }));
