/**
 * Checks of single values against what storage-init accepts. Each returns what is wrong, or
 * undefined: the caller decides whether that is a bad command line (UsageError) or a bad file
 * (FormatError at the entry's offset).
 */
import { toByteString } from "../../fs/tree.js";
import { BOOT_SPEC_ESP, LIMITS } from "./schema.js";

/** boot: storage-init's check_boot, with a value the parser keeps intact. */
export function bootSpecProblem(spec: string): string | undefined {
  if (spec === BOOT_SPEC_ESP) return undefined;
  const m = /^(UUID|PARTUUID|LABEL|PARTLABEL)=(.*)$/s.exec(spec);
  const expected = `(expected UUID=..., LABEL=..., PARTUUID=..., PARTLABEL=..., /dev/... or ${BOOT_SPEC_ESP})`;
  if (m) {
    if (m[2] === "") return `empty ${m[1]}: ${JSON.stringify(spec)} ${expected}`;
    if ((m[1] === "UUID" || m[1] === "PARTUUID") && !/^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)*$/.test(m[2])) {
      return `${m[1]} must be hex digits and dashes: ${JSON.stringify(spec)} ${expected}`;
    }
  } else if (!/^\/dev\/[^\s]+$/.test(spec)) return `not a device spec: ${JSON.stringify(spec)} ${expected}`;
  return valueProblem(spec, LIMITS.value);
}

/** A path storage-init uses (image, init, verity_sig, module and shim paths). */
export function absolutePathProblem(p: string): string | undefined {
  if (!p.startsWith("/")) return `must be an absolute path: ${JSON.stringify(p)}`;
  if (/\s/.test(p)) return `whitespace in a path is not supported: ${JSON.stringify(p)}`;
  return valueProblem(p, LIMITS.path);
}

/** Any value: what the file cannot carry, and the length storage-init keeps. */
export function valueProblem(v: string, max: number = LIMITS.value): string | undefined {
  if (/[\n\r\0"]/.test(v)) return `newlines, NUL bytes and double quotes cannot be written to the config: ${JSON.stringify(v)}`;
  if (toByteString(v).length > max) return `longer than ${max} bytes: ${JSON.stringify(v)}`;
  return undefined;
}

/** the repeated key pinning an extension's root hash (config.c: keys[]) */
export const SYSEXT_ROOTHASH_KEY = "sysext_roothash";

/** sysext_roothash: a sha256 dm-verity root hash */
export function sysextRootHashProblem(v: string): string | undefined {
  return /^[0-9a-fA-F]{64}$/.test(v) ? undefined : `expected a sha256 root hash (64 hex digits), got ${JSON.stringify(v)}`;
}

/** A whole number in [0, max] written in decimal. */
export function parseCount(v: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!/^[0-9]+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n <= max ? n : undefined;
}
