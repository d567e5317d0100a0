/**
 * The mini initramfs archive, read back by cpio and by our kernel-semantics reader. The tests use
 * a placeholder for the storage-init binary: they test the archive, not the program (the config
 * file's own tests are in test/formats/storage-init-config).
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { gunzipSync, gzipSync } from "node:zlib";
import { bytesContent, lookup } from "../../src/fs/tree.js";
import { readInitramfs } from "../../src/initramfs/read.js";
import { CpioWriter } from "../../src/formats/cpio/writer.js";
import { CONFIG_PATH, MANIFEST_PATH, MINI_COMPRESSIONS, renderConfig } from "../../src/formats/storage-init-config/index.js";
import { BASE } from "../helpers/storage-init-configs.js";
import { miniInitramfsTree, packMiniInitramfs } from "../../src/pipeline/mini-initramfs.js";
import { run } from "../helpers/run.js";


const PLACEHOLDER = bytesContent(Buffer.from("\x7fELF placeholder for storage-init"));
const CONTENT = {
  storageInit: PLACEHOLDER,
  config: renderConfig(BASE),
  files: [
    { path: "lib/modules/9.9.9-test/kernel/fs/ext4/ext4.ko", content: bytesContent(Buffer.alloc(5000, 7)) },
    { path: "lib/modules/9.9.9-test/kernel/drivers/block/loop.ko", content: bytesContent(Buffer.from("loop")) },
  ],
};

test("the archive: /init, the config, the modules, mount points and console, as cpio -t lists them", async () => {
  const { bytes } = await packMiniInitramfs(CONTENT, "gzip");
  assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b]);
  const listing = run("cpio", ["-tv", "--quiet"], { input: gunzipSync(bytes) }).stdout.trim().split("\n");
  const names = listing.map((l) => l.split(/\s+/).pop());
  for (const n of ["init", CONFIG_PATH.slice(1), "dev/console", "proc", "sys", "run", "boot", ...CONTENT.files.map((f) => f.path)]) {
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
    const conf = lookup(tree, CONFIG_PATH);
    assert.ok(conf?.kind === "file" && Buffer.from(conf.content.read()).toString("latin1") === CONTENT.config, kind);
    for (const f of CONTENT.files) {
      const n = lookup(tree, f.path);
      assert.ok(n?.kind === "file" && Buffer.from(n.content.read()).equals(f.content.read()), `${kind}: ${f.path}`);
    }
    const con = lookup(tree, "dev/console");
    assert.ok(con?.kind === "chardev" && con.rdevMajor === 5 && con.rdevMinor === 1);
  }
  // lz4's legacy frames as the lz4 tool writes them (`lz4 -l`): it reads ours back byte for byte.
  // Then the end, a zero chunk size, which the lz4 tool does not know (it calls it corrupt).
  const { bytes } = await packMiniInitramfs(CONTENT, "lz4");
  assert.deepEqual([...bytes.subarray(0, 4)], [0x02, 0x21, 0x4c, 0x18]);
  assert.deepEqual([...bytes.subarray(-4)], [0, 0, 0, 0], "ended by a zero chunk size");
  const none = await packMiniInitramfs(CONTENT, "none");
  const dec = spawnSync("lz4", ["-dc"], { input: bytes.subarray(0, -4), maxBuffer: 1 << 28 });
  assert.equal(dec.status, 0, dec.stderr.toString());
  assert.ok(dec.stdout.equals(Buffer.from(none.bytes)), "lz4 -dc gives the cpio back");
});

test("an archive appended after an lz4 mini (as a boot loader appends, no padding) is read as the next one", async () => {
  const { bytes } = await packMiniInitramfs(CONTENT, "lz4");
  const extra = gzipSync(new CpioWriter().add({ name: "appended", mode: 0o100644, data: Buffer.from("late\n") }).trailer().bytes());
  const { tree, segments } = await readInitramfs(Buffer.concat([bytes, extra]));
  assert.deepEqual(segments.map((s) => s.compression), ["lz4", "gzip"]);
  const f = lookup(tree, "appended");
  assert.ok(f?.kind === "file" && Buffer.from(f.content.read()).toString() === "late\n");
  assert.ok(lookup(tree, CONFIG_PATH), "the mini's own files stay");
  // without the end, the gzip header would be read as a chunk size, as the kernel reads it
  await assert.rejects(readInitramfs(Buffer.concat([bytes.subarray(0, -4), extra])), /lz4/);
});

test("the archive is reproducible, and a path added twice is refused", async () => {
  const a = await packMiniInitramfs(CONTENT, "gzip");
  const b = await packMiniInitramfs(CONTENT, "gzip");
  assert.ok(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)));
  assert.throws(() => miniInitramfsTree({ ...CONTENT, files: [...CONTENT.files, CONTENT.files[0]] }), /added twice/);
  assert.throws(() => miniInitramfsTree({ ...CONTENT, files: [{ path: "init/x.ko", content: PLACEHOLDER }] }), /init is not a directory/);
});

test("the manifest lists every entry of the archive, itself included, as cpio -tv shows them, in byte order", async () => {
  const { bytes } = await packMiniInitramfs({ ...CONTENT, files: [...CONTENT.files, { path: "lib/modules/9.9.9-test/a-b.ko", content: PLACEHOLDER }] }, "gzip");
  const cpio = gunzipSync(bytes);
  const names = run("cpio", ["-t", "--quiet"], { input: cpio }).stdout.trim().split("\n").filter((n) => n !== ".");
  const { tree } = await readInitramfs(bytes);
  const node = lookup(tree, MANIFEST_PATH);
  assert.ok(node?.kind === "file");
  const lines = Buffer.from(node.content.read()).toString("latin1").split("\n");
  assert.equal(lines.pop(), "", "ends with a newline");
  const paths = lines.map((l) => l.split(" ")[3]);
  assert.deepEqual([...paths].sort(), names.map((n) => "/" + n).sort());
  assert.deepEqual(paths, [...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  // "/lib/modules/9.9.9-test/a-b.ko" sorts before the directory "/lib/modules/9.9.9-test/kernel"
  assert.ok(paths.includes(MANIFEST_PATH) && paths.includes("/init") && paths.includes(CONFIG_PATH));
  // mode (type bits, octal) and owner as cpio records them
  const mode = (p: string) => lines.find((l) => l.endsWith(" " + p))!.split(" ").slice(0, 3).join(" ");
  assert.equal(mode("/init"), "100755 0 0");
  assert.equal(mode("/etc"), "40755 0 0");
  assert.equal(mode("/dev/console"), "20600 0 0");
  assert.equal(mode(MANIFEST_PATH), "100644 0 0");
});

test("a path the manifest cannot list is refused", () => {
  assert.throws(() => miniInitramfsTree({ ...CONTENT, files: [{ path: "lib/a\nb.ko", content: PLACEHOLDER }] }), /a newline in a path cannot be listed/);
  const many = Array.from({ length: 1100 }, (_, i) => ({ path: `lib/m/${i}.ko`, content: PLACEHOLDER }));
  assert.throws(() => miniInitramfsTree({ ...CONTENT, files: many }), /entries, but storage-init's \/etc\/initoverlayfs.manifest lists at most 1024/);
});
