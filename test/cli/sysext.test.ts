/** `sysext` on bad input: one line, exit 2, nothing written. */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cli } from "../helpers/cli.js";
import { withTempDir } from "../helpers/tmp.js";

test("sysext refuses files outside /usr and /opt, a missing ID, a bad NAME and a DIR's own extension-release: one line, exit 2, nothing written", () => withTempDir((dir) => {
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "usr/bin"), { recursive: true });
  writeFileSync(join(tree, "usr/bin/tool"), "#!/bin/sh\n");
  const out = join(dir, "out");
  mkdirSync(out);
  const check = (args: string[], want: RegExp) => {
    const r = cli(["sysext", ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.deepEqual(readdirSync(out), [], "no output, no temp file left");
  };
  check([tree, "-o", join(out, "x.raw")], /^initoverlayfs: --id: required/);
  check([tree, "-o", join(out, "x.img"), "--id", "debian"], /an extension image is named NAME\.raw/);
  check([tree, "-o", join(out, ".x.raw"), "--id", "debian"], /extension name "\.x"/);
  check([tree, "-o", join(out, "x.raw"), "--id", "debian", "--scope", "boot"], /--scope: expected initrd, system, portable, got "boot"/);
  mkdirSync(join(tree, "usr/lib/extension-release.d"), { recursive: true });
  writeFileSync(join(tree, "usr/lib/extension-release.d/extension-release.x"), "ID=debian\n");
  check([tree, "-o", join(out, "x.raw"), "--id", "debian"], /usr\/lib\/extension-release\.d\/extension-release\.x: the extension-release file is written from the options/);
  mkdirSync(join(tree, "etc"));
  writeFileSync(join(tree, "etc/os-release"), "ID=debian\n");
  check([tree, "-o", join(out, "x.raw"), "--id", "debian"], new RegExp(`${tree}/etc: an extension holds only the directories /usr and /opt`));
}));
