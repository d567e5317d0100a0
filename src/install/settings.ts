/**
 * Build settings for install: ROOT/etc/initoverlayfs/install.conf ("key = value", # comments),
 * overridden by command-line options. Hooks run `install` with no options, so everything a
 * system needs (a boot partition findmnt cannot see, another failure policy...) goes here.
 *
 *   boot = UUID=...            boot_fstype = ext4      failure = panic|reboot|shell
 *   timeout = 10               init = /init            mini_compression = gzip|zstd|none
 *   add_modules = a,b          default_modules = yes|no
 *   integrity = dm-verity|fs-verity|copy|none (default dm-verity, as build)
 *   integrity_hash = sha256|...  sign_key = /path.pem  sign_cert = /path.pem (dm-verity root hash)
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { FailurePolicy, MiniCompression, parseConfigText } from "../pipeline/mini-initramfs.js";
import { FormatError } from "../errors.js";
import { IntegrityMode, INTEGRITY_MODES } from "../pipeline/integrity-config.js";

export interface InstallSettings {
  boot?: string;
  bootFstype?: string;
  failure?: FailurePolicy;
  timeout?: number;
  init?: string;
  miniCompression?: MiniCompression;
  addModules?: string[];
  defaultModules?: boolean;
  integrity?: IntegrityMode;
  integrityHash?: string;
  signKey?: string;
  signCert?: string;
}

export const SETTINGS_FILE = "etc/initoverlayfs/install.conf";

export function readSettings(root: string): InstallSettings {
  const path = join(resolve(root), SETTINGS_FILE);
  if (!existsSync(path)) return {};
  const text = readFileSync(path, "latin1");
  const s: InstallSettings = {};
  let offset = 0;
  const at = new Map<string, number>();
  for (const line of text.split("\n")) {
    const k = /^\s*([A-Za-z0-9_.-]+)\s*=/.exec(line)?.[1];
    if (k) at.set(k.replace(/-/g, "_"), offset);
    offset += line.length + 1;
  }
  for (const [key, v] of parseConfigText(text, path)) {
    const bad = (why: string): never => {
      throw new FormatError("install.conf", at.get(key), `${key}: ${why}`, path);
    };
    switch (key) {
      case "boot": s.boot = v; break;
      case "boot_fstype": s.bootFstype = v; break;
      case "failure": s.failure = v as FailurePolicy; break;
      case "timeout": if (!/^\d+$/.test(v)) bad("expected a whole number of seconds"); s.timeout = Number(v); break;
      case "init": s.init = v; break;
      case "mini_compression": s.miniCompression = v as MiniCompression; break;
      case "add_modules": s.addModules = v.split(",").map((x) => x.trim()).filter(Boolean); break;
      case "default_modules": if (v !== "yes" && v !== "no") bad("expected yes or no"); s.defaultModules = v === "yes"; break;
      case "integrity": if (!(INTEGRITY_MODES as readonly string[]).includes(v)) bad(`expected ${INTEGRITY_MODES.join(", ")}`); s.integrity = v as IntegrityMode; break;
      case "integrity_hash": s.integrityHash = v; break;
      case "sign_key": s.signKey = v; break;
      case "sign_cert": s.signCert = v; break;
      default: bad("unknown key (expected boot, boot_fstype, failure, timeout, init, mini_compression, add_modules, default_modules, integrity, integrity_hash, sign_key, sign_cert)");
    }
  }
  return s;
}
