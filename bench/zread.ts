/**
 * Benchmark: reading LZ4-compressed EROFS images, ours versus erofs-utils (C, liblz4), on the same
 * images, alternating runs. The images are mkfs.erofs builds of an initramfs tree (unpacked with
 * our reader onto tmpfs first, untimed).
 *   check:   `initoverlayfs fsck IMAGE`            vs `fsck.erofs --extract IMAGE` (decodes every file)
 *   extract: `initoverlayfs extract IMAGE DIR`     vs `fsck.erofs --extract=DIR IMAGE`
 *
 *   node dist/bench/zread.js [INITRAMFS] [--runs N]
 */
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readInitramfs } from "../src/initramfs/read.js";
import { extractTree } from "../src/io/extract.js";
import { defaultInitramfs, median, timed, tmpfs } from "./common.js";
import { benchArgs } from "./args.js";

const args = benchArgs(import.meta.url, { runs: "N" }, "INITRAMFS");
const runs = args.number("runs", 5, { min: 1, integer: true });
const input = resolve(args.positionals[0] ?? defaultInitramfs());
const cli = join(fileURLToPath(new URL(".", import.meta.url)), "../src/cli/bin.js");
const VARIANTS = [["-zlz4hc"], ["-zlz4", "-C65536", "-Eztailpacking"]];

const fs = tmpfs();
try {
  const tree = join(fs.dir, "tree");
  extractTree((await readInitramfs(readFileSync(input))).tree, tree);
  const results = [];
  for (const v of VARIANTS) {
    const image = join(fs.dir, "z.img");
    timed(`mkfs.erofs --quiet ${v.join(" ")} ${image} ${tree} >/dev/null`);
    const t = { oursCheck: [] as number[], refCheck: [] as number[], oursExtract: [] as number[], refExtract: [] as number[] };
    const out = join(fs.dir, "out");
    for (let i = 0; i < runs; i++) {
      t.oursCheck.push(timed(`node ${cli} fsck ${image} >/dev/null`).seconds);
      t.refCheck.push(timed(`fsck.erofs --extract ${image} >/dev/null 2>&1`).seconds);
      t.oursExtract.push(timed(`node ${cli} extract ${image} ${out} >/dev/null && rm -rf ${out}`).seconds);
      t.refExtract.push(timed(`mkdir ${out} && fsck.erofs --extract=${out} ${image} >/dev/null 2>&1 && rm -rf ${out}`).seconds);
    }
    const m = Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, median(xs)])) as Record<keyof typeof t, number>;
    const r = {
      mkfs: v.join(" "), imageBytes: statSync(image).size, medians: m,
      checkRatio: m.oursCheck / m.refCheck, extractRatio: m.oursExtract / m.refExtract,
    };
    results.push(r);
    console.log(`mkfs.erofs ${r.mkfs}: image ${r.imageBytes} bytes, ${runs} alternating runs, medians`);
    console.log(`  check:   ours ${m.oursCheck.toFixed(2)} s, fsck.erofs --extract ${m.refCheck.toFixed(2)} s, ratio ${r.checkRatio.toFixed(2)}`);
    console.log(`  extract: ours ${m.oursExtract.toFixed(2)} s, fsck.erofs --extract=DIR ${m.refExtract.toFixed(2)} s, ratio ${r.extractRatio.toFixed(2)}`);
  }
  console.log(JSON.stringify({ input, runs, results }));
} finally {
  fs.cleanup();
}
