/**
 * `sysext` against the reference tools: systemd-dissect (252) reads the partitions, the root hash
 * and the extension-release we wrote; systemd-sysext merges the image on a test root. Needs root
 * (loop devices, mounts): one loop device at a time, released by the tools themselves.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SYSEXT_CERT_PATH } from "../../src/formats/storage-init-config/index.js";
import { readDdi } from "../../src/integrity/ddi-file.js";
import { cli } from "../helpers/cli.js";
import { KVER } from "../helpers/kernel.js";
import { miniCpio } from "../helpers/initrd.js";
import { makeTestKey } from "../helpers/keys.js";
import { storageInitBinary } from "../helpers/storage-init.js";
import { isRoot, run } from "../helpers/run.js";
import { withTempDir } from "../helpers/tmp.js";

function makeExtension(dir: string, extra: string[] = []) {
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "usr/bin"), { recursive: true });
  mkdirSync(join(tree, "opt/tool"), { recursive: true });
  writeFileSync(join(tree, "usr/bin/hello-ext"), "#!/bin/sh\necho hello from an extension\n", { mode: 0o755 });
  writeFileSync(join(tree, "opt/tool/data"), "opt data\n");
  const out = join(dir, "hello.raw");
  const r = cli(["sysext", tree, "-o", out, "--id", "debian", "--json", ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return { out, result: JSON.parse(r.stdout.toString()) as { rootHash: string; release: string } };
}

test("systemd-dissect reads a sysext image: root and root-verity partitions, the root hash as their GUIDs, the extension-release, usable as an extension for system and initrd", () => {
  assert.ok(isRoot(), "precondition: root (systemd-dissect attaches a loop device)");
  return withTempDir((dir) => {
    const { out, result } = makeExtension(dir, ["--scope", "initrd,system", "--version-id", "12", "--arch", "x86-64"]);
    const j = JSON.parse(run("systemd-dissect", ["--json=short", "--root-hash", result.rootHash, out]).stdout);
    assert.deepEqual(j.mounts.map((p: Record<string, unknown>) => [p.designator, p.fstype, p.verity, p.architecture, p.rw]),
      [["root", "erofs", "yes", "x86-64", "ro"], ["root-verity", "DM_verity_hash", null, "x86-64", "ro"]]);
    const guids = j.mounts.map((p: Record<string, string>) => p.partition_uuid.replace(/-/g, "")).join("");
    assert.equal(guids, result.rootHash);
    assert.equal(j.useSystemExtension, true);
    assert.equal(j.useInitRDExtension, true);
    assert.equal(j.useBootableUefi, false);
    assert.deepEqual(j.extensionRelease, ["ID=debian", "VERSION_ID=12", "SYSEXT_SCOPE=initrd system", "ARCHITECTURE=x86-64"]);
    // inspect says the same
    const ins = JSON.parse(cli(["inspect", "--json", out]).stdout.toString()).ddi;
    assert.equal(ins.rootHashFromGuids, result.rootHash);
    assert.deepEqual(ins.extension, { name: "hello", id: "debian", versionId: "12", scope: ["initrd", "system"], architecture: "x86-64", effectiveScope: ["initrd", "system"] });
    assert.match(cli(["inspect", out]).stdout.toString(), /^ {2}extension +hello: ID=debian, VERSION_ID=12, scope initrd system, ARCHITECTURE=x86-64$/m);
  });
});

test("systemd-sysext merges a sysext image on a test root (--root): its /usr tool and /opt file appear, and go with unmerge", () => {
  assert.ok(isRoot(), "precondition: root (loop devices, overlay mounts)");
  return withTempDir((dir) => {
    const { out } = makeExtension(dir, ["--version-id", "12"]);
    const root = join(dir, "root");
    for (const d of ["etc", "usr/lib", "opt", "var/lib/extensions"]) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, "etc/os-release"), 'ID=debian\nVERSION_ID="12"\n');
    copyFileSync(out, join(root, "var/lib/extensions/hello.raw"));
    assert.match(run("systemd-sysext", ["--root", root, "list"]).stdout, /^hello +raw /m);
    // systemd-sysext remounts /run MS_SLAVE, which fails here ("Failed to mount n/a on /run:
    // Invalid argument": /run is no mount point in this container): a private mount namespace
    // with a tmpfs on /run, shared inside so the merge is seen, gone with the namespace
    const script = `set -e; mount -t tmpfs tmpfs /run; systemd-sysext --root='${root}' merge; cat '${root}/usr/bin/hello-ext' '${root}/opt/tool/data'; systemd-sysext --root='${root}' unmerge; test ! -e '${root}/usr/bin/hello-ext'`;
    const r = run("unshare", ["-m", "--propagation", "shared", "sh", "-c", script], { allowFail: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Using extensions 'hello'/);
    assert.equal(r.stdout, "#!/bin/sh\necho hello from an extension\nopt data\n");
    assert.ok(!existsSync(join(root, "usr/bin/hello-ext")));
    assert.equal(readFileSync(join(root, "etc/os-release"), "utf8"), 'ID=debian\nVERSION_ID="12"\n');
  });
});

test("build --sysext pins each extension's recomputed root hash in the config storage-init reads; --sysext-cert stores the DER; a damaged extension or another integrity mode is refused before anything is written", () => withTempDir((dir) => {
  const { out, result } = makeExtension(dir, ["--scope", "initrd"]);
  const key = makeTestKey(dir);
  const initrd = `/boot/initrd.img-${KVER}`;
  const common = ["build", "--initramfs", initrd, "--kver", KVER, "--boot", "LABEL=boot", "--boot-fstype", "ext4", "--no-default-modules"];
  const r = cli([...common, "-o", join(dir, "o"), "--sysext", out, "--sysext-cert", key.certFile, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const mini = join(dir, "o", `initramfs-${KVER}.img`);
  const x = join(dir, "x");
  mkdirSync(x);
  run("cpio", ["-id", "--quiet"], { cwd: x, input: miniCpio(readFileSync(mini)) });
  const conf = readFileSync(join(x, "etc/initoverlayfs.conf"), "latin1");
  assert.match(conf, new RegExp(`^sysext_roothash = ${result.rootHash}$`, "m"));
  assert.match(run(storageInitBinary(), ["--check-config", join(x, "etc/initoverlayfs.conf")]).stdout, new RegExp(`^sysext_roothash=${result.rootHash}$`, "m"));
  run("openssl", ["x509", "-in", key.certFile, "-outform", "DER", "-out", join(dir, "cert.der")]);
  assert.deepEqual(readFileSync(join(x, SYSEXT_CERT_PATH.slice(1))), readFileSync(join(dir, "cert.der")));

  // verify --mini: an extension against the mini's pins, as storage-init would take it
  const pinnedOk = cli(["verify", out, "--mini", mini]);
  assert.equal(pinnedOk.code, 0, pinnedOk.stdout.toString() + pinnedOk.stderr);
  assert.equal(pinnedOk.stdout.toString(), `${out}: OK (dm-verity ${result.rootHash}; extension hello, pinned, ID=debian, scope initrd)\n`);
  const signedDir = join(dir, "signed");
  mkdirSync(signedDir);
  const signed = makeExtension(signedDir, ["--scope", "initrd", "--key", key.keyFile, "--cert", key.certFile]);
  const signedOk = cli(["verify", signed.out, "--mini", mini, "--json"]);
  assert.equal(signedOk.code, 0, signedOk.stdout.toString());
  const sj = JSON.parse(signedOk.stdout.toString());
  assert.deepEqual([sj.ok, sj.signature, sj.extension.pinned, sj.extension.stacked, sj.computed], [true, "verified", false, true, signed.result.rootHash]);
  const unpinnedDir = join(dir, "unpinned");
  mkdirSync(unpinnedDir);
  const unpinned = makeExtension(unpinnedDir, ["--scope", "initrd", "--version-id", "13"]);
  const skipped = cli(["verify", unpinned.out, "--mini", mini]);
  assert.equal(skipped.code, 1, skipped.stdout.toString());
  assert.match(skipped.stdout.toString(), /: storage-init would skip it: root hash [0-9a-f]{16}\.\.\. not pinned \(sysext_roothash\) and not signed\n$/);

  const bad = Buffer.from(readFileSync(out));
  bad[readDdi(out).parts.root.offset + 100] ^= 1;
  writeFileSync(join(dir, "bad.raw"), bad);
  const refused = cli([...common, "-o", join(dir, "o2"), "--sysext", join(dir, "bad.raw")]);
  assert.equal(refused.code, 2, refused.stderr);
  // one data block: the recomputed root hash is no longer the one its partition GUIDs carry
  assert.match(refused.stderr, /^initoverlayfs: --sysext \S+bad\.raw: partition GUIDs \S+, \S+ are not the root hash's halves\n$/);
  const mode = cli([...common, "-o", join(dir, "o3"), "--integrity", "copy", "--sysext", out]);
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /--sysext, --sysext-cert: need --integrity dm-verity/);
  assert.ok(!existsSync(join(dir, "o2", `initramfs-${KVER}.img`)) && !existsSync(join(dir, "o3", `initramfs-${KVER}.img`)));
}));

test("--arch selects the partition types: systemd-dissect reads sysext images of arm64, arm, riscv64 and x86, and an arm64 kernel's DDI (build --arch arm64), as those architectures' root partitions", () => {
  assert.ok(isRoot(), "precondition: root (systemd-dissect attaches a loop device)");
  return withTempDir((dir) => {
    for (const arch of ["arm64", "arm", "riscv64", "x86"]) {
      const d = join(dir, arch);
      mkdirSync(d);
      const { out, result } = makeExtension(d, ["--scope", "initrd", "--arch", arch]);
      const j = JSON.parse(run("systemd-dissect", ["--json=short", "--root-hash", result.rootHash, out]).stdout);
      assert.deepEqual(j.mounts.map((p: Record<string, unknown>) => [p.designator, p.architecture, p.partition_label, p.verity ?? "-"]),
        [["root", arch, `root-${arch}`, "yes"], ["root-verity", arch, `root-${arch}-verity`, "-"]], arch);
      assert.ok(j.extensionRelease.includes(`ARCHITECTURE=${arch}`));
    }
    const bad = cli(["sysext", join(dir, "arm64", "tree"), "-o", join(dir, "s390x.raw"), "--id", "_any", "--arch", "s390x"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--arch \(partition types\): expected one of x86-64, arm64, arm, riscv64, x86, got "s390x"/);
    // a tiny initramfs of an arm64 kernel without modules (what storage-init needs built in): the
    // build's architecture comes from --arch, and the DDI's partition types follow it
    const armKver = "9.9.9-arm64";
    const src = join(dir, "initrd");
    mkdirSync(join(src, "lib/modules", armKver), { recursive: true });
    writeFileSync(join(src, "init"), "#!/bin/sh\n", { mode: 0o755 });
    writeFileSync(join(src, "lib/modules", armKver, "modules.dep"), "");
    const builtin = ["fs/ext4/ext4", "drivers/block/loop", "fs/erofs/erofs", "fs/overlayfs/overlay", "drivers/md/dm-mod", "drivers/md/dm-verity", "drivers/md/dm-zero"];
    writeFileSync(join(src, "lib/modules", armKver, "modules.builtin"), builtin.map((b) => `kernel/${b}.ko\n`).join(""));
    run("sh", ["-c", `cd '${src}' && find . | cpio -o -H newc --quiet > '${dir}/tiny.cpio'`]);
    const b = cli(["build", "--initramfs", join(dir, "tiny.cpio"), "--kver", armKver, "--boot", "LABEL=boot", "--boot-fstype", "ext4", "--no-default-modules", "--image-format", "ddi", "--arch", "arm64", "-o", join(dir, "o"), "--json"]);
    assert.equal(b.code, 0, b.stderr);
    const built = JSON.parse(b.stdout.toString());
    assert.deepEqual([built.arch.name, built.arch.from], ["arm64", "--arch"]);
    const rootHash = built.integrity.rootHash;
    const img = join(dir, "o", `initoverlayfs-${armKver}.img`);
    const j = JSON.parse(run("systemd-dissect", ["--json=short", "--root-hash", rootHash, img]).stdout);
    assert.deepEqual(j.mounts.map((p: Record<string, unknown>) => [p.designator, p.architecture, p.verity ?? "-"]), [["root", "arm64", "yes"], ["root-verity", "arm64", "-"]]);
    const wrong = cli(["build", "--initramfs", join(dir, "tiny.cpio"), "--kver", KVER, "--boot", "LABEL=boot", "--image-format", "ddi", "--arch", "sparc", "-o", join(dir, "o2")]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^initoverlayfs: --arch: expected x86-64, arm64, got "sparc"\n$/);
  });
});

test("--partition usr: the filesystem is /usr itself (usr, usr-verity partitions); systemd-dissect and systemd-sysext take it, and so do storage-init's checks", () => {
  assert.ok(isRoot(), "precondition: root (loop devices, overlay mounts)");
  return withTempDir(async (dir) => {
    const tree = join(dir, "tree");
    mkdirSync(join(tree, "usr/bin"), { recursive: true });
    writeFileSync(join(tree, "usr/bin/hello-usr"), "#!/bin/sh\necho usr partition\n", { mode: 0o755 });
    const out = join(dir, "hello.raw");
    const r = cli(["sysext", tree, "-o", out, "--id", "debian", "--version-id", "12", "--scope", "initrd,system", "--partition", "usr", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const made = JSON.parse(r.stdout.toString());
    assert.equal(made.partition, "usr");
    const j = JSON.parse(run("systemd-dissect", ["--json=short", out]).stdout);
    assert.deepEqual(j.mounts.map((p: Record<string, unknown>) => [p.designator, p.fstype, p.partition_label]), [["usr", "erofs", "usr-x86-64"], ["usr-verity", "DM_verity_hash", "usr-x86-64-verity"]]);
    assert.equal(j.mounts.map((p: Record<string, string>) => p.partition_uuid.replace(/-/g, "")).join(""), made.rootHash);
    assert.deepEqual(j.extensionRelease, ["ID=debian", "VERSION_ID=12", "SYSEXT_SCOPE=initrd system"]);
    assert.equal(j.useSystemExtension, true);
    // the filesystem's root is /usr: bin/ and lib/extension-release.d/ at its top
    const { ErofsImage } = await import("../../src/formats/erofs/reader.js");
    const part = readDdi(out).parts.root;
    const img = ErofsImage.open(readFileSync(out).subarray(part.offset, part.offset + part.size));
    assert.deepEqual(img.readDir(img.readInode(img.rootNid)).map((e) => e.name).filter((n) => n !== "." && n !== "..").sort(), ["bin", "lib"]);
    const root = join(dir, "root");
    for (const d of ["etc", "usr/lib", "var/lib/extensions"]) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, "etc/os-release"), 'ID=debian\nVERSION_ID="12"\n');
    copyFileSync(out, join(root, "var/lib/extensions/hello.raw"));
    const script = `set -e; mount -t tmpfs tmpfs /run; systemd-sysext --root='${root}' merge; '${root}/usr/bin/hello-usr' >/dev/null; cat '${root}/usr/bin/hello-usr'; systemd-sysext --root='${root}' unmerge`;
    const m = run("unshare", ["-m", "--propagation", "shared", "sh", "-c", script], { allowFail: true });
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.stdout, "#!/bin/sh\necho usr partition\n");
    // storage-init stacks it (from RAM, under /usr): the checks read its release file at lib/
    const { judgeExtension } = await import("../../src/integrity/sysext-check.js");
    const v = await judgeExtension(out, "hello", { rootHashes: [made.rootHash] }, "debian");
    assert.equal(v.stacked, true, v.reason);
    assert.equal(v.id, "debian");
    const other = await judgeExtension(out, "hello", { rootHashes: [made.rootHash] }, "fedora");
    assert.equal(other.reason, "ID=debian, the image's os-release says ID=fedora");
    // /opt cannot be in a usr partition
    mkdirSync(join(tree, "opt/x"), { recursive: true });
    const opt = cli(["sysext", tree, "-o", join(dir, "opt.raw"), "--id", "debian", "--partition", "usr"]);
    assert.equal(opt.code, 2);
    assert.match(opt.stderr, /tree\/opt: an extension with a usr partition holds only the directory \/usr\n$/);
    assert.ok(!existsSync(join(dir, "opt.raw")));
  });
});
