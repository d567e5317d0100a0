/**
 * Benchmark: initramfs → uncompressed EROFS image, ours versus the reference pipeline
 * (`<decompressor> | cpio -idm` into a fresh directory on tmpfs, then `mkfs.erofs`), on the same
 * input, alternating runs. Prints a table and a JSON line.
 *
 *   node dist/bench/convert.js [INITRAMFS] [--runs N]
 */
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decompressorFor, defaultInitramfs, median, timed, tmpfs } from "./common.js";
import { benchArgs } from "./args.js";

const args = benchArgs(import.meta.url, { runs: "N" }, "INITRAMFS");
const runs = args.number("runs", 5, { min: 1, integer: true });
const input = resolve(args.positionals[0] ?? defaultInitramfs());
const cli = join(fileURLToPath(new URL(".", import.meta.url)), "../src/cli/bin.js");
const head = readFileSync(input).subarray(0, 8);
if (head.subarray(0, 6).toString() === "070701") {
  throw new Error("this input starts with an uncompressed (early) archive; the reference pipeline here handles single-segment initramfs files only");
}
const decomp = decompressorFor(head);

const fs = tmpfs();
try {
  const ours: { seconds: number; maxRssKiB: number }[] = [];
  const ref: { seconds: number; maxRssKiB: number }[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(timed(`node ${cli} convert ${input} -o ${fs.dir}/ours.img >/dev/null && rm ${fs.dir}/ours.img`));
    ref.push(timed(`d=$(mktemp -d -p ${fs.dir}) && ${decomp} ${input} | (cd $d && cpio -idm --quiet) && mkfs.erofs --quiet ${fs.dir}/ref.img $d >/dev/null && rm -rf $d ${fs.dir}/ref.img`));
  }
  // sizes from one more run of each
  timed(`node ${cli} convert ${input} -o ${fs.dir}/ours.img >/dev/null`);
  timed(`d=$(mktemp -d -p ${fs.dir}) && ${decomp} ${input} | (cd $d && cpio -idm --quiet) && mkfs.erofs --quiet ${fs.dir}/ref.img $d >/dev/null`);
  const result = {
    input, inputBytes: statSync(input).size, runs,
    ours: { medianSeconds: median(ours.map((r) => r.seconds)), peakRssMiB: Math.max(...ours.map((r) => r.maxRssKiB)) / 1024, imageBytes: statSync(`${fs.dir}/ours.img`).size },
    reference: { pipeline: `${decomp} | cpio -idm (tmpfs) && mkfs.erofs`, medianSeconds: median(ref.map((r) => r.seconds)), peakRssMiB: Math.max(...ref.map((r) => r.maxRssKiB)) / 1024, imageBytes: statSync(`${fs.dir}/ref.img`).size },
    timeRatio: 0, sizeRatio: 0,
  };
  result.timeRatio = result.ours.medianSeconds / result.reference.medianSeconds;
  result.sizeRatio = result.ours.imageBytes / result.reference.imageBytes;
  console.log(`input ${input} (${result.inputBytes} bytes), ${runs} alternating runs each`);
  console.log(`ours:      ${result.ours.medianSeconds.toFixed(2)} s median, peak RSS ${result.ours.peakRssMiB.toFixed(0)} MiB, image ${result.ours.imageBytes} bytes`);
  console.log(`reference: ${result.reference.medianSeconds.toFixed(2)} s median, peak RSS ${result.reference.peakRssMiB.toFixed(0)} MiB (largest process), image ${result.reference.imageBytes} bytes`);
  console.log(`time ratio ours/reference: ${result.timeRatio.toFixed(2)}; image size ratio: ${result.sizeRatio.toFixed(3)}`);
  console.log(JSON.stringify(result));
} finally {
  fs.cleanup();
}
