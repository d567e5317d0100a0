/** The real storage-init binaries of this checkout, built when missing (npm test builds them first). */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { machine } from "node:os";
import { join } from "node:path";
import { Arch, archOfUname } from "../../src/formats/elf/arch.js";
import { packageRoot, storageInitPath } from "../../src/io/package-files.js";
import { run } from "./run.js";

/** The architecture of the machine running the tests: its binaries run here natively. */
export function hostArch(): Arch {
  const a = archOfUname(machine());
  assert.ok(a, `no storage-init for this machine (${machine()})`);
  return a;
}

/** storage-init for `arch` (default: this machine's, as the boot tests run this machine's kernel). */
export function storageInitBinary(arch: Arch = hostArch()): string {
  const root = packageRoot();
  assert.ok(root, "package root not found");
  const bin = storageInitPath(arch);
  if (!existsSync(bin)) run("make", ["-C", join(root, "storage-init"), arch], { timeoutMs: 300_000 });
  assert.ok(existsSync(bin), `${bin} was not built`);
  return bin;
}
