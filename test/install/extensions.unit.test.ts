import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { newTree } from "../../src/fs/tree.js";
import { pinsOf } from "../../src/install/extensions.js";
import { ConfigKeys } from "../../src/formats/storage-init-config/index.js";
import { file, put } from "../helpers/tree-build.js";

const ARM64_ELF = readFileSync(new URL("../../../test/formats/elf/fixtures/arm64-module.ko", import.meta.url));

test("pinsOf: the mini's /init decides which architecture's partition types an extension must have", () => {
  const t = newTree();
  put(t, "init", file(ARM64_ELF));
  const pins = pinsOf(ConfigKeys.parse("", "test"), t);
  assert.equal(pins.arch, "arm64");
  // a script as /init (not storage-init): no architecture, the caller's default stands
  const s = newTree();
  put(s, "init", file("#!/bin/sh\n"));
  assert.equal(pinsOf(ConfigKeys.parse("", "test"), s).arch, undefined);
});
