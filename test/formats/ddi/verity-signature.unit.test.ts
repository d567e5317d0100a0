/** The root-verity-sig JSON: systemd-repart's key order and padding; the reader is strict about what it uses. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FormatError } from "../../../src/errors.js";
import { decodeVeritySignature, encodeVeritySignature, planDdi } from "../../../src/formats/ddi/index.js";

const RH = "d511cd46b8f35b3428996362acba2a7103bc3fd5282835ab1132e0f8c80fb1c0";
const FP = "319cb0a628dade860fa3502bfe42a6152e866c371e197392d4848dd385a17493";
const s = { rootHash: RH, certificateFingerprint: FP, signature: new Uint8Array([0x30, 0x82, 1, 2, 3]) };

test("encoded as repart writes it: compact JSON, NUL-padded to 4096", () => {
  const b = encodeVeritySignature(s);
  assert.equal(b.length, 4096);
  const text = Buffer.from(b).toString("latin1").replace(/\0+$/, "");
  assert.equal(text, `{"rootHash":"${RH}","certificateFingerprint":"${FP}","signature":"MIIBAgM="}`);
  assert.deepEqual(decodeVeritySignature(b), s);
});

test("malformed JSON is refused at its offset", () => {
  const enc = (t: string, pad = 10) => {
    const b = new Uint8Array(t.length + pad);
    b.set(Buffer.from(t, "latin1"));
    return b;
  };
  const bad: [Uint8Array, RegExp][] = [
    [new Uint8Array(4096), /empty/],
    [enc("[1]"), /expected a JSON object/],
    [enc("{"), /not JSON/],
    [enc(`{"rootHash":"${RH.toUpperCase()}","certificateFingerprint":"${FP}","signature":"AA=="}`), /"rootHash": expected lower-case hex/],
    [enc(`{"rootHash":"${RH}","signature":"AA=="}`), /"certificateFingerprint"/],
    [enc(`{"rootHash":"${RH}","certificateFingerprint":"${FP}","signature":"A!=="}`), /"signature": expected base64/],
  ];
  for (const [b, why] of bad) assert.throws(() => decodeVeritySignature(b, 8192, "img"), (e: unknown) => e instanceof FormatError && e.offset === 8192 && why.test(e.message), String(why));
  const trailing = encodeVeritySignature(s);
  trailing[4000] = 0x20;
  assert.throws(() => decodeVeritySignature(trailing, 8192, "img"), /img: offset 12192: verity signature JSON: expected NUL padding/);
});

test("partition GUIDs are the root hash's halves; names and attributes as repart's", () => {
  const t = planDdi({ arch: "x86-64", rootHash: Buffer.from(RH, "hex"), dataSize: 5000, hashSize: 4096, signatureSize: 4096 });
  assert.deepEqual(t.partitions.map((p) => [p.guid, p.name, p.size, p.attributes]), [
    ["d511cd46-b8f3-5b34-2899-6362acba2a71", "root-x86-64", 8192, 1n << 60n],
    ["03bc3fd5-2828-35ab-1132-e0f8c80fb1c0", "root-x86-64-verity", 4096, 1n << 60n],
    [t.partitions[2].guid, "root-x86-64-verity-sig", 4096, 1n << 60n],
  ]);
  // same root hash, same disk: the free GUIDs are derived, not random
  assert.deepEqual(planDdi({ arch: "x86-64", rootHash: Buffer.from(RH, "hex"), dataSize: 5000, hashSize: 4096, signatureSize: 4096 }), t);
});
