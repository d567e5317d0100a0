import { Command } from "commander";
import type { BuildResult } from "../../pipeline/build.js";
import { UsageError } from "../../errors.js";
import { DEFAULT_MAX_UNPACKED } from "../../initramfs/limits.js";
import {
  BOOT_FSTYPES, BUILD_DEFAULTS, FAILURE_POLICIES, IMAGE_FORMATS, INTEGRITY_MODES, MINI_COMPRESSION_CHOICES,
} from "../../formats/storage-init-config/schema.js";
import type { IntegrityConfig } from "../../formats/storage-init-config/integrity.js";
import { bytes, describeEarly } from "../format.js";
import { oneOf, optionalOneOf, parseSize, parseTimestamp, whole } from "../options.js";
import { progress } from "../progress.js";
import { ARCHES } from "../../formats/elf/arch.js";
import { addCompressionOptions, compressionFromOptions } from "../compression-options.js";

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(",").map((s) => s.trim()).filter(Boolean)];

export function buildCommand(): Command {
  return addCompressionOptions(new Command("build"), "lz4hc")
    .description("split an initramfs: an EROFS image of all of it and a mini initramfs (storage-init, its config, the modules it needs) that mounts the image")
    .requiredOption("--boot <spec>", "the partition holding the image: UUID=..., LABEL=..., PARTUUID=..., PARTLABEL=..., /dev/..., or esp (the partition the boot loader was started from, in the EFI variable LoaderDevicePartUUID; implies --boot-fstype vfat)")
    .option("--initramfs <file>", "the original initramfs (default: /boot/initrd.img-KVER or /boot/initramfs-KVER.img)")
    .option("--kver <version>", "kernel version (default: the initramfs's only lib/modules/* if --initramfs is named, else uname -r)")
    .option("-o, --output-dir <dir>", "where initoverlayfs-KVER.img and initramfs-KVER.img go", "initoverlayfs-out")
    .option("--allow-boot", "allow --output-dir to be in /boot")
    .option("--boot-fstype <type>", "boot filesystem: ext4, ext2, ext3, vfat, xfs, btrfs, or auto (modules for every type storage-init tries) (default: the boot device's type if this machine sees it, else ext4 and vfat)")
    .option("--boot-flags <options>", "mount options for the boot partition")
    .option("--image-path <path>", "the image's path on the boot partition (default /initoverlayfs-KVER.img)")
    .option("--init <path>", "the init in the image to hand over to", BUILD_DEFAULTS.init)
    .option("--timeout <seconds>", "how long storage-init waits for the boot device", String(BUILD_DEFAULTS.timeout))
    .option("--failure <policy>", `what storage-init does on failure: ${FAILURE_POLICIES.join(", ")}`, BUILD_DEFAULTS.failure)
    .option("--cmdline <yes|no>", "no: storage-init ignores initoverlayfs.* on the kernel command line (for machines whose command line an attacker can edit)", "yes")
    .option("--add-modules <names>", "more modules (names or aliases, comma-separated, repeatable); each must exist", list)
    .option("--no-default-modules", "leave out the default storage drivers (virtio, NVMe, AHCI, MMC, USB)")
    .option("--modules-dir <dir>", "modules for KVER the initramfs lacks (erofs, overlay...) (default /lib/modules/KVER)")
    .option("--no-host-modules", "take modules from the initramfs only")
    .option("--kernel-config <file>", "the kernel's .config (default /boot/config-KVER)")
    .option("--decompress-modules", "store compressed modules decompressed (no CONFIG_MODULE_DECOMPRESS needed)")
    .option("--mini-compression <kind>", MINI_COMPRESSION_CHOICES.join(", "), BUILD_DEFAULTS.miniCompression)
    .option("--arch <arch>", `the kernel's architecture, ${ARCHES.join(" or ")} (default: what its modules are built for; needed only for a kernel without modules)`)
    .option("--storage-init <file>", "the storage-init binary (default: this package's, storage-init/build/ARCH/storage-init, for the kernel's architecture)")
    .option("--timestamp <epoch>", "fixed mtime for every inode of both outputs (default: $SOURCE_DATE_EPOCH if set)")
    .option("--integrity <mode>", "what the mini initramfs checks the image against: dm-verity (hash tree appended to the image), fs-verity (the file's digest, /boot with verity enabled), copy (digest while copying into a sealed memfd: any /boot, any kernel) or none", BUILD_DEFAULTS.integrity)
    .option("--integrity-hash <alg>", "dm-verity: sha256, sha512 or sha1; fs-verity/copy: sha256 or sha512 (default sha256)")
    .option("--verity-salt <hex>", "dm-verity salt (empty for none; default: derived from the image, so builds are reproducible)")
    .option("--sign-key <pem>", "dm-verity: sign the root hash with this RSA key (the kernel checks it against its trusted keys)")
    .option("--sign-cert <pem>", "the certificate of --sign-key")
    .option("--image-format <format>", "plain (EROFS with the dm-verity hash area appended) or ddi (a Discoverable Disk Image: GPT with root, root-verity and, with --sign-key, root-verity-sig partitions; systemd-dissect reads it)", BUILD_DEFAULTS.imageFormat)
    .option("--sysext <files...>", "system extension images (`initoverlayfs sysext`) storage-init may stack on the image: their root hashes are pinned in the mini initramfs (needs --integrity dm-verity)")
    .option("--sysext-cert <cert>", "a certificate (PEM or DER) whose signed extensions storage-init may stack, stored in the mini initramfs")
    .option("--strict", "reject cpio entries the kernel would drop instead of warning")
    .option("--max-unpacked <size>", `refuse an initramfs that unpacks to more than this (default ${DEFAULT_MAX_UNPACKED / 2 ** 30}G): a small compressed bomb must not exhaust memory`)
    .option("--json", "print the result as JSON")
    .action(async (o) => {
      const timeout = whole("--timeout", o.timeout);
      if (o.modulesDir !== undefined && o.hostModules === false) throw new UsageError("--modules-dir and --no-host-modules exclude each other");
      const compression = (await compressionFromOptions(o)) ?? null;
      const { buildPair } = await import("../../pipeline/build.js");
      const p = progress(`reading ${o.initramfs ?? "initramfs"}`);
      let r: BuildResult;
      try {
        r = await buildPair({
          initramfs: o.initramfs, kver: o.kver, boot: o.boot, bootFstype: optionalOneOf("--boot-fstype", o.bootFstype, BOOT_FSTYPES), bootFlags: o.bootFlags,
          outputDir: o.outputDir, allowBoot: !!o.allowBoot, arch: optionalOneOf("--arch", o.arch, ARCHES), storageInit: o.storageInit,
          miniCompression: oneOf("--mini-compression", o.miniCompression, MINI_COMPRESSION_CHOICES), addModules: o.addModules, defaultModules: o.defaultModules,
          modulesDir: o.hostModules === false ? false : o.modulesDir, kernelConfig: o.kernelConfig,
          decompressModules: !!o.decompressModules, init: o.init, imagePath: o.imagePath, timeout,
          failure: oneOf("--failure", o.failure, FAILURE_POLICIES), cmdline: oneOf("--cmdline", o.cmdline, ["yes", "no"]) === "yes", timestamp: o.timestamp !== undefined ? parseTimestamp(o.timestamp) : undefined,
          integrity: oneOf("--integrity", o.integrity, INTEGRITY_MODES), integrityHash: o.integrityHash, veritySalt: o.veritySalt, signKey: o.signKey, signCert: o.signCert,
          imageFormat: oneOf("--image-format", o.imageFormat, IMAGE_FORMATS), sysext: o.sysext, sysextCert: o.sysextCert,
          strict: !!o.strict, maxUnpackedBytes: o.maxUnpacked !== undefined ? parseSize("--max-unpacked", o.maxUnpacked) : undefined, compression, onProgress: (d, t) => p.update(d, t),
        });
      } finally {
        p.done();
      }
      for (const w of r.warnings) process.stderr.write(`initoverlayfs: warning: ${w}\n`);
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + "\n");
        return;
      }
      const s = r.image.stats;
      const pct = r.input.bytes ? ` (${((100 * r.mini.bytes) / r.input.bytes).toFixed(1)}% of the original ${bytes(r.input.bytes)})` : "";
      process.stdout.write(
        `${r.image.path}: EROFS image of ${r.input.path}: ${s.files} files (${r.image.compressedFiles} compressed), ${bytes(s.bytes)} of data → ${bytes(r.image.bytes)} in ${r.image.seconds.toFixed(2)} s\n` +
        `integrity: ${describeIntegrity(r.integrity)}\n` +
        `${r.mini.path}: mini initramfs for ${r.arch.name}: storage-init + ${r.modules.length} modules (${bytes(r.mini.moduleBytes)}), ${r.mini.compression} → ${bytes(r.mini.bytes)}${pct} in ${r.mini.seconds.toFixed(2)} s\n` +
        describeEarly(r.mini.early),
      );
    });
}

function describeIntegrity(c: IntegrityConfig): string {
  if (c.mode === "none") return "none (the mini initramfs mounts whatever image it finds)";
  if (c.mode === "dm-verity") {
    const where = c.imageFormat === "ddi" ? `DDI, root-verity partition at byte ${c.hashOffset}` : `hash area at byte ${c.hashOffset}`;
    return `dm-verity, ${c.hashAlgorithm} root hash ${c.rootHash}${c.signature ? " (signed)" : ""}, ${where}`;
  }
  return `${c.mode}, fs-verity digest ${c.algorithm}:${c.digest}`;
}
