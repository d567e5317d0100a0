/**
 * The architecture of a build: ELF headers of real modules (this machine's Debian kernel's x86-64
 * .ko files, an arm64 object made with aarch64-linux-gnu-gcc), and the choice between the
 * modules, --arch, the kernel config and the storage-init binary, with each contradiction refused.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { FormatError, UsageError } from "../../src/errors.js";
import { ARCH_INFO, archOfUname, machineName } from "../../src/formats/elf/arch.js";
import { archOfElf, describeElf, elfArch, ET_REL, readElfIdent } from "../../src/formats/elf/elf.js";
import { FsTree, newTree } from "../../src/fs/tree.js";
import { checkModuleArch, chooseArch, modulesArch } from "../../src/pipeline/arch.js";
import { parseKernelConfig } from "../../src/pipeline/kernel.js";
import { buildWants, DEFAULT_STORAGE_MODULES } from "../../src/pipeline/modules/defaults.js";
import { selectModules } from "../../src/pipeline/modules/select.js";
import { KVER } from "../helpers/kernel.js";
import { withTempDir } from "../helpers/tmp.js";
import { file, put } from "../helpers/tree-build.js";

const ARM64_KO = readFileSync(new URL("../../../test/formats/elf/fixtures/arm64-module.ko", import.meta.url));
const HOST_MODULES = `/lib/modules/${KVER}`;

/** A real module of this machine's Debian kernel (x86-64, uncompressed in bookworm). */
function hostModule(): { path: string; bytes: Buffer } {
  const dir = join(HOST_MODULES, "kernel/fs/erofs");
  const name = readdirSync(dir).find((n) => n.startsWith("erofs.ko"));
  assert.ok(name, `no erofs module in ${dir}`);
  return { path: join(dir, name), bytes: readFileSync(join(dir, name)) };
}

test("ELF headers of real modules: x86-64 from the Debian kernel, arm64 from aarch64-linux-gnu-gcc", () => {
  const x = hostModule();
  assert.ok(x.path.endsWith(".ko"), `${x.path}: this test reads an uncompressed module`);
  const e = readElfIdent(x.bytes, x.path);
  assert.deepEqual(e, { bits: 64, littleEndian: true, type: ET_REL, machine: 62 });
  assert.equal(elfArch(e), "x86-64");
  const a = readElfIdent(ARM64_KO, "arm64-module.ko");
  assert.deepEqual(a, { bits: 64, littleEndian: true, type: ET_REL, machine: 183 });
  assert.equal(elfArch(a), "arm64");
  assert.equal(archOfElf(x.bytes, x.path), "x86-64");
  assert.equal(archOfElf(ARM64_KO, "arm64-module.ko"), "arm64");
  assert.equal(ARCH_INFO.arm64.elfMachine, 183);
  assert.equal(archOfUname("aarch64"), "arm64");
  assert.equal(archOfUname("x86_64"), "x86-64");
  assert.equal(archOfUname("riscv64"), undefined);
});

test("ELF: what is not one of ours is described, and what is not ELF is refused with its offset", () => {
  const hdr = (cls: number, data: number, machine: number) => {
    const b = Buffer.alloc(64);
    b.write("\x7fELF", 0, "latin1");
    b[4] = cls, b[5] = data, b[6] = 1;
    if (data === 1) b.writeUInt16LE(ET_REL, 16), b.writeUInt16LE(machine, 18);
    else b.writeUInt16BE(ET_REL, 16), b.writeUInt16BE(machine, 18);
    return b;
  };
  assert.equal(describeElf(readElfIdent(hdr(1, 1, 40))), "ARM (32-bit)");
  assert.equal(elfArch(readElfIdent(hdr(1, 1, 40))), undefined);
  assert.equal(describeElf(readElfIdent(hdr(2, 2, 21))), "big-endian PowerPC 64");
  assert.equal(describeElf(readElfIdent(hdr(1, 1, 62))), "32-bit x86-64", "x32-style: not ours");
  assert.equal(describeElf(readElfIdent(hdr(2, 1, 243))), "RISC-V");
  assert.equal(machineName(4242), "e_machine 4242");
  assert.equal(archOfElf(hdr(1, 1, 40)), undefined, "32-bit ARM: not ours");
  assert.equal(archOfElf(hdr(2, 2, 183)), undefined, "big-endian arm64: not ours");
  assert.throws(() => archOfElf(Buffer.from("#!/bin/sh\n"), "/init"), (e: unknown) => e instanceof FormatError && e.offset === 0 && /^\/init: offset 0/.test(e.message));
  const bad = (b: Uint8Array, offset: number, re: RegExp) =>
    assert.throws(() => readElfIdent(b, "f.ko"), (e: unknown) => e instanceof FormatError && e.offset === offset && re.test(e.message) && e.message.startsWith("f.ko: offset"));
  bad(Buffer.from([0x4d, 0x5a, 0x90, 0]), 0, /expected the magic 7f 45 4c 46, got 4d5a9000/);
  bad(Buffer.alloc(0), 0, /an empty file/);
  bad(hdr(2, 1, 183).subarray(0, 10), 10, /truncated header: 10 bytes/);
  bad(hdr(3, 1, 183), 4, /EI_CLASS/);
  bad(hdr(2, 0, 183), 5, /EI_DATA/);
});


/** lib/modules/KVER with these module files (path → bytes) listed in modules.dep. */
function modulesTree(files: Record<string, Uint8Array>, extra: Record<string, string> = {}): FsTree {
  const t = newTree();
  put(t, "lib/modules/9.9.9/modules.dep", file(Object.keys(files).map((p) => `${p}:\n`).join("")));
  for (const [p, b] of Object.entries(files)) put(t, `lib/modules/9.9.9/${p}`, file(b));
  for (const [p, s] of Object.entries(extra)) put(t, `lib/modules/9.9.9/${p}`, file(s));
  return t;
}
const source = (tree: FsTree, label = "initramfs") => ({ label, tree, dir: "lib/modules/9.9.9" });

test("a modules directory's architecture: the first plain module, else the smallest compressed one", async () => {
  const x86 = hostModule().bytes;
  assert.deepEqual(await modulesArch(source(modulesTree({ "kernel/a.ko": ARM64_KO, "kernel/b.ko": x86 }))), { arch: "arm64", file: "initramfs: kernel/a.ko" });
  // a listed module whose file is missing is passed over
  const t = modulesTree({ "kernel/b.ko": x86 });
  put(t, "lib/modules/9.9.9/modules.dep", file("kernel/gone.ko:\nkernel/b.ko:\n"));
  assert.equal((await modulesArch(source(t)))?.arch, "x86-64");
  // compressed only (Fedora, Debian trixie): the smallest is decompressed
  const big = Buffer.concat([ARM64_KO, Buffer.alloc(100_000, 7)]);
  const z = await modulesArch(source(modulesTree({ "kernel/big.ko.gz": gzipSync(big), "kernel/small.ko.gz": gzipSync(ARM64_KO) })));
  assert.deepEqual(z, { arch: "arm64", file: "initramfs: kernel/small.ko.gz" });
  // no module files (everything built in), no modules.dep
  assert.equal(await modulesArch(source(modulesTree({}))), undefined);
  assert.equal(await modulesArch(source(newTree())), undefined);
  // a module of another machine is named
  const arm32 = Buffer.from(ARM64_KO);
  arm32[4] = 1, arm32.writeUInt16LE(40, 18);
  await assert.rejects(modulesArch(source(modulesTree({ "kernel/c.ko": arm32 }))), /initramfs: kernel\/c\.ko: offset 18: ELF: a kernel module for ARM \(32-bit\): initoverlayfs builds for x86-64 and arm64/);
});

/** Tiny static programs standing in for storage-init: their headers are what chooseArch reads. */
function program(dir: string, name: string, machine: number): string {
  const b = Buffer.from(ARM64_KO.subarray(0, 64));
  b.writeUInt16LE(2 /* ET_EXEC */, 16);
  b.writeUInt16LE(machine, 18);
  const p = join(dir, name);
  writeFileSync(p, b);
  return p;
}

test("the architecture: the modules decide, --arch or storage-init only without modules; contradictions are refused", () =>
  withTempDir((dir) => {
    const armSi = program(dir, "si-arm64", 183), x86Si = program(dir, "si-x86", 62);
    const armMods = [{ arch: "arm64" as const, file: "initramfs: kernel/a.ko" }];
    const usage = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof UsageError && re.test(e.message), re.source);

    const c = chooseArch({ modules: armMods, storageInit: armSi });
    assert.deepEqual(c.arch, { name: "arm64", from: "modules", file: "initramfs: kernel/a.ko" });
    assert.equal(c.storageInitPath, armSi);
    assert.deepEqual(chooseArch({ arch: "arm64", modules: armMods, storageInit: armSi }).arch.from, "modules", "--arch agreeing");
    usage(() => chooseArch({ arch: "x86-64", modules: armMods, storageInit: armSi }), /^--arch x86-64 contradicts the kernel's modules: initramfs: kernel\/a\.ko is arm64$/);
    usage(() => chooseArch({ modules: armMods, storageInit: x86Si }),
      new RegExp(`^${x86Si}: storage-init is built for x86-64, but the kernel is arm64 \\(its module initramfs: .*a\\.ko\\): name storage-init for arm64 with --storage-init, or build it with make -C storage-init arm64$`));
    usage(() => chooseArch({ modules: [...armMods, { arch: "x86-64", file: "/lib/modules/9.9.9: kernel/b.ko" }], storageInit: armSi }),
      /^modules of two architectures: initramfs: .*a\.ko is arm64, \/lib\/modules\/9\.9\.9: kernel\/b\.ko is x86-64/);
    usage(() => chooseArch({ modules: armMods, storageInit: armSi, kernelConfig: parseKernelConfig("CONFIG_X86_64=y\nCONFIG_64BIT=y\n", "/boot/config-x") }),
      /^\/boot\/config-x: the config of an x86-64 kernel \(CONFIG_X86_64=y\), but the kernel is arm64 \(its module .*\): name its config with --kernel-config$/);
    assert.equal(chooseArch({ modules: armMods, storageInit: armSi, kernelConfig: parseKernelConfig("CONFIG_ARM64=y\n") }).arch.name, "arm64");

    // no modules at all: --arch, else the named binary, else a question
    assert.deepEqual(chooseArch({ arch: "arm64", modules: [], storageInit: armSi }).arch, { name: "arm64", from: "--arch", file: null });
    usage(() => chooseArch({ arch: "x86-64", modules: [], storageInit: armSi }), /storage-init is built for arm64, but the kernel is x86-64 \(--arch\)/);
    assert.deepEqual(chooseArch({ modules: [], storageInit: x86Si }).arch, { name: "x86-64", from: "storage-init", file: x86Si });
    usage(() => chooseArch({ modules: [] }), /^cannot tell which architecture the kernel is for: it has no modules \(all built in\?\): name it with --arch x86-64 or arm64$/);
    // a storage-init for another machine entirely
    usage(() => chooseArch({ modules: [], storageInit: program(dir, "si-riscv", 243) }), /si-riscv: storage-init is built for RISC-V; initoverlayfs builds for x86-64 and arm64/);
    assert.throws(() => chooseArch({ modules: [], storageInit: join(dir, "nope") }), /storage-init binary not found at .*nope/);
  }));

test("each plain module taken must be built for the architecture", () => {
  const arch = { name: "arm64" as const, from: "modules" as const, file: "initramfs: a.ko" };
  checkModuleArch([{ bytes: ARM64_KO, file: "initramfs: a.ko" }], arch);
  assert.throws(() => checkModuleArch([{ bytes: ARM64_KO, file: "a.ko" }, { bytes: hostModule().bytes, file: "/lib/modules/x: erofs.ko" }], arch),
    (e: unknown) => e instanceof UsageError && /^\/lib\/modules\/x: erofs\.ko is an x86-64 module, but the kernel is arm64 \(its module initramfs: a\.ko\)$/.test(e.message));
});

test("arm64 wants: the SD/eMMC hosts of boards and virtio-mmio, each only if the kernel has it; x86-64's stay as they were", () => {
  const arm = DEFAULT_STORAGE_MODULES.arm64;
  for (const m of ["virtio_mmio", "mmc_block", "sdhci_pci", "sdhci_iproc", "sdhci_of_arasan", "dw_mmc_rockchip", "sdhci_tegra", "meson_gx_mmc", "sunxi_mmc"]) assert.ok(arm.includes(m), m);
  assert.ok(!arm.includes("ata_piix"), "QEMU's PC IDE is x86-only");
  assert.ok(!DEFAULT_STORAGE_MODULES["x86-64"].some((m) => m.includes("iproc") || m === "virtio_mmio"));
  // a kernel with some of them: those are taken (storage modules, in the table's order), the rest are missing
  const mods: Record<string, Uint8Array> = {};
  for (const p of ["kernel/drivers/virtio/virtio_mmio.ko", "kernel/drivers/mmc/host/sdhci.ko", "kernel/drivers/mmc/host/sdhci-pltfm.ko", "kernel/drivers/mmc/host/sdhci-iproc.ko",
    "kernel/drivers/mmc/host/sunxi-mmc.ko", "kernel/fs/erofs/erofs.ko", "kernel/fs/overlayfs/overlay.ko", "kernel/drivers/block/loop.ko", "kernel/fs/ext4/ext4.ko"]) mods[p] = ARM64_KO;
  const t = modulesTree(mods, { "modules.builtin": "kernel/drivers/mmc/core/mmc_block.ko\n" });
  put(t, "lib/modules/9.9.9/modules.dep", file(Object.keys(mods).map((p) => p.endsWith("sdhci-iproc.ko") ? `${p}: kernel/drivers/mmc/host/sdhci-pltfm.ko kernel/drivers/mmc/host/sdhci.ko\n` : `${p}:\n`).join("")));
  const sel = selectModules(t, "9.9.9", { wants: buildWants({ arch: "arm64", fstype: "ext4", integrity: { mode: "copy" } }) });
  const storage = sel.modules.filter((m) => m.storageModule).map((m) => m.name);
  assert.deepEqual(storage, ["virtio_mmio", "sdhci", "sdhci_pltfm", "sdhci_iproc", "sunxi_mmc"]);
  assert.ok(sel.builtin.includes("mmc_block"), "built in on Debian's arm64 kernel");
  for (const m of ["sdhci_tegra", "meson_gx_mmc", "dw_mmc_rockchip", "virtio_pci"]) assert.ok(sel.missing.includes(m), m);
});
