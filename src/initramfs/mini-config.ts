/** The one reader of a mini initramfs's config: unpack the archive, find the file storage-init reads. */
import { ConfigKeys, miniConfigFile } from "../formats/storage-init-config/index.js";
import { FsTree } from "../fs/tree.js";
import { readInitramfs } from "./read.js";

export interface MiniInitramfs {
  tree: FsTree;
  config: ConfigKeys;
}

/**
 * The archive's tree and config, or undefined when it is not a mini initramfs of ours (no config
 * naming an image). A malformed archive is a FormatError.
 */
export async function readMiniInitramfs(bytes: Uint8Array, source: string): Promise<MiniInitramfs | undefined> {
  const { tree } = await readInitramfs(bytes, { source });
  const config = miniConfigFile(tree, source);
  return config && { tree, config };
}
