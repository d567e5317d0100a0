#!/usr/bin/env node
// Builds our N-API addons (the targets of binding.gyp) for every platform in PREBUILDS into
// prebuilds/<platform>-<arch>/<target>.node, the first place src/compression/native-addon.ts
// looks in an installed package: `npm i initoverlayfs` then needs no compiler and no -dev
// package. The system libraries (`-lX` in binding.gyp) are linked statically (Debian's libX.a,
// built with -fPIC), so the .node needs only glibc (symbols up to 2.17). N-API is ABI-stable:
// one build serves every Node version >= the engines field.
//
// Needs (scripts/setup.sh): gcc (x86_64-linux-gnu-gcc), gcc-aarch64-linux-gnu, the -dev packages
// of both architectures (liblz4-dev, libzstd-dev, liblzma-dev and their :arm64), Node's headers.
// Usage (npm run build:prebuilds; prepack runs it): node scripts/prebuild.mjs [platform-arch ...]   (default: all of PREBUILDS)
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** what we ship prebuilt: the compiler (a Debian triplet name, so any build host works) and the ELF machine */
const PREBUILDS = {
  "linux-x64": { cc: "x86_64-linux-gnu-gcc", machine: 62 /* EM_X86_64 */ },
  "linux-arm64": { cc: "aarch64-linux-gnu-gcc", machine: 183 /* EM_AARCH64 */ },
};
/** the only shared libraries a prebuilt may need: glibc's (Node itself needs them) */
const ALLOWED_NEEDED = /^(libc\.so\.6|libm\.so\.6|ld-linux-(x86-64|aarch64)\.so\.[12])$/;

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const fail = (msg) => {
  console.error(`prebuild: ${msg}`);
  process.exit(1);
};

const gyp = JSON.parse(readFileSync(join(root, "binding.gyp"), "utf8"));
const nodeInclude = resolve(process.execPath, "..", "..", "include", "node");
if (!existsSync(join(nodeInclude, "node_api.h"))) fail(`${nodeInclude}/node_api.h not found: Node's headers are needed`);

const wanted = process.argv.slice(2);
for (const p of wanted) if (!(p in PREBUILDS)) fail(`unknown platform ${p} (known: ${Object.keys(PREBUILDS).join(", ")})`);

for (const [platform, { cc, machine }] of Object.entries(PREBUILDS)) {
  if (wanted.length && !wanted.includes(platform)) continue;
  const dir = join(root, "prebuilds", platform);
  mkdirSync(dir, { recursive: true });
  for (const t of gyp.targets) {
    const out = join(dir, `${t.target_name}.node`);
    const tmp = `${out}.tmp`;
    const libs = (t.libraries ?? []).map((l) => {
      if (!/^-l[\w.+-]+$/.test(l)) fail(`binding.gyp: ${t.target_name}: library ${l} is not of the form -lNAME`);
      return `-l:lib${l.slice(2)}.a`;
    });
    const args = [
      "-shared", "-fPIC", "-s", "-Wl,--build-id=sha1", "-Wl,--exclude-libs,ALL", `-ffile-prefix-map=${root}=.`,
      ...(t.cflags ?? []), "-Werror", ...(t.defines ?? []).map((d) => `-D${d}`), `-I${nodeInclude}`,
      ...t.sources.map((s) => join(root, s)), "-o", tmp, ...libs,
    ];
    try {
      execFileSync(cc, args, { stdio: ["ignore", "inherit", "inherit"] });
    } catch (e) {
      rmSync(tmp, { force: true });
      fail(`${platform}: ${cc} failed for ${t.target_name} (${e.code === "ENOENT" ? `${cc} is not installed` : e.message.split("\n")[0]})`);
    }
    check(tmp, machine, platform);
    const fd = openSync(tmp, "r");
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, out);
    console.log(`prebuild: ${platform}/${t.target_name}.node`);
  }
}

/** the right ELF machine, and no shared library beyond glibc's: else a user without -dev packages could not load it */
function check(file, machine, platform) {
  const b = readFileSync(file);
  const found = b.readUInt16LE(18);
  if (b.readUInt32BE(0) !== 0x7f454c46 || found !== machine) {
    rmSync(file, { force: true });
    fail(`${file}: ELF machine ${found}, expected ${machine} for ${platform}`);
  }
  const dyn = execFileSync("readelf", ["-d", file], { encoding: "utf8" });
  for (const m of dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
    if (!ALLOWED_NEEDED.test(m[1])) {
      rmSync(file, { force: true });
      fail(`${file}: needs ${m[1]}; a prebuilt may need only glibc (its -l libraries are linked statically)`);
    }
  }
}
