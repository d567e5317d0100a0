/**
 * Which kernel a build is for: its version, its initramfs, its config, its installed modules.
 * Discovery looks where Debian (initramfs-tools) and Fedora (dracut) put them; the parsing is pure.
 */
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { UsageError } from "../errors.js";

/** What `uname -r` says: the default kernel version. */
export function runningKernel(): string {
  return release();
}

/** A kernel version becomes a path component and a file name: no slashes, no surprises. */
export function checkKver(kver: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+~-]*$/.test(kver) || kver.length > 128) {
    throw new UsageError(`--kver: not a kernel version: ${JSON.stringify(kver)}`);
  }
  return kver;
}

/** The initramfs files a distribution keeps for `kver`, in the order they are tried. */
export function initramfsCandidates(kver: string, bootDir = "/boot"): string[] {
  return [`${bootDir}/initrd.img-${kver}`, `${bootDir}/initramfs-${kver}.img`];
}

export function findInitramfs(kver: string, bootDir = "/boot"): string {
  const c = initramfsCandidates(kver, bootDir);
  const found = c.find((p) => existsSync(p));
  if (!found) throw new UsageError(`no initramfs for kernel ${kver} (looked for ${c.join(", ")}): name one with --initramfs`);
  return found;
}

/** Where the kernel's build config is installed: /boot on Debian, the modules dir on Fedora. */
export function kernelConfigCandidates(kver: string): string[] {
  return [`/boot/config-${kver}`, `/lib/modules/${kver}/config`, `/usr/lib/modules/${kver}/config`];
}

export function findKernelConfig(kver: string): string | undefined {
  return kernelConfigCandidates(kver).find((p) => existsSync(p));
}

/** The host's modules for `kver`: where modules the initramfs lacks (erofs, overlay) come from. */
export function findModulesDir(kver: string): string | undefined {
  return [`/lib/modules/${kver}`, `/usr/lib/modules/${kver}`].find((p) => existsSync(`${p}/modules.dep`));
}

/** A parsed kernel .config: CONFIG_X → "y", "m", "n" (from "# ... is not set"), or the unquoted string. */
export interface KernelConfig {
  source: string;
  options: Map<string, string>;
}

export function parseKernelConfig(text: string, source = "kernel config"): KernelConfig {
  const options = new Map<string, string>();
  for (const line of text.split("\n")) {
    let m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) {
      const v = m[2].trim();
      options.set(m[1], v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, "$1") : v);
      continue;
    }
    m = /^# (CONFIG_[A-Za-z0-9_]+) is not set/.exec(line);
    if (m) options.set(m[1], "n");
  }
  return { source, options };
}

export function readKernelConfig(path: string): KernelConfig {
  return parseKernelConfig(readFileSync(path, "utf8"), path);
}

/** Whether release `kver` ("6.1.0-57-amd64") is `major.minor` or later; undefined when it does not start with its numbers. */
export function kernelAtLeast(kver: string, major: number, minor: number): boolean | undefined {
  const m = /^(\d+)\.(\d+)(?:[.+~_-]|$)/.exec(kver);
  if (!m) return undefined;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/** Whether a bool/tristate option is built in; a missing option is off, as in Kconfig. */
export function configIsY(config: KernelConfig, name: string): boolean {
  return config.options.get(name) === "y";
}
