/**
 * storage-init's DDI checks (storage-init/src/ddi.c, through the host helper build/ddi-locate) on
 * DDIs writeDdi makes (byte-identical to systemd-repart's, test/formats/ddi): the root and
 * root-verity partitions found by type, the layout and GUIDs against the pinned config, the
 * signature JSON's root hash; a damaged GPT or JSON, or a layout the config does not pin, refused
 * with one line. Data and hash damage is the kernel's to find (test/boot/ddi.test.ts).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { dmVerityConfigOf, renderConfig } from "../../src/formats/storage-init-config/index.js";
import { writeDdi } from "../../src/integrity/ddi-file.js";
import { packageRoot } from "../../src/io/package-files.js";
import { mkfsErofs } from "../helpers/erofs.js";
import { makeTestKey } from "../helpers/keys.js";
import { randomBytes } from "../helpers/prng.js";
import { run } from "../helpers/run.js";
import { BASE } from "../helpers/storage-init-configs.js";
import { withTempDir } from "../helpers/tmp.js";

function helper(): string {
  const dir = join(packageRoot()!, "storage-init");
  run("make", ["-s", "-C", dir, "build/ddi-locate"], { timeoutMs: 300_000 });
  return join(dir, "build", "ddi-locate");
}

test("storage-init finds the partitions of our DDIs and refuses what does not match the pin", () => withTempDir(async (dir) => {
  const bin = helper();
  const src = join(dir, "src");
  mkdirSync(src);
  writeFileSync(join(src, "blob"), randomBytes(300_000, 11));
  const erofs = join(dir, "root.erofs");
  mkfsErofs(erofs, src, ["-T0"]);
  const key = makeTestKey(dir);
  const img = join(dir, "ddi.raw");
  const w = await writeDdi(erofs, img, { salt: randomBytes(32, 12), uuid: randomBytes(16, 13), sign: { key: key.key, cert: readFileSync(key.certFile) } });
  const [root, verity, sig] = w.table.partitions;
  const config = { ...dmVerityConfigOf({ ...w.params, hashOffset: verity.offset }, w.rootHash), imageFormat: "ddi" as const };
  const conf = (name: string, c = config) => {
    const f = join(dir, name);
    writeFileSync(f, renderConfig({ ...BASE, integrity: c }), "latin1");
    return f;
  };
  const good = conf("good.conf");
  assert.equal(run(bin, [good, img]).stdout.trim(), `root=${root.offset}+${root.size} verity=${verity.offset}+${verity.size} sig=1`);
  const refused = (name: string, config: string, image: string, why: RegExp) => {
    const r = run(bin, [config, image], { allowFail: true });
    assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, why, name);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: one line`);
  };
  const bytes = readFileSync(img);
  const damaged = (name: string, damage: (b: Buffer) => void) => {
    const b = Buffer.from(bytes);
    damage(b);
    const f = join(dir, name);
    writeFileSync(f, b);
    return f;
  };
  refused("GPT header", good, damaged("hdr.raw", (b) => (b[512 + 40] ^= 1)), /offset 512: GPT header: bad signature, size, CRC/);
  refused("GPT entries", good, damaged("ent.raw", (b) => (b[1024 + 40] ^= 1)), /offset 1024: GPT entry array: not at LBA 2 or CRC32 mismatch/);
  refused("MBR", good, damaged("mbr.raw", (b) => (b[450] = 0x83)), /offset 446: expected a protective MBR/);
  const hex = config.rootHash;
  const other = (hex[0] === "0" ? "1" : "0") + hex.slice(1);
  const json = bytes.subarray(sig.offset, sig.offset + sig.size).toString("latin1");
  refused("signature JSON", good, damaged("sig.raw", (b) => b.write(json.replace(hex, other), sig.offset, "latin1")), /the signature partition names another root hash than the pinned/);
  refused("signature JSON without padding", good, damaged("nonul.raw", (b) => b.fill(0x20, sig.offset + json.indexOf("\0"), sig.offset + sig.size)), /signature JSON: no NUL/);
  // the pin: another root hash (the GUIDs no longer match), another hash offset, too many blocks
  refused("root hash", conf("rh.conf", { ...config, rootHash: other }), img, /partition GUIDs are not the pinned root hash's halves|names another root hash/);
  refused("hash offset", conf("off.conf", { ...config, hashOffset: verity.offset + 4096 }), img, /root-verity partition at offset \d+, the config pins \d+/);
  refused("data blocks", conf("blk.conf", { ...config, dataBlocks: root.size / 4096 + 1 }), img, /root partition of \d+ bytes, the config needs \d+ blocks/);
  // a plain image under image_format = ddi: no GPT
  refused("plain image", good, erofs, /protective MBR|too small/);
  // unsigned: no signature partition is fine
  const unsigned = join(dir, "unsigned.raw");
  const u = await writeDdi(erofs, unsigned, { salt: randomBytes(32, 12), uuid: randomBytes(16, 13) });
  const uc = conf("u.conf", { ...dmVerityConfigOf({ ...u.params, hashOffset: u.table.partitions[1].offset }, u.rootHash), imageFormat: "ddi" });
  assert.match(run(bin, [uc, unsigned]).stdout, /sig=0$/m);
  // sha512: the GUIDs are the first and last 128 bits of a 512-bit root hash
  const s512 = join(dir, "sha512.raw");
  const w5 = await writeDdi(erofs, s512, { salt: randomBytes(32, 12), uuid: randomBytes(16, 13), algorithm: "sha512" });
  const c5 = conf("s512.conf", { ...dmVerityConfigOf({ ...w5.params, hashOffset: w5.table.partitions[1].offset }, w5.rootHash), imageFormat: "ddi" });
  assert.equal(w5.rootHash.length, 64);
  assert.match(run(bin, [c5, s512]).stdout, /sig=0$/m);
  refused("sha512 root hash pinned for another DDI", c5, unsigned, /partition GUIDs are not the pinned root hash's halves|root-verity partition at offset/);
}));
