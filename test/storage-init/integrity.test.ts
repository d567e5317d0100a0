/**
 * storage-init's integrity checks, on this machine's kernel (loop + EROFS; no device-mapper and no
 * fs-verity here: the QEMU boot tests cover those two modes end to end).
 *
 * - `--check-config` reads back every integrity setting the build renders (renderConfig).
 * - `--mount-image CONFIG IMAGE MNT` runs the boot's real image step (integrity check, loop device,
 *   EROFS mount): copy mode must mount a good image from a sealed memfd and refuse a tampered one
 *   with one clear line; dm-verity must accept what `veritysetup format` wrote and reject a
 *   mismatching configuration before touching device-mapper. Ground truth: mkfs.erofs,
 *   `fsverity digest`, veritysetup, the kernel's mount and sysfs.
 * Root only (loop devices); every mount and loop device is released in `finally`.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { IntegrityConfig, renderConfig, StorageInitConfig } from "../../src/formats/storage-init-config/index.js";
import { run } from "../helpers/run.js";
import { storageInitBinary } from "../helpers/storage-init.js";
import { withTempDir } from "../helpers/tmp.js";

const BASE: StorageInitConfig = {
  boot: "LABEL=boot",
  image: "/initoverlayfs.img",
  init: "/init",
  timeout: 10,
  failure: "panic",
  modules: [],
  shims: [],
};
const MEMFD_BACKING = "/memfd:initoverlayfs-image";


function config(dir: string, integrity: IntegrityConfig | undefined, extra = ""): string {
  const path = join(dir, `conf-${Math.random().toString(16).slice(2)}`);
  writeFileSync(path, renderConfig({ ...BASE, ...(integrity ? { integrity } : {}) }) + extra, "latin1");
  return path;
}

function checkConfig(bin: string, conf: string, cmdline?: string) {
  return run(bin, ["--check-config", conf, ...(cmdline !== undefined ? [cmdline] : [])], { allowFail: true });
}

const DIGEST = "48df0c462329cd879661bd05b39aa81b05cc16afd27a7196a559da83531d39d9";
const ROOT = "e522df0f97da4febb882ac40f30b37dc0b444bf6df418929463fa25280f09d5c";
const SALT = "e48da609055204e89ae53b655ca2216dd983cf3cb829f34f63a297d106d53e2d";

test("--check-config reads back every integrity setting renderConfig writes", () => {
  const bin = storageInitBinary();
  return withTempDir((dir) => {
    const cases: [IntegrityConfig | undefined, string[]][] = [
      [undefined, ["integrity=none"]],
      [{ mode: "none" }, ["integrity=none"]],
      [{ mode: "copy", algorithm: "sha256", digest: DIGEST }, ["integrity=copy", `digest=sha256:${DIGEST}`]],
      [{ mode: "fs-verity", algorithm: "sha512", digest: "ab".repeat(64) }, ["integrity=fs-verity", `digest=sha512:${"ab".repeat(64)}`]],
      [
        { mode: "dm-verity", rootHash: ROOT, salt: SALT, hashAlgorithm: "sha256", hashType: 1, dataBlocks: 2048, hashOffset: 2048 * 4096 },
        ["integrity=dm-verity", `verity_roothash=${ROOT}`, `verity_salt=${SALT}`, "verity_hashalg=sha256", "verity_format=1", "verity_data_blocks=2048", `verity_hash_offset=${2048 * 4096}`],
      ],
      [
        { mode: "dm-verity", rootHash: "12".repeat(20), salt: "", hashAlgorithm: "sha1", hashType: 0, dataBlocks: 1, hashOffset: 4096, signature: "/etc/initoverlayfs/roothash.p7s" },
        ["integrity=dm-verity", `verity_roothash=${"12".repeat(20)}`, "verity_salt=-", "verity_hashalg=sha1", "verity_format=0", "verity_data_blocks=1", "verity_hash_offset=4096", "verity_sig=/etc/initoverlayfs/roothash.p7s"],
      ],
    ];
    for (const [integrity, want] of cases) {
      const r = checkConfig(bin, config(dir, integrity));
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      const got = lines.filter((l) => /^(integrity|digest|verity_)/.test(l));
      assert.deepEqual(got, want, JSON.stringify(integrity));
      assert.ok(lines.includes("boot=LABEL=boot"));
    }
  });
});

test("--check-config: a missing or bad integrity key is an error; the kernel command line cannot change them", () => {
  const bin = storageInitBinary();
  return withTempDir((dir) => {
    const head = "boot = LABEL=b\nimage = /i.img\n";
    const bad: [string, RegExp][] = [
      ["integrity = copy\n", /digest: not set \(required by integrity = copy\)/],
      ["integrity = fs-verity\ndigest = sha256:abcd\n", /line 4: digest: expected sha256:<64 hex digits>/],
      ["integrity = dm-verity\nverity_roothash = " + ROOT + "\nverity_salt = -\nverity_hashalg = sha256\nverity_format = 1\nverity_data_blocks = 8\n", /verity_hash_offset: not set/],
      ["integrity = dm-verity\nverity_roothash = " + ROOT + "\nverity_salt = -\nverity_hashalg = sha256\nverity_format = 1\nverity_data_blocks = 8\nverity_hash_offset = 4096\n", /overlaps the 8 data blocks/],
      ["integrity = sometimes\n", /integrity: expected none, dm-verity, fs-verity or copy/],
      ["verity_format = 2\n", /verity_format: expected a whole number from 0 to 1/],
      ["image_format = ddi\n", /integrity keys are set but integrity is none/],
      ["integrity = copy\ndigest = sha256:" + DIGEST + "\nimage_format = ddi\n", /image_format: ddi needs integrity = dm-verity/],
      ["image_format = gpt\n", /image_format: expected plain or ddi/],
    ];
    for (const [text, why] of bad) {
      const conf = join(dir, "bad.conf");
      writeFileSync(conf, head + text);
      const r = checkConfig(bin, conf);
      assert.equal(r.code, 1, text);
      assert.match(r.stderr, why);
    }
    const good = config(dir, { mode: "copy", algorithm: "sha256", digest: DIGEST });
    for (const cmdline of ["initoverlayfs.integrity=none", `initoverlayfs.digest=sha256:${"0".repeat(64)}`]) {
      const r = checkConfig(bin, good, cmdline);
      assert.equal(r.code, 1, cmdline);
      assert.match(r.stderr, /not accepted on the kernel command line/);
    }
    // other keys may still be overridden
    assert.equal(checkConfig(bin, good, "initoverlayfs.timeout=3").code, 0);
  });
});

/** Loop devices backed by `backing` (sysfs). */
function loopsBackedBy(backing: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync("/sys/block")) {
    const f = `/sys/block/${name}/loop/backing_file`;
    if (name.startsWith("loop") && existsSync(f) && readFileSync(f, "latin1").trim().startsWith(backing)) out.push(name);
  }
  return out;
}

function isMountPoint(dir: string): boolean {
  return readFileSync("/proc/self/mountinfo", "latin1").split("\n").some((l) => l.split(" ")[4] === dir);
}

/**
 * Runs `storage-init --mount-image` on mnt; fn gets its result (mounted or not). Always unmounts and
 * detaches the loop device it reported, even when fn throws.
 */
async function withImageStep<T>(bin: string, conf: string, image: string, mnt: string, fn: (r: ReturnType<typeof run>, loop?: string) => T | Promise<T>): Promise<T> {
  mkdirSync(mnt, { recursive: true });
  const r = run(bin, ["--mount-image", conf, image, mnt], { allowFail: true, timeoutMs: 120_000 });
  const loop = /\(loop \/dev\/(loop\d+)\)/.exec(r.stdout)?.[1];
  try {
    return await fn(r, loop);
  } finally {
    if (isMountPoint(mnt)) {
      if (run("umount", [mnt], { allowFail: true }).code !== 0) run("umount", ["-l", mnt], { allowFail: true });
    }
    if (loop && existsSync(`/sys/block/${loop}/loop/backing_file`)) run("losetup", ["-d", `/dev/${loop}`], { allowFail: true });
  }
}

/** A small EROFS image (mkfs.erofs) whose files hold known bytes; returns the file contents. */
function makeImage(dir: string, image: string): Map<string, Buffer> {
  const src = join(dir, "src");
  mkdirSync(join(src, "etc"), { recursive: true });
  const files = new Map<string, Buffer>();
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff;
  files.set("data.bin", big);
  files.set("etc/hello", Buffer.from("hello from the verified image\n"));
  for (const [p, b] of files) writeFileSync(join(src, p), b);
  run("mkfs.erofs", ["--quiet", "-T0", "-Enoinline_data", image, src]);
  return files;
}

function fsverityDigest(file: string, alg: "sha256" | "sha512"): string {
  const out = run("fsverity", ["digest", `--hash-alg=${alg}`, "--block-size=4096", file]).stdout;
  const m = new RegExp(`^${alg}:([0-9a-f]+) `).exec(out);
  assert.ok(m, `fsverity digest output: ${out}`);
  return m[1];
}

function flipByte(src: string, dst: string, offset: number): void {
  const b = readFileSync(src);
  b[offset] ^= 0x01;
  writeFileSync(dst, b);
}

test("copy mode: a good image is copied into a sealed memfd, verified and mounted; /boot stays unpinned", () => {
  const bin = storageInitBinary();
  return withTempDir(async (dir) => {
    const image = join(dir, "image.erofs");
    const files = makeImage(dir, image);
    for (const alg of ["sha256", "sha512"] as const) {
      const conf = config(dir, { mode: "copy", algorithm: alg, digest: fsverityDigest(image, alg) });
      await withImageStep(bin, conf, image, join(dir, "mnt"), (r, loop) => {
        assert.equal(r.code, 0, r.stderr);
        assert.ok(loop, r.stdout);
        for (const [p, b] of files) assert.ok(readFileSync(join(dir, "mnt", p)).equals(b), p);
        // the kernel's view: the loop device reads the memfd, read-only; the image file is not held
        assert.equal(readFileSync(`/sys/block/${loop}/loop/backing_file`, "latin1").trim(), `${MEMFD_BACKING} (deleted)`);
        assert.equal(readFileSync(`/sys/block/${loop}/ro`, "latin1").trim(), "1");
        assert.deepEqual(run("losetup", ["-j", image], { allowFail: true }).stdout.trim(), "");
        assert.match(r.stderr, new RegExp(`integrity copy: ${statSync(image).size} bytes copied into a sealed memfd`));
        assert.match(r.stderr, new RegExp(`integrity copy: ${alg} digest matches; memfd sealed \\(shrink, grow, write, seal\\)`));
      });
      assert.ok(!isMountPoint(join(dir, "mnt")));
    }
    // the same image step without integrity still mounts straight from the file
    await withImageStep(bin, config(dir, undefined), image, join(dir, "mnt"), (r, loop) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(`/sys/block/${loop}/loop/backing_file`, "latin1").trim(), image);
      assert.ok(readFileSync(join(dir, "mnt", "etc/hello")).equals(files.get("etc/hello")!));
    });
  });
});

test("copy mode: a tampered image (superblock byte, file data byte) is refused with one clear line, nothing left mounted", () => {
  const bin = storageInitBinary();
  return withTempDir(async (dir) => {
    const image = join(dir, "image.erofs");
    const files = makeImage(dir, image);
    const want = fsverityDigest(image, "sha256");
    const conf = config(dir, { mode: "copy", algorithm: "sha256", digest: want });
    const bytes = readFileSync(image);
    const dataAt = bytes.indexOf(files.get("data.bin")!.subarray(100_000, 100_064));
    assert.ok(dataAt > 0, "file data found in the image");
    const memfdLoopsBefore = loopsBackedBy(MEMFD_BACKING).length;
    for (const [what, offset] of [["superblock", 1024 + 8], ["file data", dataAt + 17]] as const) {
      const bad = join(dir, `tampered-${what.replace(" ", "-")}.erofs`);
      flipByte(image, bad, offset);
      const got = fsverityDigest(bad, "sha256");
      assert.notEqual(got, want);
      await withImageStep(bin, conf, bad, join(dir, "mnt"), (r) => {
        assert.equal(r.code, 1, `${what}: ${r.stdout}`);
        const failed = r.stderr.split("\n").filter((l) => l.includes("FAILED"));
        assert.deepEqual(failed, [
          `initoverlayfs: FAILED at verify image: ${bad}: fs-verity digest mismatch: expected sha256:${want.slice(0, 16)}..., got sha256:${got.slice(0, 16)}...`,
        ], r.stderr);
        assert.ok(!isMountPoint(join(dir, "mnt")), "nothing mounted");
        assert.equal(r.stdout, "");
      });
      assert.equal(loopsBackedBy(MEMFD_BACKING).length, memfdLoopsBefore, "no loop device left");
    }
  });
});

test("fs-verity mode on a file without fs-verity: a clear line naming the image", () => {
  const bin = storageInitBinary();
  return withTempDir(async (dir) => {
    const image = join(dir, "image.erofs");
    makeImage(dir, image);
    const conf = config(dir, { mode: "fs-verity", algorithm: "sha256", digest: fsverityDigest(image, "sha256") });
    await withImageStep(bin, conf, image, join(dir, "mnt"), (r) => {
      assert.equal(r.code, 1, r.stdout);
      // this kernel has no fs-verity; a CI kernel with it but a file without it says so instead
      assert.match(r.stderr, new RegExp(`^initoverlayfs: FAILED at verify image: ${image}: (the boot filesystem does not support fs-verity \\(ext4: tune2fs -O verity\\)|fs-verity not enabled on the image file \\(fsverity enable\\))$`, "m"));
      assert.ok(!isMountPoint(join(dir, "mnt")));
    });
    assert.equal(run("losetup", ["-j", image], { allowFail: true }).stdout.trim(), "");
  });
});

/** EROFS image padded to whole blocks, with `veritysetup format` hash data appended in the same file. */
function makeVerityImage(dir: string): { image: string; integrity: IntegrityConfig & { mode: "dm-verity" } } {
  const image = join(dir, "verity.img");
  makeImage(dir, image);
  const size = statSync(image).size;
  assert.equal(size % 4096, 0, "mkfs.erofs writes whole blocks");
  const dataBlocks = size / 4096;
  const hashOffset = size;
  const out = run("veritysetup", ["format", `--salt=${SALT}`, `--hash-offset=${hashOffset}`, `--data-blocks=${dataBlocks}`, image, image]).stdout;
  const root = /Root hash:\s+([0-9a-f]+)/.exec(out)?.[1];
  assert.ok(root, out);
  return { image, integrity: { mode: "dm-verity", rootHash: root, salt: SALT, hashAlgorithm: "sha256", hashType: 1, dataBlocks, hashOffset } };
}

test("dm-verity mode: veritysetup's superblock is accepted, a mismatching config is refused before device-mapper", () => {
  const bin = storageInitBinary();
  return withTempDir(async (dir) => {
    const { image, integrity } = makeVerityImage(dir);
    const mnt = join(dir, "mnt");
    const hasDm = existsSync("/sys/class/misc/device-mapper");
    await withImageStep(bin, config(dir, integrity), image, mnt, (r) => {
      if (hasDm) {
        // a kernel with device-mapper (and dm-verity) mounts it
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /integrity dm-verity: initoverlayfs-verity is \/dev\/dm-\d+/);
        assert.ok(existsSync(join(mnt, "etc/hello")));
      } else {
        // this machine: the superblock check passed, then device-mapper is missing (no control
        // node; or a stale one, left by a tool such as systemd-dissect, that the kernel does not back)
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, /^initoverlayfs: FAILED at set up dm-verity: (\/sys\/class\/misc\/device-mapper\/dev \(device-mapper not in the kernel: is dm-mod loaded\?\): No such file or directory|\/dev\/mapper\/control: No such device( or address)?)$/m);
      }
    });
    const bad: [Partial<typeof integrity>, RegExp][] = [
      [{ salt: "00" + SALT.slice(2) }, /salt in the superblock \(32 bytes\) differs from the configured one/],
      [{ dataBlocks: integrity.dataBlocks - 1 }, new RegExp(`${integrity.dataBlocks} data blocks in the superblock, configured ${integrity.dataBlocks - 1}`)],
      [{ hashType: 0 }, /hash type 1 in the superblock, configured 0/],
      [{ hashAlgorithm: "sha512", rootHash: integrity.rootHash.repeat(2) }, /algorithm "sha256" in the superblock, configured sha512/],
      [{ hashOffset: integrity.hashOffset + 4096 }, /too small for a hash tree|no verity superblock/],
    ];
    for (const [change, why] of bad) {
      await withImageStep(bin, config(dir, { ...integrity, ...change }), image, mnt, (r) => {
        assert.equal(r.code, 1, JSON.stringify(change));
        const line = r.stderr.split("\n").find((l) => l.startsWith("initoverlayfs: FAILED"));
        assert.ok(line?.startsWith(`initoverlayfs: FAILED at set up dm-verity: ${image}: `), r.stderr);
        assert.match(line!, why);
      });
    }
    // a wiped superblock
    const wiped = join(dir, "wiped.img");
    copyFileSync(image, wiped);
    const fd = openSync(wiped, "r+");
    try {
      writeSync(fd, Buffer.alloc(8), 0, 8, integrity.hashOffset);
    } finally {
      closeSync(fd);
    }
    await withImageStep(bin, config(dir, integrity), wiped, mnt, (r) => {
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^initoverlayfs: FAILED at set up dm-verity: .*: verity superblock at offset \d+: no verity superblock/m);
    });
    for (const f of [image, wiped]) assert.equal(run("losetup", ["-j", f], { allowFail: true }).stdout.trim(), "");
  });
});
