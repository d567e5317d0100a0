/**
 * The PE reader and the UKI planner/emitter on stubs made here (the real systemd-stub is checked
 * with objdump in test/pipeline/uki.test.ts and booted by OVMF in test/boot/uki.test.ts).
 */
import test from "node:test";
import assert from "node:assert/strict";
import { FormatError } from "../../../src/errors.js";
import { parsePe, peChecksum } from "../../../src/formats/pe/pe.js";
import { bzImageRelease, emitUki, planUki, UkiParts } from "../../../src/formats/pe/uki.js";

interface StubSection { name: string; vaddr: number; vsize: number; raw: number; rawSize: number }

/** A PE32+ image: DOS header, PE header at 0x80, optional header with 16 data directories, sections. */
function makeStub(o: { sections?: StubSection[]; sizeOfHeaders?: number; sectionAlign?: number; fileAlign?: number; cert?: boolean; trailing?: number } = {}): Uint8Array {
  const fileAlign = o.fileAlign ?? 0x200;
  const sectionAlign = o.sectionAlign ?? 0x1000;
  const sizeOfHeaders = o.sizeOfHeaders ?? 0x400;
  const sections = o.sections ?? [
    { name: ".text", vaddr: 0x1000, vsize: 0x1234, raw: 0x400, rawSize: 0x1400 },
    { name: ".sdmagic", vaddr: 0x3000, vsize: 0x34, raw: 0x1800, rawSize: 0x200 },
  ];
  const end = Math.max(sizeOfHeaders, ...sections.map((s) => s.raw + s.rawSize)) + (o.trailing ?? 0);
  const b = new Uint8Array(end);
  const dv = new DataView(b.buffer);
  b[0] = 0x4d; b[1] = 0x5a;
  dv.setUint32(0x3c, 0x80, true);
  dv.setUint32(0x80, 0x4550, true);
  const coff = 0x84;
  dv.setUint16(coff, 0x8664, true);
  dv.setUint16(coff + 2, sections.length, true);
  dv.setUint16(coff + 16, 240, true); // PE32+ optional header with 16 directories
  const opt = coff + 20;
  dv.setUint16(opt, 0x20b, true);
  dv.setUint32(opt + 8, 0x1000, true);
  dv.setUint32(opt + 32, sectionAlign, true);
  dv.setUint32(opt + 36, fileAlign, true);
  const last = sections[sections.length - 1];
  dv.setUint32(opt + 56, Math.ceil((last.vaddr + last.vsize) / sectionAlign) * sectionAlign, true);
  dv.setUint32(opt + 60, sizeOfHeaders, true);
  dv.setUint32(opt + 108, 16, true);
  if (o.cert) { dv.setUint32(opt + 112 + 4 * 8, end - 8, true); dv.setUint32(opt + 112 + 4 * 8 + 4, 8, true); }
  const table = opt + 240;
  sections.forEach((s, i) => {
    const at = table + 40 * i;
    b.set(Buffer.from(s.name, "latin1"), at);
    dv.setUint32(at + 8, s.vsize, true);
    dv.setUint32(at + 12, s.vaddr, true);
    dv.setUint32(at + 16, s.rawSize, true);
    dv.setUint32(at + 20, s.raw, true);
    b.fill(i + 1, s.raw, s.raw + s.rawSize);
  });
  return b;
}

const parts = (): UkiParts => ({
  linux: new Uint8Array(5000).fill(0xaa), initrd: new Uint8Array(3000).fill(0xbb), cmdline: "root=/dev/vda ro", osrel: new Uint8Array(Buffer.from("ID=test\n")), uname: "6.1.0-test",
});

/** `offset` null: any offset */
function formatError(f: () => unknown, offset: number | null, re: RegExp) {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e));
    if (offset !== null) assert.equal(e.offset, offset, e.message);
    assert.match(e.message, re);
    return true;
  });
}

test("sections go after the stub's last one: aligned in memory and in the file, .linux last, headers and checksum updated", () => {
  const stub = makeStub({ trailing: 100 }); // a COFF symbol table after the sections
  const p = parts();
  const plan = planUki(stub, p);
  assert.deepEqual(plan.sections.map((s) => s.name), [".osrel", ".cmdline", ".uname", ".initrd", ".linux"]);
  // the stub's last section ends at 0x3034: the first new one starts at the next 4 KiB
  assert.equal(plan.sections[0].virtualAddress, 0x4000);
  assert.equal(plan.sections[0].pointerToRawData, Math.ceil(stub.length / 0x200) * 0x200);
  for (const [i, s] of plan.sections.entries()) {
    assert.equal(s.virtualAddress % 0x1000, 0, s.name);
    assert.equal(s.pointerToRawData % 0x200, 0, s.name);
    if (i) {
      const prev = plan.sections[i - 1];
      assert.ok(s.virtualAddress >= prev.virtualAddress + prev.virtualSize);
      assert.equal(s.pointerToRawData, prev.pointerToRawData + prev.sizeOfRawData);
    }
  }
  const out = emitUki(stub, plan, p);
  // the stub's bytes are kept, but for the fields a UKI changes
  assert.deepEqual(out.subarray(0x400, stub.length), stub.subarray(0x400));
  const back = parsePe(out);
  assert.deepEqual(back.sections.map((s) => s.name), [".text", ".sdmagic", ".osrel", ".cmdline", ".uname", ".initrd", ".linux"]);
  const linux = back.sections[6];
  assert.equal(linux.virtualSize, 5000);
  assert.equal(linux.characteristics, 0x40000040);
  assert.deepEqual(out.subarray(linux.pointerToRawData, linux.pointerToRawData + 5000), p.linux);
  const cmd = back.sections[3];
  assert.equal(Buffer.from(out.subarray(cmd.pointerToRawData, cmd.pointerToRawData + cmd.virtualSize)).toString(), "root=/dev/vda ro");
  assert.equal(back.sizeOfImage, Math.ceil((linux.virtualAddress + 5000) / 0x1000) * 0x1000);
  assert.equal(back.sizeOfInitializedData, 0x1000 + plan.sections.reduce((n, s) => n + s.sizeOfRawData, 0));
  const checksumAt = back.optionalOffset + 64;
  assert.equal(new DataView(out.buffer).getUint32(checksumAt, true), peChecksum(out, checksumAt));
  assert.notEqual(peChecksum(out, checksumAt), 0);
});

test("a stub whose sections are only 512-byte aligned (systemd 252's): the next section follows at 512", () => {
  const stub = makeStub({ sectionAlign: 0x200, sections: [{ name: ".text", vaddr: 0x400, vsize: 0x100, raw: 0x400, rawSize: 0x200 }, { name: ".sbat", vaddr: 0x600, vsize: 0xe2, raw: 0x600, rawSize: 0x200 }, { name: ".sdmagic", vaddr: 0x700, vsize: 0x34, raw: 0x800, rawSize: 0x200 }] });
  const plan = planUki(stub, parts());
  assert.equal(plan.sections[0].virtualAddress, 0x800);
});

test("no .uname section when none is given", () => {
  const plan = planUki(makeStub(), { ...parts(), uname: undefined });
  assert.deepEqual(plan.sections.map((s) => s.name), [".osrel", ".cmdline", ".initrd", ".linux"]);
});

test("the PE checksum: 16-bit sums with carries folded, the field itself skipped, plus the length", () => {
  // words 0x0001 + 0xffff = 0x10000 -> folded 0x0001; the 4-byte field at 4 skipped; + 8 bytes
  const b = new Uint8Array([0x01, 0x00, 0xff, 0xff, 0x12, 0x34, 0x56, 0x78]);
  assert.equal(peChecksum(b, 4), 0x0001 + 8);
  // an odd length: the last byte counts as a word with a zero high byte
  assert.equal(peChecksum(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x05]), 0), 2 + 5 + 7);
});

test("bad stubs: one error naming the offset and what was expected", () => {
  const good = makeStub();
  const bad = (f: (b: Uint8Array, dv: DataView) => void) => {
    const b = Uint8Array.from(good);
    f(b, new DataView(b.buffer));
    return b;
  };
  formatError(() => parsePe(bad((b) => (b[0] = 0))), 0, /DOS header's "MZ"/);
  formatError(() => parsePe(bad((_, dv) => dv.setUint32(0x3c, 1 << 30, true))), 0x3c, /PE header offset/);
  formatError(() => parsePe(bad((b) => (b[0x81] = 0))), 0x80, /"PE\\0\\0"/);
  formatError(() => parsePe(bad((_, dv) => dv.setUint16(0x98, 0x107, true))), 0x98, /magic 0x107/);
  formatError(() => parsePe(bad((_, dv) => dv.setUint32(0x98 + 36, 300, true))), 0x98 + 36, /FileAlignment 300/);
  // the second section's data past the end of the file
  const table = 0x98 + 240;
  formatError(() => parsePe(bad((_, dv) => dv.setUint32(table + 40 + 20, 0x100000, true))), table + 40 + 20, /section \.sdmagic: raw data .* outside the file/);
  formatError(() => parsePe(bad((_, dv) => dv.setUint32(table + 40 + 12, 0x1100, true))), table + 40 + 12, /\.sdmagic: VirtualAddress 0x1100 overlaps/);
  formatError(() => parsePe(makeStub({ cert: true })), 0x98 + 112 + 32, /signed .*unsigned stub/);
  formatError(() => parsePe(bad((_, dv) => dv.setUint32(0x98 + 56, 0x2000, true))), 0x98 + 56, /SizeOfImage 0x2000 ends before/);
  // truncated anywhere: an error, never an exception of another kind
  for (let n = 0; n < good.length; n += 37) {
    assert.throws(() => planUki(good.subarray(0, n), parts()), FormatError);
  }
});

test("a section that does not fit: the headers have no room, the stub is already a UKI, over 4 GiB", () => {
  // SizeOfHeaders 0x200 and the first section's data right after: room for 2 headers, not 2 + 5
  const tight = makeStub({ sizeOfHeaders: 0x200, sections: [{ name: ".text", vaddr: 0x1000, vsize: 0x100, raw: 0x200, rawSize: 0x200 }, { name: ".data", vaddr: 0x2000, vsize: 0x100, raw: 0x400, rawSize: 0x200 }] });
  formatError(() => planUki(tight, parts()), 0x98 + 240 + 80, /no room for 5 more section headers: the table would end at byte \d+, the headers end at 512/);
  const stub = makeStub();
  const uki = emitUki(stub, planUki(stub, parts()), parts());
  formatError(() => planUki(uki, parts()), 0x98 + 240 + 2 * 40, /already has a \.osrel section/);
  const huge = { ...parts(), linux: { length: 2 ** 32 } as Uint8Array };
  formatError(() => planUki(stub, huge), null, /\.linux .* does not fit: a PE image addresses at most 4 GiB/);
});

test("bzImage: the version string of the setup header, or a clear error", () => {
  const k = new Uint8Array(0x2000);
  const dv = new DataView(k.buffer);
  dv.setUint16(0x1fe, 0xaa55, true);
  dv.setUint32(0x202, 0x53726448, true);
  dv.setUint16(0x206, 0x20f, true);
  dv.setUint16(0x20e, 0x1000, true);
  k.set(Buffer.from("6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP\0"), 0x1200);
  assert.equal(bzImageRelease(k), "6.1.0-57-amd64");
  dv.setUint16(0x20e, 0, true);
  assert.equal(bzImageRelease(k), undefined);
  dv.setUint16(0x206, 0x20a, true);
  formatError(() => bzImageRelease(k), 0x206, /boot protocol 2\.10 \(expected 2\.11 or later\)/);
  formatError(() => bzImageRelease(new Uint8Array(0x2000)), 0x1fe, /boot flag 0xAA55/);
  formatError(() => bzImageRelease(new Uint8Array(10)), 0x1fe, /boot flag/);
});
