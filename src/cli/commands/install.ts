/** install, uninstall, status and install-hooks: the pair on a real system's /boot. */
import { Command } from "commander";
import { UsageError } from "../../errors.js";
import { BOOT_FSTYPES, FAILURE_POLICIES, IMAGE_FORMATS, INTEGRITY_MODES, MINI_COMPRESSION_CHOICES } from "../../formats/storage-init-config/schema.js";
import { optionalOneOf, whole } from "../options.js";
import { EXIT } from "../exit-codes.js";
import { bytes, describeEarly } from "../format.js";
import type { ExtensionsStatus } from "../../install/extensions.js";

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(",").map((s) => s.trim()).filter(Boolean)];
const log = (line: string) => process.stderr.write(`initoverlayfs: ${line}\n`);
const rootOption = ["--root <dir>", "work on the system in DIR (an image being built): its /boot, /etc, /lib/modules; the host's /boot is not touched"] as const;

function lockTimeout(): number | undefined {
  const v = process.env.INITOVERLAYFS_LOCK_TIMEOUT;
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`INITOVERLAYFS_LOCK_TIMEOUT: expected whole seconds, got ${JSON.stringify(v)}`);
  return Number(v);
}

function installCommand(): Command {
  return new Command("install")
    .description("build the pair for a kernel and put it in place: the EROFS image as /boot/initoverlayfs-KVER-GEN.img, the mini initramfs where the boot loader loads the initramfs, the original kept as <initramfs>.full")
    .option("--kver <version>", "kernel version (default: every kernel with an initramfs in /boot)")
    .option(...rootOption)
    .option("--entry-dir <dir>", "a BLS entry directory (kernel-install layout=bls) whose initrd is the boot loader's initramfs")
    .option("--boot <spec>", "the partition holding /boot as storage-init finds it (default: boot in etc/initoverlayfs/install.conf, else the UUID of the filesystem /boot is on)")
    .option("--boot-fstype <type>", "boot filesystem type (default: the type /boot is mounted with)")
    .option("--failure <policy>", "what storage-init does on failure: panic, reboot or shell")
    .option("--timeout <seconds>", "how long storage-init waits for the boot device")
    .option("--cmdline <yes|no>", "no: storage-init ignores initoverlayfs.* on the kernel command line")
    .option("--add-modules <names>", "more modules for the mini initramfs (comma-separated, repeatable)", list)
    .option("--mini-compression <kind>", MINI_COMPRESSION_CHOICES.join(", "))
    .option("--integrity <mode>", "what the mini initramfs checks the image against: dm-verity (default), fs-verity, copy or none (see build --help)")
    .option("--integrity-hash <alg>", "dm-verity tree or fs-verity digest hash")
    .option("--sign-key <pem>", "dm-verity: sign the root hash with this RSA key")
    .option("--sign-cert <pem>", "the certificate of --sign-key")
    .option("--image-format <format>", "plain (default) or ddi: the image as a Discoverable Disk Image (see build --help)")
    .option("--sysext <files...>", "system extension images storage-init may stack: their root hashes are pinned (install.conf: sysext = FILE, repeatable; sysext_roothash = HEX)")
    .option("--sysext-cert <cert>", "a certificate whose signed extensions storage-init may stack (install.conf: sysext_cert)")
    .option("--storage-init <file>", "the storage-init binary (default: this package's, for the kernel's architecture)")
    .option("--force", "rebuild even when the installed pair is up to date")
    .option("--json", "print the result as JSON")
    .action(async (o) => {
      const { install } = await import("../../install/install.js");
      const r = await install({
        root: o.root, kver: o.kver, entryDir: o.entryDir, boot: o.boot, bootFstype: optionalOneOf("--boot-fstype", o.bootFstype, BOOT_FSTYPES), failure: optionalOneOf("--failure", o.failure, FAILURE_POLICIES),
        cmdline: o.cmdline === undefined ? undefined : optionalOneOf("--cmdline", o.cmdline, ["yes", "no"]) === "yes",
        timeout: o.timeout !== undefined ? whole("--timeout", o.timeout) : undefined, addModules: o.addModules, miniCompression: optionalOneOf("--mini-compression", o.miniCompression, MINI_COMPRESSION_CHOICES),
        integrity: optionalOneOf("--integrity", o.integrity, INTEGRITY_MODES), integrityHash: o.integrityHash, signKey: o.signKey, signCert: o.signCert,
        imageFormat: optionalOneOf("--image-format", o.imageFormat, IMAGE_FORMATS), sysext: o.sysext, sysextCert: o.sysextCert, storageInit: o.storageInit, force: !!o.force, lockTimeout: lockTimeout(), log,
      });
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + "\n");
      for (const k of r) {
        process.stdout.write(k.action === "up-to-date"
          ? `${k.kver}: up to date: ${k.slot} mounts ${k.image}\n`
          : `${k.kver}: installed: ${k.slot} (mini, ${bytes(k.miniBytes)}) mounts ${k.image} (${bytes(k.imageBytes)}); original ${k.original} (${bytes(k.originalBytes)})\n${describeEarly(k.early, "  ")}`);
      }
    });
}

function uninstallCommand(): Command {
  return new Command("uninstall")
    .description("restore the original initramfs exactly and remove initoverlayfs's files")
    .option("--kver <version>", "kernel version (default: every kernel in /boot)")
    .option(...rootOption)
    .option("--entry-dir <dir>", "a BLS entry directory whose initrd is the boot loader's initramfs")
    .option("--kernel-removed", "the kernel itself is being removed (hooks): delete our files for it, restore nothing")
    .option("--json", "print the result as JSON")
    .action(async (o) => {
      const { uninstall } = await import("../../install/install.js");
      const r = await uninstall({ root: o.root, kver: o.kver, entryDir: o.entryDir, kernelRemoved: !!o.kernelRemoved, lockTimeout: lockTimeout(), log });
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + "\n");
      for (const k of r) process.stdout.write(`${k.kver}: ${k.action}${k.removed.length ? ` (removed ${k.removed.join(", ")})` : ""}\n`);
    });
}

function statusCommand(): Command {
  return new Command("status")
    .description("per kernel: what is installed, sizes, integrity mode, whether the image still matches what the mini initramfs expects (exit 1 if not)")
    .option("--kver <version>", "only this kernel")
    .option(...rootOption)
    .option("--entry-dir <dir>", "a BLS entry directory")
    .option("--json", "print the result as JSON")
    .action(async (o) => {
      const { status } = await import("../../install/status.js");
      const r = await status({ root: o.root, kver: o.kver, entryDir: o.entryDir });
      if (r.some((k) => k.problems.length || k.unreferenced.length)) process.exitCode = EXIT.PROBLEMS;
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + "\n");
      if (!r.length) process.stdout.write("no kernels found\n");
      for (const k of r) {
        const lines = [`${k.kver}: ${k.state} (${k.layout} layout)`, `  boot loader loads ${k.slot}: ${k.slotKind}${k.slotBytes !== undefined ? `, ${bytes(k.slotBytes)}` : ""}`];
        if (k.original) lines.push(`  original kept as ${k.original.path}: ${bytes(k.original.bytes)}`);
        if (k.image) {
          const c = k.image.check;
          lines.push(`  image ${k.image.path}${k.image.bytes !== undefined ? `: ${bytes(k.image.bytes)}` : ""}, boot ${k.boot}, integrity ${k.integrity}${k.imageFormat === "ddi" ? ", a DDI" : ""}`);
          if (k.early?.archives) lines.push(describeEarly(k.early, "  ").trimEnd());
          const valid = k.imageFormat === "ddi" ? "GPT and DDI partitions valid, layout as pinned" : "EROFS superblock valid, size consistent";
          lines.push(`  image check: ${c.ok ? `ok (present, ${valid}${c.digestChecked ? `, ${k.integrity} data verified` : ""})` : "FAILED"}`);
        }
        if (k.extensions) lines.push(...describeExtensions(k.extensions));
        for (const u of k.unreferenced) lines.push(`  unreferenced image (left by an interrupted run; the next install removes it): ${u}`);
        for (const p of k.problems) lines.push(`  problem: ${p}`);
        process.stdout.write(lines.join("\n") + "\n");
      }
    });
}

/** What storage-init would do with each extension at the next boot, and what it checks them against. */
function describeExtensions(x: ExtensionsStatus): string[] {
  const pins = `${x.pinned.length} root hash(es) pinned${x.signer ? `, signer ${x.signer}` : ", no signer pinned"}`;
  const id = x.osId === undefined ? "image unreadable" : `image os-release ID=${x.osId || "(none)"}`;
  const lines = [`  extensions: ${pins}; ${id}; looked for in ${x.dirs.join(", ")} (and ${x.bootOnly} at boot)`];
  for (const e of x.extensions) {
    const how = e.pinned ? "pinned" : e.signature === "verified" ? `signed by the pinned signer` : "";
    lines.push(e.stacked
      ? `    ${e.path}: would be stacked (${how}, root hash ${e.rootHash}, ID=${e.id}; ${e.placement === "RAM" ? "in RAM" : "on its own loop and dm-verity devices"})`
      : `    ${e.path}: would be skipped: ${e.reason}`);
  }
  return lines;
}

function installHooksCommand(): Command {
  return new Command("install-hooks")
    .description("install the hooks that run install/uninstall by themselves: kernel-install plugin, initramfs-tools post-update hook, Debian kernel removal hook")
    .option(...rootOption)
    .option("--remove", "remove the hooks instead")
    .option("--json", "print the files as JSON")
    .action(async (o) => {
      const { installHooks, removeHooks } = await import("../../install/hooks.js");
      const files = o.remove ? removeHooks({ root: o.root }) : installHooks({ root: o.root });
      if (o.json) return void process.stdout.write(JSON.stringify(files, null, 2) + "\n");
      for (const f of files) process.stdout.write(`${o.remove ? "removed" : "installed"} ${f}\n`);
    });
}

export function installCommands(): Command[] {
  return [installCommand(), uninstallCommand(), statusCommand(), installHooksCommand()];
}
