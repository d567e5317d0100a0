/**
 * The manifest storage-init reads at MANIFEST_PATH (pure: tree in, text out): one line
 * "MODE UID GID PATH" per entry of the mini initramfs, MODE octal with the type bits, PATH absolute,
 * in byte order (storage-init looks paths up by binary search and checks the order).
 */
import { UsageError } from "../../errors.js";
import { displayName, FsTree, modeOf, walk } from "../../fs/tree.js";
import { LIMITS, MANIFEST_PATH } from "./schema.js";

/**
 * The manifest of `tree`, which must already hold a file at MANIFEST_PATH (its own line is in it).
 * Paths with a newline, longer than PATH_MAX, or a manifest past storage-init's limits are refused.
 */
export function renderManifest(tree: FsTree): string {
  const lines: string[] = [];
  for (const e of walk(tree)) {
    if (e.path === "") continue;
    const path = "/" + e.path;
    if (path.includes("\n")) throw new UsageError(`mini initramfs: ${JSON.stringify(displayName(path))}: a newline in a path cannot be listed in ${MANIFEST_PATH}`);
    if (path.length > LIMITS.manifestPath) throw new UsageError(`mini initramfs: ${displayName(path).slice(0, 64)}...: longer than ${LIMITS.manifestPath} bytes`);
    lines.push(`${modeOf(e.node).toString(8)} ${e.node.uid} ${e.node.gid} ${path}\n`);
  }
  // walk() visits "a" before "a/b" but "a/b" before "a-b"; storage-init wants plain byte order
  lines.sort((a, b) => {
    const pa = a.slice(a.indexOf(" /") + 1), pb = b.slice(b.indexOf(" /") + 1);
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  });
  if (lines.length > LIMITS.manifestEntries) throw new UsageError(`mini initramfs: ${lines.length} entries, but storage-init's ${MANIFEST_PATH} lists at most ${LIMITS.manifestEntries}`);
  const text = lines.join("");
  if (text.length > LIMITS.manifestFile) throw new UsageError(`mini initramfs: ${MANIFEST_PATH} would be ${text.length} bytes, storage-init reads at most ${LIMITS.manifestFile}`);
  return text;
}
