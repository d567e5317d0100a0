/**
 * Boot benchmark: Debian's stock initramfs versus the initoverlayfs pair built from it, booted
 * alternately in QEMU (TCG) with the same kernel and disks. Reports guest uptime when the real
 * root's init starts, bytes read from each disk, MemAvailable at that point, and sizes. A second
 * round models slow storage (an SD card, ~25 MB/s): the disks are read-throttled and the time a
 * boot loader would take to read each initramfs from such a card is added from its size.
 *
 * A third round boots the pair once per integrity mode (none, dm-verity, fs-verity, copy) and
 * reports what each costs against none.
 *
 * With --arch arm64, Debian's arm64 kernel and stock initramfs (scripts/arm64-kernel.sh) on QEMU's
 * virt board: the first round has /boot on a virtio disk, the second on an emulated SD card, all
 * disks throttled to --slow-bps (reads and writes: bps-total), plus the boot loader's read of the
 * initramfs at that speed; no integrity round.
 *
 * --icount runs QEMU on its instruction clock (-icount shift=0: the phases count the guest's
 * instructions, not the shared host's load), --cpu MODEL (e.g. max: AVX2; QEMU 7.2's TCG has no SHA-NI) for every boot;
 * --only-integrity skips the first two rounds.
 *
 *   node dist/bench/boot.js [--runs N] [--slow-bps N] [--no-integrity | --only-integrity] [--icount] [--cpu MODEL] [--arch arm64]
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { buildPair } from "../src/pipeline/build.js";
import { makeTempDir, removeDir } from "../test/helpers/tmp.js";
import { Arch, boot, enableVerity, KVER as HOST_KVER, makeBootDisk, makeRootDisk, makeSdCard, STOCK_INITRD as HOST_INITRD } from "../test/boot/vm.js";
import { arm64Kernel } from "../test/boot/arm64-kernel.js";
import { INTEGRITY_MODES } from "../src/formats/storage-init-config/index.js";
import { benchArgs } from "./args.js";
import { median } from "./common.js";
import { parseBootTimes } from "./root-sample.js";

const args = benchArgs(import.meta.url, { runs: "N", "slow-bps": "N", "no-integrity": true, "only-integrity": true, icount: true, cpu: "MODEL", arch: "x86-64|arm64" });
const runs = args.number("runs", 3, { min: 1, integer: true });
const slowBps = args.number("slow-bps", 25_000_000, { min: 1 });
const BOOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000001";
const arch = args.choice<Arch>("arch", ["x86-64", "arm64"]);
const a64 = arch === "arm64" ? arm64Kernel() : undefined;
const KVER = a64?.kver ?? HOST_KVER;
const STOCK_INITRD = a64?.initrd ?? HOST_INITRD;
const icount = args.flag("icount");
const cpu = args.text("cpu");
const onlyIntegrity = args.flag("only-integrity");
const noIntegrity = args.flag("no-integrity");
if (onlyIntegrity && noIntegrity) args.fail("--no-integrity and --only-integrity exclude each other");

interface Sample { uptime: number; kernelAt: number; originalInitAt: number; memAvailableKiB: number; bytesRead: Record<string, number> }

async function sample(initrd: string, disks: string[], driveOptions?: string, sdCards?: string[]): Promise<Sample> {
  const r = await boot({ initrd, disks, driveOptions, sdCards, timeoutSeconds: (a64 ? 600 : 300) * (icount ? 3 : 1), icount, cpu, ...(a64 ? { arch, kernel: a64.vmlinuz } : {}) });
  // the original init starts at storage-init's hand-over (ours) or is the first program (stock):
  // everything after it is the same program doing the same work, which isolates what we change
  const t = parseBootTimes(r.console);
  return { uptime: t.uptime, kernelAt: t.kernelAt, originalInitAt: t.originalInitAt, memAvailableKiB: t.memAvailableKiB, bytesRead: t.root.bytesRead };
}

function summarize(xs: Sample[]) {
  return {
    uptimes: xs.map((x) => x.uptime),
    medianUptime: median(xs.map((x) => x.uptime)),
    originalInitAt: xs.map((x) => x.originalInitAt),
    medianOriginalInitAt: median(xs.map((x) => x.originalInitAt)),
    /**
     * Where the time goes, medians of each phase: the kernel until it runs the initramfs's first
     * program (it unpacks the initramfs on the way), storage-init (ours only), the original init
     * until the real root's init starts.
     */
    phases: {
      kernel: median(xs.map((x) => x.kernelAt)),
      storageInit: median(xs.map((x) => x.originalInitAt - x.kernelAt)),
      originalInit: median(xs.map((x) => x.uptime - x.originalInitAt)),
    },
    medianMemAvailableMiB: median(xs.map((x) => x.memAvailableKiB)) / 1024,
    bytesRead: xs[xs.length - 1].bytesRead,
  };
}

const work = makeTempDir("iofs-bootbench-");
try {
  const pair = await buildPair({ initramfs: STOCK_INITRD, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "out"), ...(a64 ? { modulesDir: a64.modulesDir, kernelConfig: a64.config } : {}) });
  const root = makeRootDisk(work, { busybox: a64?.busybox });
  const bootDisk = makeBootDisk(work, "ext4", { [`initoverlayfs-${KVER}.img`]: pair.image.path }, { uuid: BOOT_UUID });
  const stockBytes = statSync(STOCK_INITRD).size;
  const result: Record<string, unknown> = {
    arch, kernel: KVER, runs, stockInitramfsBytes: stockBytes, miniInitramfsBytes: pair.mini.bytes,
    imageBytes: pair.image.bytes, miniRatio: pair.mini.bytes / stockBytes, modules: pair.modules.length,
    cpu: cpu ?? "qemu64", clock: icount ? "icount" : "wall",
  };
  // arm64: the boot partition on an SD card, which reads and writes at the card's speed
  const sdCard = a64 ? makeSdCard(work, bootDisk, "ext4") : undefined;
  const rounds: [string, string | undefined, boolean][] = onlyIntegrity ? [] : a64
    ? [["normal", undefined, false], ["slow", `,throttling.bps-total=${slowBps}`, true]]
    : [["normal", undefined, false], ["slow", `,throttling.bps-read=${slowBps}`, false]];
  for (const [label, drive, onSd] of rounds) {
    const stock: Sample[] = [], ours: Sample[] = [];
    const disks = onSd ? [root] : [root, bootDisk], sd = onSd ? [sdCard!] : undefined;
    for (let i = 0; i < runs; i++) {
      // the same disks for both: the stock boot simply never reads the boot disk
      stock.push(await sample(STOCK_INITRD, disks, drive, sd));
      ours.push(await sample(pair.mini.path, disks, drive, sd));
    }
    const s = summarize(stock), o = summarize(ours);
    const entry: Record<string, unknown> = { stock: s, initoverlayfs: o, timeRatio: o.medianUptime / s.medianUptime };
    if (label === "slow") {
      // the boot loader reads the initramfs from the same slow medium before the kernel starts
      const loadStock = stockBytes / slowBps, loadOurs = pair.mini.bytes / slowBps;
      entry.bootLoaderReadSeconds = { stock: loadStock, initoverlayfs: loadOurs };
      entry.totalSeconds = { stock: s.medianUptime + loadStock, initoverlayfs: o.medianUptime + loadOurs };
      entry.savingMs = Math.round(1000 * (s.medianUptime + loadStock - o.medianUptime - loadOurs));
    }
    result[label] = entry;
    console.log(`${label}: stock uptime ${s.uptimes.join(", ")} s (median ${s.medianUptime}); initoverlayfs ${o.uptimes.join(", ")} s (median ${o.medianUptime}); ratio ${(o.medianUptime / s.medianUptime).toFixed(2)}`);
    console.log(`${label}: the original /init starts at ${s.originalInitAt.join(", ")} s (stock, median ${s.medianOriginalInitAt}) vs ${o.originalInitAt.join(", ")} s (initoverlayfs, median ${o.medianOriginalInitAt})`);
    console.log(`${label}: bytes read stock ${JSON.stringify(s.bytesRead)}, initoverlayfs ${JSON.stringify(o.bytesRead)}; MemAvailable ${s.medianMemAvailableMiB.toFixed(0)} vs ${o.medianMemAvailableMiB.toFixed(0)} MiB`);
    const ph = (p: { kernel: number; storageInit: number; originalInit: number }) => `kernel ${p.kernel.toFixed(2)} s, storage-init ${p.storageInit.toFixed(2)} s, original init ${p.originalInit.toFixed(2)} s`;
    console.log(`${label}: phases (medians) stock: ${ph(s.phases)}; initoverlayfs: ${ph(o.phases)}`);
    // the same original init, unchanged, runs in both: it bounds the ratio whatever storage-init does
    entry.ratioIfStorageInitTookNoTime = (o.phases.kernel + o.phases.originalInit) / s.medianUptime;
    console.log(`${label}: ratio with a storage-init taking no time at all: ${(entry.ratioIfStorageInitTookNoTime as number).toFixed(2)}`);
    if (entry.savingMs !== undefined) console.log(`${label}: with the boot loader's read of the initramfs at ${slowBps / 1e6} MB/s: saving ${entry.savingMs} ms`);
  }
  if (!noIntegrity && !a64) {
    // what each integrity mode costs, against none; same root, one boot disk per mode
    const image = `initoverlayfs-${KVER}.img`;
    const disks: Record<string, { mini: string; disk: string }> = {};
    for (const mode of INTEGRITY_MODES) {
      // the pair above is already the default mode's
      const p = mode === pair.integrity.mode ? pair
        : await buildPair({ initramfs: STOCK_INITRD, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, `out-${mode}`), integrity: mode });
      const disk = makeBootDisk(work, "ext4", { [image]: p.image.path }, { uuid: BOOT_UUID, tag: `-${mode}`, features: mode === "fs-verity" ? "verity" : undefined });
      if (mode === "fs-verity") await enableVerity(work, disk, [image]);
      disks[mode] = { mini: p.mini.path, disk };
    }
    const samples: Record<string, Sample[]> = Object.fromEntries(INTEGRITY_MODES.map((m) => [m, []]));
    for (let i = 0; i < runs; i++) for (const mode of INTEGRITY_MODES) samples[mode].push(await sample(disks[mode].mini, [root, disks[mode].disk]));
    const none = median(samples.none.map((x) => x.uptime));
    const integrity: Record<string, unknown> = {};
    for (const mode of INTEGRITY_MODES) {
      const m = median(samples[mode].map((x) => x.uptime));
      integrity[mode] = { uptimes: samples[mode].map((x) => x.uptime), medianUptime: m, costSeconds: m - none, medianMemAvailableMiB: median(samples[mode].map((x) => x.memAvailableKiB)) / 1024 };
      console.log(`integrity ${mode}: uptime ${samples[mode].map((x) => x.uptime).join(", ")} s (median ${m}; ${m >= none ? "+" : ""}${(m - none).toFixed(2)} s vs none); MemAvailable ${(median(samples[mode].map((x) => x.memAvailableKiB)) / 1024).toFixed(0)} MiB`);
    }
    result.integrity = integrity;
  }
  console.log(`sizes: stock initramfs ${stockBytes} B, mini ${pair.mini.bytes} B (${(100 * pair.mini.bytes / stockBytes).toFixed(1)}%), image ${pair.image.bytes} B`);
  console.log(JSON.stringify(result));
} finally {
  removeDir(work);
}
