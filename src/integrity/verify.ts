/**
 * Checks an image against an IntegrityConfig, the way the mini initramfs will accept it:
 *   fs-verity / copy: the fs-verity digest of the whole file;
 *   dm-verity: the superblock at hashOffset matches the config (all but its UUID), every hash
 *     block stored in the file equals the one recomputed from the data, and the root hash matches;
 *   with a signature and a certificate: the PKCS#7 signature over the formatted digest
 *     (fs-verity) or the root hash hex string (dm-verity).
 * A mismatch is a result with a one-line reason, not an exception.
 */
import { DmVerityConfig, IntegrityConfig, VERITY_BLOCK_SIZE } from "../formats/storage-init-config/index.js";
import { toHex } from "../formats/verity/algorithms.js";
import { DmVerityParams, dmVerityGeometry, encodeVeritySuperblock } from "../formats/verity/dm-verity.js";
import { formatDigest, formattedDigest } from "../formats/verity/fsverity.js";
import { ByteSource, readRange, withFileSource } from "./byte-source.js";
import { computeDmVerityTree } from "./dm-verity-file.js";
import { fsverityDigestOfSource } from "./fsverity-file.js";
import { LeafHashingOptions } from "./leaf-hashing.js";
import type { SignatureCheck } from "./signature.js";

export interface VerifyOptions extends LeafHashingOptions {
  /** detached DER PKCS#7 signature, checked when `certificate` is given */
  signature?: Uint8Array;
  /** PEM or DER certificate of the signer */
  certificate?: string | Uint8Array;
  /** for messages about the signature */
  signatureName?: string;
}

export interface VerifyResult {
  ok: boolean;
  mode: IntegrityConfig["mode"];
  /** one line, when !ok */
  reason?: string;
  /** what was computed: "sha256:HEX" (fs-verity, copy) or the root hash hex (dm-verity) */
  computed?: string;
  signature?: "verified" | "not checked" | "failed";
}

export async function verifyImage(image: string | ByteSource, config: IntegrityConfig, opts: VerifyOptions = {}): Promise<VerifyResult> {
  if (typeof image === "string") return withFileSource(image, (src) => verifySource(src, config, opts));
  return verifySource(image, config, opts);
}

async function verifySource(src: ByteSource, config: IntegrityConfig, opts: VerifyOptions): Promise<VerifyResult> {
  const mode = config.mode;
  if (mode === "none") return { ok: true, mode };
  let result: VerifyResult;
  let signed: Uint8Array;
  if (mode === "dm-verity" && config.imageFormat === "ddi") {
    result = await verifyDdiImage(src, config, opts);
    signed = new TextEncoder().encode(config.rootHash);
  } else if (mode === "dm-verity") {
    result = await verifyDmVerity(src, config, opts);
    signed = new TextEncoder().encode(config.rootHash);
  } else {
    const d = await fsverityDigestOfSource(src, { algorithm: config.algorithm, workers: opts.workers });
    const computed = formatDigest(d);
    result = computed === `${config.algorithm}:${config.digest}`
      ? { ok: true, mode, computed }
      : { ok: false, mode, computed, reason: `${src.name}: fs-verity digest ${computed} does not match the expected ${config.algorithm}:${config.digest}` };
    signed = formattedDigest({ algorithm: config.algorithm, digest: new Uint8Array(Buffer.from(config.digest, "hex")) });
  }
  if (opts.signature === undefined) return result;
  if (opts.certificate === undefined) return { ...result, signature: "not checked" };
  // node-forge loads only when a signature is checked
  const { verifyDetached } = await import("./signature.js");
  const check: SignatureCheck = verifyDetached(opts.signature, signed, opts.certificate, opts.signatureName);
  if (check.ok) return { ...result, signature: "verified" };
  return { ...result, ok: false, signature: "failed", reason: result.ok ? `${opts.signatureName ?? "signature"}: ${check.reason}` : result.reason };
}

function paramsOf(c: DmVerityConfig, uuid: Uint8Array): DmVerityParams {
  return {
    dataBlocks: c.dataBlocks, hashOffset: c.hashOffset, algorithm: c.hashAlgorithm, hashType: c.hashType,
    dataBlockSize: VERITY_BLOCK_SIZE, hashBlockSize: VERITY_BLOCK_SIZE,
    salt: new Uint8Array(Buffer.from(c.salt, "hex")), uuid, superblock: true,
  };
}

async function verifyDmVerity(src: ByteSource, c: DmVerityConfig, opts: LeafHashingOptions): Promise<VerifyResult> {
  const mode = "dm-verity";
  const fail = (reason: string, computed?: string): VerifyResult => ({ ok: false, mode, reason: `${src.name}: ${reason}`, computed });
  const g = dmVerityGeometry(paramsOf(c, new Uint8Array(16)));
  if (src.size < g.hashEnd) return fail(`${src.size} bytes, but the hash tree ends at byte ${g.hashEnd}`);
  // the superblock and its padding up to the first hash block, compared with the config (UUID aside)
  const head = readRange(src, c.hashOffset, g.hashStartBlock * VERITY_BLOCK_SIZE - c.hashOffset);
  const params = paramsOf(c, head.slice(16, 32));
  const want = new Uint8Array(head.length);
  want.set(encodeVeritySuperblock(params));
  const at = firstDifference(head, want);
  if (at >= 0) return fail(`dm-verity superblock at offset ${c.hashOffset} differs from the config at byte ${at} (offset ${c.hashOffset + at})`);
  let problem: string | undefined;
  const slot = g.slot;
  const root = await computeDmVerityTree(src, params, (offset, block, level) => {
    if (problem) return;
    const stored = readRange(src, offset, block.length);
    const d = firstDifference(stored, block);
    if (d < 0) return;
    if (level === 0 && Math.floor(d / slot) < g.hashesPerBlock) {
      const dataBlock = ((offset / VERITY_BLOCK_SIZE - g.levelStart[0]) * g.hashesPerBlock) + Math.floor(d / slot);
      problem = dataBlock < c.dataBlocks
        ? `data block ${dataBlock} (offset ${dataBlock * VERITY_BLOCK_SIZE}) does not match its hash at offset ${offset + Math.floor(d / slot) * slot}`
        : `hash block at offset ${offset} differs at byte ${d} (unused space must be zero)`;
    } else if (level === 0) {
      problem = `hash block at offset ${offset} differs at byte ${d} (unused space must be zero)`;
    } else {
      problem = `hash tree level ${level}: the hash block at offset ${offset} differs at byte ${d} from the hashes of the level below`;
    }
  }, opts);
  const computed = toHex(root);
  if (problem) return fail(problem, computed);
  if (computed !== c.rootHash) return fail(`root hash ${computed} does not match the expected ${c.rootHash}`, computed);
  return { ok: true, mode, computed };
}

/** A DDI: its structure, its hash partition and root hash, and the layout the config pins (what storage-init checks). */
async function verifyDdiImage(src: ByteSource, c: DmVerityConfig, opts: LeafHashingOptions): Promise<VerifyResult> {
  const mode = "dm-verity";
  const { verifyDdiSource } = await import("./ddi-file.js");
  const r = await verifyDdiSource(src, { ...opts, rootHash: c.rootHash });
  const fail = (reason: string): VerifyResult => ({ ok: false, mode, reason: `${src.name}: ${reason}`, computed: r.rootHash });
  if (!r.ok) return { ok: false, mode, reason: r.reason, computed: r.rootHash };
  const { parts, params } = r.info;
  if (parts.verity.offset !== c.hashOffset) return fail(`root-verity partition at offset ${parts.verity.offset}, the config pins ${c.hashOffset}`);
  const want = paramsOf(c, params.uuid);
  if (Buffer.compare(encodeVeritySuperblock({ ...want, hashOffset: 0 }), encodeVeritySuperblock(params)) !== 0) return fail(`the verity superblock at offset ${parts.verity.offset} differs from the config`);
  return { ok: true, mode, computed: r.rootHash };
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
