/**
 * Build settings for install: ROOT/etc/initoverlayfs/install.conf ("key = value", # comments),
 * overridden by command-line options. Hooks run `install` with no options, so everything a
 * system needs (a boot partition findmnt cannot see, another failure policy...) goes here.
 *
 *   boot = UUID=...            boot_fstype = ext4      failure = panic|reboot|shell
 *   timeout = 10               init = /init            mini_compression = auto|gzip|zstd|lz4|none
 *   add_modules = a,b          default_modules = yes|no
 *   integrity = dm-verity|fs-verity|copy|none (default dm-verity, as build)
 *   integrity_hash = sha256|...  sign_key = /path.pem  sign_cert = /path.pem (dm-verity root hash)
 *   cmdline = yes|no            no: storage-init ignores initoverlayfs.* on the kernel command line
 *   image_format = plain|ddi    ddi: the image as a Discoverable Disk Image (dm-verity only)
 *   sysext = /path/NAME.raw     an extension storage-init may stack: its root hash, recomputed at
 *                               each install, is pinned (build --sysext); repeatable
 *   sysext_roothash = HEX       an extension root hash pinned as it is (the config key); repeatable
 *   sysext_cert = /path.pem     the signer whose extensions storage-init may stack (build --sysext-cert)
 * An empty value of a repeatable key drops the values before it.
 */
import { existsSync, readFileSync } from "node:fs";
import { FormatError } from "../errors.js";
import { inRoot } from "../io/in-root.js";
import {
  absolutePathProblem, SYSEXT_ROOTHASH_KEY, sysextRootHashProblem, BOOT_FSTYPES, BootFstype, bootSpecProblem, FAILURE_POLICIES, FailurePolicy, IMAGE_FORMATS, ImageFormat, INTEGRITY_MODES, IntegrityMode, LIMITS, memberOf, MINI_COMPRESSION_CHOICES, MiniCompressionChoice, parseConfigText, parseCount,
} from "../formats/storage-init-config/index.js";

export interface InstallSettings {
  boot?: string;
  bootFstype?: BootFstype;
  failure?: FailurePolicy;
  timeout?: number;
  init?: string;
  miniCompression?: MiniCompressionChoice;
  addModules?: string[];
  defaultModules?: boolean;
  integrity?: IntegrityMode;
  cmdline?: boolean;
  integrityHash?: string;
  signKey?: string;
  signCert?: string;
  imageFormat?: ImageFormat;
  sysext?: string[];
  sysextRootHashes?: string[];
  sysextCert?: string;
}

export const SETTINGS_FILE = "etc/initoverlayfs/install.conf";

export function readSettings(root: string): InstallSettings {
  const path = inRoot(root, "/" + SETTINGS_FILE);
  if (!existsSync(path)) return {};
  return parseSettings(readFileSync(path, "latin1"), path);
}

/** install.conf's text (one char per byte) to settings; pure, so it can be tested and fuzzed alone. */
export function parseSettings(text: string, path = "install.conf"): InstallSettings {
  const s: InstallSettings = {};
  for (const { key, value: v, offset } of parseConfigText(text, path)) {
    const bad = (why: string): never => {
      throw new FormatError("install.conf", offset, `${key}: ${why}`, path);
    };
    const oneOf = <T extends string>(list: readonly T[]): T => memberOf(list, v) ?? bad(`expected ${list.join(", ")}, got ${JSON.stringify(v)}`);
    const valid = (problem: string | undefined): string => (problem === undefined ? v : bad(problem));
    switch (key) {
      case "boot": s.boot = valid(bootSpecProblem(v)); break;
      case "boot_fstype": s.bootFstype = oneOf(BOOT_FSTYPES); break;
      case "failure": s.failure = oneOf(FAILURE_POLICIES); break;
      case "timeout": s.timeout = parseCount(v, LIMITS.timeout) ?? bad(`expected a whole number of seconds from 0 to ${LIMITS.timeout}`); break;
      case "init": s.init = valid(absolutePathProblem(v)); break;
      case "mini_compression": s.miniCompression = oneOf(MINI_COMPRESSION_CHOICES); break;
      case "add_modules": s.addModules = v.split(",").map((x) => x.trim()).filter(Boolean); break;
      case "default_modules": if (v !== "yes" && v !== "no") bad("expected yes or no"); s.defaultModules = v === "yes"; break;
      case "integrity": s.integrity = oneOf(INTEGRITY_MODES); break;
      case "cmdline": s.cmdline = oneOf(["yes", "no"]) === "yes"; break;
      case "integrity_hash": s.integrityHash = v; break;
      case "sign_key": s.signKey = v; break;
      case "sign_cert": s.signCert = v; break;
      case "image_format": s.imageFormat = oneOf(IMAGE_FORMATS); break;
      case "sysext": s.sysext = v === "" ? [] : [...(s.sysext ?? []), valid(absolutePathProblem(v))]; break;
      case SYSEXT_ROOTHASH_KEY: s.sysextRootHashes = v === "" ? [] : [...(s.sysextRootHashes ?? []), valid(sysextRootHashProblem(v)).toLowerCase()]; break;
      case "sysext_cert": s.sysextCert = valid(absolutePathProblem(v)); break;
      default: bad(`unknown key (expected boot, boot_fstype, failure, timeout, init, mini_compression, add_modules, default_modules, integrity, integrity_hash, sign_key, sign_cert, cmdline, image_format, sysext, ${SYSEXT_ROOTHASH_KEY}, sysext_cert)`);
    }
  }
  return s;
}
