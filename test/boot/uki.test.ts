/**
 * The UEFI boot chain: OVMF starts our UKI (systemd-stub + Debian's kernel + a mini initramfs
 * built with `--boot esp`) from EFI/BOOT/BOOTX64.EFI on a GPT disk's EFI System Partition;
 * systemd-stub records that partition in LoaderDevicePartUUID, storage-init finds it through the
 * variable, verifies (dm-verity) and mounts the image beside the UKI, and Debian's /init reaches
 * the test root. Also: a tampered image on the ESP is refused in that chain, and `boot = esp`
 * without the variable (a plain -kernel/-initrd boot) fails closed with one line.
 * Every boot has a hard time limit (OVMF under TCG adds some 10 s before the kernel starts).
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { writeUki, UkiResult } from "../../src/pipeline/uki.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { assertReachedRoot, boot, KVER, makeEspDisk, makeRootDisk, OVMF_VARS, rootReport, tail, VMLINUZ } from "./vm.js";
import { STOCK_INITRD } from "./vm.js";

const ESP_PARTUUID = "e5b0e5b0-0000-4000-8000-000000000e5b";
const IMAGE = `initoverlayfs-${KVER}.img`;
const UKI_PATH = "EFI/BOOT/BOOTX64.EFI";
let work: string;
let root: string;
let pair: BuildResult;
let uki: UkiResult;

before(async () => {
  work = makeTempDir("iofs-uki-");
  root = makeRootDisk(work);
  pair = await buildPair({ initramfs: STOCK_INITRD, kver: KVER, boot: "esp", outputDir: join(work, "out") });
  uki = writeUki({ kernel: VMLINUZ, initrd: pair.mini.path, cmdline: "console=ttyS0 root=/dev/vda rw panic=-1", output: join(work, "BOOTX64.EFI") });
});

after(() => removeDir(work));

/** A fresh copy of OVMF's variable store: each VM starts with no boot entries of its own. */
function vars(tag: string): string {
  const p = join(work, `vars-${tag}.fd`);
  copyFileSync(OVMF_VARS, p);
  return p;
}

function espWith(image: string, tag: string): string {
  return makeEspDisk(work, { [UKI_PATH]: uki.path, [IMAGE]: image }, ESP_PARTUUID, tag);
}

test("UEFI: OVMF starts the UKI from the ESP, storage-init finds the ESP by LoaderDevicePartUUID and boots to the root", async () => {
  const esp = espWith(pair.image.path, "-good");
  const r = await boot({ uefi: { vars: vars("good") }, disks: [root, esp], timeoutSeconds: 300 });
  assertReachedRoot(r, "UKI chain");
  assert.match(r.console, new RegExp(`initoverlayfs: boot = esp: the boot loader was started from PARTUUID=${ESP_PARTUUID}`, "i"), tail(r.console));
  assert.match(r.console, new RegExp(`initoverlayfs: boot device PARTUUID=${ESP_PARTUUID} is /dev/vdb1 \\(vfat\\)`, "i"), tail(r.console));
  assert.match(r.console, /initoverlayfs: .*mounted on/);
  // the kernel was started by systemd-stub through the firmware, not by QEMU
  assert.match(r.console, /efi: EFI v/, tail(r.console));
});

test("UEFI: a tampered image on the ESP is refused in that chain", async () => {
  const bad = Buffer.from(readFileSync(pair.image.path));
  bad[1024 + 0x30] ^= 0x01; // the EROFS superblock's uuid: dm-verity's first read of the image
  const badPath = join(work, "bad.img");
  writeFileSync(badPath, bad);
  const esp = espWith(badPath, "-bad");
  const r = await boot({ uefi: { vars: vars("bad") }, disks: [root, esp], timeoutSeconds: 300 });
  assert.ok(!r.timedOut, tail(r.console));
  assert.match(r.console, new RegExp(`boot device PARTUUID=${ESP_PARTUUID} is /dev/vdb1`, "i"), tail(r.console));
  assert.ok(!rootReport(r.console).reached, `the tampered image booted\n${tail(r.console)}`);
  assert.match(r.console, /verity.*(corrupt|mismatch)/i, tail(r.console));
  assert.match(r.console, /Kernel panic/);
});

test("UEFI, but the kernel's own EFI stub instead of systemd-stub: the variable is not set, one clear line, then the failure policy", async () => {
  const esp = espWith(pair.image.path, "-nostub");
  // QEMU hands kernel and initramfs to OVMF, which starts the kernel's EFI stub (6.1's sets no LoaderDevicePartUUID)
  const r = await boot({ uefi: { vars: vars("nostub") }, initrd: pair.mini.path, disks: [root, esp], timeoutSeconds: 300 });
  assert.ok(!r.timedOut, tail(r.console));
  assert.match(r.console, /initoverlayfs: FAILED at find boot device: esp: \/sys\/firmware\/efi\/efivars\/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f is not set: the boot loader did not say which partition it was started from/, tail(r.console));
  assert.ok(!rootReport(r.console).reached);
  assert.match(r.console, /Kernel panic/);
});

test("boot = esp without the EFI variable (-kernel/-initrd, no UEFI): one clear line, then the failure policy", async () => {
  const esp = espWith(pair.image.path, "-nouefi");
  const r = await boot({ initrd: pair.mini.path, disks: [root, esp], timeoutSeconds: 120 });
  assert.ok(!r.timedOut, tail(r.console));
  // the kernel refuses efivarfs without EFI runtime services; that alone stops nothing
  assert.match(r.console, /initoverlayfs: optional module \S*efivarfs\.ko not loaded: No such device/, tail(r.console));
  assert.match(r.console, /initoverlayfs: FAILED at find boot device: esp: no \/sys\/firmware\/efi\/efivars \([^)]*\): not booted with UEFI[^\n]*LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f/, tail(r.console));
  assert.ok(!rootReport(r.console).reached);
  assert.match(r.console, /Kernel panic/);
});
