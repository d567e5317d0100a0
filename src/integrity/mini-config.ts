/** Reads the integrity keys (and the dm-verity signature file) from a mini initramfs. */
import { readFileSync } from "node:fs";
import { IntegrityConfig, parseIntegrity } from "../pipeline/integrity-config.js";
import { lastValues, parseConfigText } from "../pipeline/mini-initramfs.js";
import { FormatError, UsageError } from "../errors.js";
import { bytesToByteString, lookup } from "../fs/tree.js";
import { readInitramfs } from "../initramfs/read.js";

export const MINI_CONFIG_PATH = "/etc/initoverlayfs.conf";

export interface MiniIntegrity {
  config: IntegrityConfig;
  /** the verity_sig file's bytes, when the config names one */
  signature?: Uint8Array;
}

export async function readMiniIntegrity(path: string): Promise<MiniIntegrity> {
  const { tree } = await readInitramfs(readFileSync(path), { source: path });
  const conf = lookup(tree, MINI_CONFIG_PATH);
  if (!conf || conf.kind !== "file") throw new FormatError("mini initramfs", undefined, `no ${MINI_CONFIG_PATH} (not an initoverlayfs mini initramfs?)`, path);
  const source = `${path}:${MINI_CONFIG_PATH}`;
  let config: IntegrityConfig;
  try {
    config = parseIntegrity(lastValues(parseConfigText(bytesToByteString(conf.content.read()), source)));
  } catch (e) {
    // a bad value inside the file is bad input, not a bad command line
    if (e instanceof UsageError) throw new FormatError("config", undefined, e.message, source);
    throw e;
  }
  if (config.mode !== "dm-verity" || config.signature === undefined) return { config };
  const sig = lookup(tree, config.signature);
  if (!sig || sig.kind !== "file") throw new FormatError("mini initramfs", undefined, `verity_sig names ${config.signature}, which is not a file in it`, path);
  return { config, signature: sig.content.read() };
}
