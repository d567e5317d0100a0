/**
 * Every benchmark script answers `--help` with its usage and exit 0, and refuses an unknown
 * option or a malformed value with one line and exit 2, before it starts anything slow.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BENCH = join(dirname(fileURLToPath(import.meta.url)), "../../bench");
const scripts = readdirSync(BENCH).filter((f) => f.endsWith(".js") && readFileSync(join(BENCH, f), "utf8").includes("benchArgs(import.meta.url"));

test("the benchmark scripts with command lines are found", () => {
  assert.deepEqual(scripts.sort(), ["boot.js", "compress.js", "convert.js", "copy-verify.js", "digest.js", "dracut.js", "scaling.js", "uki.js", "zread.js"]);
});

for (const f of scripts) {
  const name = f.replace(/\.js$/, "");
  const run = (...args: string[]) => spawnSync(process.execPath, [join(BENCH, f), ...args], { encoding: "utf8", timeout: 30_000 });
  test(`bench/${name}: --help, an unknown option, a bad --runs`, () => {
    const help = run("--help");
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^usage: node dist/bench/${name}\\.js .*\\[--runs N\\]`));
    const bad = run("--no-such-option");
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stdout, "");
    assert.match(bad.stderr, new RegExp(`^bench/${name}: unknown option --no-such-option; usage: node dist/bench/${name}\\.js [^\\n]*\\n$`));
    const runs = run("--runs", "many");
    assert.equal(runs.status, 2, runs.stderr);
    assert.match(runs.stderr, /^bench\/\S+: --runs: expected an integer ≥ 1, got "many"; usage: [^\n]*\n$/);
  });
}
