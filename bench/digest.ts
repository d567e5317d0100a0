/**
 * Benchmark: fs-verity digest and dm-verity format of the same 256 MiB random file (on tmpfs),
 * ours (the CLI, a whole process as a user runs it) versus `fsverity digest` and
 * `veritysetup format --hash-offset` (same file, same salt and UUID), alternating runs. Checks
 * that the outputs agree, prints a table and a JSON line with the time ratios. Also times the
 * library calls the build uses (fsverityDigestOfFile, appendVerityHashTree) inside this process,
 * without Node's and the CLI's start-up, and reports CPU time (user + system) next to wall time:
 * on a busy machine wall time follows CPU time.
 *
 *   node dist/bench/digest.js [--mib N] [--runs N]
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { availableParallelism, loadavg } from "node:os";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fsverityDigestOfFile } from "../src/integrity/fsverity-file.js";
import { appendVerityHashTree } from "../src/integrity/dm-verity-file.js";
import { median, tmpfs } from "./common.js";
import { benchArgs } from "./args.js";

const args = benchArgs(import.meta.url, { mib: "N", runs: "N" });
const mib = args.number("mib", 256, { min: 1, integer: true });
const runs = args.number("runs", 5, { min: 1, integer: true });
const cli = join(fileURLToPath(new URL(".", import.meta.url)), "../src/cli/bin.js");
const size = mib << 20;
const salt = randomBytes(32).toString("hex");
const uuid = "12345678-9abc-def0-1234-56789abcdef0";

/** wall and CPU (user + system) seconds of `sh -c cmd`, from GNU time */
function timed(cmd: string): { wall: number; cpu: number; rssMiB: number } {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", "sh", "-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`benchmark command failed (${r.status}): ${cmd}\n${r.stderr}`);
  const [e, u, sy, rss] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { wall: e, cpu: u + sy, rssMiB: rss / 1024 };
}

async function inProcess(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const u = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (u.user + u.system) / 1e6 };
}

function sh(cmd: string): string {
  const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

const fs = tmpfs(mib * 3 + 64);
try {
  const file = join(fs.dir, "data");
  const fd = openSync(file, "w");
  for (let i = 0; i < size; i += 1 << 24) writeSync(fd, randomBytes(Math.min(1 << 24, size - i)));
  closeSync(fd);

  // same answers first
  const oursDigest = sh(`node ${cli} digest ${file}`).split(" ")[0];
  const refDigest = sh(`fsverity digest ${file}`).split(" ")[0];
  if (oursDigest !== refDigest) throw new Error(`digests differ: ${oursDigest} vs ${refDigest}`);
  const ref = join(fs.dir, "ref");
  sh(`cp ${file} ${ref} && veritysetup format --hash-offset=${size} --data-blocks=${size / 4096} --salt=${salt} --uuid=${uuid} ${ref} ${ref} >/dev/null`);
  sh(`cp ${file} ${fs.dir}/ours && node ${cli} verity ${fs.dir}/ours --salt ${salt} --uuid ${uuid} >/dev/null`);
  if (Buffer.compare(readFileSync(ref), readFileSync(`${fs.dir}/ours`)) !== 0) throw new Error("dm-verity outputs differ");
  sh(`rm ${ref} ${fs.dir}/ours`);

  type T = { wall: number; cpu: number; rssMiB?: number };
  const t: Record<string, T[]> = { oursDigest: [], libDigest: [], fsverity: [], oursVerity: [], libVerity: [], veritysetup: [] };
  const saltBytes = Buffer.from(salt, "hex");
  const uuidBytes = Buffer.from(uuid.replace(/-/g, ""), "hex");
  for (let i = 0; i < runs; i++) {
    t.oursDigest.push(timed(`node ${cli} digest ${file} >/dev/null`));
    t.fsverity.push(timed(`fsverity digest ${file} >/dev/null`));
    t.libDigest.push(await inProcess(() => fsverityDigestOfFile(file)));
    // each format appends to the data file; truncating back (untimed) restores it
    t.oursVerity.push(timed(`node ${cli} verity ${file} --salt ${salt} --uuid ${uuid} >/dev/null`));
    sh(`truncate -s ${size} ${file}`);
    t.veritysetup.push(timed(`veritysetup format --hash-offset=${size} --data-blocks=${size / 4096} --salt=${salt} --uuid=${uuid} ${file} ${file} >/dev/null`));
    sh(`truncate -s ${size} ${file}`);
    t.libVerity.push(await inProcess(() => appendVerityHashTree(file, { salt: saltBytes, uuid: uuidBytes })));
    sh(`truncate -s ${size} ${file}`);
  }
  const med = (k: string, f: "wall" | "cpu") => +median(t[k].map((x) => x[f])).toFixed(3);
  const m = Object.fromEntries(Object.keys(t).map((k) => [k, { wall: med(k, "wall"), cpu: med(k, "cpu") }]));
  const ratio = (a: string, b: string, f: "wall" | "cpu") => +(m[a][f] / m[b][f]).toFixed(2);
  const result = {
    mib, runs, loadAverage: loadavg()[0], median: m,
    // bounded memory: the CLI's peak RSS does not grow with the file
    peakRssMiB: { oursDigest: Math.max(...t.oursDigest.map((x) => x.rssMiB ?? 0)), oursVerity: Math.max(...t.oursVerity.map((x) => x.rssMiB ?? 0)) },
    ratios: {
      cliDigestWall: ratio("oursDigest", "fsverity", "wall"), libDigestWall: ratio("libDigest", "fsverity", "wall"), libDigestCpu: ratio("libDigest", "fsverity", "cpu"),
      cliVerityWall: ratio("oursVerity", "veritysetup", "wall"), libVerityWall: ratio("libVerity", "veritysetup", "wall"), libVerityCpu: ratio("libVerity", "veritysetup", "cpu"),
    },
  };
  const row = (name: string, k: string) => `${name.padEnd(40)} ${m[k].wall.toFixed(3).padStart(7)} s  ${m[k].cpu.toFixed(3).padStart(7)} s\n`;
  process.stdout.write(`${mib} MiB on tmpfs, ${runs} runs, medians; load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores\n`);
  process.stdout.write(`${"".padEnd(40)} ${"wall".padStart(9)}  ${"cpu".padStart(9)}\n`);
  process.stdout.write(row("initoverlayfs digest (CLI)", "oursDigest") + row("fsverityDigestOfFile (library)", "libDigest") + row("fsverity digest", "fsverity"));
  process.stdout.write(row("initoverlayfs verity (CLI)", "oursVerity") + row("appendVerityHashTree (library)", "libVerity") + row("veritysetup format --hash-offset", "veritysetup"));
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  fs.cleanup();
}
