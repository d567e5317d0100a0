/**
 * `npm run fuzz`: runs every fuzz target, one at a time. TypeScript targets (targets.ts) under
 * our mutation driver (worker.ts, in a worker thread this process watches), storage-init's
 * (storage-init/fuzz/*.c) as libFuzzer binaries with ASan/UBSan. Each gets a time and/or execution budget and a per-input time cap; new
 * inputs go to fuzz-out/corpus/TARGET, findings (crash-*, timeout-*, oom-*) to
 * fuzz-out/findings/TARGET, each run's log to fuzz-out/logs/TARGET.log.
 *
 *   node dist/test/fuzz/run.js [--target NAME]... [--seconds S] [--runs N] [--timeout S] [--list]
 *
 * Defaults: 60 s per target (FUZZ_SECONDS), no execution limit (FUZZ_RUNS), 10 s per input.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureSeeds } from "./seeds.js";
import { InitoverlayfsError } from "../../src/errors.js";
import { TARGETS } from "./targets.js";
import type { WorkerConfig, WorkerCrash, WorkerDone } from "./worker.js";

const here = dirname(fileURLToPath(import.meta.url));
/** the repository (this file runs from dist/test/fuzz) */
export const REPO = resolve(here, "../../..");
export const WORK = join(REPO, "fuzz-out");

/** storage-init's targets: storage-init/fuzz/NAME.c, seeds in the "c-NAME" directory */
export const C_TARGETS: readonly { name: string; what: string }[] = [
  { name: "c-config", what: "config_parse + config_finish, then verity_table (storage-init/src/config.c)" },
  { name: "c-cmdline", what: "the kernel command line tokenizer and initoverlayfs.* overrides (src/cmdline.c)" },
  { name: "c-probe", what: "ext2/3/4, vfat, xfs, btrfs superblock probes (src/blkid.c)" },
  { name: "c-gpt", what: "GPT header and entries, MBR disk signature, as blockdev.c reads them (src/gpt.c)" },
  { name: "c-script", what: "the shim script rewrite (src/script.c)" },
  { name: "c-verity", what: "the dm-verity superblock check against a config (src/verity.c)" },
  { name: "c-efivar", what: "LoaderDevicePartUUID's efivarfs bytes for boot = esp (src/efivar.c)" },
  { name: "c-manifest", what: "the mini initramfs's manifest and its lookups (src/manifest.c)" },
  { name: "c-pkcs7", what: "a certificate and a detached PKCS#7 signature, checked as storage-init checks a DDI's (src/pkcs7.c, BearSSL)" },
  { name: "c-ext4", what: "ext2/3/4 metadata: an image's extents found by path without a mount (src/ext4map.c)" },
  { name: "c-ddi", what: "a DDI's GPT as storage-init reads it at boot: partitions by type, bounds, the signature JSON's root hash (src/ddi.c)" },
];

export const ALL_TARGETS = [...TARGETS.map((t) => t.name), ...C_TARGETS.map((t) => t.name)];

export interface FuzzOptions {
  targets?: readonly string[];
  /** time budget per target */
  seconds?: number;
  /** execution budget per target (whichever of the two ends first) */
  runs?: number;
  /** the per-input cap: an input running longer is a finding */
  timeoutSeconds?: number;
  /** where corpus, findings, logs and stats go (default fuzz-out) */
  workDir?: string;
  /** where the seeds are made once (default fuzz-out/seeds) */
  seedsDir?: string;
  /** the mutation driver's PRNG seed (default: the clock; the log names it, to repeat a run) */
  seed?: number;
  /** one line per target as it finishes */
  log?: (line: string) => void;
}

export interface TargetReport {
  target: string;
  engine: "mutation" | "libFuzzer";
  execs: number;
  seconds: number;
  execsPerSec: number;
  /** the slowest single input, ms */
  maxMs: number;
  peakRssMb?: number;
  /** crash/timeout/oom files the engine wrote, or the reason it failed */
  findings: string[];
  log: string;
}

function stat(log: string, name: string): number | undefined {
  const m = new RegExp(`stat::${name}:\\s*(\\d+)`).exec(log);
  return m ? Number(m[1]) : undefined;
}

type RunOpts = Required<Pick<FuzzOptions, "timeoutSeconds" | "workDir" | "seedsDir">> & FuzzOptions;

async function runOne(target: string, opts: RunOpts): Promise<TargetReport> {
  const work = opts.workDir;
  const seeds = join(opts.seedsDir, target);
  // minimized findings, kept in the repository: replayed first by every run
  const regressions = join(REPO, "test", "fuzz", "regressions", target);
  const inputs = [corpusOf(work, target), seeds, ...(existsSync(regressions) ? [regressions] : [])];
  const corpus = inputs[0];
  const findingsDir = join(work, "findings", target);
  const statsFile = join(work, "stats", `${target}.json`);
  const logFile = join(work, "logs", `${target}.log`);
  for (const d of [corpus, findingsDir, dirname(statsFile), dirname(logFile)]) mkdirSync(d, { recursive: true });
  rmSync(statsFile, { force: true });
  const before = new Set(readdirSync(findingsDir));

  const started = Date.now();
  const ts = TARGETS.find((t) => t.name === target);
  const r = ts
    ? await runMutation(target, inputs, findingsDir, opts)
    : await runLibFuzzer(target, inputs, findingsDir, statsFile, opts);
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(logFile, r.log);
  const findings = readdirSync(findingsDir).filter((f) => !before.has(f)).map((f) => join(findingsDir, f));
  if (r.failed && findings.length === 0) findings.push(`failed: ${lastLines(r.log)}`);
  let maxMs = r.maxMs ?? 0;
  if (!ts && existsSync(statsFile)) maxMs = (JSON.parse(readFileSync(statsFile, "utf8")) as { maxMs: number }).maxMs;
  return {
    target,
    engine: ts ? "mutation" : "libFuzzer",
    execs: r.execs,
    seconds,
    execsPerSec: Math.round(r.execs / seconds),
    maxMs,
    peakRssMb: r.peakRssMb,
    findings,
    log: logFile,
  };
}

interface EngineResult {
  execs: number;
  maxMs?: number;
  peakRssMb?: number;
  failed: boolean;
  log: string;
}

async function runLibFuzzer(target: string, inputs: string[], findingsDir: string, statsFile: string, opts: RunOpts): Promise<EngineResult> {
  const args = [
    `-timeout=${opts.timeoutSeconds}`,
    "-rss_limit_mb=2048",
    "-print_final_stats=1",
    `-artifact_prefix=${findingsDir}/`,
    ...(opts.seconds !== undefined ? [`-max_total_time=${opts.seconds}`] : []),
    ...(opts.runs !== undefined ? [`-runs=${opts.runs}`] : []),
    ...inputs,
  ];
  const bin = join(REPO, "storage-init", "build", "fuzz", target.replace(/^c-/, ""));
  const { code, output } = await new Promise<{ code: number; output: string }>((done) => {
    const child = spawn(bin, args, { env: { ...process.env, FUZZ_STATS: statsFile }, stdio: ["ignore", "pipe", "pipe"] });
    const parts: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => parts.push(b));
    child.stderr.on("data", (b: Buffer) => parts.push(b));
    child.on("close", (c, signal) => done({ code: c ?? (signal ? 128 : -1), output: Buffer.concat(parts).toString("latin1") }));
  });
  const execs = stat(output, "number_of_executed_units") ?? Number(/Done (\d+) runs/.exec(output)?.[1] ?? 0);
  return { execs, peakRssMb: stat(output, "peak_rss_mb"), failed: code !== 0, log: output };
}

/** RSS above which a TypeScript target's input counts as an out-of-memory finding */
const RSS_LIMIT = 2048 * 2 ** 20;
/** the largest input the driver shares with its watchdog */
const MAX_INPUT = 4 << 20;

/**
 * Runs a TypeScript target in a worker thread and watches it: an input still running after the
 * cap, or memory growing past RSS_LIMIT, is saved (timeout-*, oom-*) and the worker terminated;
 * a crash the worker reports is saved as crash-*, minimized next to it (crash-*.min).
 */
async function runMutation(target: string, inputs: string[], findingsDir: string, opts: RunOpts): Promise<EngineResult> {
  const control = new SharedArrayBuffer(16);
  const startedAt = new SharedArrayBuffer(8);
  const input = new SharedArrayBuffer(MAX_INPUT);
  const ctl = new Int32Array(control);
  const seed = opts.seed ?? (Date.now() & 0x7fffffff);
  const config: WorkerConfig = {
    target, corpusDirs: inputs, seed, runs: opts.runs ?? Number.MAX_SAFE_INTEGER, control, started: startedAt, input,
  };
  const worker = new Worker(join(here, "worker.js"), {
    workerData: config,
  });
  const log: string[] = [`target ${target}, seed ${seed}, inputs ${inputs.join(" ")}`];
  const save = (kind: string, bytes: Uint8Array): string => {
    const file = join(findingsDir, `${kind}-${createHash("sha1").update(bytes).digest("hex")}`);
    writeFileSync(file, bytes);
    return file;
  };
  const current = () => new Uint8Array(input, 0, Math.min(Atomics.load(ctl, 1), MAX_INPUT)).slice();
  let peakRss = 0;
  const result = await new Promise<EngineResult>((done) => {
    let finished = false;
    const finish = (r: EngineResult) => {
      if (finished) return;
      finished = true;
      clearInterval(watch);
      clearTimeout(stopTimer);
      done(r);
    };
    const stopTimer = setTimeout(() => Atomics.store(ctl, 2, 1), (opts.seconds ?? 1e9) * 1000);
    const watch = setInterval(() => {
      const rss = process.memoryUsage.rss();
      peakRss = Math.max(peakRss, rss);
      const running = Atomics.load(ctl, 3) === 1;
      const ms = performance.timeOrigin + performance.now() - new Float64Array(startedAt)[0];
      let kind: string | undefined;
      if (running && ms > opts.timeoutSeconds * 1000) kind = "timeout";
      else if (rss > RSS_LIMIT) kind = "oom";
      if (!kind) return;
      const file = save(kind, current());
      log.push(`${kind}: input of ${Atomics.load(ctl, 1)} bytes ran ${Math.round(ms)} ms, rss ${rss >> 20} MB: ${file}`);
      void worker.terminate();
      finish({ execs: Atomics.load(ctl, 0), failed: true, log: log.join("\n") });
    }, 100);
    worker.on("message", async (m: WorkerDone | WorkerCrash) => {
      if (m.type === "done") {
        const slow = join(dirname(findingsDir), "..", "slowest", target);
        mkdirSync(dirname(slow), { recursive: true });
        writeFileSync(slow, m.slowest);
        log.push(`done: ${m.execs} execs, corpus ${m.corpus}, outcomes ${m.outcomes}, slowest input ${m.maxMs.toFixed(1)} ms (${m.maxMsSize} bytes: ${slow})`);
        finish({ execs: m.execs, maxMs: m.maxMs, failed: false, log: log.join("\n") });
        return;
      }
      const file = save("crash", m.input);
      log.push(`crash: ${file}\n${m.error}`);
      void worker.terminate();
      const min = await minimize(target, m.input);
      const minFile = `${join(findingsDir, `crash-${createHash("sha1").update(min).digest("hex")}`)}.min`;
      writeFileSync(minFile, min);
      log.push(`minimized to ${min.length} bytes: ${minFile}`);
      finish({ execs: Atomics.load(ctl, 0), failed: true, log: log.join("\n") });
    });
    worker.on("error", (e) => {
      log.push(`worker error: ${e.stack ?? e}`);
      finish({ execs: Atomics.load(ctl, 0), failed: true, log: log.join("\n") });
    });
    worker.on("exit", (code) => {
      if (!finished) finish({ execs: Atomics.load(ctl, 0), failed: code !== 0, log: [...log, `worker exited ${code}`].join("\n") });
    });
  });
  await worker.terminate();
  return { ...result, peakRssMb: peakRss >> 20 };
}

/**
 * Shrinks a crashing input while it still crashes the same way (error name and first line, numbers
 * aside): removes ever smaller chunks, then zeroes bytes. Runs here, on this thread.
 */
export async function minimize(target: string, data: Uint8Array, budget = 4000): Promise<Uint8Array> {
  const t = TARGETS.find((x) => x.name === target)!;
  const signature = async (d: Uint8Array): Promise<string | undefined> => {
    try {
      await t.run(d);
      return undefined;
    } catch (e) {
      if (e instanceof InitoverlayfsError) return undefined;
      const err = e as Error;
      return `${err?.name}: ${String(err?.message).split("\n")[0].replace(/\d+/g, "#")}`;
    }
  };
  const want = await signature(data);
  if (want === undefined) return data;
  let best = data;
  let tries = 0;
  for (let chunk = best.length >> 1; chunk >= 1 && tries < budget; chunk >>= 1) {
    for (let at = 0; at < best.length && tries < budget; ) {
      const cand = new Uint8Array(best.length - Math.min(chunk, best.length - at));
      cand.set(best.subarray(0, at));
      cand.set(best.subarray(at + chunk), at);
      tries++;
      if ((await signature(cand)) === want) best = cand;
      else at += chunk;
    }
  }
  return best;
}

/** The engine adds new inputs to the first corpus directory. */
function corpusOf(work: string, target: string): string {
  return join(work, "corpus", target);
}

function lastLines(s: string): string {
  return s.trim().split("\n").slice(-6).join(" | ");
}

/** Builds storage-init's fuzz binaries (clang with libFuzzer, ASan, UBSan; scripts/setup.sh installs them). */
export function buildCTargets(): void {
  const r = spawnSync("make", ["-s", "-j2", "-C", join(REPO, "storage-init"), "fuzz"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`make -C storage-init fuzz failed (clang and libclang-rt-*-dev from scripts/setup.sh?): ${r.stderr || r.error?.message}`);
}

export async function runFuzz(opts: FuzzOptions = {}): Promise<TargetReport[]> {
  const workDir = opts.workDir ?? WORK;
  const seedsDir = opts.seedsDir ?? join(WORK, "seeds");
  const targets = opts.targets ?? ALL_TARGETS;
  for (const t of targets) if (!ALL_TARGETS.includes(t)) throw new Error(`no fuzz target ${JSON.stringify(t)} (have ${ALL_TARGETS.join(", ")})`);
  ensureSeeds(seedsDir);
  // the PKCS#7 target reads them (in the workers, and here when minimizing)
  process.env.INITOVERLAYFS_FUZZ_CERTS ??= join(seedsDir, "certs");
  if (targets.some((t) => t.startsWith("c-"))) buildCTargets();
  const reports: TargetReport[] = [];
  for (const target of targets) {
    const r = await runOne(target, { ...opts, workDir, seedsDir, timeoutSeconds: opts.timeoutSeconds ?? 10 });
    opts.log?.(formatReport(r));
    reports.push(r);
  }
  return reports;
}

export function formatReport(r: TargetReport): string {
  const rate = `${r.execsPerSec}/s`;
  return `${r.target.padEnd(13)} ${r.engine.padEnd(10)} ${String(r.execs).padStart(10)} execs ${r.seconds.toFixed(1).padStart(7)} s ${rate.padStart(9)}  max input ${r.maxMs.toFixed(1)} ms${
    r.peakRssMb !== undefined ? `  rss ${r.peakRssMb} MB` : ""
  }  ${r.findings.length ? `FINDINGS: ${r.findings.join(", ")}` : "no findings"}`;
}

async function main(argv: string[]): Promise<number> {
  const targets: string[] = [];
  let seconds: number | undefined = process.env.FUZZ_SECONDS ? Number(process.env.FUZZ_SECONDS) : undefined;
  let runs: number | undefined = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : undefined;
  let timeoutSeconds = 10;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--target") targets.push(value());
    else if (a === "--seconds") seconds = Number(value());
    else if (a === "--runs") runs = Number(value());
    else if (a === "--timeout") timeoutSeconds = Number(value());
    else if (a === "--list") {
      for (const t of TARGETS) console.log(`${t.name.padEnd(13)} ${t.what}`);
      for (const t of C_TARGETS) console.log(`${t.name.padEnd(13)} ${t.what}`);
      return 0;
    } else throw new Error(`unknown argument ${a} (--target NAME, --seconds S, --runs N, --timeout S, --list)`);
  }
  if (seconds === undefined && runs === undefined) seconds = 60;
  const reports = await runFuzz({ targets: targets.length ? targets : undefined, seconds, runs, timeoutSeconds, log: (l) => console.log(l) });
  const bad = reports.filter((r) => r.findings.length);
  console.log(bad.length ? `${bad.length} target(s) with findings; logs in ${join(WORK, "logs")}` : "no findings");
  return bad.length ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error((e as Error).message);
      process.exit(2);
    },
  );
}
