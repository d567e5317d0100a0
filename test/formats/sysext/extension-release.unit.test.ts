/** extension-release: what `sysext` writes, what storage-init reads back, and the bad input the CLI refuses before writing anything. */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { appliesToInitrd, extensionNameProblem, parseExtensionRelease, renderExtensionRelease } from "../../../src/formats/sysext/index.js";
import { cli } from "../../helpers/cli.js";
import { withTempDir } from "../../helpers/tmp.js";

test("extension-release: rendered from the options, read back; scope default is system portable (not the initrd)", () => {
  const text = renderExtensionRelease({ id: "debian", versionId: "12", scope: ["initrd", "system"], architecture: "x86-64" });
  assert.equal(text, "ID=debian\nVERSION_ID=12\nSYSEXT_SCOPE=initrd system\nARCHITECTURE=x86-64\n");
  const r = parseExtensionRelease(text);
  assert.deepEqual(r, { id: "debian", versionId: "12", scope: ["initrd", "system"], architecture: "x86-64" });
  assert.equal(appliesToInitrd(r, "debian"), true);
  assert.equal(appliesToInitrd(r, "fedora"), false);
  assert.equal(appliesToInitrd(parseExtensionRelease('ID="_any"\nSYSEXT_SCOPE=initrd\n'), "fedora"), true);
  assert.equal(appliesToInitrd(parseExtensionRelease("ID=debian\n"), "debian"), false, "no SYSEXT_SCOPE: system portable");
  assert.throws(() => renderExtensionRelease({ id: "Debian" }), /--id: expected lower-case/);
  assert.throws(() => renderExtensionRelease({ id: "debian", versionId: "12", sysextLevel: "1" }), /exclude each other/);
  assert.throws(() => renderExtensionRelease({ id: "debian", scope: ["initrd", "boot" as never] }), /--scope: expected initrd, system, portable, got "boot"/);
  assert.throws(() => parseExtensionRelease("SYSEXT_SCOPE=initrd\n", "x"), /x: offset 0: extension-release: no ID=/);
  assert.throws(() => parseExtensionRelease("ID=a\nnot a line\n", "x"), /x: offset 5: os-release: expected KEY=VALUE/);
  assert.equal(extensionNameProblem("tools-1.2_x+y"), undefined);
  for (const bad of ["", ".hidden", "a/b", "a..b", "sp ace"]) assert.ok(extensionNameProblem(bad), bad);
});

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
