/** The integrity keys of the mini initramfs config: rendered, parsed back, and refused when malformed. */
import test from "node:test";
import assert from "node:assert/strict";
import { IntegrityConfig, parseIntegrity, renderIntegrity } from "../../src/pipeline/integrity-config.js";
import { lastValues, parseConfigText, renderConfig } from "../../src/pipeline/mini-initramfs.js";

const DM: IntegrityConfig = {
  mode: "dm-verity", rootHash: "e522df0f97da4febb882ac40f30b37dc0b444bf6df418929463fa25280f09d5c",
  salt: "e48da609055204e89ae53b655ca2216dd983cf3cb829f34f63a297d106d53e2d", hashAlgorithm: "sha256", hashType: 1,
  dataBlocks: 2048, hashOffset: 2048 * 4096, signature: "/etc/initoverlayfs.roothash.p7s",
};
const CASES: IntegrityConfig[] = [
  { mode: "none" },
  DM,
  { ...DM, salt: "", signature: undefined } as IntegrityConfig,
  { mode: "copy", algorithm: "sha256", digest: "48df0c462329cd879661bd05b39aa81b05cc16afd27a7196a559da83531d39d9" },
  { mode: "fs-verity", algorithm: "sha512", digest: "ab".repeat(64) },
];

test("integrity config: render → parse gives the same setting", () => {
  for (const c of CASES) {
    const text = renderConfig({ boot: "UUID=1234", image: "/i.img", init: "/init", timeout: 5, failure: "panic", modules: [], shims: [], integrity: c });
    const back = parseIntegrity(lastValues(parseConfigText(text)));
    const want = JSON.parse(JSON.stringify(c));
    assert.deepEqual(back, want, text);
  }
  assert.match(renderIntegrity({ ...DM, salt: "" }).join("\n"), /^verity_salt = -$/m);
});

test("integrity config: malformed values are refused with the key named", () => {
  const base = lastValues(parseConfigText(renderIntegrity(DM).join("\n")));
  const bad: [string, string, RegExp][] = [
    ["integrity", "maybe", /integrity: expected none, dm-verity/],
    ["verity_roothash", "abc", /verity_roothash: expected hex/],
    ["verity_roothash", "00".repeat(31), /expected 64 hex digits/],
    ["verity_hashalg", "md5", /verity_hashalg/],
    ["verity_format", "2", /verity_format/],
    ["verity_data_blocks", "0", /at least 1/],
    ["verity_hash_offset", "4097", /multiple of 4096/],
    ["verity_hash_offset", "4096", /overlaps/],
    ["verity_sig", "rel/path", /absolute/],
  ];
  for (const [k, v, re] of bad) {
    const m = new Map(base);
    m.set(k, v);
    assert.throws(() => parseIntegrity(m), re, `${k}=${v}`);
  }
  const noDigest = new Map([["integrity", "copy"]]);
  assert.throws(() => parseIntegrity(noDigest), /digest: missing/);
  assert.throws(() => parseIntegrity(new Map([["integrity", "copy"], ["digest", "md5:00"]])), /sha256:HEX/);
});

test("config text parser: comments, quotes, dashes in keys, repeated keys; bad lines name the offset", () => {
  const pairs = parseConfigText('# c\n  boot = "LABEL= x "\nmodule = /a.ko p=1\nmodule=/b.ko\nverity-salt = -\n');
  assert.deepEqual(pairs, [["boot", "LABEL= x "], ["module", "/a.ko p=1"], ["module", "/b.ko"], ["verity_salt", "-"]]);
  assert.throws(() => parseConfigText("a = 1\nnovalue\n", "x.conf"), /x\.conf.*offset 6.*key = value/);
  assert.throws(() => parseConfigText('a = "open\n'), /quoted/);
});
