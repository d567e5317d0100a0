/**
 * Debian's arm64 kernel and its stock initramfs for the arm64 boot tests: made once by
 * scripts/arm64-kernel.sh (a minimal arm64 Debian root under qemu-user in which the kernel
 * package's postinst runs initramfs-tools), then taken from its cache.
 */
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface Arm64Kernel {
  kver: string;
  /** the kernel Image, as Debian ships it (uncompressed on arm64): QEMU's -kernel loads it */
  vmlinuz: string;
  /** the stock initramfs initramfs-tools made for it */
  initrd: string;
  /** static arm64 busybox (busybox-static), for the test root */
  busybox: string;
  /** the kernel's modules directory, /lib/modules/<kver> of the arm64 root */
  modulesDir: string;
  /** the kernel's .config, /boot/config-<kver> of the arm64 root */
  config: string;
}

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "../../../scripts/arm64-kernel.sh");
let made: Arm64Kernel | undefined;

/** Makes (first time: a few minutes, network) or finds the arm64 kernel; throws with the script's output. */
export function arm64Kernel(): Arm64Kernel {
  if (made) return made;
  const r = spawnSync("bash", [SCRIPT], { encoding: "utf8", timeout: 20 * 60 * 1000 });
  if (r.status !== 0) throw new Error(`scripts/arm64-kernel.sh failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const dir = r.stdout.trim().split("\n").pop()!;
  const kver = dir.split("/").pop()!;
  const k: Arm64Kernel = {
    kver,
    vmlinuz: realpathSync(join(dir, "vmlinuz")),
    initrd: realpathSync(join(dir, "initrd.img")),
    busybox: realpathSync(join(dir, "busybox")),
    modulesDir: join(dir, "root/lib/modules", kver),
    config: join(dir, "root/boot", `config-${kver}`),
  };
  for (const p of Object.values(k).slice(1)) if (!existsSync(p)) throw new Error(`scripts/arm64-kernel.sh: ${p} is missing`);
  return (made = k);
}
