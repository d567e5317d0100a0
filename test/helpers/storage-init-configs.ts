/** Configs of every shape the build writes, for the TypeScript and the C side of the config tests. */
import { BOOT_SPEC_ESP, DmVerityConfig, IntegrityConfig, StorageInitConfig } from "../../src/formats/storage-init-config/index.js";

export const BASE: StorageInitConfig = {
  boot: "UUID=0a1b2c3d-1111-2222-3333-444455556666",
  image: "/initoverlayfs-9.9.9-test.img",
  init: "/init",
  timeout: 10,
  failure: "panic",
  modules: [{ path: "/lib/modules/9.9.9-test/kernel/fs/ext4/ext4.ko" }, { path: "/lib/modules/9.9.9-test/kernel/drivers/block/loop.ko", params: "max_loop=8" }],
  shims: ["/usr/sbin/run-init", "/usr/sbin/switch_root"],
};
export const DM: DmVerityConfig = {
  mode: "dm-verity", rootHash: "e522df0f97da4febb882ac40f30b37dc0b444bf6df418929463fa25280f09d5c",
  salt: "e48da609055204e89ae53b655ca2216dd983cf3cb829f34f63a297d106d53e2d", hashAlgorithm: "sha256", hashType: 1,
  dataBlocks: 2048, hashOffset: 2048 * 4096, signature: "/etc/initoverlayfs.roothash.p7s",
};
export const INTEGRITY: IntegrityConfig[] = [
  { mode: "none" },
  DM,
  { ...DM, salt: "", signature: undefined } as IntegrityConfig,
  { ...DM, imageFormat: "ddi", hashOffset: 2304 * 4096 },
  { ...DM, imageFormat: "ddi", hashOffset: 2304 * 4096, signature: undefined, certificate: "/etc/initoverlayfs/verity-cert.der" } as IntegrityConfig,
  { mode: "copy", algorithm: "sha256", digest: "48df0c462329cd879661bd05b39aa81b05cc16afd27a7196a559da83531d39d9" },
  { mode: "fs-verity", algorithm: "sha512", digest: "ab".repeat(64) },
];
/** Every shape of config the build writes. */
export const CONFIGS: StorageInitConfig[] = [
  BASE,
  { ...BASE, bootfstype: "vfat", bootflags: "noatime", failure: "shell", timeout: 30, init: "/sbin/init", shims: [], cmdline: false },
  {
    ...BASE, boot: "LABEL=my boot", modules: [
      { path: "/lib/modules/k/a.ko" }, { path: "/lib/modules/k/virtio_blk.ko", storageModule: true }, { path: "/lib/modules/k/sha256-ssse3.ko", optionalModule: true },
      { path: "/lib/modules/k/jbd2.ko", bootFs: "ext4" }, { path: "/lib/modules/k/fat.ko", params: "x=1", bootFs: "vfat" },
    ],
  },
  ...INTEGRITY.map((integrity) => ({ ...BASE, integrity })),
  // extensions pinned by root hash (and none: an empty list writes no line)
  { ...BASE, integrity: DM, sysextRootHashes: ["ab".repeat(32), "0123456789abcdef".repeat(4)] },
  // the partition the boot loader names in LoaderDevicePartUUID
  { ...BASE, boot: BOOT_SPEC_ESP, bootfstype: "vfat" },
];
