/**
 * `build` for an arm64 kernel on this (x86-64) machine: the architecture comes from the kernel's
 * modules (arm64 objects made here with aarch64-linux-gnu-gcc), the mini initramfs gets the arm64
 * storage-init, which accepts the config the build wrote (run under qemu-aarch64), and each
 * contradiction (--arch, --storage-init, a module of the other machine, a kernel without modules)
 * is one line, exit 2, nothing written. The ELF headers our parser reads are compared with readelf's.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ARCH_INFO } from "../../src/formats/elf/arch.js";
import { describeElf, readElfIdent } from "../../src/formats/elf/elf.js";
import { BuildResult } from "../../src/pipeline/build.js";
import { cli } from "../helpers/cli.js";
import { cpioOf } from "../helpers/fixtures.js";
import { miniCpio } from "../helpers/initrd.js";
import { KVER } from "../helpers/kernel.js";
import { run } from "../helpers/run.js";
import { storageInitBinary } from "../helpers/storage-init.js";
import { withTempDir } from "../helpers/tmp.js";

const ARM_KVER = "9.9.9-arm64";
const FIXTURE = new URL("../../../test/formats/elf/fixtures/", import.meta.url).pathname;

/** A kernel module for arm64 built here: an ELF relocatable object with a .modinfo vermagic. */
function arm64Module(dir: string, name: string): Buffer {
  const c = join(dir, `${name}.c`), o = join(dir, `${name}.o`);
  writeFileSync(c, `__attribute__((section(".modinfo"), used)) static const char v[] = "vermagic=${ARM_KVER} SMP preempt mod_unload aarch64";\nint init_module(void) { return 0; }\n`);
  run("aarch64-linux-gnu-gcc", ["-c", "-Os", "-o", o, c]);
  return readFileSync(o);
}

/** modules.dep path → dependencies; every file an arm64 object. */
const ARM_MODULES: Record<string, string[]> = {
  "kernel/fs/ext4/ext4.ko": ["kernel/lib/crc16.ko"], "kernel/lib/crc16.ko": [],
  "kernel/drivers/block/loop.ko": [], "kernel/fs/erofs/erofs.ko": [], "kernel/fs/overlayfs/overlay.ko": [],
  "kernel/drivers/virtio/virtio_mmio.ko": [],
  "kernel/drivers/mmc/host/sdhci.ko": [], "kernel/drivers/mmc/host/sdhci-pltfm.ko": ["kernel/drivers/mmc/host/sdhci.ko"],
  "kernel/drivers/mmc/host/sdhci-iproc.ko": ["kernel/drivers/mmc/host/sdhci-pltfm.ko", "kernel/drivers/mmc/host/sdhci.ko"],
  "kernel/drivers/mmc/host/sdhci-pci.ko": ["kernel/drivers/mmc/host/sdhci.ko"],
  "kernel/arch/arm64/crypto/sha256-arm64.ko": [], "kernel/arch/arm64/crypto/sha2-ce.ko": ["kernel/arch/arm64/crypto/sha256-arm64.ko"],
};

/** An initramfs directory for an arm64 kernel (merged /usr), its modules arm64 objects; mmc_block and fs-verity built in. */
function arm64Initramfs(dir: string, opts: { modules?: boolean } = {}): string {
  const src = join(dir, "src");
  const mods = join(src, "usr/lib/modules", ARM_KVER);
  mkdirSync(mods, { recursive: true });
  writeFileSync(join(src, "init"), "#!/bin/sh\n", { mode: 0o755 });
  symlinkSync("usr/lib", join(src, "lib"));
  const obj = opts.modules === false ? undefined : arm64Module(dir, "m");
  const dep = obj ? Object.entries(ARM_MODULES) : [];
  for (const [p] of dep) {
    mkdirSync(join(mods, p, ".."), { recursive: true });
    writeFileSync(join(mods, p), obj!);
  }
  writeFileSync(join(mods, "modules.dep"), dep.map(([p, d]) => `${p}: ${d.join(" ")}\n`).join(""));
  // without modules, what storage-init needs is built in
  const builtin = ["kernel/drivers/mmc/core/mmc_block.ko", ...(obj ? [] : ["kernel/fs/ext4/ext4.ko", "kernel/drivers/block/loop.ko", "kernel/fs/erofs/erofs.ko", "kernel/fs/overlayfs/overlay.ko"])];
  writeFileSync(join(mods, "modules.builtin"), builtin.map((b) => b + "\n").join(""));
  return src;
}

const conf = (mini: string) => {
  const x = miniCpio(readFileSync(mini));
  return { archive: x, text: run("cpio", ["-i", "--quiet", "--to-stdout", "etc/initoverlayfs.conf"], { input: x }).stdout };
};

test("build for an arm64 kernel on x86-64: the arm64 storage-init, the arm64 storage drivers, and the arm64 binary accepts the config", () =>
  withTempDir((dir) => {
    const armSi = storageInitBinary("arm64");
    const src = arm64Initramfs(dir);
    const out = join(dir, "out");
    const base = ["build", "--initramfs", src, "--boot", "PARTUUID=5d0c4a7d-0000-4000-8000-5dca4d000001", "--boot-fstype", "ext4", "--no-host-modules", "--integrity", "copy"];
    const r = cli([...base, "-o", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout.toString()) as BuildResult;
    assert.equal(res.kver, ARM_KVER);
    assert.deepEqual(res.arch, { name: "arm64", from: "modules", file: "initramfs: kernel/fs/ext4/ext4.ko" });
    assert.equal(res.mini.storageInit, armSi);
    // the storage drivers of arm64 boards and QEMU virt that this kernel has, in the table's order, and no x86 one
    assert.deepEqual(res.modules.filter((m) => m.storageModule).map((m) => m.name), ["virtio_mmio", "sdhci", "sdhci_pci", "sdhci_pltfm", "sdhci_iproc"]);
    assert.ok(res.builtin.includes("mmc_block"));
    const mini = join(out, `initramfs-${ARM_KVER}.img`);
    const c = conf(mini);
    // /init is the arm64 binary, byte for byte
    const x = join(dir, "x");
    mkdirSync(x);
    run("cpio", ["-idm", "--quiet"], { input: c.archive, cwd: x });
    assert.ok(readFileSync(join(x, "init")).equals(readFileSync(armSi)), "/init is storage-init for arm64");
    assert.match(c.text, /^storage_module = \/lib\/modules\/9\.9\.9-arm64\/kernel\/drivers\/mmc\/host\/sdhci-iproc\.ko$/m);
    // the arm64 storage-init parses what the build wrote for it
    const check = run("qemu-aarch64", [armSi, "--check-config", join(x, "etc/initoverlayfs.conf")], { allowFail: true });
    assert.equal(check.code, 0, check.stderr);
    // the text output names the architecture
    const t = cli([...base, "-o", join(dir, "out2")]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout.toString(), new RegExp(`initramfs-${ARM_KVER}\\.img: mini initramfs for arm64: storage-init \\+ 10 modules`));
    // dm-verity on arm64: the NEON/assembly SHA-256 and the Cryptography Extensions one, both optional
    const v = cli(["build", "--initramfs", src, "--boot", "LABEL=b", "--boot-fstype", "ext4", "--no-host-modules", "--integrity", "fs-verity", "-o", join(dir, "out3"), "--json"]);
    assert.equal(v.code, 0, v.stderr);
    const vm = (JSON.parse(v.stdout.toString()) as BuildResult).modules.filter((m) => m.optionalModule).map((m) => m.name);
    assert.deepEqual(vm, ["sha256_arm64", "sha2_ce"]);
  }));

test("build refuses what contradicts the kernel's architecture: one line, exit 2, nothing written", () =>
  withTempDir((dir) => {
    const x86Si = storageInitBinary("x86-64"), armSi = storageInitBinary("arm64");
    const src = arm64Initramfs(dir);
    const out = join(dir, "out");
    const base = ["build", "--initramfs", src, "--boot", "LABEL=b", "--boot-fstype", "ext4", "--integrity", "copy", "-o", out];
    const cases: [string[], RegExp][] = [
      [[...base, "--no-host-modules", "--storage-init", x86Si],
        new RegExp(`^initoverlayfs: ${x86Si}: storage-init is built for x86-64, but the kernel is arm64 \\(its module initramfs: kernel/fs/ext4/ext4\\.ko\\): name storage-init for arm64 with --storage-init, or build it with make -C storage-init arm64\\n$`)],
      [[...base, "--no-host-modules", "--arch", "x86-64"], /^initoverlayfs: --arch x86-64 contradicts the kernel's modules: initramfs: .*ext4\.ko is arm64\n$/],
      [[...base, "--no-host-modules", "--arch", "riscv64"], /^initoverlayfs: --arch: expected x86-64, arm64, got "riscv64"\n$/],
      // this machine's x86-64 modules for the arm64 initramfs
      [[...base, "--modules-dir", `/lib/modules/${KVER}`], new RegExp(`^initoverlayfs: modules of two architectures: initramfs: .* is arm64, /lib/modules/${KVER.replace(/[.+]/g, "\\$&")}: kernel/.* is x86-64: name a --modules-dir of the initramfs's kernel\\n$`)],
      [[...base, "--no-host-modules", "--kernel-config", `/boot/config-${KVER}`], /^initoverlayfs: \/boot\/config-.*: the config of an x86-64 kernel \(CONFIG_X86_64=y\), but the kernel is arm64 \(its module .*\): name its config with --kernel-config\n$/],
    ];
    for (const [args, want] of cases) {
      const r = cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, want, args.join(" "));
      assert.ok(!existsSync(out), `${args.join(" ")} created ${out}`);
    }
    // a module of the other machine among the initramfs's: found when it is taken
    const mods = join(src, "usr/lib/modules", ARM_KVER);
    writeFileSync(join(mods, "kernel/fs/erofs/erofs.ko"), readFileSync(`/lib/modules/${KVER}/kernel/fs/erofs/erofs.ko`));
    const m = cli([...base, "--no-host-modules", "--storage-init", armSi]);
    assert.equal(m.code, 2, m.stderr);
    assert.match(m.stderr, /^initoverlayfs: initramfs: kernel\/fs\/erofs\/erofs\.ko is an x86-64 module, but the kernel is arm64 \(its module .*ext4\.ko\)\n$/);
    assert.ok(!existsSync(out));
  }));

test("a kernel without modules: --arch or the --storage-init binary decides, and --json says which", () =>
  withTempDir((dir) => {
    const armSi = storageInitBinary("arm64");
    const src = arm64Initramfs(dir, { modules: false });
    const base = ["build", "--initramfs", src, "--boot", "LABEL=b", "--boot-fstype", "ext4", "--no-host-modules", "--integrity", "copy", "--json"];
    const none = cli([...base, "-o", join(dir, "o0")]);
    assert.equal(none.code, 2, none.stderr);
    assert.equal(none.stderr, "initoverlayfs: cannot tell which architecture the kernel is for: it has no modules (all built in?): name it with --arch x86-64 or arm64\n");
    assert.ok(!existsSync(join(dir, "o0")));
    const a = cli([...base, "-o", join(dir, "o1"), "--arch", "arm64"]);
    assert.equal(a.code, 0, a.stderr);
    const ra = JSON.parse(a.stdout.toString()) as BuildResult;
    assert.deepEqual(ra.arch, { name: "arm64", from: "--arch", file: null });
    assert.equal(ra.mini.storageInit, armSi);
    assert.deepEqual(ra.modules, []);
    const s = cli([...base, "-o", join(dir, "o2"), "--storage-init", armSi]);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual((JSON.parse(s.stdout.toString()) as BuildResult).arch, { name: "arm64", from: "storage-init", file: armSi });
  }));

test("install --root on an arm64 system's root, from an x86-64 machine: its modules decide, the mini gets the arm64 storage-init", () =>
  withTempDir((dir) => {
    const armSi = storageInitBinary("arm64");
    // the system being built: its /lib/modules, its /boot with a full initramfs, its install.conf
    const root = join(dir, "root");
    const src = arm64Initramfs(dir);
    mkdirSync(join(root, "boot"), { recursive: true });
    mkdirSync(join(root, "etc/initoverlayfs"), { recursive: true });
    writeFileSync(join(root, "etc/initoverlayfs/install.conf"), "boot = UUID=5a1e0b7e-0000-4000-8000-1a57a11ed0ff\nboot_fstype = ext4\nmini_compression = none\nintegrity = copy\n");
    run("cp", ["-a", join(src, "usr/lib"), join(root, "lib")]);
    writeFileSync(join(root, "boot", `initrd.img-${ARM_KVER}`), gzipSync(cpioOf(src)));
    const r = cli(["install", "--root", root, "--kver", ARM_KVER, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const installed = JSON.parse(r.stdout.toString())[0];
    assert.deepEqual([installed.action, installed.arch], ["installed", "arm64"]);
    const x = join(dir, "x");
    mkdirSync(x);
    run("cpio", ["-idm", "--quiet"], { input: readFileSync(join(root, "boot", `initrd.img-${ARM_KVER}`)), cwd: x });
    assert.ok(readFileSync(join(x, "init")).equals(readFileSync(armSi)), "/init is storage-init for arm64");
    assert.match(readFileSync(join(x, "etc/initoverlayfs.conf"), "latin1"), /^storage_module = \/lib\/modules\/9\.9\.9-arm64\/kernel\/drivers\/mmc\/host\/sdhci-iproc\.ko$/m);
  }));

test("our ELF header reading agrees with readelf on modules and on both storage-init binaries", () =>
  withTempDir((dir) => {
    const files = [
      join(FIXTURE, "arm64-module.ko"), `/lib/modules/${KVER}/kernel/fs/erofs/erofs.ko`,
      storageInitBinary("x86-64"), storageInitBinary("arm64"),
    ];
    // the fixture is what aarch64-linux-gnu-gcc makes of its source, as its comment says
    const again = join(dir, "again.ko");
    run("aarch64-linux-gnu-gcc", ["-c", "-Os", "-fno-asynchronous-unwind-tables", "-o", again, join(FIXTURE, "module.c")]);
    assert.deepEqual(readElfIdent(readFileSync(again)), readElfIdent(readFileSync(files[0])));
    const READELF_MACHINE: Record<string, string> = { "x86-64": "Advanced Micro Devices X86-64", arm64: "AArch64" };
    for (const f of files) {
      const h = run("readelf", ["-h", f]).stdout;
      const e = readElfIdent(readFileSync(f), f);
      const field = (name: string) => new RegExp(`^\\s*${name}:\\s+(.*)$`, "m").exec(h)?.[1];
      assert.equal(field("Class"), `ELF${e.bits}`, f);
      assert.equal(field("Machine"), READELF_MACHINE[describeElf(e)], f);
      assert.equal(e.machine, ARCH_INFO[describeElf(e) as keyof typeof ARCH_INFO].elfMachine, f);
      assert.match(field("Type") ?? "", f.endsWith(".ko") ? /^REL / : /^EXEC /, f);
    }
  }));
