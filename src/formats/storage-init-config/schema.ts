/**
 * The facts of storage-init's config file, /etc/initoverlayfs.conf in the mini initramfs: where it
 * is, its limits, the values its keys take, and the build's defaults. storage-init/src/config.h
 * and config.c are the C side of the same contract (test/formats/storage-init-config checks both).
 */

/** Where storage-init reads it, inside the mini initramfs (config.h: CFG_PATH). */
export const CONFIG_PATH = "/etc/initoverlayfs.conf";

/**
 * The mini initramfs's manifest: every path it holds, "MODE UID GID PATH" lines in byte order, so
 * that storage-init hands over everything else in the initial rootfs (what the boot loader
 * appended) and nothing of its own (storage-init/src/manifest.h: MANIFEST_PATH).
 */
export const MANIFEST_PATH = "/etc/initoverlayfs.manifest";

/**
 * System extensions storage-init stacks on the image (storage-init/src/sysext.h): the pinned
 * root hashes (key sysext_roothash, sha256, one a line), the signer certificate's path in the
 * mini initramfs (DER; `build --sysext-cert`), and where it looks for NAME.raw files: what
 * systemd-stub passes in the initial rootfs, then on the boot partition a directory next to the
 * image shared by every kernel's image and one for this image only. Later ones stack higher.
 */
export const SYSEXT_CERT_PATH = "/etc/initoverlayfs/sysext-cert.der";
export const SYSEXT_DIRS = {
  /** systemd-stub's .extra/sysext/ (the initial rootfs) */
  stub: "/.extra/sysext",
  /** on the boot partition: IMAGE_DIR/initoverlayfs-extensions/ (every kernel) */
  shared: "initoverlayfs-extensions",
  /** on the boot partition: IMAGE.extra.d/ (this image's kernel only) */
  perImageSuffix: ".extra.d",
} as const;

/** storage-init/src/config.h, manifest.h */
export const LIMITS = {
  modules: 128, // CFG_MAX_MODULES
  shims: 8, // CFG_MAX_SHIMS
  path: 255, // SI_PATH_MAX - 1
  value: 511, // CFG_VALUE_MAX - 1
  params: 255, // CFG_PARAMS_MAX - 1
  line: 1024, // CFG_LINE_MAX
  file: 64 * 1024, // CFG_FILE_MAX
  timeout: 3600,
  salt: 256, // CFG_SALT_MAX: dm-verity salt bytes
  manifestFile: 64 * 1024, // MANIFEST_FILE_MAX
  manifestEntries: 1024, // MANIFEST_MAX_ENTRIES
  manifestPath: 4095, // MANIFEST_PATH_MAX - 1
  sysexts: 128, // CFG_MAX_SYSEXTS: pinned extension root hashes, and extensions stacked
  sysextRam: 16 * 1048576, // SYSEXT_RAM_ONE (sysext.h): an extension's root partition up to this is verified in memory and merged into a RAM layer
} as const;

/**
 * The boot spec that names no partition: storage-init takes the one the boot loader was started
 * from, in the EFI variable LoaderDevicePartUUID (efivar.h: BOOT_SPEC_ESP, LOADER_DEVICE_PART_UUID).
 */
export const BOOT_SPEC_ESP = "esp";
/** efivarfs provides it; a module on Debian (CONFIG_EFIVAR_FS=m) */
export const EFIVARFS_MODULE = "efivarfs";

export const FAILURE_POLICIES = ["panic", "reboot", "shell"] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** what storage-init's check_fstype accepts ("auto": try each it knows) */
export const BOOT_FSTYPES = ["auto", "ext4", "ext3", "ext2", "vfat", "xfs", "btrfs"] as const;
export type BootFstype = (typeof BOOT_FSTYPES)[number];
/**
 * The types storage-init mounts the boot partition as, in the order "auto" tries them after the
 * probed one (mounts.c: fallback); ext2 and ext3 mount as ext4. A `bootfs_module` names one.
 */
export const MOUNT_FSTYPES = ["ext4", "vfat", "xfs", "btrfs"] as const;
export type MountFstype = (typeof MOUNT_FSTYPES)[number];
/** The type a boot filesystem type mounts as: its modules are that type's `bootfs_module`s. */
export function mountFstype(t: Exclude<BootFstype, "auto">): MountFstype {
  return t === "ext2" || t === "ext3" ? "ext4" : t;
}

export const INTEGRITY_MODES = ["none", "dm-verity", "fs-verity", "copy"] as const;
export type IntegrityMode = (typeof INTEGRITY_MODES)[number];
export const VERITY_HASH_ALGORITHMS = ["sha256", "sha512", "sha1"] as const;
export type VerityHashAlgorithm = (typeof VERITY_HASH_ALGORITHMS)[number];
export const FSVERITY_ALGORITHMS = ["sha256", "sha512"] as const;
export type FsverityAlgorithm = (typeof FSVERITY_ALGORITHMS)[number];
/**
 * How the image file is laid out (config.c: image_formats): plain = the EROFS filesystem from
 * offset 0 with the dm-verity hash area appended; ddi = a Discoverable Disk Image (GPT with root,
 * root-verity and optionally root-verity-sig partitions; dm-verity only).
 */
export const IMAGE_FORMATS = ["plain", "ddi"] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
/** dm-verity data and hash block size storage-init sets up (config.h: VERITY_BLOCK) */
export const VERITY_BLOCK_SIZE = 4096;

/**
 * How a module is loaded, named by its config key:
 *   module          always, in order; a failure stops the boot
 *   storage_module  a storage driver: loaded only while the boot device is still missing
 *   optional_module needs a CPU or firmware feature (an accelerated hash; efivarfs, UEFI): the
 *                   kernel may refuse it, and the boot goes on (the generic hash runs; boot = esp
 *                   then says the variable cannot be read)
 *   bootfs_module   `TYPE PATH`: a boot filesystem's module, loaded only before storage-init
 *                   mounts the boot partition as TYPE (one of MOUNT_FSTYPES); a failure stops the
 *                   boot. An ext4 /boot then never loads vfat, nor an ESP ext4.
 */
export const MODULE_KEYS = ["module", "storage_module", "optional_module", "bootfs_module"] as const;
export type ModuleKey = (typeof MODULE_KEYS)[number];

/** The switch-root programs storage-init replaces when the file names none (config.c: default_shims). */
export const DEFAULT_SHIMS = ["/usr/sbin/run-init", "/usr/bin/run-init", "/usr/sbin/switch_root", "/sbin/switch_root"] as const;

/** How the mini initramfs holding the config is compressed (gzip: every kernel unpacks it). */
export const MINI_COMPRESSIONS = ["gzip", "zstd", "lz4", "none"] as const;
export type MiniCompression = (typeof MINI_COMPRESSIONS)[number];
/**
 * What `build --mini-compression` and install.conf's `mini_compression` take: one of those, or
 * `auto`, lz4 where the kernel's config says it unpacks lz4 and finds the end of it, else gzip.
 */
export const MINI_COMPRESSION_CHOICES = ["auto", ...MINI_COMPRESSIONS] as const;
export type MiniCompressionChoice = (typeof MINI_COMPRESSION_CHOICES)[number];

/** What `build` and `install` write when not told otherwise; `--help` shows the same values. */
export const BUILD_DEFAULTS = {
  init: "/init",
  timeout: 10,
  failure: "panic",
  integrity: "dm-verity",
  miniCompression: "auto",
  imageFormat: "plain",
} as const satisfies {
  init: string; timeout: number; failure: FailurePolicy; integrity: IntegrityMode; miniCompression: MiniCompressionChoice; imageFormat: ImageFormat;
};

/** The image's path on the boot partition when none is named. */
export function defaultImagePath(kver: string): string {
  return `/initoverlayfs-${kver}.img`;
}

/** `v` as a member of `list`, or undefined: the one way strings from outside become these unions. */
export function memberOf<T extends string>(list: readonly T[], v: string): T | undefined {
  return (list as readonly string[]).includes(v) ? (v as T) : undefined;
}
