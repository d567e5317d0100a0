/** modprobe.d options: the lines, kmod's file order and precedence, and what storage-init can carry. */
import test from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.js";
import { newTree } from "../../src/fs/tree.js";
import { modprobeOptions, moduleParams, parseModprobeOptions } from "../../src/pipeline/modules/modprobe-options.js";
import { file, put, symlink } from "../helpers/tree-build.js";

test("options lines: module names with '-' as '_', continuations, comments, other directives skipped", () => {
  const m = parseModprobeOptions([
    "# options loop max_loop=99",
    "blacklist uas",
    "options nvme-core default_ps_max_latency_us=0",
    "  options  loop   max_part=8 \\",
    "   max_loop=16",
    "softdep nvme pre: crc32c",
    "options nvme_core io_timeout=30",
    "options lonely",
  ].join("\n"), "/etc/modprobe.d/x.conf");
  assert.deepEqual([...m.keys()], ["nvme_core", "loop"]);
  assert.deepEqual(m.get("nvme_core"), [
    { params: "default_ps_max_latency_us=0", where: "/etc/modprobe.d/x.conf line 3" },
    { params: "io_timeout=30", where: "/etc/modprobe.d/x.conf line 7" },
  ]);
  assert.deepEqual(m.get("loop"), [{ params: "max_part=8     max_loop=16", where: "/etc/modprobe.d/x.conf line 4" }]);
  assert.equal(moduleParams(m, "loop", 255), "max_part=8 max_loop=16");
  assert.equal(moduleParams(m, "nvme-core", 255), "default_ps_max_latency_us=0 io_timeout=30");
  assert.equal(moduleParams(m, "ahci", 255), undefined);
});

test("files in name order across the directories; /etc hides the same name in /lib; a /dev/null link masks", () => {
  const t = newTree();
  put(t, "usr/lib/modprobe.d/50-vendor.conf", file("options loop max_part=4\n"));
  put(t, "usr/lib/modprobe.d/10-early.conf", file("options loop max_loop=2\n"));
  put(t, "lib", symlink("usr/lib"));
  put(t, "etc/modprobe.d/50-vendor.conf", file("options loop max_part=15\n"));
  put(t, "etc/modprobe.d/90-local.conf", file("options dm-mod use_blk_mq=Y\n"));
  put(t, "usr/lib/modprobe.d/60-masked.conf", file("options loop hw_queue_depth=1\n"));
  put(t, "etc/modprobe.d/60-masked.conf", symlink("/dev/null"));
  put(t, "etc/modprobe.d/README", file("options loop not_a_conf_file=1\n"));
  const m = modprobeOptions(t);
  assert.deepEqual(m.get("loop")?.map((o) => `${o.where}: ${o.params}`), [
    "/lib/modprobe.d/10-early.conf line 1: max_loop=2", // lib -> usr/lib: the path kmod reads it by
    "/etc/modprobe.d/50-vendor.conf line 1: max_part=15",
  ]);
  assert.equal(moduleParams(m, "dm_mod", 255), "use_blk_mq=Y");
  assert.equal(modprobeOptions(newTree()).size, 0);
});

test("what storage-init's config cannot carry is refused, naming the line", () => {
  const m = parseModprobeOptions('options nvme_core quirk="a b"\noptions loop max_part=8\n', "/etc/modprobe.d/q.conf");
  assert.throws(() => moduleParams(m, "nvme_core", 255), (e: unknown) => e instanceof UsageError && /^\/etc\/modprobe\.d\/q\.conf line 1: the options for nvme_core hold a double quote/.test(e.message));
  assert.throws(() => moduleParams(m, "loop", 5), /q\.conf line 2: the options for loop are 10 bytes, storage-init takes at most 5/);
});
