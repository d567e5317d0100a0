/**
 * GPT encoding and the strict reader, pure: the plan's LBAs, GUID byte order, and every damaged
 * field refused at its byte offset (gpt-sfdisk.test.ts checks both directions against sfdisk).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import { FormatError } from "../../../src/errors.js";
import { SECTOR } from "../../../src/formats/gpt/index.js";
import { guidFromDisk, guidToDisk } from "../../../src/formats/gpt/guid.js";
import { decodeDisk, gptDisk, sampleGpt } from "../../helpers/gpt.js";


test("GUIDs: the first three fields are stored little-endian", () => {
  const g = "3a48935d-cfaa-5e17-d1a0-d24827100719";
  assert.equal(Buffer.from(guidToDisk(g)).toString("hex"), "5d93483aaacf175ed1a0d24827100719");
  assert.equal(guidFromDisk(guidToDisk(g)), g);
});

test("the plan: 1 MiB first LBA, 4096-byte aligned starts, disk rounded to 4096 past the backup table", () => {
  const t = sampleGpt();
  assert.deepEqual(t.partitions.map((p) => [p.firstLba, p.lastLba]), [[2048, 7911], [7912, 7912], [7920, 7935]]);
  assert.equal(t.sectors, 7976); // 7936 + 33 = 7969, rounded up to 8 sectors
  assert.equal(t.lastUsable, t.sectors - 34);
});

test("damage is refused at its byte offset", () => {
  const t = sampleGpt();
  const good = gptDisk(t);
  const last = (t.sectors - 1) * SECTOR;
  const cases: [string, (d: Uint8Array) => void, number, RegExp][] = [
    ["MBR signature", (d) => (d[511] = 0), 510, /55 AA/],
    ["no protective MBR", (d) => (d[450] = 0x83), 450, /protective MBR/],
    ["header signature", (d) => (d[512] = 0x46), 512, /EFI PART/],
    ["header CRC", (d) => (d[512 + 40] ^= 1), 528, /header CRC32 mismatch/],
    ["entry array", (d) => (d[1024 + 130] ^= 1), 1024, /entry array CRC32 mismatch/],
    ["backup header", (d) => (d[last + 40] ^= 1), last + 16, /header CRC32 mismatch/],
    ["backup array", (d) => (d[last - 32 * SECTOR] ^= 1), last - 32 * SECTOR, /backup entry array does not match/],
    ["cut short", (d) => d, 0, /not a whole number|too small/],
  ];
  for (const [name, damage, offset, why] of cases) {
    const d = good.slice();
    damage(d);
    const img = name === "cut short" ? d.subarray(0, d.length - 100) : d;
    assert.throws(() => decodeDisk(img), (e: unknown) => e instanceof FormatError && e.offset === offset && why.test(e.message) && e.message.startsWith("t.img: "), name);
  }
});

test("counts and sizes are bounded before anything is read", () => {
  const t = sampleGpt();
  const d = gptDisk(t);
  // a header claiming 4096 entries: refused at the count, with a correct CRC (the bound, not the CRC, catches it)
  const h = d.subarray(512, 512 + 92);
  new DataView(h.buffer, h.byteOffset).setUint32(80, 4096, true);
  new DataView(h.buffer, h.byteOffset).setUint32(16, 0, true);
  new DataView(h.buffer, h.byteOffset).setUint32(16, crc32(h) >>> 0, true);
  assert.throws(() => decodeDisk(d), (e: unknown) => e instanceof FormatError && e.offset === 512 + 80 && /more than 131072 bytes/.test(e.message));
});

test("overlapping and out-of-range partitions are refused", () => {
  const t = sampleGpt();
  t.partitions[1] = { ...t.partitions[1], firstLba: 7000, lastLba: 7001 };
  assert.throws(() => decodeDisk(gptDisk(t)), /offset 1184: GPT: partition 2 overlaps partition 1/);
  const u = sampleGpt();
  u.partitions[2] = { ...u.partitions[2], lastLba: u.lastUsable + 1 };
  assert.throws(() => decodeDisk(gptDisk(u)), /offset 1312: GPT: partition 3: LBAs .* outside the usable/);
});
