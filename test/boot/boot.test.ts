/**
 * Boot tests: Debian's real kernel in QEMU boots through the mini initramfs and storage-init into
 * the EROFS image of Debian's own initramfs, whose unchanged /init then mounts the test root.
 * Every boot has a hard time limit; a failing test prints the console.
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { readInitramfs } from "../../src/initramfs/read.js";
import { treeToCpio } from "../../src/formats/cpio/writer.js";
import { bytesContent, DirNode, FsNode, lookup, newDir, newTree } from "../../src/fs/tree.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { buildBootReport, JOURNAL_FIELDS, parseJournalKernelLog, parseKernelLog } from "../../src/formats/boot-log/index.js";
import { assertNothingLeft, boot, KVER, makeBootDisk, makeRootDisk, ROOT_INIT, rootReport, STOCK_INITRD, tail } from "./vm.js";
import { concatInitrds, miniCpio } from "../helpers/initrd.js";

const BOOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000001";
const VFAT_ID = "B007-0FA7";
let work: string;
let root: string;
let pair: BuildResult;
let bootExt4: string;
let bootVfat: string;

before(async () => {
  work = makeTempDir("iofs-boot-");
  root = makeRootDisk(work);
  pair = await buildPair({ initramfs: STOCK_INITRD, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "out") });
  const files = { [`initoverlayfs-${KVER}.img`]: pair.image.path };
  bootExt4 = makeBootDisk(work, "ext4", files, { uuid: BOOT_UUID });
  bootVfat = makeBootDisk(work, "vfat", files, { uuid: VFAT_ID });
});

after(() => removeDir(work));

function expectReachedCleanly(r: Awaited<ReturnType<typeof boot>>, what: string) {
  const rep = rootReport(r.console);
  assert.ok(!r.timedOut, `${what}: timed out\n${tail(r.console)}`);
  assert.ok(rep.reached, `${what}: no root marker\n${tail(r.console)}`);
  assert.ok(rep.done, `${what}: the root init did not finish\n${tail(r.console)}`);
  return rep;
}

test("baseline: Debian's own initramfs boots to the test root", async () => {
  const r = await boot({ initrd: STOCK_INITRD, disks: [root] });
  expectReachedCleanly(r, "stock");
  // boot-report on this console: no initoverlayfs stage, the original init until the real root
  const rep = buildBootReport(parseKernelLog(r.console, "stock console"));
  assert.equal(rep.initoverlayfs, false);
  assert.ok(rep.phases.kernel && rep.phases.originalInit && !rep.phases.storageInit, JSON.stringify(rep.phases));
});

test("the pair boots to the test root with /boot on ext4, found in its metadata and never mounted; nothing stays pinned", async () => {
  // build's default image is LZ4HC-compressed: the boot reads it through the kernel's decompressor
  assert.ok(pair.image.compressedFiles > 100, `only ${pair.image.compressedFiles} files compressed`);
  const r = await boot({ initrd: pair.mini.path, disks: [root, bootExt4] });
  const rep = expectReachedCleanly(r, "pair/ext4");
  assert.match(r.console, /initoverlayfs: .*mounted on/);
  // virtio_blk made the boot disk appear: the other storage drivers were not loaded
  assert.match(r.console, /initoverlayfs: \d+ module\(s\) loaded, \d+ storage module\(s\) not needed: the boot device is there/);
  assert.doesNotMatch(r.console, /usbcore: registered new/, "the USB stack was loaded for nothing");
  // dm-verity pins the contents: the image's extents come from the ext4 metadata, no filesystem
  // driver loads for /boot and nobody mounts it (the kernel logs every ext4 mount)
  assert.match(r.console, new RegExp(`initoverlayfs: image /initoverlayfs-${KVER}\\.img: 1 extent\\(s\\) on /dev/vdb read from its ext4 metadata`), tail(r.console));
  assert.match(r.console, /initoverlayfs: .* mounted on \/initoverlayfs\/lower from \/dev\/dm-\d+; \/dev\/vdb was never mounted/);
  assert.doesNotMatch(r.console, /initoverlayfs: boot filesystem ext4: \d+ module/);
  // the root is ext4 too: its modules load from the mini, not through the image later
  assert.match(r.console, /initoverlayfs: root \/dev\/vda is \/dev\/vda \(ext4\) too: 4 module\(s\) of the boot filesystem's loaded for it/, tail(r.console));
  assert.doesNotMatch(r.console, /EXT4-fs \(vdb\)/, "the boot filesystem was mounted");
  // the mini initramfs has vfat's modules too: an ext4 /boot never loads them
  assert.ok(pair.modules.some((m) => m.name === "vfat" && m.bootFs === "vfat"));
  assert.deepEqual(rep.modules.filter((m) => /^(vfat|fat|nls_)/.test(m)), [], "vfat was loaded for an ext4 /boot");
  assertNothingLeft(r.console, "pair/ext4");
  assert.equal(rep.bootMounted, false);
  // boot-report on this console: every phase, storage-init handed over, our shim marks the real root
  const br = buildBootReport(parseKernelLog(r.console, "pair console"));
  assert.equal(br.storageInit?.outcome, "handed-over", JSON.stringify(br.notes));
  assert.ok(br.storageInit!.steps.length >= 10, JSON.stringify(br.storageInit!.steps));
  assert.equal(br.realRoot?.marker, "switch-shim");
  const { kernel, storageInit, originalInit } = br.phases;
  assert.ok(kernel && storageInit && originalInit);
  assert.ok(Math.abs(kernel.seconds + storageInit.seconds + originalInit.seconds - br.realRoot!.at) < 1e-6);
});

test("the pair boots with /boot on vfat (boot device overridden on the kernel command line)", async () => {
  const r = await boot({ initrd: pair.mini.path, disks: [root, bootVfat], append: `initoverlayfs.boot=UUID=${VFAT_ID}` });
  const rep = expectReachedCleanly(r, "pair/vfat");
  assert.match(r.console, new RegExp(`initoverlayfs: boot device UUID=${VFAT_ID} is /dev/vdb \\(vfat\\)`));
  assert.match(r.console, /initoverlayfs: boot filesystem vfat: \d+ module\(s\) loaded/);
  assertNothingLeft(r.console, "pair/vfat");
  assert.equal(rep.bootMounted, false);
});

test("an ext4 /boot whose image is block-mapped (no extents feature): storage-init says why it cannot read it there, mounts /boot and boots", async () => {
  const disk = makeBootDisk(work, "ext4", { [`initoverlayfs-${KVER}.img`]: pair.image.path }, { uuid: BOOT_UUID, tag: "-noextents", features: "^extent,^64bit" });
  const r = await boot({ initrd: pair.mini.path, disks: [root, disk] });
  const rep = expectReachedCleanly(r, "pair/ext4 without extents");
  assert.match(r.console, new RegExp(`initoverlayfs: image /initoverlayfs-${KVER}\\.img: not read from /dev/vdb's metadata \\(ext4: a block-mapped inode \\(ext2/ext3 style\\), not extents \\(byte \\d+\\)\\): mounting it`), tail(r.console));
  assert.match(r.console, /initoverlayfs: boot filesystem ext4: \d+ module\(s\) loaded/);
  assert.match(r.console, /initoverlayfs: \/dev\/vdb mounted read-only on \/boot \(ext4, noload\)/);
  assert.match(r.console, /initoverlayfs: .* mounted on \/initoverlayfs\/lower from \/dev\/dm-\d+; \/boot unmounted/);
  assertNothingLeft(r.console, "pair/ext4 without extents");
  assert.equal(rep.bootMounted, false);
});

/** What a boot loader might append: a file initramfs-tools' init sources (conf/conf.d/*), which says it ran. */
const APPENDED_SEEN = /^IOFS-APPENDED-SEEN$/m;
const markerTree = () => oneFileTree("conf/conf.d/zz-iofs-appended", "echo IOFS-APPENDED-SEEN\n", 0o644);

/** A tree of one file and the directories above it, as an archive appended to an initramfs carries it. */
function oneFileTree(path: string, text: string, perm: number) {
  const t = newTree();
  const m = { perm: 0o755, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, xattrs: new Map() };
  const parts = path.split("/");
  let d: DirNode = t.root;
  for (const name of parts.slice(0, -1)) {
    const sub = newDir(m);
    d.entries.set(name, sub);
    d = sub;
  }
  d.entries.set(parts[parts.length - 1], { kind: "file", content: bytesContent(Buffer.from(text)), ...m, perm });
  return t;
}

test("the mini initramfs: lz4 by default for this kernel, ended so that an appended archive unpacks; gzip, the fallback, boots too", async () => {
  // the default pair above: LZ4HC legacy frames the kernel unpacks (boot test 1 reached the root with it)
  assert.equal(pair.mini.compression, "lz4");
  const cpio = miniCpio(readFileSync(pair.mini.path));
  // the same archive as gzip, as build packs it where lz4 is not known to work, with an archive
  // appended after each (unpadded: the lz4 mini's own end must stop the kernel's lz4 decoder)
  const extra = gzipSync(treeToCpio(markerTree()));
  for (const [name, mini] of [["gzip", gzipSync(cpio)], ["lz4", readFileSync(pair.mini.path)]] as const) {
    const file = join(work, `mini-${name}-appended.img`);
    writeFileSync(file, Buffer.concat([mini, extra]));
    const r = await boot({ initrd: file, disks: [root, bootExt4] });
    expectReachedCleanly(r, `pair/${name} mini + appended archive`);
    assert.match(r.console, /Freeing initrd memory/);
    assert.doesNotMatch(r.console, /Initramfs unpacking failed/, tail(r.console));
    assert.match(r.console, APPENDED_SEEN, `${name}: the appended archive's file reached the original init`);
  }
  // without that end the kernel decodes the gzip header as one more lz4 chunk: the archive is lost
  const unended = join(work, "mini-lz4-unended-appended.img");
  writeFileSync(unended, Buffer.concat([readFileSync(pair.mini.path).subarray(0, -4), extra]));
  const u = await boot({ initrd: unended, disks: [root, bootExt4] });
  assert.match(u.console, /Initramfs unpacking failed/, tail(u.console));
  assert.doesNotMatch(u.console, APPENDED_SEEN);
});

test("a udevd of the initramfs still running at the hand-over (its exit request lost) is stopped by the run-init shim; nothing stays pinned", async () => {
  // udev 252 can drop `udevadm control --exit` and still report success (seen in CI under load):
  // this variant's init-bottom never asks, so its udevd is left running every time
  const stockBytes = readFileSync(STOCK_INITRD);
  const hook = lookup((await readInitramfs(stockBytes)).tree, "scripts/init-bottom/udev");
  assert.ok(hook?.kind === "file", "no scripts/init-bottom/udev in the stock initramfs");
  const text = Buffer.from(hook.content.read()).toString("latin1");
  assert.match(text, /^udevadm control --exit$/m);
  const t = oneFileTree("scripts/init-bottom/udev", text.replace(/^udevadm control --exit$/m, ": udevd is not asked to exit"), 0o755);
  const variant = join(work, "initrd-udevd-left.img");
  writeFileSync(variant, concatInitrds([stockBytes, treeToCpio(t)]));
  const out = join(work, "udevd-left");
  mkdirSync(out);
  const vp = await buildPair({ initramfs: variant, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: out });
  const disk = makeBootDisk(out, "ext4", { [`initoverlayfs-${KVER}.img`]: vp.image.path }, { uuid: BOOT_UUID, tag: "-udevd" });
  const r = await boot({ initrd: vp.mini.path, disks: [root, disk] });
  expectReachedCleanly(r, "pair with udevd left running");
  assert.match(r.console, /initoverlayfs: run-init: udevd \(pid \d+\) still ran at the hand-over: stopped it \(\d+ ms\)/, tail(r.console));
  assertNothingLeft(r.console, "pair with udevd left running");
});

test("image missing: one clear line, then the VM stops", async () => {
  const r = await boot({ initrd: pair.mini.path, disks: [root, bootExt4], append: "initoverlayfs.image=/missing.img", timeoutSeconds: 120 });
  assert.ok(!r.timedOut, tail(r.console));
  assert.match(r.console, /initoverlayfs: FAILED at [^:\n]+: \/boot\/missing\.img: No such file or directory/);
  assert.ok(!rootReport(r.console).reached);
  assert.match(r.console, /Kernel panic/);
});

test("failure policy reboot: the failure line, then a reboot instead of a panic", async () => {
  const r = await boot({ initrd: pair.mini.path, disks: [root, bootExt4], append: "initoverlayfs.image=/missing.img initoverlayfs.failure=reboot", timeoutSeconds: 120 });
  assert.ok(!r.timedOut, tail(r.console));
  assert.match(r.console, /initoverlayfs: FAILED at [^:\n]+: \/boot\/missing\.img: No such file or directory/);
  assert.doesNotMatch(r.console, /Kernel panic/, tail(r.console));
  assert.match(r.console, /reboot/i);
});

test("failure policy shell: after a failure past the image mount, the image's shell runs on the console", async () => {
  const r = await boot({
    initrd: pair.mini.path, disks: [root, bootExt4], timeoutSeconds: 150,
    append: "initoverlayfs.init=/no/such/init initoverlayfs.failure=shell",
    input: { when: /initoverlayfs: FAILED at/, send: "echo SHELL-$((40+2))\n/bin/busybox poweroff -f || poweroff -f\n" },
  });
  assert.ok(!r.timedOut, tail(r.console));
  assert.match(r.console, /initoverlayfs: FAILED at [^:\n]+: \/no\/such\/init/);
  assert.match(r.console, /^SHELL-42\s*$/m, tail(r.console));
  assert.doesNotMatch(r.console, /Kernel panic/);
});

test("boot device never appears: timeout error after the configured wait", async () => {
  const r = await boot({ initrd: pair.mini.path, disks: [root, bootExt4], append: "initoverlayfs.boot=UUID=00000000-dead-beef-0000-000000000000 initoverlayfs.timeout=3", timeoutSeconds: 120 });
  assert.ok(!r.timedOut, tail(r.console));
  assert.match(r.console, /initoverlayfs: FAILED at find boot device: UUID=00000000-dead-beef-0000-000000000000: not found after 3 s/);
  assert.ok(!rootReport(r.console).reached);
});

test("a dracut/systemd initramfs boots as it is, and converted (systemctl switch-root from the overlay)", async () => {
  const img = join(work, "dracut.img");
  const d = spawnSync("dracut", ["--no-hostonly", "--force", "--kver", KVER, "-m", "systemd systemd-initrd base rootfs-block kernel-modules udev-rules fs-lib",
    "--add-drivers", "virtio_blk virtio_pci ext4", img], { encoding: "utf8" });
  assert.equal(d.status, 0, `dracut failed: ${d.stderr}`);
  const direct = await boot({ initrd: img, disks: [root] });
  expectReachedCleanly(direct, "dracut initramfs as it is");
  const out = join(work, "dracut-out");
  const dp = await buildPair({ initramfs: img, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: out });
  assert.deepEqual(dp.shims, [], "systemd needs no switch-root shim");
  const bootDisk = makeBootDisk(out, "ext4", { [`initoverlayfs-${KVER}.img`]: dp.image.path }, { uuid: BOOT_UUID });
  // a root that keeps the initrd's journal (systemd moves /run into the real root) for the host
  const keep = "[ -d /run/log/journal ] && $B cp -a /run/log/journal /initrd-journal && $B sync && echo JOURNAL-KEPT\necho ROOT-MARKER";
  assert.match(ROOT_INIT, /^echo ROOT-MARKER$/m);
  const journalRoot = makeRootDisk(work, { name: "root-journal", init: ROOT_INIT.replace(/^echo ROOT-MARKER$/m, keep) });
  const r = await boot({ initrd: dp.mini.path, disks: [journalRoot, bootDisk] });
  const rep = expectReachedCleanly(r, "dracut pair");
  assertNothingLeft(r.console, "dracut pair");
  assert.equal(rep.bootMounted, false);

  // boot-report on the journal systemd-journald kept in that initrd: the same storage-init lines as the console
  assert.match(r.console, /^JOURNAL-KEPT$/m, tail(r.console));
  const kept = join(work, "journal-out");
  mkdirSync(kept);
  const dump = spawnSync("debugfs", ["-R", `rdump /initrd-journal ${kept}`, journalRoot], { encoding: "utf8" });
  assert.equal(dump.status, 0, dump.stderr);
  const files = spawnSync("find", [kept, "-name", "*.journal"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
  assert.ok(files.length > 0, `no journal file in ${kept}`);
  const j = spawnSync("journalctl", [...files.map((f) => `--file=${f}`), "_TRANSPORT=kernel", "-o", "json", "--all", "--no-pager", `--output-fields=${JOURNAL_FIELDS.join(",")}`], { encoding: "utf8", maxBuffer: 1 << 28 });
  assert.equal(j.status, 0, j.stderr);
  // journalctl adds _BOOT_ID to every record, which the reader's one-boot check reads
  assert.ok(j.stdout.trim().split("\n").every((l) => /^[0-9a-f]{32}$/.test(JSON.parse(l)._BOOT_ID)), "each record has its _BOOT_ID");
  const jr = buildBootReport(parseJournalKernelLog(j.stdout, "journal"));
  assert.equal(jr.fromBootStart, true);
  assert.equal(jr.storageInit?.outcome, "handed-over", jr.notes.join("\n"));
  const onConsole = buildBootReport(parseKernelLog(r.console)).storageInit!.steps.map((st) => st.message);
  assert.deepEqual(jr.storageInit!.steps.map((st) => st.message), onConsole);
  // systemd's own kmsg lines come back with their "systemd[1]: " (the journal keeps it apart)
  assert.ok(parseJournalKernelLog(j.stdout).some((l) => /^systemd\[1\]: Running in initrd\.$/.test(l.message)), "systemd's initrd line in the journal");
});

/** A hand-made busybox initramfs: its /init loads the modules, mounts the root and switch_roots. */
async function busyboxInitramfs(): Promise<string> {
  const debian = (await readInitramfs(readFileSync(STOCK_INITRD))).tree;
  const t = newTree();
  const m = { perm: 0o755, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, xattrs: new Map() };
  const dir = (path: string) => {
    let d = t.root;
    for (const part of path.split("/")) {
      let n = d.entries.get(part);
      if (!n) d.entries.set(part, (n = newDir(m)));
      d = n as typeof d;
    }
    return d;
  };
  for (const d of ["dev", "proc", "sys", "newroot", "sbin"]) dir(d);
  dir("bin").entries.set("busybox", { kind: "file", content: bytesContent(readFileSync("/usr/bin/busybox")), ...m });
  dir("bin").entries.set("sh", { kind: "symlink", target: "busybox", ...m, perm: 0o777 });
  dir("sbin").entries.set("switch_root", { kind: "symlink", target: "../bin/busybox", ...m, perm: 0o777 });
  dir("dev").entries.set("console", { kind: "chardev", rdevMajor: 5, rdevMinor: 1, ...m, perm: 0o600 });
  // the modules the root needs, and the module index files for initoverlayfs's selection
  const moddir = `usr/lib/modules/${KVER}`;
  // what the root disk needs (the storage drivers, ext4), as the initramfs has them (not the host's dm-verity)
  const needed = pair.modules.filter((x) => x.source === "initramfs" && !/loop|erofs|overlay|vfat|fat|nls|^dm_/.test(x.name));
  const kmods = dir(`lib/modules/${KVER}`);
  for (const f of ["modules.dep", "modules.builtin", "modules.alias", "modules.order"]) {
    const n = lookup(debian, `${moddir}/${f}`) ?? lookup(debian, `lib/modules/${KVER}/${f}`);
    if (n?.kind === "file") kmods.entries.set(f, n);
  }
  for (const x of needed) {
    const rel = x.path.replace(/^\/?(usr\/)?lib\/modules\/[^/]+\//, "");
    const src = lookup(debian, `${moddir}/${rel}`) ?? lookup(debian, `lib/modules/${KVER}/${rel}`);
    assert.ok(src && src.kind === "file", `module ${rel} not in the Debian initramfs`);
    const parts = rel.split("/");
    const d = parts.length > 1 ? dir(`lib/modules/${KVER}/${parts.slice(0, -1).join("/")}`) : kmods;
    d.entries.set(parts[parts.length - 1], src as FsNode);
  }
  const insmods = needed.map((x) => `busybox insmod /lib/modules/${KVER}/${x.path.replace(/^\/?(usr\/)?lib\/modules\/[^/]+\//, "")}`).join("\n");
  const init = `#!/bin/sh
export PATH=/bin:/sbin
busybox mount -t proc proc /proc
busybox mount -t sysfs sysfs /sys
busybox mount -t devtmpfs devtmpfs /dev
${insmods}
n=0
while [ ! -b /dev/vda ] && [ $n -lt 50 ]; do busybox sleep 0.1; n=$((n+1)); done
busybox mount -o rw /dev/vda /newroot || echo "BUSYBOX-INIT: mount failed"
busybox mount --move /dev /newroot/dev
busybox umount /proc /sys
exec switch_root /newroot /sbin/init
`;
  t.root.entries.set("init", { kind: "file", content: bytesContent(Buffer.from(init)), ...m });
  const file = join(work, "busybox-initramfs.img");
  writeFileSync(file, gzipSync(treeToCpio(t)));
  return file;
}

test("a hand-made busybox initramfs boots as it is, and converted through initoverlayfs", async () => {
  const bb = await busyboxInitramfs();
  const direct = await boot({ initrd: bb, disks: [root] });
  expectReachedCleanly(direct, "busybox initramfs as it is");
  const out = join(work, "bb-out");
  mkdirSync(out);
  const bbPair = await buildPair({ initramfs: bb, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: out });
  assert.ok(bbPair.shims.some((s) => s.endsWith("switch_root")), `switch_root not shimmed: ${bbPair.shims}`);
  const bootDisk = makeBootDisk(join(work, "bb-out"), "ext4", { [`initoverlayfs-${KVER}.img`]: bbPair.image.path }, { uuid: BOOT_UUID });
  const r = await boot({ initrd: bbPair.mini.path, disks: [root, bootDisk] });
  const rep = expectReachedCleanly(r, "busybox pair");
  assertNothingLeft(r.console, "busybox pair");
  assert.equal(rep.bootMounted, false);
});
