/**
 * Module selection on the real Debian initramfs (/boot/initrd.img-KVER of the newest installed kernel), checked
 * against kmod's own resolver: `modprobe --show-depends` on the extracted initramfs (and on the
 * host's /lib/modules for what the initramfs lacks). The files are required: a missing one fails.
 */
import { LIMITS } from "../../src/formats/storage-init-config/index.js";
import test from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FsTree, newDir, newTree } from "../../src/fs/tree.js";
import { readInitramfs } from "../../src/initramfs/read.js";
import { readDirTree } from "../../src/io/dir-reader.js";
import { buildWants } from "../../src/pipeline/modules/defaults.js";
import { ModuleSource } from "../../src/pipeline/modules/index-files.js";
import { parseModulePath } from "../../src/pipeline/modules/names.js";
import { selectModules, kernelVersionsIn } from "../../src/pipeline/modules/select.js";
import { findSwitchRootPrograms } from "../../src/pipeline/modules/shims.js";
import { readKernelConfig } from "../../src/pipeline/kernel.js";
import { run } from "../helpers/run.js";
import { KVER } from "../helpers/kernel.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

const INITRD = `/boot/initrd.img-${KVER}`;
const HOST = `/lib/modules/${KVER}`;
const CONFIG = `/boot/config-${KVER}`;

let cached: { tree: FsTree; extracted: string } | undefined;
async function debian(): Promise<{ tree: FsTree; extracted: string }> {
  if (cached) return cached;
  assert.ok(existsSync(INITRD), `${INITRD} is required`);
  const { tree } = await readInitramfs(readFileSync(INITRD), { source: INITRD });
  const extracted = makeTempDir("iofs-modules-");
  run("sh", ["-c", `zstd -dc '${INITRD}' | cpio -idm --quiet`], { cwd: extracted });
  return (cached = { tree, extracted });
}
test.after(() => cached && removeDir(cached.extracted));

const host = (): ModuleSource[] => {
  assert.ok(existsSync(`${HOST}/modules.dep`), `${HOST} is required (linux-image-${KVER})`);
  return [{ label: HOST, tree: readDirTree(HOST), dir: "" }];
};

/** What modprobe would load for `name`, in its order, each module once. */
function modprobe(name: string, root?: string): string[] {
  const args = ["--show-depends", "-S", KVER, ...(root ? ["-d", root] : []), name];
  const out = run("modprobe", args).stdout;
  const names: string[] = [];
  for (const line of out.split("\n")) {
    const m = /^insmod (\S+)/.exec(line);
    if (!m) continue;
    const n = parseModulePath(m[1])!.name;
    if (!names.includes(n)) names.push(n);
  }
  return names;
}

/** Modules with a cpu: alias, read with grep-like code independent of the implementation. */
function cpuSpecific(modulesDir: string): Set<string> {
  const out = new Set<string>();
  for (const l of readFileSync(join(modulesDir, "modules.alias"), "latin1").split("\n")) {
    const m = /^alias cpu:\S+ (\S+)$/.exec(l);
    if (m) out.add(m[1].replace(/-/g, "_"));
  }
  return out;
}

function builtinNames(modulesDir: string): Set<string> {
  return new Set(readFileSync(join(modulesDir, "modules.builtin"), "latin1").split("\n").filter(Boolean).map((l) => parseModulePath(l)!.name));
}

/** Every module after all that modules.dep says it needs. */
function assertDepOrder(mods: { name: string; needs: string[] }[]): void {
  const pos = new Map(mods.map((m, i) => [m.name, i]));
  for (const [i, m] of mods.entries()) {
    for (const d of m.needs) {
      assert.ok(pos.has(d), `${m.name} needs ${d}, which is not selected`);
      assert.ok(pos.get(d)! < i, `${d} must load before ${m.name}`);
    }
  }
}

test("the Debian initramfs: default selection has the boot storage, filesystem and storage-init modules in a valid order", async () => {
  const { tree, extracted } = await debian();
  assert.deepEqual(kernelVersionsIn(tree), [KVER]);
  const kernelConfig = readKernelConfig(CONFIG);
  const sel = selectModules(tree, KVER, { wants: buildWants({ arch: "x86-64", kernelConfig, fstype: "auto" }), extraSources: host(), kernelConfig });
  const names = sel.modules.map((m) => m.name);
  for (const n of ["virtio_blk", "virtio_pci", "nvme", "ahci", "sd_mod", "usb_storage", "uas", "xhci_pci", "mmc_block",
    "ext4", "jbd2", "mbcache", "crc16", "crc32c_generic", "vfat", "fat", "nls_cp437", "nls_ascii", "xfs", "btrfs", "loop", "erofs", "overlay"]) {
    assert.ok(names.includes(n), `${n} missing from ${names.join(" ")}`);
  }
  assert.equal(new Set(names).size, names.length, "each module once");
  assertDepOrder(sel.modules);
  const builtin = builtinNames(join(extracted, "usr/lib/modules", KVER));
  assert.deepEqual(names.filter((n) => builtin.has(n)), [], "no built-in module is listed");
  const cpu = cpuSpecific(join(extracted, "usr/lib/modules", KVER));
  assert.deepEqual(names.filter((n) => cpu.has(n)), [], "no CPU-specific module");
  assert.ok(sel.skipped.some((s) => s.name === "crc32c_intel"));
  // modules the initramfs lacks come from the host, the rest from the initramfs
  for (const m of sel.modules) assert.equal(m.source, ["vfat", "fat", "erofs", "overlay", "nls_cp437", "nls_ascii", "xxhash_generic", "sha256_ssse3"].includes(m.name) ? HOST : "initramfs", m.name);
  // Debian signs its modules with SHA-256: the accelerated one first, optional (SSSE3 at least)
  assert.deepEqual([sel.modules[0].name, sel.modules[0].optionalModule], ["sha256_ssse3", true]);
  // the files are the initramfs's own bytes
  const ext4 = sel.modules.find((m) => m.name === "ext4")!;
  assert.ok(Buffer.from(ext4.node.content.read()).equals(readFileSync(join(extracted, "usr/lib/modules", KVER, ext4.path))));
  // deterministic
  const again = selectModules(tree, KVER, { wants: buildWants({ arch: "x86-64", kernelConfig, fstype: "auto" }), extraSources: host(), kernelConfig });
  assert.deepEqual(again.modules.map((m) => m.name), names);
  assert.ok(names.length <= LIMITS.modules, `${names.length} modules: storage-init loads at most ${LIMITS.modules}`);
});

test("the Debian initramfs: each module's closure and order are modprobe --show-depends's, less CPU-specific modules", async () => {
  const { tree, extracted } = await debian();
  const cpu = cpuSpecific(join(extracted, "usr/lib/modules", KVER));
  for (const name of ["ext4", "nvme", "uas", "sdhci_pci", "btrfs", "xfs", "virtio_scsi", "ahci", "libcrc32c", "usb-storage", "fs-ext4"]) {
    const ours = selectModules(tree, KVER, { wants: [{ name }] }).modules;
    const theirs = modprobe(name, extracted).filter((n) => !cpu.has(n));
    assert.deepEqual(ours.map((m) => m.name), theirs, `${name}: ours vs modprobe`);
    assertDepOrder(ours);
  }
});

test("the host's modules: vfat, erofs and overlay closures match modprobe on /lib/modules", () => {
  // the host's modules directory as lib/modules/KVER of a tree
  const tree = newTree();
  const lib = newDir(), modules = newDir();
  tree.root.entries.set("lib", lib);
  lib.entries.set("modules", modules);
  modules.entries.set(KVER, readDirTree(HOST).root);
  const cpu = cpuSpecific(HOST);
  for (const name of ["vfat", "erofs", "overlay", "nls_iso8859-1", "loop"]) {
    const ours = selectModules(tree, KVER, { wants: [{ name }] }).modules;
    assert.deepEqual(ours.map((m) => m.name), modprobe(name).filter((n) => !cpu.has(n)), name);
  }
});

test("the Debian initramfs: run-init and switch_root are busybox hard links under /usr/sbin", async () => {
  const { tree } = await debian();
  assert.deepEqual(findSwitchRootPrograms(tree), ["/usr/sbin/run-init", "/usr/sbin/switch_root"]);
});

test("the Debian initramfs alone lacks erofs and overlay: a clear error names where it looked", async () => {
  const { tree } = await debian();
  assert.throws(() => selectModules(tree, KVER, { wants: buildWants({ arch: "x86-64", fstype: "ext4" }) }), /module erofs not found: not in modules\.dep, modules\.builtin or modules\.alias of initramfs/);
});
