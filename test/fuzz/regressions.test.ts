/**
 * Every minimized finding in test/fuzz/regressions/TARGET/ replayed in-process through its
 * TypeScript target: it must return or throw one of our errors. (The smoke pass replays them
 * under the fuzzing engines too; the parsers' own tests assert the exact error.)
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { InitoverlayfsError } from "../../src/errors.js";
import { makeTestKey } from "../helpers/keys.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { REPO } from "./run.js";
import { setSignatureCerts, TARGETS } from "./targets.js";

const DIR = join(REPO, "test", "fuzz", "regressions");

const work = makeTempDir("iofs-fuzz-regressions-");
before(() => {
  // any certificates do: the PKCS#7 regressions fail before the signer is compared
  setSignatureCerts({ rsa: makeTestKey(work, "rsa", "rsa").cert, ec: makeTestKey(work, "ec", "ec").cert });
});
after(() => removeDir(work));

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
