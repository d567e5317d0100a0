/**
 * Fault injection for the crash tests: every step that changes /boot (write, fsync, rename, link,
 * unlink) passes through `step(name)`. INITOVERLAYFS_FAULT_LOG=FILE appends each step's name to
 * FILE (a dry run enumerates the steps); INITOVERLAYFS_FAULT_AT=N makes the process SIGKILL itself
 * when it reaches step N (1-based), exactly as a power cut or an OOM kill would stop it;
 * INITOVERLAYFS_FAULT_PAUSE=N makes it SIGSTOP itself there (a test then races it, and SIGCONTs).
 */
import { appendFileSync } from "node:fs";

let count = 0;

export function step(name: string): void {
  count++;
  const log = process.env.INITOVERLAYFS_FAULT_LOG;
  if (log) appendFileSync(log, `${count} ${name}\n`);
  const at = process.env.INITOVERLAYFS_FAULT_AT;
  if (at !== undefined && Number(at) === count) process.kill(process.pid, "SIGKILL");
  const pause = process.env.INITOVERLAYFS_FAULT_PAUSE;
  if (pause !== undefined && Number(pause) === count) process.kill(process.pid, "SIGSTOP");
}
