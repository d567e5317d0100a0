/**
 * dracut's own answer to a big initramfs, side by side with ours (issue 14, target 6): a
 * systemd dracut initramfs as it is ("dracut"), the same with dracut's `squash` module (the whole
 * initramfs as a squashfs inside the cpio, loop-mounted from RAM under an overlay), and the pair
 * initoverlayfs builds from the plain one. All three boot alternately in QEMU with the same
 * kernel, root and boot disks; reported: time to the real root and the memory left there.
 * dracut runs from the host's dracut-core and dracut-squash (modules only: initramfs-tools stays
 * the host's initramfs generator).
 *
 *   node dist/bench/dracut.js [--runs 5] [--cpu MODEL] [--icount] [--out bench/results] [--integrity-hash sha256|sha512]
 * --integrity-hash: the pair's dm-verity hash (default the build's, sha256).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { buildPair } from "../src/pipeline/build.js";
import { makeTempDir, removeDir } from "../test/helpers/tmp.js";
import { boot, KVER, makeBootDisk, makeRootDisk } from "../test/boot/vm.js";
import { median } from "./common.js";
import { benchArgs } from "./args.js";
import { VERITY_HASH_ALGORITHMS } from "../src/formats/storage-init-config/schema.js";
import { parseSample, SAMPLE_INIT, stockModulesArg, writeAtomic } from "./root-sample.js";
import { ScalingSample, unloadedModules } from "./scaling-report.js";

const args = benchArgs(import.meta.url, { runs: "N", cpu: "MODEL", icount: true, out: "DIR", "integrity-hash": VERITY_HASH_ALGORITHMS.join("|") });
const runs = args.number("runs", 5, { min: 1, integer: true });
const cpu = args.text("cpu") ?? "qemu64";
const icount = args.flag("icount");
const outDir = args.text("out") ?? "bench/results";
const integrityHash = args.text("integrity-hash") === undefined ? undefined : args.choice("integrity-hash", VERITY_HASH_ALGORITHMS);
const BOOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000001";
/** The dracut modules of the boot test's systemd initramfs, and the drivers the VM's root needs. */
const DRACUT_MODULES = "systemd systemd-initrd base rootfs-block kernel-modules udev-rules fs-lib";
const DRACUT_DRIVERS = "virtio_blk virtio_pci ext4";

const VARIANTS = ["dracut", "dracut-squash", "pair"] as const;
type Variant = (typeof VARIANTS)[number];

function dracut(out: string, extra: string[]): number {
  const t0 = Date.now();
  const r = spawnSync("dracut", ["--no-hostonly", "--force", "--kver", KVER, "-m", DRACUT_MODULES, ...extra, "--add-drivers", DRACUT_DRIVERS, out], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`dracut ${extra.join(" ")}: ${r.stderr.trim().split("\n").slice(-5).join(" | ")}`);
  return (Date.now() - t0) / 1000;
}

/** Free memory at the root including the free pages parked on the per-CPU lists, MiB. */
const freeMiB = (x: ScalingSample) => (x.meminfo?.MemFree !== undefined && x.perCpuFreeKiB ? (x.meminfo.MemFree + x.perCpuFreeKiB.count) / 1024 : NaN);

const work = makeTempDir("iofs-dracut-");
const loadStart = loadavg();
try {
  const plain = join(work, "dracut.img"), squash = join(work, "dracut-squash.img");
  const buildSeconds = { dracut: dracut(plain, []), "dracut-squash": dracut(squash, ["-a", "squash"]) };
  const pair = await buildPair({ initramfs: plain, kver: KVER, boot: `UUID=${BOOT_UUID}`, bootFstype: "ext4", integrityHash, outputDir: join(work, "out") });
  const root = makeRootDisk(work, { init: SAMPLE_INIT });
  const disk = makeBootDisk(work, "ext4", { [`initoverlayfs-${KVER}.img`]: pair.image.path }, { uuid: BOOT_UUID });
  const initrd: Record<Variant, string> = { dracut: plain, "dracut-squash": squash, pair: pair.mini.path };
  const samples: Record<Variant, ScalingSample[]> = { dracut: [], "dracut-squash": [], pair: [] };
  for (let i = 0; i < runs; i++) {
    for (const v of VARIANTS) {
      // the same disks for all three: the dracut boots never read the boot disk; the pair's root
      // unloads the modules plain dracut's did not have, after the measurement (a diagnosis)
      const append = v === "pair" ? stockModulesArg(samples.dracut[i]?.modules) : undefined;
      const r = await boot({ initrd: initrd[v], disks: [root, disk], timeoutSeconds: icount ? 900 : 300, cpu: cpu === "qemu64" ? undefined : cpu, icount, append });
      const s = parseSample(r.console);
      samples[v].push(s);
      console.log(`run ${i + 1} ${v}: root at ${s.uptime.toFixed(2)} s (kernel ${s.kernel.toFixed(2)}, storage-init ${s.storageInit.toFixed(2)}, init ${s.originalInit.toFixed(2)}), MemAvailable ${(s.memAvailableKiB / 1024).toFixed(1)} MiB, free incl. per-CPU lists ${freeMiB(s).toFixed(1)} MiB`);
    }
  }
  const m = (v: Variant, f: (x: ScalingSample) => number) => median(samples[v].map(f));
  const bytes: Record<Variant, number> = { dracut: statSync(plain).size, "dracut-squash": statSync(squash).size, pair: pair.mini.bytes };
  const rows = [
    `-cpu ${cpu}, ${icount ? "instruction clock (-icount shift=0)" : "TCG wall clock"}${integrityHash ? `, the pair's dm-verity hash ${integrityHash}` : ""}, medians of ${runs}; dracut ${DRACUT_MODULES} + ${DRACUT_DRIVERS}`,
    "",
    "| variant | initramfs | to the real root | vs dracut | MemAvailable | free incl. per-CPU lists | the same at the end of the boot¹ |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const v of VARIANTS) {
    const up = m(v, (x) => x.uptime);
    rows.push(`| ${v} | ${bytes[v].toLocaleString("en")} B | ${up.toFixed(2)} s | ${(up / m("dracut", (x) => x.uptime)).toFixed(2)} | ${(m(v, (x) => x.memAvailableKiB) / 1024).toFixed(1)} MiB | ${m(v, freeMiB).toFixed(1)} MiB | ${(m(v, (x) => x.freeAtEndKiB ?? NaN) / 1024).toFixed(1)} MiB |`);
  }
  rows.push("", `¹ a diagnosis after the measurement: the pair's root first unloaded the modules plain dracut's did not have (${unloadedModules(samples.pair).join(", ") || "none"})`);
  const table = rows.join("\n");
  const result = {
    kernel: KVER, cpu, clock: icount ? "icount" : "wall", integrityHash, runs, command: args.command,
    loadAverage: { start: loadStart, end: loadavg() }, buildSeconds, initramfsBytes: bytes, imageBytes: pair.image.bytes, samples,
  };
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `dracut${cpu === "qemu64" ? "" : `-${cpu}`}${icount ? "-icount" : ""}${integrityHash ? `-${integrityHash}` : ""}`);
  writeAtomic(`${base}.json`, JSON.stringify(result, null, 1) + "\n");
  writeAtomic(`${base}.md`, table + "\n");
  console.log(table);
  console.log(`wrote ${base}.json, ${base}.md`);
} finally {
  removeDir(work);
}
