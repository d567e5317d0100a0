/**
 * Scaling bench (issue 14, targets 4 and 5): N MiB of real content (this kernel's modules, then
 * firmware) is appended to the stock initramfs as one more archive, compressed as the stock one
 * is; the pair is built from the result, and both boot alternately in QEMU (TCG) for each N.
 * Reports per N the median time to the real root, its phases (from `boot-report`'s parser) and
 * MemAvailable there; the growth per 100 MiB of both; then the smallest guest RAM (-m, bisection
 * in 32 MiB steps, one boot per step) that boots the largest N to the real root. Writes a JSON
 * result, a Markdown table and an SVG.
 *
 *   node dist/bench/scaling.js [--sizes 0,100,300] [--runs 5] [--memory 1024] [--no-min-memory]
 *                              [--quick] [--out bench/results] [--cpu MODEL] [--machine pc|q35] [--icount] [--slow-bps N] [--slow-iops N]
 *                              [--integrity-hash sha256|sha512] [--root-fs ext4|btrfs] [--storage-init FILE]
 * --machine: QEMU's board for both (default pc, the i440FX, whose PCI devices get their interrupts
 *   through ACPI link devices: the kernel spends 0.17 s of TCG setting up the virtio disks' links;
 *   q35: PCI Express with MSI-X, as x86 hardware of the last fifteen years).
 * --cpu: QEMU's CPU model for both (default qemu64; `max` has AVX2, which the kernel's accelerated SHA-256 uses; QEMU 7.2's TCG has no SHA-NI).
 * --slow-bps N: both boots' disks read-throttled to N bytes/s (an SD card: 25000000), and the boot
 * loader's read of each initramfs at that speed counted in the table.
 * --slow-iops N: both boots' disks read at most N requests/s, whatever their size: a card's random
 * reads (the SD A1 class promises 1500 random 4 KiB reads/s; with --slow-bps, large sequential
 * requests stay bandwidth-bound). The boot loader's read is one sequential pass: not affected.
 * --integrity-hash: the pair's dm-verity hash (default the build's, sha256): which one a CPU
 * without SHA instructions hashes faster.
 * --root-fs: the test root's filesystem (default ext4, as the boot disk's; btrfs: a root whose
 * type the boot filesystem's modules do not serve).
 * --storage-init FILE: the pair built with that storage-init binary (another release's, to
 * compare); the result records it.
 * --icount: the guest's clock counts instructions (one per ns), not host time: the numbers hold
 * on a busy machine and the hash instructions cost what they would on hardware.
 *   node dist/bench/scaling.js --render bench/results/scaling.json   (table and SVG again)
 */
import { spawnSync } from "node:child_process";
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeSync, mkdirSync, lstatSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { buildPair } from "../src/pipeline/build.js";
import { detectCompression } from "../src/compression/index.js";
import { findEarlyArchives } from "../src/initramfs/early.js";
import { CpioWriter } from "../src/formats/cpio/writer.js";
import { makeTempDir, removeDir } from "../test/helpers/tmp.js";
import { boot, KVER, makeBootDisk, makeRootDisk, rootReport, STOCK_INITRD } from "../test/boot/vm.js";
import { renderSvg, renderTable, summarize, ScalingResult, SizeResult, Variant } from "./scaling-report.js";
import { parseSample, SAMPLE_INIT, stockModulesArg, UNPACK_FAILED, writeAtomic } from "./root-sample.js";
import { concatInitrds } from "../test/helpers/initrd.js";
import { benchArgs } from "./args.js";
import { VERITY_HASH_ALGORITHMS } from "../src/formats/storage-init-config/schema.js";

const args = benchArgs(import.meta.url, {
  sizes: "N,N,...", runs: "N", memory: "MiB", "no-min-memory": true, quick: true, out: "DIR", cpu: "MODEL", machine: "pc|q35", icount: true, "slow-bps": "N", "slow-iops": "N", render: "RESULT.json",
  "integrity-hash": VERITY_HASH_ALGORITHMS.join("|"), "root-fs": "ext4|btrfs", "storage-init": "FILE",
});
const quick = args.flag("quick");
const sizes = (args.text("sizes") ?? (quick ? "0,100" : "0,100,300")).split(",").map((s) => (/^\d+$/.test(s) ? Number(s) : args.fail(`--sizes: expected MiB counts separated by commas, got ${JSON.stringify(s)}`)));
const runs = args.number("runs", quick ? 1 : 5, { min: 1, integer: true });
const memoryMiB = args.number("memory", 1024, { min: 32, integer: true });
const outDir = args.text("out") ?? "bench/results";
const minMemory = !quick && !args.flag("no-min-memory");
const cpu = args.text("cpu") ?? "qemu64";
// QEMU's default board is recorded as no choice, as in the results before the option
const machine = args.choice("machine", ["pc", "q35"] as const) === "q35" ? "q35" : undefined;
const icount = args.flag("icount");
const slowBps = args.text("slow-bps") === undefined ? undefined : args.number("slow-bps", 0, { min: 1 });
const slowIops = args.text("slow-iops") === undefined ? undefined : args.number("slow-iops", 0, { min: 1, integer: true });
const integrityHash = args.text("integrity-hash") === undefined ? undefined : args.choice("integrity-hash", VERITY_HASH_ALGORITHMS);
const rootFs = args.choice("root-fs", ["ext4", "btrfs"] as const);
const storageInit = args.text("storage-init");
const BOOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000002";
const MIB = 1 << 20;

/** The CLI compressor for an appended archive, as initramfs-tools/dracut call them (xz: the kernel needs CRC32). */
const COMPRESSORS: Record<string, string[]> = {
  zstd: ["zstd", "-q", "-1", "-T0", "-c"], gzip: ["gzip", "-n", "-6", "-c"], xz: ["xz", "--check=crc32", "-T0", "-c"],
  lzma: ["xz", "--format=lzma", "-c"], bzip2: ["bzip2", "-9", "-c"], lz4: ["lz4", "-l", "-9", "-c"], lzo: ["lzop", "-9", "-c"],
};

/** Regular files of `dir`, recursively, in name order. */
function filesUnder(dir: string): string[] {
  let names: string[];
  try { names = readdirSync(dir).sort(); } catch { return []; }
  return names.flatMap((n) => {
    const p = join(dir, n), st = lstatSync(p);
    return st.isDirectory() ? filesUnder(p) : st.isFile() ? [p] : [];
  });
}

const CONTENT = [...filesUnder(`/lib/modules/${KVER}/kernel`), ...filesUnder("/lib/firmware")];

/**
 * The stock initramfs with `mib` MiB of content appended under /scaling-payload (out of the way of
 * the initramfs's own paths), as a boot loader concatenates initramfs files: each starting at a multiple of 4 bytes.
 */
function appendPayload(work: string, stock: Uint8Array, compression: string, mib: number): { path: string; payloadBytes: number } {
  const path = join(work, `initrd-${mib}.img`);
  if (mib === 0) return { path: STOCK_INITRD, payloadBytes: 0 };
  const w = new CpioWriter();
  w.add({ name: "scaling-payload", mode: 0o40755, nlink: 2 });
  const dirs = new Set<string>();
  let bytes = 0;
  for (const f of CONTENT) {
    if (bytes >= mib * MIB) break;
    const rel = f.replace(/^\//, "");
    const parts = rel.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirs.has(d)) dirs.add(d), w.add({ name: `scaling-payload/${d}`, mode: 0o40755, nlink: 2 });
    }
    const data = readFileSync(f);
    w.add({ name: `scaling-payload/${rel}`, mode: 0o100644, data });
    bytes += data.length;
  }
  if (bytes < mib * MIB) throw new Error(`only ${bytes} bytes of modules and firmware on this machine, ${mib} MiB asked`);
  const cpio = w.trailer().bytes();
  const cmd = COMPRESSORS[compression];
  const z = spawnSync(cmd[0], cmd.slice(1), { input: cpio, maxBuffer: 2 ** 31 });
  if (z.status !== 0) throw new Error(`${cmd.join(" ")}: ${z.stderr}`);
  const tmp = `${path}.tmp`, fd = openSync(tmp, "w");
  try {
    writeSync(fd, concatInitrds([stock, z.stdout as Uint8Array]));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return { path, payloadBytes: bytes };
}

async function tryBoot(initrd: string, disks: string[], mem: number, timeoutSeconds = 300, append?: string) {
  // the instruction clock runs TCG about 2.5 times slower in host time
  const r = await boot({ initrd, disks, memoryMiB: mem, timeoutSeconds: icount ? timeoutSeconds * 3 : timeoutSeconds, cpu: cpu === "qemu64" ? undefined : cpu, machine, icount, append,
    driveOptions: [slowBps && `,throttling.bps-read=${slowBps}`, slowIops && `,throttling.iops-read=${slowIops}`].filter(Boolean).join("") || undefined });
  return r;
}

// --render FILE.json: the table and the SVG again from a result, without booting
const render = args.text("render");
if (render) {
  const r = JSON.parse(readFileSync(render, "utf8")) as ScalingResult;
  const base = render.replace(/\.json$/, "");
  writeAtomic(render, JSON.stringify({ ...r, summary: summarize(r) }, null, 1) + "\n");
  writeAtomic(`${base}.md`, renderTable(r) + "\n");
  writeAtomic(`${base}.svg`, renderSvg(r));
  console.log(renderTable(r));
  process.exit(0);
}

const work = makeTempDir("iofs-scaling-");
const loadStart = loadavg();
try {
  const stock = readFileSync(STOCK_INITRD);
  const early = findEarlyArchives(stock, STOCK_INITRD);
  const compression = detectCompression(stock, early.bytes);
  if (!compression) throw new Error(`${STOCK_INITRD}: offset ${early.bytes}: expected a compressed archive after the early ones`);
  const root = makeRootDisk(work, { init: SAMPLE_INIT, fstype: rootFs });
  const result: ScalingResult = {
    kernel: KVER, cpu, machine, clock: icount ? "icount" : "wall", slowBps, slowIops, integrityHash, rootFs: rootFs === "ext4" ? undefined : rootFs, storageInit, runs, memoryMiB, compression, loadAverage: { start: loadStart, end: [] },
    command: args.command, sizes: [],
  };
  const built: Record<number, { initrd: string; mini: string; disk: string }> = {};
  for (const mib of sizes) {
    const { path, payloadBytes } = appendPayload(work, stock, compression, mib);
    // the boot disk's type named, as `install` finds it on the machine's /boot (build alone would
    // take ext4 and vfat, and load both)
    const pair = await buildPair({ initramfs: path, kver: KVER, boot: `UUID=${BOOT_UUID}`, bootFstype: "ext4", integrityHash, storageInit, outputDir: join(work, `out-${mib}`) });
    const disk = makeBootDisk(work, "ext4", { [`initoverlayfs-${KVER}.img`]: pair.image.path }, { uuid: BOOT_UUID, tag: `-${mib}` });
    built[mib] = { initrd: path, mini: pair.mini.path, disk };
    const entry: SizeResult = { mib, payloadBytes, initramfsBytes: statSync(path).size, miniBytes: pair.mini.bytes, imageBytes: pair.image.bytes, samples: { stock: [], pair: [] } };
    for (let i = 0; i < runs; i++) {
      for (const v of ["stock", "pair"] as Variant[]) {
        // the same disks for both: the stock boot simply never reads the boot disk
        // the pair's debug log (kernel log only, not the console) has storage-init's time per module
        // and, for a diagnosis after the measurement, the modules the stock boot had in this run
        const append = ["initoverlayfs.debug=1", stockModulesArg(entry.samples.stock[i]?.modules)].filter(Boolean).join(" ");
        const r = await tryBoot(v === "stock" ? path : pair.mini.path, [root, disk], memoryMiB, 300, v === "pair" ? append : undefined);
        const s = parseSample(r.console);
        entry.samples[v].push(s);
        console.log(`N=${mib} run ${i + 1} ${v}: root at ${s.uptime.toFixed(2)} s, kernel ${s.kernel.toFixed(2)}, storage-init ${s.storageInit.toFixed(2)}, original init ${s.originalInit.toFixed(2)}, MemAvailable ${(s.memAvailableKiB / 1024).toFixed(1)} MiB (MemFree ${((s.meminfo?.MemFree ?? NaN) / 1024).toFixed(1)}, on per-CPU lists ${((s.perCpuFreeKiB?.count ?? NaN) / 1024).toFixed(1)} of ${((s.perCpuFreeKiB?.high ?? NaN) / 1024).toFixed(1)} MiB, min_free ${s.minFreeKiB} K), initrd freed at ${s.freeingInitrd?.at.toFixed(2)} s (${s.freeingInitrd?.kiB} K)`);
      }
    }
    result.sizes.push(entry);
  }
  if (minMemory) {
    // bisection over 32 MiB steps: the largest -m known to fail, the smallest known to boot
    const mib = Math.max(...sizes), step = 32;
    const tried: Record<Variant, Record<string, boolean>> = { stock: {}, pair: {} };
    const smallest: Record<Variant, number | null> = { stock: null, pair: null };
    for (const v of ["stock", "pair"] as Variant[]) {
      const b = built[mib];
      const ok = async (m: number) => {
        const r = await tryBoot(v === "stock" ? b.initrd : b.mini, [root, b.disk], m, 240);
        const failed = UNPACK_FAILED.exec(r.console);
        const reached = rootReport(r.console).reached && !failed;
        tried[v][m] = reached;
        console.log(`min memory, N=${mib} ${v}: -m ${m}: ${reached ? "reached the root" : failed ? `reached the root without the whole initramfs (${failed[0]})` : `failed (${r.timedOut ? "timed out" : "exited"}): ${r.console.trim().split("\n").slice(-2).join(" | ").slice(0, 200)}`}`);
        return reached;
      };
      let lo = 0, hi = memoryMiB; // lo fails (no RAM), hi boots (the runs above; --runs 0 checks it)
      if (!runs && !(await ok(hi))) throw new Error(`N=${mib} ${v} does not boot with -m ${hi}: give --memory more`);
      while (hi - lo > step) {
        const mid = lo + Math.floor((hi - lo) / step / 2) * step;
        if (await ok(mid)) hi = mid; else lo = mid;
      }
      smallest[v] = hi;
    }
    result.minMemoryMiB = { mib, step, stock: smallest.stock, pair: smallest.pair, tried };
  }
  result.loadAverage.end = loadavg();
  const summary = summarize(result);
  const table = renderTable(result, summary);
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `${quick ? "scaling-quick" : "scaling"}${cpu === "qemu64" ? "" : `-${cpu}`}${machine ? `-${machine}` : ""}${icount ? "-icount" : ""}${slowBps ? `-${slowBps / 1e6}MBps` : ""}${slowIops ? `-${slowIops}iops` : ""}${integrityHash ? `-${integrityHash}` : ""}${rootFs === "ext4" ? "" : `-${rootFs}-root`}${storageInit ? "-other-storage-init" : ""}`);
  writeAtomic(`${base}.json`, JSON.stringify({ ...result, summary }, null, 1) + "\n");
  writeAtomic(`${base}.md`, table + "\n");
  writeAtomic(`${base}.svg`, renderSvg(result, summary));
  console.log(table);
  console.log(`load average at the start ${loadStart.map((x) => x.toFixed(2)).join(" ")}, at the end ${result.loadAverage.end.map((x) => x.toFixed(2)).join(" ")}`);
  console.log(`wrote ${base}.json, ${base}.md, ${base}.svg`);
} finally {
  removeDir(work);
}
