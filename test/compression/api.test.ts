import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { COMPRESSIONS, decompress, detectCompression, type Compression } from "../../src/compression/index.js";
import { Xxh64 } from "../../src/compression/xxhash64.js";
import { FormatError, UnsupportedError } from "../../src/errors.js";
import { collect, expectFormatError, hasTool, randomBytes, runTool } from "./support.js";

test("detectCompression: the kernel's two-byte magics", () => {
  const table: [number[], Compression | undefined][] = [
    [[0x1f, 0x8b], "gzip"],
    [[0x1f, 0x9e], "gzip"],
    [[0x42, 0x5a], "bzip2"],
    [[0x5d, 0x00], "lzma"],
    [[0xfd, 0x37], "xz"],
    [[0x89, 0x4c], "lzo"],
    [[0x02, 0x21], "lz4"],
    [[0x28, 0xb5], "zstd"],
    [[0x30, 0x37], undefined], // "07": uncompressed cpio
    [[0x00, 0x00], undefined],
    [[0x1f], undefined], // too short
    [[], undefined],
  ];
  for (const [bytes, kind] of table) assert.equal(detectCompression(Uint8Array.from([7, ...bytes]), 1), kind, `${bytes}`);
  assert.equal(detectCompression(Uint8Array.from([0x1f, 0x8b]), -1), undefined);
  assert.equal(detectCompression(Uint8Array.from([0x1f, 0x8b]), 5), undefined);
});

test("empty input and offsets outside the input are FormatErrors for every compressor", async () => {
  for (const kind of COMPRESSIONS) {
    await expectFormatError(collect(decompress(kind, new Uint8Array(0), 0)), kind);
    await expectFormatError(collect(decompress(kind, new Uint8Array(10), 10)), kind);
    await expectFormatError(collect(decompress(kind, new Uint8Array(10), 11)), kind);
    await expectFormatError(collect(decompress(kind, new Uint8Array(10), -1)), kind);
    // too short for any header
    await expectFormatError(collect(decompress(kind, Uint8Array.from([1]), 0)), kind);
  }
});

test("an unknown compression name is an UnsupportedError", async () => {
  await assert.rejects(collect(decompress("brotli" as Compression, new Uint8Array(4), 0)), UnsupportedError);
});

test("random bytes behind each magic: output or a FormatError, never a hang or another error", async () => {
  const magics: Record<Compression, number[]> = {
    gzip: [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
    bzip2: [0x42, 0x5a, 0x68, 0x39],
    lzma: [0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0, 4, 0xe6, 0xd6, 0xb4, 0x46],
    lzo: [0x89, 0x4c, 0x5a, 0x4f],
    lz4: [0x02, 0x21, 0x4c, 0x18],
    zstd: [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x50],
  };
  for (const kind of COMPRESSIONS) {
    for (let seed = 1; seed <= 20; seed++) {
      const input = Buffer.concat([Buffer.from(magics[kind]), randomBytes(2000, seed)]);
      try {
        await collect(decompress(kind, input, 0));
      } catch (e) {
        assert.ok(e instanceof FormatError, `${kind}: ${String(e)}`);
        assert.equal(e.format, kind);
      }
    }
  }
});

test("xxh64 known values", () => {
  const hex = (h: [number, number]) => h.map((x) => x.toString(16).padStart(8, "0")).join("");
  assert.equal(hex(new Xxh64().digest()), "ef46db3751d8e999");
  assert.equal(hex(new Xxh64().update(Buffer.from("a")).digest()), "d24ec4f1a98c6e5b");
  assert.equal(hex(new Xxh64().update(Buffer.from("abc")).digest()), "44bc2cf5ad770999");
  // chunking does not change the digest
  const data = randomBytes(100_003, 3);
  const whole = hex(new Xxh64().update(data).digest());
  const parts = new Xxh64();
  for (let i = 0; i < data.length; i += 37) parts.update(data.subarray(i, i + 37));
  assert.equal(hex(parts.digest()), whole);
});

test("xxh64 agrees with zstd's frame checksums at every tail length", async () => {
  for (const n of [0, 1, 3, 4, 7, 8, 9, 31, 32, 33, 63, 64, 100, 1000]) {
    const comp = runTool("zstd", ["-c", "-q"], randomBytes(n, n + 1))!;
    const r = await collect(decompress("zstd", comp, 0)); // throws on a checksum mismatch
    assert.equal(r.data.length, n);
  }
});

const initrds = (() => {
  try {
    return readdirSync("/boot").filter((f) => f.startsWith("initrd.img-")).map((f) => `/boot/${f}`);
  } catch {
    return [];
  }
})();

test("the real /boot initrd decompresses to a newc cpio archive", async () => {
  const file = initrds[0];
  const input = readFileSync(file);
  const kind = detectCompression(input, 0);
  assert.ok(file, "no /boot/initrd.img-*: .ci/run installs linux-image-amd64");
  assert.ok(kind, `${file} starts with an uncompressed archive; this test expects a compressed one`);
  const hash = createHash("sha256");
  const gen = decompress(kind, input, 0);
  let first: Uint8Array | undefined;
  let size = 0;
  let consumed = 0;
  for (;;) {
    const r = await gen.next();
    if (r.done) {
      consumed = r.value;
      break;
    }
    first ??= r.value;
    size += r.value.length;
    hash.update(r.value);
  }
  assert.equal(Buffer.from(first!.subarray(0, 6)).toString("latin1"), "070701");
  assert.ok(consumed > 0 && consumed <= input.length);
  // the rest, if any, is padding or further segments
  if (kind === "zstd" && hasTool("zstd") && consumed === input.length) {
    const ref = runTool("zstd", ["-dc"], input)!;
    assert.equal(size, ref.length);
    assert.equal(hash.digest("hex"), createHash("sha256").update(ref).digest("hex"));
  }
});
