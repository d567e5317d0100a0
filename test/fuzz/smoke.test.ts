/**
 * The fuzzing smoke pass of `npm test`: every fuzz target (TypeScript under Jazzer.js,
 * storage-init's under libFuzzer + ASan/UBSan) replays its seeds and the minimized findings in
 * test/fuzz/regressions, then mutates for a moment. Any finding fails the test. Long runs:
 * `npm run fuzz` (README, "Fuzzing").
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, test } from "node:test";
import { ensureSeeds } from "./seeds.js";
import { ALL_TARGETS, buildCTargets, formatReport, REPO, runFuzz, WORK } from "./run.js";

/** seconds of mutation per target: about 40 s for the whole pass, start-up included */
const SMOKE_SECONDS = 1;
/** its own corpus, so a long local run's grown corpus does not slow the smoke pass down */
const SMOKE_WORK = join(REPO, "fuzz-out", "smoke");

before(() => {
  ensureSeeds(join(WORK, "seeds"));
  buildCTargets();
});

for (const target of ALL_TARGETS) {
  test(`fuzz smoke: ${target}`, async () => {
    const [r] = await runFuzz({ targets: [target], seconds: SMOKE_SECONDS, timeoutSeconds: 10, workDir: SMOKE_WORK });
    assert.ok(r.execs > 0, `no executions: ${formatReport(r)} (log ${r.log})`);
    assert.deepEqual(r.findings, [], `${formatReport(r)} (log ${r.log})`);
  });
}
