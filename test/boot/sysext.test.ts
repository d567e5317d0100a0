/**
 * System extensions stacked by storage-init, booted in QEMU (Debian's kernel, dm-verity): a pinned
 * extension's tool and file are there for the original init (the test wraps it: the wrapper, from
 * the extension, runs the tool and execs /init); a signed extension whose root hash is not pinned
 * is stacked because its signature verifies against the pinned signer; a tampered, an unpinned, a
 * wrongly signed, an out-of-scope and a wrong-ID extension are each skipped with one
 * line, never mounted; one passed as systemd-stub does (/.extra/sysext in an appended cpio) is
 * stacked too, below the boot partition's (a file both carry shows the higher one's). Small ones are
 * verified in memory and merged into RAM layers; a large one (over 16 MiB) is read through its
 * own loop and dm-verity devices and sits between them; a tampered one of each kind is skipped.
 * Then the boot cost of 100 small extensions against none.
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { treeToCpio } from "../../src/formats/cpio/writer.js";
import { bytesContent, DirNode, FsNode } from "../../src/fs/tree.js";
import { readDdi, writeDdi } from "../../src/integrity/ddi-file.js";
import { readDirTree } from "../../src/io/dir-reader.js";
import { writeImageFile } from "../../src/pipeline/convert.js";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { buildSysext } from "../../src/pipeline/sysext.js";
import { readMiniInitramfs } from "../../src/initramfs/mini-config.js";
import { extensionsStatus } from "../../src/install/extensions.js";
import { makeTestKey } from "../helpers/keys.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { assertNothingLeft, boot, KVER, makeBootDisk, makeRootDisk, rootReport, STOCK_INITRD, tail } from "./vm.js";
import { concatInitrds } from "../helpers/initrd.js";

const BOOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000015";
const IMAGE = `initoverlayfs-${KVER}.img`;
const SHARED = "initoverlayfs-extensions";
const WRAPPER = "/usr/lib/initoverlayfs-test/init";
let work: string;
let root: string;
let pair: BuildResult;
let disk: string;
let stubInitrd: string;

/** an extension of `files` (path under the tree → content, executable) */
async function ext(name: string, files: Record<string, string>, o: { id?: string; scope?: ("initrd" | "system" | "portable")[]; sign?: { key: string; cert: string }; partition?: "root" | "usr" } = {}) {
  const tree = join(work, `tree-${name}`);
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(tree, p, ".."), { recursive: true });
    writeFileSync(join(tree, p), content);
    chmodSync(join(tree, p), 0o755);
  }
  const out = join(work, `${name}.raw`);
  const r = await buildSysext({ dir: tree, output: out, id: o.id ?? "_any", scope: o.scope ?? ["initrd"], timestamp: { sec: 0, nsec: 0 }, key: o.sign?.key, cert: o.sign?.cert, partition: o.partition });
  return { path: out, rootHash: r.rootHash };
}

before(async () => {
  work = makeTempDir("iofs-sysext-boot-");
  root = makeRootDisk(work);
  const good = await ext("tools", {
    "usr/bin/ext-hello": "#!/bin/sh\necho \"EXT-TOOL-RAN $(cat /opt/ext/data)\"\n",
    "opt/ext/data": "opt-data-from-extension\n",
    // also in the stub's extension, which stacks lower: this one must win
    "usr/share/ext-both/mark": "TOP-LAYER tools\n",
    [WRAPPER.slice(1)]: "#!/bin/sh\n/usr/bin/ext-hello\n/usr/bin/ext-signed\ncat /usr/share/ext-stub/only /usr/share/ext-both/mark /usr/share/ext-big/mark /usr/share/ext-usr/mark\nexec /init \"$@\"\n",
  });
  const stub = await ext("stubbed", { "usr/share/ext-stub/only": "STUB-LAYER seen\n", "usr/share/ext-both/mark": "TOP-LAYER stubbed\n" });
  // pinned, but its /usr is a symlink (the sysext command refuses that; made here by hand): it would replace the image's /usr
  const linkTree = join(work, "tree-usrlink");
  mkdirSync(join(linkTree, "opt"), { recursive: true });
  symlinkSync("/opt", join(linkTree, "usr"));
  const linkErofs = join(work, "usrlink.erofs");
  writeImageFile(readDirTree(linkTree), linkErofs, { timestamp: { sec: 0, nsec: 0 } });
  const usrLink = join(work, "usrlink.raw");
  await writeDdi(linkErofs, usrLink, { salt: new Uint8Array(32).fill(7), uuid: new Uint8Array(16).fill(9) });
  // in the image's own directory (IMAGE.extra.d): stacked last, on top
  const perKernel = await ext("perkernel", { "usr/share/ext-both/mark": "TOP-LAYER perkernel\n" });
  const keys = join(work, "keys");
  mkdirSync(keys);
  const key = makeTestKey(keys);
  const signedOnly = await ext("signed", { "usr/bin/ext-signed": "#!/bin/sh\necho EXT-SIGNED-RAN\n" }, { sign: { key: key.keyFile, cert: key.certFile } });
  // signed by another key: its signature cannot verify against the pinned signer
  const otherKeys = join(work, "other-keys");
  mkdirSync(otherKeys);
  const other = makeTestKey(otherKeys);
  const wrongSigner = await ext("wrongsigner", { "usr/bin/ext-wrongsigner": "#!/bin/sh\necho WRONGSIGNER\n" }, { sign: { key: other.keyFile, cert: other.certFile } });
  // a usr partition (its filesystem is /usr, as mkosi and systemd-repart make them): stacked from RAM under /usr
  const usrPart = await ext("usrpart", { "usr/share/ext-usr/mark": "USR-PARTITION seen\n" }, { partition: "usr" });
  const tamperedSrc = await ext("tampered", { "usr/bin/ext-tampered": "#!/bin/sh\necho TAMPERED\n" });
  // over LIMITS.sysextRam (16 MiB): on their own loop and dm-verity devices
  const big = await ext("big", { "usr/share/ext-big/blob": randomBytes(13 << 20).toString("base64"), "usr/share/ext-big/mark": "BIG-LAYER seen\n" });
  const bigTamperedSrc = await ext("bigtampered", { "usr/share/ext-bigtampered/blob": randomBytes(13 << 20).toString("base64"), "usr/bin/ext-bigtampered": "#!/bin/sh\necho BIGTAMPERED\n" });
  const unpinned = await ext("unpinned", { "usr/bin/ext-unpinned": "#!/bin/sh\necho UNPINNED\n" });
  const system = await ext("systemonly", { "usr/bin/ext-system": "#!/bin/sh\necho SYSTEM\n" }, { scope: ["system", "portable"] });
  const wrongId = await ext("wrongid", { "usr/bin/ext-wrongid": "#!/bin/sh\necho WRONGID\n" }, { id: "fedora" });
  // a byte of the tampered one's root partition flipped: its GUIDs still name the pinned root hash
  const t = Buffer.from(readFileSync(tamperedSrc.path));
  t[readDdi(tamperedSrc.path).parts.root.offset + 100] ^= 1;
  const tampered = join(work, "tampered-flipped.raw");
  writeFileSync(tampered, t);
  const bt = Buffer.from(readFileSync(bigTamperedSrc.path));
  bt[readDdi(bigTamperedSrc.path).parts.root.offset + (8 << 20)] ^= 1;
  const bigTampered = join(work, "bigtampered-flipped.raw");
  writeFileSync(bigTampered, bt);
  pair = await buildPair({
    initramfs: STOCK_INITRD, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "out"), integrity: "dm-verity",
    sysext: [good.path, stub.path, tamperedSrc.path, system.path, wrongId.path, perKernel.path, usrLink, big.path, bigTamperedSrc.path, usrPart.path], sysextCert: key.certFile,
  });
  const shared = join(work, "shared");
  mkdirSync(shared);
  const files: Record<string, string> = { [IMAGE]: pair.image.path };
  for (const [n, p] of Object.entries({ "usrpart.raw": usrPart.path, "big.raw": big.path, "bigtampered.raw": bigTampered, "tools.raw": good.path, "usrlink.raw": usrLink, "signed.raw": signedOnly.path, "wrongsigner.raw": wrongSigner.path, "tampered.raw": tampered, "unpinned.raw": unpinned.path, "systemonly.raw": system.path, "wrongid.raw": wrongId.path })) {
    files[`${SHARED}/${n}`] = p;
  }
  files[`${IMAGE}.extra.d/perkernel.raw`] = perKernel.path;
  disk = makeBootDiskWithDirs(files);
  // what systemd-stub appends: /.extra/sysext/NAME.raw in a cpio after the mini initramfs
  const meta = (perm: number) => ({ perm, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, xattrs: new Map() });
  const dir = (): DirNode => ({ kind: "dir", entries: new Map(), ...meta(0o755) });
  const extra = dir();
  const sysextDir = dir();
  const rootDir = dir();
  rootDir.entries.set(".extra", extra);
  extra.entries.set("sysext", sysextDir);
  sysextDir.entries.set("stubbed.raw", { kind: "file", content: bytesContent(readFileSync(stub.path)), ...meta(0o444) } as FsNode);
  stubInitrd = join(work, "mini+stub.img");
  writeFileSync(stubInitrd, concatInitrds([readFileSync(pair.mini.path), gzipSync(Buffer.from(treeToCpio({ root: rootDir })))]));
});

after(() => removeDir(work));

/** makeBootDisk takes flat names: subdirectories are made in its source directory first. */
function makeBootDiskWithDirs(files: Record<string, string>, tag = "-sysext"): string {
  for (const name of Object.keys(files)) if (name.includes("/")) mkdirSync(join(work, `bootdir-ext4${tag}`, name, ".."), { recursive: true });
  return makeBootDisk(work, "ext4", files, { uuid: BOOT_UUID, tag });
}

test("sysext: the pinned extension's tool runs before the original init, which boots on; a signed one is stacked by its signature; extensions stack in order, small ones merged in RAM layers, a large one on its devices between them; tampered (small and large), unpinned, wrongly signed, out-of-scope and wrong-ID ones are skipped with one line each", async () => {
  const r = await boot({ initrd: stubInitrd, disks: [root, disk], timeoutSeconds: 300, append: `initoverlayfs.init=${WRAPPER}` });
  const c = r.console;
  const rep = rootReport(c);
  assert.ok(!r.timedOut && rep.reached && rep.done, `did not reach the test root\n${tail(c, 120)}`);
  assert.match(c, /^EXT-TOOL-RAN opt-data-from-extension\nEXT-SIGNED-RAN\nSTUB-LAYER seen\nTOP-LAYER perkernel\nBIG-LAYER seen\nUSR-PARTITION seen$/m, tail(c, 120));
  // layers: r/0 (RAM: stubbed), 1 (big, its devices), r/2 (RAM: signed, tools, usrpart, perkernel merged)
  assert.match(c, /initoverlayfs: extension \/.extra\/sysext\/stubbed\.raw: stacked on \/initoverlayfs\/x\/r\/0 \(in RAM: /);
  assert.match(c, new RegExp(`initoverlayfs: extension /boot/${SHARED}/big\\.raw: stacked on /initoverlayfs/x/1 \\(root hash [0-9a-f]{16}\\.\\.\\., \\d+ blocks read through dm-verity`));
  // by name within a directory: signed.raw (its signature verifies against the pinned signer) before tools.raw
  assert.match(c, /initoverlayfs: extension root hash [0-9a-f]{16}\.\.\.: signature verifies against \/etc\/initoverlayfs\/sysext-cert\.der/);
  assert.match(c, new RegExp(`initoverlayfs: extension /boot/${SHARED}/signed\\.raw: stacked on /initoverlayfs/x/r/2 \\(in RAM: `));
  assert.match(c, new RegExp(`initoverlayfs: extension /boot/${SHARED}/tools\\.raw: stacked on /initoverlayfs/x/r/2 \\(in RAM: `));
  const skipped = (name: string, why: RegExp) => {
    const lines = c.split("\n").filter((l) => l.includes(`extension /boot/${SHARED}/${name}.raw: skipped: `));
    assert.equal(lines.length, 1, `${name}: one skip line\n${tail(c, 120)}`);
    assert.match(lines[0], why);
  };
  skipped("tampered", /verity: the data give root hash [0-9a-f]{16}\.\.\., not the pinned one$/);
  skipped("bigtampered", /dm-verity: data at offset \d+ does not match the pinned root hash/);
  skipped("unpinned", /root hash [0-9a-f]{16}\.\.\. not pinned \(sysext_roothash\) and not signed/);
  skipped("systemonly", /SYSEXT_SCOPE does not include initrd/);
  skipped("wrongid", /ID=fedora, the image's os-release says ID=\(none\)/);
  skipped("wrongsigner", /root hash [0-9a-f]{16}\.\.\. not pinned; signature: /);
  assert.match(c, new RegExp(`initoverlayfs: extension /boot/${IMAGE.replace(/\./g, "\\.")}\\.extra\\.d/perkernel\\.raw: stacked on /initoverlayfs/x/r/2 \\(in RAM: `));
  skipped("usrlink", /\/usr is not a directory/);
  assert.match(c, new RegExp(`initoverlayfs: extension /boot/${SHARED}/usrpart\\.raw: stacked on /initoverlayfs/x/r/2 \\(in RAM: `));
  assert.match(c, /initoverlayfs: extensions: 6 stacked, 7 skipped, 3 layer\(s\)/);
  assert.match(c, /overlay mounted on \/initoverlayfs\/root \(6 extension\(s\) in 3 layer\(s\) over the image\)/);
  for (const never of ["TAMPERED", "BIGTAMPERED", "UNPINNED", "SYSTEM", "WRONGID", "WRONGSIGNER"]) assert.doesNotMatch(c, new RegExp(`^${never}$`, "m"));
  assertNothingLeft(c, "extensions");

  // what `status` says of the same boot partition and mini initramfs is what storage-init did
  const mini = (await readMiniInitramfs(readFileSync(pair.mini.path), pair.mini.path))!;
  const bootDir = join(work, "bootdir-ext4-sysext");
  const x = await extensionsStatus(join(bootDir, IMAGE), mini.config, mini.tree);
  assert.equal(x.osId, "");
  assert.equal(x.extensions.length, 12);
  for (const v of x.extensions) {
    const onBoot = `/boot/${v.path.slice(bootDir.length + 1)}`;
    const line = c.split("\n").find((l) => l.includes(`initoverlayfs: extension ${onBoot}: `));
    assert.ok(line, `${onBoot}: no storage-init line`);
    const said = /: (stacked on \S+|skipped: (.*))/.exec(line.slice(line.indexOf(onBoot)))!;
    assert.equal(v.stacked, said[1].startsWith("stacked"), `${onBoot}: status says ${v.stacked ? "stacked" : `skipped (${v.reason})`}, storage-init: ${said[1]}`);
    if (v.stacked) assert.equal(v.placement, said[1].startsWith("stacked on /initoverlayfs/x/r/") ? "RAM" : "devices", onBoot);
    if (!v.stacked) {
      // the same words, up to where the checks' own libraries word the detail (dm-verity's errno, the PKCS#7 verdict)
      const until = (t: string) => t.replace(/^(dm-verity:|root hash \S+ not pinned; signature:).*$/, "$1");
      assert.equal(until(v.reason!), until(said[2]), onBoot);
    }
  }
});

/** Debian initramfs-tools' phases after storage-init's exec, as its console shows them. */
const PHASE_MARKS: Record<string, RegExp> = {
  exec: /initoverlayfs: starting \/init from the image/,
  "udev coldplug": /Starting systemd-udevd/,
  "init-premount": /Begin: Running \/scripts\/init-premount/,
  "local-top": /Begin: Running \/scripts\/local-top/,
  "local-premount": /Begin: Running \/scripts\/local-premount/,
  "init-bottom": /Begin: Running \/scripts\/init-bottom/,
  root: /^ROOT-MARKER$/m,
};

/** "phase a / b s" for each span between consecutive marks both boots showed. */
function phaseSplit(a: Record<string, number>, b: Record<string, number>): string {
  const names = Object.keys(PHASE_MARKS).filter((k) => k in a && k in b);
  return names.slice(0, -1).map((k, i) => `${k}→${names[i + 1]} ${(a[names[i + 1]] - a[k]).toFixed(2)} / ${(b[names[i + 1]] - b[k]).toFixed(2)} s`).join(", ");
}

test("sysext: 100 small pinned extensions against none (instruction clock): under 10 ms each in storage-init, the real root under 10 % later, no device left", async () => {
  const N = 100;
  const many = join(work, "many");
  mkdirSync(many);
  const exts = [];
  for (let i = 0; i < N; i++) exts.push(await ext(`e${String(i).padStart(3, "0")}`, { [`usr/share/ext-many/f${i}`]: `file ${i}\n` }));
  const p = await buildPair({ initramfs: STOCK_INITRD, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "out-many"), integrity: "dm-verity", sysext: exts.map((e) => e.path) });
  const files: Record<string, string> = { [IMAGE]: p.image.path };
  for (const e of exts) files[`${SHARED}/${e.path.split("/").pop()}`] = e.path;
  const d = makeBootDiskWithDirs(files, "-many");
  const none = makeBootDisk(work, "ext4", { [IMAGE]: p.image.path }, { uuid: BOOT_UUID, tag: "-none" });
  const started = (c: string) => Number(/initoverlayfs: starting \/init from the image \((\d+) ms\)/.exec(c)?.[1]);
  // the kernel's clock when storage-init execs the original init: what comes after is the original initramfs's time
  const execAt = (c: string) => Number(/\[\s*([\d.]+)\] initoverlayfs: starting \/init from the image/.exec(c)?.[1]);
  // SYSEXT_BENCH_ROUNDS=K: K pairs of boots, alternating, so that a shared machine's load falls on both alike
  const rounds = Math.max(1, Math.min(5, Number(process.env.SYSEXT_BENCH_ROUNDS ?? 1) || 1));
  for (let round = 1; round <= rounds; round++) {
    const r0 = await boot({ initrd: p.mini.path, disks: [root, none], timeoutSeconds: 300, marks: PHASE_MARKS, icount: true });
    assert.ok(rootReport(r0.console).reached, tail(r0.console));
    const rN = await boot({ initrd: p.mini.path, disks: [root, d], timeoutSeconds: 600, marks: PHASE_MARKS, icount: true });
    assert.ok(rootReport(rN.console).reached, tail(rN.console, 120));
    const step = /initoverlayfs: extensions: (\d+) stacked, (\d+) skipped, [^\n]*\((\d+) ms\)/.exec(rN.console);
    assert.ok(step, tail(rN.console, 120));
    assert.equal(Number(step[1]), N);
    assert.equal(Number(step[2]), 0);
    // one-block extensions: all verified in memory and merged into one RAM layer
    assert.match(rN.console, new RegExp(`overlay mounted on /initoverlayfs/root \\(${N} extension\\(s\\) in 1 layer\\(s\\) over the image\\)`));
    const t0 = started(r0.console);
    const tN = started(rN.console);
    assert.ok(Number.isFinite(t0) && Number.isFinite(tN));
    // measured, printed for the report (TCG: absolute numbers are slow-machine numbers)
    console.log(`SYSEXT-BENCH round ${round}: n=0 storage-init ${t0} ms, exec at ${execAt(r0.console)} s, uptime at root ${rootReport(r0.console).uptime} s; n=${N} storage-init ${tN} ms (extension step ${step[3]} ms), exec at ${execAt(rN.console)} s, uptime at root ${rootReport(rN.console).uptime} s`);
    // where the time after the exec goes: the original initramfs's phases, by the host's clock
    console.log(`SYSEXT-BENCH round ${round}: phases after the exec (wall seconds, n=0 / n=${N}): ${phaseSplit(r0.markSeconds, rN.markSeconds)}`);
    if (process.env.SYSEXT_BENCH_CONSOLE) {
      writeFileSync(`${process.env.SYSEXT_BENCH_CONSOLE}-${round}-0.txt`, r0.console);
      writeFileSync(`${process.env.SYSEXT_BENCH_CONSOLE}-${round}-${N}.txt`, rN.console);
    }
    // the instruction clock makes the two comparable on a shared machine: each extension must
    // cost little (3.7 ms of TCG time measured here, against 4.7 ms and 200 devices when each had
    // its own loop and dm-verity devices: the root then came 16 % later)
    const u0 = rootReport(r0.console).uptime ?? NaN;
    const uN = rootReport(rN.console).uptime ?? NaN;
    assert.ok(Number(step[3]) / N < 10, `extension step ${step[3]} ms for ${N}`);
    assert.ok((uN - u0) / u0 < 0.1, `root reached at ${uN} s with ${N} extensions, ${u0} s without`);
    assertNothingLeft(rN.console, `${N} extensions`);
  }
});
