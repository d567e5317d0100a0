/**
 * System extension metadata (UAPI Extension Image spec, os-release(5)): the file
 * usr/lib/extension-release.d/extension-release.NAME inside an extension image named NAME.raw.
 * Its keys: ID (the OS it extends, or "_any"), VERSION_ID or SYSEXT_LEVEL, SYSEXT_SCOPE (a
 * space-separated subset of initrd, system, portable; absent means "system portable"),
 * ARCHITECTURE. Pure: options in, text out; text in, fields out.
 */
import { FormatError, UsageError } from "../../errors.js";

export const EXTENSION_RELEASE_DIR = "usr/lib/extension-release.d";
export const EXTENSION_SUFFIX = ".raw";
export const SYSEXT_SCOPES = ["initrd", "system", "portable"] as const;
export type SysextScope = (typeof SYSEXT_SCOPES)[number];
/** what an extension without SYSEXT_SCOPE applies to (the spec's default): not the initrd */
export const DEFAULT_SYSEXT_SCOPE: readonly SysextScope[] = ["system", "portable"];
/** ID that matches any OS */
export const ANY_ID = "_any";
/** systemd's architecture names (ARCHITECTURE=) */
export const SYSEXT_ARCHES = [
  "x86", "x86-64", "arm", "arm64", "ia64", "loongarch64", "mips", "mips64", "parisc", "ppc", "ppc64", "ppc64-le", "riscv32", "riscv64", "s390", "s390x", "alpha", "sh", "sparc", "sparc64", "tilegx", "cris", "nios2", "arc", "m68k",
] as const;

export interface ExtensionRelease {
  id: string;
  versionId?: string;
  sysextLevel?: string;
  /** absent: the default scope */
  scope?: SysextScope[];
  architecture?: string;
}

/** NAME of NAME.raw: what systemd-sysext takes as the extension's name (a file name, no path, no dot-dot). */
export function extensionNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}$/.test(name)) return `extension name ${JSON.stringify(name)}: expected 1 to 200 characters of A-Z a-z 0-9 _ . + -, starting with a letter or digit`;
  if (name.includes("..")) return `extension name ${JSON.stringify(name)}: ".." is not allowed`;
  return undefined;
}

/** os-release ID and VERSION_ID characters: lower-case letters, digits, ".", "_", "-" */
const OS_RELEASE_WORD = /^[a-z0-9._-]+$/;

export function checkExtensionRelease(r: ExtensionRelease): void {
  if (r.id !== ANY_ID && !OS_RELEASE_WORD.test(r.id)) throw new UsageError(`--id: expected lower-case letters, digits, ".", "_", "-" or ${ANY_ID}, got ${JSON.stringify(r.id)}`);
  if (r.versionId !== undefined && r.sysextLevel !== undefined) throw new UsageError("--version-id and --sysext-level exclude each other");
  if (r.versionId !== undefined && !OS_RELEASE_WORD.test(r.versionId)) throw new UsageError(`--version-id: expected lower-case letters, digits, ".", "_", "-", got ${JSON.stringify(r.versionId)}`);
  if (r.sysextLevel !== undefined && !OS_RELEASE_WORD.test(r.sysextLevel)) throw new UsageError(`--sysext-level: expected lower-case letters, digits, ".", "_", "-", got ${JSON.stringify(r.sysextLevel)}`);
  if (r.scope !== undefined) {
    if (r.scope.length === 0) throw new UsageError(`--scope: expected one or more of ${SYSEXT_SCOPES.join(", ")}`);
    for (const s of r.scope) if (!(SYSEXT_SCOPES as readonly string[]).includes(s)) throw new UsageError(`--scope: expected ${SYSEXT_SCOPES.join(", ")}, got ${JSON.stringify(s)}`);
  }
  if (r.architecture !== undefined && !(SYSEXT_ARCHES as readonly string[]).includes(r.architecture)) throw new UsageError(`--arch: expected one of ${SYSEXT_ARCHES.join(", ")}, got ${JSON.stringify(r.architecture)}`);
}

export function renderExtensionRelease(r: ExtensionRelease): string {
  checkExtensionRelease(r);
  const lines = [`ID=${r.id}`];
  if (r.versionId !== undefined) lines.push(`VERSION_ID=${r.versionId}`);
  if (r.sysextLevel !== undefined) lines.push(`SYSEXT_LEVEL=${r.sysextLevel}`);
  if (r.scope !== undefined) lines.push(`SYSEXT_SCOPE=${[...new Set(r.scope)].join(" ")}`);
  if (r.architecture !== undefined) lines.push(`ARCHITECTURE=${r.architecture}`);
  return lines.join("\n") + "\n";
}

/**
 * os-release syntax: KEY=VALUE lines, values optionally in single or double quotes, # comments.
 * Returns the assignments; a malformed line is a FormatError at its offset.
 */
export function parseOsRelease(text: string, source = "os-release"): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t !== "" && !t.startsWith("#")) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(t);
      if (!m) throw new FormatError("os-release", at, "expected KEY=VALUE", source);
      let v = m[2];
      if (/^"(.*)"$/.test(v) || /^'(.*)'$/.test(v)) v = v.slice(1, -1).replace(/\\(["'\\$`])/g, "$1");
      out.set(m[1], v);
    }
    at += Buffer.byteLength(line) + 1;
  }
  return out;
}

/** The fields of an extension-release file (unknown keys ignored; ID required). */
export function parseExtensionRelease(text: string, source = "extension-release"): ExtensionRelease {
  const kv = parseOsRelease(text, source);
  const id = kv.get("ID");
  if (id === undefined || id === "") throw new FormatError("extension-release", 0, "no ID=", source);
  const scopeText = kv.get("SYSEXT_SCOPE");
  return {
    id,
    ...(kv.has("VERSION_ID") ? { versionId: kv.get("VERSION_ID") } : {}),
    ...(kv.has("SYSEXT_LEVEL") ? { sysextLevel: kv.get("SYSEXT_LEVEL") } : {}),
    ...(scopeText !== undefined ? { scope: scopeText.split(/\s+/).filter(Boolean) as SysextScope[] } : {}),
    ...(kv.has("ARCHITECTURE") ? { architecture: kv.get("ARCHITECTURE") } : {}),
  };
}

/** Whether storage-init stacks it in the initrd of an OS with this os-release ID. */
export function appliesToInitrd(r: ExtensionRelease, osId: string): boolean {
  return (r.scope ?? DEFAULT_SYSEXT_SCOPE).includes("initrd") && (r.id === ANY_ID || r.id === osId);
}

/**
 * The last KEY=VALUE of os-release text as storage-init reads it (storage-init/src/release.c:
 * release_value): leading blanks skipped, trailing blanks cut, one pair of matching quotes
 * stripped, lines that are not KEY=... ignored. undefined when absent.
 */
export function releaseValue(text: string, key: string): string | undefined {
  let found: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^[ \t]+/, "");
    if (!line.startsWith(key + "=")) continue;
    let v = line.slice(key.length + 1).replace(/[ \t\r]+$/, "");
    if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) v = v.slice(1, -1);
    found = v;
  }
  return found;
}

/** What storage-init takes from an extension-release file (release.c: sysext_parse_release): its ID, and whether SYSEXT_SCOPE names initrd. undefined: no ID. */
export function initrdReleaseOf(text: string): { id: string; initrd: boolean } | undefined {
  const id = releaseValue(text, "ID");
  if (!id) return undefined;
  const scope = releaseValue(text, "SYSEXT_SCOPE");
  return { id, initrd: scope !== undefined && scope.split(/[ \t]+/).includes("initrd") };
}
