/** inspect and verify on DDIs: partitions, root hash, signer; a pinned root hash or certificate, exit 1 on mismatch. */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { dmVerityConfigOf, renderIntegrity } from "../../src/formats/storage-init-config/index.js";
import { toHex } from "../../src/formats/verity/algorithms.js";
import { writeDdi } from "../../src/integrity/ddi-file.js";
import { cli } from "../helpers/cli.js";
import { mkfsErofs } from "../helpers/erofs.js";
import { makeTestKey } from "../helpers/keys.js";
import { randomBytes } from "../helpers/prng.js";
import { run } from "../helpers/run.js";
import { withTempDir } from "../helpers/tmp.js";

test("inspect shows a DDI's partitions and signer as sfdisk and openssl see them; verify pins the root hash or the signer", () => withTempDir(async (dir) => {
  const src = join(dir, "src");
  mkdirSync(src);
  writeFileSync(join(src, "a"), randomBytes(100_000, 21));
  const erofs = join(dir, "root.erofs");
  mkfsErofs(erofs, src, ["-T0"]);
  const key = makeTestKey(dir);
  const other = makeTestKey(dir, "other");
  const img = join(dir, "ddi.raw");
  const w = await writeDdi(erofs, img, { salt: randomBytes(32, 22), uuid: randomBytes(16, 23), sign: { key: key.key, cert: readFileSync(key.certFile) } });
  const hex = toHex(w.rootHash);
  const r = cli(["inspect", "--json", img]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout.toString());
  const sf = JSON.parse(run("sfdisk", ["--json", img]).stdout).partitiontable;
  assert.equal(j.ddi.diskGuid, sf.id.toLowerCase());
  assert.deepEqual(j.ddi.partitions.map((p: Record<string, unknown>) => [p.role, (p.offset as number) / 512, (p.size as number) / 512, p.guid]),
    sf.partitions.map((p: Record<string, string>, i: number) => [["root", "root-verity", "root-verity-sig"][i], p.start, p.size, p.uuid.toLowerCase()]));
  assert.equal(j.ddi.rootHashFromGuids, hex);
  assert.equal(j.ddi.signature.rootHash, hex);
  const fp = run("openssl", ["x509", "-in", key.certFile, "-noout", "-fingerprint", "-sha256"]).stdout.split("=")[1].trim().replace(/:/g, "").toLowerCase();
  assert.equal(j.ddi.signature.certificateFingerprint, fp);
  assert.equal(j.ddi.signature.verified, false, "inspect checks no signature");
  assert.deepEqual(j.ddi.partitions.map((p: Record<string, unknown>) => [p.typeName, p.readOnly]), [["root-x86-64", true], ["root-x86-64-verity", true], ["root-x86-64-verity-sig", true]]);
  assert.equal(j.blocks, readFileSync(erofs).length / 4096, "the EROFS part is the root partition's");
  assert.match(cli(["inspect", img]).stdout.toString(), /partition 3 +root-verity-sig, type root-x86-64-verity-sig 41092b05-9fc8-4523-994f-2def0408b176, label "root-x86-64-verity-sig", at \d+, 4096 bytes, GUID [0-9a-f-]{36}, read-only$/m);

  const ok = (args: string[]) => cli(["verify", ...args, img]);
  assert.equal(ok(["--roothash", hex]).code, 0);
  const v = ok(["--roothash", hex, "--cert", key.certFile]);
  assert.equal(v.code, 0, v.stdout.toString());
  assert.match(v.stdout.toString(), /OK \(dm-verity [0-9a-f]{64}, signature verified\)/);
  // systemd-dissect's spelling; --json carries the partitions and the signer
  const vj = JSON.parse(ok(["--root-hash", hex, "--cert", key.certFile, "--json"]).stdout.toString());
  assert.deepEqual([vj.ok, vj.computed, vj.signature, vj.signer, vj.ddi.partitions.length], [true, hex, "verified", fp, 3]);
  assert.equal(ok(["--root-hash", hex, "--roothash", hex]).code, 2);
  const wrong = ok(["--roothash", "00".repeat(32)]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout.toString(), /does not match the pinned 0{64}/);
  const wrongSigner = ok(["--cert", other.certFile]);
  assert.equal(wrongSigner.code, 1);
  assert.match(wrongSigner.stdout.toString(), /signed by certificate [0-9a-f]{64}, expected [0-9a-f]{64}/);
  // damaged GPT: one line naming the file, offset and what was expected
  const b = readFileSync(img);
  b[512 + 40] ^= 1;
  const bad = join(dir, "bad.raw");
  writeFileSync(bad, b);
  const rb = cli(["verify", "--roothash", hex, bad]);
  assert.notEqual(rb.code, 0);
  assert.match(rb.stderr, new RegExp(`${bad.replace(/[.]/g, "\\.")}: offset 528: GPT: header CRC32 mismatch`));
  assert.equal(rb.stdout.length, 0);
}));

test("build --image-format: ddi needs dm-verity; an unknown format is refused before anything is read", () => {
  const base = ["build", "--boot", "UUID=5a1e0b7e-0000-4000-8000-b00770000009", "--initramfs", "/nonexistent/initrd.img", "--kver", "9.9.9"];
  const copy = cli([...base, "--image-format", "ddi", "--integrity", "copy"]);
  assert.equal(copy.code, 2, copy.stderr);
  assert.match(copy.stderr, /--image-format ddi: needs --integrity dm-verity/);
  const sha1 = cli([...base, "--image-format", "ddi", "--integrity-hash", "sha1"]);
  assert.equal(sha1.code, 2, sha1.stderr);
  assert.match(sha1.stderr, /--image-format ddi: needs --integrity-hash sha256 or sha512/);
  const bogus = cli([...base, "--image-format", "gpt"]);
  assert.equal(bogus.code, 2, bogus.stderr);
  assert.match(bogus.stderr, /--image-format: expected plain, ddi/);
});

test("verify --mini on a DDI checks its signature partition against the mini's verity_cert, as storage-init does", () => withTempDir(async (dir) => {
  const src = join(dir, "src");
  mkdirSync(src);
  writeFileSync(join(src, "a"), randomBytes(50_000, 31));
  const erofs = join(dir, "root.erofs");
  mkfsErofs(erofs, src, ["-T0"]);
  const key = makeTestKey(dir);
  const other = makeTestKey(dir, "other");
  const ddi = async (name: string, k: typeof key) => {
    const img = join(dir, name);
    const w = await writeDdi(erofs, img, { salt: randomBytes(32, 32), uuid: randomBytes(16, 33), sign: { key: k.key, cert: readFileSync(k.certFile) } });
    return { img, w };
  };
  const good = await ddi("good.raw", key);
  const wrong = await ddi("wrong.raw", other); // same data, salt and root hash; another signer
  const der = join(dir, "cert.der");
  run("openssl", ["x509", "-in", key.certFile, "-outform", "DER", "-out", der]);
  const root = join(dir, "mini");
  mkdirSync(join(root, "etc/initoverlayfs"), { recursive: true });
  writeFileSync(join(root, "etc/initoverlayfs/verity-cert.der"), readFileSync(der));
  const integrity = { ...dmVerityConfigOf({ ...good.w.params, hashOffset: good.w.table.partitions[1].offset }, good.w.rootHash), imageFormat: "ddi" as const, certificate: "/etc/initoverlayfs/verity-cert.der" };
  writeFileSync(join(root, "etc/initoverlayfs.conf"), ["boot = UUID=1234", "image = /initoverlayfs.img", ...renderIntegrity(integrity)].join("\n") + "\n");
  const mini = join(dir, "mini.img");
  run("sh", ["-c", 'find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9 > "$0"', mini], { cwd: root });
  const r = cli(["verify", good.img, "--mini", mini]);
  assert.equal(r.code, 0, r.stdout.toString() + r.stderr);
  assert.match(r.stdout.toString(), /OK/);
  const bad = cli(["verify", wrong.img, "--mini", mini]);
  assert.equal(bad.code, 1, bad.stdout.toString() + bad.stderr);
  assert.match(bad.stdout.toString() + bad.stderr, /signed by certificate [0-9a-f]{64}, expected [0-9a-f]{64}/);
}));
