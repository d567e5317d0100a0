/**
 * Benchmark: storage-init's `integrity = copy` image step (copy the image into a sealed memfd while
 * computing its fs-verity digest, compare, attach a loop device, mount EROFS) versus the reference
 * tools doing the copy and the digest (`cat IMAGE > tmpfs file && fsverity digest` of the copy),
 * on the same image, alternating runs. Root (loop device, mounts). Prints a table and a JSON line.
 *
 *   node dist/bench/copy-verify.js [EROFS-IMAGE] [--runs N]
 *
 * Without an image, the newest /boot/initrd.img-* is converted with our CLI first.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { machine } from "node:os";
import { archOfUname } from "../src/formats/elf/arch.js";
import { storageInitPath } from "../src/io/package-files.js";
import { defaultInitramfs, median, timed, tmpfs } from "./common.js";
import { benchArgs } from "./args.js";

const args = benchArgs(import.meta.url, { runs: "N" }, "EROFS-IMAGE");
const runs = args.number("runs", 5, { min: 1, integer: true });
const here = fileURLToPath(new URL(".", import.meta.url));
const cli = join(here, "../src/cli/bin.js");
// run here: the binary for this machine
const arch = archOfUname(machine());
if (!arch) throw new Error(`no storage-init for this machine (${machine()})`);
const storageInit = storageInitPath(arch);

function sh(cmd: string): string {
  const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

const fs = tmpfs();
try {
  let image = args.positionals[0] ? resolve(args.positionals[0]) : join(fs.dir, "image.erofs");
  if (!args.positionals[0]) sh(`node ${cli} convert ${defaultInitramfs()} -o ${image} >/dev/null`);
  // the image sits on disk-backed storage in real boots; here in the page cache for both sides
  const digest = sh(`fsverity digest --hash-alg=sha256 --block-size=4096 ${image}`).split(" ")[0];
  const conf = join(fs.dir, "initoverlayfs.conf");
  writeFileSync(conf, `boot = LABEL=x\nimage = /x\nintegrity = copy\ndigest = ${digest}\n`);
  const mnt = join(fs.dir, "mnt");
  mkdirSync(mnt);
  const ours: number[] = [];
  const ref: number[] = [];
  for (let i = 0; i < runs; i++) {
    try {
      ours.push(timed(`${storageInit} --mount-image ${conf} ${image} ${mnt} >/dev/null 2>&1`).seconds);
    } finally {
      spawnSync("umount", [mnt]);
    }
    ref.push(timed(`cat ${image} > ${fs.dir}/copy && fsverity digest --hash-alg=sha256 --block-size=4096 ${fs.dir}/copy >/dev/null && rm ${fs.dir}/copy`).seconds);
  }
  const size = statSync(image).size;
  const result = {
    image, imageBytes: size, runs,
    ours: { step: "storage-init --mount-image (integrity = copy)", medianSeconds: median(ours) },
    reference: { step: "cat IMAGE > tmpfs && fsverity digest", medianSeconds: median(ref) },
    timeRatio: median(ours) / median(ref),
  };
  console.log(`image ${image} (${size} bytes), ${runs} alternating runs each`);
  console.log(`ours:      ${result.ours.medianSeconds.toFixed(2)} s median (${(size / 2 ** 20 / result.ours.medianSeconds).toFixed(0)} MiB/s): copy + digest + seal + loop + mount`);
  console.log(`reference: ${result.reference.medianSeconds.toFixed(2)} s median: cat to tmpfs + fsverity digest`);
  console.log(`time ratio ours/reference: ${result.timeRatio.toFixed(2)}`);
  console.log(JSON.stringify(result));
} finally {
  fs.cleanup();
}
