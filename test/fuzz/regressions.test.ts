/**
 * Every minimized finding in test/fuzz/regressions/TARGET/ replayed in-process through its
 * TypeScript target: it must return or throw one of our errors. (The smoke pass replays them
 * under the fuzzing engines too; the parsers' own tests assert the exact error.)
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { InitoverlayfsError } from "../../src/errors.js";
import { REPO, WORK } from "./run.js";
import { ensureSeeds } from "./seeds.js";
import { setSignatureCerts, TARGETS } from "./targets.js";

const DIR = join(REPO, "test", "fuzz", "regressions");

before(() => {
  const certs = join(ensureSeeds(join(WORK, "seeds")), "certs");
  setSignatureCerts({ rsa: readFileSync(join(certs, "rsa.cert.pem"), "utf8"), ec: readFileSync(join(certs, "ec.cert.pem"), "utf8") });
});

for (const t of TARGETS) {
  const dir = join(DIR, t.name);
  const files = existsSync(dir) ? readdirSync(dir).sort() : [];
  for (const f of files) {
    test(`fuzz regression ${t.name}/${f}`, async () => {
      try {
        await t.run(readFileSync(join(dir, f)));
      } catch (e) {
        if (!(e instanceof InitoverlayfsError)) throw e;
      }
    });
  }
}
