/**
 * Ground-truth checks of an image we wrote, independent of our reader: the kernel's loop mount
 * and fsck.erofs (plain, and --extract) must each show exactly the expected directory.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { diffTrees, DiffOptions } from "../../src/fs/compare.js";
import { readDirTree } from "../../src/io/dir-reader.js";
import { withLoopMount } from "./mount.js";
import { run } from "./run.js";
import { removeDir } from "./tmp.js";

/** "path: perm: 04755 != 00755" where only the setuid/setgid bits are gone */
function isOnlySetidLoss(diff: string): boolean {
  const m = / perm: 0([0-7]+) != 0([0-7]+)$/.exec(diff);
  return !!m && (parseInt(m[1], 8) & ~0o6000) === parseInt(m[2], 8);
}

export async function checkAgainstKernelAndFsck(image: string, expected: string, work: string, opts: DiffOptions, what: string): Promise<void> {
  const want = readDirTree(expected);
  await withLoopMount(image, (mnt) => {
    assert.deepEqual(diffTrees(want, readDirTree(mnt), opts), [], `${what}: kernel mount differs from the source`);
  });
  const f = run("fsck.erofs", [image], { allowFail: true });
  assert.equal(f.code, 0, `${what}: fsck.erofs: ${f.stdout}${f.stderr}`);
  const out = join(work, `fsck-extract-${Math.random().toString(36).slice(2)}`);
  try {
    const fx = run("fsck.erofs", [`--extract=${out}`, image], { allowFail: true });
    assert.equal(fx.code, 0, `${what}: fsck.erofs --extract: ${fx.stdout}${fx.stderr}`);
    // fsck.erofs 1.5 --extract makes no hard links, restores no times of dirs and symlinks, and
    // chowns after chmod (clearing setuid/setgid): compare the rest
    const diffs = diffTrees(want, readDirTree(out), { ...opts, hardLinks: false, ignoreMtimeOf: ["symlink", "dir"] })
      .filter((d) => !isOnlySetidLoss(d));
    assert.deepEqual(diffs, [], `${what}: fsck.erofs --extract differs`);
  } finally {
    removeDir(out);
  }
}

/** dump.erofs's view of one file: its data layout number and on-disk size. */
export function dumpLayout(image: string, path: string): { layout: number; onDisk: number } {
  const r = run("dump.erofs", [`--path=${path}`, image]);
  const layout = /Layout: (\d+)/.exec(r.stdout);
  const onDisk = /On-disk size: (\d+)/.exec(r.stdout);
  assert.ok(layout && onDisk, `dump.erofs --path=${path}: unexpected output: ${r.stdout}`);
  return { layout: Number(layout[1]), onDisk: Number(onDisk[1]) };
}
