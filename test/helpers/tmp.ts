/** Temporary directories with cleanup. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export function makeTempDir(prefix = "iofs-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs fn with a fresh temp dir, removed afterwards even when fn throws. */
export async function withTempDir<T>(fn: (dir: string) => T | Promise<T>, prefix?: string): Promise<T> {
  const dir = makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    removeDir(dir);
  }
}
