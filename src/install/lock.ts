/**
 * One install/uninstall at a time per boot directory (two kernel updates at once). flock(2) on
 * BOOT/.initoverlayfs.lock, taken by util-linux flock(1) on a descriptor we pass it: flock locks
 * belong to the open file, which stays open in this process after flock(1) exits, so the lock is
 * held until we close it, and the kernel drops it when the process dies, even by SIGKILL.
 */
import { spawnSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { join } from "node:path";
import { InitoverlayfsError } from "../errors.js";

export const LOCK_NAME = ".initoverlayfs.lock";

export function lockBootDir(bootDir: string, timeoutSeconds: number, onWait?: () => void): () => void {
  const path = join(bootDir, LOCK_NAME);
  // O_NOFOLLOW: a symlink planted here (under --root) must not make us open another file
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const attempt = (wait: number) => spawnSync("flock", ["-x", "-w", String(wait), "3"], { stdio: ["ignore", "ignore", "pipe", fd] });
  let r = attempt(0);
  if (r.status !== 0 && !r.error) {
    onWait?.();
    r = attempt(timeoutSeconds);
  }
  if (r.error || r.status !== 0) {
    closeSync(fd);
    if (r.error) throw new InitoverlayfsError(`flock (util-linux) could not run: ${r.error.message}`);
    throw new InitoverlayfsError(`${path}: another initoverlayfs run still holds the lock after ${timeoutSeconds} s`);
  }
  return () => closeSync(fd);
}
