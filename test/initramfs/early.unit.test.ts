/**
 * Early archives (microcode, ACPI tables): found as the kernel finds them, and carried first into
 * the mini initramfs, byte for byte. The placement is checked with an independent scanner that
 * reads the file as lib/earlycpio.c's find_cpio_data() does (NUL words skipped, stop at the first
 * byte that is not a hex header), so a test passes only if the kernel's early loaders would find
 * the same bytes.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { FormatError } from "../../src/errors.js";
import { CpioWriter, treeToCpio } from "../../src/formats/cpio/writer.js";
import { bytesContent, lookup, newTree } from "../../src/fs/tree.js";
import { findEarlyArchives, NO_EARLY_ARCHIVES } from "../../src/initramfs/early.js";
import { readInitramfs } from "../../src/initramfs/read.js";
import { packMiniInitramfs } from "../../src/pipeline/mini-initramfs.js";

const DIR = 0o40755;
const FILE = 0o100644;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** An early archive as initramfs-tools and dracut write one: the directories, then the files. */
function earlyArchive(files: Record<string, Uint8Array>): Uint8Array {
  const w = new CpioWriter();
  const dirs = new Set<string>();
  for (const p of Object.keys(files)) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  for (const d of [...dirs].sort()) w.add({ name: d, mode: DIR });
  for (const [p, data] of Object.entries(files)) w.add({ name: p, mode: FILE, data });
  return w.trailer().bytes();
}

/** The main archive: a few files, gzip-compressed. */
function mainArchive(): Uint8Array {
  const w = new CpioWriter();
  w.add({ name: "etc", mode: DIR }).add({ name: "etc/hello", mode: FILE, data: Buffer.from("hello\n") });
  w.add({ name: "init", mode: 0o100755, data: Buffer.from("#!/bin/sh\n") });
  return gzipSync(w.trailer().bytes());
}

/** lib/earlycpio.c's find_cpio_data(), for a whole path: what the kernel's early loaders get. */
function kernelFinds(initrd: Uint8Array, path: string): Uint8Array | undefined {
  const hex = (p: number, n: number) => {
    const s = Buffer.from(initrd.subarray(p, p + n)).toString("latin1");
    return /^[0-9a-fA-F]+$/.test(s) && s.length === n ? parseInt(s, 16) : undefined;
  };
  let p = 0;
  while (initrd.length - p > 110) {
    if (initrd[p] === 0) {
      p += 4;
      continue;
    }
    const f: number[] = [];
    for (let i = 0; i < 14; i++) {
      const v = i === 0 ? hex(p, 6) : hex(p + 6 + 8 * (i - 1), 8);
      if (v === undefined) return undefined;
      f.push(v);
    }
    if (f[0] !== 0x070701 && f[0] !== 0x070702) return undefined;
    const [mode, filesize, namesize] = [f[2], f[7], f[12]];
    const name = p + 110;
    const data = (name + namesize + 3) & ~3;
    const next = (data + filesize + 3) & ~3;
    if (next > initrd.length) return undefined;
    const n = Buffer.from(initrd.subarray(name, name + namesize - 1)).toString("latin1");
    if ((mode & 0o170000) === 0o100000 && n === path) return initrd.subarray(data, data + filesize);
    p = next;
  }
  return undefined;
}

const UCODE_INTEL = "kernel/x86/microcode/GenuineIntel.bin";
const UCODE_AMD = "kernel/x86/microcode/AuthenticAMD.bin";
const SSDT = "kernel/firmware/acpi/ssdt.aml";

function miniContent() {
  return { storageInit: bytesContent(Buffer.from("\x7fELF storage-init")), config: "image = /i.img\nboot = UUID=x\n", files: [] };
}

test("no early archive: a compressed initramfs carries nothing", () => {
  assert.deepEqual(findEarlyArchives(mainArchive()), NO_EARLY_ARCHIVES);
});

test("one early archive before the compressed main archive: found, with its files and byte count", () => {
  const ucode = pattern(70_001, 1);
  const early = earlyArchive({ [UCODE_INTEL]: ucode });
  const initrd = Buffer.concat([early, mainArchive()]);
  const e = findEarlyArchives(initrd);
  assert.equal(e.bytes, early.length);
  assert.equal(e.archives, 1);
  assert.deepEqual(e.members.map((m) => [m.path, m.size]), [[UCODE_INTEL, 70_001]]);
  assert.ok(kernelFinds(initrd, UCODE_INTEL), "the scanner finds it in the original");
});

test("several early archives, NUL padding between them (GNU cpio's 512-byte blocks): all carried, up to the last trailer", () => {
  const a = new CpioWriter();
  a.add({ name: "kernel", mode: DIR }).add({ name: "kernel/x86", mode: DIR }).add({ name: "kernel/x86/microcode", mode: DIR });
  a.add({ name: UCODE_AMD, mode: FILE, data: pattern(1234, 2) });
  const first = a.trailer().padTo(512).bytes();
  const second = earlyArchive({ [UCODE_INTEL]: pattern(5001, 3) });
  const third = earlyArchive({ [SSDT]: pattern(77, 4) });
  const initrd = Buffer.concat([first, second, new Uint8Array(8), third, new Uint8Array(3), mainArchive()]);
  const e = findEarlyArchives(initrd);
  assert.equal(e.archives, 3);
  assert.equal(e.bytes, first.length + second.length + 8 + third.length, "up to the end of the last trailer, not the NULs after it");
  assert.deepEqual(e.members.map((m) => [m.path, m.size]), [[UCODE_AMD, 1234], [UCODE_INTEL, 5001], [SSDT, 77]]);
  for (const m of e.members) {
    // offsets are the members' header offsets in the file
    assert.equal(Buffer.from(initrd.subarray(m.offset, m.offset + 6)).toString("latin1"), "070701");
    assert.equal(Buffer.from(initrd.subarray(m.offset + 110, m.offset + 110 + m.path.length)).toString("latin1"), m.path);
  }
});

test("an initramfs that is only uncompressed: the last archive is the main one; archives before it are early", () => {
  const t = newTree();
  t.root.entries.set("init", { kind: "file", content: bytesContent(Buffer.from("#!/bin/sh\n")), perm: 0o755, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, xattrs: new Map() });
  const main = treeToCpio(t);
  assert.deepEqual(findEarlyArchives(main), NO_EARLY_ARCHIVES, "one uncompressed archive: the main one, nothing early");
  const early = earlyArchive({ [UCODE_INTEL]: pattern(999, 5) });
  const e = findEarlyArchives(Buffer.concat([early, main, new Uint8Array(16)]));
  assert.equal(e.bytes, early.length);
  assert.deepEqual(e.members.map((m) => m.path), [UCODE_INTEL]);
});

test("the mini initramfs starts with the early archives byte for byte; the kernel's scan finds the microcode there", async () => {
  const intel = pattern(100_003, 6);
  const ssdt = pattern(321, 7);
  const early = Buffer.concat([earlyArchive({ [UCODE_INTEL]: intel }), earlyArchive({ [SSDT]: ssdt })]);
  const initrd = Buffer.concat([early, mainArchive()]);
  const e = findEarlyArchives(initrd);
  for (const kind of ["gzip", "zstd", "none"] as const) {
    const mini = (await packMiniInitramfs(miniContent(), kind, initrd.subarray(0, e.bytes))).bytes;
    assert.ok(Buffer.from(mini.subarray(0, e.bytes)).equals(early), `${kind}: the first ${e.bytes} bytes are the early archives`);
    assert.deepEqual(Buffer.from(kernelFinds(mini, UCODE_INTEL)!), Buffer.from(intel), `${kind}: GenuineIntel.bin found uncompressed at the start`);
    assert.deepEqual(Buffer.from(kernelFinds(mini, SSDT)!), Buffer.from(ssdt), `${kind}: the SSDT too`);
    // the mini's own archive follows; the kernel unpacks both: storage-init is /init
    const r = await readInitramfs(mini);
    if (kind === "none") {
      assert.deepEqual(r.segments, [{ offset: 0, length: mini.length, compression: "none", size: mini.length }], "one uncompressed run of archives");
    } else {
      assert.deepEqual(r.segments.map((x) => [x.offset, x.compression]), [[0, "none"], [e.bytes, kind]], `${kind}: early archives, then the mini's own`);
      assert.equal(r.segments[0].length, e.bytes);
    }
    assert.equal(e.bytes % 4, 0);
    assert.ok(lookup(r.tree, UCODE_INTEL), "the early files are in the rootfs too, as with the original");
    const init = lookup(r.tree, "init");
    assert.ok(init?.kind === "file" && Buffer.from(init.content.read()).toString("latin1").includes("storage-init"));
    // found again the same way: status reports what the mini carries
    assert.deepEqual(findEarlyArchives(mini), e);
  }
});

test("without early archives the mini is its archive alone (the kernel's scan finds no microcode)", async () => {
  const mini = (await packMiniInitramfs(miniContent(), "gzip")).bytes;
  assert.equal(mini[0], 0x1f);
  assert.equal(kernelFinds(mini, UCODE_INTEL), undefined);
  assert.deepEqual(findEarlyArchives(mini), NO_EARLY_ARCHIVES);
});

test("a malformed early archive: a FormatError naming the offset", () => {
  const early = Buffer.from(earlyArchive({ [UCODE_INTEL]: pattern(64, 8) }));
  // break the second header's file size field (a hex digit → 'g')
  const second = early.indexOf("070701", 1);
  early[second + 6 + 8 * 6] = 0x67;
  assert.throws(() => findEarlyArchives(Buffer.concat([early, mainArchive()]), "x.img"), (e: unknown) =>
    e instanceof FormatError && /x\.img/.test(e.message) && e.message.includes(String(second + 6 + 8 * 6)) && /hex digit/.test(e.message));
});

test("packing refuses early bytes that do not end at a multiple of 4", async () => {
  await assert.rejects(packMiniInitramfs(miniContent(), "none", new Uint8Array(6)), /multiple of 4/);
});
