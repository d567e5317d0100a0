/**
 * One TypeScript fuzz target's loop, in a worker thread (driver.ts watches it: it can stop a
 * run that hangs or grows too big, which code on the same thread could not). Replays the corpus
 * (seeds, regressions, inputs kept earlier), then mutates. Without coverage instrumentation the
 * feedback is the outcome: an input that ends in an error never seen before (its message with
 * the numbers taken out, so: a new check reached) or in a success joins the corpus.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { InitoverlayfsError } from "../../src/errors.js";
import { mutate, rng } from "./mutate.js";
import { targetNamed } from "./targets.js";

export interface WorkerConfig {
  target: string;
  /** read first, in order; new inputs are written to the first */
  corpusDirs: string[];
  seed: number;
  runs: number;
  /** shared with the driver: [0] execs, [1] input length, [2] stop request, [3] running */
  control: SharedArrayBuffer;
  /** performance.timeOrigin + now() when the current input started */
  started: SharedArrayBuffer;
  /** the current input, for the driver to save when it has to stop a run */
  input: SharedArrayBuffer;
}

export interface WorkerDone {
  type: "done";
  execs: number;
  maxMs: number;
  maxMsSize: number;
  /** the slowest input, kept for a look (run.ts writes it next to the log) */
  slowest: Uint8Array;
  corpus: number;
  outcomes: number;
}

export interface WorkerCrash {
  type: "crash";
  input: Uint8Array;
  error: string;
}

/** What an input's run ended in: our errors by message template, anything else is a crash. */
export function outcomeOf(e: unknown): string {
  if (e === undefined) return "ok";
  const err = e as InitoverlayfsError & { detail?: string };
  const text = err.detail ?? err.message;
  return `${err.name}: ${String(text).replace(/"[^"]*"/g, '"…"').replace(/0x[0-9a-f]+|\d+/gi, "#").slice(0, 200)}`;
}

const MAX_CORPUS = 4000;

async function main(cfg: WorkerConfig): Promise<void> {
  const target = targetNamed(cfg.target);
  const control = new Int32Array(cfg.control);
  const started = new Float64Array(cfg.started);
  const shared = new Uint8Array(cfg.input);
  const r = rng(cfg.seed);
  const corpus: Uint8Array[] = [];
  for (const dir of cfg.corpusDirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (statSync(p).isFile() && corpus.length < MAX_CORPUS) corpus.push(new Uint8Array(readFileSync(p)));
    }
  }
  if (corpus.length === 0) corpus.push(new Uint8Array(0));
  const maxLen = Math.min(shared.length, Math.max(4096, ...corpus.map((c) => c.length * 2)));
  const seen = new Set<string>();
  let execs = 0;
  let maxMs = 0;
  let maxMsSize = 0;
  let slowest = new Uint8Array(0);

  const runOne = async (data: Uint8Array): Promise<string | undefined> => {
    shared.set(data.subarray(0, shared.length));
    Atomics.store(control, 1, data.length);
    started[0] = performance.timeOrigin + performance.now();
    Atomics.store(control, 3, 1);
    const t0 = performance.now();
    let outcome: string;
    try {
      await target.run(data);
      outcome = "ok";
    } catch (e) {
      if (!(e instanceof InitoverlayfsError)) {
        const crash: WorkerCrash = { type: "crash", input: data.slice(), error: (e as Error)?.stack ?? String(e) };
        parentPort!.postMessage(crash);
        return undefined;
      }
      outcome = outcomeOf(e);
    }
    Atomics.store(control, 3, 0);
    const ms = performance.now() - t0;
    if (ms > maxMs) (maxMs = ms), (maxMsSize = data.length), (slowest = data.slice());
    execs++;
    Atomics.store(control, 0, execs);
    return outcome;
  };

  // warm-up, not timed: the first run loads lazily required modules and compiles the code
  try {
    await target.run(corpus[0]);
  } catch {
    // judged below, in the replay
  }
  // replay: every input already kept, seeds and regressions first
  for (const c of [...corpus]) {
    const o = await runOne(c);
    if (o === undefined) return;
    seen.add(o);
  }
  const keepIn = cfg.corpusDirs[0];
  while (execs < cfg.runs && Atomics.load(control, 2) === 0) {
    const parent = corpus[Math.floor(r() * corpus.length)];
    const other = corpus[Math.floor(r() * corpus.length)];
    const hints = { ...target.hints, maxLen };
    let input = mutate(r, parent, other, hints);
    if (target.fixup && input.length >= 4096 && r() < 0.9) {
      input = input.slice(); // mutate() may hand back a view of the parent
      try {
        target.fixup(input);
      } catch {
        // too damaged to fix: run it as it is
      }
    }
    const o = await runOne(input);
    if (o === undefined) return;
    if (!seen.has(o)) {
      seen.add(o);
      if (corpus.length < MAX_CORPUS) {
        const copy = input.slice();
        corpus.push(copy);
        writeFileSync(join(keepIn, createHash("sha1").update(copy).digest("hex")), copy);
      }
    }
  }
  const done: WorkerDone = { type: "done", execs, maxMs, maxMsSize, slowest, corpus: corpus.length, outcomes: seen.size };
  parentPort!.postMessage(done);
}

if (parentPort && workerData?.target) {
  main(workerData as WorkerConfig).catch((e) => {
    parentPort!.postMessage({ type: "crash", input: new Uint8Array(0), error: `driver: ${(e as Error)?.stack ?? e}` } satisfies WorkerCrash);
  });
}
