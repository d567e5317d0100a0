/**
 * `initoverlayfs build` end to end on the real Debian initramfs, with the real storage-init
 * (built with make if needed: no placeholder here). The outputs are checked with the tools a
 * person would use: gunzip | cpio, fsck.erofs, storage-init --check-config.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { diffTrees } from "../../src/fs/compare.js";
import { readInitramfs } from "../../src/initramfs/read.js";
import { readDirTree } from "../../src/io/dir-reader.js";
import { withLoopMount } from "../helpers/mount.js";
import { BuildResult } from "../../src/pipeline/build.js";
import { run } from "../helpers/run.js";
import { storageInitBinary } from "../helpers/storage-init.js";
import { KVER } from "../helpers/kernel.js";
import { makeTempDir, removeDir, withTempDir } from "../helpers/tmp.js";
import { cli } from "../helpers/cli.js";
import { miniCpio } from "../helpers/initrd.js";

const INITRD = `/boot/initrd.img-${KVER}`;
const HOST = `/lib/modules/${KVER}`;
const UUID = "0a1b2c3d-1111-2222-3333-444455556666";


/** key → values, as storage-init's parser reads "key = value" lines. */
function parseConf(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const k = line.slice(0, eq).trim();
    m.set(k, [...(m.get(k) ?? []), line.slice(eq + 1).trim()]);
  }
  return m;
}

test("build on the Debian initramfs: a valid small mini initramfs and an image fsck.erofs accepts", async () => {
  assert.ok(existsSync(INITRD), `${INITRD} is required`);
  const bin = storageInitBinary();
  const work = makeTempDir("iofs-build-");
  try {
    const out = join(work, "out");
    const r = cli(["build", "--initramfs", INITRD, "--boot", `UUID=${UUID}`, "--boot-fstype", "ext4", "-o", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout.toString()) as BuildResult;
    assert.equal(res.kver, KVER);
    assert.deepEqual(res.arch, { name: "x86-64", from: "modules", file: res.arch.file });
    assert.match(res.arch.file!, /^initramfs: kernel\/.*\.ko$/);
    const image = join(out, `initoverlayfs-${KVER}.img`);
    const mini = join(out, `initramfs-${KVER}.img`);
    assert.deepEqual(readdirSync(out).sort(), [`initoverlayfs-${KVER}.img`, `initramfs-${KVER}.img`], "exactly the two outputs, no temp files");
    assert.equal(res.image.path, image);
    assert.equal(res.mini.path, mini);

    // small: under 10% of the original
    const origSize = statSync(INITRD).size;
    const miniSize = statSync(mini).size;
    assert.equal(res.mini.bytes, miniSize);
    assert.ok(miniSize < origSize / 10, `mini ${miniSize} bytes is not < 10% of ${origSize}`);

    // for this kernel (6.1, CONFIG_RD_LZ4=y) LZ4HC in legacy frames, ended by a zero chunk size,
    // around a newc archive cpio lists: /init, the config, every module
    assert.equal(res.mini.compression, "lz4");
    const miniBytes = readFileSync(mini);
    assert.deepEqual([...miniBytes.subarray(0, 4)], [0x02, 0x21, 0x4c, 0x18]);
    assert.deepEqual([...miniBytes.subarray(-4)], [0, 0, 0, 0]);
    const cpio = miniCpio(miniBytes);
    const listed = run("cpio", ["-t", "--quiet"], { input: cpio }).stdout.trim().split("\n");
    for (const p of ["init", "etc/initoverlayfs.conf", "dev/console", ...res.modules.map((m) => m.path.slice(1))]) assert.ok(listed.includes(p), `${p} not in the archive`);
    assert.equal(listed.filter((p) => p.endsWith(".ko")).length, res.modules.length);

    // extracted: /init is storage-init, the modules are the original bytes
    const x = join(work, "mini");
    mkdirSync(x);
    run("cpio", ["-idm", "--quiet"], { cwd: x, input: cpio });
    assert.ok(readFileSync(join(x, "init")).equals(readFileSync(bin)));
    assert.equal(statSync(join(x, "init")).mode & 0o777, 0o755);
    const orig = join(work, "orig");
    mkdirSync(orig);
    run("sh", ["-c", `zstd -dc '${INITRD}' | cpio -idm --quiet`], { cwd: orig });
    for (const m of res.modules) {
      const rel = m.path.replace(`/lib/modules/${KVER}/`, "");
      const src = m.source === "initramfs" ? join(orig, "usr/lib/modules", KVER, rel) : join(HOST, rel);
      assert.ok(readFileSync(join(x, m.path)).equals(readFileSync(src)), `${m.path} differs from ${src}`);
    }

    // the config
    const confText = readFileSync(join(x, "etc/initoverlayfs.conf"), "latin1");
    assert.equal(confText, res.config);
    const conf = parseConf(confText);
    assert.deepEqual(conf.get("boot"), [`UUID=${UUID}`]);
    assert.deepEqual(conf.get("bootfstype"), ["ext4"]);
    assert.deepEqual(conf.get("image"), [`/initoverlayfs-${KVER}.img`]);
    assert.deepEqual(conf.get("init"), ["/init"]);
    assert.deepEqual(conf.get("timeout"), ["10"]);
    assert.deepEqual(conf.get("failure"), ["panic"]);
    assert.deepEqual(conf.get("shim"), ["/usr/sbin/run-init", "/usr/sbin/switch_root"]);
    // always-needed modules first, then the storage drivers storage-init skips once the boot device is there
    assert.deepEqual(conf.get("module"), res.modules.filter((m) => !m.storageModule && !m.optionalModule && !m.bootFs).map((m) => m.path));
    // the boot filesystem's, loaded just before storage-init mounts /boot as that type
    assert.deepEqual(conf.get("bootfs_module"), res.modules.filter((m) => m.bootFs).map((m) => `${m.bootFs} ${m.path}`));
    assert.ok(res.modules.some((m) => m.name === "ext4" && m.bootFs === "ext4"));
    // the accelerated SHA-256 for dm-verity, which a CPU without SSSE3 refuses
    assert.deepEqual(conf.get("optional_module"), res.modules.filter((m) => m.optionalModule).map((m) => m.path));
    assert.deepEqual(res.modules.filter((m) => m.optionalModule).map((m) => m.name), ["sha256_ssse3"]);
    assert.deepEqual(conf.get("storage_module"), res.modules.filter((m) => m.storageModule).map((m) => m.path));
    assert.deepEqual(res.modules.map((m) => m.storageModule), [...res.modules.map((m) => m.storageModule)].sort(), "eager ones first");
    const names = res.modules.map((m) => m.name);
    const lazy = new Set(res.modules.filter((m) => m.storageModule).map((m) => m.name));
    for (const n of ["virtio_blk", "virtio_pci", "nvme", "ahci", "usb_storage", "scsi_mod"]) assert.ok(lazy.has(n), `${n} is a storage driver`);
    for (const n of ["ext4", "jbd2", "crc32c_generic", "loop", "erofs", "overlay", "dm_verity", "dm_mod"]) assert.ok(names.includes(n) && !lazy.has(n), `${n} is always needed`);
    for (const m of res.modules) if (!m.storageModule) for (const d of m.needs) assert.ok(!lazy.has(d), `${m.name} needs ${d}, which is a storage-only module`);
    for (const n of ["virtio_blk", "virtio_pci", "nvme", "ahci", "ext4", "jbd2", "mbcache", "crc16", "crc32c_generic", "loop", "erofs", "overlay"]) assert.ok(names.includes(n), n);
    for (const n of ["xfs", "btrfs", "vfat", "crc32c_intel"]) assert.ok(!names.includes(n), `${n} with --boot-fstype ext4`);
    // load order: every module after what it needs
    for (const [i, m] of res.modules.entries()) for (const d of m.needs) assert.ok(names.indexOf(d) >= 0 && names.indexOf(d) < i, `${d} before ${m.name}`);
    // storage-init itself accepts it
    const check = run(bin, ["--check-config", join(x, "etc/initoverlayfs.conf")]).stdout;
    assert.equal(check.split("\n").filter((l) => /^(storage_|optional_|bootfs_)?module=/.test(l)).length, res.modules.length);
    assert.equal(check.split("\n").filter((l) => l.startsWith("optional_module=")).length, 1);
    assert.equal(check.split("\n").filter((l) => l.startsWith("storage_module=")).length, lazy.size);
    // and its manifest: every archive member, each module among them (what the boot keeps back)
    const manifest = run(bin, ["--check-manifest", join(x, "etc/initoverlayfs.manifest")]).stdout.trim().split("\n").map((l) => l.split(" ")[3]);
    assert.deepEqual([...manifest].sort(), listed.filter((p) => p !== ".").map((p) => "/" + p).sort());

    // the image: fsck.erofs is clean, and it holds exactly the original initramfs
    const f = run("fsck.erofs", [image], { allowFail: true });
    assert.equal(f.code, 0, f.stdout + f.stderr);
    const original = (await readInitramfs(readFileSync(INITRD))).tree;
    // (the image is LZ4HC-compressed by default: read it through the kernel)
    assert.ok(res.image.compressedFiles > 300, `only ${res.image.compressedFiles} files compressed`);
    await withLoopMount(image, (mnt) => assert.deepEqual(diffTrees(original, readDirTree(mnt), { mtimes: false }), []));
    assert.equal(res.image.bytes, statSync(image).size);
  } finally {
    removeDir(work);
  }
});

test("build with --boot-fstype auto: every boot filesystem storage-init tries, a one-line summary per output", () =>
  withTempDir((dir) => {
    storageInitBinary();
    const r = cli(["build", "--initramfs", INITRD, "--boot", "LABEL=boot", "--boot-fstype", "auto", "-o", dir, "--mini-compression", "zstd", "--timeout", "30", "--failure", "shell", "--init", "/sbin/init"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.toString().trim().split("\n");
    assert.equal(lines.length, 3, r.stdout.toString());
    assert.match(lines[0], new RegExp(`^${dir}/initoverlayfs-${KVER}\\.img: EROFS image of ${INITRD}: \\d+ files \\(\\d+ compressed\\), .* → [\\d.]+ MiB in [\\d.]+ s$`));
    const root = /^integrity: dm-verity, sha256 root hash ([0-9a-f]{64}), hash area at byte (\d+)$/.exec(lines[1]);
    assert.ok(root, lines[1]);
    assert.match(lines[2], new RegExp(`^${dir}/initramfs-${KVER}\\.img: mini initramfs for x86-64: storage-init \\+ \\d+ modules \\([\\d.]+ MiB\\), zstd → [\\d.]+ MiB \\([\\d.]+% of the original [\\d.]+ MiB\\) in [\\d.]+ s$`));
    const mini = readFileSync(join(dir, `initramfs-${KVER}.img`));
    assert.deepEqual([...mini.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], "zstd");
    const listed = run("sh", ["-c", `zstd -dc '${join(dir, `initramfs-${KVER}.img`)}' | cpio -t --quiet`]).stdout;
    const conf = run("sh", ["-c", `zstd -dc '${join(dir, `initramfs-${KVER}.img`)}' | cpio -i --quiet --to-stdout etc/initoverlayfs.conf`]).stdout;
    for (const m of ["fs/ext4/ext4.ko", "fs/xfs/xfs.ko", "fs/btrfs/btrfs.ko", "fs/fat/vfat.ko", "fs/nls/nls_cp437.ko", "fs/nls/nls_ascii.ko"]) {
      assert.ok(listed.includes(`lib/modules/${KVER}/kernel/${m}`), m);
      // each waits for a mount as its type
      const type = m.includes("nls") || m.includes("fat") ? "vfat" : m.split("/")[1];
      assert.ok(conf.includes(`bootfs_module = ${type} /lib/modules/${KVER}/kernel/${m}\n`), m);
    }
    assert.match(conf, /^boot = LABEL=boot$/m);
    // the default integrity: dm-verity, its modules from the host, the root hash printed above
    assert.match(conf, /^integrity = dm-verity$/m);
    assert.match(conf, new RegExp(`^verity_roothash = ${root[1]}$`, "m"));
    assert.match(conf, new RegExp(`^verity_hash_offset = ${root[2]}$`, "m"));
    assert.ok(listed.includes(`lib/modules/${KVER}/kernel/drivers/md/dm-verity.ko`), "dm-verity.ko");
    // and veritysetup agrees that the appended hash area is the tree of that root hash
    const params = Object.fromEntries([...conf.matchAll(/^(verity_\w+) = (.*)$/gm)].map((m) => [m[1], m[2]]));
    const image = join(dir, `initoverlayfs-${KVER}.img`);
    run("veritysetup", ["verify", image, image, root[1], `--hash-offset=${params.verity_hash_offset}`, `--data-blocks=${params.verity_data_blocks}`]);
    assert.doesNotMatch(conf, /^bootfstype/m);
    // without --boot-fstype (and a boot device this machine cannot see): ext4 and vfat only
    const dflt = join(dir, "default");
    const rj = cli(["build", "--initramfs", INITRD, "--boot", "LABEL=no-such-label-here", "-o", dflt, "--json"]);
    assert.equal(rj.code, 0, rj.stderr);
    const j = JSON.parse(rj.stdout.toString());
    const names = j.modules.map((m: { name: string }) => m.name);
    assert.ok(names.includes("ext4") && names.includes("vfat"));
    assert.ok(!names.includes("xfs") && !names.includes("btrfs"), names.join(" "));
    // the default mini compression: lz4 for this kernel (6.1, CONFIG_RD_LZ4=y), ended by a zero chunk size
    assert.equal(j.mini.compression, "lz4");
    const dmini = readFileSync(join(dflt, `initramfs-${KVER}.img`));
    assert.deepEqual([...dmini.subarray(0, 4)], [0x02, 0x21, 0x4c, 0x18]);
    assert.deepEqual([...dmini.subarray(-4)], [0, 0, 0, 0]);
    assert.match(conf, /^timeout = 30$/m);
    assert.match(conf, /^failure = shell$/m);
    assert.match(conf, /^init = \/sbin\/init$/m);
  }));

test("build: bad options and impossible requests fail with exit 2 and write nothing", () =>
  withTempDir((dir) => {
    storageInitBinary();
    const out = join(dir, "out");
    const base = ["build", "--initramfs", INITRD, "-o", out];
    const noLz4 = join(dir, "no-lz4.config");
    writeFileSync(noLz4, readFileSync(`/boot/config-${KVER}`, "latin1").replace(/^CONFIG_RD_LZ4=y$/m, "# CONFIG_RD_LZ4 is not set"));
    const cases: [string[], RegExp][] = [
      [[...base, "--boot", "UUID=not-hex"], /--boot: UUID must be hex digits and dashes/],
      [[...base, "--boot", "sda1"], /--boot: not a device spec/],
      [[...base, "--boot", "LABEL=x", "--storage-init", join(dir, "nope")], /storage-init binary not found at .*nope: run make -C storage-init/],
      [[...base, "--boot", "LABEL=x", "--mini-compression", "xz"], /--mini-compression: expected auto, gzip, zstd, lz4, none/],
      // a kernel whose config cannot unpack it: refused before anything is written
      [[...base, "--boot", "LABEL=x", "--mini-compression", "lz4", "--kernel-config", noLz4], /--mini-compression lz4: this kernel cannot unpack it \(CONFIG_RD_LZ4 is not set in .*no-lz4\.config\)/],
      [[...base, "--boot", "LABEL=x", "--boot-fstype", "ntfs"], /--boot-fstype: expected auto/],
      [[...base, "--boot", "LABEL=x", "--failure", "explode"], /--failure: expected panic, reboot, shell/],
      [[...base, "--boot", "LABEL=x", "--timeout", "soon"], /--timeout: expected a whole number/],
      [[...base, "--boot", "LABEL=x", "--init", "sbin/init"], /--init: must be an absolute path/],
      [[...base, "--boot", "LABEL=x", "--add-modules", "virtio_blk,nosuchmod"], /module nosuchmod not found/],
      [[...base, "--boot", "LABEL=x", "--kver", "9.9.9-none"], new RegExp(`no lib/modules/9\\.9\\.9-none/modules\\.dep \\(it has modules for ${KVER.replace(/[.+]/g, "\\$&")}\\)`)],
      [["build", "--kver", "0.0.0-none", "-o", out, "--boot", "LABEL=x"], /no initramfs for kernel 0\.0\.0-none \(looked for \/boot\/initrd\.img-0\.0\.0-none, \/boot\/initramfs-0\.0\.0-none\.img\)/],
      [["build", "--initramfs", INITRD, "-o", "/boot/iofs-test-out", "--boot", "LABEL=x"], /refusing to write into \/boot/],
      [[...base, "--boot", "LABEL=x", "--no-host-modules"], /module erofs not found/],
    ];
    for (const [args, want] of cases) {
      const r = cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, want, args.join(" "));
      assert.ok(!existsSync(out), `${args.join(" ")} created ${out}`);
    }
    assert.ok(!existsSync("/boot/iofs-test-out"));
  }));

test("build refuses an --init the initramfs does not have", () =>
  withTempDir((dir) => {
    storageInitBinary();
    const r = cli(["build", "--initramfs", INITRD, "--boot", `UUID=${UUID}`, "-o", join(dir, "o"), "--init", "/sbin/nonexistent-init"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\/sbin\/nonexistent-init is not an executable file in this initramfs/);
    assert.ok(!existsSync(join(dir, "o")));
  }));

test("build with xz modules: refused (exit 3) when the kernel cannot decompress them, stored plain with --decompress-modules", () =>
  withTempDir((dir) => {
    storageInitBinary();
    // a crafted initramfs directory for kernel 9.9.9 whose modules are .ko.xz, as Fedora ships them
    const src = join(dir, "src");
    const mods = join(src, "usr/lib/modules/9.9.9");
    mkdirSync(src);
    writeFileSync(join(src, "init"), "#!/bin/sh\n", { mode: 0o755 });
    const plain = new Map<string, Buffer>();
    for (const m of ["fs/ext4/ext4", "lib/crc16", "drivers/block/loop", "fs/erofs/erofs", "fs/overlayfs/overlay"]) {
      // the ELF header of a real x86-64 module (what the build reads the architecture from), then a .modinfo string
      const data = Buffer.concat([readFileSync(join(HOST, "kernel/fs/erofs/erofs.ko")).subarray(0, 64), Buffer.from(`fake ${m}\0vermagic=9.9.9 SMP mod_unload \0`)]);
      plain.set(`kernel/${m}.ko`, data);
      mkdirSync(join(mods, "kernel", m, ".."), { recursive: true });
      writeFileSync(join(mods, `kernel/${m}.ko.xz`), xz(data));
    }
    symlinkSync("usr/lib", join(src, "lib"));
    writeFileSync(join(mods, "modules.dep"), [
      "kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz", "kernel/lib/crc16.ko.xz:", "kernel/drivers/block/loop.ko.xz:",
      "kernel/fs/erofs/erofs.ko.xz:", "kernel/fs/overlayfs/overlay.ko.xz:", "",
    ].join("\n"));
    const config = join(dir, "config");
    writeFileSync(config, "CONFIG_MODULES=y\nCONFIG_MODULE_COMPRESS_XZ=y\n# CONFIG_MODULE_DECOMPRESS is not set\n");
    const out = join(dir, "out");
    const base = ["build", "--initramfs", src, "--boot", "/dev/vda1", "--boot-fstype", "ext4", "--no-default-modules", "--no-host-modules", "--kernel-config", config, "-o", out];
    // the default integrity mode needs dm-verity, which exists nowhere here: refused up front
    const noDm = cli([...base, "--decompress-modules"]);
    assert.equal(noDm.code, 2, noDm.stderr);
    assert.match(noDm.stderr, /module dm-verity not found.*integrity dm-verity needs it.*--integrity copy/);
    assert.ok(!existsSync(out));
    const args = [...base, "--integrity", "copy"];
    const refused = cli(args);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /kernel 9\.9\.9 cannot load compressed modules \(CONFIG_MODULE_DECOMPRESS is not set in .*config\).*--decompress-modules/);
    assert.ok(!existsSync(out));

    const r = cli([...args, "--decompress-modules", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout.toString()) as BuildResult;
    assert.equal(res.kver, "9.9.9", "inferred from the initramfs");
    assert.equal(res.arch.name, "x86-64");
    assert.equal(res.arch.from, "modules");
    assert.match(res.arch.file!, /^initramfs: kernel\/.*\.ko\.xz$/, "the smallest module, decompressed");
    assert.deepEqual(res.modules.map((m) => m.name), ["crc16", "ext4", "loop", "erofs", "overlay"]);
    const x = join(dir, "x");
    mkdirSync(x);
    run("sh", ["-c", `gzip -dc '${join(out, "initramfs-9.9.9.img")}' | cpio -idm --quiet`], { cwd: x });
    for (const [rel, data] of plain) assert.ok(readFileSync(join(x, "lib/modules/9.9.9", rel)).equals(data), rel);
    assert.match(readFileSync(join(x, "etc/initoverlayfs.conf"), "latin1"), /^bootfs_module = ext4 \/lib\/modules\/9\.9\.9\/kernel\/fs\/ext4\/ext4\.ko$/m);
    assert.match(readFileSync(join(x, "etc/initoverlayfs.conf"), "latin1"), /^shim =$/m, "no switch-root program in this initramfs");
  }));

/** As kmod's build compresses modules. */
function xz(data: Buffer): Buffer {
  const r = spawnSync("xz", ["-c", "--check=crc32"], { input: data });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}
