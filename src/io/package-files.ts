/** Files this package ships: found from the running code, not from the working directory. */
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FormatError, UsageError } from "../errors.js";
import { Arch, ARCHES } from "../formats/elf/arch.js";
import { bytesContent, FileContent } from "../fs/tree.js";

/** The package's own directory: the nearest parent with initoverlayfs's package.json. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      if (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name === "initoverlayfs") return dir;
    } catch { /* not here */ }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The architectures storage-init is built for (storage-init/Makefile's ARCHES): one binary each. */
export const STORAGE_INIT_ARCHES: readonly Arch[] = ARCHES;

/** Where storage-init for `arch` is, relative to the package (package.json's `files` ships them). */
export function storageInitRelPath(arch: Arch): string {
  return `storage-init/build/${arch}/storage-init`;
}

/** storage-init for `arch` as `make -C storage-init` builds it. */
export function storageInitPath(arch: Arch): string {
  return join(packageRoot() ?? ".", storageInitRelPath(arch));
}

/** The storage-init binary's bytes; it must be an ELF file. */
export function readStorageInit(path: string): FileContent {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`storage-init binary not found at ${path}: run make -C storage-init${hint(path)}`);
  }
  if (!st.isFile()) throw new UsageError(`storage-init binary not found at ${path} (not a file): run make -C storage-init${hint(path)}`);
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 4).toString("latin1") !== "\x7fELF") throw new FormatError("storage-init", 0, "not an ELF executable", path);
  return bytesContent(bytes);
}

/** The make target of a missing per-arch binary. */
function hint(path: string): string {
  const arch = STORAGE_INIT_ARCHES.find((a) => path === storageInitPath(a));
  return arch ? ` ${arch}` : "";
}
