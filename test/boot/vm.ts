/**
 * Booting real kernels in QEMU (TCG: /dev/kvm does not work on these machines) with disks the
 * tests make: a root disk whose init reports what the tests check, and a boot disk.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, chmodSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KVER } from "../helpers/kernel.js";
import { ROOT_INIT, rootReport, tail } from "./root-report.js";

export { KVER };
export { ROOT_INIT, rootReport, tail };
export const VMLINUZ = `/boot/vmlinuz-${KVER}`;
export const STOCK_INITRD = `/boot/initrd.img-${KVER}`;

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.stdout}`);
}


/**
 * An ext4 root disk made from a directory (mkfs.ext4 -d: no mount needed). `init` replaces the
 * reporting init; `files` (path in the root → host file) are copied in, executable (parent
 * directories made); `uuid` fixes the filesystem UUID (a boot spec can then name the root). The
 * disk is 64 MiB plus what `files` hold (btrfs: 160 MiB, mkfs.btrfs --rootdir, its smallest
 * usual size).
 */
export function makeRootDisk(work: string, o: { name?: string; init?: string; files?: Record<string, string>; uuid?: string; /** a static busybox for the guest's architecture (default the host's) */ busybox?: string; fstype?: "ext4" | "btrfs" } = {}): string {
  const name = o.name ?? "root";
  const dir = join(work, `${name}dir`);
  for (const d of ["bin", "sbin", "proc", "sys", "dev", "run", "tmp", "boot", "root"]) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(o.busybox ?? "/usr/bin/busybox", join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  writeFileSync(join(dir, "sbin/init"), o.init ?? ROOT_INIT, { mode: 0o755 });
  let extra = 0;
  for (const [p, from] of Object.entries(o.files ?? {})) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    copyFileSync(from, join(dir, p));
    chmodSync(join(dir, p), 0o755);
    extra += statSync(from).size;
  }
  // systemd's switch-root refuses a root without os-release
  mkdirSync(join(dir, "etc"), { recursive: true });
  writeFileSync(join(dir, "etc/os-release"), 'ID=initoverlayfs-test-root\nNAME="initoverlayfs test root"\n');
  const img = join(work, `${name}.img`);
  sh("truncate", ["-s", `${(o.fstype === "btrfs" ? 160 : 64) + Math.ceil(extra * 1.1 / (1 << 20))}M`, img]);
  if (o.fstype === "btrfs") sh("mkfs.btrfs", ["-q", "-f", "-L", "testroot", ...(o.uuid ? ["-U", o.uuid] : []), "--rootdir", dir, img]);
  else sh("mkfs.ext4", ["-q", "-F", "-L", "testroot", ...(o.uuid ? ["-U", o.uuid] : []), "-d", dir, img]);
  return img;
}

/**
 * A host program and the shared libraries `ldd` lists for it, as `files` for makeRootDisk:
 * path in the root → host path (the libraries at the paths ldd prints, which the loader searches).
 */
export function withLibraries(program: string, at: string = program): Record<string, string> {
  const r = spawnSync("ldd", [program], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ldd ${program}: ${r.stderr}`);
  const files: Record<string, string> = { [at.replace(/^\//, "")]: program };
  for (const m of r.stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) files[m[1].replace(/^\//, "")] = m[1];
  return files;
}

/** A boot partition holding `files` (name → path), ext4 or vfat. */
export function makeBootDisk(
  work: string, fs: "ext4" | "vfat", files: Record<string, string>,
  id: { uuid?: string; label?: string; /** file name suffix, to make several */ tag?: string; /** mkfs.ext4 -O */ features?: string } = {},
): string {
  const img = join(work, `boot-${fs}${id.tag ?? ""}.img`);
  const total = Object.values(files).reduce((s, p) => s + statSync(p).size, 0);
  const mib = Math.ceil(total / (1 << 20)) + 48;
  if (fs === "ext4") {
    const dir = join(work, `bootdir-ext4${id.tag ?? ""}`);
    mkdirSync(dir, { recursive: true });
    for (const [name, p] of Object.entries(files)) copyFileSync(p, join(dir, name));
    sh("truncate", ["-s", `${mib}M`, img]);
    // 4 KiB blocks, as on real /boot partitions (mkfs picks 1 KiB below 512 MB; fs-verity needs page-sized blocks)
    sh("mkfs.ext4", ["-q", "-F", "-b", "4096", ...(id.features ? ["-O", id.features] : []), ...(id.uuid ? ["-U", id.uuid] : []), ...(id.label ? ["-L", id.label] : []), "-d", dir, img]);
  } else {
    sh("truncate", ["-s", `${mib}M`, img]);
    sh("mkfs.vfat", [...(id.uuid ? ["-i", id.uuid.replace("-", "")] : []), ...(id.label ? ["-n", id.label] : []), img]);
    for (const [name, p] of Object.entries(files)) sh("mcopy", ["-i", img, p, `::/${name}`]);
  }
  return img;
}

/** A GPT partition for makeGptDisk: a filesystem image, written into it as it is. */
export interface GptPartition {
  image: string;
  /** the partition type GUID */
  type: string;
  partuuid: string;
  name: string;
}

/**
 * A GPT disk holding each image in a partition of its own, in order, each at a MiB boundary and
 * a whole number of MiB long, as partitioning tools lay out a real disk (1 MiB free before the
 * first one for the protective MBR and the GPT, 1 MiB after the last for the backup GPT).
 */
export function makeGptDisk(work: string, name: string, parts: readonly GptPartition[]): string {
  const disk = join(work, `${name}.img`);
  const mibs = parts.map((p) => Math.ceil(statSync(p.image).size / (1 << 20)));
  sh("truncate", ["-s", `${mibs.reduce((a, b) => a + b, 2)}M`, disk]);
  let start = 1;
  const table = ["label: gpt"];
  for (const [i, p] of parts.entries()) {
    table.push(`start=${start * 2048}, size=${mibs[i] * 2048}, type=${p.type}, uuid=${p.partuuid}, name="${p.name}"`);
    start += mibs[i];
  }
  const r = spawnSync("sfdisk", ["--quiet", disk], { encoding: "utf8", input: table.join("\n") + "\n" });
  if (r.status !== 0) throw new Error(`sfdisk ${disk}: ${r.stderr}`);
  start = 1;
  for (const [i, p] of parts.entries()) {
    sh("dd", [`if=${p.image}`, `of=${disk}`, "bs=1M", `seek=${start}`, "conv=notrunc,fsync", "status=none"]);
    start += mibs[i];
  }
  return disk;
}

/** GPT type of an EFI System Partition */
export const ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
/** GPT type of a Linux filesystem (what Debian's installer gives / and /boot) */
export const LINUX_FS_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

/**
 * A GPT disk with one EFI System Partition (PARTUUID `partuuid`) holding `files` (path on the
 * ESP, e.g. EFI/BOOT/BOOTX64.EFI → host file): the FAT filesystem is made and filled apart
 * (mkfs.vfat, mmd, mcopy: no mount), then written into the partition at 1 MiB.
 */
export function makeEspDisk(work: string, files: Record<string, string>, partuuid: string, tag = ""): string {
  const fat = join(work, `esp${tag}.fat`);
  const total = Object.values(files).reduce((s, p) => s + statSync(p).size, 0);
  const mib = Math.ceil(total / (1 << 20)) + 48;
  sh("truncate", ["-s", `${mib}M`, fat]);
  sh("mkfs.vfat", ["-n", "ESP", fat]);
  const dirs = new Set<string>();
  for (const name of Object.keys(files)) {
    const parts = name.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  for (const d of [...dirs].sort()) sh("mmd", ["-i", fat, `::/${d}`]);
  for (const [name, p] of Object.entries(files)) sh("mcopy", ["-i", fat, p, `::/${name}`]);
  return makeGptDisk(work, `esp${tag}`, [{ image: fat, type: ESP_TYPE, partuuid, name: "EFI System" }]);
}

/**
 * An SD card holding the filesystem image `fs` in its one partition (MBR, at 1 MiB, type 0x0c
 * for vfat, 0x83 else), as boards boot from. QEMU's sd-card takes only power-of-two sizes: the
 * card is the next one that fits.
 */
export function makeSdCard(work: string, fs: string, type: "vfat" | "ext4", tag = ""): string {
  const card = join(work, `sd${tag}.img`);
  const fsBytes = statSync(fs).size;
  let bytes = 1 << 20;
  while (bytes < fsBytes + (2 << 20)) bytes *= 2;
  sh("truncate", ["-s", String(bytes), card]);
  const r = spawnSync("sfdisk", ["--quiet", card], { encoding: "utf8", input: `label: dos\nstart=2048, size=${Math.ceil(fsBytes / 512)}, type=${type === "vfat" ? "c" : "83"}\n` });
  if (r.status !== 0) throw new Error(`sfdisk ${card}: ${r.stderr}`);
  sh("dd", [`if=${fs}`, `of=${card}`, "bs=1M", "seek=1", "conv=notrunc,fsync", "status=none"]);
  return card;
}

export interface BootResult {
  console: string;
  timedOut: boolean;
  wallSeconds: number;
  exitCode: number | null;
  /** BootOptions.marks that showed up, in wall seconds */
  markSeconds: Record<string, number>;
}

/** UEFI firmware for x86-64 VMs (Debian's ovmf): the code, and the variable store each VM copies. */
export const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
export const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/** The guest architectures the boot tests run: x86-64 on QEMU's PC, arm64 on its virt board. */
export type Arch = "x86-64" | "arm64";

const MACHINE: Readonly<Record<Arch, { qemu: string; args: string[]; cpu?: string; console: string }>> = {
  "x86-64": { qemu: "qemu-system-x86_64", args: [], console: "ttyS0" },
  // the virt board has no firmware tables to probe and PCI for virtio and SDHCI; cortex-a72: TCG
  // emulates "max"'s pointer authentication at a high cost
  arm64: { qemu: "qemu-system-aarch64", args: ["-M", "virt"], cpu: "cortex-a72", console: "ttyAMA0" },
};

export interface BootOptions {
  /** the guest's architecture (default x86-64); arm64 needs `kernel` */
  arch?: Arch;
  /** the kernel for -kernel (default the host's Debian kernel, VMLINUZ) */
  kernel?: string;
  /** disks on emulated SD cards, each behind its own SDHCI controller (PCI), after the virtio disks */
  sdCards?: string[];
  /** the initramfs for -kernel (QEMU's loader, or the kernel's EFI stub under `uefi`); without it the firmware starts what the disks hold */
  initrd?: string;
  /** boot through UEFI firmware (OVMF) with this writable copy of its variable store */
  uefi?: { vars: string };
  disks: string[];
  /**
   * how `disks` attach (x86-64): virtio (default; /dev/vda, vdb, ...), nvme (a controller each,
   * /dev/nvme0n1, nvme1n1, ...) or sata (ports of the q35 board's AHCI controller, /dev/sda, ...)
   */
  diskBus?: "virtio" | "nvme" | "sata";
  append?: string;
  timeoutSeconds?: number;
  /** extra -drive options per disk, e.g. read throttling */
  driveOptions?: string;
  /**
   * QEMU's machine type on x86-64 (-M; default QEMU's `pc`, the i440FX board, whose PCI devices
   * interrupt through ACPI link devices; `q35` is PCI Express with MSI-X, as current hardware)
   */
  machine?: string;
  /** QEMU's -cpu model; default qemu64 on x86-64 (no SSSE3/AVX: the kernel's generic code paths), cortex-a72 on arm64 */
  cpu?: string;
  /**
   * QEMU's instruction-counting clock (-icount shift=0: one guest instruction is one guest ns):
   * guest timestamps then count the guest's work, not the host's load, so runs on a busy
   * machine compare; waiting for I/O still passes in real time
   */
  icount?: boolean;
  /** guest RAM, QEMU's -m (default 1024) */
  memoryMiB?: number;
  /** host wall seconds (from QEMU's start) at which the console first matched each of these */
  marks?: Record<string, RegExp>;
  /** typed on the serial console once the console shows `when` */
  input?: { when: RegExp; send: string };
}

/** QEMU's arguments for disk `i` on `bus`. */
function diskArgs(bus: "virtio" | "nvme" | "sata", file: string, i: number, driveOptions: string): string[] {
  if (bus === "virtio") return ["-drive", `file=${file},format=raw,if=virtio${driveOptions}`];
  const drive = ["-drive", `id=disk${i},file=${file},format=raw,if=none${driveOptions}`];
  return bus === "nvme" ? [...drive, "-device", `nvme,drive=disk${i},serial=iofs${i}`] : [...drive, "-device", `ide-hd,drive=disk${i},bus=ide.${i}`];
}

/** Boots and returns the console; the VM has a hard time limit and is killed past it. */
export function boot(o: BootOptions): Promise<BootResult> {
  const arch = o.arch ?? "x86-64";
  const m = MACHINE[arch];
  if (arch !== "x86-64" && (o.kernel === undefined || o.uefi)) throw new Error(`boot: ${arch} needs a kernel and has no UEFI firmware here`);
  if (arch !== "x86-64" && (o.machine || (o.diskBus ?? "virtio") !== "virtio")) throw new Error(`boot: ${arch} runs on its one board with virtio disks`);
  if (o.diskBus === "sata" && o.machine !== "q35") throw new Error("boot: SATA disks need the q35 board (its AHCI controller)");
  const args = [
    ...m.args, ...(o.machine ? ["-M", o.machine] : []), "-accel", "tcg", ...(o.cpu ?? m.cpu ? ["-cpu", (o.cpu ?? m.cpu)!] : []), ...(o.icount ? ["-icount", "shift=0,sleep=on"] : []), "-m", String(o.memoryMiB ?? 1024), "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
    ...o.disks.flatMap((d, i) => diskArgs(o.diskBus ?? "virtio", d, i, o.driveOptions ?? "")),
    ...(o.sdCards ?? []).flatMap((d, i) => ["-drive", `id=sd${i},file=${d},format=raw,if=none${o.driveOptions ?? ""}`, "-device", "sdhci-pci", "-device", `sd-card,drive=sd${i}`]),
    ...(o.uefi ? ["-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, "-drive", `if=pflash,format=raw,unit=1,file=${o.uefi.vars}`] : []),
    // with UEFI firmware too, QEMU hands the kernel to it and it starts the kernel's own EFI stub
    ...(o.initrd !== undefined ? ["-kernel", o.kernel ?? VMLINUZ, "-initrd", o.initrd, "-append", `console=${m.console} root=/dev/vda rw panic=-1 ${o.append ?? ""}`.trim()] : []),
  ];
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const q = spawn(m.qemu, args, { stdio: [o.input ? "pipe" : "ignore", "pipe", "pipe"] });
    let out = "";
    let timedOut = false;
    let typed = false;
    const markSeconds: Record<string, number> = {};
    q.stdout!.on("data", (d) => {
      out += d.toString("latin1");
      for (const [k, re] of Object.entries(o.marks ?? {})) if (!(k in markSeconds) && re.test(out)) markSeconds[k] = (Date.now() - t0) / 1000;
      if (o.input && !typed && o.input.when.test(out)) {
        typed = true;
        // give the program a moment to reach its prompt
        setTimeout(() => q.stdin?.write(o.input!.send), 2000);
      }
    });
    q.stderr!.on("data", (d) => (out += d.toString("latin1")));
    const timer = setTimeout(() => {
      timedOut = true;
      q.kill("SIGKILL");
    }, (o.timeoutSeconds ?? 240) * 1000);
    q.on("error", reject);
    q.on("close", (code) => {
      clearTimeout(timer);
      resolve({ console: out.replace(/\r/g, ""), timedOut, wallSeconds: (Date.now() - t0) / 1000, exitCode: code, markSeconds });
    });
  });
}

/**
 * The boot reached the test root and left nothing of ours behind: no loop device holding the
 * image, no device-mapper device. Returns the root's report for further checks.
 */
export function assertReachedRoot(r: BootResult, what: string): ReturnType<typeof rootReport> {
  const rep = rootReport(r.console);
  assert.ok(!r.timedOut, `${what}: timed out\n${tail(r.console)}`);
  assert.ok(rep.reached && rep.done, `${what}: did not reach the test root\n${tail(r.console)}`);
  assertNothingLeft(r.console, what);
  return rep;
}

/**
 * No loop device holds the image and no device-mapper device is left when the test root looks
 * (it waits for the asynchronous teardown); a failure shows what still ran at the first look.
 */
export function assertNothingLeft(consoleText: string, what: string): void {
  const rep = rootReport(consoleText);
  assert.deepEqual(rep.loopsBacked, [], `${what}: a loop device still holds the image after ${rep.loopsWaited / 2} s; at the first look:\n${rep.loopWait.join("\n")}\n${tail(consoleText)}`);
  assert.deepEqual(rep.dmPresent, [], `${what}: a device-mapper device is left\n${tail(consoleText)}`);
}

/**
 * fs-verity can only be enabled by a kernel that has it (the build machines' has not): one boot
 * of the stock initramfs with a root whose init enables it on `names` of the ext4 `disk` (made
 * with -O verity) through a static helper, then powers off. Returns the console.
 */
export async function enableVerity(work: string, disk: string, names: string[]): Promise<string> {
  const tool = join(work, "fsverity-enable");
  const src = join(dirname(fileURLToPath(import.meta.url)), "../../../test/boot/tools/fsverity-enable.c");
  sh("musl-gcc", ["-static", "-Os", "-Wall", "-Werror", "-o", tool, src]);
  const init = `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t ext4 /dev/vdb /boot && /bin/fsverity-enable ${names.map((n) => `/boot/${n}`).join(" ")}
$B umount /boot
echo SETUP-DONE
$B poweroff -f
`;
  const setupRoot = makeRootDisk(work, { name: "setup-root", init, files: { "bin/fsverity-enable": tool } });
  const r = await boot({ initrd: STOCK_INITRD, disks: [setupRoot, disk], timeoutSeconds: 180 });
  if (!/^SETUP-DONE$/m.test(r.console)) throw new Error(`fs-verity setup boot did not finish:\n${tail(r.console)}`);
  return r.console;
}
