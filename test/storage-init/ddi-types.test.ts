/**
 * storage-init's partition types (storage-init/src/ddi_types.h) against the one table
 * (src/formats/ddi/ddi.ts), the compiler macro that picks the architecture's, and the host build
 * refusing another architecture's DDI (one line, before anything is attached).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DDI_ARCHES, DDI_PARTITION_TYPES } from "../../src/formats/ddi/index.js";
import { dmVerityConfigOf, renderConfig } from "../../src/formats/storage-init-config/index.js";
import { writeDdi } from "../../src/integrity/ddi-file.js";
import { packageRoot } from "../../src/io/package-files.js";
import { mkfsErofs } from "../helpers/erofs.js";
import { randomBytes } from "../helpers/prng.js";
import { run } from "../helpers/run.js";
import { BASE } from "../helpers/storage-init-configs.js";
import { withTempDir } from "../helpers/tmp.js";

const dir = () => join(packageRoot()!, "storage-init");
const HEADER = () => join(dir(), "src/ddi_types.h");

test("ddi_types.h holds the table's root, root-verity, root-verity-sig, usr, usr-verity and usr-verity-sig types for every architecture", () => {
  const text = readFileSync(HEADER(), "utf8").replace(/\s*\\\n\s*/g, " ");
  const found = new Map<string, string[]>();
  for (const m of text.matchAll(/^#define DDI_TYPES_\w+ "([^"]+)", ((?:"[^"]+"(?:, )?)+)$/gm)) found.set(m[1], [...m[2].matchAll(/"([^"]+)"/g)].map((g) => g[1]));
  assert.deepEqual([...found.keys()].sort(), [...DDI_ARCHES].sort());
  for (const arch of DDI_ARCHES) {
    const { root: r, usr: u } = DDI_PARTITION_TYPES[arch];
    assert.deepEqual(found.get(arch), [r.root, r.verity, r.signature, u.root, u.verity, u.signature], arch);
  }
});

test("the compiler's architecture macro picks that architecture's types; an unknown one does not compile", () => {
  const picks: [string[], string][] = [
    [["-D__x86_64__"], "X86_64"], [["-D__aarch64__"], "ARM64"], [["-D__arm__"], "ARM"],
    [["-D__riscv", "-D__riscv_xlen=64"], "RISCV64"], [["-D__i386__"], "X86"],
  ];
  for (const [defs, want] of picks) {
    // -undef: none of the host's own macros
    const r = run("gcc", ["-E", "-dM", "-undef", ...defs, HEADER()]);
    assert.match(r.stdout, new RegExp(`^#define DDI_TYPES DDI_TYPES_${want}$`, "m"), defs.join(" "));
  }
  const none = run("gcc", ["-E", "-undef", "-D__riscv", "-D__riscv_xlen=32", HEADER()], { allowFail: true });
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /no Discoverable Partitions types for this architecture/);
});

test("storage-init built for x86-64 takes an x86-64 DDI and refuses the same image with arm64 types, or with a usr partition", () => withTempDir(async (tmp) => {
  run("make", ["-s", "-C", dir(), "build/ddi-locate"], { timeoutMs: 300_000 });
  const bin = join(dir(), "build", "ddi-locate");
  const src = join(tmp, "src");
  mkdirSync(src);
  writeFileSync(join(src, "blob"), randomBytes(20_000, 5));
  const erofs = join(tmp, "root.erofs");
  mkfsErofs(erofs, src, ["-T0"]);
  for (const arch of ["x86-64", "arm64"] as const) {
    const img = join(tmp, `${arch}.raw`);
    const w = await writeDdi(erofs, img, { arch, salt: randomBytes(32, 6), uuid: randomBytes(16, 7) });
    const conf = join(tmp, `${arch}.conf`);
    writeFileSync(conf, renderConfig({ ...BASE, integrity: { ...dmVerityConfigOf({ ...w.params, hashOffset: w.table.partitions[1].offset }, w.rootHash), imageFormat: "ddi" } }), "latin1");
    const r = run(bin, [conf, img], { allowFail: true });
    if (arch === "x86-64") assert.equal(r.code, 0, r.stderr);
    else {
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stderr, `${img}: no x86-64 root or usr partition\n`);
    }
  }
  // a usr partition is found as one (an extension of /usr) but refused as an image
  const usrImg = join(tmp, "usr.raw");
  const u = await writeDdi(erofs, usrImg, { arch: "x86-64", kind: "usr", salt: randomBytes(32, 6), uuid: randomBytes(16, 7) });
  const usrConf = join(tmp, "usr.conf");
  writeFileSync(usrConf, renderConfig({ ...BASE, integrity: { ...dmVerityConfigOf({ ...u.params, hashOffset: u.table.partitions[1].offset }, u.rootHash), imageFormat: "ddi" } }), "latin1");
  const ru = run(bin, [usrConf, usrImg], { allowFail: true });
  assert.equal(ru.code, 1, ru.stdout);
  assert.equal(ru.stderr, `${usrImg}: no x86-64 root partition (a usr one: an extension, not an image)\n`);
}));
