/**
 * The config contract seen from storage-init: it reads what renderConfig writes (--check-config)
 * and prints it back in its own syntax, which parseConfig reads as the same config.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig, renderConfig } from "../../src/formats/storage-init-config/index.js";
import { run } from "../helpers/run.js";
import { storageInitBinary } from "../helpers/storage-init.js";
import { BASE, CONFIGS } from "../helpers/storage-init-configs.js";
import { withTempDir } from "../helpers/tmp.js";

test("storage-init reads what renderConfig writes, and prints it back as parseConfig reads it (both directions)", () => {
  const bin = storageInitBinary();
  return withTempDir((dir) => {
    for (const [i, c] of CONFIGS.entries()) {
      const conf = join(dir, `c${i}.conf`);
      writeFileSync(conf, renderConfig(c), "latin1");
      const printed = run(bin, ["--check-config", conf]).stdout;
      // C → TS: storage-init's view of the file, read by our parser, is the config we wrote
      const viaC = parseConfig(printed, "storage-init --check-config");
      const want = parseConfig(renderConfig(c));
      assert.deepEqual(viaC, { ...want, bootfstype: want.bootfstype ?? "auto" }, printed);
    }
    // edge blanks survive in the C parser too
    const conf = join(dir, "blanks.conf");
    writeFileSync(conf, renderConfig({ ...BASE, boot: "LABEL= my boot " }), "latin1");
    assert.match(run(bin, ["--check-config", conf]).stdout, /^boot=LABEL= my boot $/m);
  });
});

