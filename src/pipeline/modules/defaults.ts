/**
 * What the mini initramfs asks for by default: drivers for the usual boot disks, the boot
 * filesystem, and what storage-init itself mounts (loop, erofs, overlay).
 */
import { UsageError } from "../../errors.js";
import { Arch } from "../../formats/elf/arch.js";
import { BOOT_SPEC_ESP, BootFstype, EFIVARFS_MODULE, MOUNT_FSTYPES, MountFstype, mountFstype } from "../../formats/storage-init-config/schema.js";
import { KernelConfig } from "../kernel.js";
import { ModuleWant } from "./select.js";

/**
 * Disk controllers and buses a /boot partition is commonly on, per architecture. A driver without
 * its hardware still loads (it only registers), so one mini initramfs boots VMs and most machines.
 * Optional: the ones a kernel lacks (or has built in) are dropped silently. storage-init loads
 * them in this order until the boot device is there: the virtual machines' first.
 */
export const DEFAULT_STORAGE_MODULES: Readonly<Record<Arch, readonly string[]>> = {
  "x86-64": [
    // virtual machines
    "virtio_pci", "virtio_blk", "virtio_scsi",
    // NVMe, SATA/AHCI, legacy IDE in PIIX mode (QEMU's default PC)
    "nvme", "ahci", "ata_piix", "sd_mod",
    // SD/eMMC
    "sdhci_pci", "sdhci_acpi", "mmc_block",
    // USB disks
    "xhci_pci", "ehci_pci", "usb_storage", "uas",
  ],
  arm64: [
    // virtual machines: QEMU's virt machine has virtio over PCI and over MMIO
    "virtio_pci", "virtio_mmio", "virtio_blk", "virtio_scsi",
    // NVMe, SATA/AHCI (servers, boards with a PCIe slot)
    "nvme", "ahci", "sd_mod",
    // SD/eMMC: PCI and ACPI hosts (QEMU's sdhci-pci, servers), then the boards' own: Raspberry Pi
    // 4 (sdhci_iproc) and 3 (bcm2835), Xilinx ZynqMP and Rockchip (sdhci_of_arasan,
    // dw_mmc_rockchip, sdhci_of_dwcmshc), NVIDIA Tegra, Amlogic (meson_gx_mmc), Allwinner
    // (sunxi_mmc), NXP i.MX (sdhci_esdhc_imx) and Renesas R-Car (renesas_sdhi_internal_dmac), both
    // common in cars, Qualcomm (sdhci_msm); the card itself (mmc_block)
    "sdhci_pci", "sdhci_acpi", "sdhci_iproc", "bcm2835", "sdhci_of_arasan", "dw_mmc_rockchip", "sdhci_of_dwcmshc",
    "sdhci_tegra", "meson_gx_mmc", "sunxi_mmc", "sdhci_esdhc_imx", "renesas_sdhi_internal_dmac", "sdhci_msm", "mmc_block",
    // USB disks: PCI and SoC host controllers (not dwc2, the Raspberry Pi 3's: with its USB
    // gadget stack 0.6 MB of modules for a /boot that is on the SD card there; --add-modules dwc2)
    "xhci_pci", "xhci_plat_hcd", "ehci_pci", "ehci_platform", "usb_storage", "uas",
  ],
};

/** Boot filesystems storage-init can mount, and the module that provides each. */
export const FSTYPE_MODULE: Readonly<Record<Exclude<BootFstype, "auto">, string>> = {
  ext2: "ext4", ext3: "ext4", ext4: "ext4", vfat: "vfat", xfs: "xfs", btrfs: "btrfs",
};

/** Every type storage-init's "auto" tries: what `--boot-fstype auto` asks for. */
export const AUTO_FSTYPES: readonly Exclude<BootFstype, "auto">[] = MOUNT_FSTYPES;

/**
 * With no type named and none found on the build machine: the usual /boot filesystems (ext4 on
 * Debian and Fedora, vfat for an ESP). xfs and btrfs (8 MiB of modules) only when asked for.
 */
export const DEFAULT_FSTYPES: readonly Exclude<BootFstype, "auto">[] = ["ext4", "vfat"];

/** What storage-init mounts after the boot partition: the image through a loop device, and the overlay. */
export const CORE_MODULES: readonly string[] = ["loop", "erofs", "overlay"];

/**
 * vfat loads its codepage and iocharset tables when it mounts (load_nls): without a modprobe to
 * fetch them the mount fails, so they come along. The kernel config names the defaults; without
 * it, the upstream default (iso8859-1) and Debian's (ascii) are both taken where present.
 */
export function vfatCompanions(config?: KernelConfig): { required: string[]; ifAvailable: string[] } {
  const cp = config?.options.get("CONFIG_FAT_DEFAULT_CODEPAGE");
  const io = config?.options.get("CONFIG_FAT_DEFAULT_IOCHARSET");
  const nls = (s: string) => `nls_${s.toLowerCase().replace(/-/g, "_")}`;
  if (cp && io) return { required: [nls(`cp${cp}`), nls(io)], ifAvailable: [] };
  return { required: [nls(`cp${cp ?? "437"}`)], ifAvailable: io ? [nls(io)] : ["nls_ascii", "nls_iso8859_1"] };
}

export interface WantsOptions {
  /** the kernel's architecture: which storage drivers and accelerated hashes exist */
  arch: Arch;
  /** --add-modules: required, loaded first (likely the controller of the boot disk) */
  add?: string[];
  /** include DEFAULT_STORAGE_MODULES (default true) */
  defaultStorage?: boolean;
  /** the boot filesystem type; "auto": every type storage-init tries; undefined: DEFAULT_FSTYPES */
  fstype?: string;
  kernelConfig?: KernelConfig;
  /** boot = esp: storage-init reads LoaderDevicePartUUID from efivarfs */
  efivars?: boolean;
  /** the integrity mode, and the hash the kernel must compute for it */
  integrity?: { mode: string; hashAlgorithm?: string };
}

/**
 * The CPU-accelerated implementations of each hash, per architecture. The crypto API picks the
 * fastest registered one when dm-verity or fs-verity sets up its hash, which happens before any
 * udev could load them: SHA-NI or AVX2 on x86-64, the ARMv8 Cryptography Extensions (sha1_ce,
 * sha2_ce, sha512_ce) or NEON and scalar assembly (sha256_arm64, sha512_arm64: any arm64 CPU, the
 * Raspberry Pi 4's Cortex-A72 has no SHA instructions) on arm64 hash several times faster than
 * the generic C code. A CPU without the feature refuses the module (ENODEV), and the next best
 * does the job.
 */
export const ACCELERATED_HASH_MODULES: Readonly<Record<Arch, Readonly<Record<string, readonly string[]>>>> = {
  "x86-64": { sha1: ["sha1_ssse3"], sha256: ["sha256_ssse3"], sha512: ["sha512_ssse3"] },
  arm64: { sha1: ["sha1_ce"], sha256: ["sha256_arm64", "sha2_ce"], sha512: ["sha512_arm64", "sha512_ce"] },
};

/**
 * What an integrity mode needs in the kernel: dm-verity (with dm-mod, dm-bufio by dependency) for
 * dm-verity; fs-verity is built into the filesystem; the hash itself where it is a module (SHA-256
 * is built into Debian's kernels, SHA-512 is not), and its accelerated variants, which may fail to
 * load. Copy mode hashes in storage-init: nothing. dm-verity and none also map the image (below).
 */
export function integrityWants(arch: Arch, integrity: WantsOptions["integrity"], config?: KernelConfig): ModuleWant[] {
  if (!integrity || integrity.mode === "copy") return [];
  // storage-init reads the image's blocks from the partition through dm-linear, so that the boot
  // filesystem can be unmounted (holes of a sparse image through dm-zero, a module of its own);
  // without them it attaches the file, and /boot stays in use
  const wants: ModuleWant[] = [
    ...(integrity.mode === "none" ? [{ name: "dm-mod", ifAvailable: true, why: "map the image's blocks on the boot partition" }] : []),
    ...(integrity.mode !== "fs-verity" ? [{ name: "dm-zero", ifAvailable: true, why: "holes of a sparse image, mapped" }] : []),
  ];
  if (integrity.mode === "none") return wants;
  if (integrity.mode === "dm-verity") wants.push({ name: "dm-verity", why: "integrity dm-verity" });
  const alg = integrity.hashAlgorithm ?? "sha256";
  // built in: nothing to load (the alias would pull a CPU-specific variant the guest may lack)
  if (config?.options.get(`CONFIG_CRYPTO_${alg.toUpperCase()}`) !== "y") {
    wants.push({ name: `crypto-${alg}`, ifAvailable: true, why: `integrity ${integrity.mode} hash` });
  }
  for (const name of ACCELERATED_HASH_MODULES[arch][alg] ?? []) {
    wants.push({ name, ifAvailable: true, optionalModule: true, why: `integrity ${integrity.mode} hash, CPU-accelerated` });
  }
  return wants;
}

/**
 * A kernel that signs its modules (CONFIG_MODULE_SIG) hashes each whole module file before it
 * loads it, with the fastest implementation of CONFIG_MODULE_SIG_HASH registered at that moment:
 * the generic C code, unless the accelerated one is loaded first. So it comes first, and every
 * module after it is checked faster (ext4.ko, 2 MB: 254 ms instead of 351 under TCG with AVX2);
 * the original init's modules, loaded after the hand-over, too. The same module the integrity
 * mode asks for when it hashes with the same algorithm.
 */
export function signatureHashWants(arch: Arch, config?: KernelConfig): ModuleWant[] {
  if (config?.options.get("CONFIG_MODULE_SIG") !== "y") return [];
  const alg = config.options.get("CONFIG_MODULE_SIG_HASH") ?? "";
  return (ACCELERATED_HASH_MODULES[arch][alg] ?? []).map((name) => ({ name, ifAvailable: true, optionalModule: true, why: `module signatures (${alg}), CPU-accelerated` }));
}

export function buildWants(o: WantsOptions): ModuleWant[] {
  const wants: ModuleWant[] = signatureHashWants(o.arch, o.kernelConfig);
  for (const name of o.add ?? []) wants.push({ name, why: "--add-modules" });
  // which of them drives the boot disk is unknown here: storage-init stops loading them once it is there
  if (o.defaultStorage !== false) for (const name of DEFAULT_STORAGE_MODULES[o.arch]) wants.push({ name, ifAvailable: true, storageModule: true, why: "storage driver" });
  // each type's modules load only when storage-init mounts the boot partition as that type
  for (const fs of bootFsModules(o.fstype)) {
    const w: ModuleWant = { name: fs.module, ifAvailable: fs.ifAvailable, why: "boot filesystem", bootFs: fs.type };
    if (fs.module === "vfat") {
      const c = vfatCompanions(o.kernelConfig);
      w.with = [...c.required.map((name) => ({ name })), ...c.ifAvailable.map((name) => ({ name, ifAvailable: true }))];
    }
    wants.push(w);
  }
  for (const name of CORE_MODULES) wants.push({ name, why: "storage-init" });
  // optional: without EFI runtime services the kernel refuses it (ENODEV), and storage-init says why it cannot go on
  if (o.efivars) wants.push({ name: EFIVARFS_MODULE, optionalModule: true, why: `boot = ${BOOT_SPEC_ESP}: LoaderDevicePartUUID` });
  wants.push(...integrityWants(o.arch, o.integrity, o.kernelConfig));
  return wants;
}

/** One module for a named type (required); for "auto" every type, for none the default types, each if available. */
export function bootFsModules(fstype?: string): { type: MountFstype; module: string; ifAvailable: boolean }[] {
  const one = (t: Exclude<BootFstype, "auto">, ifAvailable: boolean) => ({ type: mountFstype(t), module: FSTYPE_MODULE[t], ifAvailable });
  if (fstype === undefined) return DEFAULT_FSTYPES.map((t) => one(t, true));
  if (fstype === "auto") return AUTO_FSTYPES.map((t) => one(t, true));
  if (!Object.hasOwn(FSTYPE_MODULE, fstype)) throw new UsageError(`--boot-fstype: expected auto, ${Object.keys(FSTYPE_MODULE).join(", ")}; got ${JSON.stringify(fstype)}`);
  return [one(fstype as Exclude<BootFstype, "auto">, false)];
}
