/**
 * Benchmark: fs-verity digest and dm-verity format of the same 256 MiB random file (on tmpfs),
 * ours (the CLI, a whole process as a user runs it) versus `fsverity digest` and
 * `veritysetup format --hash-offset` (same file, same salt and UUID), alternating runs. Checks
 * that the outputs agree, prints a table and a JSON line with the time ratios.
 *
 *   node dist/bench/digest.js [--mib N] [--runs N]
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, timed, tmpfs } from "./common.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : dflt;
};
const mib = opt("--mib", 256);
const runs = opt("--runs", 5);
const cli = join(fileURLToPath(new URL(".", import.meta.url)), "../src/cli/bin.js");
const size = mib << 20;
const salt = randomBytes(32).toString("hex");
const uuid = "12345678-9abc-def0-1234-56789abcdef0";

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

  const t = { oursDigest: [] as number[], fsverity: [] as number[], oursVerity: [] as number[], veritysetup: [] as number[] };
  for (let i = 0; i < runs; i++) {
    t.oursDigest.push(timed(`node ${cli} digest ${file} >/dev/null`).seconds);
    t.fsverity.push(timed(`fsverity digest ${file} >/dev/null`).seconds);
    // each format appends to the data file; truncating back (untimed) restores it
    t.oursVerity.push(timed(`node ${cli} verity ${file} --salt ${salt} --uuid ${uuid} >/dev/null`).seconds);
    sh(`truncate -s ${size} ${file}`);
    t.veritysetup.push(timed(`veritysetup format --hash-offset=${size} --data-blocks=${size / 4096} --salt=${salt} --uuid=${uuid} ${file} ${file} >/dev/null`).seconds);
    sh(`truncate -s ${size} ${file}`);
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<keyof typeof t, number>;
  const result = {
    mib, runs, medianSeconds: m,
    fsverityRatio: +(m.oursDigest / m.fsverity).toFixed(3),
    dmVerityRatio: +(m.oursVerity / m.veritysetup).toFixed(3),
  };
  process.stdout.write(`${mib} MiB, ${runs} runs, median wall time (whole processes)\n`);
  process.stdout.write(`fs-verity digest   ours ${m.oursDigest.toFixed(3)} s   fsverity digest    ${m.fsverity.toFixed(3)} s   ratio ${result.fsverityRatio}\n`);
  process.stdout.write(`dm-verity format   ours ${m.oursVerity.toFixed(3)} s   veritysetup format ${m.veritysetup.toFixed(3)} s   ratio ${result.dmVerityRatio}\n`);
  process.stdout.write(JSON.stringify(result) + "\n");
} finally {
  fs.cleanup();
}
