/**
 * A PC's own disk: QEMU's q35 board (PCI Express, MSI-X), one disk partitioned as an installer
 * does (GPT: /boot ext4, then / ext4), attached over NVMe or SATA (AHCI) instead of virtio. The
 * boot loader names / by PARTUUID and the mini initramfs names /boot the same way. storage-init
 * must find the partition behind a driver whose disks appear asynchronously, read the image from
 * the partition's ext4 metadata, and leave the partition free: the real root fscks /boot and
 * mounts it read-write. The stock initramfs on the same disk is the reference for that check.
 *
 * Module options: storage-init loads the storage drivers itself, before the original init's
 * modprobe could. They must get what modprobe would give them: the initramfs's modprobe.d
 * options (the build hands them over) and MODULE.PARAM=VALUE from the kernel command line (as a
 * boot loader entry sets `nvme_core.default_ps_max_latency_us=0` against a drive's broken power
 * states). The original initramfs here has a modprobe.d file, and every boot the same command
 * line; the real root prints the values, and the stock boot's are the reference.
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { treeToCpio } from "../../src/formats/cpio/writer.js";
import { newTree } from "../../src/fs/tree.js";
import { concatInitrds } from "../helpers/initrd.js";
import { file, put } from "../helpers/tree-build.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { assertReachedRoot, boot, BootResult, KVER, LINUX_FS_TYPE, makeBootDisk, makeGptDisk, makeRootDisk, STOCK_INITRD, tail, withLibraries } from "./vm.js";
import { BOOT_PARTITION_CHECK, MODULE_PARAMS_CHECK, rootInit, rootReport } from "./root-report.js";

const BOOT_PART = "5a1e0b7e-0000-4000-8000-b0070000b001";
const ROOT_PART = "5a1e0b7e-0000-4000-8000-b0070000b002";
/** each bus: the boot partition's and the root's device names */
const BUSES = { nvme: ["nvme0n1p1", "nvme0n1p2"], sata: ["sda1", "sda2"] } as const;
/** in the original initramfs's modprobe.d; io_timeout is on the command line too, which wins */
const MODPROBE_CONF = "options nvme_core max_retries=7 io_timeout=77\n";
const CMDLINE_PARAMS = "nvme_core.default_ps_max_latency_us=0 nvme-core.io_timeout=88";
/** the values nvme_core has without either */
const DEFAULTS: Record<string, string> = { "nvme_core/max_retries": "5", "nvme_core/io_timeout": "30", "nvme_core/default_ps_max_latency_us": "100000" };

let work: string;
let disk: string;
let original: string;
let pair: BuildResult;

before(async () => {
  work = makeTempDir("iofs-disks-");
  // the original initramfs: the stock one and a modprobe.d file, as an appended archive adds it
  const conf = newTree();
  put(conf, "etc/modprobe.d/iofs-test.conf", file(MODPROBE_CONF));
  original = join(work, "original.img");
  writeFileSync(original, concatInitrds([readFileSync(STOCK_INITRD), treeToCpio(conf)]));
  pair = await buildPair({ initramfs: original, kver: KVER, boot: `PARTUUID=${BOOT_PART}`, outputDir: join(work, "out") });
  const bootFs = makeBootDisk(work, "ext4", { [`initoverlayfs-${KVER}.img`]: pair.image.path });
  const rootFs = makeRootDisk(work, { init: rootInit(BOOT_PARTITION_CHECK + MODULE_PARAMS_CHECK), files: withLibraries("/usr/sbin/e2fsck", "/sbin/e2fsck") });
  disk = makeGptDisk(work, "pc", [
    { image: bootFs, type: LINUX_FS_TYPE, partuuid: BOOT_PART, name: "boot" },
    { image: rootFs, type: LINUX_FS_TYPE, partuuid: ROOT_PART, name: "root" },
  ]);
});

after(() => removeDir(work));

function pcBoot(initrd: string, bus: keyof typeof BUSES): Promise<BootResult> {
  return boot({ initrd, disks: [disk], machine: "q35", diskBus: bus, append: `root=PARTUUID=${ROOT_PART} iofs.bootpart=${BUSES[bus][0]} iofs.params=${Object.keys(DEFAULTS).join(",")} ${CMDLINE_PARAMS}` });
}

/** The real root checked /boot as a real system would: fsck clean (0, or 1: corrected), then written. */
function assertBootPartitionFree(r: BootResult, what: string) {
  const { bootPartition } = rootReport(r.console);
  assert.ok(bootPartition.fsck <= 1, `${what}: fsck of /boot: rc=${bootPartition.fsck}\n${tail(r.console)}`);
  assert.equal(bootPartition.rw, "ok", `${what}: /boot read-write\n${tail(r.console)}`);
}

let stockParams: Record<string, string> | undefined;

test("baseline: the stock initramfs boots the NVMe disk's root partition, the root can fsck and write /boot, modprobe applied the options", async () => {
  const r = await pcBoot(original, "nvme");
  assertReachedRoot(r, "stock/nvme");
  assertBootPartitionFree(r, "stock/nvme");
  stockParams = rootReport(r.console).moduleParams;
  // each option changed its parameter, or the pair's check below could not fail
  for (const [p, def] of Object.entries(DEFAULTS)) assert.ok(stockParams[p] !== undefined && stockParams[p] !== def, `stock: ${p} = ${stockParams[p]}, the default\n${tail(r.console)}`);
});

test("build: the initramfs's modprobe.d options go into the mini's config with their module", () => {
  const core = pair.modules.find((m) => m.name === "nvme_core");
  assert.equal(core?.params, "max_retries=7 io_timeout=77");
  assert.equal(pair.modules.find((m) => m.name === "nvme")?.params, undefined);
});

for (const bus of Object.keys(BUSES) as (keyof typeof BUSES)[]) {
  const [bootDev, rootDev] = BUSES[bus];
  test(`the pair boots from ${bus === "nvme" ? "an NVMe" : "a SATA"} disk's partitions: /boot read from its metadata, never mounted, free for the real root`, async () => {
    const r = await pcBoot(pair.mini.path, bus);
    const rep = assertReachedRoot(r, `pair/${bus}`);
    assert.match(r.console, new RegExp(`initoverlayfs: boot device PARTUUID=${BOOT_PART} is /dev/${bootDev} \\(ext4\\)`), tail(r.console));
    assert.match(r.console, new RegExp(`initoverlayfs: image /initoverlayfs-${KVER}\\.img: 1 extent\\(s\\) on /dev/${bootDev} read from its ext4 metadata`), tail(r.console));
    assert.match(r.console, new RegExp(`initoverlayfs: .* mounted on /initoverlayfs/lower from /dev/dm-\\d+; /dev/${bootDev} was never mounted`));
    // the root is named by PARTUUID too: found, and its filesystem's modules loaded from the mini
    assert.match(r.console, new RegExp(`initoverlayfs: root PARTUUID=${ROOT_PART} is /dev/${rootDev} \\(ext4\\) too: \\d+ module\\(s\\)`), tail(r.console));
    assert.doesNotMatch(r.console, new RegExp(`EXT4-fs \\(${bootDev}\\): mounted filesystem .* r/o`), "storage-init mounted /boot");
    assert.ok(rep.modules.includes(bus === "nvme" ? "nvme" : "ahci"), rep.modules.join(" "));
    assertBootPartitionFree(r, `pair/${bus}`);
    // storage-init loaded nvme_core with the modprobe.d options and the command line's, which win
    assert.match(r.console, /initoverlayfs: kernel command line: 2 parameter\(s\) for module nvme_core \(its parameters now: max_retries=7 io_timeout=77 default_ps_max_latency_us=0 io_timeout=88\)/, tail(r.console));
    assert.ok(stockParams, "the stock boot ran first");
    assert.deepEqual(rep.moduleParams, stockParams);
  });
}
