/**
 * Asks blkid on the build machine which filesystem the boot device has. Only for UUID=, LABEL=,
 * PARTUUID= and PARTLABEL= specs, which name one filesystem wherever it is; a /dev/ path on the
 * build machine may be a different device from the one on the machine being built for.
 */
import { spawnSync } from "node:child_process";

export function probeBootFstype(spec: string): string | undefined {
  if (!/^(UUID|LABEL|PARTUUID|PARTLABEL)=/.test(spec)) return undefined;
  const r = spawnSync("blkid", ["-o", "value", "-s", "TYPE", "-t", spec], { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) return undefined;
  const type = r.stdout.trim().split("\n")[0];
  return type || undefined;
}
