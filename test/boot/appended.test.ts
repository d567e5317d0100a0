/**
 * Issue 12, item 2: what the boot loader appends after the initramfs reaches the original init.
 * Boot loaders append cpio archives (systemd-stub: credentials and extensions under /.extra, as
 * an uncompressed newc archive; GRUB and systemd-boot: more initrd files), each starting at a
 * multiple of 4 bytes; the kernel unpacks them all into the one rootfs.
 *
 * The original initramfs here is a small busybox one whose /init lists every entry of its root
 * (type, mode, owner, mtime, size, links, md5 or symlink target or device number) and powers off.
 * The reference is the kernel's own unpacking: that initramfs with the same archives appended,
 * booted as it is. The pair (its mini initramfs with the archives appended) must show exactly
 * the same listing — so none of storage-init's own files either — and the appended entries must
 * carry the attributes the archives gave them. A cut-short archive stops nothing but itself, in
 * both boots alike.
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { treeToCpio } from "../../src/formats/cpio/writer.js";
import { bytesContent, DirNode, FsNode, newTree } from "../../src/fs/tree.js";
import { MANIFEST_PATH, CONFIG_PATH } from "../../src/formats/storage-init-config/index.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { boot, BootResult, KVER, makeBootDisk, tail } from "./vm.js";
import { concatInitrds } from "../helpers/initrd.js";

const BOOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000012";
const T0 = { sec: 1_600_000_000, nsec: 0 };

/** The original init: one "L|..." line per entry of /, not crossing into the API mounts. */
const CHECK_INIT = `#!/bin/sh
B=/bin/busybox
export PATH=/bin
[ -e /proc/self ] || $B mount -t proc proc /proc
# (this busybox has no mountpoint applet; st_dev varies inside an overlay)
mounted() { $B cut -d' ' -f2 /proc/mounts | $B grep -qx "$1"; }
mounted /sys || $B mount -t sysfs sysfs /sys
mounted /dev || $B mount -t devtmpfs devtmpfs /dev
mounted /run || $B mount -t tmpfs tmpfs /run
# the kernel writes its own late messages (the TSC calibration, ...) to the same serial console, in
# the middle of a line; from here on only emergencies
echo 1 > /proc/sys/kernel/printk
echo CHECK-BEGIN
$B find / -xdev | $B sort | while IFS= read -r p; do
  # an API filesystem mounted there shows its own root: only that it is one matters
  if [ "$p" != / ] && mounted "$p"; then echo "L|$p|mount point"
  elif [ -L "$p" ]; then echo "L|$p|$($B stat -c '%f|%u|%g|%Y' "$p")|-> $($B readlink "$p")"
  elif [ -d "$p" ]; then echo "L|$p|$($B stat -c '%f|%u|%g|%Y' "$p")|dir"
  elif [ -f "$p" ]; then echo "L|$p|$($B stat -c '%f|%u|%g|%Y|%s|%h' "$p")|$($B md5sum < "$p" | $B cut -c1-32)"
  else echo "L|$p|$($B stat -c '%f|%u|%g|%Y|%t:%T' "$p")|node"; fi
done
echo CHECK-END
$B poweroff -f
`;

type Meta = { perm?: number; uid?: number; gid?: number; mtime?: number };
function meta(m: Meta = {}) {
  return { perm: m.perm ?? 0o755, uid: m.uid ?? 0, gid: m.gid ?? 0, mtime: { sec: m.mtime ?? T0.sec, nsec: 0 }, xattrs: new Map() };
}
/** Puts `node` at `path`; missing parents become 0755 root directories (listed in the archive, as `find | cpio` lists them). */
function put(root: DirNode, path: string, node: FsNode) {
  const parts = path.split("/");
  let d = root;
  for (const p of parts.slice(0, -1)) {
    let n = d.entries.get(p);
    if (!n) d.entries.set(p, (n = { kind: "dir", entries: new Map(), ...meta() }));
    d = n as DirNode;
  }
  d.entries.set(parts[parts.length - 1], node);
}
const file = (data: string | Buffer, m?: Meta): FsNode => ({ kind: "file", content: bytesContent(Buffer.from(data)), ...meta({ perm: 0o644, ...m }) });
const dir = (m?: Meta): DirNode => ({ kind: "dir", entries: new Map(), ...meta(m) });

/** The original initramfs: busybox, the check init, and files the appended archives replace. */
function originalInitramfs(): Buffer {
  const t = newTree();
  Object.assign(t.root, meta());
  for (const d of ["dev", "proc", "sys", "run", "etc", "usr/bin", "usr/lib"]) put(t.root, d, dir());
  put(t.root, "bin/busybox", file(readFileSync("/usr/bin/busybox"), { perm: 0o755 }));
  put(t.root, "bin/sh", { kind: "symlink", target: "busybox", ...meta({ perm: 0o777 }) });
  put(t.root, "dev/console", { kind: "chardev", rdevMajor: 5, rdevMinor: 1, ...meta({ perm: 0o600 }) });
  put(t.root, "init", file(CHECK_INIT, { perm: 0o755 }));
  // merged /usr: the mini's own /lib is a real directory, the image's a symlink
  put(t.root, "lib", { kind: "symlink", target: "usr/lib", ...meta({ perm: 0o777 }) });
  // the module index the build selects by (the modules themselves come from the host)
  for (const f of ["modules.dep", "modules.builtin", "modules.alias", "modules.order"]) {
    put(t.root, `usr/lib/modules/${KVER}/${f}`, file(readFileSync(`/lib/modules/${KVER}/${f}`)));
  }
  put(t.root, "etc/replaced.conf", file("from the image\n"));
  put(t.root, "etc/was-a-file", file("a file in the image\n"));
  put(t.root, "etc/was-a-link", { kind: "symlink", target: "replaced.conf", ...meta({ perm: 0o777 }) });
  put(t.root, "etc/empty-dir", dir());
  put(t.root, "etc/kept.conf", file("not appended: stays\n"));
  return gzipSync(treeToCpio(t));
}

/** systemd-stub's part: /.extra, uncompressed, as the stub writes it (directories 0500/0555). */
function stubArchive(big?: Buffer): Buffer {
  const t = newTree();
  t.root.entries.set(".extra", dir({ perm: 0o555 }));
  put(t.root, ".extra/credentials", dir({ perm: 0o500 }));
  put(t.root, ".extra/credentials/secret.cred", file("credential bytes\0\x01\x02", { perm: 0o400, mtime: 1_700_000_001 }));
  put(t.root, ".extra/credentials/other.cred", file("another", { perm: 0o400 }));
  put(t.root, ".extra/global_credentials", dir({ perm: 0o500 }));
  put(t.root, ".extra/global_credentials/g.cred", file("global", { perm: 0o400 }));
  put(t.root, ".extra/sysext", dir({ perm: 0o555 }));
  put(t.root, ".extra/sysext/x.raw", file(Buffer.concat([Buffer.from("sysext image\n"), randomBytes(70_000)]), { perm: 0o444 }));
  if (big) put(t.root, ".extra/sysext/big.raw", file(big, { perm: 0o444 }));
  put(t.root, ".extra/confext", dir({ perm: 0o555 }));
  put(t.root, ".extra/confext/c.raw", file("confext", { perm: 0o444 }));
  return Buffer.from(treeToCpio(t));
}

/** A second initrd (GRUB, systemd-boot), gzip: files of the image replaced, every node type. */
function secondInitrd(): Buffer {
  const t = newTree();
  // an "etc" entry of its own: the kernel gives /etc this mode (the mini has /etc too)
  t.root.entries.set("etc", dir({ perm: 0o750, mtime: T0.sec + 500 }));
  put(t.root, "etc/replaced.conf", file("from the boot loader\n", { perm: 0o600, mtime: 1_650_000_000 }));
  put(t.root, "etc/was-a-file", { kind: "symlink", target: "kept.conf", ...meta({ perm: 0o777, uid: 7, gid: 8 }) });
  put(t.root, "etc/was-a-link", file("now a file\n"));
  put(t.root, "etc/empty-dir", file("a file where the image had an empty directory\n"));
  put(t.root, "etc/owned.conf", file("owned\n", { perm: 0o4751, uid: 1234, gid: 5678, mtime: 1_234_567_890 }));
  put(t.root, "etc/null-node", { kind: "chardev", rdevMajor: 1, rdevMinor: 3, ...meta({ perm: 0o620, uid: 3, gid: 5 }) });
  put(t.root, "etc/fifo", { kind: "fifo", ...meta({ perm: 0o640 }) });
  const linked = file("one inode, two names\n", { perm: 0o640, uid: 11, gid: 12 });
  put(t.root, "etc/hard-a", linked);
  put(t.root, "etc/hard-b", linked);
  // through the image's /lib -> usr/lib symlink (no "lib" entry: the kernel follows it then)
  t.root.entries.set("lib", dir()); // removed below: only its children are written
  const lib = t.root.entries.get("lib") as DirNode;
  lib.entries.set("firmware", dir({ perm: 0o700 }));
  (lib.entries.get("firmware") as DirNode).entries.set("fw.bin", file("firmware\n"));
  const cpio = treeToCpio(t);
  return gzipSync(dropEntry(Buffer.from(cpio), "lib"));
}

/** The archive without the member named `name` (a directory entry whose children stay). */
function dropEntry(cpio: Buffer, name: string): Buffer {
  const out: Buffer[] = [];
  let off = 0;
  const al = (n: number) => (n + 3) & ~3;
  while (off < cpio.length) {
    const h = cpio.subarray(off, off + 110).toString("latin1");
    assert.equal(h.slice(0, 6), "070701");
    const namesize = parseInt(h.slice(94, 102), 16);
    const filesize = parseInt(h.slice(54, 62), 16);
    const n = cpio.subarray(off + 110, off + 110 + namesize - 1).toString("latin1");
    const end = al(al(off + 110 + namesize) + filesize);
    if (n !== name) out.push(cpio.subarray(off, end));
    off = end;
    if (n === "TRAILER!!!") break;
  }
  return Buffer.concat(out);
}

function listing(r: BootResult, what: string): Map<string, string> {
  assert.ok(!r.timedOut, `${what}: timed out\n${tail(r.console)}`);
  assert.match(r.console, /^CHECK-END$/m, `${what}: the check did not finish\n${tail(r.console)}`);
  const m = new Map<string, string>();
  for (const x of r.console.matchAll(/^L\|([^|\n]*)\|(.*)$/gm)) m.set(x[1], x[2]);
  return m;
}

let work: string;
let orig: Buffer;
let pair: BuildResult;
let bootDisk: string;
let mini: Buffer;

before(async () => {
  work = makeTempDir("iofs-appended-");
  orig = originalInitramfs();
  writeFileSync(join(work, "orig.img"), orig);
  pair = await buildPair({ initramfs: join(work, "orig.img"), kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "out") });
  bootDisk = makeBootDisk(work, "ext4", { [`initoverlayfs-${KVER}.img`]: pair.image.path }, { uuid: BOOT_UUID });
  mini = readFileSync(pair.mini.path);
});

after(() => removeDir(work));

test("what the boot loader appends reaches the original init as with the original initramfs, and nothing of storage-init's does", async () => {
  const stub = stubArchive();
  const second = secondInitrd();
  writeFileSync(join(work, "stock+appended.img"), concatInitrds([orig, stub, second]));
  writeFileSync(join(work, "mini+appended.img"), concatInitrds([mini, stub, second]));
  const ref = listing(await boot({ initrd: join(work, "stock+appended.img"), disks: [bootDisk], timeoutSeconds: 180 }), "original initramfs + appended");
  const r = await boot({ initrd: join(work, "mini+appended.img"), disks: [bootDisk], timeoutSeconds: 240 });
  const got = listing(r, "pair + appended");

  // the reference shows what the kernel made of the archives: check it says what we think
  const md5 = (b: string | Buffer) => createHash("md5").update(b).digest("hex");
  // a regular file's line: mode, owner, mtime, size, links, md5
  const reg = (mode: string, uid: number, gid: number, mtime: number, nlink: number, data: string) =>
    `${mode}|${uid}|${gid}|${mtime}|${Buffer.byteLength(data, "latin1")}|${nlink}|${md5(Buffer.from(data, "latin1"))}`;
  const expect: Record<string, string> = {
    "/.extra": "416d|0|0|1600000000|dir",
    "/.extra/credentials": "4140|0|0|1600000000|dir",
    "/.extra/credentials/secret.cred": reg("8100", 0, 0, 1700000001, 1, "credential bytes\0\x01\x02"),
    "/.extra/global_credentials/g.cred": reg("8100", 0, 0, 1600000000, 1, "global"),
    "/.extra/confext/c.raw": reg("8124", 0, 0, 1600000000, 1, "confext"),
    "/etc/replaced.conf": reg("8180", 0, 0, 1650000000, 1, "from the boot loader\n"),
    "/etc/was-a-file": "a1ff|7|8|1600000000|-> kept.conf",
    "/etc/was-a-link": reg("81a4", 0, 0, 1600000000, 1, "now a file\n"),
    "/etc/empty-dir": reg("81a4", 0, 0, 1600000000, 1, "a file where the image had an empty directory\n"),
    "/etc/kept.conf": reg("81a4", 0, 0, 1600000000, 1, "not appended: stays\n"),
    "/etc/owned.conf": reg("89e9", 1234, 5678, 1234567890, 1, "owned\n"),
    "/etc/null-node": "2190|3|5|1600000000|1:3|node",
    "/etc/fifo": "11a0|0|0|1600000000|0:0|node",
    "/etc/hard-a": reg("81a0", 11, 12, 1600000000, 2, "one inode, two names\n"),
    "/etc/hard-b": reg("81a0", 11, 12, 1600000000, 2, "one inode, two names\n"),
    "/lib": "a1ff|0|0|1600000000|-> usr/lib",
    "/usr/lib/firmware": "41c0|0|0|1600000000|dir",
    "/usr/lib/firmware/fw.bin": reg("81a4", 0, 0, 1600000000, 1, "firmware\n"),
  };
  for (const [p, want] of Object.entries(expect)) assert.equal(ref.get(p), want, `reference boot: ${p}`);
  assert.match(ref.get("/etc") ?? "", /^41e8\|0\|0\|/);
  assert.match(ref.get("/.extra/sysext/x.raw") ?? "", /^8124\|0\|0\|1600000000\|70013\|1\|[0-9a-f]{32}$/);

  // the pair: the same entries, then the same listing, entry by entry
  assert.deepEqual({ missing: [...ref.keys()].filter((p) => !got.has(p)), extra: [...got.keys()].filter((p) => !ref.has(p)) }, { missing: [], extra: [] });
  for (const [p, want] of ref) assert.equal(got.get(p), want, `pair: ${p}`);
  for (const p of got.keys()) assert.ok(ref.has(p), `pair: ${p} is not in the reference (one of storage-init's own?)`);
  // and so, in particular, none of the mini's own files (its /init is the image's)
  for (const p of [CONFIG_PATH, MANIFEST_PATH, "/initoverlayfs"]) assert.ok(!got.has(p), p);
  for (const m of pair.modules) assert.ok(![...got.keys()].some((p) => p.endsWith(m.path.replace(/^.*\//, ""))), `module ${m.path} leaked`);
  assert.equal(got.get("/init")?.split("|").pop(), md5(CHECK_INIT));
  assert.match(r.console, /initoverlayfs: appended files handed over: 11 file\(s\) \(70\d+ bytes\), 7 directorie\(s\), 1 symlink\(s\), 2 other node\(s\), 1 extra hard link\(s\); 4 replaced the image's/, tail(r.console));
});

test("a malformed appended archive stops nothing but itself: what the kernel unpacked is handed over, as with the original initramfs", async () => {
  // an initrd cut short: gzip fails part-way, the kernel keeps what it had unpacked by then
  const t = newTree();
  put(t.root, "etc/first.conf", file("before the cut\n"));
  put(t.root, "etc/partial.bin", file(randomBytes(200_000)));
  put(t.root, "etc/zlast.conf", file("after the cut\n"));
  const whole = gzipSync(treeToCpio(t));
  const cut = whole.subarray(0, Math.floor(whole.length * 0.6));
  const stub = stubArchive();
  writeFileSync(join(work, "stock+cut.img"), concatInitrds([orig, stub, cut]));
  writeFileSync(join(work, "mini+cut.img"), concatInitrds([mini, stub, cut]));
  const refBoot = await boot({ initrd: join(work, "stock+cut.img"), disks: [bootDisk], timeoutSeconds: 180 });
  const ref = listing(refBoot, "original initramfs + cut archive");
  assert.match(refBoot.console, /Initramfs unpacking failed: /, "the kernel did not reject the cut archive: the test proves nothing");
  assert.ok(ref.has("/.extra/credentials/secret.cred"), "the archive before the cut one is unpacked");
  assert.ok(ref.has("/etc/first.conf") && !ref.has("/etc/zlast.conf"), "the cut archive is unpacked up to the cut");
  const r = await boot({ initrd: join(work, "mini+cut.img"), disks: [bootDisk], timeoutSeconds: 240 });
  assert.match(r.console, /Initramfs unpacking failed: /);
  const got = listing(r, "pair + cut archive");
  assert.deepEqual({ missing: [...ref.keys()].filter((p) => !got.has(p)), extra: [...got.keys()].filter((p) => !ref.has(p)) }, { missing: [], extra: [] });
  // the file the cut went through was never finished: the kernel gave it no mtime of its own, so it
  // has the moment of that boot's unpacking (its size is the header's, the tail zeros, in both)
  const noMtime = (line: string | undefined) => line?.split("|").filter((_, i) => i !== 3).join("|");
  for (const [p, want] of ref) {
    if (p === "/etc/partial.bin") assert.equal(noMtime(got.get(p)), noMtime(want), `pair: ${p}`);
    else assert.equal(got.get(p), want, `pair: ${p}`);
  }
});

test("a few MiB appended: handed over, and what the copy costs", async (t) => {
  const big = randomBytes(3 << 20);
  writeFileSync(join(work, "mini+big.img"), concatInitrds([mini, stubArchive(big)]));
  const r = await boot({ initrd: join(work, "mini+big.img"), disks: [bootDisk], timeoutSeconds: 240 });
  const got = listing(r, "pair + 3 MiB");
  const md5 = createHash("md5").update(big).digest("hex");
  assert.equal(got.get("/.extra/sysext/big.raw"), `8124|0|0|1600000000|${big.length}|1|${md5}`);
  const line = /initoverlayfs: appended files handed over: .*\((\d+) ms\)/.exec(r.console);
  assert.ok(line, tail(r.console));
  t.diagnostic(`hand-over of ${big.length + 70_013 + 40} bytes: ${line[1]} ms (TCG)`);
});
