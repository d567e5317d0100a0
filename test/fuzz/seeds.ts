/**
 * Seed inputs for every fuzz target, made by the real tools (cpio, the compressors, mkfs.erofs,
 * mkfs.ext4/vfat/xfs/btrfs, sfdisk, openssl) and by our writers, so mutations start from the
 * structures the parsers meet in practice. Written once into a directory (a stamp file records
 * the version) and reused: a fresh checkout makes them in about ten seconds.
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { buildErofsImage } from "../../src/formats/erofs/writer/index.js";
import { renderConfig } from "../../src/formats/storage-init-config/render.js";
import { renderManifest } from "../../src/formats/storage-init-config/manifest.js";
import { bytesContent } from "../../src/fs/tree.js";
import { miniInitramfsTree } from "../../src/pipeline/mini-initramfs.js";
import { dmVerityHashArea, dmVerityParams, encodeVeritySuperblock } from "../../src/formats/verity/dm-verity.js";
import { encodeVeritySignature, planDdi } from "../../src/formats/ddi/index.js";
import { encodeGpt } from "../../src/formats/gpt/index.js";
import { toHex } from "../../src/formats/verity/algorithms.js";
import { readDirTree } from "../../src/io/dir-reader.js";
import { DEFAULT_STUB as UKI_STUB } from "../../src/pipeline/uki.js";
import { signDetached } from "../../src/integrity/signature.js";
import { compress, cpioOf } from "../helpers/fixtures.js";
import { text } from "../helpers/compressible-tree.js";
import { CONFIGS, DM } from "../helpers/storage-init-configs.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { KVER } from "../helpers/kernel.js";
import { SIGNED_CONTENT } from "./targets.js";

/** Bump when the seeds change, so old seed directories are made again. */
const SEED_VERSION = "4";

function run(cmd: string, args: string[], opts: { cwd?: string; input?: Uint8Array } = {}): Buffer {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, maxBuffer: 1 << 28 });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.error?.message ?? r.stderr.toString().trim()}`);
  return r.stdout;
}

/** A small tree with every kind of entry: dirs, files (one compressible over 4 KiB), links, a device. */
function makeSourceTree(dir: string): void {
  mkdirSync(join(dir, "etc/conf.d"), { recursive: true });
  mkdirSync(join(dir, "lib/modules"), { recursive: true });
  writeFileSync(join(dir, "init"), "#!/bin/sh\nexec /sbin/init \"$@\"\n", { mode: 0o755 });
  writeFileSync(join(dir, "etc/conf.d/empty"), "");
  writeFileSync(join(dir, "etc/hostname"), "fuzz\n");
  writeFileSync(join(dir, "lib/modules/big.txt"), text(20_000, 5));
  writeFileSync(join(dir, "lib/modules/block"), Buffer.alloc(4096, 0x5a));
  linkSync(join(dir, "etc/hostname"), join(dir, "etc/hostname.link"));
  symlinkSync("../init", join(dir, "etc/init.link"));
  run("mknod", [join(dir, "etc/null"), "c", "1", "3"]);
}

interface Seed {
  target: string;
  name: string;
  bytes: Uint8Array;
}

function fsImagePrefix(dir: string, name: string, sizeMiB: number, mkfs: string[]): Uint8Array {
  const file = join(dir, `${name}.img`);
  run("truncate", ["-s", `${sizeMiB}M`, file]);
  run(mkfs[0], [...mkfs.slice(1), file]);
  // the probes read at most the first 68 KiB
  return readFileSync(file).subarray(0, 68 * 1024);
}

function diskPrefix(dir: string, name: string, script: string, sectors: number): Uint8Array {
  const file = join(dir, `${name}.disk`);
  run("truncate", ["-s", "16M", file]);
  run("sfdisk", ["--quiet", file], { input: Buffer.from(script) });
  return readFileSync(file).subarray(0, sectors * 512);
}

function makeAll(work: string): Seed[] {
  const seeds: Seed[] = [];
  const add = (target: string, name: string, bytes: Uint8Array) => seeds.push({ target, name, bytes });
  const src = join(work, "tree");
  mkdirSync(src);
  makeSourceTree(src);

  // cpio and compressed frames
  const newc = cpioOf(src, "newc");
  const crc = cpioOf(src, "crc");
  add("cpio", "newc", newc);
  add("cpio", "crc", crc);
  add("cpio", "two-archives", Buffer.concat([newc, Buffer.alloc(512), crc]));
  const kinds = ["gzip", "zstd", "xz", "lzma", "bzip2", "lz4", "lzo"];
  // zstd at its default level: -19 (the fixtures') costs a second here for nothing a seed needs
  const squeeze = (kind: string, data: Buffer) => (kind === "zstd" ? run("zstd", ["-c", "-q"], { input: data }) : compress(kind, data));
  const framed = new Map(kinds.map((kind) => [kind, squeeze(kind, newc)]));
  for (const kind of kinds) {
    add("decompress", `${kind}-cpio`, framed.get(kind)!);
    add("decompress", `${kind}-text`, squeeze(kind, Buffer.from("hello, initramfs\n".repeat(3))));
  }
  add("decompress", "gzip-name", run("gzip", ["-c", "-N"], { input: newc }));
  add("decompress", "zstd-checksum", run("zstd", ["-c", "-q", "--check"], { input: newc }));

  // initramfs files: uncompressed, each compressor, and the early-cpio + compressed layout
  add("initramfs", "plain", newc);
  for (const kind of kinds) add("initramfs", kind, framed.get(kind)!);
  add("initramfs", "early-plus-zstd", Buffer.concat([crc, framed.get("zstd")!]));
  add("initramfs", "gzip-pad-xz", Buffer.concat([framed.get("gzip")!, Buffer.alloc(3), compress("xz", crc)]));

  // EROFS: ours and mkfs.erofs's, plain and in every compressed layout
  const tree = readDirTree(src);
  const timestamp = { sec: 0, nsec: 0 };
  add("erofs", "ours", buildErofsImage(tree, { label: "fuzz", timestamp }));
  add("erofs", "ours-noinline", buildErofsImage(tree, { timestamp, inlineData: false }));
  const mkfs: [string, string[]][] = [
    ["mkfs-plain", ["-T0"]],
    ["mkfs-lz4", ["-T0", "-zlz4"]],
    ["mkfs-lz4hc", ["-T0", "-zlz4hc"]],
    ["mkfs-lz4-big-tail", ["-T0", "-zlz4", "-C65536", "-Eztailpacking"]],
    ["mkfs-lz4hc-full-index", ["-T0", "-zlz4hc", "-C16384", "-Elegacy-compress"]],
  ];
  for (const [name, args] of mkfs) {
    const image = join(work, `${name}.erofs`);
    const r = spawnSync("mkfs.erofs", ["--quiet", ...args, image, src]);
    if (r.status !== 0) continue; // an option this erofs-utils lacks
    add("erofs", name, readFileSync(image));
  }
  for (const s of seeds.filter((x) => x.target === "erofs")) add("erofs-fsck", s.name, s.bytes);

  // dm-verity superblocks
  for (const [name, o] of [
    ["sha256", { dataBlocks: 2048, salt: Buffer.alloc(32, 7) }],
    ["sha512-nosalt", { dataBlocks: 1, algorithm: "sha512", salt: new Uint8Array(0) }],
    ["sha1-type0", { dataBlocks: 99, algorithm: "sha1", hashType: 0, salt: Buffer.alloc(256, 1), dataBlockSize: 512, hashBlockSize: 65536 }],
  ] as const) {
    add("dm-verity", name, encodeVeritySuperblock(dmVerityParams(o as never)));
  }

  // PKCS#7: RSA signatures by node-forge (what `sign` writes), ECDSA by openssl
  const certs = join(work, "certs");
  mkdirSync(certs);
  for (const kind of ["rsa", "ec"] as const) {
    const key = join(certs, `${kind}.key.pem`);
    if (kind === "rsa") run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", key]);
    else run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
    run("openssl", ["req", "-x509", "-new", "-key", key, "-out", join(certs, `${kind}.cert.pem`), "-days", "36500", "-subj", `/CN=initoverlayfs fuzz ${kind}`]);
  }
  const rsaKey = readFileSync(join(certs, "rsa.key.pem"), "utf8");
  const rsaCert = readFileSync(join(certs, "rsa.cert.pem"), "utf8");
  for (const hash of ["sha256", "sha1", "sha512"] as const) add("pkcs7", `rsa-${hash}`, signDetached(SIGNED_CONTENT, rsaKey, rsaCert, hash));
  const content = join(work, "content");
  writeFileSync(content, SIGNED_CONTENT);
  add("pkcs7", "ec-sha256", run("openssl", [
    "smime", "-sign", "-nocerts", "-noattr", "-binary", "-outform", "DER", "-md", "sha256",
    "-in", content, "-inkey", join(certs, "ec.key.pem"), "-signer", join(certs, "ec.cert.pem"),
  ]));
  // c-pkcs7: u16 certificate length, the DER certificate, the signature (the forms openssl and `sign` write)
  for (const kind of ["rsa", "ec"] as const) {
    const der = run("openssl", ["x509", "-in", join(certs, `${kind}.cert.pem`), "-outform", "DER"]);
    const len = Buffer.from([der.length >> 8, der.length & 0xff]);
    const sign = (args: string[]) => run("openssl", [
      "cms", "-sign", "-nocerts", "-binary", "-outform", "DER", "-in", content,
      "-inkey", join(certs, `${kind}.key.pem`), "-signer", join(certs, `${kind}.cert.pem`), ...args,
    ]);
    add("c-pkcs7", `${kind}-noattr`, Buffer.concat([len, der, sign(["-noattr"])]));
    add("c-pkcs7", `${kind}-attrs-sha512`, Buffer.concat([len, der, sign(["-md", "sha512"])]));
    add("c-pkcs7", `${kind}-keyid`, Buffer.concat([len, der, sign(["-keyid"])]));
    if (kind === "rsa") add("c-pkcs7", "rsa-forge", Buffer.concat([len, der, signDetached(SIGNED_CONTENT, readFileSync(join(certs, "rsa.key.pem"), "utf8"), readFileSync(join(certs, "rsa.cert.pem"), "utf8"))]));
  }

  // configs: every shape the build writes
  const configs = CONFIGS.map((c) => Buffer.from(renderConfig(c), "latin1"));
  configs.forEach((c, i) => add("config", `build-${i}`, c));
  const installConfs = [
    "boot = UUID=0a1b2c3d-1111-2222-3333-444455556666\nboot_fstype = ext4\nfailure = reboot\ntimeout = 30\n",
    "# comment\ninit = /sbin/init\nmini_compression = zstd\nadd_modules = nvme, virtio_blk\ndefault_modules = no\n",
    'integrity = dm-verity\nintegrity_hash = sha512\nsign_key = /etc/k.pem\nsign_cert = "/etc/c.pem"\n',
  ];
  installConfs.forEach((t, i) => add("install-conf", `conf-${i}`, Buffer.from(t)));
  // boot logs: the boot-report fixtures (QEMU consoles, /dev/kmsg records), one with systemd-analyze's line
  const bootLogs = new URL("../../../test/formats/boot-log/fixtures/", import.meta.url);
  for (const f of ["pair-console.txt", "stock-console.txt", "failed-console.txt", "host-kmsg.txt"]) add("boot-log", f.replace(".txt", ""), readFileSync(new URL(f, bootLogs)));
  add("boot-log", "systemd-analyze", Buffer.from("[    2.609574] Run /init as init process\nStartup finished in 1.2s (firmware) + 3.4s (kernel) + 2.1s (initrd) + 1min 5.6s (userspace) = 1min 12.3s \n"));

  // storage-init (C): config, command line, probes, partition tables, scripts, verity superblock
  configs.forEach((c, i) => add("c-config", `build-${i}`, c));
  const cmdlines = [
    "BOOT_IMAGE=/vmlinuz-6.1.0 root=UUID=0a1b2c3d-1111-2222-3333-444455556666 ro quiet",
    'initoverlayfs.init=/sbin/init initoverlayfs.failure=shell "initoverlayfs.bootflags=noatime,ro" -- single',
    "initoverlayfs.module=/lib/modules/x/a.ko initoverlayfs.module= initoverlayfs.shim=/bin/run-init initoverlayfs.timeout=5 initoverlayfs.loglevel=7",
    'initoverlayfs.boot="LABEL=my boot" initoverlayfs.integrity=none initoverlayfs.digest=sha256:00 rdinit=/init',
  ];
  cmdlines.forEach((t, i) => add("c-cmdline", `cmdline-${i}`, Buffer.from(t)));
  const fs: [string, number, string[]][] = [
    ["ext4", 8, ["mkfs.ext4", "-q", "-F", "-L", "boot", "-U", "0a1b2c3d-1111-2222-3333-444455556666"]],
    ["ext2", 8, ["mkfs.ext2", "-q", "-F"]],
    ["vfat16", 32, ["mkfs.vfat", "-F", "16", "-n", "BOOT"]],
    ["vfat32", 64, ["mkfs.vfat", "-F", "32", "-n", "ESP"]],
    ["vfat12", 1, ["mkfs.vfat", "-F", "12"]],
    ["xfs", 320, ["mkfs.xfs", "-q", "-f", "-L", "xboot"]],
    ["btrfs", 128, ["mkfs.btrfs", "-q", "-f", "-L", "bboot"]],
  ];
  for (const [name, size, cmd] of fs) {
    try {
      add("c-probe", name, fsImagePrefix(work, name, size, cmd));
    } catch {
      // a mkfs this machine lacks; the others still seed the target
    }
  }
  // c-ext4: small whole filesystems (1 KiB blocks, no journal) holding /boot/initoverlayfs.img,
  // one in a single extent, one sparse (an extent index block)
  for (const [name, sparse] of [["ext4-plain", false], ["ext4-sparse", true]] as const) {
    const tree = join(work, name);
    mkdirSync(join(tree, "boot"), { recursive: true });
    const img = join(tree, "boot", "initoverlayfs.img");
    const fd = openSync(img, "w");
    // sparse: 1 KiB of data every 4 KiB, holes between
    for (let i = 0; i < (sparse ? 6 : 1); i++) writeSync(fd, Buffer.alloc(sparse ? 1024 : 8192, i + 1), 0, undefined, i * 4096);
    closeSync(fd);
    const file = join(work, `${name}.img`);
    run("truncate", ["-s", "160K", file]);
    run("mkfs.ext4", ["-q", "-F", "-b", "1024", "-O", "^has_journal,^resize_inode", "-N", "16", "-d", tree, file]);
    add("c-ext4", name, readFileSync(file));
  }
  // c-gpt: byte 0 = partition number, byte 1 bit 0 = 4096-byte sectors, then the disk's start
  const gpt = diskPrefix(work, "gpt", "label: gpt\nsize=4M, type=L, name=boot\nsize=4M, type=U, name=ESP\ntype=L\n", 34);
  const mbr = diskPrefix(work, "mbr", "label: dos\nlabel-id: 0x1234abcd\nsize=4M, type=83\ntype=83\n", 1);
  add("c-gpt", "gpt-p2", Buffer.concat([Buffer.from([2, 0]), gpt]));
  add("c-gpt", "gpt-p1", Buffer.concat([Buffer.from([1, 0]), gpt]));
  add("c-gpt", "mbr-p1", Buffer.concat([Buffer.from([1, 0]), mbr, Buffer.alloc(512)]));
  const scripts = [
    '#!/bin/sh\n. /scripts/functions\nmaybe_break init\nexec run-init ${drop_caps} "${rootmnt}" "${init}" "$@" <"${rootmnt}/dev/console" >"${rootmnt}/dev/console" 2>&1\n',
    "if [ -x /usr/sbin/switch_root ]; then exec switch_root /sysroot /sbin/init; fi # switch_root\n'run-init' x; echo \"run-init\"; (run-init a)|run-init b&&run-init c;`run-init d`\n",
  ];
  scripts.forEach((t, i) => add("c-script", `script-${i}`, Buffer.from(t)));
  // c-verity: the 512-byte superblock, then a config whose dm-verity keys it is checked against
  const dmConfig = Buffer.from(renderConfig({ ...CONFIGS[0], integrity: DM }), "latin1");
  const dmSb = encodeVeritySuperblock(dmVerityParams({ dataBlocks: DM.dataBlocks, salt: Buffer.from(DM.salt, "hex"), algorithm: "sha256" }));
  add("c-verity", "matching", Buffer.concat([dmSb, dmConfig]));
  add("c-verity", "sb-only", dmSb);
  // c-efivar: what systemd-stub writes (attributes, upper-case GUID, NUL), and without the NUL
  const efivar = (guid: string, nul: boolean) => Buffer.concat([Buffer.from([6, 0, 0, 0]), Buffer.from(guid + (nul ? "\0" : ""), "utf16le")]);
  add("c-efivar", "systemd-stub", efivar("4A67B082-0A4C-41CF-B6C7-440B29BB8C4F", true));
  add("c-efivar", "no-nul", efivar("0fc63daf-8483-4772-8e79-3d69d8477de4", false));
  // elf: an arm64 module (the test fixture) and the head of this machine's Debian x86-64 modules
  add("elf", "arm64-module", readFileSync(new URL("../../../test/formats/elf/fixtures/arm64-module.ko", import.meta.url)));
  const ko = `/lib/modules/${KVER}/kernel/fs/erofs/erofs.ko`;
  if (existsSync(ko)) add("elf", "x86-64-module-head", readFileSync(ko).subarray(0, 256));
  // pe: systemd-stub as Debian ships it, when it is there (systemd-boot-efi)
  if (existsSync(UKI_STUB)) add("pe", "systemd-stub", readFileSync(UKI_STUB));
  // c-manifest: what the build writes for a mini with a few modules
  const mini = miniInitramfsTree({
    storageInit: bytesContent(Buffer.from("ELF")), config: renderConfig(CONFIGS[0]),
    files: ["kernel/fs/erofs/erofs.ko", "kernel/fs/overlayfs/overlay.ko", "kernel/drivers/block/loop.ko"].map((p) => ({ path: `lib/modules/6.1.0-test/${p}`, content: bytesContent(Buffer.from("mod")) })),
  });
  add("c-manifest", "mini", Buffer.from(renderManifest(mini), "latin1"));
  // DDIs (GPT from LBA 40 to keep them small) around a small EROFS image, unsigned and signed
  const erofs = seeds.find((x) => x.target === "erofs")!.bytes;
  for (const signed of [false, true]) {
    const { disk: d, signature } = ddiOf(erofs, signed ? signDetached(SIGNED_CONTENT, rsaKey, rsaCert) : undefined);
    add("ddi", signed ? "signed" : "unsigned", d);
    add("c-ddi", signed ? "signed" : "unsigned", d);
    if (signature) add("verity-signature", "signed", signature);
  }
  return seeds;
}

/** A DDI in memory: root = `erofs` (whole 4 KiB blocks), its hash partition, and a signature partition when given one. */
function ddiOf(erofs: Uint8Array, signature?: Uint8Array): { disk: Uint8Array; signature?: Uint8Array } {
  const data = new Uint8Array(Math.ceil(erofs.length / 4096) * 4096);
  data.set(erofs);
  const { rootHash, area } = dmVerityHashArea(data, { salt: Buffer.alloc(32, 3), hashOffset: 0 });
  const sig = signature && encodeVeritySignature({ rootHash: toHex(rootHash), certificateFingerprint: "ab".repeat(32), signature });
  const t = planDdi({ arch: "x86-64", rootHash, dataSize: data.length, hashSize: area.length, signatureSize: sig?.length, firstLba: 40 });
  const g = encodeGpt(t);
  const d = new Uint8Array(t.sectors * 512);
  d.set(g.primary, 0);
  d.set(data, t.partitions[0].offset);
  d.set(area, t.partitions[1].offset);
  if (sig) d.set(sig, t.partitions[2].offset);
  d.set(g.backup, g.backupOffset);
  return { disk: d, signature: sig };
}

/** Makes the seeds under `dir` (dir/TARGET/NAME, dir/certs) unless they are there already. Returns dir. */
export function ensureSeeds(dir: string): string {
  const current = () => existsSync(join(dir, ".version")) && readFileSync(join(dir, ".version"), "utf8") === SEED_VERSION;
  if (current()) return dir;
  // made aside and renamed into place: npm test runs the smoke and regression tests side by side
  const work = makeTempDir("iofs-fuzz-seeds-");
  const out = `${dir}.${process.pid}.tmp`;
  try {
    const seeds = makeAll(work);
    for (const s of seeds) {
      mkdirSync(join(out, s.target), { recursive: true });
      writeFileSync(join(out, s.target, s.name), s.bytes);
    }
    mkdirSync(join(out, "certs"), { recursive: true });
    for (const f of ["rsa.cert.pem", "ec.cert.pem"]) writeFileSync(join(out, "certs", f), readFileSync(join(work, "certs", f)));
    writeFileSync(join(out, ".version"), SEED_VERSION);
    if (!current()) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dirname(dir), { recursive: true });
      try {
        renameSync(out, dir);
      } catch (e) {
        if (!current()) throw e; // else the other test process was first
      }
    }
  } finally {
    removeDir(work);
    rmSync(out, { recursive: true, force: true });
  }
  return dir;
}
