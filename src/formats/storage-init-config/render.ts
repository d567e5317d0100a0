/**
 * Renders the config file, checked against storage-init's limits first, so a config it would
 * reject never reaches a boot. A value that does not fit is a UsageError: it came from the
 * build's options.
 */
import { FormatError, UsageError } from "../../errors.js";
import { ByteString, displayName, toByteString } from "../../fs/tree.js";
import { moduleKey, StorageInitConfig } from "./config.js";
import { IntegrityConfig, integrityEntries, parseIntegrity } from "./integrity.js";
import { BOOT_FSTYPES, FAILURE_POLICIES, LIMITS, MOUNT_FSTYPES } from "./schema.js";
import { ConfigKeys, quoteValue } from "./text.js";
import { absolutePathProblem, bootSpecProblem, SYSEXT_ROOTHASH_KEY, sysextRootHashProblem, valueProblem } from "./values.js";

/** `what: problem` as a UsageError when there is a problem; the value otherwise. */
export function checked<T>(what: string, v: T, problem: string | undefined): T {
  if (problem !== undefined) throw new UsageError(`${what}: ${problem}`);
  return v;
}

/** The config file as bytes-in-a-string (latin1): paths from the tree are byte strings. */
export function renderConfig(c: StorageInitConfig): ByteString {
  const L = LIMITS;
  if (c.modules.length > L.modules) {
    throw new UsageError(`${c.modules.length} modules selected but storage-init loads at most ${L.modules}: name the boot filesystem (--boot-fstype) or leave out default drivers (--no-default-modules)`);
  }
  if (c.shims.length > L.shims) throw new UsageError(`${c.shims.length} switch-root programs found but storage-init replaces at most ${L.shims}`);
  if (!Number.isInteger(c.timeout) || c.timeout < 0 || c.timeout > L.timeout) throw new UsageError(`--timeout: expected a whole number of seconds from 0 to ${L.timeout}, got ${c.timeout}`);
  if (!FAILURE_POLICIES.includes(c.failure)) throw new UsageError(`--failure: expected ${FAILURE_POLICIES.join(", ")}, got ${JSON.stringify(c.failure)}`);
  if (c.bootfstype !== undefined && !BOOT_FSTYPES.includes(c.bootfstype)) throw new UsageError(`--boot-fstype: expected ${BOOT_FSTYPES.join(", ")}, got ${JSON.stringify(c.bootfstype)}`);
  const b = toByteString;
  const lines: string[] = [];
  if (c.comment) lines.push(`# ${b(c.comment)}`);
  lines.push(`boot = ${quoteValue(b(checked("--boot", c.boot, bootSpecProblem(c.boot))))}`);
  if (c.bootfstype) lines.push(`bootfstype = ${c.bootfstype}`);
  if (c.bootflags) lines.push(`bootflags = ${quoteValue(b(checked("--boot-flags", c.bootflags, valueProblem(c.bootflags))))}`);
  lines.push(`image = ${b(checked("--image-path", c.image, absolutePathProblem(c.image)))}`);
  lines.push(`init = ${b(checked("--init", c.init, absolutePathProblem(c.init)))}`);
  lines.push(`timeout = ${c.timeout}`);
  lines.push(`failure = ${c.failure}`);
  if (c.cmdline === false) lines.push("cmdline = no");
  if (c.integrity) lines.push(...renderIntegrity(c.integrity));
  const pins = c.sysextRootHashes ?? [];
  if (pins.length > L.sysexts) throw new UsageError(`--sysext: ${pins.length} extensions pinned, storage-init takes at most ${L.sysexts}`);
  for (const h of pins) lines.push(`${SYSEXT_ROOTHASH_KEY} = ${checked("--sysext", h, sysextRootHashProblem(h)).toLowerCase()}`);
  for (const m of c.modules) {
    if (!m.path.startsWith("/") || m.path.length > L.path || /\s/.test(m.path)) throw new UsageError(`module path unusable by storage-init: ${JSON.stringify(displayName(m.path))}`);
    if (m.params !== undefined && (b(m.params).length > L.params || /[\n\r\0"]/.test(m.params))) throw new UsageError(`module parameters unusable by storage-init: ${JSON.stringify(m.params)}`);
    if (m.bootFs !== undefined && !MOUNT_FSTYPES.includes(m.bootFs)) throw new UsageError(`module ${JSON.stringify(displayName(m.path))}: boot filesystem type ${JSON.stringify(m.bootFs)} is not one of ${MOUNT_FSTYPES.join(", ")}`);
    lines.push(`${moduleKey(m)} = ${m.bootFs ? m.bootFs + " " : ""}${m.path}${m.params ? " " + b(m.params) : ""}`);
  }
  if (c.shims.length === 0) lines.push("shim =");
  for (const s of c.shims) {
    if (s.length > L.path || /\s/.test(s)) throw new UsageError(`shim path unusable by storage-init: ${JSON.stringify(displayName(s))}`);
    lines.push(`shim = ${s}`);
  }
  for (const l of lines) {
    if (l.length > L.line) throw new UsageError(`config line longer than ${L.line} bytes: ${displayName(l.slice(0, 60))}...`);
  }
  return lines.join("\n") + "\n";
}

/** Config lines ("key = value") for an integrity setting, checked by the parser's own rules. */
export function renderIntegrity(c: IntegrityConfig): string[] {
  const entries = integrityEntries(c);
  integrityFromOptions(entries.map((e) => [e.key, e.value]));
  return entries.map((e) => `${e.key} = ${e.value}`);
}

/** An integrity setting from option values named by their config keys; a UsageError when one is bad. */
export function integrityFromOptions(pairs: ReadonlyArray<readonly [string, string]>): IntegrityConfig {
  try {
    return parseIntegrity(new ConfigKeys(pairs.map(([key, value]) => ({ key, value, offset: 0 }))));
  } catch (e) {
    if (e instanceof FormatError) throw new UsageError(`integrity: ${e.detail}`);
    throw e;
  }
}
