/**
 * Writes a file so that it appears complete or not at all: a temp file next to the target,
 * fsync, rename, fsync of the directory. On any error the temp file is removed.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface PositionalWriter {
  write(offset: number, bytes: Uint8Array): void;
}

export function writeFileAtomic<T>(target: string, body: (w: PositionalWriter) => T, opts: { size?: (r: T) => number; mode?: number } = {}): T {
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const fd = openSync(tmp, "wx", opts.mode ?? 0o644);
  let ok = false;
  try {
    const result = body({
      write(offset, bytes) {
        let done = 0;
        while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
      },
    });
    if (opts.size) ftruncateSync(fd, opts.size(result));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
    ok = true;
    fsyncDir(dir);
    return result;
  } finally {
    if (!ok) {
      try { closeSync(fd); } catch { /* already closed */ }
      rmSync(tmp, { force: true });
    }
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try { fsyncSync(fd); } finally { closeSync(fd); }
}
