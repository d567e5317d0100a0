/**
 * Which partition holds the root's /boot, as storage-init will look for it (UUID=...), and the
 * path of /boot inside that partition ("" when /boot is its own partition, "/boot" when it is a
 * directory of the root filesystem). Asks findmnt and blkid (util-linux).
 */
import { spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { relative } from "node:path";
import { InitoverlayfsError } from "../errors.js";

export interface BootPartition {
  /** UUID=... when blkid knows one */
  spec?: string;
  fstype?: string;
  source?: string;
  mountPoint?: string;
  /** /boot's path inside the partition: "" or "/boot" */
  prefix: string;
}

function tool(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") throw new InitoverlayfsError(`${cmd} not found (util-linux): it is needed to find the boot partition`);
  return r.status === 0 ? r.stdout : undefined;
}

export function findBootPartition(bootDir: string): BootPartition {
  const real = realpathSync(bootDir);
  const out = tool("findmnt", ["-n", "-J", "-o", "TARGET,SOURCE,FSTYPE", "--target", real]);
  const fs = out ? (JSON.parse(out).filesystems?.[0] as { target: string; source: string; fstype: string } | undefined) : undefined;
  if (!fs) return { prefix: "" };
  const rel = relative(realpathSync(fs.target), real);
  const prefix = rel === "" ? "" : "/" + rel;
  let spec: string | undefined;
  if (fs.source.startsWith("/dev/")) {
    const id = tool("blkid", ["-o", "export", fs.source]);
    const uuid = id && /^UUID=(.+)$/m.exec(id)?.[1];
    if (uuid) spec = `UUID=${uuid}`;
  }
  return { spec, fstype: fs.fstype, source: fs.source, mountPoint: fs.target, prefix };
}
