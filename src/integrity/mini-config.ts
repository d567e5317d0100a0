/** Reads the integrity keys (and the dm-verity signature and pinned certificate files) from a mini initramfs. */
import { readFileSync } from "node:fs";
import { FormatError } from "../errors.js";
import { CONFIG_PATH, IntegrityConfig, miniFile, parseIntegrity } from "../formats/storage-init-config/index.js";
import { readMiniInitramfs } from "../initramfs/mini-config.js";

export interface MiniIntegrity {
  config: IntegrityConfig;
  /** the verity_sig file's bytes, when the config names one */
  signature?: Uint8Array;
  /** the verity_cert file's bytes (a DDI's pinned signer), when the config names one */
  certificate?: Uint8Array;
}

export async function readMiniIntegrity(path: string): Promise<MiniIntegrity> {
  const mini = await readMiniInitramfs(readFileSync(path), path);
  if (!mini) throw new FormatError("mini initramfs", undefined, `no ${CONFIG_PATH} naming an image (not an initoverlayfs mini initramfs?)`, path);
  const config = parseIntegrity(mini.config);
  if (config.mode !== "dm-verity") return { config };
  return {
    config,
    ...(config.signature !== undefined ? { signature: miniFile(mini.tree, path, config.signature, "verity_sig") } : {}),
    ...(config.certificate !== undefined ? { certificate: miniFile(mini.tree, path, config.certificate, "verity_cert") } : {}),
  };
}
