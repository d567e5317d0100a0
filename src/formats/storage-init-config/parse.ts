/**
 * Reads a config file back the way storage-init's config_parse and config_finish do: the last
 * value of a single key wins, module and shim lists append (an empty value empties them), unknown
 * keys are ignored (a newer storage-init's keys). Every bad value is a FormatError at its line.
 */
import { ByteString } from "../../fs/tree.js";
import { ModuleSpec, StorageInitConfig } from "./config.js";
import { parseIntegrity } from "./integrity.js";
import { BOOT_FSTYPES, BUILD_DEFAULTS, DEFAULT_SHIMS, FAILURE_POLICIES, LIMITS, memberOf, MODULE_KEYS, MOUNT_FSTYPES } from "./schema.js";
import { ConfigEntry, ConfigKeys } from "./text.js";
import { absolutePathProblem, bootSpecProblem, parseCount, SYSEXT_ROOTHASH_KEY, sysextRootHashProblem } from "./values.js";

export function parseConfig(text: ByteString, source = "config"): StorageInitConfig {
  return configFromKeys(ConfigKeys.parse(text, source));
}

/** Fields the config type holds as text (renderConfig writes them UTF-8 encoded): anything else cannot round-trip. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function configFromKeys(keys: ConfigKeys): StorageInitConfig {
  const fail = (k: string, why: string, entry?: ConfigEntry): never => {
    throw keys.error(k, why, entry);
  };
  const text = (k: string, v: string, entry?: ConfigEntry): string => {
    try {
      return utf8.decode(Buffer.from(v, "latin1"));
    } catch {
      return fail(k, `not UTF-8 text: ${JSON.stringify(v)}`, entry);
    }
  };
  // module and shim paths are byte strings (names from the tree); image and init are text
  const rawPath = (k: string, v: string, entry?: ConfigEntry): string => {
    const p = absolutePathProblem(v);
    return p === undefined ? v : fail(k, p, entry);
  };
  const path = (k: string, v: string): string => text(k, rawPath(k, v));
  const boot = text("boot", keys.get("boot") ?? fail("boot", "not set"));
  const bootProblem = bootSpecProblem(boot);
  if (bootProblem) fail("boot", bootProblem);
  const fstype = keys.get("bootfstype");
  const timeoutText = keys.get("timeout");
  const failureText = keys.get("failure");

  const modules: ModuleSpec[] = [];
  const sysextRootHashes: string[] = [];
  let shims: ByteString[] | undefined;
  for (const e of keys.entries) {
    const at = (why: string): never => fail(e.key, why, e);
    if ((MODULE_KEYS as readonly string[]).includes(e.key)) {
      if (e.value === "") {
        modules.length = 0;
        continue;
      }
      if (modules.length >= LIMITS.modules) at(`more than ${LIMITS.modules} modules`);
      // bootfs_module = TYPE PATH [params]
      let rest = e.value;
      let bootFs: ModuleSpec["bootFs"];
      if (e.key === "bootfs_module") {
        const t = rest.split(/[ \t]+/)[0];
        bootFs = memberOf(MOUNT_FSTYPES, t) ?? at(`expected a type (${MOUNT_FSTYPES.join(", ")}) before the path, got ${JSON.stringify(t)}`);
        rest = rest.slice(t.length).trimStart();
      }
      const p = rest.split(/[ \t]+/)[0];
      const params = text(e.key, rest.slice(p.length).trim(), e);
      if (params.length > LIMITS.params) at(`module parameters longer than ${LIMITS.params} bytes`);
      modules.push({
        path: rawPath(e.key, p, e),
        ...(params ? { params } : {}),
        ...(e.key === "storage_module" ? { storageModule: true } : e.key === "optional_module" ? { optionalModule: true } : bootFs ? { bootFs } : {}),
      });
    } else if (e.key === SYSEXT_ROOTHASH_KEY) {
      if (e.value === "") {
        sysextRootHashes.length = 0;
        continue;
      }
      const p = sysextRootHashProblem(e.value);
      if (p) at(p);
      if (sysextRootHashes.length >= LIMITS.sysexts) at(`more than ${LIMITS.sysexts} entries`);
      sysextRootHashes.push(e.value.toLowerCase());
    } else if (e.key === "shim") {
      shims ??= [];
      if (e.value === "") {
        shims.length = 0;
        continue;
      }
      if (shims.length >= LIMITS.shims) at(`more than ${LIMITS.shims} entries`);
      shims.push(rawPath(e.key, e.value, e));
    }
  }
  const bootflagsText = keys.get("bootflags");
  const bootflags = bootflagsText === undefined ? undefined : text("bootflags", bootflagsText);
  const cmdline = keys.get("cmdline");
  if (cmdline !== undefined && cmdline !== "yes" && cmdline !== "no") fail("cmdline", `expected yes or no, got ${JSON.stringify(cmdline)}`);
  return {
    boot,
    ...(fstype !== undefined ? { bootfstype: memberOf(BOOT_FSTYPES, fstype) ?? fail("bootfstype", `expected ${BOOT_FSTYPES.join(", ")}, got ${JSON.stringify(fstype)}`) } : {}),
    ...(bootflags ? { bootflags } : {}),
    image: path("image", keys.get("image") ?? fail("image", "not set")),
    init: path("init", keys.get("init") ?? BUILD_DEFAULTS.init),
    timeout: timeoutText === undefined ? BUILD_DEFAULTS.timeout : parseCount(timeoutText, LIMITS.timeout) ?? fail("timeout", `expected a whole number from 0 to ${LIMITS.timeout}, got ${JSON.stringify(timeoutText)}`),
    failure: failureText === undefined ? BUILD_DEFAULTS.failure : memberOf(FAILURE_POLICIES, failureText) ?? fail("failure", `expected ${FAILURE_POLICIES.join(", ")}, got ${JSON.stringify(failureText)}`),
    ...(cmdline === "no" ? { cmdline: false } : {}),
    modules,
    shims: shims ?? [...DEFAULT_SHIMS],
    integrity: parseIntegrity(keys),
    ...(sysextRootHashes.length ? { sysextRootHashes } : {}),
  };
}
