/**
 * Is an initramfs file one of our mini initramfs files or a full one? Ours carry storage-init's
 * config naming the image it expects (`image = /...`); a full initramfs made by initramfs-tools
 * or dracut has no such file.
 */
import { existsSync, readFileSync } from "node:fs";
import { ConfigKeys, IntegrityConfig, parseIntegrity } from "../formats/storage-init-config/index.js";
import { FormatError, InitoverlayfsError } from "../errors.js";
import { EarlyArchives, findEarlyArchives } from "../initramfs/early.js";
import { MiniInitramfs, readMiniInitramfs } from "../initramfs/mini-config.js";
import { FsTree } from "../fs/tree.js";

export type InitramfsKind =
  | { kind: "missing" }
  | { kind: "full"; bytes: number }
  | {
    kind: "mini"; bytes: number; image: string; boot: string; integrity: IntegrityConfig | { error: string }; config: ConfigKeys;
    /** its files (the pinned certificates) */
    tree: FsTree;
    /** the early archives it carries first (microcode, ACPI tables) */
    early: EarlyArchives; earlyData: Uint8Array;
  };

/** The mini initramfs's config keys, or undefined when the archive is not one of ours. */
export async function miniConfigOf(bytes: Uint8Array, source: string): Promise<ConfigKeys | undefined> {
  return (await miniOf(bytes, source))?.config;
}

async function miniOf(bytes: Uint8Array, source: string): Promise<MiniInitramfs | undefined> {
  try {
    return await readMiniInitramfs(bytes, source);
  } catch (e) {
    // ours always parse; anything we cannot read is not ours (the build then reports why)
    if (e instanceof FormatError) return undefined;
    throw e;
  }
}

export async function classifyInitramfs(path: string): Promise<InitramfsKind> {
  if (!existsSync(path)) return { kind: "missing" };
  const bytes = readFileSync(path);
  const mini = await miniOf(bytes, path);
  if (!mini) return { kind: "full", bytes: bytes.length };
  const { config, tree } = mini;
  let integrity: IntegrityConfig | { error: string };
  try {
    integrity = parseIntegrity(config);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    integrity = { error: e.message };
  }
  const early = findEarlyArchives(bytes, path); // it parsed as a whole above
  return { kind: "mini", bytes: bytes.length, image: config.get("image")!, boot: config.get("boot") ?? "", integrity, config, tree, early, earlyData: bytes.subarray(0, early.bytes) };
}

/** The original a mini initramfs replaced must be there and be a full one. */
export async function requireFullOriginal(path: string, forWhat: string): Promise<void> {
  const k = await classifyInitramfs(path);
  if (k.kind === "missing") throw new InitoverlayfsError(`${forWhat}: the original initramfs ${path} is missing: cannot ${forWhat.split(" ")[0]} safely (rebuild it, e.g. update-initramfs -c or dracut, then run install)`);
  if (k.kind === "mini") throw new InitoverlayfsError(`${path}: expected the original full initramfs, found a mini initramfs of initoverlayfs`);
}
