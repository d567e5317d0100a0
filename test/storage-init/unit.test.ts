/**
 * storage-init (the C early-boot program under storage-init/): its C unit tests and real
 * filesystem probe checks (`make test`), the same pure code built for arm64 and run under
 * qemu-aarch64 (`make test-cross`), and each architecture's static musl binary's properties.
 * The musl compilers and qemu-user are required: a missing toolchain fails these tests, it does
 * not skip them.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Arch, ARCH_INFO } from "../../src/formats/elf/arch.js";
import { STORAGE_INIT_ARCHES, storageInitRelPath } from "../../src/io/package-files.js";
import { hostArch } from "../helpers/storage-init.js";

/** The repository root: the nearest parent directory holding storage-init/Makefile. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "storage-init", "Makefile"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("storage-init/Makefile not found above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

const ROOT = repoRoot();
const DIR = join(ROOT, "storage-init");
const binary = (a: Arch) => join(ROOT, storageInitRelPath(a));
/**
 * x86-64 159 KiB; arm64 173 KiB: fixed 4-byte instructions (text +16%) and musl's printf with the
 * software 128-bit long double arm64 has (10 KB of libgcc's __addtf3 and kin). The last growth:
 * module parameters from the kernel command line, +0.7 KB and +1.6 KB (before it the ext2/3/4
 * metadata reader and loading the root's modules, +5.2 KB and +6.6 KB).
 */
const SIZE_LIMIT: Record<Arch, number> = { "x86-64": 160 * 1024, arm64: 174 * 1024 };
/** a binary for another machine runs under QEMU user emulation (qemu-user) */
const runner = (a: Arch, args: string[]): [string, string[]] => (a === hostArch() ? [args[0], args.slice(1)] : [`qemu-${ARCH_INFO[a].uname}`, args]);

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 600_000, maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, error: r.error };
}

test("the musl compilers for x86-64 and arm64 and qemu-aarch64 are installed (storage-init is a static musl binary for each)", () => {
  for (const [cmd, pkg] of [["x86_64-linux-musl-gcc", "musl-dev"], ["aarch64-linux-musl-gcc", "musl-dev:arm64 gcc-aarch64-linux-gnu"], ["qemu-aarch64", "qemu-user"]]) {
    const r = run(cmd, ["--version"]);
    assert.equal(r.error, undefined, `${cmd} not runnable: ${r.error?.message} (apt-get install ${pkg}; see scripts/setup.sh)`);
    assert.equal(r.code, 0, r.out);
  }
});

test("make -C storage-init test: C unit tests and real image probes pass", () => {
  const r = run("make", ["-C", DIR, "test"]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /unit: \d+ passed, 0 failed/, r.out);
  assert.match(r.out, /real-images: \d+ passed, 0 failed/, r.out);
});

test("make -C storage-init test-cross: the arm64 build's unit tests, digests and probes pass under qemu-aarch64", () => {
  const r = run("make", ["-C", DIR, "test-cross"]);
  assert.equal(r.code, 0, r.out);
  const cross = STORAGE_INIT_ARCHES.filter((a) => a !== hostArch());
  assert.ok(cross.length >= 1, "at least one other architecture");
  for (const a of cross) assert.match(r.out, new RegExp(`== ${a}, under qemu-${ARCH_INFO[a].uname}\n`), r.out);
  assert.equal([...r.out.matchAll(/unit: [1-9]\d* passed, 0 failed/g)].length, cross.length, r.out);
  // QEMU's default CPU has the SHA instructions: the accelerated SHA-256 (ARMv8 sha256h) is checked too
  assert.equal([...r.out.matchAll(/unit: SHA-256 again with the CPU's SHA instructions/g)].length, cross.length, r.out);
  assert.equal([...r.out.matchAll(/digests: [1-9]\d* passed, 0 failed/g)].length, cross.length, r.out);
  assert.equal([...r.out.matchAll(/real-images: [1-9]\d* passed, 0 failed/g)].length, cross.length, r.out);
});

test("the Makefile builds the architectures the TS code knows, and package.json ships storage-init for each", () => {
  const make = /^ARCHES\s*:=\s*(.*)$/m.exec(readFileSync(join(DIR, "Makefile"), "utf8"));
  assert.deepEqual(make?.[1].trim().split(/\s+/), [...STORAGE_INIT_ARCHES], "storage-init/Makefile's ARCHES");
  const files: string[] = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).files;
  for (const a of STORAGE_INIT_ARCHES) assert.ok(files.includes(storageInitRelPath(a)), `${storageInitRelPath(a)} not in package.json files`);
});

for (const a of STORAGE_INIT_ARCHES) test(`storage-init for ${a} is static, stripped, built for ${a} and smaller than ${SIZE_LIMIT[a] / 1024} KiB`, () => {
  const r = run("make", ["-C", DIR, a]);
  assert.equal(r.code, 0, r.out);
  const BINARY = binary(a);
  const size = statSync(BINARY).size;
  assert.ok(size < SIZE_LIMIT[a], `storage-init for ${a} is ${size} bytes, limit ${SIZE_LIMIT[a]}`);

  const elf = readFileSync(BINARY);
  assert.equal(elf.subarray(0, 4).toString("latin1"), "\x7fELF");
  assert.equal(elf[4], 2, "64-bit ELF");
  assert.equal(elf[5], 1, "little-endian ELF");
  assert.equal(elf.readUInt16LE(0x12), ARCH_INFO[a].elfMachine, "e_machine");
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  const types: number[] = [];
  for (let i = 0; i < phnum; i++) types.push(elf.readUInt32LE(phoff + i * phentsize));
  const PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3;
  assert.ok(types.includes(PT_LOAD), "has loadable segments");
  assert.ok(!types.includes(PT_INTERP), "no program interpreter: statically linked");
  assert.ok(!types.includes(PT_DYNAMIC), "no dynamic section");

  // stripped: no .symtab section
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const SHT_SYMTAB = 2;
  for (let i = 0; i < shnum; i++) {
    assert.notEqual(elf.readUInt32LE(shoff + i * shentsize + 4), SHT_SYMTAB, "stripped");
  }
});

for (const a of STORAGE_INIT_ARCHES) test(`storage-init for ${a} outside PID 1 only offers its offline helpers`, () => {
  const v = run(...runner(a, [binary(a), "--version"]));
  assert.equal(v.code, 0, v.out);
  assert.match(v.out, /^storage-init \d+\.\d+\.\d+/);
  const u = run(...runner(a, [binary(a)]));
  assert.equal(u.code, 2);
  assert.match(u.out, /must run as PID 1/);
});
