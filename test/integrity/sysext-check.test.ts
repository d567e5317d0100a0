/**
 * Would storage-init stack it? Extensions made by our `sysext` command next to an image made by
 * `convert`, judged in storage-init's order against pins, as `status` reports them. No root (it runs the CLI and openssl).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readDdi } from "../../src/integrity/ddi-file.js";
import { extensionDirsOf, hostDdiArch, judgeExtension, judgeExtensionDirs } from "../../src/integrity/sysext-check.js";
import { imageOsId } from "../../src/install/extensions.js";
import { cli } from "../helpers/cli.js";
import { makeTestKey } from "../helpers/keys.js";
import { hasCommand, run } from "../helpers/run.js";
import { withTempDir } from "../helpers/tmp.js";

function sysext(dir: string, out: string, args: string[], file = "usr/bin/tool"): string {
  const tree = join(dir, `tree-${out.replace(/\W/g, "_")}`);
  mkdirSync(join(tree, file, ".."), { recursive: true });
  writeFileSync(join(tree, file), `${out}\n`);
  const r = cli(["sysext", tree, "-o", out, "--json", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.toString()).rootHash;
}

test("extensions next to an image, judged as storage-init judges them: pinned, signed by the pinned signer, and each reason to skip", () => withTempDir(async (dir) => {
  // the image: os-release a symlink into usr/lib, as Debian and Fedora ship it
  const root = join(dir, "root");
  mkdirSync(join(root, "usr/lib"), { recursive: true });
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "usr/lib/os-release"), 'NAME="Debian"\nID=debian\n');
  symlinkSync("../usr/lib/os-release", join(root, "etc/os-release"));
  const boot = join(dir, "boot");
  mkdirSync(boot);
  const image = join(boot, "initoverlayfs-6.1.0-test.img");
  assert.equal(cli(["convert", root, "-o", image]).code, 0);
  assert.equal(imageOsId(image), "debian");
  assert.equal(imageOsId(join(boot, "absent.img")), undefined);

  const [shared, own] = extensionDirsOf(image);
  assert.deepEqual([shared, own], [join(boot, "initoverlayfs-extensions"), `${image}.extra.d`]);
  mkdirSync(shared);
  mkdirSync(own);
  const signer = makeTestKey(dir, "signer");
  const other = makeTestKey(dir, "other");
  const initrd = ["--scope", "initrd"];
  const pinned = [
    sysext(dir, join(shared, "a-pinned.raw"), ["--id", "_any", ...initrd]),
    sysext(dir, join(shared, "e-system.raw"), ["--id", "debian", "--scope", "system"]),
    sysext(dir, join(shared, "f-fedora.raw"), ["--id", "fedora", ...initrd]),
    sysext(dir, join(shared, "g-tampered.raw"), ["--id", "debian", ...initrd]),
  ];
  sysext(dir, join(shared, "b-signed.raw"), ["--id", "debian", ...initrd, "--key", signer.keyFile, "--cert", signer.certFile]);
  sysext(dir, join(shared, "c-other.raw"), ["--id", "debian", ...initrd, "--key", other.keyFile, "--cert", other.certFile]);
  sysext(dir, join(shared, "d-unsigned.raw"), ["--id", "debian", ...initrd]);
  const tampered = readFileSync(join(shared, "g-tampered.raw"));
  tampered[readDdi(join(shared, "g-tampered.raw")).parts.root.offset + 100] ^= 1;
  writeFileSync(join(shared, "g-tampered.raw"), tampered);
  writeFileSync(join(shared, "h-garbage.raw"), Buffer.alloc(8192, 1));
  // another architecture's partition types: storage-init built for this one does not see a root partition
  const foreign = hostDdiArch() === "arm64" ? "x86-64" : "arm64";
  pinned.push(sysext(dir, join(shared, "i-foreign.raw"), ["--id", "_any", ...initrd, "--arch", foreign]));
  // the per-image directory: a second a-pinned (the shared one is stacked already), a new pinned one, and files storage-init does not look at
  pinned.push(sysext(dir, join(own, "a-pinned.raw"), ["--id", "_any", ...initrd], "opt/x"));
  pinned.push(sysext(dir, join(own, "z-top.raw"), ["--id", "debian", ...initrd], "opt/x"));
  writeFileSync(join(own, ".hidden.raw"), "");
  writeFileSync(join(own, "notes.txt"), "");

  run("openssl", ["x509", "-in", signer.certFile, "-outform", "DER", "-out", join(dir, "signer.der")]);
  const pins = { rootHashes: pinned, certificate: readFileSync(join(dir, "signer.der")) };
  const got = await judgeExtensionDirs([shared, own], pins, "debian", 128);
  const rows = got.map((v) => [v.path.slice(boot.length + 1), v.stacked, v.stacked ? (v.pinned ? "pinned" : `signature ${v.signature}`) : v.reason]);
  const R = /root hash [0-9a-f]{16}\.\.\./.source;
  const expected: [string, boolean, string | RegExp][] = [
    ["initoverlayfs-extensions/a-pinned.raw", true, "pinned"],
    ["initoverlayfs-extensions/b-signed.raw", true, "signature verified"],
    ["initoverlayfs-extensions/c-other.raw", false, new RegExp(`^${R} not pinned; signature: `)],
    ["initoverlayfs-extensions/d-unsigned.raw", false, new RegExp(`^${R} not pinned \\(sysext_roothash\\) and not signed$`)],
    ["initoverlayfs-extensions/e-system.raw", false, "SYSEXT_SCOPE does not include initrd"],
    ["initoverlayfs-extensions/f-fedora.raw", false, "ID=fedora, the image's os-release says ID=debian"],
    // one data block: the changed block's hash is the root hash's input
    ["initoverlayfs-extensions/g-tampered.raw", false, /^verity: the data give root hash [0-9a-f]{16}\.\.\., not the pinned one$/],
    ["initoverlayfs-extensions/h-garbage.raw", false, /^not a DDI: .*GPT/],
    ["initoverlayfs-extensions/i-foreign.raw", false, new RegExp(`^not a DDI: .*no ${hostDdiArch()} root or usr partition$`)],
    ["initoverlayfs-6.1.0-test.img.extra.d/a-pinned.raw", false, "an extension named a-pinned is stacked already"],
    ["initoverlayfs-6.1.0-test.img.extra.d/z-top.raw", true, "pinned"],
  ];
  assert.equal(rows.length, expected.length, JSON.stringify(rows, null, 1));
  for (const [i, [path, stacked, why]] of expected.entries()) {
    assert.equal(rows[i][0], path);
    assert.equal(rows[i][1], stacked, `${path}: ${rows[i][2]}`);
    if (typeof why === "string") assert.equal(rows[i][2], why, path);
    else assert.match(String(rows[i][2]), why, path);
  }
  const b = got[1];
  assert.equal(b.signer, run("openssl", ["x509", "-in", signer.certFile, "-noout", "-fingerprint", "-sha256"]).stdout.split("=")[1].trim().replace(/:/g, "").toLowerCase());
  assert.equal(b.id, "debian");
  // without a pinned signer the signed one is skipped; an image without os-release takes only ID=_any
  const noSigner = await judgeExtension(join(shared, "b-signed.raw"), "b-signed", { rootHashes: pinned }, "debian");
  assert.match(noSigner.reason!, /not pinned; signed, but no signer pinned$/);
  const bare = await judgeExtensionDirs([shared], pins, "", 128);
  assert.deepEqual(bare.filter((v) => v.stacked).map((v) => v.name), ["a-pinned"]);
  assert.equal(bare[1].reason, "ID=debian, the image's os-release says ID=(none)");
  // the limit storage-init has
  assert.equal((await judgeExtensionDirs([shared, own], pins, "debian", 2)).at(-1)!.reason, "more than 2 extensions");
  // a mini whose storage-init is arm64 looks for arm64 partition types: this x86-64 extension is not one
  const forArm = await judgeExtension(join(shared, "a-pinned.raw"), "a-pinned", { ...pins, arch: "arm64" }, "debian");
  assert.equal(forArm.stacked, false);
  assert.match(forArm.reason!, /arm64/);
}));

test("an extension systemd-repart 252 makes (512-byte verity blocks) is skipped for its superblock even when pinned: storage-init sets dm-verity up with 4096-byte blocks", { skip: !hasCommand("systemd-repart") && "systemd-repart is not installed" }, () => withTempDir(async (dir) => {
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "usr/lib/extension-release.d"), { recursive: true });
  writeFileSync(join(tree, "usr/lib/extension-release.d/extension-release.rp"), "ID=_any\nSYSEXT_SCOPE=initrd\n");
  const erofs = join(dir, "rp.erofs");
  run("mkfs.erofs", ["-T0", "--all-root", "--quiet", erofs, tree]);
  const defs = join(dir, "repart.d");
  mkdirSync(defs);
  writeFileSync(join(defs, "10-root.conf"), `[Partition]\nType=root\nCopyBlocks=${erofs}\nVerity=data\nVerityMatchKey=root\nReadOnly=yes\nSizeMinBytes=4096\nSizeMaxBytes=4096\n`);
  writeFileSync(join(defs, "20-verity.conf"), "[Partition]\nType=root-verity\nVerity=hash\nVerityMatchKey=root\nReadOnly=yes\nSizeMinBytes=65536\nSizeMaxBytes=65536\n");
  const out = join(dir, "rp.raw");
  run("systemd-repart", [`--definitions=${defs}`, "--empty=create", "--size=auto", "--dry-run=no", "--pretty=no", "--json=off", out]);
  assert.equal(readDdi(out).params.dataBlockSize, 512);
  const unpinned = await judgeExtension(out, "rp", { rootHashes: [] }, "");
  assert.match(unpinned.reason!, /not pinned \(sysext_roothash\) and not signed$/);
  const pinnedToo = await judgeExtension(out, "rp", { rootHashes: [unpinned.rootHash!] }, "");
  assert.equal(pinnedToo.stacked, false);
  assert.match(pinnedToo.reason!, /^offset \d+: expected a version 1 sha256 verity superblock with 4096-byte blocks covering the root partition, after it$/);
}));
