/**
 * The integrity keys: which image the mini initramfs accepts. storage-init takes them from the
 * config file only, never from the kernel command line (config.c: SECURE_* keys).
 *
 *   integrity          = none | dm-verity | fs-verity | copy
 *   digest             = sha256:HEX | sha512:HEX   fs-verity digest (4096-byte blocks, no salt) of
 *                                                  the image file (fs-verity, copy)
 *   verity_roothash    = HEX                       dm-verity root hash (dm-verity)
 *   verity_salt        = HEX | -
 *   verity_hashalg     = sha256 | sha512 | sha1
 *   verity_format      = 1 | 0                     hash type (1 normal, 0 Chrome OS)
 *   verity_data_blocks = N                         4096-byte data blocks covered (the EROFS image)
 *   verity_hash_offset = BYTES                     the verity superblock's offset in the same
 *                                                  file; the hash tree follows one block later
 *   image_format       = plain | ddi               ddi: the image is a Discoverable Disk Image;
 *                                                  the data are its root partition, the superblock
 *                                                  (at verity_hash_offset) starts its root-verity
 *                                                  partition (dm-verity only; default plain)
 *   verity_sig         = /PATH                     optional PKCS#7 signature of the root hash hex
 *                                                  string, inside the mini initramfs
 *   verity_cert        = /PATH                     ddi only: the signer's X.509 certificate (DER
 *                                                  or PEM) inside the mini initramfs; the DDI's
 *                                                  root-verity-sig partition must be there and its
 *                                                  signature verify against it (storage-init's
 *                                                  pkcs7.c, BearSSL) before the root hash is used
 */
import { UsageError } from "../../errors.js";
import { toHex } from "../verity/algorithms.js";
import { DmVerityParams } from "../verity/dm-verity.js";
import { ConfigEntry, ConfigKeys } from "./text.js";
import {
  FSVERITY_ALGORITHMS, FsverityAlgorithm, IMAGE_FORMATS, INTEGRITY_MODES, LIMITS, memberOf, VERITY_BLOCK_SIZE, VERITY_HASH_ALGORITHMS, VerityHashAlgorithm,
} from "./schema.js";
import { absolutePathProblem, parseCount } from "./values.js";

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
  /** "ddi": the data are the DDI's root partition, hashOffset its root-verity partition (absent: plain) */
  imageFormat?: "ddi";
  /** ddi only: absolute path inside the mini initramfs of the pinned signer certificate */
  certificate?: string;
}
export interface DigestConfig {
  mode: "fs-verity" | "copy";
  algorithm: FsverityAlgorithm;
  /** lower-case hex */
  digest: string;
}
export type IntegrityConfig = { mode: "none" } | DmVerityConfig | DigestConfig;

/** The keys for a dm-verity hash area made with `params` (its data and hash blocks are VERITY_BLOCK_SIZE). */
export function dmVerityConfigOf(params: DmVerityParams, rootHash: Uint8Array): DmVerityConfig {
  const algorithm = memberOf(VERITY_HASH_ALGORITHMS, params.algorithm);
  if (!algorithm || params.dataBlockSize !== VERITY_BLOCK_SIZE || params.hashBlockSize !== VERITY_BLOCK_SIZE) {
    throw new UsageError(`dm-verity parameters storage-init cannot use: ${params.algorithm}, blocks ${params.dataBlockSize}/${params.hashBlockSize}`);
  }
  return {
    mode: "dm-verity", rootHash: toHex(rootHash), salt: toHex(params.salt), hashAlgorithm: algorithm, hashType: params.hashType,
    dataBlocks: params.dataBlocks, hashOffset: params.hashOffset,
  };
}

/** The keys storage-init reads only from the file. */
export const INTEGRITY_KEYS = [
  "integrity", "digest", "verity_roothash", "verity_salt", "verity_hashalg", "verity_format", "verity_data_blocks", "verity_hash_offset", "verity_sig",
  "image_format", "verity_cert",
] as const;

const HEX_DIGITS: Record<VerityHashAlgorithm, number> = { sha256: 64, sha512: 128, sha1: 40 };
const DIGEST_DIGITS: Record<FsverityAlgorithm, number> = { sha256: 64, sha512: 128 };

/** The config entries of an integrity setting, in file order (offsets are not meaningful). */
export function integrityEntries(c: IntegrityConfig): ConfigEntry[] {
  const e: [string, string][] = [["integrity", c.mode]];
  if (c.mode === "fs-verity" || c.mode === "copy") {
    e.push(["digest", `${c.algorithm}:${c.digest}`]);
  } else if (c.mode === "dm-verity") {
    e.push(
      ["verity_roothash", c.rootHash],
      ["verity_salt", c.salt === "" ? "-" : c.salt],
      ["verity_hashalg", c.hashAlgorithm],
      ["verity_format", String(c.hashType)],
      ["verity_data_blocks", String(c.dataBlocks)],
      ["verity_hash_offset", String(c.hashOffset)],
    );
    if (c.signature !== undefined) e.push(["verity_sig", c.signature]);
    if (c.imageFormat !== undefined) e.push(["image_format", c.imageFormat]);
    if (c.certificate !== undefined) e.push(["verity_cert", c.certificate]);
  }
  return e.map(([key, value]) => ({ key, value, offset: 0 }));
}

/**
 * The integrity setting of parsed config keys; a FormatError at the offending entry otherwise.
 */
export function parseIntegrity(keys: ConfigKeys): IntegrityConfig {
  const fail = (k: string, why: string): never => {
    throw keys.error(k, why);
  };
  const get = (k: string): string => keys.get(k) ?? fail(k, "missing");
  const hex = (k: string, v: string, digits?: number): string => {
    if (!/^[0-9a-fA-F]*$/.test(v) || v.length % 2 !== 0) fail(k, `expected hex digits, got ${JSON.stringify(v)}`);
    if (digits !== undefined && v.length !== digits) fail(k, `expected ${digits} hex digits, got ${v.length}`);
    return v.toLowerCase();
  };
  const count = (k: string): number => parseCount(get(k)) ?? fail(k, `expected a whole number, got ${JSON.stringify(get(k))}`);

  const modeText = keys.get("integrity") ?? "none";
  const mode = memberOf(INTEGRITY_MODES, modeText) ?? fail("integrity", `expected ${INTEGRITY_MODES.join(", ")}, got ${JSON.stringify(modeText)}`);
  if (mode === "none") {
    // as storage-init: a misspelled or missing `integrity =` must not boot an image unverified
    const stray = INTEGRITY_KEYS.find((k) => k !== "integrity" && keys.has(k));
    if (stray) fail(stray, "set without an integrity mode (integrity is none or missing)");
    return { mode };
  }
  const format = keys.get("image_format") ?? "plain";
  if (!memberOf(IMAGE_FORMATS, format)) fail("image_format", `expected ${IMAGE_FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
  if (format === "ddi" && mode !== "dm-verity") fail("image_format", "ddi needs integrity = dm-verity");
  if (keys.has("verity_cert") && mode !== "dm-verity") fail("verity_cert", "a certificate needs integrity = dm-verity");
  if (mode === "fs-verity" || mode === "copy") {
    const m = /^([a-z0-9]+):(.*)$/.exec(get("digest"));
    const algorithm = (m && memberOf(FSVERITY_ALGORITHMS, m[1])) ?? fail("digest", "expected sha256:HEX or sha512:HEX");
    return { mode, algorithm, digest: hex("digest", m![2], DIGEST_DIGITS[algorithm]) };
  }
  const hashAlgorithm = memberOf(VERITY_HASH_ALGORITHMS, get("verity_hashalg")) ?? fail("verity_hashalg", `expected ${VERITY_HASH_ALGORITHMS.join(", ")}`);
  const hashType = get("verity_format");
  if (hashType !== "0" && hashType !== "1") fail("verity_format", "expected 0 or 1");
  const saltText = get("verity_salt");
  const salt = saltText === "-" ? "" : hex("verity_salt", saltText);
  if (salt.length > 2 * LIMITS.salt) fail("verity_salt", `longer than ${LIMITS.salt} bytes`);
  const dataBlocks = count("verity_data_blocks");
  if (dataBlocks === 0) fail("verity_data_blocks", "must be at least 1");
  const hashOffset = count("verity_hash_offset");
  if (hashOffset % VERITY_BLOCK_SIZE !== 0) fail("verity_hash_offset", `must be a multiple of ${VERITY_BLOCK_SIZE}`);
  if (hashOffset < dataBlocks * VERITY_BLOCK_SIZE) fail("verity_hash_offset", "overlaps the data blocks");
  const signature = keys.get("verity_sig");
  if (signature !== undefined) {
    const p = absolutePathProblem(signature);
    if (p) fail("verity_sig", p);
  }
  const certificate = keys.get("verity_cert");
  if (certificate !== undefined) {
    const p = absolutePathProblem(certificate);
    if (p) fail("verity_cert", p);
    // the certificate checks a DDI's signature partition; a plain image has none
    if (format !== "ddi") fail("verity_cert", "needs image_format = ddi");
  }
  return {
    mode: "dm-verity",
    rootHash: hex("verity_roothash", get("verity_roothash"), HEX_DIGITS[hashAlgorithm]),
    salt,
    hashAlgorithm,
    hashType: hashType === "1" ? 1 : 0,
    dataBlocks,
    hashOffset,
    ...(signature !== undefined ? { signature } : {}),
    ...(format === "ddi" ? { imageFormat: "ddi" as const } : {}),
    ...(certificate !== undefined ? { certificate } : {}),
  };
}
