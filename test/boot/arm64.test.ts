/**
 * arm64 boots (issue 16): Debian's arm64 kernel on QEMU's virt board (TCG), with the stock
 * initramfs initramfs-tools made for it in an arm64 Debian root (scripts/arm64-kernel.sh), and
 * with the pair `build` makes from that initramfs: /boot on a virtio disk, and on an emulated SD
 * card behind an SDHCI controller (storage-init loads the MMC stack and finds the partition on
 * mmcblk0), vfat and ext4; a tampered image is refused. The test root runs arm64 busybox-static.
 * Few boots (2-25 s each under TCG here, 46-81 s for the file with its builds), each with a hard
 * time limit. The first run makes the arm64 kernel and initramfs (scripts/arm64-kernel.sh).
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { arm64Kernel, Arm64Kernel } from "./arm64-kernel.js";
import { assertReachedRoot, boot, BootOptions, BootResult, makeBootDisk, makeRootDisk, makeSdCard, rootReport, tail } from "./vm.js";

const BOOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000016";
const VFAT_ID = "B007-0A64";
let k: Arm64Kernel;
let work: string;
let root: string;
let pair: BuildResult;
let image: string;

before(async () => {
  k = arm64Kernel();
  work = makeTempDir("iofs-arm64-");
  root = makeRootDisk(work, { busybox: k.busybox });
  pair = await buildPair({ initramfs: k.initrd, kver: k.kver, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "out"), modulesDir: k.modulesDir, kernelConfig: k.config });
  image = `initoverlayfs-${k.kver}.img`;
});

after(() => work && removeDir(work));

const arm64 = (o: Omit<BootOptions, "arch" | "kernel">): Promise<BootResult> => boot({ arch: "arm64", kernel: k.vmlinuz, timeoutSeconds: 300, ...o });

/**
 * Boots `p`'s mini initramfs with a boot disk holding its image with one byte flipped (at the
 * offset `at` gives for the image's length): the boot must end, short of the test root. Returns
 * the console for the test's own checks of how it was refused.
 */
async function bootTampered(p: BuildResult, tag: string, at: (length: number) => number): Promise<string> {
  const bad = Buffer.from(readFileSync(p.image.path));
  bad[at(bad.length)] ^= 0x01;
  const badPath = join(work, `bad${tag}.img`);
  writeFileSync(badPath, bad);
  const disk = makeBootDisk(work, "ext4", { [image]: badPath }, { uuid: BOOT_UUID, tag: `${tag}-bad` });
  const r = await arm64({ initrd: p.mini.path, disks: [root, disk], timeoutSeconds: 240 });
  assert.ok(!r.timedOut, `timed out\n${tail(r.console)}`);
  assert.ok(!rootReport(r.console).reached, `the tampered image booted\n${tail(r.console)}`);
  return r.console;
}

test("arm64 baseline: Debian's stock arm64 initramfs boots to the test root", async () => {
  const r = await arm64({ initrd: k.initrd, disks: [root] });
  assertReachedRoot(r, "arm64 stock");
  assert.match(r.console, /Machine model: linux,dummy-virt/, "not the virt board");
});

test("arm64 pair: /boot on a virtio disk (ext4)", async () => {
  // ELF e_machine 183: AArch64
  assert.equal(readFileSync(pair.mini.storageInit).readUInt16LE(18), 183, `${pair.mini.storageInit} is not an arm64 program`);
  const disk = makeBootDisk(work, "ext4", { [image]: pair.image.path }, { uuid: BOOT_UUID });
  const r = await arm64({ initrd: pair.mini.path, disks: [root, disk] });
  const rep = assertReachedRoot(r, "arm64 pair/virtio");
  assert.match(r.console, new RegExp(`initoverlayfs: boot device UUID=${BOOT_UUID} is /dev/vdb \\(ext4\\)`), tail(r.console));
  assert.equal(rep.bootMounted, false);
  // QEMU's Cortex-A72 has the ARMv8 Cryptography Extensions: the optional sha2_ce loads and
  // dm-verity hashes with it
  assert.ok(pair.modules.some((m) => m.name === "sha2_ce" && m.optionalModule), "sha2_ce is in the mini as an optional module");
  assert.doesNotMatch(r.console, /optional module .* not loaded/, tail(r.console));
  assert.match(r.console, /verity: sha256 using implementation "sha256-ce"/, tail(r.console));
});

for (const fs of ["vfat", "ext4"] as const) {
  test(`arm64 pair: /boot on an SD card (${fs}), found on mmcblk0p1`, async () => {
    const id = fs === "vfat" ? VFAT_ID : BOOT_UUID;
    const card = makeSdCard(work, makeBootDisk(work, fs, { [image]: pair.image.path }, { uuid: id, tag: "-sd" }), fs, `-${fs}`);
    // the root stays on virtio: the SD card is the only boot partition
    const r = await arm64({ initrd: pair.mini.path, disks: [root], sdCards: [card], append: fs === "vfat" ? `initoverlayfs.boot=UUID=${VFAT_ID}` : "" });
    const rep = assertReachedRoot(r, `arm64 pair/SD ${fs}`);
    assert.match(r.console, new RegExp(`initoverlayfs: boot device UUID=${id} is /dev/mmcblk0p1 \\(${fs}\\)`), tail(r.console));
    assert.match(r.console, /mmcblk0: mmc0:\S+ /, "the kernel saw the card");
    assert.equal(rep.bootMounted, false);
  });
}

test("arm64 pair: a tampered image is refused (dm-verity)", async () => {
  assert.equal(pair.integrity.mode, "dm-verity");
  // a byte of the EROFS superblock (its uuid): the first block the kernel reads through dm-verity
  const out = await bootTampered(pair, "", () => 1024 + 0x30);
  assert.match(out, /initoverlayfs: integrity dm-verity: /, tail(out));
  assert.match(out, /verity.*(corrupt|mismatch)/i, tail(out));
  assert.match(out, /Kernel panic/);
});

test("arm64 pair, integrity copy: storage-init hashes the image itself (ARMv8 SHA-256) and boots it; a changed byte is refused", async () => {
  const copy = await buildPair({ initramfs: k.initrd, kver: k.kver, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "out-copy"), modulesDir: k.modulesDir, kernelConfig: k.config, integrity: "copy" });
  assert.equal(copy.integrity.mode, "copy");
  const good = makeBootDisk(work, "ext4", { [image]: copy.image.path }, { uuid: BOOT_UUID, tag: "-copy" });
  const r = await arm64({ initrd: copy.mini.path, disks: [root, good] });
  assertReachedRoot(r, "arm64 pair/copy");
  assert.match(r.console, /initoverlayfs: integrity copy: .* digest matches; memfd sealed/, tail(r.console));
  // the last byte: the digest covers the whole file, not only what the boot would read
  const out = await bootTampered(copy, "-copy", (length) => length - 1);
  assert.match(out, /initoverlayfs: FAILED at verify image: .*digest mismatch/, tail(out));
});
