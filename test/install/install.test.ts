/**
 * install, uninstall, status and install-hooks on a root directory: Debian's real initramfs
 * round trip, update-initramfs replacing our mini, a full /boot, the lock, BLS entry directories,
 * kernel removal. The CLI runs as a separate process, as the hooks run it.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { CLI } from "../helpers/cli.js";
import { run } from "../helpers/run.js";
import { makeTestKey } from "../helpers/keys.js";
import { checkBootable, cliEnv, CONF, KVER, miniConfig, plainRoot, SLOT, snapshot, SPEC, testOriginals, withBootFs } from "./helpers.js";

const orig = testOriginals([11, 12], 1_000_000);

test("Debian's initramfs: install puts the pair in place, status checks it, uninstall restores the original byte for byte", async () => {
  const work = makeTempDir("iofs-install-");
  let modules: string | undefined;
  try {
    const { root, boot } = plainRoot(work, `boot = ${SPEC}\n`);
    // the host's modules for the kernel, as on the installed system (a bind mount: under --root an
    // absolute symlink to /lib/modules would resolve inside the root, as in a chroot)
    modules = join(root, "lib/modules", KVER);
    mkdirSync(modules, { recursive: true });
    run("mount", ["--bind", "-o", "ro", `/lib/modules/${KVER}`, modules]);
    const original = readFileSync(`/boot/initrd.img-${KVER}`);
    writeFileSync(join(boot, SLOT), original);
    writeFileSync(join(boot, `config-${KVER}`), readFileSync(`/boot/config-${KVER}`));
    const before = snapshot(boot);

    const r = cliEnv(["install", "--root", root, "--kver", KVER, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = JSON.parse(r.stdout);
    assert.equal(res.action, "installed");
    assert.equal(checkBootable(boot, [original], SPEC), "mini");
    const cfg = miniConfig(join(boot, SLOT))!;
    assert.match(cfg.get("image")!, new RegExp(`/initoverlayfs-${KVER}-[0-9a-f]{12}\\.img$`));
    assert.ok(readFileSync(join(boot, `${SLOT}.full`)).equals(original));

    const st = cliEnv(["status", "--root", root, "--json"]);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    const [s] = JSON.parse(st.stdout);
    assert.equal(s.state, "installed");
    assert.equal(s.integrity, "dm-verity", "build's default, with the host's dm-verity module");
    assert.equal(s.image.check.ok, true);
    assert.equal(s.image.check.digestChecked, true, "status recomputed the hash tree against the root hash");
    assert.equal(s.original.bytes, original.length);

    // a second install has nothing to do
    const again = cliEnv(["install", "--root", root, "--kver", KVER, "--json"]);
    assert.equal(JSON.parse(again.stdout)[0].action, "up-to-date", again.stderr);

    const u = cliEnv(["uninstall", "--root", root, "--kver", KVER]);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(snapshot(boot), before, "/boot is exactly as before install");
  } finally {
    if (modules && run("umount", [modules], { allowFail: true }).code !== 0) run("umount", ["-l", modules], { allowFail: true });
    removeDir(work);
  }
});

test("image_format = ddi: install writes a DDI, status checks its partitions and hashes and finds a flipped data byte", async () => {
  const work = makeTempDir("iofs-install-ddi-");
  let modules: string | undefined;
  try {
    const { root, boot } = plainRoot(work, `boot = ${SPEC}\nimage_format = ddi\n`);
    modules = join(root, "lib/modules", KVER);
    mkdirSync(modules, { recursive: true });
    run("mount", ["--bind", "-o", "ro", `/lib/modules/${KVER}`, modules]);
    writeFileSync(join(boot, SLOT), readFileSync(`/boot/initrd.img-${KVER}`));
    writeFileSync(join(boot, `config-${KVER}`), readFileSync(`/boot/config-${KVER}`));
    const r = cliEnv(["install", "--root", root, "--kver", KVER]);
    assert.equal(r.code, 0, r.stderr);
    const cfg = miniConfig(join(boot, SLOT))!;
    assert.equal(cfg.get("image_format"), "ddi");
    const image = join(boot, readdirSync(boot).find((n) => n.startsWith("initoverlayfs-"))!);
    const table = JSON.parse(run("sfdisk", ["--json", image]).stdout).partitiontable;
    assert.equal(table.partitions[0].type, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
    assert.equal(Number(cfg.get("verity_hash_offset")), table.partitions[1].start * 512);
    const st = cliEnv(["status", "--root", root, "--json"]);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    const [s] = JSON.parse(st.stdout);
    assert.equal(s.image.check.ok, true);
    assert.equal(s.image.check.digestChecked, true);
    assert.equal(s.imageFormat, "ddi");
    assert.match(cliEnv(["status", "--root", root]).stdout, /integrity dm-verity, a DDI\n {2}image check: ok \(present, GPT and DDI partitions valid, layout as pinned, dm-verity data verified\)/);
    const bytes = readFileSync(image);
    bytes[table.partitions[0].start * 512 + 5_000_000] ^= 1;
    writeFileSync(image, bytes);
    const st2 = cliEnv(["status", "--root", root]);
    assert.equal(st2.code, 1, st2.stdout);
    assert.match(st2.stdout, /hash block at offset \d+ does not match the root partition's data/, st2.stdout);
  } finally {
    if (modules && run("umount", [modules], { allowFail: true }).code !== 0) run("umount", ["-l", modules], { allowFail: true });
    removeDir(work);
  }
});

test("status finds a damaged image and an image left over; exit 1", () => {
  const work = makeTempDir("iofs-install-");
  try {
    const { root, boot } = plainRoot(work);
    writeFileSync(join(boot, SLOT), orig.a);
    assert.equal(cliEnv(["install", "--root", root, "--kver", KVER]).code, 0);
    const image = readdirSync(boot).find((n) => n.startsWith("initoverlayfs-"))!;
    const bytes = readFileSync(join(boot, image));
    bytes[1024] ^= 0xff; // the superblock magic
    writeFileSync(join(boot, image), bytes);
    writeFileSync(join(boot, `initoverlayfs-${KVER}-0123456789ab.img`), "left over");
    const st = cliEnv(["status", "--root", root]);
    assert.equal(st.code, 1, st.stdout);
    assert.match(st.stdout, /broken/);
    assert.match(st.stdout, /not an EROFS image/);
    assert.match(st.stdout, /unreferenced image .*0123456789ab/);
    // one flipped byte past the superblock: only the digest the mini initramfs carries shows it
    bytes[1024] ^= 0xff;
    bytes[bytes.length - 100] ^= 0x01;
    writeFileSync(join(boot, image), bytes);
    const st2 = cliEnv(["status", "--root", root]);
    assert.equal(st2.code, 1, st2.stdout);
    assert.match(st2.stdout, /problem: .*digest/i, st2.stdout);
  } finally {
    removeDir(work);
  }
});

test("update-initramfs replaced our mini with a new full initramfs: install takes it as the new original", () => {
  const work = makeTempDir("iofs-install-");
  try {
    const { root, boot } = plainRoot(work);
    writeFileSync(join(boot, SLOT), orig.a);
    assert.equal(cliEnv(["install", "--root", root, "--kver", KVER]).code, 0);
    const oldImage = readdirSync(boot).find((n) => n.startsWith("initoverlayfs-"));
    writeFileSync(join(boot, `${SLOT}.new`), orig.b);
    renameSync(join(boot, `${SLOT}.new`), join(boot, SLOT));
    const st = cliEnv(["status", "--root", root, "--json"]);
    assert.equal(JSON.parse(st.stdout)[0].state, "replaced");
    const r = cliEnv(["install", "--root", root, "--kver", KVER]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(checkBootable(boot, [orig.b], SPEC), "mini");
    assert.ok(readFileSync(join(boot, `${SLOT}.full`)).equals(orig.b), "the stale original is replaced");
    assert.ok(!existsSync(join(boot, oldImage!)), "the old image is gone");
    assert.equal(cliEnv(["uninstall", "--root", root, "--kver", KVER]).code, 0);
    assert.ok(readFileSync(join(boot, SLOT)).equals(orig.b));
  } finally {
    removeDir(work);
  }
});

test("not enough space in /boot: install refuses with needed and free, /boot unchanged", async () => {
  await withBootFs("ext4", 8, CONF, async (t) => {
    writeFileSync(join(t.boot, SLOT), orig.a);
    const before = snapshot(t.boot);
    // fill the filesystem so that the pair cannot fit
    const free = Number(spawnSync("df", ["--output=avail", "-B1", t.boot], { encoding: "utf8" }).stdout.split("\n")[1]);
    writeFileSync(join(t.boot, "filler"), Buffer.alloc(Math.max(0, free - 1_500_000)));
    const withFiller = snapshot(t.boot);
    const r = cliEnv(["install", "--root", t.root, "--kver", KVER]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^initoverlayfs: not enough space in .*: needed [\d.]+ MB \(\d+ bytes\), free [\d.]+ MB \(\d+ bytes\); nothing was changed$/m);
    assert.deepEqual(snapshot(t.boot), withFiller, "/boot unchanged");
    assert.ok(Object.keys(before).every((k) => k in withFiller));
  });
});

test("the lock: a run waits for the holder, gives up after INITOVERLAYFS_LOCK_TIMEOUT, and two runs at once are serialised", async () => {
  const work = makeTempDir("iofs-install-");
  try {
    const { root, boot } = plainRoot(work);
    writeFileSync(join(boot, SLOT), orig.a);
    const lock = join(boot, ".initoverlayfs.lock");
    writeFileSync(lock, "");
    // util-linux flock holds the lock until we end it (its process group: flock and its sleep)
    const stuck = spawn("flock", ["-x", lock, "sleep", "600"], { detached: true });
    await new Promise((r) => setTimeout(r, 300));
    let timedOut;
    try {
      timedOut = cliEnv(["install", "--root", root, "--kver", KVER], { INITOVERLAYFS_LOCK_TIMEOUT: "1" });
    } finally {
      process.kill(-stuck.pid!, "SIGKILL");
    }
    await new Promise((r) => (stuck.exitCode !== null || stuck.signalCode !== null ? r(0) : stuck.on("close", r)));
    assert.equal(timedOut.code, 4);
    assert.match(timedOut.stderr, /another initoverlayfs run still holds the lock after 1 s/);
    assert.deepEqual(readdirSync(boot).sort(), [".initoverlayfs.lock", SLOT]);
    // then a holder for 5 s from just before the run: long enough for a slow start of the run
    const holder = spawn("flock", ["-x", lock, "sleep", "5"]);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const released = new Promise((r) => holder.on("close", () => r(Date.now())));
    const waited = cliEnv(["install", "--root", root, "--kver", KVER]);
    const releasedAt = (await released) as number;
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stderr, /waiting for another initoverlayfs run/);
    assert.ok(Date.now() >= releasedAt && releasedAt - t0 > 1000, "install finished only after the holder let go");

    // two runs at once, after an update-initramfs: both succeed, one after the other
    writeFileSync(join(boot, `${SLOT}.new`), orig.b);
    renameSync(join(boot, `${SLOT}.new`), join(boot, SLOT));
    const runBoth = (args: string[]) => new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      p.stderr.on("data", (d) => (err += d));
      p.on("close", (code) => resolve({ code, err }));
    });
    const both = await Promise.all([runBoth(["install", "--root", root, "--kver", KVER]), runBoth(["install", "--root", root, "--kver", KVER])]);
    for (const b of both) assert.equal(b.code, 0, b.err);
    assert.equal(both.filter((b) => /up to date/.test(b.err)).length, 1, `the second run finds the first one's result: ${both.map((b) => b.err).join("\n")}`);
    assert.equal(checkBootable(boot, [orig.b], SPEC), "mini");
    assert.equal(readdirSync(boot).filter((n) => n.startsWith("initoverlayfs-")).length, 1);
  } finally {
    removeDir(work);
  }
});

test("a BLS entry directory: its initrd becomes the mini, the image goes to /boot; uninstall restores it", () => {
  const work = makeTempDir("iofs-install-");
  try {
    const { root, boot } = plainRoot(work);
    const entry = join(root, "efi/0123456789abcdef0123456789abcdef", KVER);
    mkdirSync(entry, { recursive: true });
    writeFileSync(join(entry, "initrd"), orig.a);
    const r = cliEnv(["install", "--root", root, "--kver", KVER, "--entry-dir", `/efi/0123456789abcdef0123456789abcdef/${KVER}`, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout)[0].layout, "entry-dir");
    const cfg = miniConfig(join(entry, "initrd"))!;
    assert.ok(existsSync(join(boot, cfg.get("image")!.replace(/^.*\//, ""))));
    assert.ok(readFileSync(join(entry, "initrd.full")).equals(orig.a));
    assert.equal(cliEnv(["uninstall", "--root", root, "--kver", KVER, "--entry-dir", `/efi/0123456789abcdef0123456789abcdef/${KVER}`]).code, 0);
    assert.deepEqual(readdirSync(entry), ["initrd"]);
    assert.ok(readFileSync(join(entry, "initrd")).equals(orig.a));
    assert.deepEqual(readdirSync(boot).filter((n) => n !== ".initoverlayfs.lock"), []);

    // the same kernel also has a /boot initramfs, converted: the entry directory's runs keep its image
    writeFileSync(join(boot, SLOT), orig.b);
    assert.equal(cliEnv(["install", "--root", root, "--kver", KVER]).code, 0);
    const entryArgs = ["--root", root, "--kver", KVER, "--entry-dir", `/efi/0123456789abcdef0123456789abcdef/${KVER}`];
    assert.equal(cliEnv(["install", ...entryArgs]).code, 0);
    assert.equal(checkBootable(boot, [orig.b], SPEC), "mini");
    assert.equal(cliEnv(["uninstall", ...entryArgs]).code, 0);
    assert.equal(checkBootable(boot, [orig.b], SPEC), "mini", "the /boot mini's image is still there");
  } finally {
    removeDir(work);
  }
});

test("the kernel is removed: uninstall --kernel-removed deletes our files and nothing else", () => {
  const work = makeTempDir("iofs-install-");
  try {
    const { root, boot } = plainRoot(work);
    writeFileSync(join(boot, SLOT), orig.a);
    writeFileSync(join(boot, "initrd.img-9.9.9-other"), "another kernel's initramfs");
    assert.equal(cliEnv(["install", "--root", root, "--kver", KVER]).code, 0);
    // initramfs-tools' postrm hook deletes the initramfs first
    renameSync(join(boot, SLOT), join(work, "gone"));
    const r = cliEnv(["uninstall", "--root", root, "--kver", KVER, "--kernel-removed"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(boot).sort(), [".initoverlayfs.lock", "initrd.img-9.9.9-other"]);
  } finally {
    removeDir(work);
  }
});

test("install-hooks writes the three hooks with this initoverlayfs in them; --remove takes them away", () => {
  const work = makeTempDir("iofs-install-");
  try {
    const root = join(work, "root");
    mkdirSync(root);
    const r = cliEnv(["install-hooks", "--root", root, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const files = JSON.parse(r.stdout) as string[];
    assert.deepEqual(files.map((f) => f.slice(root.length)), [
      "/etc/kernel/install.d/60-initoverlayfs.install", "/etc/initramfs/post-update.d/initoverlayfs", "/etc/kernel/postrm.d/zz-initoverlayfs",
    ]);
    for (const f of files) {
      assert.equal(statSync(f).mode & 0o777, 0o755);
      const text = readFileSync(f, "utf8");
      assert.ok(text.includes(`'${process.execPath}' '${CLI}'`), f);
      assert.doesNotMatch(text, /@INITOVERLAYFS@/);
      assert.equal(spawnSync("sh", ["-n", f]).status, 0, `${f}: shell syntax`);
    }
    const rm = cliEnv(["install-hooks", "--root", root, "--remove"]);
    assert.equal(rm.code, 0);
    for (const f of files) assert.ok(!existsSync(f));
  } finally {
    removeDir(work);
  }
});

test("bad input and bad states: one clear line and the documented exit code, nothing changed", () => {
  const work = makeTempDir("iofs-install-");
  try {
    const { root, boot } = plainRoot(work, "boot = UUID=1234-ABCD\ntimeout = soon\n");
    writeFileSync(join(boot, SLOT), orig.a);
    const bad = cliEnv(["install", "--root", root, "--kver", KVER]);
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /^initoverlayfs: .*etc\/initoverlayfs\/install\.conf: offset 22: install\.conf: timeout: expected a whole number of seconds from 0 to 3600\n$/);

    writeFileSync(join(root, "etc/initoverlayfs/install.conf"), CONF);
    const none = cliEnv(["install", "--root", root, "--kver", "9.9.9-none"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^initoverlayfs: no initramfs for kernel 9\.9\.9-none: no .*\/boot\/initrd\.img-9\.9\.9-none or .*\/boot\/initramfs-9\.9\.9-none\.img \(make one first/);

    // a mini initramfs whose original is gone: neither install nor uninstall guesses
    assert.equal(cliEnv(["install", "--root", root, "--kver", KVER]).code, 0);
    renameSync(join(boot, `${SLOT}.full`), join(work, "lost"));
    const before = snapshot(boot);
    for (const cmd of ["install", "uninstall"]) {
      const r = cliEnv([cmd, "--root", root, "--kver", KVER, "--force"].filter((a) => cmd === "install" || a !== "--force"));
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /the original initramfs .*initrd\.img-.*\.full is missing/);
      assert.deepEqual(snapshot(boot), before);
    }
    const st = cliEnv(["status", "--root", root]);
    assert.equal(st.code, 1);
    assert.match(st.stdout, /\(the original\) is missing/);
  } finally {
    removeDir(work);
  }
});

test("install.conf pins extensions (sysext = FILE, sysext_roothash, sysext_cert) so a hook's install keeps them; status judges the extensions next to the image as storage-init would", async () => {
  const work = makeTempDir("iofs-install-sysext-");
  let modules: string | undefined;
  try {
    const boot0 = join(work, "root/boot");
    const shared = join(boot0, "initoverlayfs-extensions");
    mkdirSync(shared, { recursive: true });
    const ext = (name: string, content: string, extra: string[] = []) => {
      const tree = join(work, `tree-${name}`);
      mkdirSync(join(tree, "usr/bin"), { recursive: true });
      writeFileSync(join(tree, "usr/bin", name), content);
      const r = cliEnv(["sysext", tree, "-o", join(shared, `${name}.raw`), "--id", "_any", "--scope", "initrd", "--json", ...extra]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).rootHash as string;
    };
    const keys = join(work, "keys");
    mkdirSync(keys);
    const signer = makeTestKey(keys, "signer");
    const other = makeTestKey(keys, "other");
    const tools = ext("tools", "v1\n");
    const byHash = ext("hashed", "x\n");
    ext("signed", "s\n", ["--key", signer.keyFile, "--cert", signer.certFile]);
    ext("other", "o\n", ["--key", other.keyFile, "--cert", other.certFile]);
    const conf = `boot = ${SPEC}\ndefault_modules = no\nmini_compression = none\nsysext = ${join(shared, "tools.raw")}\nsysext_roothash = ${byHash}\nsysext_cert = ${signer.certFile}\n`;
    const { root, boot } = plainRoot(work, conf);
    modules = join(root, "lib/modules", KVER);
    mkdirSync(modules, { recursive: true });
    run("mount", ["--bind", "-o", "ro", `/lib/modules/${KVER}`, modules]); // dm-verity's modules
    writeFileSync(join(boot, SLOT), orig.a);
    const r = cliEnv(["install", "--root", root, "--kver", KVER]);
    assert.equal(r.code, 0, r.stderr);
    const pins = () => readFileSync(join(boot, SLOT), "latin1").match(/^sysext_roothash = [0-9a-f]{64}$/gm)?.map((l) => l.slice(-64));
    assert.deepEqual(pins(), [tools, byHash]);
    assert.equal(miniConfig(join(boot, SLOT))!.get("integrity"), "dm-verity");
    run("openssl", ["x509", "-in", signer.certFile, "-outform", "DER", "-out", join(keys, "signer.der")]);
    const cert = readFileSync(join(keys, "signer.der"));
    assert.ok(readFileSync(join(boot, SLOT)).includes(cert), "the signer's DER certificate is in the mini initramfs");

    const status = () => {
      const st = cliEnv(["status", "--root", root, "--kver", KVER, "--json"]);
      assert.equal(st.code, 0, st.stdout + st.stderr);
      return JSON.parse(st.stdout)[0].extensions;
    };
    const x = status();
    assert.deepEqual(x.pinned, [tools, byHash]);
    assert.equal(x.osId, "", "the small test initramfs has no os-release: only ID=_any applies");
    assert.deepEqual(x.dirs, [shared, `${join(boot, readdirSync(boot).find((n) => n.startsWith("initoverlayfs-"))!)}.extra.d`]);
    assert.deepEqual(x.extensions.map((e: Record<string, unknown>) => [e.name, e.stacked, e.pinned, e.signature]), [
      ["hashed", true, true, "absent"], ["other", false, false, "failed"], ["signed", true, false, "verified"], ["tools", true, true, "absent"],
    ]);
    const text = cliEnv(["status", "--root", root, "--kver", KVER]).stdout;
    assert.match(text, /^ {2}extensions: 2 root hash\(es\) pinned, signer [0-9a-f]{64}; image os-release ID=\(none\); looked for in /m);
    assert.match(text, /other\.raw: would be skipped: root hash [0-9a-f]{16}\.\.\. not pinned; signature: /);
    assert.match(text, /signed\.raw: would be stacked \(signed by the pinned signer, root hash [0-9a-f]{64}, ID=_any; in RAM\)/);

    // a hook runs install again without options: the pins stay, nothing to do
    const again = cliEnv(["install", "--root", root, "--kver", KVER]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /up to date/);
    // the pinned file changed: a new generation pins its new root hash
    const tools2 = ext("tools", "v2\n");
    assert.notEqual(tools2, tools);
    const third = cliEnv(["install", "--root", root, "--kver", KVER]);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /installed/);
    assert.deepEqual(pins(), [tools2, byHash]);
    assert.deepEqual(status().extensions.filter((e: Record<string, unknown>) => e.stacked).map((e: Record<string, unknown>) => e.name), ["hashed", "signed", "tools"]);
  } finally {
    if (modules && run("umount", [modules], { allowFail: true }).code !== 0) run("umount", ["-l", modules], { allowFail: true });
    removeDir(work);
  }
});
