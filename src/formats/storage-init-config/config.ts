/** The whole config file as one typed value: what the build renders and `status` reads back. */
import { ByteString } from "../../fs/tree.js";
import { IntegrityConfig } from "./integrity.js";
import { BootFstype, FailurePolicy, ModuleKey, MountFstype } from "./schema.js";

export interface ModuleSpec {
  /** absolute path inside the mini initramfs */
  path: ByteString;
  params?: string;
  /** a storage driver: loaded only while the boot device is still missing (`storage_module`) */
  storageModule?: boolean;
  /** the kernel may refuse it (a CPU-accelerated hash): logged, not fatal (`optional_module`) */
  optionalModule?: boolean;
  /** loaded only before the boot partition is mounted as this type (`bootfs_module`) */
  bootFs?: MountFstype;
}

export interface StorageInitConfig {
  boot: string;
  bootfstype?: BootFstype;
  bootflags?: string;
  image: string;
  init: string;
  timeout: number;
  failure: FailurePolicy;
  /** in load order */
  modules: ModuleSpec[];
  /** switch-root programs in the image to replace; [] writes "shim =" (replace none) */
  shims: ByteString[];
  /** which image the mini initramfs accepts (absent: none) */
  integrity?: IntegrityConfig;
  /** false: storage-init ignores initoverlayfs.* on the kernel command line (`cmdline = no`) */
  cmdline?: boolean;
  /** system extensions storage-init may stack: their dm-verity root hashes (sha256, lower-case hex; `sysext_roothash`) */
  sysextRootHashes?: string[];
  /** a comment line at the top */
  comment?: string;
}

/** The config key of a module's load rule (one rule each: a storage driver is never also optional). */
export function moduleKey(m: ModuleSpec): ModuleKey {
  return m.bootFs ? "bootfs_module" : m.storageModule ? "storage_module" : m.optionalModule ? "optional_module" : "module";
}
