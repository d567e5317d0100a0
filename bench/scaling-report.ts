/**
 * The scaling bench's pure half: boot samples in, summary, table and SVG out (no I/O), so the
 * unit tier can check them from a fixed result.
 */
import { median } from "./common.js";

export type Variant = "stock" | "pair";
export const VARIANTS: readonly Variant[] = ["stock", "pair"];

/** One boot, times in seconds since the kernel started (the guest's clock). */
export interface ScalingSample {
  /** /proc/uptime when the real root's init printed ROOT-MARKER */
  uptime: number;
  /** the kernel runs the initramfs's first program */
  kernel: number;
  /** from the first program to storage-init's hand-over (0 for the stock boot) */
  storageInit: number;
  /** from the original init's start to the real root */
  originalInit: number;
  memAvailableKiB: number;
  /** the kernel's "Freeing initrd memory: N K" line: when, and how much */
  freeingInitrd?: { at: number; kiB: number };
  /** /proc/meminfo at the real root, kB */
  meminfo?: Record<string, number>;
  /** free pages on the per-CPU lists at the root (/proc/zoneinfo, all zones), and their limit */
  perCpuFreeKiB?: { count: number; high: number };
  /** /proc/sys/vm/min_free_kbytes */
  minFreeKiB?: number;
  /** the modules loaded when the real root started (/proc/modules) */
  modules?: string[];
  /** the pair: how long storage-init took to load each module, ms (its debug log) */
  moduleMs?: Record<string, number>;
  /** the same once the old root's loop devices are gone (up to 5 s later) */
  meminfoAfterTeardown?: Record<string, number>;
  /** MemFree plus the per-CPU lists' free pages, kB, at the end of the boot: the pair's after it
   * unloaded the modules the stock boot did not have (a diagnosis of what they hold) */
  freeAtEndKiB?: number;
  /** the modules the root unloaded before freeAtEndKiB */
  unloaded?: string[];
  /** what the boot read from the boot disk until the root (the stock: only probes of it) */
  bootDiskReads?: { requests: number; bytes: number };
}

/** The modules the roots of these samples unloaded for the end-of-boot diagnosis, each once. */
export function unloadedModules(samples: readonly ScalingSample[]): string[] {
  return [...new Set(samples.flatMap((x) => x.unloaded ?? []))];
}

export interface SizeResult {
  /** MiB of content appended (0: the stock initramfs as it is) */
  mib: number;
  payloadBytes: number;
  initramfsBytes: number;
  miniBytes: number;
  imageBytes: number;
  samples: Record<Variant, ScalingSample[]>;
}

export interface ScalingResult {
  kernel: string;
  /** QEMU's -cpu model (qemu64: no SHA or AVX instructions; max: what QEMU can emulate, AVX2 included; QEMU 7.2's TCG has no SHA-NI) */
  cpu?: string;
  /** QEMU's board when not its default (pc, the i440FX) */
  machine?: string;
  /** the guest's clock: "wall" (TCG at the host's speed and load) or "icount" (one instruction, one ns) */
  clock?: "wall" | "icount";
  /** disks read-throttled to this many bytes/s; the boot loader's read of the initramfs at that speed is counted */
  slowBps?: number;
  /** --slow-iops: the disks' read requests per second */
  slowIops?: number;
  /** --integrity-hash: the pair's dm-verity hash when not the build's default */
  integrityHash?: string;
  /** --root-fs: the test root's filesystem when not ext4 */
  rootFs?: string;
  /** --storage-init: the pair's storage-init binary when not this checkout's */
  storageInit?: string;
  runs: number;
  memoryMiB: number;
  compression: string;
  loadAverage: { start: number[]; end: number[] };
  command: string;
  sizes: SizeResult[];
  /** the smallest -m that booted the largest size to the real root, per variant */
  minMemoryMiB?: { mib: number; step: number; stock: number | null; pair: number | null; tried: Record<Variant, Record<string, boolean>> };
}

export interface VariantSummary {
  uptime: number;
  kernel: number;
  storageInit: number;
  originalInit: number;
  memAvailableMiB: number;
  /**
   * The pair: of storage-init's time, loading modules that the stock boot loads too (by the root,
   * /proc/modules of the stock boot at the same N). That work is moved out of the original init's
   * phase, not added to the boot. Undefined without the per-module log.
   */
  sharedModuleSeconds?: number;
}

export interface Summary {
  perSize: { mib: number; stock: VariantSummary; pair: VariantSummary; ratio: number }[];
  /** least-squares slope of the median uptime over N, seconds per 100 MiB */
  growthPer100MiB: Record<Variant, number>;
  /** the pair's growth as a percentage of the stock's */
  pairGrowthPercent: number;
  /** the same for when the original init starts (kernel + storage-init): what N changes, without the original init's noise */
  startGrowthPer100MiB: Record<Variant, number>;
  pairStartGrowthPercent: number;
}

function summarizeVariant(xs: ScalingSample[], stockModules?: ReadonlySet<string>): VariantSummary {
  const m = (f: (x: ScalingSample) => number) => median(xs.map(f));
  const s: VariantSummary = { uptime: m((x) => x.uptime), kernel: m((x) => x.kernel), storageInit: m((x) => x.storageInit), originalInit: m((x) => x.originalInit), memAvailableMiB: m((x) => x.memAvailableKiB) / 1024 };
  if (stockModules && xs.every((x) => x.moduleMs && Object.keys(x.moduleMs).length)) {
    s.sharedModuleSeconds = m((x) => Object.entries(x.moduleMs!).filter(([name]) => stockModules.has(name)).reduce((a, [, ms]) => a + ms, 0)) / 1000;
  }
  return s;
}

/** Modules every stock boot of a size had loaded at the root. */
function stockModules(xs: ScalingSample[]): Set<string> | undefined {
  if (!xs.length || !xs.every((x) => x.modules?.length)) return undefined;
  return new Set(xs[0].modules!.filter((name) => xs.every((x) => x.modules!.includes(name))));
}

/** Slope of y over x by least squares (two points: the line through them). */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) num += (xs[i] - mx) * (ys[i] - my), den += (xs[i] - mx) ** 2;
  return den ? num / den : NaN;
}

export function summarize(r: ScalingResult): Summary {
  const perSize = r.sizes.map((s) => {
    const stock = summarizeVariant(s.samples.stock), pair = summarizeVariant(s.samples.pair, stockModules(s.samples.stock));
    return { mib: s.mib, stock, pair, ratio: pair.uptime / stock.uptime };
  });
  const xs = perSize.map((p) => p.mib);
  const growth = (v: Variant) => 100 * slope(xs, perSize.map((p) => p[v].uptime));
  const growthPer100MiB = { stock: growth("stock"), pair: growth("pair") };
  const startGrowth = (v: Variant) => 100 * slope(xs, r.sizes.map((z) => median(z.samples[v].map((x) => x.kernel + x.storageInit))));
  const startGrowthPer100MiB = { stock: startGrowth("stock"), pair: startGrowth("pair") };
  return {
    perSize, growthPer100MiB, pairGrowthPercent: 100 * growthPer100MiB.pair / growthPer100MiB.stock,
    startGrowthPer100MiB, pairStartGrowthPercent: 100 * startGrowthPer100MiB.pair / startGrowthPer100MiB.stock,
  };
}

const f2 = (x: number) => x.toFixed(2);

/** The median of what every sample has, else undefined (results from before a field was recorded). */
function medianOfAll(samples: readonly ScalingSample[], f: (x: ScalingSample) => number | undefined): number | undefined {
  const xs = samples.map(f);
  return xs.every((x) => x !== undefined) ? median(xs as number[]) : undefined;
}

/** What the run set beyond the defaults, one phrase each: long in the table's heading, short in the plot's. */
function settings(r: ScalingResult, form: "long" | "short"): string[] {
  const long = form === "long";
  return [
    r.machine ? `${long ? "QEMU's " : ""}${r.machine}${long ? " board" : ""}` : "",
    r.slowBps ? `disks${long ? " read" : ""} at ${r.slowBps / 1e6} MB/s` : "",
    r.slowIops ? `${r.slowIops} ${long ? "read requests" : "reads"}/s` : "",
    r.integrityHash ? `${long ? "the pair's dm-verity hash" : "dm-verity"} ${r.integrityHash}` : "",
    r.rootFs ? `${long ? "a " : ""}${r.rootFs} root` : "",
    r.storageInit ? `storage-init ${r.storageInit}` : "",
  ].filter(Boolean);
}

/** A Markdown table, one row per size and variant, then the growth lines. */
export function renderTable(r: ScalingResult, s: Summary = summarize(r)): string {
  const rows = [`-cpu ${r.cpu ?? "qemu64"}, ${r.clock === "icount" ? "instruction clock (-icount shift=0: 1 instruction = 1 ns)" : "TCG wall clock"}${settings(r, "long").map((x) => `, ${x}`).join("")}, medians of ${r.runs}`, "", "| N MiB | variant | to the real root | kernel | storage-init | original init | MemAvailable |", "|---|---|---|---|---|---|---|"];
  for (const p of s.perSize) {
    for (const v of VARIANTS) {
      const x = p[v];
      rows.push(`| ${p.mib} | ${v} | ${f2(x.uptime)} s${v === "pair" ? ` (${f2(p.ratio)})` : ""} | ${f2(x.kernel)} s | ${v === "pair" ? `${f2(x.storageInit)} s` : "–"} | ${f2(x.originalInit)} s | ${x.memAvailableMiB.toFixed(1)} MiB |`);
    }
  }
  rows.push("");
  if (r.slowBps) {
    for (const [i, p] of s.perSize.entries()) {
      // the boot loader reads the whole initramfs from the same medium before the kernel starts
      const z = r.sizes[i], st = p.stock.uptime + z.initramfsBytes / r.slowBps, pa = p.pair.uptime + z.miniBytes / r.slowBps;
      rows.push(`N = ${p.mib}: with the boot loader's read of the initramfs at ${r.slowBps / 1e6} MB/s: stock ${f2(st)} s, pair ${f2(pa)} s (${f2(pa / st)}; ${Math.round(1000 * (st - pa))} ms saved)`);
    }
  }
  for (const p of s.perSize) {
    const sh = p.pair.sharedModuleSeconds;
    if (sh !== undefined) rows.push(`N = ${p.mib}: of storage-init's ${f2(p.pair.storageInit)} s, ${f2(sh)} s load modules the stock boot loads too (moved out of the original init's phase); the rest: ${f2(p.pair.storageInit - sh)} s`);
  }
  for (const z of r.sizes) {
    const req = medianOfAll(z.samples.pair, (x) => x.bootDiskReads?.requests);
    const mb = medianOfAll(z.samples.pair, (x) => x.bootDiskReads?.bytes), stockMb = medianOfAll(z.samples.stock, (x) => x.bootDiskReads?.bytes);
    if (req === undefined || mb === undefined || stockMb === undefined) continue;
    rows.push(`N = ${z.mib}: read from the boot disk until the root: pair ${(mb / 1e6).toFixed(1)} MB in ${Math.round(req)} requests (${(mb / 1e3 / req).toFixed(0)} KB each on average), stock ${(stockMb / 1e6).toFixed(1)} MB (probes)`);
  }
  // a slope needs two sizes
  if (s.perSize.length >= 2) rows.push(`growth per 100 MiB appended: stock ${f2(s.growthPer100MiB.stock)} s, pair ${f2(s.growthPer100MiB.pair)} s (${s.pairGrowthPercent.toFixed(1)} % of the stock's; target ≤ 5 %)`);
  if (s.perSize.length >= 2) rows.push(`growth per 100 MiB of the original init's start (kernel + storage-init): stock ${f2(s.startGrowthPer100MiB.stock)} s, pair ${f2(s.startGrowthPer100MiB.pair)} s (${s.pairStartGrowthPercent.toFixed(1)} %)`);
  // MemFree leaves out free pages parked on the per-CPU lists (up to tens of MiB, varying per boot)
  for (const z of r.sizes) {
    const mib = (v: Variant, kiB: (x: ScalingSample) => number | undefined) => {
      const m = medianOfAll(z.samples[v], kiB);
      return m === undefined ? undefined : m / 1024;
    };
    const both = (what: string, kiB: (x: ScalingSample) => number | undefined) => {
      const st = mib("stock", kiB), pa = mib("pair", kiB);
      if (st !== undefined && pa !== undefined) rows.push(`N = ${z.mib}: ${what}: stock ${st.toFixed(1)} MiB, pair ${pa.toFixed(1)} MiB (${pa >= st ? "+" : ""}${(pa - st).toFixed(1)} MiB)`);
    };
    both("free memory at the root including the per-CPU lists (MemFree + their count)",
      (x) => (x.perCpuFreeKiB && x.meminfo?.MemFree !== undefined ? x.meminfo.MemFree + x.perCpuFreeKiB.count : undefined));
    const gone = unloadedModules(z.samples.pair);
    if (gone.length) both(`free memory at the end of the boot including the per-CPU lists, the pair with the modules the stock boot did not have unloaded (a diagnosis: ${gone.join(", ")})`, (x) => x.freeAtEndKiB);
  }
  if (r.minMemoryMiB) {
    const m = r.minMemoryMiB;
    const show = (x: number | null) => (x === null ? "none tried" : `${x} MiB`);
    const ratio = m.stock && m.pair ? ` (${(m.pair / m.stock).toFixed(2)} × stock; target ≤ 0.30)` : "";
    rows.push(`smallest guest RAM booting N = ${m.mib} to the real root (${m.step} MiB steps): stock ${show(m.stock)}, pair ${show(m.pair)}${ratio}`);
  }
  return rows.join("\n");
}

const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const COLORS = { kernel: "#4e79a7", storageInit: "#f28e2b", originalInit: "#59a14f", stock: "#e15759", pair: "#4e79a7" };
const PHASES = [["kernel", "kernel until the first program"], ["storageInit", "storage-init"], ["originalInit", "original init until the real root"]] as const;

/**
 * Two charts side by side: stacked per-phase bars (stock and pair at each N) and the scaling
 * lines (median seconds to the real root over N MiB). Plain SVG, no script, no fonts to load.
 */
export function renderSvg(r: ScalingResult, s: Summary = summarize(r)): string {
  const W = 900, H = 380, top = 48, bottom = 300, out: string[] = [];
  const maxT = Math.max(...s.perSize.flatMap((p) => VARIANTS.map((v) => p[v].kernel + p[v].storageInit + p[v].originalInit)), ...s.perSize.flatMap((p) => VARIANTS.map((v) => p[v].uptime)));
  const yMax = Math.ceil(maxT / 2) * 2 || 1;
  const y = (t: number) => bottom - (t / yMax) * (bottom - top);
  const axis = (x0: number, x1: number) => {
    for (let t = 0; t <= yMax; t += yMax > 20 ? 5 : 2) {
      out.push(`<line x1="${x0}" x2="${x1}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${x0 - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
    }
    out.push(`<text x="${x0 - 36}" y="${(top + bottom) / 2}" transform="rotate(-90 ${x0 - 36} ${(top + bottom) / 2})" text-anchor="middle">seconds (median)</text>`);
  };
  out.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="14">Boot to the real root, stock initramfs vs initoverlayfs pair, N MiB appended</text>`);
  out.push(`<text x="${W / 2}" y="31" text-anchor="middle">${esc(r.kernel)}, medians of ${r.runs}, -m ${r.memoryMiB}, -cpu ${esc(r.cpu ?? "qemu64")}, ${r.clock === "icount" ? "instruction clock" : "TCG wall clock"}${settings(r, "short").map((x) => `, ${esc(x)}`).join("")}</text>`);
  // left: stacked phases
  const L0 = 70, L1 = 450, group = (L1 - L0) / s.perSize.length, bw = Math.min(40, group / 3);
  axis(L0, L1);
  s.perSize.forEach((p, i) => {
    VARIANTS.forEach((v, j) => {
      const x = L0 + group * i + group / 2 + (j ? 4 : -4 - bw);
      let t0 = 0;
      for (const [k] of PHASES) {
        const d = p[v][k];
        if (d > 0) out.push(`<rect x="${x}" y="${y(t0 + d)}" width="${bw}" height="${y(t0) - y(t0 + d)}" fill="${COLORS[k]}"><title>${v} N=${p.mib}: ${k} ${f2(d)} s</title></rect>`);
        t0 += d;
      }
      out.push(`<text x="${x + bw / 2}" y="${bottom + 14}" text-anchor="middle">${v}</text>`);
    });
    out.push(`<text x="${L0 + group * i + group / 2}" y="${bottom + 30}" text-anchor="middle">N = ${p.mib} MiB</text>`);
  });
  // legend entries side by side, each as wide as its text (about 7 px a character at this size)
  let lx = L0;
  for (const [k, label] of PHASES) {
    const text = label.replace("until the ", "→ ");
    out.push(`<rect x="${lx}" y="${H - 22}" width="10" height="10" fill="${COLORS[k]}"/><text x="${lx + 14}" y="${H - 13}">${text}</text>`);
    lx += 14 + 7 * text.length + 24;
  }
  // right: scaling lines
  const R0 = 540, R1 = W - 30, nMax = Math.max(...s.perSize.map((p) => p.mib)) || 1;
  const x = (n: number) => R0 + (n / nMax) * (R1 - R0);
  axis(R0, R1);
  for (const p of s.perSize) out.push(`<text x="${x(p.mib)}" y="${bottom + 16}" text-anchor="middle">${p.mib}</text>`);
  out.push(`<text x="${(R0 + R1) / 2}" y="${bottom + 32}" text-anchor="middle">N MiB appended to the initramfs</text>`);
  VARIANTS.forEach((v, j) => {
    const pts = s.perSize.map((p) => `${x(p.mib).toFixed(1)},${y(p[v].uptime).toFixed(1)}`);
    out.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${COLORS[v]}" stroke-width="2"/>`);
    for (const p of s.perSize) out.push(`<circle cx="${x(p.mib).toFixed(1)}" cy="${y(p[v].uptime).toFixed(1)}" r="3" fill="${COLORS[v]}"><title>${v} N=${p.mib}: ${f2(p[v].uptime)} s</title></circle>`);
    out.push(`<rect x="${R0 + 10}" y="${top + 16 * j}" width="10" height="10" fill="${COLORS[v]}"/><text x="${R0 + 24}" y="${top + 9 + 16 * j}">${v}: ${f2(s.growthPer100MiB[v])} s per 100 MiB</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">\n<rect width="${W}" height="${H}" fill="white"/>\n${out.join("\n")}\n</svg>\n`;
}
