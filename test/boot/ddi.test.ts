/**
 * The image as a Discoverable Disk Image, booted in QEMU (Debian's kernel: dm-verity): storage-init
 * reads the GPT from the image file, finds the root and root-verity partitions, and the kernel
 * verifies the root partition against the hash partition with the pinned root hash. Each damaged
 * DDI is refused: a data byte and a hash partition byte by the kernel when read, the GPT and the
 * signature JSON's root hash by storage-init before anything is attached.
 */
import test, { after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildPair, BuildResult } from "../../src/pipeline/build.js";
import { ErofsImage } from "../../src/formats/erofs/reader.js";
import { toByteString } from "../../src/fs/tree.js";
import { readDdi } from "../../src/integrity/ddi-file.js";
import { makeTestKey } from "../helpers/keys.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { assertNothingLeft, boot, BootResult, KVER, makeBootDisk, makeRootDisk, rootReport, STOCK_INITRD, tail } from "./vm.js";

const BOOT_UUID = "5a1e0b7e-0000-4000-8000-b00770000003";
const IMAGE = `initoverlayfs-${KVER}.img`;
let work: string;
let root: string;
let plain: BuildResult;
let signed: BuildResult;
let disk: string;

before(async () => {
  work = makeTempDir("iofs-ddi-boot-");
  root = makeRootDisk(work);
  plain = await buildPair({ initramfs: STOCK_INITRD, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "plain"), integrity: "dm-verity", imageFormat: "ddi" });
  const keys = join(work, "keys");
  mkdirSync(keys);
  const key = makeTestKey(keys);
  signed = await buildPair({
    initramfs: STOCK_INITRD, kver: KVER, boot: `UUID=${BOOT_UUID}`, outputDir: join(work, "signed"), integrity: "dm-verity", imageFormat: "ddi",
    signKey: key.keyFile, signCert: key.certFile,
  });
  const good = readFileSync(plain.image.path);
  const info = readDdi(plain.image.path);
  const [rootPart, verityPart] = [info.parts.root, info.parts.verity];
  const erofs = ErofsImage.open(good.subarray(rootPart.offset, rootPart.offset + rootPart.size));
  const init = erofs.lookup(toByteString("init"));
  assert.ok(init && init.size > 100);
  const inInit = init.compressed ? ((e) => e.physical + e.plen - 64)(erofs.compressedMap(init).extents[0]) : erofs.physicalOffset(init, 64);
  assert.ok(inInit !== undefined);
  const flip = (name: string, at: number) => {
    const b = Buffer.from(good);
    b[at] ^= 1;
    const p = join(work, name);
    writeFileSync(p, b);
    return p;
  };
  // the signed DDI with another root hash in its signature JSON (a hash the data do not give)
  const s = Buffer.from(readFileSync(signed.image.path));
  const sig = readDdi(signed.image.path).parts.signature!;
  const rh = signed.integrity.mode === "dm-verity" ? signed.integrity.rootHash : "";
  const json = s.subarray(sig.offset, sig.offset + sig.size).toString("latin1");
  s.write(json.replace(rh, (rh[0] === "0" ? "1" : "0") + rh.slice(1)), sig.offset, "latin1");
  const badJson = join(work, "bad-json.img");
  writeFileSync(badJson, s);
  // the signed DDI with one flipped byte in its PKCS#7 signature (the JSON stays well-formed)
  const p7 = Buffer.from(readFileSync(signed.image.path));
  const b64 = /"signature":"([^"]+)"/.exec(json)![1];
  const der = Buffer.from(b64, "base64");
  der[der.length - 1] ^= 1;
  p7.write(json.replace(b64, der.toString("base64")), sig.offset, "latin1");
  const badP7 = join(work, "bad-p7.img");
  writeFileSync(badP7, p7);
  disk = makeBootDisk(work, "ext4", {
    [IMAGE]: plain.image.path,
    "bad-data.img": flip("bad-data.img", rootPart.offset + inInit),
    // the top hash block: every read is checked against it first
    "bad-hash.img": flip("bad-hash.img", verityPart.offset + 4096 + 5),
    "bad-gpt.img": flip("bad-gpt.img", 512 + 40),
    "bad-json.img": badJson,
    "signed.img": signed.image.path,
    "bad-p7.img": badP7,
  }, { uuid: BOOT_UUID, tag: "-ddi" });
});

after(() => removeDir(work));

function refused(r: BootResult, what: string, line: RegExp) {
  assert.ok(!r.timedOut, `${what}: timed out\n${tail(r.console)}`);
  assert.ok(!rootReport(r.console).reached, `${what}: the damaged DDI booted\n${tail(r.console)}`);
  assert.match(r.console, line, `${what}: no clear line\n${tail(r.console)}`);
}

test("DDI: the good image boots; its dm devices and loop device go away after the switch", async () => {
  const r = await boot({ initrd: plain.mini.path, disks: [root, disk] });
  const rep = rootReport(r.console);
  assert.ok(!r.timedOut && rep.reached && rep.done, `did not reach the test root\n${tail(r.console)}`);
  assert.match(r.console, /initoverlayfs: image \S+: DDI, root partition at 1048576 \(\d+ bytes\), root-verity at \d+, no signature partition/, tail(r.console));
  assert.match(r.console, /initoverlayfs: image: root partition is \S+ \(linear/, tail(r.console));
  assertNothingLeft(r.console, "DDI");
});

test("DDI: a flipped data byte and a flipped hash partition byte are refused by the kernel when read", async () => {
  for (const name of ["bad-data.img", "bad-hash.img"]) {
    const r = await boot({ initrd: plain.mini.path, disks: [root, disk], timeoutSeconds: 150, append: `initoverlayfs.image=/${name}` });
    refused(r, name, /verity.*(corrupt|mismatch)/i);
    assert.match(r.console, /Kernel panic/);
  }
});

test("DDI: a damaged GPT and a signature JSON naming another root hash are refused before anything is attached", async () => {
  const r = await boot({ initrd: plain.mini.path, disks: [root, disk], timeoutSeconds: 150, append: "initoverlayfs.image=/bad-gpt.img" });
  refused(r, "GPT", /initoverlayfs: FAILED at read DDI[^\n]*bad-gpt\.img[^\n]*GPT header/);
  const rs = await boot({ initrd: signed.mini.path, disks: [root, disk], timeoutSeconds: 150, append: "initoverlayfs.image=/bad-json.img" });
  refused(rs, "signature JSON", /initoverlayfs: FAILED at read DDI[^\n]*bad-json\.img[^\n]*names another root hash/);
  assert.doesNotMatch(rs.console, /initoverlayfs-verity/, "nothing was attached");
});

test("DDI signed: storage-init checks the signature partition against the certificate the build pinned, before the kernel sees the root hash", async () => {
  assert.equal(signed.integrity.mode === "dm-verity" && signed.integrity.certificate, "/etc/initoverlayfs/verity-cert.der");
  // the good signature passes storage-init; the kernel then refuses the test key (not in its keyrings)
  const r = await boot({ initrd: signed.mini.path, disks: [root, disk], timeoutSeconds: 150, append: "initoverlayfs.image=/signed.img" });
  assert.match(r.console, /initoverlayfs: image \S+signed\.img: DDI, [^\n]*verifies against the pinned certificate/, tail(r.console));
  refused(r, "untrusted key", /verity: Root hash verification failed/);
  // a flipped signature byte: refused by storage-init, nothing attached
  const rb = await boot({ initrd: signed.mini.path, disks: [root, disk], timeoutSeconds: 150, append: "initoverlayfs.image=/bad-p7.img" });
  refused(rb, "flipped signature byte", /initoverlayfs: FAILED at read DDI[^\n]*bad-p7\.img[^\n]*signature partition: signature: does not verify against the pinned certificate \(sha256\)/);
  assert.doesNotMatch(rb.console, /initoverlayfs-verity/, "nothing was attached");
});
