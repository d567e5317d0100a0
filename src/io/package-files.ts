/** Files this package ships: found from the running code, not from the working directory. */
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FormatError, UsageError } from "../errors.js";
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

/** storage-init as `make -C storage-init` builds it. */
export function defaultStorageInitPath(): string {
  return join(packageRoot() ?? ".", "storage-init", "build", "storage-init");
}

/** The storage-init binary's bytes; it must be an ELF file. */
export function readStorageInit(path: string): FileContent {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`storage-init binary not found at ${path}: run make -C storage-init`);
  }
  if (!st.isFile()) throw new UsageError(`storage-init binary not found at ${path} (not a file): run make -C storage-init`);
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 4).toString("latin1") !== "\x7fELF") throw new FormatError("storage-init", 0, "not an ELF executable", path);
  return bytesContent(bytes);
}
