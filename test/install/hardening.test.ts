/**
 * Install on a system others share (issue 13): outputs no more readable than the original,
 * staging nobody else can touch, --root paths that stay inside ROOT, images another slot still
 * needs, and an initramfs written by update-initramfs while install runs.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { withTempDir } from "../helpers/tmp.js";
import { CLI } from "../helpers/cli.js";
import { run } from "../helpers/run.js";
import { checkBootable, cliEnv, CONF, KVER, miniConfig, plainRoot, SLOT, snapshot, SPEC, testOriginals } from "./helpers.js";

const orig = testOriginals([21, 22], 300_000);

const modeOf = (p: string) => statSync(p).mode & 0o777;

function writePrivate(path: string, bytes: Buffer): void {
  writeFileSync(path, bytes);
  chmodSync(path, 0o600);
}

/** A pid no process has (a child that has exited). */
function deadPid(): number {
  const r = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

test("stale staging directories: only real 0700 directories of ours are removed, and one that cannot be removed does not fail the run", () =>
  withTempDir(async (work) => {
    const tmp = join(work, "tmp");
    const pid = deadPid();
    const name = (tag: string) => join(tmp, `initoverlayfs-install-${pid}-${tag}`);
    let immutable = false;
    try {
      mkdirSync(tmp);
      chmodSync(tmp, 0o1777);
      const { root, boot } = plainRoot(work);
      writeFileSync(join(boot, SLOT), orig.a);
      // another user's directory with our name shape
      mkdirSync(name("other"));
      writeFileSync(join(name("other"), "keep"), "x");
      chownSync(join(name("other"), "keep"), 65534, 65534);
      chownSync(name("other"), 65534, 65534);
      // a symlink to someone's directory
      const victim = join(work, "victim");
      mkdirSync(victim);
      writeFileSync(join(victim, "keep"), "x");
      symlinkSync(victim, name("link"));
      // ours but not 0700: not made by mkdtemp
      mkdirSync(name("open"), { mode: 0o755 });
      chmodSync(name("open"), 0o755);
      // ours: removed
      mkdirSync(name("ours"), { mode: 0o700 });
      writeFileSync(join(name("ours"), "staged"), "x");
      // ours, but rm fails (an immutable file): a warning, not a failed install
      mkdirSync(name("stuck"), { mode: 0o700 });
      writeFileSync(join(name("stuck"), "f"), "x");
      immutable = run("chattr", ["+i", join(name("stuck"), "f")], { allowFail: true }).code === 0;

      const r = cliEnv(["install", "--root", root, "--kver", KVER], { TMPDIR: tmp });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(join(name("other"), "keep")), "another user's directory is not ours");
      assert.ok(lstatSync(name("link")).isSymbolicLink() && existsSync(join(victim, "keep")), "a symlink is not ours");
      assert.ok(existsSync(name("open")), "a directory not made by mkdtemp is not ours");
      assert.ok(!existsSync(name("ours")), "ours is removed");
      if (immutable) assert.match(r.stderr, /warning: could not remove the staging directory .*-stuck/);
      const left = readdirSync(tmp).sort();
      assert.deepEqual(left, ["other", "link", "open", ...(immutable ? ["stuck"] : [])].map((t) => basename(name(t))).sort(), "the run's own staging directory is gone");
    } finally {
      if (immutable) run("chattr", ["-i", join(name("stuck"), "f")], { allowFail: true });
    }
  }, "iofs-hardening-"));

test("a 0600 original: image, mini, kept original and build outputs are 0600; status reports an image more readable than its original", () =>
  withTempDir(async (work) => {
    const { root, boot } = plainRoot(work);
    writePrivate(join(boot, SLOT), orig.a);
    const r = cliEnv(["install", "--root", root, "--kver", KVER, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const image = JSON.parse(r.stdout)[0].image as string;
    assert.equal(modeOf(image).toString(8), "600", "the image");
    assert.equal(modeOf(join(boot, SLOT)).toString(8), "600", "the mini initramfs");
    assert.equal(modeOf(join(boot, `${SLOT}.full`)).toString(8), "600", "the original kept");
    assert.equal(cliEnv(["status", "--root", root]).code, 0);

    chmodSync(image, 0o644);
    const st = cliEnv(["status", "--root", root]);
    assert.equal(st.code, 1, st.stdout);
    assert.match(st.stdout, /problem: .*initoverlayfs-.*\.img \(mode 0644\) is more readable than the original .*\.full \(mode 0600\)/);
    // an install with nothing else to do tightens it
    const again = cliEnv(["install", "--root", root, "--kver", KVER, "--json"]);
    assert.equal(JSON.parse(again.stdout)[0].action, "up-to-date", again.stderr);
    assert.equal(modeOf(image).toString(8), "600");
    assert.equal(cliEnv(["status", "--root", root]).code, 0);

    const out = join(work, "out");
    const origFile = join(work, "orig.img");
    writePrivate(origFile, orig.a);
    const args = ["build", "--initramfs", origFile, "--kver", KVER, "--boot", SPEC, "--boot-fstype", "ext4", "--integrity", "copy", "--no-default-modules", "--mini-compression", "none"];
    const b = cliEnv([...args, "--output-dir", out]);
    assert.equal(b.code, 0, b.stderr);
    for (const n of readdirSync(out)) assert.equal(modeOf(join(out, n)).toString(8), "600", n);
    // a world-readable original gives world-readable outputs
    chmodSync(origFile, 0o644);
    assert.equal(cliEnv([...args, "--output-dir", join(work, "out2")]).code, 0);
    for (const n of readdirSync(join(work, "out2"))) assert.equal(modeOf(join(work, "out2", n)).toString(8), "644", n);
  }, "iofs-hardening-"));

test("--root: an absolute symlink at ROOT/boot resolves inside ROOT; --entry-dir with .. is refused; install-hooks stays inside ROOT", () =>
  withTempDir(async (work) => {
    // stand-ins for the host's /boot and an entry directory: absolute paths outside ROOT
    const host = join(work, "host-boot");
    mkdirSync(host);
    writeFileSync(join(host, SLOT), orig.a);
    writeFileSync(join(host, `${SLOT}.full`), orig.b);
    writeFileSync(join(host, `initoverlayfs-${KVER}-0123456789ab.img`), "image");
    const hostEntry = join(work, "host-entry");
    mkdirSync(hostEntry);
    writeFileSync(join(hostEntry, "initrd"), orig.a);
    writeFileSync(join(hostEntry, "initrd.full"), orig.b);
    const hostEtc = join(work, "host-etc");
    mkdirSync(hostEtc);
    const before = [snapshot(host), snapshot(hostEntry)];

    const root = join(work, "root");
    mkdirSync(join(root, "etc/initoverlayfs"), { recursive: true });
    writeFileSync(join(root, "etc/initoverlayfs/install.conf"), CONF);
    symlinkSync(host, join(root, "boot"));
    const u = cliEnv(["uninstall", "--root", root, "--kver", KVER]);
    assert.equal(u.code, 2, u.stderr);
    assert.equal(u.stderr, `initoverlayfs: ${realpathSync(root)}${host} does not exist\n`);

    // ROOT's /boot, where the link leads inside ROOT (as in a chroot)
    mkdirSync(join(root, host), { recursive: true });
    const e = cliEnv(["uninstall", "--root", root, "--kver", KVER, "--entry-dir", `/${"../".repeat(20)}${hostEntry.slice(1)}`]);
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, /^initoverlayfs: --entry-dir: must not contain "\.\."/);
    assert.deepEqual([snapshot(host), snapshot(hostEntry)], before, "nothing outside ROOT changed");
    // install and uninstall work there
    writeFileSync(join(root, host, SLOT), orig.a);
    assert.equal(cliEnv(["install", "--root", root, "--kver", KVER]).code, 0);
    assert.ok(miniConfig(join(root, host, SLOT)), "the mini went to ROOT's /boot");
    assert.equal(cliEnv(["uninstall", "--root", root, "--kver", KVER]).code, 0);
    assert.ok(readFileSync(join(root, host, SLOT)).equals(orig.a));
    assert.deepEqual([snapshot(host), snapshot(hostEntry)], before, "nothing outside ROOT changed");

    symlinkSync(hostEtc, join(root, "etc/kernel"));
    assert.equal(cliEnv(["install-hooks", "--root", root]).code, 0);
    assert.deepEqual(readdirSync(hostEtc), [], "the hooks went to ROOT, not to the host's /etc");
  }, "iofs-hardening-"));

test("a /boot install or uninstall keeps the images a BLS entry directory's mini of the same kernel refers to", () =>
  withTempDir(async (work) => {
    const { root, boot } = plainRoot(work);
    const entryDir = `/efi/0123456789abcdef0123456789abcdef/${KVER}`;
    mkdirSync(join(root, entryDir), { recursive: true });
    writeFileSync(join(root, entryDir, "initrd"), orig.a);
    writeFileSync(join(boot, SLOT), orig.b);
    const entry = ["install", "--root", root, "--kver", KVER, "--entry-dir", entryDir];
    assert.equal(cliEnv(entry).code, 0);
    const entryImage = join(boot, basename(miniConfig(join(root, entryDir, "initrd"))!.get("image")!));
    assert.ok(existsSync(entryImage));
    for (const args of [["install"], ["install", "--force"], ["uninstall"]]) {
      const r = cliEnv([...args, "--root", root, "--kver", KVER]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(entryImage), `${args.join(" ")} of /boot kept the entry directory's image`);
    }
    assert.ok(readFileSync(join(boot, SLOT)).equals(orig.b));
    assert.equal(cliEnv(["uninstall", "--root", root, "--kver", KVER, "--entry-dir", entryDir]).code, 0);
    assert.deepEqual(readdirSync(boot).filter((n) => n.startsWith("initoverlayfs-")), []);
  }, "iofs-hardening-"));

/** Waits until `pid` is stopped (SIGSTOP). */
async function stopped(pid: number): Promise<void> {
  for (let i = 0; i < 2400; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "T") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} never stopped`);
}

test("update-initramfs writes a new initramfs while install runs: the mini does not replace it, one clear line", () =>
  withTempDir(async (work) => {
    const { root, boot } = plainRoot(work);
    writeFileSync(join(boot, SLOT), orig.a);
    const args = ["install", "--root", root, "--kver", KVER];
    // the step that starts writing the mini initramfs, from a dry run's step list
    const log = join(work, "steps");
    assert.equal(cliEnv(args, { INITOVERLAYFS_FAULT_LOG: log }).code, 0);
    const at = /^(\d+) write mini initramfs/m.exec(readFileSync(log, "utf8"))![1];
    assert.equal(cliEnv(["uninstall", "--root", root, "--kver", KVER]).code, 0);

    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, INITOVERLAYFS_FAULT_PAUSE: at }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      await stopped(child.pid!);
      // as update-initramfs does: a new file renamed over the slot
      writeFileSync(join(boot, `${SLOT}.new`), orig.b);
      renameSync(join(boot, `${SLOT}.new`), join(boot, SLOT));
    } finally {
      child.kill("SIGCONT");
    }
    const code = await exited;
    assert.ok(readFileSync(join(boot, SLOT)).equals(orig.b), "the new initramfs is still what the boot loader loads");
    assert.equal(code, 4, stderr);
    assert.match(stderr, /^initoverlayfs: .*initrd\.img-.* changed while this run was working \(update-initramfs or dracut wrote it\?\): left as it is; run again\n$/m);
    // the next install takes it as the original
    assert.equal(cliEnv(args).code, 0);
    assert.equal(checkBootable(boot, [orig.b], SPEC), "mini");
  }, "iofs-hardening-"));
