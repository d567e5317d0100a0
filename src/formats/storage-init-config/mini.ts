/**
 * The config inside a mini initramfs's tree: the one way to find it (pure: the caller unpacks the
 * archive). A tree without it, or whose config names no image, is not one of ours.
 */
import { FormatError } from "../../errors.js";
import { bytesToByteString, FsTree, lookup } from "../../fs/tree.js";
import { CONFIG_PATH } from "./schema.js";
import { ConfigKeys } from "./text.js";

/** The config of a mini initramfs (its errors name "ARCHIVE:/etc/initoverlayfs.conf"), or undefined when the tree is not one (no config or no `image`). */
export function miniConfigFile(tree: FsTree, archive: string): ConfigKeys | undefined {
  const node = lookup(tree, CONFIG_PATH);
  if (!node || node.kind !== "file") return undefined;
  const keys = ConfigKeys.parse(bytesToByteString(node.content.read()), `${archive}:${CONFIG_PATH}`);
  return keys.has("image") ? keys : undefined;
}

/** A file the config names (verity_sig), read from the same tree. */
export function miniFile(tree: FsTree, archive: string, path: string, key: string): Uint8Array {
  const node = lookup(tree, path);
  if (!node || node.kind !== "file") throw new FormatError("mini initramfs", undefined, `${key} names ${path}, which is not a file in it`, archive);
  return node.content.read();
}
