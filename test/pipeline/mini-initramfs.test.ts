import { readFileSync } from "node:fs";
/**
 * The mini initramfs: its config (checked by the real storage-init's --check-config) and its
 * archive (read back by cpio and by our kernel-semantics reader). The packing tests use a
 * placeholder for the storage-init binary: they test the archive, not the program.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { UsageError } from "../../src/errors.js";
import { bytesContent, lookup } from "../../src/fs/tree.js";
import { readInitramfs } from "../../src/initramfs/read.js";
import {
  checkBootSpec, MINI_COMPRESSIONS, miniInitramfsTree, packMiniInitramfs, renderConfig, StorageInitConfig,
} from "../../src/pipeline/mini-initramfs.js";
import { packageRoot } from "../../src/pipeline/build.js";
import { run } from "../helpers/run.js";
import { withTempDir } from "../helpers/tmp.js";
import { writeFileSync } from "node:fs";

const BASE: StorageInitConfig = {
  boot: "UUID=0a1b2c3d-1111-2222-3333-444455556666",
  image: "/initoverlayfs-6.1.0-56-amd64.img",
  init: "/init",
  timeout: 10,
  failure: "panic",
  modules: [{ path: "/lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko" }, { path: "/lib/modules/6.1.0-56-amd64/kernel/drivers/block/loop.ko", params: "max_loop=8" }],
  shims: ["/usr/sbin/run-init", "/usr/sbin/switch_root"],
};

/** The real storage-init, built if needed: config tests are only meaningful against it. */
function storageInit(): string {
  const root = packageRoot();
  assert.ok(root, "package root not found");
  const bin = join(root, "storage-init", "build", "storage-init");
  if (!existsSync(bin)) run("make", ["-C", join(root, "storage-init")], { timeoutMs: 300_000 });
  return bin;
}

test("--boot specs: what storage-init accepts, with values the config parser keeps intact", () => {
  for (const ok of ["UUID=0a1b2c3d-1111-2222-3333-444455556666", "UUID=ABCD-1234", "PARTUUID=0a1b2c3d-01", "LABEL=boot", "LABEL=my boot", "PARTLABEL=EFI system", "/dev/vda1", "/dev/disk/by-id/x"]) {
    assert.equal(checkBootSpec(ok), ok);
  }
  for (const bad of ["", "UUID=", "UUID=xyz", "UUID=-ab", "PARTUUID=12 34", "LABEL=", "boot", "/dev/", "/dev/a b", 'LABEL=a"b', "LABEL=a\nb", "uuid=abcd", `LABEL=${"x".repeat(600)}`]) {
    assert.throws(() => checkBootSpec(bad), UsageError, JSON.stringify(bad));
  }
});

test("the config file: every key, in storage-init's syntax", () => {
  const text = renderConfig({ ...BASE, comment: "test", bootfstype: "ext4", bootflags: "noatime" });
  assert.equal(text, [
    "# test",
    "boot = UUID=0a1b2c3d-1111-2222-3333-444455556666",
    "bootfstype = ext4",
    "bootflags = noatime",
    "image = /initoverlayfs-6.1.0-56-amd64.img",
    "init = /init",
    "timeout = 10",
    "failure = panic",
    "module = /lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko",
    "module = /lib/modules/6.1.0-56-amd64/kernel/drivers/block/loop.ko max_loop=8",
    "shim = /usr/sbin/run-init",
    "shim = /usr/sbin/switch_root",
    "",
  ].join("\n"));
  // no switch-root program found: an empty list, not storage-init's default one
  assert.match(renderConfig({ ...BASE, shims: [] }), /\nshim =\n$/);
  // a label with edge blanks is quoted so the parser keeps them
  assert.match(renderConfig({ ...BASE, boot: "LABEL= my boot " }), /^boot = "LABEL= my boot "$/m);
});

test("the config file respects storage-init's limits", () => {
  // the limit is storage-init's own, read from its source
  const header = readFileSync(new URL("../../../storage-init/src/config.h", import.meta.url), "utf8");
  const max = Number(/#define CFG_MAX_MODULES (\d+)/.exec(header)![1]);
  const many = Array.from({ length: max + 1 }, (_, i) => ({ path: `/lib/modules/k/m${i}.ko` }));
  assert.throws(() => renderConfig({ ...BASE, modules: many }), new RegExp(`${max + 1} modules selected but storage-init loads at most ${max}`));
  assert.doesNotThrow(() => renderConfig({ ...BASE, modules: many.slice(0, max) }));
  assert.throws(() => renderConfig({ ...BASE, shims: Array.from({ length: 9 }, (_, i) => `/s${i}`) }), /at most 8/);
  assert.throws(() => renderConfig({ ...BASE, timeout: 3601 }), /--timeout/);
  assert.throws(() => renderConfig({ ...BASE, failure: "explode" as "panic" }), /--failure/);
  assert.throws(() => renderConfig({ ...BASE, init: "sbin/init" }), /--init: must be an absolute path/);
  assert.throws(() => renderConfig({ ...BASE, image: "/" + "x".repeat(300) }), /--image-path: longer than 255 bytes/);
  assert.throws(() => renderConfig({ ...BASE, modules: [{ path: "/a b.ko" }] }), /module path unusable/);
});

test("storage-init --check-config reads the config back as written", () => {
  const bin = storageInit();
  return withTempDir((dir) => {
    const conf = join(dir, "initoverlayfs.conf");
    writeFileSync(conf, renderConfig({ ...BASE, comment: "x", bootfstype: "vfat", failure: "shell", timeout: 30, boot: "LABEL= my boot ", init: "/sbin/init" }), "latin1");
    const out = run(bin, ["--check-config", conf]).stdout;
    const lines = out.trim().split("\n");
    for (const l of [
      "boot=LABEL= my boot ", "bootfstype=vfat", "image=/initoverlayfs-6.1.0-56-amd64.img", "init=/sbin/init", "timeout=30", "failure=shell",
      "module=/lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko", "module=/lib/modules/6.1.0-56-amd64/kernel/drivers/block/loop.ko max_loop=8",
      "shim=/usr/sbin/run-init", "shim=/usr/sbin/switch_root",
    ]) assert.ok(lines.includes(l), `${l} not in:\n${out}`);
    assert.equal(lines.filter((l) => l.startsWith("shim=")).length, 2);
    // "shim =" empties the list
    writeFileSync(conf, renderConfig({ ...BASE, shims: [] }));
    assert.ok(!/^shim=/m.test(run(bin, ["--check-config", conf]).stdout));
  });
});

const PLACEHOLDER = bytesContent(Buffer.from("\x7fELF placeholder for storage-init"));
const CONTENT = {
  storageInit: PLACEHOLDER,
  config: renderConfig(BASE),
  files: [
    { path: "lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko", content: bytesContent(Buffer.alloc(5000, 7)) },
    { path: "lib/modules/6.1.0-56-amd64/kernel/drivers/block/loop.ko", content: bytesContent(Buffer.from("loop")) },
  ],
};

test("the archive: /init, the config, the modules, mount points and console, as cpio -t lists them", async () => {
  const { bytes } = await packMiniInitramfs(CONTENT, "gzip");
  assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b]);
  const listing = run("cpio", ["-tv", "--quiet"], { input: gunzipSync(bytes) }).stdout.trim().split("\n");
  const names = listing.map((l) => l.split(/\s+/).pop());
  for (const n of ["init", "etc/initoverlayfs.conf", "dev/console", "proc", "sys", "run", "boot", ...CONTENT.files.map((f) => f.path)]) {
    assert.ok(names.includes(n), `${n} not in ${names.join(" ")}`);
  }
  assert.match(listing.find((l) => l.endsWith(" dev/console"))!, /^crw------- .* 5,\s+1 /);
  assert.match(listing.find((l) => l.endsWith(" init"))!, /^-rwxr-xr-x /);
});

test("every compression reads back with the kernel's unpack rules, byte for byte", async () => {
  for (const kind of MINI_COMPRESSIONS) {
    const { bytes, cpioBytes } = await packMiniInitramfs(CONTENT, kind);
    if (kind === "none") assert.equal(bytes.length, cpioBytes);
    const { tree, segments } = await readInitramfs(bytes);
    assert.equal(segments[0].compression, kind);
    const init = lookup(tree, "init");
    assert.ok(init?.kind === "file" && Buffer.from(init.content.read()).equals(PLACEHOLDER.read()), kind);
    const conf = lookup(tree, "etc/initoverlayfs.conf");
    assert.ok(conf?.kind === "file" && Buffer.from(conf.content.read()).toString("latin1") === CONTENT.config, kind);
    for (const f of CONTENT.files) {
      const n = lookup(tree, f.path);
      assert.ok(n?.kind === "file" && Buffer.from(n.content.read()).equals(f.content.read()), `${kind}: ${f.path}`);
    }
    const con = lookup(tree, "dev/console");
    assert.ok(con?.kind === "chardev" && con.rdevMajor === 5 && con.rdevMinor === 1);
  }
});

test("the archive is reproducible, and a path added twice is refused", async () => {
  const a = await packMiniInitramfs(CONTENT, "gzip");
  const b = await packMiniInitramfs(CONTENT, "gzip");
  assert.ok(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)));
  assert.throws(() => miniInitramfsTree({ ...CONTENT, files: [...CONTENT.files, CONTENT.files[0]] }), /added twice/);
  assert.throws(() => miniInitramfsTree({ ...CONTENT, files: [{ path: "init/x.ko", content: PLACEHOLDER }] }), /init is not a directory/);
});
