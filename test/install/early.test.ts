/**
 * install and status with an early archive (microcode) in front of the original: the installed
 * mini starts with it, byte for byte; status says what it carries; a mini that does not carry the
 * original's early archives (one an older initoverlayfs installed) is not "up to date". The
 * archive is made by GNU cpio and the installed mini is split by initramfs-tools' unmkinitramfs.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { microcodeArchive, UCODE_INTEL } from "../helpers/early.js";
import { run } from "../helpers/run.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { cliEnv, CONF, KVER, plainRoot, SLOT, testOriginals } from "./helpers.js";

const orig = testOriginals([21, 22], 1_000_000);

for (const compression of ["gzip", "none"] as const) {
  test(`install (mini ${compression}): the early microcode archive comes first in the mini, status reports it, a mini without it is rebuilt`, () => {
    const work = makeTempDir("iofs-install-early-");
    try {
      const { root, boot } = plainRoot(work, CONF.replace("mini_compression = none", `mini_compression = ${compression}`));
      const { archive, ucode } = microcodeArchive(join(work, "early-src"), 123_457);
      const original = Buffer.concat([archive, orig.a]);
      writeFileSync(join(boot, SLOT), original);

      const r = cliEnv(["install", "--root", root, "--kver", KVER, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const [res] = JSON.parse(r.stdout);
      assert.equal(res.action, "installed");
      assert.deepEqual(res.early.members.map((m: { path: string; size: number }) => [m.path, m.size]), [[UCODE_INTEL, ucode.length]]);
      assert.equal(res.early.archives, 1);
      const mini = readFileSync(join(boot, SLOT));
      assert.ok(mini.subarray(0, res.early.bytes).equals(archive.subarray(0, res.early.bytes)), "the mini starts with the early archive");
      assert.ok(res.early.bytes <= archive.length && res.early.bytes > ucode.length);

      // GNU cpio reads the microcode from the first archive, and storage-init's config from the rest
      const member = (bytes: Buffer, name: string) => spawnSync("cpio", ["-i", "--quiet", "--to-stdout", name], { input: bytes, maxBuffer: 1 << 28 }).stdout;
      assert.ok(member(mini.subarray(0, res.early.bytes), UCODE_INTEL).equals(ucode));
      const rest = mini.subarray(res.early.bytes);
      assert.match(member(compression === "gzip" ? gunzipSync(rest) : rest, "etc/initoverlayfs.conf").toString(), /^image = /m);
      if (compression === "gzip") {
        // initramfs-tools' own tool splits it the same way (it expects the main archive compressed)
        const split = join(work, "split");
        run("unmkinitramfs", [join(boot, SLOT), split]);
        assert.ok(readFileSync(join(split, "early", UCODE_INTEL)).equals(ucode), `unmkinitramfs: ${readdirSync(split)}`);
        assert.match(readFileSync(join(split, "main/etc/initoverlayfs.conf"), "utf8"), /^image = /m);
      }

      const st = cliEnv(["status", "--root", root, "--kver", KVER, "--json"]);
      assert.equal(st.code, 0, st.stdout + st.stderr);
      assert.deepEqual(JSON.parse(st.stdout)[0].early, res.early);
      const text = cliEnv(["status", "--root", root, "--kver", KVER]).stdout;
      assert.match(text, /early archives carried first, uncompressed: 1 archive\(s\), \d+ B, 1 file\(s\)\n\s+kernel\/x86\/microcode\/GenuineIntel\.bin \(123457 B\)/);

      assert.equal(JSON.parse(cliEnv(["install", "--root", root, "--kver", KVER, "--json"]).stdout)[0].action, "up-to-date");
      // a mini as an initoverlayfs that dropped early archives wrote it: the same image, no microcode in front
      writeFileSync(join(boot, SLOT), mini.subarray(res.early.bytes));
      const again = cliEnv(["install", "--root", root, "--kver", KVER, "--json"]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout)[0].action, "installed", "rebuilt: the installed mini lacked the early archive");
      assert.ok(readFileSync(join(boot, SLOT)).subarray(0, res.early.bytes).equals(archive.subarray(0, res.early.bytes)));

      assert.equal(cliEnv(["uninstall", "--root", root, "--kver", KVER]).code, 0);
      assert.ok(readFileSync(join(boot, SLOT)).equals(original), "the original with its early archive, byte for byte");
    } finally {
      removeDir(work);
    }
  });
}
