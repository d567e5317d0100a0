/**
 * `initoverlayfs build` on Debian's initramfs with a microcode archive (made by GNU cpio) in
 * front: the mini is that archive, byte for byte, followed by exactly the mini the same build
 * makes without it; --json and the summary say what was carried; the image keeps its copy.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuildResult } from "../../src/pipeline/build.js";
import { readErofs } from "../../src/formats/erofs/reader.js";
import { lookup } from "../../src/fs/tree.js";
import { cli } from "../helpers/cli.js";
import { microcodeArchive, UCODE_INTEL } from "../helpers/early.js";
import { KVER } from "../helpers/kernel.js";
import { storageInitBinary } from "../helpers/storage-init.js";
import { withTempDir } from "../helpers/tmp.js";

const INITRD = `/boot/initrd.img-${KVER}`;

test("build: the early archive comes first, unchanged; the rest is the mini the same build makes without it", () =>
  withTempDir((dir) => {
    storageInitBinary();
    const { archive, ucode } = microcodeArchive(join(dir, "early-src"), 300_001);
    const withEarly = join(dir, "with-early.img");
    writeFileSync(withEarly, Buffer.concat([archive, readFileSync(INITRD)]));
    // integrity none: the config names no digest of the image, so the two minis' own parts can be equal
    const common = ["--boot", "UUID=0a1b2c3d-1111-2222-3333-444455556666", "--boot-fstype", "ext4", "--integrity", "none", "-z", "none", "--kver", KVER];
    const a = cli(["build", "--initramfs", withEarly, "-o", join(dir, "a"), "--json", ...common]);
    assert.equal(a.code, 0, a.stderr);
    const ra = JSON.parse(a.stdout.toString()) as BuildResult;
    const b = cli(["build", "--initramfs", INITRD, "-o", join(dir, "b"), ...common]);
    assert.equal(b.code, 0, b.stderr);
    assert.doesNotMatch(b.stdout.toString(), /early/, "nothing carried, nothing said");

    assert.deepEqual(ra.mini.early.members.map((m) => [m.path, m.size]), [[UCODE_INTEL, ucode.length]]);
    assert.equal(ra.mini.early.archives, 1);
    assert.deepEqual(ra.input.segments.map((s) => s.compression), ["none", "zstd"]);
    const miniA = readFileSync(ra.mini.path);
    const miniB = readFileSync(join(dir, "b", `initramfs-${KVER}.img`));
    assert.equal(ra.mini.bytes, miniA.length);
    assert.ok(miniA.subarray(0, ra.mini.early.bytes).equals(archive.subarray(0, ra.mini.early.bytes)), "the early archive first, byte for byte");
    assert.ok(miniA.subarray(ra.mini.early.bytes).equals(miniB), "then the mini without it, unchanged");
    assert.equal(miniA.length, ra.mini.early.bytes + miniB.length);
    // the image keeps its copy (the system sees the same /kernel tree as with the original)
    const copy = lookup(readErofs(readFileSync(ra.image.path)), UCODE_INTEL);
    assert.ok(copy?.kind === "file" && Buffer.from(copy.content.read()).equals(ucode));

    const text = cli(["build", "--initramfs", withEarly, "-o", join(dir, "c"), ...common]).stdout.toString();
    assert.match(text, new RegExp(`early archives carried first, uncompressed: 1 archive\\(s\\), ${ra.mini.early.bytes} B, 1 file\\(s\\)\n  kernel/x86/microcode/GenuineIntel\\.bin \\(300001 B\\)\n$`));
  }));

test("build: a broken early archive is one line naming the file and the offset, exit 3, nothing written", () =>
  withTempDir((dir) => {
    const { archive } = microcodeArchive(join(dir, "early-src"), 1000);
    // the microcode's header: its file size field gets a non-hex digit
    const at = archive.indexOf(UCODE_INTEL) - 110;
    archive[at + 6 + 8 * 6 + 3] = 0x7a; // 'z'
    const bad = join(dir, "bad.img");
    writeFileSync(bad, Buffer.concat([archive, readFileSync(INITRD)]));
    const out = join(dir, "out");
    const r = cli(["build", "--initramfs", bad, "--boot", "UUID=0a1b2c3d-1111-2222-3333-444455556666", "--kver", KVER, "-o", out]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${bad}.*\\b${at + 6 + 8 * 6 + 3}\\b.*hex digit`));
    assert.ok(!existsSync(out) || readdirSync(out).length === 0, "nothing written");
  }));
