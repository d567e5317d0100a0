/** install.conf's parser (parseSettings): pure, the file's text in, settings out. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FormatError } from "../../src/errors.js";
import { parseSettings } from "../../src/install/settings.js";

test("install.conf: every key", () => {
  assert.deepEqual(parseSettings("boot = UUID=0a1b-2c3d\nboot_fstype = vfat\nfailure = shell\ntimeout = 3600\ninit = /sbin/init\nadd_modules = a, b,\ndefault_modules = no\n"), {
    boot: "UUID=0a1b-2c3d", bootFstype: "vfat", failure: "shell", timeout: 3600, init: "/sbin/init", addModules: ["a", "b"], defaultModules: false,
  });
});

test("fuzz finding: install.conf's timeout is bounded like the config's (it took any digits, up to Infinity)", () => {
  for (const v of ["9223372036854775808", "3601", "1".repeat(400), "-1", "1e3"]) {
    assert.throws(() => parseSettings(`boot = /dev/vda\ntimeout = ${v}\n`, "install.conf"), (e) => e instanceof FormatError && e.offset === 16 && /timeout: expected a whole number of seconds from 0 to 3600/.test(e.message), v);
  }
  assert.equal(parseSettings("timeout = 0").timeout, 0);
});

test("install.conf: the extension keys; sysext and sysext_roothash repeat, an empty value drops the ones before", () => {
  const h = "ab".repeat(32);
  assert.deepEqual(parseSettings(`sysext = /a.raw\nsysext = /b.raw\nsysext_roothash = ${h.toUpperCase()}\nsysext_cert = /etc/k.pem\n`), {
    sysext: ["/a.raw", "/b.raw"], sysextRootHashes: [h], sysextCert: "/etc/k.pem",
  });
  assert.deepEqual(parseSettings(`sysext = /a.raw\nsysext =\nsysext = /c.raw\n`), { sysext: ["/c.raw"] });
  assert.throws(() => parseSettings("timeout = 1\nsysext_roothash = abc\n", "install.conf"), (e) => e instanceof FormatError && e.offset === 12 && /sysext_roothash: expected a sha256 root hash \(64 hex digits\), got "abc"/.test(e.message));
  assert.throws(() => parseSettings("sysext = rel.raw\n", "install.conf"), (e) => e instanceof FormatError && e.offset === 0 && /sysext: must be an absolute path/.test(e.message));
});
