/**
 * The npm package as a user gets it: `npm pack`, then `npm i -g --ignore-scripts` of the tarball
 * into a temp prefix, then the installed CLI builds a pair on a machine without a compiler,
 * without the -dev packages and without liblz4/libzstd/liblzma at all: a mount namespace
 * (`unshare -m`, root) hides the headers, the static and shared libraries and the compilers'
 * directory from PATH. The arm64 prebuilts are loaded by an arm64 Node under qemu-aarch64.
 * Ground truth: readelf (ELF machine, DT_NEEDED), zstd(1), xz(1), cpio(1), and the pair the
 * source-built addons make from the same input, which the prebuilt ones must match byte for byte.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { arm64Node } from "../helpers/arm64-node.js";
import { cli } from "../helpers/cli.js";
import { KVER } from "../helpers/kernel.js";
import { isRoot, run } from "../helpers/run.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const INITRD = `/boot/initrd.img-${KVER}`;
const ADDONS = ["lz4_erofs", "zstd_stream", "lzma_stream"];
const MACHINES: Record<string, string> = { "linux-x64": "Advanced Micro Devices X86-64", "linux-arm64": "AArch64" };
const GLIBC_ONLY = /^(libc\.so\.6|libm\.so\.6|ld-linux-(x86-64|aarch64)\.so\.[12])$/;

/** the packed and installed package, made once for both tests */
let installed: { work: string; pkg: string; bin: string } | undefined;
function install(): { work: string; pkg: string; bin: string } {
  if (installed) return installed;
  const work = makeTempDir("iofs-pack-");
  // the prebuilds, twice: the script is reproducible (the package's bytes do not depend on the run)
  const hashes = () => Object.fromEntries(readdirSync(join(REPO, "prebuilds"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".node")).sort().map((f) => [f, createHash("sha256").update(readFileSync(join(REPO, "prebuilds", f))).digest("hex")]));
  run("node", ["scripts/prebuild.mjs"], { cwd: REPO });
  const first = hashes();
  run("node", ["scripts/prebuild.mjs"], { cwd: REPO });
  assert.deepEqual(hashes(), first, "scripts/prebuild.mjs makes the same bytes twice");
  for (const p of Object.keys(MACHINES)) for (const a of ADDONS) assert.ok(first[join(p, `${a}.node`)], `prebuilds/${p}/${a}.node`);
  // prepack is `npm run build` + the prebuild script: both have just run (npm test builds first)
  const packed = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: REPO }).stdout) as { filename: string; files: { path: string }[] }[];
  const inTarball = packed[0].files.map((f) => f.path);
  for (const p of Object.keys(MACHINES)) for (const a of ADDONS) assert.ok(inTarball.includes(`prebuilds/${p}/${a}.node`), `prebuilds/${p}/${a}.node in the tarball`);
  const prefix = join(work, "prefix");
  run("npm", ["i", "-g", "--prefix", prefix, "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", join(work, packed[0].filename)], { timeoutMs: 300_000 });
  installed = { work, pkg: join(prefix, "lib", "node_modules", "initoverlayfs"), bin: join(prefix, "bin") };
  return installed;
}

test.after(() => {
  if (installed) removeDir(installed.work);
});

function packageJsons(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name === "package.json") out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

test("the installed package has no install script, no build directory, and prebuilts that need only glibc", { timeout: 600_000 }, () => {
  const { pkg } = install();
  assert.ok(!existsSync(join(pkg, "build")), "no source build in the installed package: the prebuilt is what loads");
  // npm 11 asks the user to allow-list every package with an install script (also the implicit
  // `node-gyp rebuild` of a binding.gyp without "gypfile": false): there must be none
  for (const f of [join(pkg, "package.json"), ...packageJsons(join(pkg, "node_modules"))]) {
    const j = JSON.parse(readFileSync(f, "utf8")) as { scripts?: Record<string, string>; gypfile?: boolean };
    for (const s of ["preinstall", "install", "postinstall"]) assert.equal(j.scripts?.[s], undefined, `${f}: ${s} script`);
    if (existsSync(join(dirname(f), "binding.gyp"))) assert.equal(j.gypfile, false, `${f}: binding.gyp without "gypfile": false means node-gyp at install`);
  }
  for (const [platform, machine] of Object.entries(MACHINES)) {
    for (const a of ADDONS) {
      const f = join(pkg, "prebuilds", platform, `${a}.node`);
      assert.match(run("readelf", ["-h", f]).stdout, new RegExp(`Machine:\\s+${machine}\\n`), `${f}: ELF machine`);
      const needed = [...run("readelf", ["-d", f]).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      assert.ok(needed.length > 0 && needed.every((n) => GLIBC_ONLY.test(n)), `${f} needs ${needed.join(", ")}: only glibc is allowed`);
    }
  }
});

test("with no compiler, no -dev package and no liblz4/libzstd/liblzma, the installed CLI builds the pair the source build makes (xz initramfs, lz4hc image, zstd mini)", { timeout: 600_000 }, () => {
  assert.ok(isRoot(), "needs root: unshare -m and bind mounts hide the libraries");
  const { work, pkg, bin } = install();
  // a small xz initramfs: Debian's index files and ext4 (the other modules come from the host's /lib/modules)
  const x = join(work, "x");
  mkdirSync(x);
  run("sh", ["-c", `zstd -dc '${INITRD}' | cpio -idm --quiet 'init' 'lib' 'usr/lib/modules/${KVER}/modules.*' 'usr/lib/modules/${KVER}/kernel/fs/ext4/*'`], { cwd: x });
  const initramfs = join(work, "small.img");
  run("sh", ["-c", `find . | LC_ALL=C sort | cpio -o -H newc --quiet | xz -1 --check=crc32 > '${initramfs}'`], { cwd: x });
  const args = (out: string) => ["build", "--initramfs", initramfs, "--kver", KVER, "--boot", "LABEL=boot", "--boot-fstype", "ext4", "-o", out, "--mini-compression", "zstd"];

  const hide = new Set<string>();
  for (const dir of ["/usr/include", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]) {
    if (!existsSync(dir)) continue;
    for (const e of readdirSync(dir)) if (/^(lz4|zstd|zdict|lzma)[\w.]*\.h$|^lib(lz4|zstd|lzma)\.(a|so)/.test(e)) hide.add(realpathSync(join(dir, e)));
  }
  assert.ok([...hide].some((f) => f.endsWith("zstd.h")) && [...hide].some((f) => /liblz4\.so\.1/.test(f)), "the -dev and library files to hide were found");
  // PATH: only node and the installed package's bin; no cc, gcc, make, python3, node-gyp
  const path = join(work, "path");
  mkdirSync(path);
  symlinkSync(process.execPath, join(path, "node"));
  const script = join(work, "hidden.sh");
  writeFileSync(script, [
    "set -eu",
    'out=$1; shift',
    'for f in $HIDE; do mount --bind /dev/null "$f"; done',
    "[ -d /usr/include/lzma ] && mount -t tmpfs none /usr/include/lzma",
    "[ ! -s /usr/include/zstd.h ] && [ ! -s /usr/include/lzma.h ]",
    `export PATH='${path}:${bin}'`,
    "if command -v cc || command -v gcc || command -v make; then echo 'a compiler is on PATH' >&2; exit 1; fi",
    'exec initoverlayfs "$@"',
  ].join("\n"));
  const out = join(work, "out-installed");
  const r = run("unshare", ["-m", "--propagation", "private", "env", `HIDE=${[...hide].join(" ")}`, "/bin/sh", script, out, ...args(out)], { allowFail: true, timeoutMs: 300_000 });
  assert.equal(r.code, 0, `installed initoverlayfs build: ${r.stderr}`);
  assert.match(r.stdout, /EROFS image of .*small\.img/);

  // the same pair from this tree's source-built addons (build/Release)
  const ref = join(work, "out-source");
  const s = cli(args(ref));
  assert.equal(s.code, 0, s.stderr.toString());
  for (const f of [`initoverlayfs-${KVER}.img`, `initramfs-${KVER}.img`]) {
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(ref, f))), `${f}: the prebuilt addons make the same bytes as the source build`);
  }
  const mini = readFileSync(join(out, `initramfs-${KVER}.img`));
  assert.deepEqual([...mini.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], "a zstd mini initramfs");
  const listed = run("sh", ["-c", `zstd -dc '${join(out, `initramfs-${KVER}.img`)}' | cpio -t --quiet`]).stdout.split("\n");
  assert.ok(listed.includes("init") && listed.some((p) => p.endsWith("/ext4.ko")), "zstd(1) and cpio(1) read the mini initramfs");
});

test("the arm64 prebuilts load in an arm64 Node (qemu-aarch64) and make the same zstd, lz4 and xz results as on x86-64", { timeout: 600_000 }, () => {
  const { work, pkg } = install();
  const node = arm64Node();
  const data = Buffer.concat(Array.from({ length: 300 }, (_, i) => Buffer.from(`line ${i} ${"abcdefgh".repeat(i % 13)}\n`)));
  writeFileSync(join(work, "data"), data);
  run("sh", ["-c", `xz -c --check=crc64 data > data.xz && xz -c --format=lzma data > data.lzma`], { cwd: work });
  const script = join(work, "roundtrip.mjs");
  // the compression modules themselves, not index.js: Debian 12's arm64 Node is 18, whose node:zlib lacks crc32 (gzip.ts)
  const m = (f: string) => JSON.stringify(join(pkg, "dist", "src", "compression", f));
  writeFileSync(script, `
    import { readFileSync } from "node:fs";
    import { createHash } from "node:crypto";
    import { compressZstd, decompressZstd } from ${m("zstd.js")};
    import { decompressLzma, decompressXz } from ${m("liblzma.js")};
    import { lz4DestSize } from ${m("lz4-native.js")};
    import { loadedAddonPath } from ${m("native-addon.js")};
    const dir = process.argv[2];
    const data = readFileSync(dir + "/data");
    const all = async (decompress, input) => { const parts = []; const g = decompress(input, 0); let r; while (!(r = await g.next()).done) parts.push(Buffer.from(r.value)); return { data: Buffer.concat(parts), consumed: r.value }; };
    const zst = compressZstd(data, 3);
    const z = await all(decompressZstd, zst);
    const xz = await all(decompressXz, readFileSync(dir + "/data.xz"));
    const lzma = await all(decompressLzma, readFileSync(dir + "/data.lzma"));
    const dst = new Uint8Array(4096);
    const l = lz4DestSize(9)(data, dst, true);
    const sha = (b) => createHash("sha256").update(b).digest("hex");
    console.log(JSON.stringify({
      arch: process.arch, zstd: sha(zst), zstdOk: z.data.equals(data) && z.consumed === zst.length,
      xzOk: xz.data.equals(data), lzmaOk: lzma.data.equals(data), lz4: [l.consumed, l.written, sha(dst.subarray(0, l.written))],
      loaded: ["lz4_erofs", "zstd_stream", "lzma_stream"].map(loadedAddonPath),
    }));
  `);
  // x86-64 first (this Node, the installed package's linux-x64 prebuilts), then arm64 under qemu
  const host = JSON.parse(run("node", [script, work]).stdout) as Record<string, unknown>;
  const arm = JSON.parse(run(node.argv[0], [...node.argv.slice(1), script, work], { timeoutMs: 300_000 }).stdout) as Record<string, unknown>;
  for (const [r, platform] of [[host, "linux-x64"], [arm, "linux-arm64"]] as const) {
    assert.deepEqual(r.loaded, ADDONS.map((a) => join(pkg, "prebuilds", platform, `${a}.node`)), `${platform}: the prebuilt addons are what loaded`);
    assert.ok(r.zstdOk && r.xzOk && r.lzmaOk, `${platform}: round trips ${JSON.stringify(r)}`);
  }
  assert.equal(arm.arch, "arm64");
  assert.deepEqual([arm.zstd, arm.lz4], [host.zstd, host.lz4], "the same libzstd/liblz4 versions make the same bytes on both");
});

test("the fallback: without a prebuilt for the platform, npm run build:native in the installed package builds the addons and the loader takes them", { timeout: 600_000 }, () => {
  const { pkg } = install();
  const script = `import("./dist/src/compression/zstd.js").then(async (z) => {
    const a = await import("./dist/src/compression/native-addon.js");
    try { z.compressZstd(Buffer.from("x"), 3); } catch (e) { console.log(e.message); return; }
    console.log(a.loadedAddonPath("zstd_stream"));
  })`;
  renameSync(join(pkg, "prebuilds", "linux-x64"), join(pkg, "prebuilds", "off"));
  try {
    assert.match(run("node", ["-e", script], { cwd: pkg }).stdout, /the zstd_stream addon cannot be loaded .* npm run build:native in /, "a clear message when nothing loads");
    run("npm", ["run", "build:native"], { cwd: pkg, timeoutMs: 300_000 });
    assert.equal(run("node", ["-e", script], { cwd: pkg }).stdout.trim(), join(pkg, "build", "Release", "zstd_stream.node"));
  } finally {
    renameSync(join(pkg, "prebuilds", "off"), join(pkg, "prebuilds", "linux-x64"));
  }
});
