/**
 * What an image's or an extension's EROFS says about extensions (pure: the filesystem's bytes in):
 * the extension-release file, the image's os-release ID, the extension's top directories. The same
 * reads storage-init makes on the mounted filesystems (storage-init/src/sysext.c).
 */
import { ErofsImage } from "../erofs/reader.js";
import { ErofsInode } from "../erofs/inode.js";
import { bytesToByteString, ByteString, displayName, splitPath, toByteString } from "../../fs/tree.js";
import { DEFAULT_SYSEXT_SCOPE, EXTENSION_RELEASE_DIR, ExtensionRelease, parseExtensionRelease, releaseValue } from "./extension-release.js";

export interface ExtensionInfo extends ExtensionRelease {
  /** NAME of extension-release.NAME */
  name: string;
  /** SYSEXT_SCOPE, or the spec's default when absent */
  effectiveScope: string[];
}

/** The image's one extension-release file, read and parsed; undefined when it has none. */
export function extensionInfoOf(erofs: Uint8Array, source = "extension"): ExtensionInfo | undefined {
  const img = ErofsImage.open(erofs);
  const dir = img.lookup(EXTENSION_RELEASE_DIR);
  if (!dir) return undefined;
  const prefix = "extension-release.";
  const entries = img.readDir(dir).filter((e) => e.name.startsWith(prefix));
  if (entries.length !== 1) return undefined;
  const e = entries[0];
  const text = Buffer.from(img.readData(img.readInode(e.nid), `${EXTENSION_RELEASE_DIR}/${e.name}`)).toString("utf8");
  const r = parseExtensionRelease(text, `${source}: ${EXTENSION_RELEASE_DIR}/${displayName(e.name)}`);
  return { ...r, name: displayName(bytesToByteString(Buffer.from(e.name, "latin1")).slice(prefix.length)), effectiveScope: [...(r.scope ?? DEFAULT_SYSEXT_SCOPE)] };
}

/** EXTENSION_RELEASE_DIR as seen from a usr partition's filesystem (which is /usr) */
export const USR_RELEASE_DIR = EXTENSION_RELEASE_DIR.replace(/^usr\//, "");

/** where storage-init reads the image's os-release ID, first found wins (as systemd-sysext in an initrd) */
export const OS_RELEASE_FILES = ["etc/initrd-release", "etc/os-release", "usr/lib/os-release"] as const;
/** symlinks followed on one path at most (the kernel's limit) */
const MAX_LINKS = 40;

/**
 * A regular file's inode by path, symlinks followed as the kernel follows them with the image
 * as the root (an absolute target starts at the image's root; ".." stops there); undefined when
 * absent, not a file, or a loop.
 */
export function lookupFollowing(img: ErofsImage, path: ByteString): ErofsInode | undefined {
  let links = 0;
  let todo = splitPath(path);
  const stack: ErofsInode[] = [img.readInode(img.rootNid, "")];
  while (todo.length) {
    const part = todo.shift()!;
    const dir = stack[stack.length - 1];
    if (part === "..") {
      if (stack.length > 1) stack.pop();
      continue;
    }
    if (dir.kind !== "dir") return undefined;
    const e = img.readDir(dir).find((d) => d.name === part);
    if (!e) return undefined;
    const ino = img.readInode(e.nid);
    if (ino.kind === "symlink") {
      if (++links > MAX_LINKS) return undefined;
      const target = img.readLink(ino);
      if (target.startsWith("/")) stack.length = 1;
      todo = [...splitPath(target), ...todo];
      continue;
    }
    stack.push(ino);
  }
  const last = stack[stack.length - 1];
  return last.kind === "file" ? last : undefined;
}

/**
 * The image's os-release ID (storage-init compares an extension's ID= with it): from the first of
 * OS_RELEASE_FILES that is there; "" when none is (Debian's initramfs-tools images) or it has no ID.
 */
export function osReleaseIdOf(img: ErofsImage): string {
  for (const f of OS_RELEASE_FILES) {
    const ino = lookupFollowing(img, f);
    if (!ino) continue;
    return releaseValue(Buffer.from(img.readData(ino, f)).toString("utf8"), "ID") ?? "";
  }
  return "";
}

/** An extension's top holds only the directories usr and opt (a symlink there would replace the image's /usr): what is wrong, or undefined. */
export function extensionTopProblem(img: ErofsImage): string | undefined {
  for (const e of img.readDir(img.readInode(img.rootNid, ""))) {
    if (e.name === "." || e.name === "..") continue;
    if (e.name !== "usr" && e.name !== "opt") return `holds /${displayName(e.name)}: only /usr and /opt are stacked`;
    if (img.readInode(e.nid).kind !== "dir") return `/${e.name} is not a directory`;
  }
  return undefined;
}

/**
 * The text of usr/lib/extension-release.d/extension-release.NAME (NAME of NAME.raw), or
 * undefined; in a usr partition's filesystem (which is /usr) lib/extension-release.d/.
 */
export function extensionReleaseText(img: ErofsImage, name: string, usr = false): string | undefined {
  const path = `${usr ? USR_RELEASE_DIR : EXTENSION_RELEASE_DIR}/extension-release.${toByteString(name)}`;
  const ino = lookupFollowing(img, path);
  return ino && Buffer.from(img.readData(ino, path)).toString("utf8");
}
