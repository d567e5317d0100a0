/**
 * storage-init's config file, the TypeScript side: what renderConfig writes parseConfig reads back;
 * the limits are storage-init's own (read from config.h); bad files are FormatErrors naming the
 * byte offset of the bad entry. test/storage-init/config-contract.test.ts holds the C side.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FormatError, UsageError } from "../../../src/errors.js";
import {
  bootSpecProblem, ConfigKeys, DEFAULT_SHIMS, DmVerityConfig, IntegrityConfig, integrityEntries, LIMITS, SYSEXT_CERT_PATH, SYSEXT_DIRS, parseConfig, parseConfigText, parseIntegrity, renderConfig, renderIntegrity,
  StorageInitConfig, VERITY_BLOCK_SIZE, CONFIG_PATH, MANIFEST_PATH,
} from "../../../src/formats/storage-init-config/index.js";
import { BASE, CONFIGS, DM, INTEGRITY } from "../../helpers/storage-init-configs.js";

const keysOf = (pairs: [string, string][]) => new ConfigKeys(pairs.map(([key, value]) => ({ key, value, offset: 0 })));

test("boot specs: what storage-init accepts, with values the config parser keeps intact", () => {
  for (const ok of ["UUID=0a1b2c3d-1111-2222-3333-444455556666", "UUID=ABCD-1234", "PARTUUID=0a1b2c3d-01", "LABEL=boot", "LABEL=my boot", "PARTLABEL=EFI system", "/dev/vda1", "/dev/disk/by-id/x", "esp"]) {
    assert.equal(bootSpecProblem(ok), undefined, ok);
  }
  for (const bad of ["", "UUID=", "UUID=xyz", "UUID=-ab", "PARTUUID=12 34", "LABEL=", "boot", "esp ", "ESP", "esp2", "/dev/", "/dev/a b", 'LABEL=a"b', "LABEL=a\nb", "uuid=abcd", `LABEL=${"x".repeat(600)}`]) {
    assert.ok(bootSpecProblem(bad), JSON.stringify(bad));
  }
});

test("the config file: every key, in storage-init's syntax", () => {
  const text = renderConfig({ ...BASE, comment: "test", bootfstype: "ext4", bootflags: "noatime" });
  assert.equal(text, [
    "# test",
    "boot = UUID=0a1b2c3d-1111-2222-3333-444455556666",
    "bootfstype = ext4",
    "bootflags = noatime",
    "image = /initoverlayfs-9.9.9-test.img",
    "init = /init",
    "timeout = 10",
    "failure = panic",
    "module = /lib/modules/9.9.9-test/kernel/fs/ext4/ext4.ko",
    "module = /lib/modules/9.9.9-test/kernel/drivers/block/loop.ko max_loop=8",
    "shim = /usr/sbin/run-init",
    "shim = /usr/sbin/switch_root",
    "",
  ].join("\n"));
  // no switch-root program found: an empty list, not storage-init's default one
  assert.match(renderConfig({ ...BASE, shims: [] }), /\nshim =\n$/);
  // a label with edge blanks is quoted so the parser keeps them
  assert.match(renderConfig({ ...BASE, boot: "LABEL= my boot " }), /^boot = "LABEL= my boot "$/m);
  assert.match(renderIntegrity({ ...DM, salt: "" } as IntegrityConfig).join("\n"), /^verity_salt = -$/m);
});

test("the limits are storage-init's own (config.h), and renderConfig enforces them", () => {
  const header = readFileSync(new URL("../../../../storage-init/src/config.h", import.meta.url), "utf8");
  const util = readFileSync(new URL("../../../../storage-init/src/util.h", import.meta.url), "utf8");
  const define = (src: string, name: string) => {
    const m = new RegExp(`#define ${name}\\s+\\(?([0-9]+)(?:\\s*\\*\\s*([0-9]+))?\\)?`).exec(src);
    assert.ok(m, `${name} not defined`);
    return Number(m[1]) * (m[2] ? Number(m[2]) : 1);
  };
  assert.deepEqual(
    { modules: LIMITS.modules, shims: LIMITS.shims, value: LIMITS.value, params: LIMITS.params, line: LIMITS.line, file: LIMITS.file, salt: LIMITS.salt, path: LIMITS.path, block: VERITY_BLOCK_SIZE },
    {
      modules: define(header, "CFG_MAX_MODULES"), shims: define(header, "CFG_MAX_SHIMS"), value: define(header, "CFG_VALUE_MAX") - 1,
      params: define(header, "CFG_PARAMS_MAX") - 1, line: define(header, "CFG_LINE_MAX"), file: define(header, "CFG_FILE_MAX"),
      salt: define(header, "CFG_SALT_MAX"), path: define(util, "SI_PATH_MAX") - 1, block: define(header, "VERITY_BLOCK"),
    },
  );
  assert.equal(/#define CFG_PATH "([^"]+)"/.exec(header)?.[1], CONFIG_PATH);
  const manifest = readFileSync(new URL("../../../../storage-init/src/manifest.h", import.meta.url), "utf8");
  assert.equal(/#define MANIFEST_PATH "([^"]+)"/.exec(manifest)?.[1], MANIFEST_PATH);
  assert.deepEqual(
    { file: LIMITS.manifestFile, entries: LIMITS.manifestEntries, path: LIMITS.manifestPath },
    { file: define(manifest, "MANIFEST_FILE_MAX"), entries: define(manifest, "MANIFEST_MAX_ENTRIES"), path: define(manifest, "MANIFEST_PATH_MAX") - 1 },
  );
  // system extensions: the limit, the certificate's path and where storage-init looks (sysext.h)
  assert.equal(define(header, "CFG_MAX_SYSEXTS"), LIMITS.sysexts);
  const sysext = readFileSync(new URL("../../../../storage-init/src/sysext.h", import.meta.url), "utf8");
  assert.equal(define(sysext, "SYSEXT_RAM_ONE"), LIMITS.sysextRam);
  const str = (name: string) => new RegExp(`#define ${name} "([^"]+)"`).exec(sysext)?.[1];
  assert.deepEqual(
    { cert: SYSEXT_CERT_PATH, stub: SYSEXT_DIRS.stub, shared: SYSEXT_DIRS.shared, perImage: SYSEXT_DIRS.perImageSuffix },
    { cert: str("SYSEXT_CERT_PATH"), stub: str("SYSEXT_STUB_DIR"), shared: str("SYSEXT_SHARED_DIR"), perImage: str("SYSEXT_IMAGE_SUFFIX") },
  );
  const max = LIMITS.modules;
  const many = Array.from({ length: max + 1 }, (_, i) => ({ path: `/lib/modules/k/m${i}.ko` }));
  assert.throws(() => renderConfig({ ...BASE, modules: many }), new RegExp(`${max + 1} modules selected but storage-init loads at most ${max}`));
  assert.doesNotThrow(() => renderConfig({ ...BASE, modules: many.slice(0, max) }));
  assert.throws(() => renderConfig({ ...BASE, shims: Array.from({ length: LIMITS.shims + 1 }, (_, i) => `/s${i}`) }), /at most 8/);
  assert.throws(() => renderConfig({ ...BASE, timeout: 3601 }), /--timeout/);
  assert.throws(() => renderConfig({ ...BASE, failure: "explode" as "panic" }), /--failure/);
  assert.throws(() => renderConfig({ ...BASE, init: "sbin/init" }), /--init: must be an absolute path/);
  assert.throws(() => renderConfig({ ...BASE, image: "/" + "x".repeat(300) }), /--image-path: longer than 255 bytes/);
  assert.throws(() => renderConfig({ ...BASE, modules: [{ path: "/a b.ko" }] }), /module path unusable/);
  assert.throws(() => renderConfig({ ...BASE, modules: [{ path: "/a.ko", params: "x".repeat(LIMITS.params + 1) }] }), /module parameters unusable/);
});

test("parseConfig reads back exactly what renderConfig writes", () => {
  for (const c of CONFIGS) {
    const back = parseConfig(renderConfig(c));
    const want = JSON.parse(JSON.stringify({ ...c, integrity: c.integrity ?? { mode: "none" } }));
    assert.deepEqual(JSON.parse(JSON.stringify(back)), want, renderConfig(c));
  }
  // storage-init's defaults where the file is silent
  const minimal = parseConfig("boot = LABEL=b\nimage = /i.img\n");
  assert.deepEqual(minimal, { boot: "LABEL=b", image: "/i.img", init: "/init", timeout: 10, failure: "panic", modules: [], shims: [...DEFAULT_SHIMS], integrity: { mode: "none" } });
});

test("integrity keys: render → parse gives the same setting", () => {
  for (const c of INTEGRITY) {
    const back = parseIntegrity(ConfigKeys.parse(renderConfig({ ...BASE, integrity: c })));
    assert.deepEqual(back, JSON.parse(JSON.stringify(c)));
  }
});

test("bad integrity values are FormatErrors at the offending line; given as options they are UsageErrors", () => {
  const good = renderConfig({ ...BASE, integrity: DM });
  const bad: [string, string, RegExp][] = [
    ["integrity", "maybe", /integrity: expected none, dm-verity/],
    ["verity_roothash", "abc", /verity_roothash: expected hex/],
    ["verity_roothash", "00".repeat(31), /expected 64 hex digits/],
    ["verity_hashalg", "md5", /verity_hashalg/],
    ["verity_format", "2", /verity_format/],
    ["verity_data_blocks", "0", /at least 1/],
    ["verity_hash_offset", "4097", /multiple of 4096/],
    ["verity_hash_offset", "4096", /overlaps/],
    ["verity_sig", "rel/path", /absolute/],
  ];
  for (const [k, v, re] of bad) {
    const text = good.replace(new RegExp(`^${k} = .*$`, "m"), `${k} = ${v}`);
    const offset = text.indexOf(`${k} = ${v}`);
    assert.throws(() => parseConfig(text, "x.conf"), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.equal(e.offset, offset, `${k}=${v}`);
      assert.match(e.message, /^x\.conf: offset \d+: config: /);
      assert.match(e.message, re);
      return true;
    });
  }
  assert.throws(() => renderIntegrity({ ...DM, rootHash: "abc" }), UsageError);
  assert.throws(() => parseIntegrity(keysOf([["integrity", "copy"]])), /digest: missing/);
  assert.throws(() => parseIntegrity(keysOf([["integrity", "copy"], ["digest", "md5:00"]])), /sha256:HEX/);
  assert.throws(() => parseIntegrity(keysOf([["integrity", "dm-verity"], ["image_format", "gpt"]])), /image_format: expected plain, ddi/);
  assert.throws(() => parseIntegrity(keysOf([["integrity", "copy"], ["digest", "sha256:" + "00".repeat(32)], ["image_format", "ddi"]])), /image_format: ddi needs integrity = dm-verity/);
  assert.throws(() => parseIntegrity(keysOf([["image_format", "ddi"]])), /image_format: set without an integrity mode/);
  const dmKeys = integrityEntries(DM).filter((e) => e.key !== "verity_sig").map((e) => [e.key, e.value] as [string, string]);
  assert.equal((parseIntegrity(keysOf([...dmKeys, ["image_format", "ddi"], ["verity_cert", "/etc/c.der"]])) as DmVerityConfig).certificate, "/etc/c.der");
  assert.throws(() => parseIntegrity(keysOf([...dmKeys, ["verity_cert", "/etc/c.der"]])), /verity_cert: needs image_format = ddi/);
  assert.throws(() => parseIntegrity(keysOf([...dmKeys, ["image_format", "ddi"], ["verity_cert", "c.der"]])), /verity_cert: /);
  assert.throws(() => parseIntegrity(keysOf([["integrity", "copy"], ["digest", "sha256:" + "00".repeat(32)], ["verity_cert", "/c.der"]])), /verity_cert: a certificate needs integrity = dm-verity/);
  assert.throws(() => parseIntegrity(keysOf([["verity_cert", "/c.der"]])), /verity_cert: set without an integrity mode/);
});

test("integrity keys without an integrity key are refused: a misspelled mode must not boot unverified", () => {
  const text = renderConfig({ ...BASE, integrity: DM }).replace(/^integrity = dm-verity$/m, "integrty = dm-verity");
  assert.throws(() => parseConfig(text, "x.conf"), (e: unknown) => e instanceof FormatError && /verity_roothash: set without an integrity mode/.test(e.message));
  assert.throws(() => parseIntegrity(keysOf([["digest", "sha256:" + "00".repeat(32)]])), /digest: set without an integrity mode/);
});

test("config text: comments, quotes, dashes in keys, repeated keys; bad lines name the offset", () => {
  const entries = parseConfigText('# c\n  boot = "LABEL= x "\nmodule = /a.ko p=1\nmodule=/b.ko\nverity-salt = -\n');
  assert.deepEqual(entries.map((e) => [e.key, e.value, e.offset]), [["boot", "LABEL= x ", 4], ["module", "/a.ko p=1", 25], ["module", "/b.ko", 44], ["verity_salt", "-", 57]]);
  assert.throws(() => parseConfigText("a = 1\nnovalue\n", "x.conf"), /x\.conf: offset 6: config: expected "key = value"/);
  assert.throws(() => parseConfigText('a = "open\n'), /quoted/);
  assert.throws(() => parseConfig("image = /i.img\n", "x.conf"), /x\.conf: offset 0: config: boot: not set/);
  assert.throws(() => parseConfig("boot = LABEL=b\nimage = /i\ntimeout = soon\n", "x.conf"), /offset 26: config: timeout: expected a whole number/);
});

test("fuzz finding: text fields read back as the text renderConfig wrote (UTF-8), and bytes that are not UTF-8 are a FormatError", () => {
  // renderConfig writes boot, bootflags, image, init and module parameters UTF-8 encoded; the parser gave their bytes back as latin1
  const c: StorageInitConfig = { ...BASE, boot: "LABEL=böot", bootflags: "é", image: "/imäge.img", init: "/sbin/ïnit", modules: [{ path: "/lib/modules/k/a.ko", params: "x=ü" }] };
  assert.deepEqual(parseConfig(renderConfig(c)), parseConfig(renderConfig(parseConfig(renderConfig(c)))));
  assert.equal(parseConfig(renderConfig(c)).init, "/sbin/ïnit");
  assert.equal(parseConfig(renderConfig(c)).modules[0].params, "x=ü");
  // module and shim paths stay byte strings (names from the tree)
  assert.equal(parseConfig(renderConfig({ ...BASE, modules: [{ path: "/lib/\xff.ko" }] })).modules[0].path, "/lib/\xff.ko");
  // the minimized input (test/fuzz/regressions/config)
  const found = readFileSync(new URL("../../../../test/fuzz/regressions/config/init-not-utf8", import.meta.url), "latin1");
  assert.throws(() => parseConfig(found), (e) => e instanceof FormatError && e.offset === 20 && /init: not UTF-8 text/.test(e.message));
});

test("a bad module or shim line is reported at its own offset, not at the key's last line", () => {
  const text = "boot = LABEL=b\nimage = /i.img\nmodule = rel/a.ko\nmodule = /b.ko\nshim = x\nshim = /y\n";
  assert.throws(() => parseConfig(text, "x.conf"), (e: unknown) => e instanceof FormatError && e.offset === text.indexOf("module = rel") && /module: must be an absolute path/.test(e.message));
  const shims = text.replace("module = rel/a.ko", "module = /a.ko");
  assert.throws(() => parseConfig(shims, "x.conf"), (e: unknown) => e instanceof FormatError && e.offset === shims.indexOf("shim = x"));
  // bootfs_module: the type a mount uses comes first (ext3 mounts as ext4)
  const fs = "boot = LABEL=b\nimage = /i.img\nbootfs_module = ext4 /jbd2.ko\nbootfs_module = ext3 /ext4.ko\n";
  assert.throws(() => parseConfig(fs, "x.conf"), (e: unknown) => e instanceof FormatError && e.offset === fs.indexOf("bootfs_module = ext3") && /expected a type \(ext4, vfat, xfs, btrfs\) before the path, got "ext3"/.test(e.message));
  assert.deepEqual(parseConfig(fs.replace("ext3", "vfat")).modules, [{ path: "/jbd2.ko", bootFs: "ext4" }, { path: "/ext4.ko", bootFs: "vfat" }]);
  assert.throws(() => renderConfig({ ...parseConfig(fs.replace("ext3", "vfat")), modules: [{ path: "/a.ko", bootFs: "ext3" as "ext4" }] }), /boot filesystem type "ext3" is not one of/);
});

test("sysext_roothash: repeated, lower-cased, at most LIMITS.sysexts; a bad one is refused at its line, an empty one empties the list", () => {
  const h = (i: number) => i.toString(16).padStart(64, "0");
  const c = parseConfig(renderConfig({ ...BASE, sysextRootHashes: [h(1), "AB".repeat(32)] }));
  assert.deepEqual(c.sysextRootHashes, [h(1), "ab".repeat(32)]);
  assert.throws(() => renderConfig({ ...BASE, sysextRootHashes: Array.from({ length: LIMITS.sysexts + 1 }, (_, i) => h(i)) }), /--sysext: 129 extensions pinned, storage-init takes at most 128/);
  assert.throws(() => renderConfig({ ...BASE, sysextRootHashes: ["ab"] }), /--sysext: expected a sha256 root hash \(64 hex digits\), got "ab"/);
  const text = renderConfig(BASE) + `sysext_roothash = ${h(2)}\nsysext_roothash = xyz\n`;
  assert.throws(() => parseConfig(text, "c"), (e: Error) => e.message.startsWith(`c: offset ${text.indexOf("sysext_roothash = xyz")}:`) && /expected a sha256 root hash/.test(e.message));
  assert.equal(parseConfig(renderConfig(BASE) + `sysext_roothash = ${h(2)}\nsysext_roothash =\n`).sysextRootHashes, undefined);
});
