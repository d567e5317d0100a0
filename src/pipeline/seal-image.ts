/**
 * Sealing the image for the integrity mode the mini initramfs will enforce: dm-verity appends
 * its hash area to the image file (veritysetup's --hash-offset layout) or, with image format ddi,
 * makes it a Discoverable Disk Image (root, root-verity, root-verity-sig partitions) and yields
 * the root hash;
 * fs-verity and copy record the image file's fs-verity digest. Runs on the staged image before it
 * gets its final name, so a sealed image appears complete or not at all.
 */
import { createHash } from "node:crypto";
import { chmodSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { UsageError } from "../errors.js";
import { bytesContent, FileContent } from "../fs/tree.js";
import { writeDdi } from "../integrity/ddi-file.js";
import type { DdiArch } from "../formats/ddi/index.js";
import { appendVerityHashTree } from "../integrity/dm-verity-file.js";
import { fsverityDigestOfFile } from "../integrity/fsverity-file.js";
import { loadCertificate, signRootHash } from "../integrity/signature.js";
import { toHex } from "../formats/verity/algorithms.js";
import {
  dmVerityConfigOf, FSVERITY_ALGORITHMS, FsverityAlgorithm, ImageFormat, IMAGE_FORMATS, IntegrityConfig, IntegrityMode, INTEGRITY_MODES, VERITY_HASH_ALGORITHMS,
  VerityHashAlgorithm,
} from "../formats/storage-init-config/index.js";

export interface SealOptions {
  mode: IntegrityMode;
  /** dm-verity: the tree's hash (default sha256); fs-verity/copy: the digest's (sha256 or sha512) */
  hashAlgorithm?: string;
  /** dm-verity salt in hex ("" for none); default: derived from the image's UUID (reproducible) */
  salt?: string;
  /** dm-verity: PEM key and certificate files to sign the root hash with */
  signKey?: string;
  signCert?: string;
  /** plain (default): the hash area appended; ddi: a Discoverable Disk Image (dm-verity only) */
  imageFormat?: ImageFormat;
  /** ddi: whose partition types (default DEFAULT_DDI_ARCH) */
  ddiArch?: DdiArch;
}

/** Where the root hash signature lives in the mini initramfs. */
export const ROOT_HASH_SIGNATURE_PATH = "etc/initoverlayfs/roothash.p7s";
/** a signed DDI's signer certificate (DER), pinned in the mini initramfs as verity_cert */
export const VERITY_CERT_PATH = "etc/initoverlayfs/verity-cert.der";

export function checkSealOptions(o: SealOptions): void {
  if (!INTEGRITY_MODES.includes(o.mode)) throw new UsageError(`--integrity: expected ${INTEGRITY_MODES.join(", ")}, got ${JSON.stringify(o.mode)}`);
  if (o.hashAlgorithm !== undefined) {
    const allowed: readonly string[] = o.mode === "dm-verity" ? VERITY_HASH_ALGORITHMS : FSVERITY_ALGORITHMS;
    if (o.mode === "none" || !allowed.includes(o.hashAlgorithm)) {
      throw new UsageError(`--integrity-hash: ${o.mode === "none" ? "needs an integrity mode" : `expected ${allowed.join(", ")} for ${o.mode}`}, got ${JSON.stringify(o.hashAlgorithm)}`);
    }
  }
  if (o.salt !== undefined) {
    if (o.mode !== "dm-verity") throw new UsageError("--verity-salt: only for --integrity dm-verity");
    if (!/^([0-9a-fA-F]{2}){0,256}$/.test(o.salt)) throw new UsageError(`--verity-salt: expected up to 256 bytes of hex, got ${JSON.stringify(o.salt)}`);
  }
  if ((o.signKey === undefined) !== (o.signCert === undefined)) throw new UsageError("--sign-key and --sign-cert go together");
  if (o.signKey !== undefined && o.mode !== "dm-verity") throw new UsageError("--sign-key: the kernel checks root hash signatures only for --integrity dm-verity");
  if (o.imageFormat !== undefined && !IMAGE_FORMATS.includes(o.imageFormat)) throw new UsageError(`--image-format: expected ${IMAGE_FORMATS.join(", ")}, got ${JSON.stringify(o.imageFormat)}`);
  if (o.imageFormat === "ddi" && o.mode !== "dm-verity") throw new UsageError("--image-format ddi: needs --integrity dm-verity (a DDI carries its hash partition)");
  // the partition GUIDs are the root hash's first and last 128 bits: SHA-1's 160 would overlap
  if (o.imageFormat === "ddi" && o.hashAlgorithm === "sha1") throw new UsageError("--image-format ddi: needs --integrity-hash sha256 or sha512 (the partition GUIDs are the root hash's halves)");
}

export interface Sealed {
  integrity: IntegrityConfig;
  /** files for the mini initramfs (the signature), paths without the leading slash */
  files: { path: string; content: FileContent }[];
}

/** Derived, not random: the same image gives the same salt, hash area and root hash. */
function derived(uuid: Uint8Array, what: string, bytes: number): Uint8Array {
  return createHash("sha256").update(`initoverlayfs ${what}\0`).update(uuid).digest().subarray(0, bytes);
}

export async function sealImage(path: string, imageUuid: Uint8Array, o: SealOptions): Promise<Sealed> {
  checkSealOptions(o);
  if (o.mode === "none") return { integrity: { mode: "none" }, files: [] };
  if (o.mode === "fs-verity" || o.mode === "copy") {
    const algorithm = (o.hashAlgorithm ?? "sha256") as FsverityAlgorithm;
    const d = await fsverityDigestOfFile(path, { algorithm });
    return { integrity: { mode: o.mode, algorithm, digest: toHex(d.digest) }, files: [] };
  }
  // read the key material before changing the image
  const key = o.signKey !== undefined ? readFileSync(o.signKey, "utf8") : undefined;
  const cert = o.signCert !== undefined ? readFileSync(o.signCert) : undefined;
  const verity = {
    algorithm: (o.hashAlgorithm ?? "sha256") as VerityHashAlgorithm,
    salt: o.salt !== undefined ? Buffer.from(o.salt, "hex") : derived(imageUuid, "dm-verity salt", 32),
    uuid: derived(imageUuid, "dm-verity uuid", 16),
  };
  const files: Sealed["files"] = [];
  let integrity;
  if (o.imageFormat === "ddi") {
    // the DDI replaces the EROFS file under the same staging name
    const ddi = `${path}.ddi`;
    try {
      const r = await writeDdi(path, ddi, { ...verity, arch: o.ddiArch, sign: key !== undefined && cert !== undefined ? { key, cert } : undefined });
      chmodSync(ddi, statSync(path).mode & 0o7777);
      renameSync(ddi, path);
      integrity = { ...dmVerityConfigOf({ ...r.params, hashOffset: r.table.partitions[1].offset }, r.rootHash), imageFormat: "ddi" as const };
    } finally {
      rmSync(ddi, { force: true });
    }
  } else {
    const r = await appendVerityHashTree(path, verity);
    integrity = dmVerityConfigOf(r.params, r.rootHash);
  }
  if (key !== undefined && cert !== undefined) {
    files.push({ path: ROOT_HASH_SIGNATURE_PATH, content: bytesContent(signRootHash(integrity.rootHash, key, cert)) });
    integrity = { ...integrity, signature: "/" + ROOT_HASH_SIGNATURE_PATH };
    // A DDI carries its signature in a partition dm-verity does not cover: pinning the signer
    // makes storage-init check it (pkcs7.c) before the root hash is used, so a stripped or
    // replaced signature partition stops the boot with one line instead of going unnoticed.
    if (o.imageFormat === "ddi") {
      files.push({ path: VERITY_CERT_PATH, content: bytesContent(new Uint8Array(loadCertificate(cert, o.signCert).raw)) });
      integrity = { ...integrity, certificate: "/" + VERITY_CERT_PATH };
    }
  }
  return { integrity, files };
}
