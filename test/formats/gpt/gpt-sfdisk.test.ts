/** GPT against util-linux's sfdisk (libfdisk): what we write, sfdisk reads as planned; what sfdisk writes, we read as it reports. */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { GPT_ATTR, SECTOR } from "../../../src/formats/gpt/index.js";
import { run } from "../../helpers/run.js";
import { withTempDir } from "../../helpers/tmp.js";
import { decodeDisk, gptDisk, sampleGpt, TYPE_A, TYPE_B } from "../../helpers/gpt.js";


test("sfdisk reads what we write as planned", () => withTempDir((dir) => {
  const t = sampleGpt();
  const f = join(dir, "t.img");
  writeFileSync(f, gptDisk(t));
  const j = JSON.parse(run("sfdisk", ["--json", f]).stdout).partitiontable;
  assert.equal(j.label, "gpt");
  assert.equal(j.id, t.diskGuid.toUpperCase());
  assert.equal(j.firstlba, t.firstUsable);
  assert.equal(j.lastlba, t.lastUsable);
  assert.deepEqual(j.partitions.map((p: Record<string, unknown>) => [p.start, p.size, p.type, p.uuid, p.name, p.attrs]), [
    [2048, 5864, TYPE_A.toUpperCase(), "F4CF7BFD-7333-5519-A18C-503217F69B30", "root-x86-64", "GUID:60"],
    [7912, 1, TYPE_B.toUpperCase(), "52AA917F-353F-6410-1F89-D0D127423B8E", "verity é", undefined],
    [7920, 16, TYPE_A.toUpperCase(), "11111111-2222-3333-4444-555555555555", "x".repeat(36), "GUID:59,60"],
  ]);
  // sfdisk --verify checks both headers, both arrays and their CRCs
  assert.match(run("sfdisk", ["--verify", f]).stdout, /No errors detected/);
  assert.deepEqual(decodeDisk(readFileSync(f)), t);
}));

test("we read what sfdisk writes as sfdisk reports it", () => withTempDir((dir) => {
  const f = join(dir, "s.img");
  writeFileSync(f, new Uint8Array(8 << 20));
  run("sfdisk", ["-q", f], { input: `label: gpt\nlabel-id: 9E2C7A4B-1B53-4D6B-9C65-2B3A7F1E0D11\nsize=2M,type=${TYPE_A},name=one\nsize=1M,type=${TYPE_B},name=two,attrs="GUID:60"\n` });
  const j = JSON.parse(run("sfdisk", ["--json", f]).stdout).partitiontable;
  const t = decodeDisk(readFileSync(f));
  assert.equal(t.diskGuid, j.id.toLowerCase());
  assert.equal(t.firstUsable, j.firstlba);
  assert.equal(t.lastUsable, j.lastlba);
  assert.deepEqual(t.partitions.map((p) => [p.firstLba, p.size / SECTOR, p.type, p.guid, p.name, p.attributes]),
    j.partitions.map((p: Record<string, string>, i: number) => [p.start, p.size, p.type.toLowerCase(), p.uuid.toLowerCase(), p.name, i === 1 ? GPT_ATTR.readOnly : 0n]));
}));

