/**
 * Acceptance on a Debian system: a copy-on-write copy of this machine's root (overlay: the host
 * root read-only below, a tmpfs above; the host is never written) with /boot on a fresh ext4
 * filesystem. Inside it (chroot), dpkg really installs Debian's kernel package: its maintainer
 * scripts run update-initramfs, whose post-update hook runs our install. The pair left in /boot
 * boots in QEMU; removing the package removes our files and nothing else.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { boot, makeRootDisk, rootReport, tail, VMLINUZ } from "../boot/vm.js";
import { run } from "../helpers/run.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { CLI } from "../helpers/cli.js";
import { KVER, miniConfig, SLOT } from "./helpers.js";

const PKG = `linux-image-${KVER}`;
const BOOT_UUID = "5a1e0b7e-0000-4000-8000-deb1a2000001";

/** Debian's kernel package: apt's cache (setup.sh installed it through apt), else apt-get download. */
function kernelDeb(work: string): string {
  const cache = "/var/cache/apt/archives";
  const cached = existsSync(cache) ? readdirSync(cache).find((n) => n.startsWith(`${PKG}_`) && n.endsWith(".deb")) : undefined;
  if (cached) return join(cache, cached);
  run("apt-get", ["download", PKG], { cwd: work, timeoutMs: 600_000 });
  const got = readdirSync(work).find((n) => n.startsWith(`${PKG}_`) && n.endsWith(".deb"));
  assert.ok(got, `apt-get download ${PKG} produced no .deb`);
  return join(work, got);
}

function chroot(root: string, cmd: string[], timeoutMs = 900_000) {
  const r = spawnSync("chroot", [root, ...cmd], {
    encoding: "utf8", timeout: timeoutMs, maxBuffer: 1 << 28,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", DEBIAN_FRONTEND: "noninteractive", LANG: "C" },
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

function listBoot(dir: string): string[] {
  return readdirSync(dir).filter((n) => n !== "lost+found").sort();
}

test("dpkg installs Debian's kernel package: our hook leaves a pair that boots; removing the package removes our files and nothing else", async () => {
  const work = makeTempDir("iofs-debian-");
  const upper = join(work, "upper");
  const root = join(work, "root");
  const bootImg = join(work, "boot.img");
  const rootBoot = join(root, "boot");
  const mounts: string[] = [];
  const mount = (args: string[], target: string) => {
    run("mount", [...args, target]);
    mounts.push(target);
  };
  const umount = (target: string) => {
    const i = mounts.lastIndexOf(target);
    if (i >= 0) mounts.splice(i, 1);
    if (run("umount", [target], { allowFail: true }).code !== 0) run("umount", ["-l", target], { allowFail: true });
  };
  try {
    const deb = kernelDeb(work);
    mkdirSync(upper);
    mkdirSync(root);
    mount(["-t", "tmpfs", "tmpfs"], upper);
    mkdirSync(join(upper, "u"));
    mkdirSync(join(upper, "w"));
    mount(["-t", "overlay", "overlay", "-o", `lowerdir=/,upperdir=${upper}/u,workdir=${upper}/w`], root);
    mount(["-t", "proc", "proc"], join(root, "proc"));
    mount(["--bind", "/dev"], join(root, "dev"));
    run("truncate", ["-s", "400M", bootImg]);
    run("mkfs.ext4", ["-q", "-F", "-U", BOOT_UUID, bootImg]);
    mount(["-o", "loop", bootImg], rootBoot);

    // the copy starts without the kernel (its /boot is empty): remove the package, no hooks yet
    const rm0 = chroot(root, ["dpkg", "--remove", "--force-depends", PKG]);
    assert.equal(rm0.code, 0, rm0.out);
    // files that must survive: another kernel's initramfs, something of the admin's
    writeFileSync(join(rootBoot, "initrd.img-9.9.9-other"), "another kernel's initramfs");
    writeFileSync(join(rootBoot, "keep-me"), "not ours");
    const before = listBoot(rootBoot);

    const hooks = spawnSync(process.execPath, [CLI, "install-hooks", "--root", root], { encoding: "utf8" });
    assert.equal(hooks.status, 0, hooks.stderr);

    // dpkg runs the package's postinst: /etc/kernel/postinst.d/initramfs-tools, update-initramfs, our post-update hook
    const inst = chroot(root, ["dpkg", "--install", deb]);
    assert.equal(inst.code, 0, inst.out);
    assert.match(inst.out, /initoverlayfs: .*is now the mini initramfs/, inst.out);
    const full = join(rootBoot, `${SLOT}.full`);
    const images = readdirSync(rootBoot).filter((n) => n.startsWith(`initoverlayfs-${KVER}-`));
    assert.equal(images.length, 1, `one image: ${listBoot(rootBoot)}`);
    const cfg = miniConfig(join(rootBoot, SLOT));
    assert.ok(cfg, `${SLOT} is not a mini initramfs`);
    assert.equal(cfg.get("boot"), `UUID=${BOOT_UUID}`, "the boot partition found by findmnt + blkid inside the chroot");
    assert.equal(cfg.get("image"), `/${images[0]}`);
    assert.equal(miniConfig(full), undefined, ".full is the full initramfs update-initramfs made");
    const st = chroot(root, [process.execPath, CLI, "status"]);
    assert.equal(st.code, 0, st.out);
    assert.match(st.out, new RegExp(`${KVER.replace(/\./g, "\\.")}: installed`));

    // kernel-install (systemd) runs our install.d plugin after its own: nothing left to do
    const ki = chroot(root, ["kernel-install", "add", KVER, `/boot/vmlinuz-${KVER}`]);
    assert.equal(ki.code, 0, ki.out);
    assert.match(ki.out, new RegExp(`initoverlayfs: ${KVER.replace(/\./g, "\\.")}: up to date`), ki.out);

    // boot the pair: the kernel, the mini initramfs from /boot, /boot's filesystem as the second disk
    const mini = join(work, "mini.img");
    copyFileSync(join(rootBoot, SLOT), mini);
    assert.ok(readFileSync(join(rootBoot, `vmlinuz-${KVER}`)).equals(readFileSync(VMLINUZ)));
    umount(rootBoot);
    const rootDisk = makeRootDisk(work);
    const r = await boot({ initrd: mini, disks: [rootDisk, bootImg] });
    const rep = rootReport(r.console);
    assert.ok(!r.timedOut && rep.reached && rep.done, `the installed pair did not boot\n${tail(r.console)}`);
    assert.match(r.console, /initoverlayfs: .*mounted on/);
    assert.deepEqual(rep.loopsBacked, []);

    // remove the package: initramfs-tools deletes initrd.img-KVER, our postrm hook the rest of ours
    mount(["-o", "loop", bootImg], rootBoot);
    const rm = chroot(root, ["dpkg", "--remove", "--force-depends", PKG]);
    assert.equal(rm.code, 0, rm.out);
    assert.deepEqual(listBoot(rootBoot), [...before, ".initoverlayfs.lock"].sort(), "only the package's and our files are gone");
    assert.equal(readFileSync(join(rootBoot, "keep-me"), "utf8"), "not ours");
  } finally {
    for (const m of [...mounts].reverse()) umount(m);
    run("losetup", ["-j", bootImg], { allowFail: true }).stdout.split("\n").map((l) => l.split(":")[0]).filter((d) => d.startsWith("/dev/loop"))
      .forEach((d) => run("losetup", ["-d", d], { allowFail: true }));
    removeDir(work);
  }
});
