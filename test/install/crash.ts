/**
 * Crash tests: install and uninstall killed (SIGKILL) at every step that changes /boot, in turn,
 * on a real ext4 and a real vfat /boot. After every kill the boot loader's initramfs is the
 * original or a mini initramfs whose image is there and holds that original; a second run
 * completes. The steps are enumerated by a dry run (INITOVERLAYFS_FAULT_LOG). One test file per
 * filesystem (crash-ext4, crash-vfat) so the runner can run them side by side.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, renameSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { checkBootable, cliEnv, KVER, makeOriginal, SLOT, snapshot, TestRoot, withBootFs } from "./helpers.js";

/** TMPDIR of every run: the staging directories killed runs leave must be gone at the end */
let staging = "";

// copy: the small test initramfs has no dm-verity module (the default mode needs one)
const CONF = "default_modules = no\nmini_compression = gzip\nintegrity = copy\n";

function steps(args: string[], work: string, name: string): string[] {
  const log = join(work, `${name}.steps`);
  rmSync(log, { force: true });
  const r = cliEnv(args, { INITOVERLAYFS_FAULT_LOG: log, TMPDIR: staging });
  assert.equal(r.code, 0, `dry run of ${name}: ${r.stderr}`);
  return readFileSync(log, "utf8").trim().split("\n");
}

/** Puts /boot back to a saved set of files (rewriting only what differs: FAT through FUSE is slow). */
function restore(boot: string, saved: string): void {
  const want = new Set(readdirSync(saved));
  for (const n of readdirSync(boot)) if (n !== "lost+found" && n !== ".initoverlayfs.lock" && !want.has(n)) rmSync(join(boot, n));
  for (const n of want) {
    const bytes = readFileSync(join(saved, n));
    const p = join(boot, n);
    if (existsSync(p) && readFileSync(p).equals(bytes)) continue;
    rmSync(p, { force: true });
    // read + write: fusefat has no copy_file_range
    writeFileSync(p, bytes);
  }
}
function save(boot: string, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  const d = makeTempDir("iofs-saved-");
  for (const n of readdirSync(boot)) if (n !== "lost+found" && n !== ".initoverlayfs.lock") copyFileSync(join(boot, n), join(d, n));
  return d;
}

/** Kills `args` at each step in turn from the saved state; checks the state, then completes it. */
function killAtEachStep(t: TestRoot, what: string, args: string[], saved: string, originals: Buffer[], expectAfter: (boot: string) => void, work: string): number {
  restore(t.boot, saved);
  const list = steps(args, work, what);
  for (let i = 1; i <= list.length; i++) {
    restore(t.boot, saved);
    const r = cliEnv(args, { INITOVERLAYFS_FAULT_AT: String(i), TMPDIR: staging });
    assert.equal(r.signal, "SIGKILL", `${what}: step ${list[i - 1]} was not reached: ${r.stderr}`);
    try {
      checkBootable(t.boot, originals, `UUID=${t.uuid}`);
    } catch (e) {
      assert.fail(`${what}: killed at ${list[i - 1]}: ${(e as Error).message}`);
    }
    const again = cliEnv(args, { TMPDIR: staging });
    assert.equal(again.code, 0, `${what}: the run after a kill at ${list[i - 1]} failed: ${again.stderr}`);
    expectAfter(t.boot);
  }
  return list.length;
}

export async function crashTest(fs: "ext4" | "vfat"): Promise<void> {
  {
    const work = makeTempDir("iofs-crash-");
    staging = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : work, "iofs-staging-"));
    try {
      const a = makeOriginal(work, 1, 5_000_000);
      const b = makeOriginal(work, 2, 5_000_000);
      // vfat: findmnt/blkid see no block device under fusefat, so the boot partition is configured
      const conf = CONF + (fs === "vfat" ? "boot = UUID=1A57-0FA7\n" : "");
      await withBootFs(fs, 96, conf, async (t) => {
        const install = ["install", "--root", t.root, "--kver", KVER];
        const uninstall = ["uninstall", "--root", t.root, "--kver", KVER];
        const spec = `UUID=${t.uuid}`;
        const installed = (orig: Buffer) => (boot: string) => {
          assert.equal(checkBootable(boot, [orig], spec), "mini");
          const images = readdirSync(boot).filter((n) => n.startsWith("initoverlayfs-"));
          assert.equal(images.length, 1, `exactly one image stays: ${images}`);
          assert.deepEqual(readdirSync(boot).filter((n) => n.endsWith(".tmp")), []);
        };

        // first install: the slot holds original A
        writeFileSync(join(t.boot, SLOT), a);
        let saved = save(t.boot, "");
        const n1 = killAtEachStep(t, "install", install, saved, [a], installed(a), work);

        // update-initramfs wrote a new full initramfs B over our mini: install takes B as the original
        restore(t.boot, saved);
        assert.equal(cliEnv(install).code, 0);
        writeFileSync(join(t.boot, `${SLOT}.new`), b); // as update-initramfs does: X.new, then mv -f
        renameSync(join(t.boot, `${SLOT}.new`), join(t.boot, SLOT));
        saved = save(t.boot, saved);
        const n2 = killAtEachStep(t, "reinstall", install, saved, [b], installed(b), work);

        // uninstall from the installed state of B: B comes back byte for byte
        restore(t.boot, saved);
        assert.equal(cliEnv(install).code, 0);
        saved = save(t.boot, saved);
        const n3 = killAtEachStep(t, "uninstall", uninstall, saved, [b], (boot) => {
          assert.deepEqual(Object.keys(snapshot(boot)), [SLOT], "only the original stays");
          assert.ok(readFileSync(join(boot, SLOT)).equals(b), "the original is back byte for byte");
        }, work);
        removeDir(saved);
        assert.deepEqual(readdirSync(staging), [], "the staging directories of killed runs are removed by the next run");
        assert.ok(n1 >= 10 && n2 >= 10 && n3 >= 3, `steps: install ${n1}, reinstall ${n2}, uninstall ${n3}`);
      });
    } finally {
      removeDir(work);
      removeDir(staging);
    }
  }
}
