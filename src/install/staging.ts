/**
 * Where install builds the pair before anything goes to /boot: a fresh directory made by
 * mkdtemp (a name nobody can guess, mode 0700) in $TMPDIR, outside /boot so that /boot's free
 * space is checked before anything is written there. Directories of killed runs are removed
 * only when they are provably ours: a real directory (lstat, not a symlink), owned by our uid,
 * mode 0700, named with a pid that is gone, in a directory others cannot rename entries of
 * (sticky or not world-writable). Clean-up never fails a run: it warns.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InitoverlayfsError } from "../errors.js";

const PREFIX = "initoverlayfs-install-";

export function makeStaging(): string {
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  if (!isOurs(dir)) throw new InitoverlayfsError(`${dir}: the staging directory is not a 0700 directory of ours`);
  return dir;
}

/** Removes a staging directory; a failure is a warning, never the run's result. */
export function removeStaging(dir: string, log?: (line: string) => void): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    log?.(`warning: could not remove the staging directory ${dir}: ${(e as Error).message}`);
  }
}

function isOurs(path: string): boolean {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return !!st && st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o7777) === 0o700;
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Staging directories of killed runs: the pair they built. */
export function removeStaleStaging(log?: (line: string) => void): void {
  const base = tmpdir();
  try {
    const st = lstatSync(base);
    // a world-writable directory without the sticky bit lets anyone swap an entry after our checks
    if (st.mode & 0o002 && !(st.mode & 0o1000)) return;
    for (const n of readdirSync(base)) {
      const pid = n.startsWith(PREFIX) ? Number(/^(\d+)-/.exec(n.slice(PREFIX.length))?.[1]) : NaN;
      if (!Number.isInteger(pid) || pid === process.pid || !isGone(pid) || !isOurs(join(base, n))) continue;
      removeStaging(join(base, n), log);
    }
  } catch (e) {
    log?.(`warning: could not look for stale staging directories in ${base}: ${(e as Error).message}`);
  }
}
