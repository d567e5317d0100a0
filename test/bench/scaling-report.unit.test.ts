import { test } from "node:test";
import assert from "node:assert/strict";
import { renderSvg, renderTable, slope, summarize, ScalingResult, ScalingSample } from "../../bench/scaling-report.js";

const s = (uptime: number, kernel: number, storageInit: number, memMiB: number): ScalingSample =>
  ({ uptime, kernel, storageInit, originalInit: uptime - kernel - storageInit, memAvailableKiB: memMiB * 1024 });

/** A fixed result: the stock grows 1.2 s per 100 MiB, the pair 0.03 s (2.5 %). Medians of 3 with an outlier each. */
const RESULT: ScalingResult = {
  kernel: "6.1.0-test-amd64", runs: 3, memoryMiB: 1024, compression: "zstd",
  loadAverage: { start: [1, 1, 1], end: [2, 2, 2] }, command: "node dist/bench/scaling.js --runs 3",
  sizes: [
    { mib: 0, payloadBytes: 0, initramfsBytes: 36e6, miniBytes: 2e6, imageBytes: 40e6,
      samples: { stock: [s(9, 4, 0, 848), s(20, 4, 0, 812), s(9.2, 4.2, 0, 849)], pair: [s(7, 1.5, 0.8, 816), s(7.1, 1.6, 0.8, 816), s(30, 1.6, 0.8, 816)] } },
    { mib: 100, payloadBytes: 100 << 20, initramfsBytes: 60e6, miniBytes: 2e6, imageBytes: 90e6,
      samples: { stock: [s(10.2, 5.2, 0, 840), s(10.3, 5.3, 0, 841), s(1, 1, 0, 700)], pair: [s(7.03, 1.5, 0.8, 815), s(7.13, 1.6, 0.8, 815), s(7.2, 1.6, 0.8, 815)] } },
    { mib: 300, payloadBytes: 300 << 20, initramfsBytes: 110e6, miniBytes: 2e6, imageBytes: 190e6,
      samples: { stock: [s(12.6, 7.6, 0, 830), s(12.7, 7.7, 0, 830), s(12.8, 7.7, 0, 830)], pair: [s(7.09, 1.5, 0.8, 814), s(7.19, 1.6, 0.8, 814), s(7.3, 1.6, 0.8, 814)] } },
  ],
  minMemoryMiB: { mib: 300, step: 32, stock: 640, pair: 192, tried: { stock: { 512: false, 640: true }, pair: { 160: false, 192: true } } },
};

test("slope: least squares through the points", () => {
  assert.ok(Math.abs(slope([0, 100, 300], [1, 2, 4]) - 0.01) < 1e-12);
  assert.ok(Math.abs(slope([0, 1, 2], [0, 1, 5]) - 2.5) < 1e-12);
});

test("summarize: medians per size and variant, growth per 100 MiB, the pair's growth as % of the stock's", () => {
  const sum = summarize(RESULT);
  assert.deepEqual(sum.perSize.map((p) => p.mib), [0, 100, 300]);
  assert.equal(sum.perSize[0].stock.uptime, 9.2); // the 20 s outlier does not move the median
  assert.equal(sum.perSize[0].pair.uptime, 7.1);
  assert.equal(sum.perSize[0].stock.memAvailableMiB, 848);
  assert.equal(sum.perSize[1].stock.uptime, 10.2);
  assert.ok(Math.abs(sum.perSize[0].pair.storageInit - 0.8) < 1e-9);
  assert.ok(Math.abs(sum.growthPer100MiB.stock - 550 / 466.6667) < 1e-4, String(sum.growthPer100MiB.stock));
  assert.ok(Math.abs(sum.growthPer100MiB.pair - 0.03) < 1e-9, String(sum.growthPer100MiB.pair));
  assert.ok(Math.abs(sum.pairGrowthPercent - 100 * 0.03 / sum.growthPer100MiB.stock) < 1e-9);
  // kernel + storage-init medians: stock 4, 5.2, 7.7; pair 2.4 at every size
  assert.ok(Math.abs(sum.startGrowthPer100MiB.stock - 100 * slope([0, 100, 300], [4, 5.2, 7.7])) < 1e-9);
  assert.ok(Math.abs(sum.startGrowthPer100MiB.pair) < 1e-9);
});

test("renderTable: a row per size and variant, the growth and the smallest RAM", () => {
  const t = renderTable(RESULT);
  const rows = t.split("\n").filter((l) => /^\| \d+ \|/.test(l));
  assert.equal(rows.length, 6);
  assert.equal(rows[0], "| 0 | stock | 9.20 s | 4.00 s | – | 5.00 s | 848.0 MiB |");
  assert.equal(rows[1], "| 0 | pair | 7.10 s (0.77) | 1.60 s | 0.80 s | 4.70 s | 816.0 MiB |");
  assert.match(t, /growth per 100 MiB appended: stock 1\.18 s, pair 0\.03 s \(2\.5 % of the stock's; target ≤ 5 %\)/);
  assert.match(t, /stock 640 MiB, pair 192 MiB \(0\.30 × stock; target ≤ 0\.30\)/);
});

test("renderTable: free memory including the per-CPU lists, when the samples have them", () => {
  assert.doesNotMatch(renderTable(RESULT), /per-CPU/);
  const withPcp = structuredClone(RESULT);
  withPcp.sizes = [withPcp.sizes[0]];
  const free = { stock: [903.3, 864.8, 910.8], pair: [874.1, 874.4, 876.0] }, pcp = { stock: [12.9, 51.2, 5.3], pair: [39.9, 39.7, 37.9] };
  for (const v of ["stock", "pair"] as const) {
    withPcp.sizes[0].samples[v].forEach((x, i) => {
      x.meminfo = { MemFree: free[v][i] * 1024 };
      x.perCpuFreeKiB = { count: pcp[v][i] * 1024, high: 55 * 1024 };
    });
  }
  assert.doesNotMatch(renderTable(withPcp), /NaN|growth/);
  assert.match(renderTable(withPcp), /N = 0: free memory at the root including the per-CPU lists \(MemFree \+ their count\): stock 916\.1 MiB, pair 914\.0 MiB \(-2\.1 MiB\)/);
});

test("renderTable: the end-of-boot diagnosis, when the pair's root unloaded modules", () => {
  const withEnd = structuredClone(RESULT);
  withEnd.sizes = [withEnd.sizes[0]];
  const end = { stock: [913.6, 913.9, 913.5], pair: [913.3, 913.0, 914.0] };
  for (const v of ["stock", "pair"] as const) withEnd.sizes[0].samples[v].forEach((x, i) => { x.freeAtEndKiB = end[v][i] * 1024; });
  // nothing unloaded: no row (the stock's root never unloads)
  assert.doesNotMatch(renderTable(withEnd), /end of the boot/);
  withEnd.sizes[0].samples.pair.forEach((x) => { x.unloaded = ["dm_verity", "loop"]; });
  withEnd.sizes[0].samples.pair[1].unloaded = ["dm_verity", "erofs"];
  assert.match(renderTable(withEnd), /N = 0: free memory at the end of the boot including the per-CPU lists, the pair with the modules the stock boot did not have unloaded \(a diagnosis: dm_verity, loop, erofs\): stock 913\.6 MiB, pair 913\.3 MiB \(-0\.3 MiB\)/);
});

test("renderSvg: well-formed, a stacked bar per phase that took time, a line per variant at the medians", () => {
  const svg = renderSvg(RESULT);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  // every element opened is closed (or self-closed)
  const opened = [...svg.matchAll(/<(\w+)[^>]*?(\/?)>/g)].filter((m) => m[2] !== "/").map((m) => m[1]);
  const closed = [...svg.matchAll(/<\/(\w+)>/g)].map((m) => m[1]);
  assert.deepEqual(opened.sort(), closed.sort());
  // stock: kernel + original init; pair: three phases; at each of 3 sizes
  assert.equal([...svg.matchAll(/<rect [^>]*><title>/g)].length, 3 * (2 + 3));
  assert.equal([...svg.matchAll(/<polyline /g)].length, 2);
  assert.match(svg, /<title>stock N=300: 12\.70 s<\/title>/);
  assert.match(svg, /stock: 1\.18 s per 100 MiB/);
  // bar heights are to scale: the stock's kernel phase at N=300 is 7.7/4.2 of that at N=0
  const h = (v: string, n: number) => Number(new RegExp(`height="([\\d.]+)" fill="#4e79a7"><title>${v} N=${n}: kernel`).exec(svg)![1]);
  assert.ok(Math.abs(h("stock", 300) / h("stock", 0) - 7.7 / 4) < 1e-9);
});

test("summarize: storage-init's time loading modules the stock boot loads too (a module only the pair loads does not count)", () => {
  const withModules = (x: ScalingSample, modules: string[], moduleMs?: Record<string, number>): ScalingSample => ({ ...x, modules, moduleMs });
  const r: ScalingResult = {
    ...RESULT,
    sizes: [{
      ...RESULT.sizes[0],
      samples: {
        // ext4 is in every stock boot; virtio_pci in only one of them: not counted
        stock: [withModules(s(9, 4, 0, 848), ["ext4", "virtio_pci"]), withModules(s(9, 4, 0, 848), ["ext4"])],
        pair: [withModules(s(7, 1.5, 0.8, 816), [], { ext4: 300, vfat: 20, virtio_pci: 100 }), withModules(s(7, 1.5, 0.8, 816), [], { ext4: 340, vfat: 20, virtio_pci: 100 })],
      },
    }],
  };
  const sum = summarize(r);
  assert.ok(Math.abs(sum.perSize[0].pair.sharedModuleSeconds! - 0.32) < 1e-9, String(sum.perSize[0].pair.sharedModuleSeconds));
  assert.equal(sum.perSize[0].stock.sharedModuleSeconds, undefined);
  assert.match(renderTable(r, sum), /of storage-init's 0\.80 s, 0\.32 s load modules the stock boot loads too .*the rest: 0\.48 s/);
  // without the per-module log: nothing claimed
  assert.equal(summarize(RESULT).perSize[0].pair.sharedModuleSeconds, undefined);
});

test("renderTable: with throttled disks, the boot loader's read of each initramfs is added", () => {
  const t = renderTable({ ...RESULT, slowBps: 25e6 });
  // N = 0: stock 9.2 + 36e6 / 25e6 = 10.64 s; pair 7.1 + 2e6 / 25e6 = 7.18 s
  assert.match(t, /N = 0: with the boot loader's read of the initramfs at 25 MB\/s: stock 10\.64 s, pair 7\.18 s \(0\.67; 3460 ms saved\)/);
  assert.match(t, /disks read at 25 MB\/s/);
  assert.match(renderTable({ ...RESULT, slowBps: 25e6, slowIops: 1500 }), /disks read at 25 MB\/s, 1500 read requests\/s, medians of 3/);
});

test("renderTable: what the boot read from the boot disk, when every sample has it", () => {
  assert.doesNotMatch(renderTable(RESULT), /from the boot disk/);
  const withReads = structuredClone(RESULT);
  withReads.sizes = [withReads.sizes[0]];
  const reads = { stock: [[99, 2.1e6], [98, 2.1e6], [99, 2.2e6]], pair: [[448, 14.3e6], [440, 14.4e6], [450, 14.6e6]] };
  for (const v of ["stock", "pair"] as const) withReads.sizes[0].samples[v].forEach((x, i) => { x.bootDiskReads = { requests: reads[v][i][0], bytes: reads[v][i][1] }; });
  // medians: pair 448 requests, 14.4 MB: 32 KB each; stock 2.1 MB
  assert.match(renderTable(withReads), /^N = 0: read from the boot disk until the root: pair 14\.4 MB in 448 requests \(32 KB each on average\), stock 2\.1 MB \(probes\)$/m);
  delete withReads.sizes[0].samples.pair[2].bootDiskReads;
  assert.doesNotMatch(renderTable(withReads), /from the boot disk/);
});

test("renderTable and renderSvg: a board other than QEMU's default is named in both", () => {
  assert.doesNotMatch(renderTable(RESULT) + renderSvg(RESULT), /q35/);
  const q35 = { ...RESULT, machine: "q35" };
  assert.match(renderTable(q35).split("\n")[0], /, QEMU's q35 board, medians of 3$/);
  assert.match(renderSvg(q35), /-cpu qemu64, TCG wall clock, q35</);
});
