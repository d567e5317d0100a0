/**
 * Module selection on small crafted trees: the edge cases a real initramfs rarely shows (cycles,
 * missing or compressed modules, dash/underscore names, aliases, softdeps, symlinked lib/).
 */
import test from "node:test";
import assert from "node:assert/strict";
import { FormatError, UnsupportedError, UsageError } from "../../src/errors.js";
import { FsNode, FsTree, newDir, newTree } from "../../src/fs/tree.js";
import { buildWants, bootFsModules, integrityWants, signatureHashWants, vfatCompanions } from "../../src/pipeline/modules/defaults.js";
import { globToRegExp, parseBuiltinModinfo, parseModulesDep, parseSoftdeps } from "../../src/pipeline/modules/index-files.js";
import { normalizeAlias, parseModulePath, uncompressedModulePath } from "../../src/pipeline/modules/names.js";
import { ModuleRequest, selectModules, kernelVersionsIn } from "../../src/pipeline/modules/select.js";
import { findSwitchRootPrograms } from "../../src/pipeline/modules/shims.js";
import { resolvePath } from "../../src/pipeline/modules/tree-path.js";
import { modinfoVermagic } from "../../src/pipeline/modules/vermagic.js";
import { parseKernelConfig } from "../../src/pipeline/kernel.js";
import { file, put, symlink } from "../helpers/tree-build.js";

const KVER = "6.9.0-test";
const MOD = `lib/modules/${KVER}`;

/** A tree with modules.dep (and the other index files), a file per module named in it. */
function modTree(dep: string, extra: Record<string, string> = {}, opts: { dir?: string; vermagic?: string } = {}): FsTree {
  const t = newTree();
  const dir = opts.dir ?? MOD;
  put(t, `${dir}/modules.dep`, file(dep));
  for (const [name, text] of Object.entries(extra)) put(t, `${dir}/${name}`, file(text));
  for (const line of dep.split("\n")) {
    const p = line.split(":")[0].trim();
    if (p) put(t, `${dir}/${p}`, file(`\x7fELF fake module ${p}\0vermagic=${opts.vermagic ?? KVER + " SMP"}\0`));
  }
  return t;
}

const names = (t: FsTree, req: ModuleRequest, kver = KVER) => selectModules(t, kver, req).modules.map((m) => m.name);
const want = (...n: string[]): ModuleRequest => ({ wants: n.map((name) => ({ name })) });

test("dependencies come before their dependents, each module once, in modprobe's order", () => {
  const t = modTree([
    "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko",
    "kernel/fs/jbd2/jbd2.ko:",
    "kernel/fs/mbcache.ko:",
    "kernel/lib/crc16.ko:",
    "kernel/fs/other.ko: kernel/fs/mbcache.ko",
  ].join("\n"));
  assert.deepEqual(names(t, want("ext4", "other")), ["jbd2", "mbcache", "crc16", "ext4", "other"]);
  // the same request gives the same order; another request order changes only what it must
  assert.deepEqual(names(t, want("ext4", "other")), names(t, want("ext4", "other")));
  assert.deepEqual(names(t, want("other", "ext4")), ["mbcache", "other", "jbd2", "crc16", "ext4"]);
});

test("a dependency cycle in modules.dep is a clear error naming the cycle", () => {
  const t = modTree("kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/c.ko\nkernel/c.ko: kernel/a.ko\n");
  assert.throws(() => selectModules(t, KVER, want("a")), (e: unknown) => e instanceof FormatError && /dependency cycle: a -> c -> b -> a|dependency cycle: a -> .* -> a/.test(e.message));
  // a module that depends on itself
  const self = modTree("kernel/a.ko: kernel/a.ko\n");
  assert.throws(() => selectModules(self, KVER, want("a")), /dependency cycle: a -> a/);
});

test("a module named explicitly that exists nowhere is an error; an optional one is dropped", () => {
  const t = modTree("kernel/a.ko:\n");
  assert.throws(() => selectModules(t, KVER, want("nosuchmod")), (e: unknown) => e instanceof UsageError && /module nosuchmod not found/.test(e.message));
  const r = selectModules(t, KVER, { wants: [{ name: "nosuchmod", ifAvailable: true }, { name: "a" }] });
  assert.deepEqual(r.missing, ["nosuchmod"]);
  assert.deepEqual(r.modules.map((m) => m.name), ["a"]);
});

test("a dependency modules.dep names but does not list, or whose file is missing, is an error", () => {
  const t = modTree("kernel/a.ko: kernel/gone.ko\n");
  assert.throws(() => selectModules(t, KVER, want("a")), /a needs gone, which is not in modules.dep/);
  const t2 = modTree("kernel/a.ko:\n");
  (resolvePath(t2, `${MOD}/kernel`)!.node as { entries: Map<string, FsNode> }).entries.delete("a.ko");
  assert.throws(() => selectModules(t2, KVER, want("a")), /kernel\/a\.ko is listed but the file is missing/);
});

test("dashes and underscores name the same module, either way round", () => {
  const t = modTree("kernel/usb-storage.ko:\nkernel/nls_iso8859-1.ko:\nkernel/virtio_blk.ko:\n");
  assert.deepEqual(names(t, want("usb_storage", "nls_iso8859_1", "virtio-blk")), ["usb_storage", "nls_iso8859_1", "virtio_blk"]);
  assert.deepEqual(names(t, want("usb-storage")), ["usb_storage"]);
  assert.equal(selectModules(t, KVER, want("usb_storage")).modules[0].path, "kernel/usb-storage.ko");
});

test("built-in modules are skipped, by name, by alias, and as dependencies", () => {
  const t = modTree("kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko\nkernel/lib/crc16.ko:\n", {
    "modules.builtin": "kernel/fs/mbcache.ko\nkernel/crypto/crc32c_generic.ko\n",
    "modules.builtin.modinfo": "crc32c_generic.alias=crypto-crc32c\0crc32c_generic.alias=crc32c\0mbcache.license=GPL\0",
    "modules.softdep": "softdep ext4 pre: crypto-crc32c\n",
  });
  const r = selectModules(t, KVER, want("mbcache", "crc32c", "ext4"));
  assert.deepEqual(r.modules.map((m) => m.name), ["crc16", "ext4"]);
  assert.deepEqual(r.builtin, ["mbcache", "crc32c"]);
});

test("aliases resolve (fs-ext4, wildcards); CPU-specific providers are left out while a generic one exists", () => {
  const t = modTree([
    "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko",
    "kernel/lib/crc16.ko:",
    "kernel/arch/x86/crypto/crc32c-intel.ko:",
    "kernel/crypto/crc32c_generic.ko:",
    "kernel/drivers/block/virtio_blk.ko:",
  ].join("\n"), {
    "modules.alias": [
      "alias fs-ext4 ext4",
      "alias crypto-crc32c crc32c_intel",
      "alias crc32c crc32c_intel",
      "alias cpu:type:x86,ven*fam*mod*:feature:*0094* crc32c_intel",
      "alias crypto-crc32c crc32c_generic",
      "alias crc32c crc32c_generic",
      "alias virtio:d00000002v* virtio_blk",
    ].join("\n"),
    "modules.softdep": "# comment\nsoftdep ext4 pre: crypto-crc32c\n",
  });
  const r = selectModules(t, KVER, want("fs-ext4", "virtio:d00000002v00001AF4"));
  assert.deepEqual(r.modules.map((m) => m.name), ["crc16", "crc32c_generic", "ext4", "virtio_blk"]);
  assert.deepEqual(r.skipped.map((s) => s.name), ["crc32c_intel"]);
  assert.match(r.modules[1].reason, /softdep of ext4 \(crypto-crc32c\)/);
  // named explicitly, a CPU-specific module is taken
  assert.deepEqual(names(t, want("crc32c-intel")), ["crc32c_intel"]);
  // through an alias only generic ones
  assert.deepEqual(names(t, want("crc32c")), ["crc32c_generic"]);
});

test("softdeps: pre before, post after; missing and looping softdeps are skipped", () => {
  const t = modTree("kernel/a.ko:\nkernel/b.ko:\nkernel/c.ko:\nkernel/d.ko: kernel/a.ko\n", {
    "modules.softdep": "softdep a pre: b post: c\nsoftdep b pre: ghost\nsoftdep c pre: a\n",
  });
  const r = selectModules(t, KVER, want("d"));
  assert.deepEqual(r.modules.map((m) => m.name), ["b", "a", "c", "d"]);
  assert.deepEqual(r.skipped.map((s) => s.name), ["ghost"]);
});

test("compressed modules need CONFIG_MODULE_DECOMPRESS and the matching format, or --decompress-modules", () => {
  const t = modTree("kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz\nkernel/lib/crc16.ko.xz:\nkernel/plain.ko:\n");
  const noDecompress = parseKernelConfig("CONFIG_MODULES=y\n# CONFIG_MODULE_DECOMPRESS is not set\nCONFIG_MODULE_COMPRESS_XZ=y\n", "/boot/config-x");
  assert.throws(() => selectModules(t, KVER, { ...want("ext4"), kernelConfig: noDecompress }),
    (e: unknown) => e instanceof UnsupportedError && /CONFIG_MODULE_DECOMPRESS is not set in \/boot\/config-x/.test(e.message) && /ext4\.ko\.xz/.test(e.message));
  // no config at all: cannot tell, also an error
  assert.throws(() => selectModules(t, KVER, want("ext4")), /no kernel config tells/);
  // the wrong format
  const zstdOnly = parseKernelConfig("CONFIG_MODULE_DECOMPRESS=y\nCONFIG_MODULE_COMPRESS_ZSTD=y\n");
  assert.throws(() => selectModules(t, KVER, { ...want("ext4"), kernelConfig: zstdOnly }), /CONFIG_MODULE_COMPRESS_XZ is not set/);
  // supported: kept compressed
  const ok = parseKernelConfig("CONFIG_MODULE_DECOMPRESS=y\nCONFIG_MODULE_COMPRESS_XZ=y\n");
  const r = selectModules(t, KVER, { ...want("ext4"), kernelConfig: ok });
  assert.deepEqual(r.modules.map((m) => [m.name, m.compression, m.path]), [["crc16", "xz", "kernel/lib/crc16.ko.xz"], ["ext4", "xz", "kernel/fs/ext4/ext4.ko.xz"]]);
  // decompressed at build time: no kernel support needed
  assert.equal(selectModules(t, KVER, { ...want("ext4"), kernelConfig: noDecompress, decompress: true }).modules.length, 2);
  // plain modules need nothing
  assert.equal(selectModules(t, KVER, { ...want("plain"), kernelConfig: noDecompress }).modules.length, 1);
});

test("lib -> usr/lib: the modules directory is found through the symlink", () => {
  const t = modTree("kernel/a.ko:\n", {}, { dir: `usr/lib/modules/${KVER}` });
  put(t, "lib", symlink("usr/lib"));
  const r = selectModules(t, KVER, want("a"));
  assert.deepEqual(r.modules.map((m) => m.name), ["a"]);
  assert.equal(kernelVersionsIn(t).join(), KVER);
  // an absolute symlink target is relative to the tree's root
  const t2 = modTree("kernel/a.ko:\n", {}, { dir: `usr/lib/modules/${KVER}` });
  put(t2, "lib", symlink("/usr/lib"));
  assert.deepEqual(names(t2, want("a")), ["a"]);
});

test("a wrong kernel version names the versions the initramfs has", () => {
  const t = modTree("kernel/a.ko:\n");
  assert.throws(() => selectModules(t, "5.10.0-1", want("a")), (e: unknown) => e instanceof UsageError && /no lib\/modules\/5\.10\.0-1\/modules\.dep \(it has modules for 6\.9\.0-test\)/.test(e.message));
});

test("extra sources supply missing modules; a vermagic mismatch between sources is refused", () => {
  const initramfs = modTree("kernel/a.ko:\n");
  const host = modTree("kernel/a.ko:\nkernel/fs/erofs/erofs.ko: kernel/lib/libcrc32c.ko\nkernel/lib/libcrc32c.ko:\n", {}, { dir: "" });
  const r = selectModules(initramfs, KVER, { ...want("a", "erofs"), extraSources: [{ label: "/lib/modules/x", tree: host, dir: "" }] });
  assert.deepEqual(r.modules.map((m) => `${m.name}@${m.source}`), ["a@initramfs", "libcrc32c@/lib/modules/x", "erofs@/lib/modules/x"]);
  const other = modTree("kernel/fs/erofs/erofs.ko:\n", {}, { dir: "", vermagic: "6.9.0-other SMP" });
  assert.throws(() => selectModules(initramfs, KVER, { ...want("a", "erofs"), extraSources: [{ label: "/lib/modules/y", tree: other, dir: "" }] }),
    /erofs\.ko was built for "6\.9\.0-other SMP" but the initramfs's modules for "6\.9\.0-test SMP"/);
});

test("default wants: storage drivers optional, a named boot fs required, vfat with its nls tables", () => {
  const t = modTree([
    "kernel/drivers/block/virtio_blk.ko:", "kernel/fs/ext4/ext4.ko:", "kernel/fs/fat/fat.ko:", "kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko",
    "kernel/fs/nls/nls_cp437.ko:", "kernel/fs/nls/nls_ascii.ko:", "kernel/drivers/block/loop.ko:", "kernel/fs/erofs/erofs.ko:", "kernel/fs/overlayfs/overlay.ko:",
  ].join("\n"));
  const cfg = parseKernelConfig('CONFIG_FAT_DEFAULT_CODEPAGE=437\nCONFIG_FAT_DEFAULT_IOCHARSET="ascii"\n');
  const auto = selectModules(t, KVER, { wants: buildWants({ arch: "x86-64", kernelConfig: cfg }) });
  assert.deepEqual(auto.modules.map((m) => m.name), ["virtio_blk", "ext4", "fat", "vfat", "nls_cp437", "nls_ascii", "loop", "erofs", "overlay"]);
  assert.ok(auto.missing.includes("nvme"));
  assert.ok(!auto.missing.includes("xfs") && !auto.missing.includes("btrfs"), "xfs and btrfs only when asked for");
  const all = selectModules(t, KVER, { wants: buildWants({ arch: "x86-64", kernelConfig: cfg, fstype: "auto" }) });
  assert.ok(all.missing.includes("xfs") && all.missing.includes("btrfs"));
  const ext4 = selectModules(t, KVER, { wants: buildWants({ arch: "x86-64", fstype: "ext3", add: ["vfat"], defaultStorage: false }) });
  assert.deepEqual(ext4.modules.map((m) => m.name), ["fat", "vfat", "ext4", "loop", "erofs", "overlay"]);
  assert.throws(() => selectModules(t, KVER, { wants: buildWants({ arch: "x86-64", fstype: "xfs" }) }), /module xfs not found/);
  assert.throws(() => bootFsModules("ntfs"), UsageError);
  // without a config: cp437 required, both usual iocharsets where present
  assert.deepEqual(vfatCompanions(), { required: ["nls_cp437"], ifAvailable: ["nls_ascii", "nls_iso8859_1"] });
  assert.deepEqual(vfatCompanions(parseKernelConfig('CONFIG_FAT_DEFAULT_CODEPAGE=850\nCONFIG_FAT_DEFAULT_IOCHARSET="iso8859-15"\n')), { required: ["nls_cp850", "nls_iso8859_15"], ifAvailable: [] });
});

test("boot filesystem modules wait for a mount as their type; what a driver or another type needs too loads first", () => {
  const t = modTree([
    "kernel/drivers/block/virtio_blk.ko: kernel/lib/crc16.ko", "kernel/lib/crc16.ko:", "kernel/lib/libcrc32c.ko:", "kernel/fs/mbcache.ko:",
    "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko", "kernel/fs/fat/fat.ko:", "kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko",
    "kernel/fs/nls/nls_cp437.ko:", "kernel/fs/xfs/xfs.ko: kernel/lib/libcrc32c.ko", "kernel/fs/btrfs/btrfs.ko: kernel/lib/libcrc32c.ko",
    "kernel/drivers/block/loop.ko:", "kernel/fs/erofs/erofs.ko:", "kernel/fs/overlayfs/overlay.ko:",
  ].join("\n"));
  const sel = selectModules(t, KVER, { wants: buildWants({ arch: "x86-64", fstype: "auto" }) });
  const rule = Object.fromEntries(sel.modules.map((m) => [m.name, m.bootFs ?? (m.storageModule ? "storage" : "always")]));
  assert.deepEqual(rule, {
    // crc16: the storage driver needs it too; libcrc32c: both xfs and btrfs
    virtio_blk: "storage", crc16: "always", libcrc32c: "always", mbcache: "ext4", ext4: "ext4", fat: "vfat", vfat: "vfat", nls_cp437: "vfat",
    xfs: "xfs", btrfs: "btrfs", loop: "always", erofs: "always", overlay: "always",
  });
  // a named ext3 /boot mounts as ext4: its modules are ext4's
  const ext3 = selectModules(t, KVER, { wants: buildWants({ arch: "x86-64", fstype: "ext3", defaultStorage: false }) });
  assert.deepEqual(ext3.modules.filter((m) => m.bootFs).map((m) => [m.name, m.bootFs]), [["mbcache", "ext4"], ["crc16", "ext4"], ["ext4", "ext4"]]);
});

test("boot = esp: efivarfs as an optional module, or nothing when it is built in", () => {
  const base = ["kernel/fs/fat/fat.ko:", "kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko", "kernel/fs/nls/nls_cp437.ko:", "kernel/drivers/block/loop.ko:", "kernel/fs/erofs/erofs.ko:", "kernel/fs/overlayfs/overlay.ko:"];
  const wants = buildWants({ arch: "x86-64", fstype: "vfat", defaultStorage: false, efivars: true });
  const mod = selectModules(modTree([...base, "kernel/fs/efivarfs/efivarfs.ko:"].join("\n")), KVER, { wants });
  const efi = mod.modules.find((m) => m.name === "efivarfs");
  assert.ok(efi?.optionalModule, "efivarfs is optional: the kernel refuses it without UEFI");
  const builtin = selectModules(modTree(base.join("\n"), { "modules.builtin": "kernel/fs/efivarfs/efivarfs.ko\n" }), KVER, { wants });
  assert.deepEqual(builtin.builtin, ["efivarfs"]);
  assert.ok(!builtin.modules.some((m) => m.name === "efivarfs"));
  // missing altogether: the build stops (storage-init could never read the variable)
  assert.throws(() => selectModules(modTree(base.join("\n")), KVER, { wants }), /module efivarfs not found/);
  assert.ok(!buildWants({ arch: "x86-64", fstype: "vfat" }).some((w) => w.name === "efivarfs"));
});

test("integrity wants: dm-verity required; accelerated hashes may fail, and so may what only they need", () => {
  const t = modTree([
    "kernel/drivers/md/dm-verity.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko", "kernel/drivers/md/dm-bufio.ko:", "kernel/drivers/md/dm-mod.ko:",
    "kernel/arch/x86/crypto/sha512-ssse3.ko: kernel/crypto/sha512_generic.ko kernel/lib/only-accel.ko", "kernel/crypto/sha512_generic.ko:", "kernel/lib/only-accel.ko:",
  ].join("\n"), {
    "modules.alias": "alias crypto-sha512 sha512_generic\nalias crypto-sha512 sha512_ssse3\nalias cpu:type:x86,ven*fam*mod*:feature:*0089* sha512_ssse3\n",
  });
  const sel = selectModules(t, KVER, { wants: integrityWants("x86-64", { mode: "dm-verity", hashAlgorithm: "sha512" }, parseKernelConfig("CONFIG_CRYPTO_SHA512=m\n")) });
  const kind = Object.fromEntries(sel.modules.map((m) => [m.name, m.optionalModule]));
  assert.deepEqual(kind, { dm_mod: false, dm_bufio: false, dm_verity: false, sha512_generic: false, only_accel: true, sha512_ssse3: true });
  assert.ok(!sel.missing.includes("sha512_ce"), "the other architecture's names are not asked for");
  assert.ok(!sel.skipped.some((x) => x.name === "sha512_ssse3"), "left out as a provider of crypto-sha512, but selected by name");
  // the accelerated one comes after the generic one it stands in for
  const order = sel.modules.map((m) => m.name);
  assert.ok(order.indexOf("sha512_generic") < order.indexOf("sha512_ssse3"));
  // copy mode hashes in storage-init; none needs nothing
  assert.deepEqual(integrityWants("x86-64", { mode: "copy" }), []);
  // none: dm-mod where there is one, to read the image's blocks from the partition (then /boot is unmounted)
  assert.deepEqual(integrityWants("x86-64", { mode: "none" }).map((x) => [x.name, !!x.ifAvailable]), [["dm-mod", true], ["dm-zero", true]]);
  // SHA-256 built in: only the accelerated variants are asked for, and they may fail
  const w = integrityWants("x86-64", { mode: "fs-verity" }, parseKernelConfig("CONFIG_CRYPTO_SHA256=y\n"));
  assert.deepEqual(w.map((x) => [x.name, x.optionalModule]), [["sha256_ssse3", true]]);
  // arm64: the NEON/assembly code any arm64 CPU runs, then the Cryptography Extensions
  const a = integrityWants("arm64", { mode: "dm-verity", hashAlgorithm: "sha512" }, parseKernelConfig("CONFIG_CRYPTO_SHA512=m\n"));
  assert.deepEqual(a.filter((x) => x.optionalModule).map((x) => x.name), ["sha512_arm64", "sha512_ce"]);
  assert.deepEqual(integrityWants("arm64", { mode: "copy" }), []);
});

test("signed modules: the accelerated module-signature hash loads first, so every later module's check uses it", () => {
  const t = modTree([
    "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko", "kernel/fs/jbd2/jbd2.ko:", "kernel/drivers/block/loop.ko:", "kernel/fs/erofs/erofs.ko:",
    "kernel/fs/overlayfs/overlay.ko:", "kernel/drivers/md/dm-verity.ko: kernel/drivers/md/dm-mod.ko", "kernel/drivers/md/dm-mod.ko:",
    "kernel/arch/x86/crypto/sha256-ssse3.ko:", "kernel/arch/x86/crypto/sha512-ssse3.ko:",
  ].join("\n"));
  const signed = parseKernelConfig('CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_HASH="sha512"\nCONFIG_CRYPTO_SHA256=y\n');
  const sel = selectModules(t, KVER, { wants: buildWants({ arch: "x86-64", fstype: "ext4", defaultStorage: false, kernelConfig: signed, integrity: { mode: "dm-verity" } }) });
  const order = sel.modules.map((m) => m.name);
  // the signature hash (here sha512) first; the integrity mode's (sha256) where it was
  assert.equal(order[0], "sha512_ssse3");
  assert.ok(sel.modules[0].optionalModule, "a CPU without the feature refuses it: the generic code checks");
  assert.ok(order.indexOf("sha256_ssse3") > order.indexOf("ext4"));
  // the same algorithm for both: asked for twice, loaded once, first
  const same = parseKernelConfig('CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_HASH="sha256"\nCONFIG_CRYPTO_SHA256=y\n');
  const one = selectModules(t, KVER, { wants: buildWants({ arch: "x86-64", fstype: "ext4", defaultStorage: false, kernelConfig: same, integrity: { mode: "dm-verity" } }) }).modules.map((m) => m.name);
  assert.deepEqual([one[0], one.filter((n) => n === "sha256_ssse3").length], ["sha256_ssse3", 1]);
  // unsigned modules, or no config: nothing extra
  assert.deepEqual(signatureHashWants("x86-64", parseKernelConfig('CONFIG_MODULE_SIG_HASH="sha256"\n')), []);
  assert.deepEqual(signatureHashWants("x86-64"), []);
  assert.deepEqual(signatureHashWants("arm64", same).map((w) => w.name), ["sha256_arm64", "sha2_ce"]);
});

test("index file parsers and name helpers", () => {
  assert.throws(() => parseModulesDep("kernel/a.ko kernel/b.ko\n", "x"), /line 1: expected/);
  assert.throws(() => parseModulesDep("kernel/a.ko: kernel/b.txt\n", "x"), /not a module file name/);
  assert.deepEqual(parseModulePath("kernel/x/usb-storage.ko.zst"), { name: "usb_storage", compression: "zstd" });
  assert.equal(parseModulePath("kernel/x/readme.txt"), undefined);
  assert.equal(uncompressedModulePath("kernel/a-b.ko.gz"), "kernel/a-b.ko");
  assert.equal(normalizeAlias("fs-ext4"), "fs_ext4");
  assert.equal(normalizeAlias("pci:v[0-9]-x"), "pci:v[0-9]_x");
  assert.ok(globToRegExp("pci:v00008086d*sv*").test("pci:v00008086d00001234sv00000000"));
  assert.ok(globToRegExp("usb:v[0-9]?x").test("usb:v5ax"));
  assert.ok(!globToRegExp("usb:v[!0-9]x").test("usb:v5x"));
  assert.ok(globToRegExp("a.b").test("a.b") && !globToRegExp("a.b").test("axb"));
  assert.deepEqual(parseSoftdeps("softdep a-b pre: x y post: z\n").get("a_b"), { pre: ["x", "y"], post: ["z"] });
  assert.deepEqual(parseBuiltinModinfo("ext4.alias=fs-ext4\0ext4.license=GPL\0").get("fs_ext4"), ["ext4"]);
  assert.equal(modinfoVermagic(Buffer.from("junk\0license=GPL\0vermagic=6.1.0 SMP mod_unload \0name=x\0")), "6.1.0 SMP mod_unload ");
  assert.equal(modinfoVermagic(Buffer.from("no modinfo")), undefined);
  const cfg = parseKernelConfig('CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D="a \\"q\\""\nCONFIG_E=437\n');
  assert.deepEqual([...cfg.options], [["CONFIG_A", "y"], ["CONFIG_B", "m"], ["CONFIG_C", "n"], ["CONFIG_D", 'a "q"'], ["CONFIG_E", "437"]]);
});

test("switch-root programs: real paths through symlinked directories, each once", () => {
  const t = newTree();
  put(t, "usr/bin/busybox", file("bb"));
  put(t, "usr/sbin/switch_root", symlink("../bin/busybox"));
  put(t, "usr/bin/run-init", file("klibc"));
  put(t, "bin", symlink("usr/bin"));
  put(t, "sbin", symlink("usr/sbin"));
  put(t, "usr/sbin/run-init", { ...newDir(), kind: "dir", entries: new Map() }); // a directory is no program
  assert.deepEqual(findSwitchRootPrograms(t), ["/usr/bin/run-init", "/usr/sbin/switch_root"]);
  assert.deepEqual(findSwitchRootPrograms(newTree()), []);
});

test("tree paths: .., absolute targets, loops", () => {
  const t = newTree();
  put(t, "a/b/f", file("x"));
  put(t, "a/up", symlink("../a/b"));
  put(t, "loop1", symlink("loop2"));
  put(t, "loop2", symlink("loop1"));
  put(t, "abs", symlink("/a/b/f"));
  assert.equal(resolvePath(t, "a/up/f")?.path, "a/b/f");
  assert.equal(resolvePath(t, "abs")?.path, "a/b/f");
  assert.equal(resolvePath(t, "abs", false)?.path, "abs");
  assert.equal(resolvePath(t, "loop1/x"), undefined);
  assert.equal(resolvePath(t, "a/b/f/x"), undefined);
  assert.equal(resolvePath(t, "../../a/b")?.path, "a/b");
});
