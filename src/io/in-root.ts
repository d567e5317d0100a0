/**
 * Paths inside another system's root (`install --root ROOT`), resolved as a chroot would: an
 * absolute symlink starts again at ROOT and ".." stops at ROOT, so nothing derived from ROOT
 * reaches the host's files (an absolute ROOT/boot symlink would otherwise aim at the host's
 * /boot). Every result is under realpath(ROOT).
 */
import { lstatSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.js";

/** the kernel's limit on symlinks followed in one lookup (ELOOP) */
const MAX_LINKS = 40;

export function realRoot(root: string): string {
  try {
    return realpathSync(root);
  } catch (e) {
    throw new UsageError(`--root: ${root}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (e as Error).message}`);
  }
}

function linkTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined; // the rest is taken as named
    throw e;
  }
}

/**
 * The host path of `path` (absolute, as seen from inside ROOT). Symlinks are followed inside ROOT,
 * the last component's too unless `keepLast` (a file we replace by rename, which replaces the link).
 */
export function inRoot(root: string, path: string, opts: { keepLast?: boolean } = {}): string {
  const top = realRoot(root);
  let done: string[] = [];
  let todo = path.split("/").filter((c) => c !== "" && c !== ".");
  for (let links = 0; todo.length; ) {
    const c = todo.shift()!;
    if (c === "..") {
      done.pop();
      continue;
    }
    const target = todo.length === 0 && opts.keepLast ? undefined : linkTarget(join(top, ...done, c));
    if (target === undefined) {
      done.push(c);
      continue;
    }
    if (++links > MAX_LINKS) throw new UsageError(`${join(top, ...done, c)}: too many levels of symbolic links inside ${top}`);
    if (target.startsWith("/")) done = [];
    todo = [...target.split("/").filter((x) => x !== "" && x !== "."), ...todo];
  }
  return join(top, ...done);
}
