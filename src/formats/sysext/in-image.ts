/** The extension-release file inside an extension's EROFS (pure: the filesystem's bytes in). */
import { ErofsImage } from "../erofs/reader.js";
import { bytesToByteString, displayName } from "../../fs/tree.js";
import { DEFAULT_SYSEXT_SCOPE, EXTENSION_RELEASE_DIR, ExtensionRelease, parseExtensionRelease } from "./extension-release.js";

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
