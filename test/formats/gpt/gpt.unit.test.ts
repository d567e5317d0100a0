/**
 * GPT encoding and the strict reader, pure: the plan's LBAs, GUID byte order, and every damaged
 * field refused at its byte offset (gpt-sfdisk.test.ts checks both directions against sfdisk).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import { FormatError } from "../../../src/errors.js";
import { decodeGpt, encodeGpt, GPT_ATTR, GPT_PRIMARY_READ, GptTable, planGpt, SECTOR } from "../../../src/formats/gpt/index.js";
import { guidFromDisk, guidToDisk } from "../../../src/formats/gpt/guid.js";

const TYPE_A = "0fc63daf-8483-4772-8e79-3d69d8477de4";
const TYPE_B = "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5";

function sample(): GptTable {
  return planGpt({
    diskGuid: "03a85771-c293-4315-9699-c5764f9cf209",
    partitions: [
      { type: TYPE_A, guid: "f4cf7bfd-7333-5519-a18c-503217f69b30", name: "root-x86-64", size: 3002368, attributes: GPT_ATTR.readOnly },
      { type: TYPE_B, guid: "52aa917f-353f-6410-1f89-d0d127423b8e", name: "verity é", size: 512, attributes: 0n },
      { type: TYPE_A, guid: "11111111-2222-3333-4444-555555555555", name: "x".repeat(36), size: 8192, attributes: GPT_ATTR.readOnly | GPT_ATTR.growfs },
    ],
  });
}

function disk(t: GptTable): Uint8Array {
  const g = encodeGpt(t);
  const d = new Uint8Array(t.sectors * SECTOR);
  d.set(g.primary, 0);
  d.set(g.backup, g.backupOffset);
  return d;
}

const decode = (d: Uint8Array) => decodeGpt(d.subarray(0, GPT_PRIMARY_READ), d.length, (lba, n) => d.slice(lba * SECTOR, (lba + n) * SECTOR), "t.img");

test("GUIDs: the first three fields are stored little-endian", () => {
  const g = "3a48935d-cfaa-5e17-d1a0-d24827100719";
  assert.equal(Buffer.from(guidToDisk(g)).toString("hex"), "5d93483aaacf175ed1a0d24827100719");
  assert.equal(guidFromDisk(guidToDisk(g)), g);
});

test("the plan: 1 MiB first LBA, 4096-byte aligned starts, disk rounded to 4096 past the backup table", () => {
  const t = sample();
  assert.deepEqual(t.partitions.map((p) => [p.firstLba, p.lastLba]), [[2048, 7911], [7912, 7912], [7920, 7935]]);
  assert.equal(t.sectors, 7976); // 7936 + 33 = 7969, rounded up to 8 sectors
  assert.equal(t.lastUsable, t.sectors - 34);
});

test("damage is refused at its byte offset", () => {
  const t = sample();
  const good = disk(t);
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
    assert.throws(() => decode(img), (e: unknown) => e instanceof FormatError && e.offset === offset && why.test(e.message) && e.message.startsWith("t.img: "), name);
  }
});

test("counts and sizes are bounded before anything is read", () => {
  const t = sample();
  const d = disk(t);
  // a header claiming 4096 entries: refused at the count, with a correct CRC (the bound, not the CRC, catches it)
  const h = d.subarray(512, 512 + 92);
  new DataView(h.buffer, h.byteOffset).setUint32(80, 4096, true);
  new DataView(h.buffer, h.byteOffset).setUint32(16, 0, true);
  new DataView(h.buffer, h.byteOffset).setUint32(16, crc32(h) >>> 0, true);
  assert.throws(() => decode(d), (e: unknown) => e instanceof FormatError && e.offset === 512 + 80 && /more than 131072 bytes/.test(e.message));
});

test("overlapping and out-of-range partitions are refused", () => {
  const t = sample();
  t.partitions[1] = { ...t.partitions[1], firstLba: 7000, lastLba: 7001 };
  assert.throws(() => decode(disk(t)), /offset 1184: GPT: partition 2 overlaps partition 1/);
  const u = sample();
  u.partitions[2] = { ...u.partitions[2], lastLba: u.lastUsable + 1 };
  assert.throws(() => decode(disk(u)), /offset 1312: GPT: partition 3: LBAs .* outside the usable/);
});
