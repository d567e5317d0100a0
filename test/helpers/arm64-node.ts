/**
 * An arm64 Node for user-mode emulation (qemu-aarch64): Debian's nodejs:arm64 and the libraries
 * it links, extracted with dpkg-deb -x (never installed: nodejs:arm64 would replace the host's
 * nodejs). Fetched once with apt-get download (needs `dpkg --add-architecture arm64`, done by
 * scripts/setup.sh) and kept in CACHE. Debian 12's is Node 18: N-API 9, enough for our addons (8).
 */
import { existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { run } from "./run.js";
import { makeTempDir, removeDir } from "./tmp.js";

const CACHE = "/var/cache/initoverlayfs-tests/node-arm64";
/** nodejs:arm64's run-time closure on Debian 12 (apt-cache depends --recurse), minus what only its tools need */
const PACKAGES = [
  "nodejs:arm64", "libnode108:arm64", "libuv1:arm64", "libc-ares2:arm64", "libbrotli1:arm64", "libicu72:arm64",
  "libnghttp2-14:arm64", "libssl3:arm64", "zlib1g:arm64", "libstdc++6:arm64", "libgcc-s1:arm64", "libc6:arm64",
  // JavaScript Debian's node loads from /usr/share/nodejs instead of bundling it
  "node-acorn", "node-cjs-module-lexer", "node-undici", "node-busboy", "node-xtend",
];

export interface Arm64Node {
  /** the -L root for qemu-aarch64 */
  root: string;
  /** argv prefix: qemu-aarch64 -L root root/usr/bin/node */
  argv: string[];
}

export function arm64Node(): Arm64Node {
  const root = join(CACHE, "root");
  if (!existsSync(join(root, "usr", "bin", "node"))) {
    const tmp = makeTempDir("iofs-node-arm64-");
    try {
      const debs = join(tmp, "debs");
      mkdirSync(debs);
      const r = run("apt-get", ["download", ...PACKAGES], { cwd: debs, allowFail: true, timeoutMs: 300_000 });
      if (r.code !== 0) throw new Error(`apt-get download of nodejs:arm64 failed (is arm64 a dpkg architecture? scripts/setup.sh adds it): ${r.stderr.trim()}`);
      const x = join(tmp, "root");
      mkdirSync(x);
      for (const d of readdirSync(debs)) run("dpkg-deb", ["-x", join(debs, d), x]);
      mkdirSync(CACHE, { recursive: true });
      removeDir(root);
      renameSync(x, root);
    } finally {
      removeDir(tmp);
    }
  }
  return { root, argv: ["qemu-aarch64", "-L", root, join(root, "usr", "bin", "node")] };
}
