import test from "node:test";
import assert from "node:assert/strict";
import { CpioParser } from "../../src/formats/cpio/parser.js";
import { CpioWriter } from "../../src/formats/cpio/writer.js";
import { InitramfsUnpacker } from "../../src/initramfs/unpack.js";
import { lookup, FsTree, FsNode } from "../../src/fs/tree.js";
import { FormatError } from "../../src/errors.js";

function unpack(bytes: Uint8Array, strict = false): { tree: FsTree; u: InitramfsUnpacker } {
  const u = new InitramfsUnpacker({ strict });
  const p = new CpioParser(u);
  p.push(bytes);
  p.end();
  return { tree: u.tree, u };
}
const text = (n: FsNode | undefined) => (n?.kind === "file" ? Buffer.from(n.content.read()).toString() : undefined);
const D = 0o40755, F = 0o100644, L = 0o120777;

test("later entries replace earlier ones as the kernel does", () => {
  const w = new CpioWriter()
    .add({ name: ".", mode: 0o40700, mtime: 5 })
    .add({ name: "etc", mode: D })
    .add({ name: "etc/conf", mode: F, data: Buffer.from("old"), mtime: 1 })
    .add({ name: "etc/dir", mode: D })
    .add({ name: "etc/dir/keep", mode: F, data: Buffer.from("k") })
    .add({ name: "etc/sym", mode: L, data: Buffer.from("conf") })
    .trailer()
    .add({ name: "etc/conf", mode: 0o100600, data: Buffer.from("new!"), mtime: 2, uid: 7 })
    .add({ name: "etc/dir", mode: 0o40711, mtime: 9 }) // same type: keeps its entries
    .add({ name: "etc/dir", mode: F, data: Buffer.from("x") }) // non-empty dir: dropped
    .add({ name: "etc/sym", mode: L, data: Buffer.from("other") }) // symlinks always replace
    .trailer();
  const { tree, u } = unpack(w.bytes());
  const conf = lookup(tree, "etc/conf")!;
  assert.equal(text(conf), "new!");
  assert.equal(conf.perm, 0o600);
  assert.equal(conf.uid, 7);
  assert.equal(conf.mtime.sec, 2);
  const dir = lookup(tree, "etc/dir")!;
  assert.equal(dir.kind, "dir");
  assert.equal(dir.perm, 0o711);
  assert.equal(dir.mtime.sec, 9);
  assert.ok(lookup(tree, "etc/dir/keep"));
  assert.equal(u.warnings.length, 1);
  assert.match(u.warnings[0].message, /non-empty directory/);
  const sym = lookup(tree, "etc/sym")!;
  assert.equal(sym.kind === "symlink" && sym.target, "other");
  assert.equal(sym.perm, 0o777);
  assert.equal(tree.root.perm, 0o700, '"." sets the root metadata');
  assert.throws(() => unpack(w.bytes(), true), (e: unknown) => e instanceof FormatError && /non-empty directory/.test(e.message));
});

test("hard links: data on the last member (GNU cpio) or on the first", () => {
  for (const dataOnFirst of [false, true]) {
    const w = new CpioWriter()
      .add({ name: "a", mode: F, ino: 42, nlink: 3, data: dataOnFirst ? Buffer.from("data") : undefined })
      .add({ name: "b", mode: F, ino: 42, nlink: 3 })
      .add({ name: "c", mode: F, ino: 42, nlink: 3, data: dataOnFirst ? undefined : Buffer.from("data") })
      .add({ name: "other", mode: F, ino: 43, nlink: 1, data: Buffer.from("o") })
      .trailer();
    const { tree } = unpack(w.bytes());
    const a = lookup(tree, "a"), b = lookup(tree, "b"), c = lookup(tree, "c");
    assert.ok(a === b && b === c, "one inode");
    assert.equal(text(a), "data");
    assert.notEqual(lookup(tree, "other"), a);
  }
});

test("hard link groups end at TRAILER!!!", () => {
  const w = new CpioWriter()
    .add({ name: "a", mode: F, ino: 9, nlink: 2, data: Buffer.from("1") }).trailer()
    .add({ name: "b", mode: F, ino: 9, nlink: 2, data: Buffer.from("2") }).trailer();
  const { tree } = unpack(w.bytes());
  assert.notEqual(lookup(tree, "a"), lookup(tree, "b"));
});

test("rewriting a regular file in place changes all its links (O_TRUNC on the same inode)", () => {
  const w = new CpioWriter()
    .add({ name: "a", mode: F, ino: 1, nlink: 2 })
    .add({ name: "b", mode: F, ino: 1, nlink: 2, data: Buffer.from("v1") })
    .trailer()
    .add({ name: "a", mode: F, ino: 5, nlink: 1, data: Buffer.from("v2") })
    .trailer();
  const { tree } = unpack(w.bytes());
  assert.equal(text(lookup(tree, "b")), "v2");
  assert.equal(lookup(tree, "a"), lookup(tree, "b"));
});

test("missing parents are not created; parent symlinks are followed", () => {
  const w = new CpioWriter()
    .add({ name: "usr", mode: D })
    .add({ name: "usr/bin", mode: D })
    .add({ name: "bin", mode: L, data: Buffer.from("usr/bin") })
    .add({ name: "bin/sh", mode: 0o100755, data: Buffer.from("#!") })
    .add({ name: "nowhere/file", mode: F })
    .add({ name: "./usr/../usr/x", mode: F, data: Buffer.from("x") })
    .trailer();
  const { tree, u } = unpack(w.bytes());
  assert.equal(text(lookup(tree, "usr/bin/sh")), "#!");
  assert.equal(text(lookup(tree, "usr/x")), "x");
  assert.equal(lookup(tree, "nowhere"), undefined);
  assert.equal(u.warnings.length, 1);
  assert.match(u.warnings[0].message, /does not exist/);
});

test("devices, fifos and sockets keep their rdev when replaced by the same type", () => {
  const w = new CpioWriter()
    .add({ name: "null", mode: 0o20666, rdevmajor: 1, rdevminor: 3 })
    .add({ name: "sda", mode: 0o60660, rdevmajor: 8, rdevminor: 0 })
    .add({ name: "fifo", mode: 0o10600 })
    .add({ name: "sock", mode: 0o140755 })
    .add({ name: "null", mode: 0o20600, rdevmajor: 9, rdevminor: 9, uid: 3 })
    .trailer();
  const { tree } = unpack(w.bytes());
  const n = lookup(tree, "null")!;
  assert.ok(n.kind === "chardev" && n.rdevMajor === 1 && n.rdevMinor === 3);
  assert.equal(n.perm, 0o600);
  assert.equal(n.uid, 3);
  assert.equal(lookup(tree, "sda")?.kind, "blockdev");
  assert.equal(lookup(tree, "fifo")?.kind, "fifo");
  assert.equal(lookup(tree, "sock")?.kind, "socket");
});
