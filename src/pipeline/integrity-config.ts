/**
 * The integrity part of storage-init's config (/etc/initoverlayfs.conf in the mini initramfs):
 * which image the mini initramfs accepts. One definition of the keys, used by the build (render),
 * `verify --mini` and `status` (parse). storage-init/src/config.c reads the same keys.
 *
 *   integrity        = none | dm-verity | fs-verity | copy
 *   digest           = sha256:HEX | sha512:HEX      fs-verity file digest (4096-byte blocks, no
 *                                                   salt) of the image file (fs-verity, copy)
 *   verity_roothash  = HEX                          dm-verity root hash (dm-verity)
 *   verity_salt      = HEX | -
 *   verity_hashalg   = sha256 | sha512 | sha1
 *   verity_format    = 1 | 0                        hash type (1 normal, 0 Chrome OS)
 *   verity_data_blocks = N                          4096-byte data blocks covered (the EROFS image)
 *   verity_hash_offset = BYTES                      where the verity superblock starts in the same
 *                                                   file; the hash tree follows one block later
 *   verity_sig       = /PATH                        optional PKCS#7 signature of the root hash hex
 *                                                   string, inside the mini initramfs
 * Data and hash blocks are 4096 bytes.
 */
import { UsageError } from "../errors.js";

export const INTEGRITY_MODES = ["none", "dm-verity", "fs-verity", "copy"] as const;
export type IntegrityMode = (typeof INTEGRITY_MODES)[number];
export const VERITY_HASH_ALGORITHMS = ["sha256", "sha512", "sha1"] as const;
export type VerityHashAlgorithm = (typeof VERITY_HASH_ALGORITHMS)[number];
export const FSVERITY_ALGORITHMS = ["sha256", "sha512"] as const;
export type FsverityAlgorithm = (typeof FSVERITY_ALGORITHMS)[number];
export const VERITY_BLOCK_SIZE = 4096;

export interface DmVerityConfig {
  mode: "dm-verity";
  rootHash: string;
  /** lower-case hex, or "" for no salt (written as "-") */
  salt: string;
  hashAlgorithm: VerityHashAlgorithm;
  hashType: 0 | 1;
  dataBlocks: number;
  hashOffset: number;
  /** absolute path inside the mini initramfs */
  signature?: string;
}
export interface DigestConfig {
  mode: "fs-verity" | "copy";
  algorithm: FsverityAlgorithm;
  /** lower-case hex */
  digest: string;
}
export type IntegrityConfig = { mode: "none" } | DmVerityConfig | DigestConfig;

const HEX_LEN: Record<VerityHashAlgorithm, number> = { sha256: 64, sha512: 128, sha1: 40 };

function fail(key: string, why: string): never {
  throw new UsageError(`integrity config: ${key}: ${why}`);
}
function hex(key: string, v: string, len?: number): string {
  if (!/^[0-9a-fA-F]*$/.test(v) || v.length % 2 !== 0) fail(key, `expected hex digits, got ${JSON.stringify(v)}`);
  if (len !== undefined && v.length !== len) fail(key, `expected ${len} hex digits, got ${v.length}`);
  return v.toLowerCase();
}
function count(key: string, v: string): number {
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) fail(key, `expected a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** Checks an IntegrityConfig's values (the same rules parseIntegrity applies). */
export function checkIntegrity(c: IntegrityConfig): IntegrityConfig {
  return parseIntegrity(integrityLines(c, false));
}

function integrityLines(c: IntegrityConfig, check = true): Map<string, string> {
  const m = new Map<string, string>([["integrity", c.mode]]);
  if (c.mode === "fs-verity" || c.mode === "copy") {
    m.set("digest", `${c.algorithm}:${c.digest}`);
  } else if (c.mode === "dm-verity") {
    m.set("verity_roothash", c.rootHash);
    m.set("verity_salt", c.salt === "" ? "-" : c.salt);
    m.set("verity_hashalg", c.hashAlgorithm);
    m.set("verity_format", String(c.hashType));
    m.set("verity_data_blocks", String(c.dataBlocks));
    m.set("verity_hash_offset", String(c.hashOffset));
    if (c.signature !== undefined) m.set("verity_sig", c.signature);
  }
  if (check) parseIntegrity(m);
  return m;
}

/** Config lines ("key = value") for an integrity setting, checked. */
export function renderIntegrity(c: IntegrityConfig): string[] {
  return [...integrityLines(c)].map(([k, v]) => `${k} = ${v}`);
}

/** Reads the integrity keys from parsed config keys (absent `integrity` = none). */
export function parseIntegrity(keys: ReadonlyMap<string, string>): IntegrityConfig {
  const get = (k: string): string => {
    const v = keys.get(k);
    if (v === undefined) fail(k, "missing");
    return v;
  };
  const mode = keys.get("integrity") ?? "none";
  if (!(INTEGRITY_MODES as readonly string[]).includes(mode)) fail("integrity", `expected ${INTEGRITY_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
  if (mode === "none") return { mode: "none" };
  if (mode === "fs-verity" || mode === "copy") {
    const m = /^(sha256|sha512):(.*)$/.exec(get("digest"));
    if (!m) fail("digest", "expected sha256:HEX or sha512:HEX");
    const algorithm = m[1] as FsverityAlgorithm;
    return { mode, algorithm, digest: hex("digest", m[2], algorithm === "sha256" ? 64 : 128) };
  }
  const hashAlgorithm = get("verity_hashalg") as VerityHashAlgorithm;
  if (!VERITY_HASH_ALGORITHMS.includes(hashAlgorithm)) fail("verity_hashalg", `expected ${VERITY_HASH_ALGORITHMS.join(", ")}`);
  const fmt = get("verity_format");
  if (fmt !== "0" && fmt !== "1") fail("verity_format", "expected 0 or 1");
  const saltText = get("verity_salt");
  const salt = saltText === "-" ? "" : hex("verity_salt", saltText);
  if (salt.length > 512) fail("verity_salt", "longer than 256 bytes");
  const dataBlocks = count("verity_data_blocks", get("verity_data_blocks"));
  if (dataBlocks === 0) fail("verity_data_blocks", "must be at least 1");
  const hashOffset = count("verity_hash_offset", get("verity_hash_offset"));
  if (hashOffset % VERITY_BLOCK_SIZE !== 0) fail("verity_hash_offset", `must be a multiple of ${VERITY_BLOCK_SIZE}`);
  if (hashOffset < dataBlocks * VERITY_BLOCK_SIZE) fail("verity_hash_offset", "overlaps the data blocks");
  const signature = keys.get("verity_sig");
  if (signature !== undefined && !signature.startsWith("/")) fail("verity_sig", "must be an absolute path");
  return {
    mode: "dm-verity",
    rootHash: hex("verity_roothash", get("verity_roothash"), HEX_LEN[hashAlgorithm]),
    salt,
    hashAlgorithm,
    hashType: fmt === "1" ? 1 : 0,
    dataBlocks,
    hashOffset,
    ...(signature !== undefined ? { signature } : {}),
  };
}
