/** The real storage-init binary of this checkout, built when missing (npm test builds it first). */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../../src/io/package-files.js";
import { run } from "./run.js";

export function storageInitBinary(): string {
  const root = packageRoot();
  assert.ok(root, "package root not found");
  const bin = join(root, "storage-init", "build", "storage-init");
  if (!existsSync(bin)) run("make", ["-C", join(root, "storage-init")], { timeoutMs: 300_000 });
  assert.ok(existsSync(bin), `${bin} was not built`);
  return bin;
}
