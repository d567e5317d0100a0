/**
 * Is an initramfs file one of our mini initramfs files or a full one? Ours carry storage-init's
 * config, /etc/initoverlayfs.conf, with the image it expects (`image = /...`); a full initramfs
 * made by initramfs-tools or dracut has no such file.
 */
import { existsSync, readFileSync } from "node:fs";
import { IntegrityConfig, parseIntegrity } from "../pipeline/integrity-config.js";
import { lastValues, parseConfigText } from "../pipeline/mini-initramfs.js";
import { FormatError, InitoverlayfsError } from "../errors.js";
import { lookup } from "../fs/tree.js";
import { readInitramfs } from "../initramfs/read.js";

export const MINI_CONFIG_PATH = "etc/initoverlayfs.conf";

export type InitramfsKind =
  | { kind: "missing" }
  | { kind: "full"; bytes: number }
  | { kind: "mini"; bytes: number; image: string; boot: string; integrity: IntegrityConfig | { error: string }; config: Map<string, string> };

/** The mini initramfs's config keys, or undefined when the archive has none (a full initramfs). */
export async function miniConfigOf(bytes: Uint8Array, source: string): Promise<Map<string, string> | undefined> {
  let tree;
  try {
    tree = (await readInitramfs(bytes)).tree;
  } catch (e) {
    // ours always parse; anything we cannot read is not ours (the build then reports why)
    if (e instanceof FormatError) return undefined;
    throw e;
  }
  const node = lookup(tree, MINI_CONFIG_PATH);
  if (!node || node.kind !== "file") return undefined;
  const keys = lastValues(parseConfigText(Buffer.from(node.content.read()).toString("latin1"), `${source}: /${MINI_CONFIG_PATH}`));
  return keys.has("image") ? keys : undefined;
}

export async function classifyInitramfs(path: string): Promise<InitramfsKind> {
  if (!existsSync(path)) return { kind: "missing" };
  const bytes = readFileSync(path);
  const config = await miniConfigOf(bytes, path);
  if (!config) return { kind: "full", bytes: bytes.length };
  let integrity: IntegrityConfig | { error: string };
  try {
    integrity = parseIntegrity(config);
  } catch (e) {
    integrity = { error: (e as Error).message };
  }
  return { kind: "mini", bytes: bytes.length, image: config.get("image")!, boot: config.get("boot") ?? "", integrity, config };
}

/** The original a mini initramfs replaced must be there and be a full one. */
export async function requireFullOriginal(path: string, forWhat: string): Promise<void> {
  const k = await classifyInitramfs(path);
  if (k.kind === "missing") throw new InitoverlayfsError(`${forWhat}: the original initramfs ${path} is missing: cannot ${forWhat.split(" ")[0]} safely (rebuild it, e.g. update-initramfs -c or dracut, then run install)`);
  if (k.kind === "mini") throw new InitoverlayfsError(`${path}: expected the original full initramfs, found a mini initramfs of initoverlayfs`);
}
