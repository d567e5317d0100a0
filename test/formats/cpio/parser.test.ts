import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, linkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CpioParser, CpioEntry } from "../../../src/formats/cpio/parser.js";
import { CpioWriter } from "../../../src/formats/cpio/writer.js";
import { FormatError } from "../../../src/errors.js";

function parseAll(bytes: Uint8Array, chunk = bytes.length): { entries: CpioEntry[]; trailers: number } {
  const entries: CpioEntry[] = [];
  let trailers = 0;
  const p = new CpioParser({ entry: (e) => entries.push({ ...e, data: new Uint8Array(e.data) }), trailer: () => trailers++ });
  for (let i = 0; i < bytes.length; i += chunk) p.push(bytes.subarray(i, i + chunk));
  p.end();
  return { entries, trailers };
}

test("GNU cpio -H newc output parses the same in any chunking", () => {
  const dir = mkdtempSync(join(tmpdir(), "cpio-"));
  try {
    mkdirSync(join(dir, "d"));
    writeFileSync(join(dir, "d/a"), "hello");
    writeFileSync(join(dir, "empty"), "");
    writeFileSync(join(dir, "big"), Buffer.alloc(10007, 3));
    symlinkSync("d/a", join(dir, "s"));
    linkSync(join(dir, "d/a"), join(dir, "hard"));
    const list = ".\nd\nd/a\nempty\nbig\ns\nhard\n";
    const r = spawnSync("cpio", ["-o", "-H", "newc", "--quiet"], { cwd: dir, input: list });
    assert.equal(r.status, 0, r.stderr.toString());
    const whole = parseAll(r.stdout);
    for (const chunk of [1, 3, 7, 110, 111, 512, 4096]) {
      const got = parseAll(r.stdout, chunk);
      assert.deepEqual(got.entries.map((e) => [e.name, e.header.mode, Buffer.from(e.data).toString("hex")]),
        whole.entries.map((e) => [e.name, e.header.mode, Buffer.from(e.data).toString("hex")]), `chunk ${chunk}`);
    }
    const names = whole.entries.map((e) => e.name);
    // GNU cpio defers the members of a hard-link group until its last one
    assert.deepEqual(names, [".", "d", "empty", "big", "s", "d/a", "hard"]);
    assert.equal(whole.trailers, 1);
    const big = whole.entries.find((e) => e.name === "big")!;
    assert.equal(big.data.length, 10007);
    assert.equal(Buffer.from(whole.entries.find((e) => e.name === "s")!.data).toString(), "d/a");
    // GNU cpio puts a hard-linked file's data on the last member of its group
    const a = whole.entries.find((e) => e.name === "d/a")!;
    const hard = whole.entries.find((e) => e.name === "hard")!;
    assert.equal(a.header.ino, hard.header.ino);
    assert.equal(a.header.nlink, 2);
    assert.equal(a.data.length + hard.data.length, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("crc format: the checksum is verified", () => {
  const good = new CpioWriter().add({ name: "f", mode: 0o100644, data: Buffer.from("abc"), crc: true }).trailer().bytes();
  assert.equal(parseAll(good).entries[0].header.crc, true);
  const bad = new CpioWriter().add({ name: "f", mode: 0o100644, data: Buffer.from("abc"), crc: true, check: 1 }).trailer().bytes();
  assert.throws(() => parseAll(bad), (e: unknown) => e instanceof FormatError && /bad data checksum/.test(e.message) && e.offset === 0);
});

test("GNU cpio -H crc output verifies", () => {
  const dir = mkdtempSync(join(tmpdir(), "cpio-"));
  try {
    writeFileSync(join(dir, "x"), Buffer.alloc(777, 0xff));
    const r = spawnSync("cpio", ["-o", "-H", "crc", "--quiet"], { cwd: dir, input: "x\n" });
    assert.equal(r.status, 0);
    const { entries } = parseAll(r.stdout);
    assert.equal(entries[0].header.check, 777 * 0xff);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("several archives with NUL padding between them", () => {
  const a = new CpioWriter().add({ name: "a", mode: 0o100644, data: Buffer.from("1") }).trailer().padTo(512).bytes();
  const b = new CpioWriter().add({ name: "b", mode: 0o100644, data: Buffer.from("22") }).trailer().bytes();
  const { entries, trailers } = parseAll(Buffer.concat([a, Buffer.alloc(16), b]));
  assert.deepEqual(entries.map((e) => e.name), ["a", "b"]);
  assert.equal(trailers, 2);
});

test("malformed archives: clear errors with offsets", () => {
  const ok = new CpioWriter().add({ name: "file", mode: 0o100644, data: Buffer.alloc(100, 1) }).trailer().bytes();
  // truncated anywhere before the end of the trailer: an error naming where
  for (let cut = 1; cut < ok.length - 4; cut += 7) {
    assert.throws(() => parseAll(ok.subarray(0, cut)), (e: unknown) => e instanceof FormatError && typeof e.offset === "number", `cut ${cut}`);
  }
  const odc = Buffer.from("070707" + "0".repeat(104));
  assert.throws(() => parseAll(odc), /odc/);
  const nothex = Buffer.from(ok);
  nothex[6 + 8 * 6] = "x".charCodeAt(0); // filesize field
  assert.throws(() => parseAll(nothex), (e: unknown) => e instanceof FormatError && e.offset === 54 && /filesize/.test(e.message));
  const junk = Buffer.concat([ok, Buffer.from("garbage!")]);
  assert.throws(() => parseAll(junk), (e: unknown) => e instanceof FormatError && e.offset === ok.length && /junk/.test(e.message));
  const noNul = Buffer.from(new CpioWriter().add({ name: "abc", mode: 0o100644 }).trailer().bytes());
  noNul[110 + 3] = 0x41; // overwrite the name's NUL
  assert.throws(() => parseAll(noNul), /not NUL-terminated/);
  const hugeName = Buffer.from(ok);
  hugeName.write("FFFFFFFF", 6 + 8 * 11, "latin1"); // namesize
  assert.throws(() => parseAll(hugeName), /name size/);
});
