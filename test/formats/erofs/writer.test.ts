/** The EROFS writer through the library API: xattrs, inode formats, layouts, reproducibility. */
import test from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildErofsImage, bytesContent, diffTrees, ErofsImage, fsckErofs, FsNode, FsTree, newDir, newTree,
  planImage, readDirTree, readErofs, DataLayout, BLOCK_SIZE, NodeMeta,
} from "../../helpers/api.js";
import { withLoopMount } from "../../helpers/mount.js";
import { run } from "../../helpers/run.js";
import { makeTempDir, removeDir } from "../../helpers/tmp.js";

const T = { sec: 1_700_000_000, nsec: 0 };
const meta = (x: Partial<NodeMeta> = {}) => ({ perm: 0o644, uid: 0, gid: 0, mtime: T, xattrs: new Map<string, Uint8Array>(), ...x });

/** A minimal valid POSIX ACL (user::rwx group::r-x other::r-x), as the kernel stores it. */
function acl(): Uint8Array {
  const b = Buffer.alloc(4 + 3 * 8);
  b.writeUInt32LE(2, 0);
  [[0x01, 7], [0x04, 5], [0x20, 5]].forEach(([tag, perm], i) => {
    b.writeUInt16LE(tag, 4 + i * 8);
    b.writeUInt16LE(perm, 6 + i * 8);
    b.writeUInt32LE(0xffffffff, 8 + i * 8);
  });
  return b;
}

function xattrTree(): FsTree {
  const t = newTree();
  t.root.mtime = T;
  const shared = ["security.selinux", Buffer.from("system_u:object_r:bin_t:s0\0")] as const;
  for (let i = 0; i < 50; i++) {
    t.root.entries.set(`f${i}`, {
      kind: "file", content: bytesContent(Buffer.alloc(i * 97, i)),
      ...meta({ xattrs: new Map<string, Uint8Array>([shared, [`user.n${i}`, Buffer.from(`value ${i}`)]]) }),
    });
  }
  t.root.entries.set("acl", {
    kind: "file", content: bytesContent(Buffer.from("x")),
    ...meta({ xattrs: new Map<string, Uint8Array>([["system.posix_acl_access", acl()], ["trusted.overlay.opaque", Buffer.from("y")], ["user.empty", new Uint8Array(0)]]) }),
  });
  const d = newDir({ mtime: T, xattrs: new Map([["user.dir", Buffer.alloc(3000, 0x61)]]) });
  t.root.entries.set("d", d);
  return t;
}

test("xattrs (inline, shared, every prefix) read back by the kernel, fsck.erofs and our reader", async () => {
  const work = makeTempDir();
  try {
    const tree = xattrTree();
    const plan = planImage(tree);
    assert.equal(plan.sharedXattrs.length, 1, "the pair used by 50 inodes is shared");
    const image = join(work, "x.erofs");
    writeFileSync(image, buildErofsImage(tree));
    assert.equal(run("fsck.erofs", [image], { allowFail: true }).code, 0);
    assert.deepEqual(fsckErofs(buildErofsImage(tree)).problems, []);
    await withLoopMount(image, (mnt) => {
      const got = readDirTree(mnt, { xattrs: true });
      assert.deepEqual(diffTrees(tree, got, { ignoreRootMeta: true }), []);
    });
    assert.deepEqual(diffTrees(tree, readErofs(buildErofsImage(tree))), []);
  } finally {
    removeDir(work);
  }
});

test("inode formats and layouts: compact by default, extended where needed; tails inline within one block", () => {
  const t = newTree();
  t.root.mtime = T;
  const add = (name: string, n: FsNode) => t.root.entries.set(name, n);
  add("same-time", { kind: "file", content: bytesContent(Buffer.alloc(10)), ...meta() });
  add("other-time", { kind: "file", content: bytesContent(Buffer.alloc(10)), ...meta({ mtime: { sec: 5, nsec: 7 } }) });
  add("big-uid", { kind: "file", content: bytesContent(Buffer.alloc(10)), ...meta({ uid: 70000 }) });
  add("exact-block", { kind: "file", content: bytesContent(Buffer.alloc(BLOCK_SIZE, 1)), ...meta() });
  add("tail-too-big", { kind: "file", content: bytesContent(Buffer.alloc(BLOCK_SIZE - 10, 2)), ...meta() });
  add("block-and-tail", { kind: "file", content: bytesContent(Buffer.alloc(BLOCK_SIZE + 100, 3)), ...meta() });
  add("empty", { kind: "file", content: bytesContent(new Uint8Array(0)), ...meta() });
  const img = ErofsImage.open(buildErofsImage(t));
  const ino = (p: string) => img.lookup(p)!;
  assert.equal(ino("same-time").extended, false);
  assert.equal(ino("other-time").extended, true);
  assert.deepEqual(ino("other-time").mtime, { sec: 5, nsec: 7 });
  assert.equal(ino("big-uid").extended, true);
  assert.equal(ino("big-uid").uid, 70000);
  assert.equal(ino("exact-block").layout, DataLayout.FlatPlain);
  assert.equal(ino("tail-too-big").layout, DataLayout.FlatPlain, "32 + 4086 bytes do not fit one block");
  assert.equal(ino("block-and-tail").layout, DataLayout.FlatInline);
  assert.equal(ino("empty").layout, DataLayout.FlatPlain);
  assert.equal(ino("empty").iu, 0);
  const noInline = ErofsImage.open(buildErofsImage(t, { inlineData: false }));
  assert.equal(noInline.lookup("block-and-tail")!.layout, DataLayout.FlatPlain);
  // every inline tail stays inside its block (the kernel refuses crossing tails)
  for (const p of ["same-time", "block-and-tail"]) {
    const i = ino(p);
    const start = i.payloadOffset;
    assert.equal(Math.floor(start / BLOCK_SIZE), Math.floor((start + (i.size % BLOCK_SIZE) - 1) / BLOCK_SIZE), p);
  }
});

test("options: uuid, label, fixed timestamp; reproducible bytes; hard links share one inode", () => {
  const t = xattrTree();
  const f = t.root.entries.get("f3")!;
  t.root.entries.set("hard", f);
  const a = buildErofsImage(t), b = buildErofsImage(t);
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), "same input, same bytes");
  const uuid = Buffer.from("00112233445566778899aabbccddeeff", "hex");
  const c = ErofsImage.open(buildErofsImage(t, { uuid, label: "initoverlayfs", timestamp: { sec: 42, nsec: 0 } }));
  assert.ok(Buffer.from(c.superblock.uuid).equals(uuid));
  assert.equal(Buffer.from(c.superblock.volumeName).toString().replace(/\0+$/, ""), "initoverlayfs");
  assert.equal(c.lookup("f1")!.mtime.sec, 42);
  assert.equal(c.lookup("f1")!.extended, false, "one timestamp: all compact");
  const h = c.lookup("hard")!, g = c.lookup("f3")!;
  assert.equal(h.nid, g.nid);
  assert.equal(h.nlink, 2);
  // a different uuid is the only difference a different default would make: content-derived by default
  const changed = xattrTree();
  changed.root.entries.set("extra", { kind: "fifo", ...meta() });
  assert.notDeepEqual(ErofsImage.open(buildErofsImage(changed)).superblock.uuid, ErofsImage.open(a).superblock.uuid);
});

test("bad trees are refused with clear errors", () => {
  const t = newTree();
  const d = newDir();
  t.root.entries.set("a", d);
  t.root.entries.set("b", d);
  assert.throws(() => buildErofsImage(t), /directory hard link or cycle/);
  const t2 = newTree();
  t2.root.entries.set("x".repeat(256), { kind: "fifo", ...meta() });
  assert.throws(() => buildErofsImage(t2), /invalid file name/);
  const t3 = newTree();
  t3.root.entries.set("f", { kind: "fifo", ...meta({ xattrs: new Map([["nonsense.name", Buffer.from("v")]]) }) });
  assert.throws(() => buildErofsImage(t3), /no EROFS prefix/);
  assert.throws(() => buildErofsImage(newTree(), { label: "x".repeat(16) }), /label/);
});
