/** Asks blkid on the build machine which filesystem the boot device has, when it can see it. */
import { spawnSync } from "node:child_process";

export function probeBootFstype(spec: string): string | undefined {
  const args = spec.startsWith("/dev/") ? ["-o", "value", "-s", "TYPE", spec] : ["-o", "value", "-s", "TYPE", "-t", spec];
  const r = spawnSync("blkid", args, { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) return undefined;
  const type = r.stdout.trim().split("\n")[0];
  return type || undefined;
}
