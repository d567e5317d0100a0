/**
 * The benches' parser of one boot (bench/root-sample.ts) on captured QEMU consoles: Debian's
 * 6.1.0-57 kernel (TCG) booting its stock initramfs and the pair built from it into the test
 * root (bench/boot.ts's disks). Expected values are the fixtures' own lines, read by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseBootTimes, parseSample, SAMPLE_INIT } from "../../bench/root-sample.js";

const fixture = (name: string) => readFileSync(new URL(`../../../test/bench/fixtures/${name}`, import.meta.url), "utf8");
const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);

test("stock boot: the original /init is the kernel's first program", () => {
  const t = parseBootTimes(fixture("root-stock-console.txt"));
  // "[    4.891187] Run /init as init process", "UPTIME 9.72 0.10", "MEM MemAvailable:     832012 kB"
  assert.equal(t.kernelAt, 4.891187);
  assert.equal(t.originalInitAt, 4.891187);
  assert.equal(t.uptime, 9.72);
  assert.equal(t.memAvailableKiB, 832012);
  // the STAT lines' third field: sectors read
  assert.deepEqual(t.root.bytesRead, { vda: 7664 * 512, vdb: 4200 * 512 });
  const s = parseSample(fixture("root-stock-console.txt"));
  assert.equal(s.kernel, 4.891187);
  assert.equal(s.storageInit, 0);
  near(s.originalInit, 9.72 - 4.891187, "original init");
  assert.deepEqual(s.freeingInitrd, { at: 3.842913, kiB: 35376 });
  // "STAT /sys/block/vdb/stat       99        0     4200": the boot disk, only probed
  assert.deepEqual(s.bootDiskReads, { requests: 99, bytes: 4200 * 512 });
});

test("pair boot: storage-init from the kernel's first program to its hand-over", () => {
  const t = parseBootTimes(fixture("root-pair-console.txt"));
  // "Run /init as init process" at 2.156638, "initoverlayfs: starting /init from the image (972 ms)" at 3.170242
  assert.equal(t.kernelAt, 2.156638);
  assert.equal(t.originalInitAt, 3.170242);
  assert.equal(t.uptime, 7.94);
  assert.equal(t.memAvailableKiB, 832988);
  assert.equal(t.root.bytesRead.vdb, 28058 * 512);
  assert.equal(t.root.bytesRead.loop0, 25400 * 512);
  const s = parseSample(fixture("root-pair-console.txt"));
  assert.equal(s.kernel, 2.156638);
  near(s.storageInit, 3.170242 - 2.156638, "storage-init");
  near(s.originalInit, 7.94 - 3.170242, "original init");
  assert.deepEqual(s.freeingInitrd, { at: 1.472491, kiB: 2608 });
  assert.ok(s.modules?.includes("erofs"), "the root's MODULES line lists erofs");
  // "STAT /sys/block/vdb/stat      448        0    28058": requests completed, merged, sectors
  assert.deepEqual(s.bootDiskReads, { requests: 448, bytes: 28058 * 512 });
});

test("a boot that is not a sample of the initramfs is refused, not measured", () => {
  const pair = fixture("root-pair-console.txt");
  const noHandOver = pair.split("\n").filter((l) => !/initoverlayfs: starting \/init from the image/.test(l)).join("\n");
  assert.throws(() => parseBootTimes(noHandOver), /storage-init did not hand over/);
  assert.throws(() => parseBootTimes(pair.replace(/^ROOT-MARKER$/m, "")), /boot did not reach the root/);
  const stock = fixture("root-stock-console.txt");
  const truncated = stock.replace(/^(\[\s*[\d.]+\] )Freeing initrd memory.*$/m, "$1Initramfs unpacking failed: write error");
  assert.throws(() => parseBootTimes(truncated), /did not unpack the whole initramfs: Initramfs unpacking failed: write error/);
});

test("the end-of-boot diagnosis: the modules the root unloaded, then free memory including the per-CPU lists", () => {
  const pair = fixture("root-pair-console.txt");
  assert.equal(parseSample(pair).freeAtEndKiB, undefined);
  // MemFree in kB, then each zone's per-CPU count in pages
  const s = parseSample(pair.replace(/^ROOT-DONE$/m, "UNLOADED dm_verity\nUNLOADED erofs\nFREE-END 883956 12 30 \nROOT-DONE"));
  assert.deepEqual(s.unloaded, ["dm_verity", "erofs"]);
  assert.equal(s.freeAtEndKiB, 883956 + 4 * (12 + 30));
  // the sample init carries the block, once, before its last marker
  assert.equal(SAMPLE_INIT.match(/^echo "FREE-END /gm)?.length, 1);
  assert.ok(SAMPLE_INIT.indexOf("FREE-END") < SAMPLE_INIT.indexOf('echo "ROOT-DONE"'));
  assert.match(SAMPLE_INIT, /sed -n 's\/\.\*bench\\\.stock_modules=/);
});
