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

test("with verity_cert, storage-init verifies a DDI's signature partition against the pinned certificate before using it", () => withTempDir(async (dir) => {
  const bin = helper();
  const src = join(dir, "src");
  mkdirSync(src);
  writeFileSync(join(src, "blob"), randomBytes(100_000, 21));
  const erofs = join(dir, "root.erofs");
  mkfsErofs(erofs, src, ["-T0"]);
  const key = makeTestKey(dir);
  const stranger = makeTestKey(dir, "stranger");
  const der = join(dir, "signer.der");
  run("openssl", ["x509", "-in", key.certFile, "-outform", "DER", "-out", der]);
  const img = join(dir, "ddi.raw");
  const w = await writeDdi(erofs, img, { salt: randomBytes(32, 22), uuid: randomBytes(16, 23), sign: { key: key.key, cert: readFileSync(key.certFile) } });
  const [, verity, sig] = w.table.partitions;
  const base = { ...dmVerityConfigOf({ ...w.params, hashOffset: verity.offset }, w.rootHash), imageFormat: "ddi" as const };
  const conf = (name: string, certificate: string, c = base) => {
    const f = join(dir, name);
    writeFileSync(f, renderConfig({ ...BASE, integrity: { ...c, certificate } }), "latin1");
    return f;
  };
  const refused = (name: string, config: string, image: string, why: RegExp) => {
    const r = run(bin, [config, image], { allowFail: true });
    assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, why, name);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${name}: one line`);
  };
  // the signer, pinned as DER (what the build writes) or PEM
  assert.match(run(bin, [conf("der.conf", der), img]).stdout, /sig=1$/m);
  assert.match(run(bin, [conf("pem.conf", key.certFile), img]).stdout, /sig=1$/m);
  refused("another signer pinned", conf("stranger.conf", stranger.certFile), img, /signature partition: signature offset \d+: the signer \(issuer and serial number\) is not the pinned certificate/);
  const bytes = readFileSync(img);
  const json = bytes.subarray(sig.offset, sig.offset + sig.size).toString("latin1");
  const b64 = /"signature":"([^"]+)"/.exec(json)![1];
  const withSignature = (name: string, p7: Buffer) => {
    const b = Buffer.from(bytes);
    const text = json.replace(b64, p7.toString("base64")).replace(/\0+$/, "");
    assert.ok(text.length < sig.size);
    b.fill(0, sig.offset, sig.offset + sig.size);
    b.write(text, sig.offset, "latin1");
    const f = join(dir, name);
    writeFileSync(f, b);
    return f;
  };
  const p7 = Buffer.from(b64, "base64");
  const flipped = Buffer.from(p7);
  flipped[flipped.length - 1] ^= 1;
  refused("flipped signature byte", conf("c1.conf", der), withSignature("flip.raw", flipped), /^.*signature partition: signature: does not verify against the pinned certificate \(sha256\)$/m);
  // the JSON names the right root hash, the signature is the signer's but over another root hash
  const otherHash = (w.rootHash[0] === 0 ? "1" : "0") + Buffer.from(w.rootHash).toString("hex").slice(1);
  const content = join(dir, "other-roothash");
  writeFileSync(content, otherHash);
  const replayed = join(dir, "replayed.p7s");
  run("openssl", ["smime", "-sign", "-binary", "-noattr", "-nocerts", "-outform", "DER", "-in", content, "-signer", key.certFile, "-inkey", key.keyFile, "-out", replayed]);
  const rp = readFileSync(replayed);
  refused("another root hash's signature", conf("c2.conf", der), withSignature("replay.raw", rp), /signature: does not verify against the pinned certificate/);
  refused("signature not base64", conf("c3.conf", der), withSignature("b64.raw", Buffer.alloc(0)), /signature partition: signature offset 0: expected ContentInfo, got the end of the data$/m);
  // an unsigned DDI while a signer is pinned: fail closed
  const unsigned = join(dir, "unsigned.raw");
  const u = await writeDdi(erofs, unsigned, { salt: randomBytes(32, 22), uuid: randomBytes(16, 23) });
  const uc = conf("u.conf", der, { ...dmVerityConfigOf({ ...u.params, hashOffset: u.table.partitions[1].offset }, u.rootHash), imageFormat: "ddi" as const });
  refused("unsigned DDI", uc, unsigned, /verity_cert pins a signer, but the image has no root-verity-sig partition/);
}));
