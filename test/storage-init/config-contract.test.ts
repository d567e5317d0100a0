/**
 * The config contract seen from storage-init: it reads what renderConfig writes (--check-config)
 * and prints it back in its own syntax, which parseConfig reads as the same config.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MANIFEST_PATH, parseConfig, renderConfig, renderManifest } from "../../src/formats/storage-init-config/index.js";
import { bytesContent } from "../../src/fs/tree.js";
import { miniInitramfsTree } from "../../src/pipeline/mini-initramfs.js";
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


test("storage-init reads the manifest the build writes, line for line, and refuses one out of order with its line and offset", () => {
  const bin = storageInitBinary();
  return withTempDir((dir) => {
    const mod = (p: string) => ({ path: `lib/modules/9.9.9-test/${p}`, content: bytesContent(Buffer.from("m")) });
    const tree = miniInitramfsTree({ storageInit: bytesContent(Buffer.from("ELF")), config: renderConfig(BASE), files: [mod("kernel/fs/erofs/erofs.ko"), mod("a-b.ko"), mod("kernel/x y.ko")] });
    const text = renderManifest(tree);
    const file = join(dir, "manifest");
    writeFileSync(file, text, "latin1");
    assert.equal(run(bin, ["--check-manifest", file]).stdout, text);
    assert.match(text, new RegExp(`^100644 0 0 ${MANIFEST_PATH}$`, "m"));
    const lines = text.split("\n");
    [lines[0], lines[1]] = [lines[1], lines[0]]; // /boot and /dev
    writeFileSync(file, lines.join("\n"), "latin1");
    const bad = run(bin, ["--check-manifest", file], { allowFail: true });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, `error: ${file}: line 2 (byte ${lines[0].length + 1}): expected paths in ascending byte order, each once\n`);
  });
});
