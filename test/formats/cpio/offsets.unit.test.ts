/** The cpio parser at stream offsets past 2^31 and 2^32 (a decompressed initramfs can be that large). */
import test from "node:test";
import assert from "node:assert/strict";
import { align4 } from "../../../src/formats/cpio/newc.js";
import { CpioEntry, CpioParser } from "../../../src/formats/cpio/parser.js";
import { CpioWriter } from "../../../src/formats/cpio/writer.js";

test("align4 rounds up in plain arithmetic, also past 2^31 and 2^32", () => {
  for (const base of [0, 2 ** 31, 2 ** 32, 2 ** 40]) {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((k) => align4(base + k) - base), [0, 4, 4, 4, 4, 8], `base ${base}`);
  }
});

test("entries at stream offsets around 2^31 and 2^32 parse, with their true offsets", () => {
  // names and sizes that need header+name and data padding
  const archive = new CpioWriter()
    .add({ name: "a", mode: 0o100644, data: Buffer.from("xyz") })
    .add({ name: "bb", mode: 0o100644, data: Buffer.from("12345") })
    .trailer()
    .bytes();
  for (const base of [2 ** 31 - 4, 2 ** 31, 2 ** 32 - 4, 2 ** 32, 2 ** 33 + 8]) {
    const got: CpioEntry[] = [];
    const p = new CpioParser({ entry: (e) => got.push(e), trailer: () => {} }, "big", base);
    p.push(archive);
    p.end();
    assert.deepEqual(got.map((e) => [e.name, Buffer.from(e.data).toString(), e.offset - base]), [["a", "xyz", 0], ["bb", "12345", 116]], `base ${base}`);
    assert.equal(p.offset, base + archive.length);
  }
});
