/** A small compressed bomb must not exhaust memory: the unpacked size is capped, with a clear error. */
import test from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { FormatError } from "../../src/errors.js";
import { CpioWriter } from "../../src/formats/cpio/writer.js";
import { readInitramfs } from "../../src/initramfs/read.js";
import { DEFAULT_MAX_UNPACKED } from "../../src/initramfs/limits.js";

const MiB = 2 ** 20;
const bomb = () => gzipSync(new CpioWriter().add({ name: "zeros", mode: 0o100644, data: Buffer.alloc(8 * MiB) }).trailer().bytes(), { level: 9 });

test("a gzip stream that unpacks past the limit is refused at its offset; under the limit it reads", async () => {
  const early = new CpioWriter().add({ name: "early", mode: 0o100644, data: Buffer.from("x") }).trailer().bytes();
  const input = Buffer.concat([early, bomb()]);
  assert.ok(input.length < MiB / 8, `the bomb is small: ${input.length} bytes`);
  await assert.rejects(readInitramfs(input, { source: "bomb.img", maxUnpackedBytes: 4 * MiB }), (e: unknown) => {
    assert.ok(e instanceof FormatError, String(e));
    assert.equal(e.offset, early.length, "the offset of the gzip stream");
    assert.match(e.message, /^bomb\.img: offset \d+: initramfs: unpacks to more than 4194304 bytes \(the limit; raise it with --max-unpacked\)$/);
    return true;
  });
  const ok = await readInitramfs(input, { maxUnpackedBytes: 16 * MiB });
  assert.equal(ok.segments[1].size > 8 * MiB, true);
  assert.ok(DEFAULT_MAX_UNPACKED >= 1024 * MiB, "the default leaves room for real initramfs files");
});

test("uncompressed archives count too", async () => {
  const input = new CpioWriter().add({ name: "big", mode: 0o100644, data: Buffer.alloc(2 * MiB) }).trailer().bytes();
  await assert.rejects(readInitramfs(input, { maxUnpackedBytes: MiB }), /unpacks to more than 1048576 bytes/);
});
