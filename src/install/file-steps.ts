/**
 * The file operations install and uninstall do in /boot, each one a fault-injection step and each
 * followed by the fsyncs that make it durable: data before rename, directory after rename/unlink.
 * Temp files are named `.<target name>.<pid>.<time>.tmp` next to the target (as writeFileAtomic
 * does), so a run killed half-way leaves only names that `removeTemps` recognises.
 */
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsyncDir } from "../io/atomic-file.js";
import { step } from "./fault.js";

const CHUNK = 4 << 20;

function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`);
}

/**
 * Copies `source` to `target` (permission bits `mode`) through a temp file: the target appears
 * complete or not at all. `beforeRename` may refuse (throw) at the last moment.
 */
export function copyInto(source: string, target: string, what: string, mode: number, beforeRename?: () => void): void {
  const tmp = tempName(target);
  const inFd = openSync(source, "r");
  let out: number | undefined;
  let ok = false;
  try {
    out = openSync(tmp, "wx", mode);
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = 0;
    for (;;) {
      const n = readSync(inFd, buf, 0, CHUNK, pos);
      if (n === 0) break;
      let done = 0;
      while (done < n) done += writeSync(out, buf, done, n - done, pos + done);
      pos += n;
      step(`write ${what} (${pos} bytes so far)`);
    }
    step(`fsync ${what}`);
    fsyncSync(out);
    closeSync(out);
    out = undefined;
    beforeRename?.();
    step(`rename ${what} into place`);
    renameSync(tmp, target);
    ok = true;
    step(`fsync directory after ${what}`);
    fsyncDir(dirname(target));
  } finally {
    closeSync(inFd);
    if (out !== undefined) closeSync(out);
    if (!ok) rmSync(tmp, { force: true });
  }
}

/**
 * Gives `target` the content of `source` while `source` stays: a hard link (no space, no copy)
 * where the filesystem has them, else a copy. Both through a temp name and a rename.
 */
export function duplicateInto(source: string, target: string, what: string, canLink: boolean, mode: number): void {
  // already the same file (a run killed after this step): rename(2) of one hard link over another
  // of the same inode does nothing and would leave the temp name behind
  if (sameInode(source, target)) return;
  if (!canLink) return copyInto(source, target, what, mode);
  const tmp = tempName(target);
  step(`link ${what}`);
  try {
    linkSync(source, tmp);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EPERM" || code === "EOPNOTSUPP" || code === "ENOSYS" || code === "EMLINK") return copyInto(source, target, what, mode);
    throw e;
  }
  try {
    step(`rename ${what} into place`);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  step(`fsync directory after ${what}`);
  fsyncDir(dirname(target));
}

function sameInode(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** rename(2) then a directory fsync: `target` switches from its old to its new content at once. */
export function renameInto(source: string, target: string, what: string, beforeRename?: () => void): void {
  beforeRename?.();
  step(`rename ${what}`);
  renameSync(source, target);
  step(`fsync directory after ${what}`);
  fsyncDir(dirname(target));
}

export function removeFiles(paths: string[], what: string): void {
  const present = paths.filter((p) => existsSync(p));
  for (const p of present) {
    step(`unlink ${what}: ${basename(p)}`);
    unlinkSync(p);
  }
  if (!present.length) return;
  const dirs = new Set(present.map((p) => dirname(p)));
  for (const d of dirs) {
    step(`fsync directory after removing ${what}`);
    fsyncDir(d);
  }
}

/** Temp files a killed run left next to `targets` (only names our temp scheme makes). */
export function leftoverTemps(dir: string, targetNames: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const m = /^\.(.+)\.\d+\.[0-9a-z]+\.tmp$/.exec(n);
    if (m && targetNames(m[1])) out.push(join(dir, n));
  }
  return out;
}

