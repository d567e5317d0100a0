/**
 * Benchmark: compressed EROFS images, ours versus mkfs.erofs (erofs-utils 1.5) with the same
 * LZ4HC level, on the same input, alternating runs:
 *   - EROFS step alone: the initramfs already extracted into a directory on tmpfs, then
 *     `initoverlayfs convert DIR -z lz4hc,L` vs `mkfs.erofs -zlz4hc,L`;
 *   - whole conversion: `initoverlayfs convert INITRAMFS -z lz4hc,L` vs
 *     `<decompressor> | cpio -idm` (tmpfs) then `mkfs.erofs -zlz4hc,L`;
 *   - image sizes, with the same fixed timestamp (-T0 / --timestamp 0) and with the defaults.
 * Prints the ratios, the load average (the machine may be shared) and a JSON line.
 *
 *   node dist/bench/compress.js [INITRAMFS] [--runs N] [--level L] [--workers N]
 */
import { readFileSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decompressorFor, defaultInitramfs, median, timed, tmpfs } from "./common.js";
import { benchArgs } from "./args.js";

const args = benchArgs(import.meta.url, { runs: "N", level: "L", workers: "N" }, "INITRAMFS");
const runs = args.number("runs", 3, { min: 1, integer: true });
const level = args.number("level", 9, { integer: true });
const workers = args.number("workers", 0, { integer: true }); // 0: the CLI's default
const input = resolve(args.positionals[0] ?? defaultInitramfs());
const cli = join(fileURLToPath(new URL(".", import.meta.url)), "../src/cli/bin.js");
const head = readFileSync(input).subarray(0, 8);
if (head.subarray(0, 6).toString() === "070701") throw new Error("the reference pipeline here handles single-segment initramfs files only");
const decomp = decompressorFor(head);
const z = `-z lz4hc,${level}${workers ? ` --workers ${workers}` : ""}`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

const fs = tmpfs();
try {
  const tree = `${fs.dir}/tree`;
  timed(`mkdir ${tree} && ${decomp} ${input} | (cd ${tree} && cpio -idm --quiet)`);
  const loadBefore = load();
  const step = { ours: [] as number[], ref: [] as number[] };
  const whole = { ours: [] as number[], ref: [] as number[] };
  for (let i = 0; i < runs; i++) {
    step.ours.push(timed(`node ${cli} convert ${tree} -o ${fs.dir}/o.img ${z} >/dev/null && rm ${fs.dir}/o.img`).seconds);
    step.ref.push(timed(`mkfs.erofs --quiet -zlz4hc,${level} ${fs.dir}/r.img ${tree} && rm ${fs.dir}/r.img`).seconds);
    whole.ours.push(timed(`node ${cli} convert ${input} -o ${fs.dir}/o.img ${z} >/dev/null && rm ${fs.dir}/o.img`).seconds);
    whole.ref.push(timed(`d=$(mktemp -d -p ${fs.dir}) && ${decomp} ${input} | (cd $d && cpio -idm --quiet) && mkfs.erofs --quiet -zlz4hc,${level} ${fs.dir}/r.img $d && rm -rf $d ${fs.dir}/r.img`).seconds);
  }
  const loadAfter = load();
  const size = (cmd: string, file: string) => (timed(cmd), statSync(file).size);
  const sizes = {
    oursT0: size(`node ${cli} convert ${tree} -o ${fs.dir}/s1.img ${z} --timestamp 0 >/dev/null`, `${fs.dir}/s1.img`),
    refT0: size(`mkfs.erofs --quiet -zlz4hc,${level} -T0 ${fs.dir}/s2.img ${tree}`, `${fs.dir}/s2.img`),
    ours: size(`node ${cli} convert ${tree} -o ${fs.dir}/s3.img ${z} >/dev/null`, `${fs.dir}/s3.img`),
    ref: size(`mkfs.erofs --quiet -zlz4hc,${level} ${fs.dir}/s4.img ${tree}`, `${fs.dir}/s4.img`),
  };
  const m = (xs: number[]) => median(xs);
  const result = {
    input, inputBytes: statSync(input).size, runs, level, workers: workers || "default",
    stepSeconds: { ours: m(step.ours), ref: m(step.ref), ratio: m(step.ours) / m(step.ref) },
    wholeSeconds: { ours: m(whole.ours), ref: m(whole.ref), ratio: m(whole.ours) / m(whole.ref) },
    sizes: { ...sizes, ratioT0: sizes.oursT0 / sizes.refT0, ratio: sizes.ours / sizes.ref },
    load: { before: loadBefore, after: loadAfter },
  };
  console.log(`input ${input} (${result.inputBytes} bytes), lz4hc level ${level}, ${runs} alternating runs each; load average before ${loadBefore}, after ${loadAfter}`);
  console.log(`EROFS step (tree on tmpfs → image): ours ${m(step.ours).toFixed(2)} s, mkfs.erofs ${m(step.ref).toFixed(2)} s, ratio ${result.stepSeconds.ratio.toFixed(2)}`);
  console.log(`whole conversion: ours ${m(whole.ours).toFixed(2)} s, ${decomp} | cpio -idm && mkfs.erofs ${m(whole.ref).toFixed(2)} s, ratio ${result.wholeSeconds.ratio.toFixed(2)}`);
  console.log(`image size, -T0: ours ${sizes.oursT0} B, mkfs.erofs ${sizes.refT0} B, ratio ${result.sizes.ratioT0.toFixed(4)}; defaults: ${sizes.ours} / ${sizes.ref} = ${result.sizes.ratio.toFixed(4)}`);
  console.log(JSON.stringify(result));
} finally {
  fs.cleanup();
}
