/**
 * Issue 13, item 1 ("the boot partition stays pinned"), proved in QEMU: after storage-init hands
 * over, nothing of ours may hold the boot filesystem. A real-system-like root init checks, one
 * marker line each, what Debian does with / and /boot after the initramfs: initramfs-tools' fsck
 * of the root (its stamp file), fsck of the read-only root, remounting / read-write, and fsck +
 * read-write mount + write of each separate boot disk. Every boot has three disks: vda the ext4
 * root (the images also in its /boot: the "/boot as a directory of /" layout), vdb an ext4 boot
 * disk, vdc a vfat one; the layout is which of them storage-init takes the image from.
 *
 * The original initramfs is Debian's stock one plus an appended cpio archive with (1) fsck for
 * ext4, as initramfs-tools' fsck hook adds it when / is ext4 in fstab (this machine's initramfs
 * was made without), so the initramfs checks the root as on an installed system, and (2) an
 * init-bottom hook that, with `iofs.survivor=1` on the command line, leaves one process running
 * from the initramfs into the real system (as plymouth does). That variant booted as it is is the
 * reference: it must pass every check, or the check is wrong.
 *
 * Written for the fixed behaviour: dm-verity, none and copy pass every check in every case.
 * fs-verity needs its filesystem mounted: it is booted on a separate ext4 /boot only (with a
 * survivor, that disk is let off), and build says so for the layouts it pins.
 * Before the fix (storage-init's loop device on the image file), dm-verity and none fail: with a
 * survivor, the separate boot disk's fsck ("in use", rc 8) and read-write mount (busy); with /boot
 * in / and `ro`, initramfs-tools' root fsck ("/dev/vda is in use"); with `rw`, the root mount
 * ("mount: mounting /dev/vda on /root failed: Device or resource busy").
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { IntegrityMode } from "../../src/formats/storage-init-config/index.js";
import { readInitramfs } from "../../src/initramfs/read.js";
import { treeToCpio } from "../../src/formats/cpio/writer.js";
import { bytesContent, DirNode, lookup, newDir, newTree } from "../../src/fs/tree.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { boot, BootResult, enableVerity, KVER, makeBootDisk, makeRootDisk, STOCK_INITRD, tail, withLibraries } from "./vm.js";
import { concatInitrds } from "../helpers/initrd.js";

const ROOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000013";
const EXT4_LABEL = "IOFSEXT4";
const VFAT_LABEL = "IOFSVFAT";
const SURVIVOR = "iofs.survivor=1";
const imageName = (mode: IntegrityMode) => `initoverlayfs-${KVER}-${mode}.img`;

/** scripts/init-bottom/survivor: `sleep 3141` outlives the switch-root, its root still the initramfs's */
const SURVIVOR_HOOK = `#!/bin/sh
case "$1" in prereqs) exit 0 ;; esac
grep -q '${SURVIVOR}' /proc/cmdline || exit 0
setsid sleep 3141 </dev/null >/dev/null 2>&1 &
`;

/** The test root's init: a marker line per check, then power off. */
const UNPIN_INIT = `#!/bin/busybox sh
B=/bin/busybox
export PATH=/sbin:/bin
[ -e /proc/self/stat ] || $B mount -t proc proc /proc
[ -d /sys/block ] || $B mount -t sysfs sysfs /sys
[ -e /dev/vda ] || $B mount -t devtmpfs devtmpfs /dev
echo ROOT-MARKER
surv=
for p in /proc/[0-9]*; do
  case "$($B tr '\\0' ' ' < $p/cmdline 2>/dev/null)" in "sleep 3141 "*) surv="$surv \${p#/proc/}" ;; esac
done
[ -n "$surv" ] && echo "SURVIVOR-ALIVE$surv" || echo "SURVIVOR-NONE"
# without a survivor, the initramfs's mounts and loop/dm devices go away asynchronously: wait up to
# 5 s (with one, they may stay for good)
n=0
while [ -z "$surv" ] && [ $n -lt 10 ]; do
  busy=0
  for f in /sys/block/loop*/loop/backing_file /sys/block/dm-*/dm; do [ -e "$f" ] && busy=1; done
  [ $busy = 0 ] && break
  n=$((n + 1)); $B sleep 0.5
done
for f in /sys/block/loop*/loop/backing_file; do [ -e "$f" ] && echo "LOOP-BACKED $f $($B cat $f)"; done
# initramfs-tools' checkfs leaves this stamp only when the root's fsck passed
if [ -e /run/initramfs/fsck-root ]; then echo "INITRAMFS-FSCK-ROOT ok"; else
  echo "INITRAMFS-FSCK-ROOT missing"; [ -e /run/initramfs/fsck.log ] && $B sed 's/^/FSCK-LOG /' /run/initramfs/fsck.log
fi
# the root: fsck while read-only and remount read-write (systemd-fsck-root, systemd-remount-fs)
rw=ok
case ",$($B awk '$2 == "/" { o = $4 } END { print o }' /proc/mounts)," in
*,ro,*)
  out=$(/sbin/e2fsck -f -p /dev/vda 2>&1); rc=$?
  echo "$out" | $B sed 's/^/  e2fsck vda: /'
  echo "FSCK-ROOT rc=$rc"
  msg=$($B mount -o remount,rw / 2>&1) || rw="remount: $msg" ;;
*) echo "FSCK-ROOT skipped: / is mounted read-write" ;;
esac
[ "$rw" = ok ] && { (echo x > /rw-test && $B sync && $B rm /rw-test) 2>/dev/null || rw="cannot write /"; }
[ "$rw" = ok ] && echo "ROOT-RW-OK" || echo "ROOT-RW-FAILED $rw"
# each separate boot disk: fsck, then mount on /boot read-write and write (systemd-fsck@, boot.mount)
for m in fat vfat nls_cp437 nls_ascii; do $B insmod /modules/$m.ko 2>/dev/null; done
check_boot() {
  dev=$1; type=$2
  if [ $type = ext4 ]; then out=$(/sbin/e2fsck -f -p /dev/$dev 2>&1); rc=$?; else out=$(/sbin/fsck.fat -a /dev/$dev 2>&1); rc=$?; fi
  echo "$out" | $B sed "s/^/  fsck $dev: /"
  echo "FSCK-BOOT $dev rc=$rc"
  st=ok
  msg=$($B mount -t $type -o rw /dev/$dev /boot 2>&1) || st="$msg"
  if [ "$st" = ok ]; then
    (echo x > /boot/rw-test && $B sync && $B rm /boot/rw-test) 2>/dev/null || st="cannot write /boot"
    $B umount /boot || st="$st; umount failed"
  fi
  [ "$st" = ok ] && echo "BOOT-RW-OK $dev" || echo "BOOT-RW-FAILED $dev $st"
}
check_boot vdb ext4
check_boot vdc vfat
$B sync
$B mount -o remount,ro / 2>/dev/null
echo ROOT-DONE
$B poweroff -f
`;

interface Report {
  reached: boolean;
  done: boolean;
  survivor: boolean;
  initramfsFsckRoot?: string;
  /** e2fsck's exit code on the read-only root; undefined when / was mounted read-write */
  fsckRoot?: number;
  rootRw?: string;
  fsckBoot: Record<string, number>;
  bootRw: Record<string, string>;
}

function report(c: string): Report {
  const one = (re: RegExp) => re.exec(c)?.[1];
  const fsckBoot: Record<string, number> = {};
  const bootRw: Record<string, string> = {};
  for (const m of c.matchAll(/^FSCK-BOOT (\w+) rc=(\d+)$/gm)) fsckBoot[m[1]] = Number(m[2]);
  for (const m of c.matchAll(/^BOOT-RW-(OK|FAILED) (\w+)(.*)$/gm)) bootRw[m[2]] = m[1] === "OK" ? "ok" : m[3].trim();
  const rc = one(/^FSCK-ROOT rc=(\d+)$/m);
  return {
    reached: /^ROOT-MARKER$/m.test(c),
    done: /^ROOT-DONE$/m.test(c),
    survivor: /^SURVIVOR-ALIVE /m.test(c),
    initramfsFsckRoot: one(/^INITRAMFS-FSCK-ROOT (\w+)$/m),
    fsckRoot: rc === undefined ? undefined : Number(rc),
    rootRw: one(/^ROOT-RW-(OK|FAILED.*)$/m)?.replace(/^OK$/, "ok"),
    fsckBoot,
    bootRw,
  };
}

type Layout = "ext4" | "vfat" | "root-ro" | "root-rw";
const LAYOUTS: Record<Layout, { what: string; append: (mode: IntegrityMode) => string; device: RegExp }> = {
  // separate /boot: Debian's default `ro` (the real root's init then fscks and remounts /)
  ext4: { what: "separate /boot on ext4", append: (m) => `ro initoverlayfs.boot=LABEL=${EXT4_LABEL} initoverlayfs.image=/${imageName(m)}`, device: /boot device LABEL=IOFSEXT4 is \/dev\/vdb/ },
  vfat: { what: "separate /boot on vfat", append: (m) => `ro initoverlayfs.boot=LABEL=${VFAT_LABEL} initoverlayfs.image=/${imageName(m)}`, device: /boot device LABEL=IOFSVFAT is \/dev\/vdc/ },
  // /boot as a directory of /: the pairs are built for it (boot = the root's UUID, image under /boot)
  "root-ro": { what: "/boot in the ext4 root, ro", append: () => "ro", device: new RegExp(`boot device UUID=${ROOT_UUID} is /dev/vda`) },
  "root-rw": { what: "/boot in the ext4 root, rw", append: () => "", device: new RegExp(`boot device UUID=${ROOT_UUID} is /dev/vda`) },
};

/** What failed, as one line each; [] when the boot did what the stock initramfs does. */
function problems(r: BootResult, rep: Report, o: { survivor: boolean; ro: boolean; skipBoot?: string[] }): string[] {
  const p: string[] = [];
  if (r.timedOut) p.push("timed out");
  if (!rep.reached) p.push("the real root's init never ran");
  else if (!rep.done) p.push("the real root's init did not finish");
  if (!rep.reached) return p;
  if (rep.survivor !== o.survivor) p.push(o.survivor ? "the survivor is not running: the case does not test what it says" : "an unexpected survivor");
  if (rep.initramfsFsckRoot !== "ok") p.push(`initramfs-tools' root fsck did not pass (${rep.initramfsFsckRoot})`);
  if (o.ro && (rep.fsckRoot === undefined || rep.fsckRoot > 1)) p.push(`fsck of the read-only root: rc=${rep.fsckRoot}`);
  if (rep.rootRw !== "ok") p.push(`/ read-write: ${rep.rootRw}`);
  for (const dev of ["vdb", "vdc"]) {
    if (o.skipBoot?.includes(dev)) continue;
    // fsck: 0 clean, 1 corrected (both boot on); 8 is e2fsck's "in use"
    if (!(rep.fsckBoot[dev] <= 1)) p.push(`fsck of ${dev}: rc=${rep.fsckBoot[dev]}`);
    if (rep.bootRw[dev] !== "ok") p.push(`${dev} on /boot read-write: ${rep.bootRw[dev]}`);
  }
  return p;
}

/** The console lines that say why, for the failure message. */
function why(c: string): string {
  // (the original init's "mounting sysfs on /sys failed: busy" and the like are storage-init's API mounts, not the point)
  return c.split("\n").filter((l) => !/sysfs|udev|proc/.test(l) && /busy|in use|Cannot continue|RO state|FAILED|Failed to mount|check failed|Kernel panic/.test(l))
    .slice(0, 12).join("\n");
}

let work: string;
let variant: string;
let disks: string[];
/** disks, with vdb an ext4 boot disk holding the fs-verity image, fs-verity enabled on it */
let fsvDisks: string[];
/** the fs-verity setup boot's console, once it is done */
let verityReady: Promise<string>;
const pairs = new Map<IntegrityMode, BuildResult>();

/** At most two VMs at a time, whichever test asks (the tests themselves all run at once). */
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(f: () => Promise<T>): Promise<T> {
  while (running >= 2) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Debian's initramfs + fsck + the survivor hook, appended as one more (uncompressed) cpio archive. */
async function makeVariant(out: string): Promise<string> {
  const stockBytes = readFileSync(STOCK_INITRD);
  const stock = (await readInitramfs(stockBytes)).tree;
  const order = lookup(stock, "scripts/init-bottom/ORDER");
  assert.ok(order?.kind === "file", "no scripts/init-bottom/ORDER in the stock initramfs");
  const t = newTree();
  const put = (path: string, bytes: Uint8Array, perm: number) => {
    const parts = path.split("/");
    let d: DirNode = t.root;
    for (const part of parts.slice(0, -1)) {
      let n = d.entries.get(part);
      if (!n) d.entries.set(part, (n = newDir()));
      d = n as DirNode;
    }
    d.entries.set(parts[parts.length - 1], { kind: "file", content: bytesContent(bytes), perm, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, xattrs: new Map() });
  };
  put("scripts/init-bottom/survivor", Buffer.from(SURVIVOR_HOOK), 0o755);
  // run_scripts sources ORDER: one line per script, each followed by the param.conf line
  const orderText = Buffer.from(order.content.read()).toString("latin1");
  put("scripts/init-bottom/ORDER", Buffer.from(`${orderText.replace(/\n?$/, "\n")}/scripts/init-bottom/survivor "$@"\n[ -e /conf/param.conf ] && . /conf/param.conf\n`), 0o644);
  // fsck as initramfs-tools' fsck hook copies it (copy_exec: the program and its libraries), libraries the initramfs lacks only
  for (const [prog, at] of [["/usr/sbin/fsck", "usr/sbin/fsck"], ["/usr/sbin/logsave", "usr/sbin/logsave"], ["/usr/sbin/e2fsck", "usr/sbin/fsck.ext4"]]) {
    for (const [p, from] of Object.entries(withLibraries(prog, at))) {
      const path = p.replace(/^(lib|lib64)\//, "usr/$1/"); // merged /usr in the initramfs
      if (path === at || !lookup(stock, path)) put(path, readFileSync(from), 0o755);
    }
  }
  // the kernel reads on after a compressed archive from the next 4-byte boundary
  writeFileSync(out, concatInitrds([stockBytes, treeToCpio(t)]));
  return out;
}

before(async () => {
  work = makeTempDir("iofs-unpin-");
  variant = await makeVariant(join(work, "initrd-variant.img"));
  const images = (modes: IntegrityMode[]) => Object.fromEntries(modes.map((m) => [imageName(m), pairs.get(m)!.image.path]));
  // fs-verity first: its boot disk (ext4 -O verity, like the shared one, with the fs-verity image
  // only) needs the one boot that writes to a disk for good, which then runs during the other builds
  pairs.set("fs-verity", await buildPair({
    initramfs: variant, kver: KVER, boot: `LABEL=${EXT4_LABEL}`, imagePath: `/${imageName("fs-verity")}`, outputDir: join(work, "fs-verity"), integrity: "fs-verity",
  }));
  const fsv = makeBootDisk(work, "ext4", images(["fs-verity"]), { label: EXT4_LABEL, features: "verity", tag: "-fsv" });
  verityReady = limited(() => enableVerity(work, fsv, [imageName("fs-verity")]));
  verityReady.catch(() => undefined); // awaited by the fs-verity tests
  // dm-verity, none, copy: built for /boot in / (what install makes there); the separate layouts
  // name their disk and image on the command line
  for (const mode of ["dm-verity", "none", "copy"] as const) {
    pairs.set(mode, await buildPair({
      initramfs: variant, kver: KVER, boot: `UUID=${ROOT_UUID}`, imagePath: `/boot/${imageName(mode)}`, outputDir: join(work, mode), integrity: mode,
    }));
  }
  const tools = {
    ...withLibraries("/usr/sbin/e2fsck", "/sbin/e2fsck"),
    ...withLibraries("/usr/sbin/fsck.fat", "/sbin/fsck.fat"),
    ...Object.fromEntries(["fat/fat", "fat/vfat", "nls/nls_cp437", "nls/nls_ascii"].map((m) => [`modules/${m.split("/")[1]}.ko`, `/lib/modules/${KVER}/kernel/fs/${m}.ko`])),
  };
  const modes = ["dm-verity", "none", "copy"] as const;
  const inRoot = Object.fromEntries(Object.entries(images([...modes])).map(([n, p]) => [`boot/${n}`, p]));
  disks = [
    makeRootDisk(work, { name: "unpin-root", init: UNPIN_INIT, uuid: ROOT_UUID, files: { ...tools, ...inRoot } }),
    makeBootDisk(work, "ext4", images([...modes]), { label: EXT4_LABEL, features: "verity" }),
    makeBootDisk(work, "vfat", images([...modes]), { label: VFAT_LABEL }),
  ];
  fsvDisks = [disks[0], fsv, disks[2]];
});

after(() => removeDir(work));

/** snapshot=on: each boot starts from the same disks (writes are discarded), and two boots can share them */
function bootWith(initrd: string, append: string, on = disks): Promise<BootResult> {
  return limited(() => boot({ initrd, disks: on, append, driveOptions: ",snapshot=on", timeoutSeconds: 180 }));
}

function expectClean(r: BootResult, what: string, o: { survivor: boolean; ro: boolean; skipBoot?: string[] }): Report {
  console.log(`${what}${o.survivor ? " + survivor" : ""}: VM ran ${r.wallSeconds.toFixed(1)} s`);
  const rep = report(r.console);
  const p = problems(r, rep, o);
  assert.deepEqual(p, [], `${what}:\n${p.join("\n")}\n--- why:\n${why(r.console)}\n--- console:\n${tail(r.console, 40)}`);
  return rep;
}

// Boots (19, each up to 180 s, two at a time through limited()): the reference covers every layout
// at once (all disks are checked in every boot); dm-verity runs every layout with and without the
// survivor; none (the same mapping minus the hash tree) every layout with the survivor, the
// stricter case; copy two layouts; fs-verity the one it supports.
describe("nothing of ours holds the boot filesystem after the hand-over (issue 13, item 1)", { concurrency: true }, () => {
  for (const [ro, survivor] of [[true, false], [true, true], [false, true]]) {
    it(`reference: the original initramfs as it is, root ${ro ? "ro" : "rw"}${survivor ? ", with a survivor" : ""}`, async () => {
      const r = await bootWith(variant, `${ro ? "ro" : ""} ${survivor ? SURVIVOR : ""}`);
      expectClean(r, `reference, root ${ro ? "ro" : "rw"}`, { survivor, ro });
    });
  }

  const layouts = Object.keys(LAYOUTS) as Layout[];
  const cases: [IntegrityMode, Layout, boolean][] = [
    ...layouts.flatMap((l) => [false, true].map((s): [IntegrityMode, Layout, boolean] => ["dm-verity", l, s])),
    ...layouts.map((l): [IntegrityMode, Layout, boolean] => ["none", l, true]),
    // copy holds nothing of /boot once the image is in its memfd (the one unpinned mode)
    ["copy", "vfat", true], ["copy", "root-rw", true],
  ];
  for (const [mode, layout, survivor] of cases) {
    it(`${mode}, ${LAYOUTS[layout].what}${survivor ? ", with a survivor" : ""}`, async () => {
      const r = await bootWith(pairs.get(mode)!.mini.path, `${LAYOUTS[layout].append(mode)} ${survivor ? SURVIVOR : ""}`);
      assert.match(r.console, LAYOUTS[layout].device, `the image did not come from where the layout says\n${tail(r.console)}`);
      // dm-verity on ext4: found in the filesystem's metadata, never mounted; none and vfat: mounted, mapped by FIEMAP
      const unmounted = mode === "dm-verity" && layout !== "vfat";
      assert.match(r.console, unmounted ? /initoverlayfs: .* was never mounted/ : /initoverlayfs: .* mounted on \/initoverlayfs\/lower from .*; \/boot unmounted/, tail(r.console));
      expectClean(r, `${mode}, ${layout}`, { survivor, ro: layout !== "root-rw" });
    });
  }

  for (const survivor of [false, true]) {
    it(`fs-verity, separate /boot on ext4${survivor ? ", with a survivor: expected to pin /boot (fs-verity reads through its filesystem)" : ""}`, async (t) => {
      const setup = await verityReady;
      assert.match(setup, new RegExp(`VERITY-ENABLED /boot/${imageName("fs-verity").replace(/\./g, "\\.")}`), tail(setup));
      const r = await bootWith(pairs.get("fs-verity")!.mini.path, `ro ${survivor ? SURVIVOR : ""}`, fsvDisks);
      assert.match(r.console, LAYOUTS.ext4.device, tail(r.console));
      assert.match(r.console, /initoverlayfs: .*fs-verity/i, tail(r.console));
      // with a survivor, the image's filesystem stays mounted (read-only) as long as it runs: only vdb is let off
      const rep = expectClean(r, "fs-verity", { survivor, ro: true, skipBoot: survivor ? ["vdb"] : [] });
      if (survivor) t.diagnostic(`vdb with a survivor: fsck rc=${rep.fsckBoot.vdb}, read-write mount: ${rep.bootRw.vdb}`);
    });
  }

  // fs-verity reads through its filesystem: build says what that keeps mounted (install refuses
  // /boot as a directory of /, test/install covers that)
  it("fs-verity: build refuses or warns for /boot in /, and warns that a surviving process pins /boot", async () => {
    const built = buildPair({
      initramfs: variant, kver: KVER, boot: `UUID=${ROOT_UUID}`, imagePath: `/boot/${imageName("fs-verity")}`,
      outputDir: join(work, "fs-verity-in-root"), integrity: "fs-verity",
    }).then((p) => p.warnings, (e: Error) => [`refused: ${e.message}`]);
    const said = await built;
    assert.ok(said.some((w) => /fs-verity/i.test(w) && /boot|pin|mounted/i.test(w)), `build for /boot in / said nothing about it:\n${said.join("\n")}`);
    const sep = pairs.get("fs-verity")!.warnings;
    assert.ok(sep.some((w) => /fs-verity/i.test(w) && /surviv|pin|mounted/i.test(w)), `build for a separate /boot said nothing about /boot staying mounted:\n${sep.join("\n")}`);
  });
});
