/**
 * storage-init (the C early-boot program under storage-init/): its C unit tests and real
 * filesystem probe checks (`make test`), and the static musl binary's properties.
 * musl-gcc is required: a missing toolchain fails these tests, it does not skip them.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
const BINARY = join(DIR, "build", "storage-init");
const SIZE_LIMIT = 150 * 1024;

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 600_000, maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, error: r.error };
}

test("musl-gcc is installed (storage-init is a static musl binary)", () => {
  const r = run("musl-gcc", ["--version"]);
  assert.equal(r.error, undefined, `musl-gcc not runnable: ${r.error?.message} (apt-get install musl-tools)`);
  assert.equal(r.code, 0, r.out);
});

test("make -C storage-init test: C unit tests and real image probes pass", () => {
  const r = run("make", ["-C", DIR, "test"]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /unit: \d+ passed, 0 failed/, r.out);
  assert.match(r.out, /real-images: \d+ passed, 0 failed/, r.out);
});

test("the storage-init binary is static, stripped and smaller than 150 KB", () => {
  const r = run("make", ["-C", DIR]);
  assert.equal(r.code, 0, r.out);
  const size = statSync(BINARY).size;
  assert.ok(size < SIZE_LIMIT, `storage-init is ${size} bytes, limit ${SIZE_LIMIT}`);

  const elf = readFileSync(BINARY);
  assert.equal(elf.subarray(0, 4).toString("latin1"), "\x7fELF");
  assert.equal(elf[4], 2, "64-bit ELF");
  assert.equal(elf[5], 1, "little-endian ELF");
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

test("storage-init outside PID 1 only offers its offline helpers", () => {
  const v = run(BINARY, ["--version"]);
  assert.equal(v.code, 0, v.out);
  assert.match(v.out, /^storage-init \d+\.\d+\.\d+/);
  const u = run(BINARY, []);
  assert.equal(u.code, 2);
  assert.match(u.out, /must run as PID 1/);
});
