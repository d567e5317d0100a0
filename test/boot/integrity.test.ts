/**
 * Integrity in QEMU (Debian's 6.1 kernel, which has dm-verity and fs-verity; the build machines'
 * kernel has neither): each mode boots the good image to the test root, and refuses a tampered
 * one (a flipped byte in the EROFS superblock, and one in the data of a file the boot reads) with
 * a console line and the failure policy. dm-verity detects the damage only when the bad block is
 * read, so its data test shows the read failing and the boot stopping.
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { IntegrityMode } from "../../src/formats/storage-init-config/index.js";
import { ErofsImage } from "../../src/formats/erofs/reader.js";
import { toByteString } from "../../src/fs/tree.js";
import { makeTestKey } from "../helpers/keys.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { assertReachedRoot, boot, BootResult, enableVerity, KVER, makeBootDisk, makeRootDisk, rootReport, STOCK_INITRD, tail } from "./vm.js";

const BOOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000002";
const VFAT_ID = "B007-1E57";
const IMAGE = `initoverlayfs-${KVER}.img`;
let work: string;
let root: string;
const pairs = new Map<IntegrityMode, BuildResult>();

/** The file the boot reads first from the image: the original /init. */
const READ_AT_BOOT = "init";

before(async () => {
  work = makeTempDir("iofs-integrity-");
  root = makeRootDisk(work);
  for (const mode of ["dm-verity", "fs-verity", "copy"] as const) {
    pairs.set(mode, await buildPair({ initramfs: STOCK_INITRD, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, mode), integrity: mode }));
  }
});

after(() => removeDir(work));

/** Offset in the image file of a byte of `path`'s data (for compressed files: of its first pcluster). */
function dataOffset(image: Uint8Array, path: string): number {
  const img = ErofsImage.open(image);
  const inode = img.lookup(toByteString(path));
  assert.ok(inode && inode.size > 100, `${path} missing or tiny in the image`);
  // compressed: a byte in the middle of the first pcluster (its end holds the right-aligned data)
  const at = inode.compressed
    ? ((e) => e.physical + e.plen - 64)(img.compressedMap(inode).extents[0])
    : img.physicalOffset(inode, 64);
  assert.ok(at !== undefined, `no physical offset for ${path}`);
  return at;
}

/** Copies of the image with one byte flipped: in the superblock (its uuid), and in boot-read file data. */
function tampered(mode: IntegrityMode): { sb: string; data: string } {
  const good = readFileSync(pairs.get(mode)!.image.path);
  const dir = join(work, `${mode}-bad`);
  mkdirSync(dir, { recursive: true });
  const flip = (at: number, name: string) => {
    const b = Buffer.from(good);
    b[at] ^= 0x01;
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  };
  return { sb: flip(1024 + 0x30, "bad-sb.img"), data: flip(dataOffset(good, READ_AT_BOOT), "bad-data.img") };
}

function reached(r: BootResult, what: string) {
  const rep = assertReachedRoot(r, what);
  assert.equal(rep.bootMounted, false);
  return rep;
}

function refused(r: BootResult, what: string, line: RegExp) {
  assert.ok(!r.timedOut, `${what}: timed out\n${tail(r.console)}`);
  assert.ok(!rootReport(r.console).reached, `${what}: the tampered image booted\n${tail(r.console)}`);
  assert.match(r.console, line, `${what}: no clear line\n${tail(r.console)}`);
}

let dmGoodDisk: string | undefined;
function dmVerityGoodDisk(): string {
  dmGoodDisk ??= makeBootDisk(join(work, "dm-verity"), "ext4", { [IMAGE]: pairs.get("dm-verity")!.image.path }, { uuid: BOOT_UUID });
  return dmGoodDisk;
}

test("dm-verity: the good image boots; the dm device and loop device go away after the switch", async () => {
  const p = pairs.get("dm-verity")!;
  const disk = dmVerityGoodDisk();
  const r = await boot({ initrd: p.mini.path, disks: [root, disk] });
  reached(r, "dm-verity");
  assert.match(r.console, /initoverlayfs: .*verity/i);
  // QEMU's default CPU has no SSSE3: the kernel refuses the accelerated hash, the boot goes on generic
  assert.match(r.console, /initoverlayfs: optional module \S*sha256-ssse3\.ko not loaded: No such device/, tail(r.console));
  assert.match(r.console, /verity: sha256 using implementation "sha256-generic"/, tail(r.console));
});

test("dm-verity: on a CPU with AVX2 the accelerated SHA-256 module loads and dm-verity hashes with it", async () => {
  const p = pairs.get("dm-verity")!;
  assert.ok(p.modules.some((m) => m.name === "sha256_ssse3" && m.optionalModule), "sha256_ssse3 is in the mini initramfs as an optional module");
  const disk = dmVerityGoodDisk();
  const r = await boot({ initrd: p.mini.path, disks: [root, disk], cpu: "max" });
  reached(r, "dm-verity, -cpu max");
  assert.doesNotMatch(r.console, /optional module .* not loaded/, tail(r.console));
  assert.match(r.console, /verity: sha256 using implementation "sha256-(avx2|ni|avx|ssse3)"/, tail(r.console));
});

let dmBadDisk: string | undefined;
/** A boot disk whose default image has a flipped superblock byte; bad-data.img a flipped /init byte. */
function dmVerityBadDisk(): string {
  if (!dmBadDisk) {
    const bad = tampered("dm-verity");
    // foreign.img: an image this mini initramfs does not pin (copy's: no hash tree)
    dmBadDisk = makeBootDisk(join(work, "dm-verity-bad"), "ext4", { [IMAGE]: bad.sb, "bad-data.img": bad.data, "foreign.img": pairs.get("copy")!.image.path }, { uuid: BOOT_UUID, tag: "-dmbad" });
  }
  return dmBadDisk;
}

test("dm-verity: a flipped superblock byte stops the boot when the block is read (panic policy)", async () => {
  const p = pairs.get("dm-verity")!;
  const disk = dmVerityBadDisk();
  const r = await boot({ initrd: p.mini.path, disks: [root, disk], timeoutSeconds: 150 });
  refused(r, "dm-verity superblock", /verity.*(corrupt|mismatch)/i);
  assert.match(r.console, /Kernel panic/);
  // found in the ext4 metadata, never mounted: dm-verity refuses the damage all the same
  assert.match(r.console, /initoverlayfs: image \/initoverlayfs-.*read from its ext4 metadata/, tail(r.console));
  // the same disk, the image whose /init data is damaged, reboot policy: the read fails when the
  // original init is read, after the mount succeeded
  const r2 = await boot({
    initrd: p.mini.path, disks: [root, disk], timeoutSeconds: 150,
    append: "initoverlayfs.image=/bad-data.img initoverlayfs.failure=reboot",
  });
  refused(r2, "dm-verity file data", /verity.*(corrupt|mismatch)/i);
  assert.match(r2.console, /initoverlayfs: .*mounted on/, "the damage is in file data: the mount itself succeeds");
  assert.match(r2.console, /initoverlayfs: image \/bad-data\.img: .*read from its ext4 metadata/, tail(r2.console));
  assert.doesNotMatch(r2.console, /Kernel panic/);
});

test("dm-verity: an image it does not pin, found in the ext4 metadata, sends storage-init to mount /boot, where it is refused", async () => {
  const r = await boot({
    initrd: pairs.get("dm-verity")!.mini.path, disks: [root, dmVerityBadDisk()], timeoutSeconds: 150,
    append: "initoverlayfs.image=/foreign.img initoverlayfs.failure=reboot",
  });
  refused(r, "foreign image", /initoverlayfs: FAILED at set up dm-verity: \/boot\/foreign\.img: /);
  assert.match(r.console, /initoverlayfs: image \/foreign\.img: not read from \/dev\/vdb's metadata \((verity superblock at offset \d+: .*|\d+ bytes, too small for a hash tree at offset \d+)\): mounting it/, tail(r.console));
  assert.match(r.console, /initoverlayfs: \/dev\/vdb mounted read-only on \/boot/);
});

test("dm-verity: the command line cannot switch integrity off", async () => {
  const p = pairs.get("dm-verity")!;
  const disk = dmVerityBadDisk();
  const r = await boot({
    initrd: p.mini.path, disks: [root, disk], timeoutSeconds: 150,
    append: "initoverlayfs.integrity=none initoverlayfs.verity_roothash=00 initoverlayfs.failure=reboot",
  });
  refused(r, "dm-verity with integrity=none on the command line", /initoverlayfs: FAILED at read configuration: [^\n]*not accepted on the kernel command line/);
});

test("dm-verity: a root hash signed by a key the kernel does not trust is refused by the kernel", async () => {
  const dir = join(work, "dm-signed");
  mkdirSync(dir, { recursive: true });
  const key = makeTestKey(dir);
  const p = await buildPair({
    initramfs: STOCK_INITRD, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(dir, "out"), integrity: "dm-verity",
    signKey: key.keyFile, signCert: key.certFile,
  });
  assert.equal(p.integrity.mode === "dm-verity" && p.integrity.signature, "/etc/initoverlayfs/roothash.p7s");
  const disk = makeBootDisk(dir, "ext4", { [IMAGE]: p.image.path }, { uuid: BOOT_UUID, tag: "-signed" });
  const r = await boot({ initrd: p.mini.path, disks: [root, disk], timeoutSeconds: 150 });
  // the signature reached the kernel (the key was found) and was checked against its keyrings
  assert.doesNotMatch(r.console, /Invalid key specified/, tail(r.console));
  refused(r, "untrusted root hash signature", /verity: Root hash verification failed/);
  assert.match(r.console, /initoverlayfs: FAILED at set up dm-verity/);
});

test("fs-verity: the good image boots; a tampered image's digest is refused", async () => {
  const p = pairs.get("fs-verity")!;
  const bad = tampered("fs-verity");
  const disk = makeBootDisk(join(work, "fs-verity"), "ext4", { [IMAGE]: p.image.path, "bad-sb.img": bad.sb, "bad-data.img": bad.data, "noverity.img": p.image.path }, { uuid: BOOT_UUID, features: "verity", tag: "-fsv" });
  const setup = await enableVerity(work, disk, [IMAGE, "bad-sb.img", "bad-data.img"]);
  for (const n of [IMAGE, "bad-sb.img", "bad-data.img"]) assert.match(setup, new RegExp(`VERITY-ENABLED /boot/${n.replace(/\./g, "\\.")}`), tail(setup));
  const r = await boot({ initrd: p.mini.path, disks: [root, disk] });
  reached(r, "fs-verity");
  assert.match(r.console, /initoverlayfs: .*fs-verity/i);
  for (const name of ["bad-sb.img", "bad-data.img"]) {
    const rb = await boot({ initrd: p.mini.path, disks: [root, disk], timeoutSeconds: 150, append: `initoverlayfs.image=/${name}` });
    refused(rb, `fs-verity ${name}`, new RegExp(`initoverlayfs: FAILED at [^\\n]*${name.replace(".", "\\.")}[^\\n]*digest`, "i"));
    assert.match(rb.console, /Kernel panic/);
  }
  const rn = await boot({ initrd: p.mini.path, disks: [root, disk], timeoutSeconds: 150, append: "initoverlayfs.image=/noverity.img" });
  refused(rn, "fs-verity not enabled", /initoverlayfs: FAILED at [^\n]*noverity\.img[^\n]*verity/i);
});

test("copy: the good image boots from vfat; a tampered image is refused before it is mounted", async () => {
  const p = pairs.get("copy")!;
  const bad = tampered("copy");
  const disk = makeBootDisk(join(work, "copy"), "vfat", { [IMAGE]: p.image.path, "bad-sb.img": bad.sb, "bad-data.img": bad.data }, { uuid: VFAT_ID });
  const append = `initoverlayfs.boot=UUID=${VFAT_ID}`;
  const r = await boot({ initrd: p.mini.path, disks: [root, disk], append });
  reached(r, "copy");
  assert.match(r.console, /initoverlayfs: .*(copied|memfd|sealed)/i);
  for (const name of ["bad-sb.img", "bad-data.img"]) {
    const rb = await boot({ initrd: p.mini.path, disks: [root, disk], timeoutSeconds: 150, append: `${append} initoverlayfs.image=/${name}` });
    refused(rb, `copy ${name}`, new RegExp(`initoverlayfs: FAILED at [^\\n]*digest`, "i"));
    assert.doesNotMatch(rb.console, /initoverlayfs: [^\n]*mounted on/, "nothing is mounted from a mismatching copy");
  }
});
