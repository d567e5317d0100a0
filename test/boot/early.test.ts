/**
 * Early archives, proved by the kernel: an uncompressed archive holding an ACPI SSDT (compiled by
 * iasl, archived by GNU cpio) in front of Debian's initramfs makes Debian's kernel (
 * CONFIG_ACPI_TABLE_UPGRADE=y) install the table before anything is unpacked. The stock
 * initramfs and the pair built from it must both show it: the mini initramfs carries the archive
 * first, uncompressed. Microcode cannot be applied under TCG; its placement is checked in
 * test/initramfs/early.unit.test.ts.
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { cpioArchiveOf } from "../helpers/early.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { boot, KVER, makeBootDisk, makeRootDisk, ROOT_INIT, rootReport, STOCK_INITRD, tail } from "./vm.js";

const BOOT_UUID = "5a1e0b7e-0000-4000-8000-ea41ca4c0001";
const SSDT_PATH = "kernel/firmware/acpi/ssdt.aml";
// OEM ID 6 characters and table ID 8, so the kernel's "%6.6s-%8.8s" prints them unpadded
const ASL = `DefinitionBlock ("", "SSDT", 2, "IOFSTS", "EARLYSSD", 0x00000001)
{
    Name (\\IOFT, 0x2A)
}
`;
// drivers/acpi/tables.c: acpi_table_initrd_init() when it finds the file, acpi_table_initrd_scan() when it installs it;
// read from the kernel's log buffer by the root's init (the serial console drops characters of
// the early lines it replays at full speed)
const FOUND = /^KLOG .*ACPI: SSDT ACPI table found in initrd \[kernel\/firmware\/acpi\/ssdt\.aml\]\[0x[0-9a-f]+\]$/m;
const INSTALLED = /^KLOG .*ACPI: Table Upgrade: install \[SSDT-IOFSTS-EARLYSSD\]$/m;
// and the table the kernel has: /sys/firmware/acpi/tables/SSDT* (QEMU's pc machine has no SSDT of its own)
const ROOT_INIT_ACPI = ROOT_INIT.replace("echo ROOT-MARKER\n", `$B dmesg | $B grep -E 'ACPI table found in initrd|Table Upgrade' | $B sed 's/^/KLOG /'
for f in /sys/firmware/acpi/tables/SSDT*; do [ -e "$f" ] && echo "ACPI-TABLE $f $($B sha256sum < $f | $B cut -d' ' -f1)"; done
echo ROOT-MARKER
`);

let work: string;
let root: string;
let withEarly: string;
let pair: BuildResult;
let earlyBytes: Buffer;

function sh(cmd: string, args: string[]): Buffer {
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  work = makeTempDir("iofs-early-");
  assert.notEqual(ROOT_INIT_ACPI, ROOT_INIT);
  root = makeRootDisk(work, { init: ROOT_INIT_ACPI });
  // the table, as a user makes an override (Documentation/admin-guide/acpi/initrd_table_override.rst)
  writeFileSync(join(work, "ssdt.asl"), ASL);
  sh("iasl", ["-p", join(work, "ssdt"), join(work, "ssdt.asl")]);
  earlyBytes = cpioArchiveOf(join(work, "early"), { [SSDT_PATH]: readFileSync(join(work, "ssdt.aml")) });
  withEarly = join(work, "initrd-with-early.img");
  writeFileSync(withEarly, Buffer.concat([earlyBytes, readFileSync(STOCK_INITRD)]));
  pair = await buildPair({ initramfs: withEarly, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "out") });
});

after(() => removeDir(work));

/** The running kernel has exactly our table. */
function assertTableInstalled(consoleText: string): void {
  const tables = [...consoleText.matchAll(/^ACPI-TABLE (\S+) ([0-9a-f]{64})$/gm)].map((m) => m[2]);
  const ours = createHash("sha256").update(readFileSync(join(work, "ssdt.aml"))).digest("hex");
  assert.deepEqual(tables, [ours], tail(consoleText));
}

test("stock: Debian's initramfs with an early SSDT archive in front: the kernel installs the table and boots", async () => {
  const r = await boot({ initrd: withEarly, disks: [root], timeoutSeconds: 240 });
  assert.ok(!r.timedOut, tail(r.console));
  assert.match(r.console, FOUND, tail(r.console, 200));
  assert.match(r.console, INSTALLED, tail(r.console, 200));
  assertTableInstalled(r.console);
  assert.ok(rootReport(r.console).done, tail(r.console));
});

test("pair: the mini initramfs carries the archive first, and the kernel installs the table from it", async () => {
  assert.deepEqual(pair.mini.early.members.map((m) => [m.path, m.size]), [[SSDT_PATH, readFileSync(join(work, "ssdt.aml")).length]]);
  assert.equal(pair.mini.early.archives, 1);
  // GNU cpio pads to 512 bytes: everything up to the end of the trailer is carried
  const mini = readFileSync(pair.mini.path);
  assert.ok(mini.subarray(0, pair.mini.early.bytes).equals(earlyBytes.subarray(0, pair.mini.early.bytes)), "the mini starts with the early archive, byte for byte");
  const bootDisk = makeBootDisk(work, "ext4", { [`initoverlayfs-${KVER}.img`]: pair.image.path }, { uuid: BOOT_UUID });
  const r = await boot({ initrd: pair.mini.path, disks: [root, bootDisk], timeoutSeconds: 240 });
  assert.ok(!r.timedOut, tail(r.console));
  assert.match(r.console, FOUND, tail(r.console, 200));
  assert.match(r.console, INSTALLED, tail(r.console, 200));
  assertTableInstalled(r.console);
  assert.match(r.console, /initoverlayfs: .*mounted on/);
  const rep = rootReport(r.console);
  assert.ok(rep.reached && rep.done, tail(r.console));
});
