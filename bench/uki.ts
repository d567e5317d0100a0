/**
 * The UKI chain next to the -kernel/-initrd chain: the same kernel, the same mini initramfs
 * (built with --boot esp) and the same image on the same ESP. UKI: OVMF starts EFI/BOOT/BOOTX64.EFI
 * (systemd-stub), storage-init finds the ESP through LoaderDevicePartUUID. -kernel: QEMU loads
 * kernel and initramfs itself (no firmware), the ESP named on the command line
 * (initoverlayfs.boot=PARTUUID=...). Reports wall time (QEMU start to power-off), the guest's
 * uptime when the real root's init starts, and the medians. Also boots the kernel's own EFI stub
 * under OVMF (-kernel with UEFI firmware) once: what storage-init says when no systemd-stub set
 * the variable.
 *
 *   node dist/bench/uki.js [--runs N] [--console]
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { buildPair } from "../src/pipeline/build.js";
import { writeUki } from "../src/pipeline/uki.js";
import { makeTempDir, removeDir } from "../test/helpers/tmp.js";
import { boot, BootResult, KVER, makeEspDisk, makeRootDisk, OVMF_VARS, rootReport, STOCK_INITRD, tail, VMLINUZ } from "../test/boot/vm.js";
import { median } from "./common.js";
import { benchArgs } from "./args.js";

const args = benchArgs(import.meta.url, { runs: "N", console: true });
const runs = args.number("runs", 3, { min: 1, integer: true });
const showConsole = args.flag("console");
const PARTUUID = "e5b0e5b0-0000-4000-8000-000000000e5b";

const work = makeTempDir("iofs-bench-uki-");
try {
  const root = makeRootDisk(work);
  const pair = await buildPair({ initramfs: STOCK_INITRD, kver: KVER, boot: "esp", outputDir: join(work, "out") });
  const uki = writeUki({ kernel: VMLINUZ, initrd: pair.mini.path, cmdline: "console=ttyS0 root=/dev/vda rw panic=-1", output: join(work, "BOOTX64.EFI") });
  const esp = makeEspDisk(work, { "EFI/BOOT/BOOTX64.EFI": uki.path, [`initoverlayfs-${KVER}.img`]: pair.image.path }, PARTUUID);
  const vars = () => {
    const p = join(work, "vars.fd");
    copyFileSync(OVMF_VARS, p);
    return p;
  };
  // the kernel's "Run /init" line is printed as it happens: its wall time minus its timestamp is when the kernel started
  const marks = { init: /\[\s*[\d.]+\] Run \/init as init process/ };
  const sample = (what: string, r: BootResult) => {
    const rep = rootReport(r.console);
    if (showConsole) console.log(r.console);
    if (!rep.reached || r.timedOut) throw new Error(`${what}: did not reach the root\n${tail(r.console)}`);
    const initAt = Number(/\[\s*([\d.]+)\] Run \/init as init process/.exec(r.console)![1]);
    const kernelStart = r.markSeconds.init - initAt;
    console.log(`${what}: kernel started ${kernelStart.toFixed(1)} s after QEMU, root reached ${rep.uptime} s later, wall ${r.wallSeconds.toFixed(1)} s`);
    return { wall: r.wallSeconds, uptime: rep.uptime!, kernelStart };
  };
  type S = { wall: number; uptime: number; kernelStart: number };
  const chains = { uki: [] as S[], kernel: [] as S[] };
  for (let n = 0; n < runs; n++) {
    chains.uki.push(sample("UKI (OVMF, systemd-stub)", await boot({ uefi: { vars: vars() }, disks: [root, esp], timeoutSeconds: 300, marks })));
    chains.kernel.push(sample("-kernel/-initrd", await boot({ initrd: pair.mini.path, disks: [root, esp], append: `initoverlayfs.boot=PARTUUID=${PARTUUID}`, timeoutSeconds: 300, marks })));
  }
  const stubOnly = await boot({ uefi: { vars: vars() }, initrd: pair.mini.path, disks: [root, esp], timeoutSeconds: 300 });
  const line = /initoverlayfs: (FAILED[^\n]*|boot = esp[^\n]*)/.exec(stubOnly.console);
  console.log(`\nthe kernel's own EFI stub under OVMF (no systemd-stub): ${line ? line[1] : "no storage-init line\n" + tail(stubOnly.console)}`);
  console.log(`\nmedians of ${runs} (same kernel ${KVER}, same mini initramfs ${pair.mini.bytes} B, same image on the same ESP):`);
  for (const [name, xs] of Object.entries(chains)) {
    const m = (f: (x: S) => number) => median(xs.map(f)).toFixed(1);
    console.log(`  ${name.padEnd(7)} kernel started ${m((x) => x.kernelStart)} s after QEMU, root at uptime ${m((x) => x.uptime)} s, wall ${m((x) => x.wall)} s`);
  }
  console.log(`  UKI size ${uki.bytes} B`);
} finally {
  removeDir(work);
}
