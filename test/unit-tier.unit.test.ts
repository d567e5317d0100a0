/**
 * The fast tier (`npm run test:unit`, every *.unit.test file) needs no root, loop devices, QEMU
 * or host tools: no unit test may reach, through its imports inside test/, a module that spawns
 * programs or mounts.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// dist/test/unit-tier.unit.test.js → the sources in test/
const TEST_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "test");
const FORBIDDEN = ["node:child_process", "child_process"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** The first import chain from `file` to a forbidden module, or undefined. */
function reachesForbidden(file: string, seen = new Set<string>()): string[] | undefined {
  if (seen.has(file)) return undefined;
  seen.add(file);
  for (const m of readFileSync(file, "utf8").matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gm)) {
    const spec = m[1];
    if (FORBIDDEN.includes(spec)) return [relative(TEST_DIR, file), spec];
    // only the tests' own helpers: src/ is what the tests exercise
    if (!spec.startsWith(".")) continue;
    const target = resolve(dirname(file), spec.replace(/\.js$/, ".ts"));
    if (!target.startsWith(TEST_DIR + "/")) continue;
    const chain = reachesForbidden(target, seen);
    if (chain) return [relative(TEST_DIR, file), ...chain];
  }
  return undefined;
}

test("unit-tier tests reach no helper that spawns programs", () => {
  const units = sources(TEST_DIR).filter((f) => f.endsWith(".unit.test.ts"));
  assert.ok(units.length >= 8, `only ${units.length} unit-tier files found under ${TEST_DIR}`);
  for (const f of units) {
    const chain = reachesForbidden(f);
    assert.equal(chain, undefined, `${relative(TEST_DIR, f)} reaches ${chain?.join(" → ")}`);
  }
});
