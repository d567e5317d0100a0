/** A small GPT the GPT tests share: three partitions (read-only, growfs, a non-ASCII name), its disk image and reader. */
import { decodeGpt, encodeGpt, GPT_ATTR, GPT_PRIMARY_READ, GptTable, planGpt, SECTOR } from "../../src/formats/gpt/index.js";

export const TYPE_A = "0fc63daf-8483-4772-8e79-3d69d8477de4";
export const TYPE_B = "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5";

export function sampleGpt(): GptTable {
  return planGpt({
    diskGuid: "03a85771-c293-4315-9699-c5764f9cf209",
    partitions: [
      { type: TYPE_A, guid: "f4cf7bfd-7333-5519-a18c-503217f69b30", name: "root-x86-64", size: 3002368, attributes: GPT_ATTR.readOnly },
      { type: TYPE_B, guid: "52aa917f-353f-6410-1f89-d0d127423b8e", name: "verity é", size: 512, attributes: 0n },
      { type: TYPE_A, guid: "11111111-2222-3333-4444-555555555555", name: "x".repeat(36), size: 8192, attributes: GPT_ATTR.readOnly | GPT_ATTR.growfs },
    ],
  });
}

/** the whole disk: primary at the start, backup at its offset, zeros between */
export function gptDisk(t: GptTable): Uint8Array {
  const g = encodeGpt(t);
  const d = new Uint8Array(t.sectors * SECTOR);
  d.set(g.primary, 0);
  d.set(g.backup, g.backupOffset);
  return d;
}

export const decodeDisk = (d: Uint8Array) => decodeGpt(d.subarray(0, GPT_PRIMARY_READ), d.length, (lba, n) => d.slice(lba * SECTOR, (lba + n) * SECTOR), "t.img");
