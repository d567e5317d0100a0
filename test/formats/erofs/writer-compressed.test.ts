/**
 * The compressed EROFS writer against ground truth: every option set (lz4 / lz4hc, compact and
 * full indexes, big pclusters) on a tree of hard cases (incompressible, all-zero, repetitive and
 * mixed data; 1 byte to 9 MB; sizes around cluster boundaries) must mount in the kernel and pass
 * fsck.erofs (and --extract) with every file identical; output must not depend on the run or the
 * number of worker threads.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DiffOptions } from "../../../src/fs/compare.js";
import {
  FEATURE_INCOMPAT_COMPR_CFGS, FEATURE_INCOMPAT_ZERO_PADDING, FEATURE_INCOMPAT_ZTAILPACKING, SUPERBLOCK_OFFSET, Superblock,
} from "../../../src/formats/erofs/ondisk.js";
import { cli } from "../../helpers/cli.js";
import { checkAgainstKernelAndFsck, dumpLayout } from "../../helpers/erofs-check.js";
import { makeTree, mixed, text } from "../../helpers/compressible-tree.js";
import { prng } from "../../helpers/prng.js";
import { run } from "../../helpers/run.js";
import { makeTempDir, removeDir } from "../../helpers/tmp.js";

const OPTS: DiffOptions = { xattrs: false, ignoreRootMeta: true };
const CONFIGS: string[][] = [
  ["-z", "lz4"],
  ["-z", "lz4hc"],
  ["-z", "lz4hc,12", "--full-index"],
  ["-z", "lz4", "--max-pcluster", "64K"],
  ["-z", "lz4hc,3", "--max-pcluster", "16K", "--full-index"],
  ["-z", "lz4hc", "--max-pcluster", "1M"],
  ["-z", "lz4hc", "--ztailpacking"],
  ["-z", "lz4", "--max-pcluster", "64K", "--full-index", "--ztailpacking"],
];

test("compressed images (lz4, lz4hc, compact/full indexes, big pclusters, ztailpacking): kernel mount and fsck.erofs --extract equal the source", async () => {
  const work = makeTempDir();
  try {
    const src = join(work, "src");
    mkdirSync(src);
    makeTree(src);
    for (const cfg of CONFIGS) {
      const what = cfg.join(" ");
      const image = join(work, "z.erofs");
      const r = cli(["convert", src, "-o", image, "--json", ...cfg]);
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      assert.ok(JSON.parse(r.stdout.toString()).compressedFiles > 20, `${what}: too few files compressed`);
      await checkAgainstKernelAndFsck(image, src, work, OPTS, what);

      const sb = Superblock.decode(readFileSync(image), SUPERBLOCK_OFFSET);
      const big = cfg.includes("--max-pcluster");
      const tail = cfg.includes("--ztailpacking") ? FEATURE_INCOMPAT_ZTAILPACKING : 0;
      assert.equal(sb.featureIncompat, FEATURE_INCOMPAT_ZERO_PADDING | (big ? FEATURE_INCOMPAT_COMPR_CFGS : 0) | tail, what);
      // dump.erofs (erofs-utils) sees which files are compressed: layout 3 compact, 1 full
      const zLayout = cfg.includes("--full-index") ? 1 : 3;
      assert.equal(dumpLayout(image, "/text/s65537").layout, zLayout, what);
      assert.ok(dumpLayout(image, "/zeros/s1048577").onDisk <= 3 * 4096, `${what}: 1 MiB of zeros`);
      for (const plain of ["/random/s65537", "/text/s4096", "/zeros/s4096"]) {
        assert.ok([0, 2].includes(dumpLayout(image, plain).layout), `${what}: ${plain} should be stored uncompressed`);
      }
    }
  } finally {
    removeDir(work);
  }
});

test("compressed output is identical across runs and worker counts (1, 2, 4)", () => {
  const work = makeTempDir();
  try {
    const src = join(work, "src");
    mkdirSync(src);
    makeTree(src);
    for (const cfg of [["-z", "lz4hc"], ["-z", "lz4", "--max-pcluster", "64K", "--full-index"]]) {
      const hashes = new Set<string>();
      for (const workers of ["1", "2", "4", "2"]) {
        const image = join(work, `w${workers}.erofs`);
        const r = cli(["convert", src, "-o", image, "--workers", workers, ...cfg]);
        assert.equal(r.code, 0, r.stderr);
        hashes.add(createHash("sha256").update(readFileSync(image)).digest("hex"));
      }
      assert.equal(hashes.size, 1, `${cfg.join(" ")}: images differ between runs or worker counts`);
    }
  } finally {
    removeDir(work);
  }
});

test("--uncompressed keeps matching paths uncompressed; bad -z values are usage errors", () => {
  const work = makeTempDir();
  try {
    const src = join(work, "src");
    mkdirSync(join(src, "fw"), { recursive: true });
    writeFileSync(join(src, "fw", "blob.bin"), text(100000, 1));
    writeFileSync(join(src, "other"), text(100000, 1));
    const image = join(work, "z.erofs");
    const r = cli(["convert", src, "-o", image, "-z", "lz4hc", "--uncompressed", "^fw/.*\\.bin$"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok([0, 2].includes(dumpLayout(image, "/fw/blob.bin").layout), "fw/blob.bin compressed");
    assert.equal(dumpLayout(image, "/other").layout, 3);
    for (const bad of [["-z", "zstd"], ["-z", "lz4hc,13"], ["-z", "lz4,3"], ["-z", "lz4", "--max-pcluster", "6K"], ["-z", "lz4", "--max-pcluster", "2M"], ["-z", "lz4", "--uncompressed", "("], ["-z", "lz4", "--workers", "0"]]) {
      const b = cli(["convert", src, "-o", join(work, "bad.erofs"), ...bad]);
      assert.equal(b.code, 2, `${bad.join(" ")}: exit ${b.code} ${b.stderr}`);
      assert.equal(b.stderr.trim().split("\n").length, 1, b.stderr);
    }
  } finally {
    removeDir(work);
  }
});

test("known answer: for two files mkfs.erofs lays out like we do, our lz4/lz4hc images equal mkfs.erofs's byte for byte (but uuid, checksum, lz4 distance, inode numbers)", () => {
  const work = makeTempDir();
  try {
    const src = join(work, "src");
    mkdirSync(src);
    writeFileSync(join(src, "a"), text(3 * 1048576 + 5, 3));
    writeFileSync(join(src, "b"), mixed(prng(99)));
    for (const [ours, theirs] of [["lz4", "-zlz4"], ["lz4hc", "-zlz4hc"], ["lz4hc,12", "-zlz4hc,12"]]) {
      const mine = join(work, "ours.erofs");
      const ref = join(work, "ref.erofs");
      const r = cli(["convert", src, "-o", mine, "-z", ours, "--timestamp", "0"]);
      assert.equal(r.code, 0, r.stderr);
      run("mkfs.erofs", ["--quiet", theirs, "-T0", ref, src]);
      const a = readFileSync(mine);
      const b = readFileSync(ref);
      assert.equal(a.length, b.length, `${ours}: image sizes`);
      // fields that may differ: superblock checksum, uuid, lz4_max_distance (mkfs: 65535, we: 0 =
      // the default window), and i_ino (mkfs counts differently; the kernel uses the nid)
      const masked = new Set<number>();
      const sb = Superblock.fields;
      for (const f of [sb.checksum, sb.uuid, sb.u1]) for (let i = 0; i < f.size; i++) masked.add(SUPERBLOCK_OFFSET + f.offset + i);
      for (const p of ["/", "/a", "/b"]) {
        const nid = Number(/NID: (\d+)/.exec(run("dump.erofs", [`--path=${p}`, ref]).stdout)![1]);
        for (let i = 0; i < 4; i++) masked.add(nid * 32 + 20 + i);
      }
      const diffs: number[] = [];
      for (let i = 0; i < a.length && diffs.length < 10; i++) if (a[i] !== b[i] && !masked.has(i)) diffs.push(i);
      assert.deepEqual(diffs, [], `${ours}: bytes differ from mkfs.erofs at these offsets`);
    }
  } finally {
    removeDir(work);
  }
});
