/**
 * Module names as kmod treats them: "usb-storage" and "usb_storage" are the same module, and a
 * module's name is its file name without the ".ko" (and compression) suffix.
 */

export type ModuleCompression = "none" | "xz" | "zstd" | "gzip";

const SUFFIXES: ReadonlyArray<readonly [string, ModuleCompression]> = [
  [".ko", "none"],
  [".ko.xz", "xz"],
  [".ko.zst", "zstd"],
  [".ko.gz", "gzip"],
];

/** Dashes become underscores (kmod's modname_normalize). */
export function normalizeModuleName(name: string): string {
  return name.replace(/-/g, "_");
}

/**
 * kmod's alias_normalize: dashes become underscores except inside [...] character classes,
 * so "fs-ext4" matches the pattern "fs-ext4" and "pci:v*d*" patterns keep their ranges.
 */
export function normalizeAlias(alias: string): string {
  let out = "";
  let inClass = false;
  for (const ch of alias) {
    if (ch === "[") inClass = true;
    else if (ch === "]") inClass = false;
    out += ch === "-" && !inClass ? "_" : ch;
  }
  return out;
}

/** "kernel/drivers/usb/storage/usb-storage.ko.xz" → { name: "usb_storage", compression: "xz" } */
export function parseModulePath(path: string): { name: string; compression: ModuleCompression } | undefined {
  const base = path.slice(path.lastIndexOf("/") + 1);
  for (const [suffix, compression] of SUFFIXES) {
    if (base.endsWith(suffix) && base.length > suffix.length) {
      return { name: normalizeModuleName(base.slice(0, -suffix.length)), compression };
    }
  }
  return undefined;
}

/** The path of a module file once decompressed: "x.ko.xz" → "x.ko". */
export function uncompressedModulePath(path: string): string {
  return path.replace(/\.ko\.(xz|zst|gz)$/, ".ko");
}
