/** Which compression a mini gets for a kernel: auto's pick, and the kinds a kernel is refused. */
import test from "node:test";
import assert from "node:assert/strict";
import { chooseMiniCompression } from "../../src/pipeline/mini-compression.js";
import { kernelAtLeast, parseKernelConfig } from "../../src/pipeline/kernel.js";
import { UsageError } from "../../src/errors.js";

const config = (lines: string) => parseKernelConfig(lines, "test.config");
const ALL = config("CONFIG_RD_GZIP=y\nCONFIG_RD_ZSTD=y\nCONFIG_RD_LZ4=y\n");
const NO_LZ4 = config("CONFIG_RD_GZIP=y\nCONFIG_RD_ZSTD=y\n# CONFIG_RD_LZ4 is not set\n");

test("kernel releases compare by their leading numbers", () => {
  assert.equal(kernelAtLeast("6.1.0-57-amd64", 5, 11), true);
  assert.equal(kernelAtLeast("5.11.0", 5, 11), true);
  assert.equal(kernelAtLeast("5.10.0-30-arm64", 5, 11), false);
  assert.equal(kernelAtLeast("4.19.0-27-amd64", 5, 11), false);
  assert.equal(kernelAtLeast("10.0", 5, 11), true);
  assert.equal(kernelAtLeast("5.110-custom", 5, 11), true);
  assert.equal(kernelAtLeast("custom-6.1", 5, 11), undefined);
  assert.equal(kernelAtLeast("6", 5, 11), undefined);
});

test("auto: lz4 only where the config says the kernel unpacks it and the release finds its end; else gzip", () => {
  assert.equal(chooseMiniCompression("auto", { kver: "6.1.0-57-amd64", config: ALL }), "lz4");
  assert.equal(chooseMiniCompression("auto", { kver: "6.1.0-57-amd64", config: NO_LZ4 }), "gzip");
  assert.equal(chooseMiniCompression("auto", { kver: "6.1.0-57-amd64" }), "gzip", "no config: gzip");
  assert.equal(chooseMiniCompression("auto", { kver: "5.10.0-30-amd64", config: ALL }), "gzip", "before 5.11");
  assert.equal(chooseMiniCompression("auto", { kver: "custom", config: ALL }), "gzip", "release unknown");
});

test("a named kind the kernel cannot unpack is refused with the reason; unknowns are allowed", () => {
  const refused = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof UsageError && re.test(e.message));
  refused(() => chooseMiniCompression("lz4", { kver: "6.1.0", config: NO_LZ4 }), /^--mini-compression lz4: this kernel cannot unpack it \(CONFIG_RD_LZ4 is not set in test\.config\)$/);
  refused(() => chooseMiniCompression("zstd", { kver: "6.1.0", config: config("CONFIG_RD_LZ4=y\n") }), /CONFIG_RD_ZSTD is not set/);
  refused(() => chooseMiniCompression("lz4", { kver: "5.10.0-30-amd64", config: ALL }), /^--mini-compression lz4: Linux 5\.10\.0-30-amd64 cannot find where an lz4 mini ends.*needs 5\.11 or later\)$/);
  assert.equal(chooseMiniCompression("lz4", { kver: "6.1.0" }), "lz4");
  assert.equal(chooseMiniCompression("lz4", { kver: "custom", config: ALL }), "lz4");
  for (const kind of ["gzip", "none"] as const) assert.equal(chooseMiniCompression(kind, { kver: "4.19.0", config: NO_LZ4 }), kind);
});
