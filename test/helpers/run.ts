/** Spawn helper for tests. */
import { spawnSync } from "node:child_process";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** do not throw on a non-zero exit */
  allowFail?: boolean;
  input?: string | Buffer;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs a command synchronously; throws (with stderr) on a non-zero exit unless allowFail. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(cmd, args, {
    input: opts.input,
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 1 << 28,
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  const res = { code: r.status ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  if (res.code !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${res.code}${r.signal ? ` (${r.signal})` : ""}: ${res.stderr.trim() || res.stdout.trim()}`);
  }
  return res;
}

const commandCache = new Map<string, boolean>();
export function hasCommand(cmd: string): boolean {
  let ok = commandCache.get(cmd);
  if (ok === undefined) commandCache.set(cmd, (ok = spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0));
  return ok;
}

export function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}
