/**
 * `initoverlayfs uki` with the real systemd-stub (Debian's systemd-boot-efi) and Debian's kernel:
 * the sections as objdump reads them, and bad input refused with one line and no file left.
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli } from "../helpers/cli.js";
import { KVER } from "../helpers/kernel.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

const VMLINUZ = `/boot/vmlinuz-${KVER}`;
const CMDLINE = "console=ttyS0 root=/dev/vda rw panic=-1";
let work: string;
let initrd: string;

before(() => {
  work = makeTempDir("iofs-uki-cmd-");
  initrd = join(work, "mini.img");
  writeFileSync(initrd, Buffer.alloc(123_457, 0x5a));
});

after(() => removeDir(work));

function objdumpSections(file: string) {
  const r = spawnSync("objdump", ["-h", file], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return [...r.stdout.matchAll(/^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+2\*\*\d+\n\s+([^\n]*)/gm)]
    .map((m) => ({ name: m[1], size: parseInt(m[2], 16), vma: parseInt(m[3], 16), off: parseInt(m[4], 16), flags: m[5].trim() }));
}

test("uki: systemd-stub's sections, then .osrel .cmdline .uname .initrd .linux, as objdump reads them", () => {
  const out = join(work, "BOOTX64.EFI");
  const r = cli(["uki", "--kernel", VMLINUZ, "--initrd", initrd, "--cmdline", CMDLINE, "--os-release", "/etc/os-release", "-o", out]);
  assert.equal(r.code, 0, r.stderr);
  const rows = objdumpSections(out);
  const names = rows.map((x) => x.name);
  assert.deepEqual(names.slice(-5), [".osrel", ".cmdline", ".uname", ".initrd", ".linux"]);
  assert.ok(names.includes(".text") && names.includes(".sdmagic"), names.join(" "));
  for (const x of rows.slice(-5)) assert.equal(x.flags, "CONTENTS, ALLOC, LOAD, READONLY, DATA", x.name);
  // in memory each section starts after the one before it ends
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i].vma >= rows[i - 1].vma + rows[i - 1].size, `${rows[i].name} overlaps ${rows[i - 1].name}`);
  const bytes = readFileSync(out);
  const data = (name: string) => {
    const x = rows.find((y) => y.name === name)!;
    return bytes.subarray(x.off, x.off + x.size);
  };
  assert.deepEqual(data(".linux"), readFileSync(VMLINUZ));
  assert.deepEqual(data(".initrd"), readFileSync(initrd));
  assert.deepEqual(data(".osrel"), readFileSync("/etc/os-release"));
  assert.equal(data(".cmdline").toString(), CMDLINE);
  assert.equal(data(".uname").toString(), KVER);
  assert.match(r.stdout.toString(), /BOOTX64\.EFI: UKI of .* \.linux/);
});

test("uki: --no-uname leaves .uname out", () => {
  const out = join(work, "nouname.efi");
  const r = cli(["uki", "--kernel", VMLINUZ, "--initrd", initrd, "--cmdline", "", "--no-uname", "-o", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(objdumpSections(out).map((x) => x.name).slice(-4), [".osrel", ".cmdline", ".initrd", ".linux"]);
});

test("uki: a bad stub or kernel is one line naming the file and offset, exit 3, and nothing is left behind", () => {
  const r0 = cli(["uki", "--kernel", VMLINUZ, "--initrd", initrd, "--cmdline", "x", "-o", join(work, "x.efi"), "--stub", VMLINUZ]);
  // Debian's kernel is itself a PE file, and a signed one
  assert.equal(r0.code, 3, r0.stderr);
  assert.match(r0.stderr, new RegExp(`^initoverlayfs: ${VMLINUZ}: offset \\d+: PE: the image is signed`));
  const notPe = join(work, "not-pe.efi");
  writeFileSync(notPe, Buffer.alloc(4096));
  const r1 = cli(["uki", "--kernel", VMLINUZ, "--initrd", initrd, "--cmdline", "x", "-o", join(work, "y.efi"), "--stub", notPe]);
  assert.equal(r1.code, 3);
  assert.equal(r1.stderr, `initoverlayfs: ${notPe}: offset 0: PE: expected the DOS header's "MZ"\n`);
  const r2 = cli(["uki", "--kernel", initrd, "--initrd", initrd, "--cmdline", "x", "-o", join(work, "z.efi")]);
  assert.equal(r2.code, 3);
  assert.equal(r2.stderr, `initoverlayfs: ${initrd}: offset 510: bzImage: expected the boot flag 0xAA55 of an x86 kernel image\n`);
  assert.deepEqual(readdirSync(work).filter((f) => /^(x|y|z)\.efi|\.tmp$/.test(f)), []);
});
