/** extension-release: what `sysext` writes and reads back. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { appliesToInitrd, extensionNameProblem, parseExtensionRelease, renderExtensionRelease } from "../../../src/formats/sysext/index.js";

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
