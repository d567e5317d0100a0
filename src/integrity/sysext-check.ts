/**
 * Would storage-init stack this extension? The checks of storage-init/src/sysext.c (use_one), in
 * its order, on the file as it is now: a DDI with one root and one root-verity partition of this
 * machine's architecture; the root hash its GUIDs carry pinned (sysext_roothash), or its
 * signature partition verifying against the pinned signer; a version 1 sha256 superblock with
 * 4096-byte blocks covering the root partition; every hash block matching the data (what
 * dm-verity reads); only /usr and /opt, both directories, at its top; extension-release.NAME with
 * an ID and SYSEXT_SCOPE naming initrd; that ID the image's os-release ID or _any. For `status`
 * and `verify --mini`.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../errors.js";
import { ErofsImage } from "../formats/erofs/reader.js";
import { ANY_ID, EXTENSION_SUFFIX, extensionReleaseText, extensionTopProblem, initrdReleaseOf, USR_RELEASE_DIR, EXTENSION_RELEASE_DIR } from "../formats/sysext/index.js";
import { LIMITS, SYSEXT_DIRS, VERITY_BLOCK_SIZE } from "../formats/storage-init-config/index.js";
import { ByteSource, fdSource, readRange } from "./byte-source.js";
import { DdiInfo, hashDdiSource, readDdiSource } from "./ddi-file.js";
import { DDI_ARCH_OF_NODE, DdiArch } from "../formats/ddi/index.js";

/** The architecture this machine's storage-init is built for: the partition types it looks for. */
export function hostDdiArch(): DdiArch | undefined {
  return DDI_ARCH_OF_NODE[process.arch];
}

/** What the mini initramfs pins: extension root hashes and the signer's certificate (DER). */
export interface ExtensionPins {
  rootHashes: readonly string[];
  certificate?: Uint8Array;
  /** the architecture the mini's storage-init is built for (its partition types); default this machine's */
  arch?: DdiArch;
}

export interface ExtensionVerdict {
  path: string;
  /** NAME of NAME.raw */
  name: string;
  /** the root hash the partition GUIDs carry */
  rootHash?: string;
  /** listed as sysext_roothash */
  pinned: boolean;
  /** the signature partition: verified against the pinned signer, failed, absent, or not checked (pinned, or no signer pinned) */
  signature: "verified" | "failed" | "absent" | "not checked";
  /** the SHA-256 fingerprint the signature partition names */
  signer?: string;
  /** extension-release.NAME: ID and whether it is for the initrd */
  id?: string;
  initrd?: boolean;
  /** storage-init would stack it */
  stacked: boolean;
  /** how: verified in memory and merged into a RAM layer (at most LIMITS.sysextRam), or on a loop and a dm-verity device of its own */
  placement?: "RAM" | "devices";
  /** why it would be skipped (storage-init's reason) */
  reason?: string;
}

/**
 * One extension, judged as storage-init judges it. `osId`: the image's os-release ID ("" when it
 * has none); undefined leaves the ID unchecked (verify without the image).
 */
export async function judgeExtension(path: string, name: string, pins: ExtensionPins, osId: string | undefined): Promise<ExtensionVerdict> {
  const v: ExtensionVerdict = { path, name, pinned: false, signature: "not checked", stacked: false };
  const skip = (reason: string) => ({ ...v, reason });
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    return skip((e as Error).message);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return skip("not a regular file");
    const src = fdSource(fd, path, st.size);
    // storage-init knows the root partition types of the architecture it was built for
    const arch = pins.arch ?? hostDdiArch();
    if (!arch) return skip(`no partition types known for ${process.arch}`);
    let info: DdiInfo;
    try {
      info = readDdiSource(src, arch);
    } catch (e) {
      if (e instanceof FormatError) return skip(`not a DDI: ${e.message}`);
      throw e;
    }
    // a usr partition's filesystem is /usr: stacked under it
    const usr = info.parts.kind === "usr";
    const rootHash = (info.parts.root.guid + info.parts.verity.guid).replace(/-/g, "");
    v.rootHash = rootHash;
    v.pinned = pins.rootHashes.includes(rootHash);
    v.signer = info.signature?.certificateFingerprint;
    if (!info.parts.signature) v.signature = "absent";
    const short = `root hash ${rootHash.slice(0, 16)}...`;
    if (!v.pinned) {
      if (!info.parts.signature) return skip(`${short} not pinned (sysext_roothash) and not signed`);
      if (!pins.certificate) return skip(`${short} not pinned; signed, but no signer pinned`);
      const problem = await signatureProblem(src, info, rootHash, pins.certificate);
      v.signature = problem ? "failed" : "verified";
      if (problem) return skip(`${short} not pinned; signature: ${problem}`);
    }
    const p = info.params;
    if (p.algorithm !== "sha256" || p.dataBlockSize !== VERITY_BLOCK_SIZE || p.hashBlockSize !== VERITY_BLOCK_SIZE || info.parts.verity.offset < info.parts.root.offset + info.parts.root.size) {
      return skip(`offset ${info.parts.verity.offset}: expected a version 1 sha256 verity superblock with ${VERITY_BLOCK_SIZE}-byte blocks covering the root partition, after it`);
    }
    const ram = p.dataBlocks * p.dataBlockSize <= LIMITS.sysextRam;
    if (usr && !ram) return skip(`a usr partition of over ${LIMITS.sysextRam >> 20} MiB: stacked only from RAM`);
    const hashed = await hashDdiSource(src, info);
    // a small one is hashed in memory (its hash partition unread), a larger one read through dm-verity
    if (ram) {
      if (hashed.rootHash !== rootHash) return skip(`verity: the data give root hash ${hashed.rootHash.slice(0, 16)}..., not the pinned one`);
    } else if (hashed.problem || hashed.rootHash !== rootHash) {
      return skip(`dm-verity: ${hashed.problem ?? `the data give root hash ${hashed.rootHash}`}: does not match the pinned root hash`);
    }
    let img: ErofsImage;
    try {
      img = ErofsImage.open(readRange(src, info.parts.root.offset, p.dataBlocks * p.dataBlockSize));
      const top = usr ? undefined : extensionTopProblem(img);
      if (top) return skip(top);
      const text = extensionReleaseText(img, name, usr);
      if (text === undefined) return skip(`no ${usr ? USR_RELEASE_DIR : EXTENSION_RELEASE_DIR}/extension-release.${name}`);
      const release = initrdReleaseOf(text);
      if (!release) return skip(`extension-release.${name}: no ID=`);
      v.id = release.id;
      v.initrd = release.initrd;
    } catch (e) {
      if (e instanceof FormatError) return skip(`mount: not an EROFS storage-init can read (${e.message})`);
      throw e;
    }
    if (!v.initrd) return skip("SYSEXT_SCOPE does not include initrd");
    if (osId !== undefined && v.id !== ANY_ID && v.id !== osId) return skip(`ID=${v.id}, the image's os-release says ID=${osId || "(none)"}`);
    return { ...v, stacked: true, placement: ram ? "RAM" : "devices" };
  } finally {
    closeSync(fd);
  }
}

/** The signature partition names the root hash and its PKCS#7 verifies against the certificate (ddi_read_signature). */
async function signatureProblem(src: ByteSource, info: DdiInfo, rootHash: string, certificate: Uint8Array): Promise<string | undefined> {
  const sig = info.signature!;
  if (sig.rootHash !== rootHash) return `the signature partition names another root hash than ${rootHash.slice(0, 16)}...`;
  const { verifyDetached } = await import("./signature.js");
  try {
    const r = verifyDetached(sig.signature, new TextEncoder().encode(rootHash), certificate, `${src.name}: signature partition`);
    return r.ok ? undefined : r.reason;
  } catch (e) {
    if (e instanceof FormatError) return e.message;
    throw e;
  }
}

/** The SHA-256 fingerprint of a DER certificate, as the signature JSON names its signer. */
export function certificateFingerprint(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

/** The directories on the boot partition storage-init looks in for an image, in stacking order (schema.ts SYSEXT_DIRS). */
export function extensionDirsOf(imagePath: string): string[] {
  return [join(imagePath, "..", SYSEXT_DIRS.shared), imagePath + SYSEXT_DIRS.perImageSuffix];
}

/**
 * Every extension storage-init would consider in these directories, judged, in its order (later
 * ones stack higher; within a directory by name, byte order): NAME.raw files not starting with a
 * dot; a NAME already stacked is skipped.
 */
export async function judgeExtensionDirs(dirs: string[], pins: ExtensionPins, osId: string | undefined, limit: number): Promise<ExtensionVerdict[]> {
  const out: ExtensionVerdict[] = [];
  const stacked = new Set<string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      if (!statSync(dir).isDirectory()) continue;
      names = readdirSync(dir).filter((n) => !n.startsWith(".") && n.length > EXTENSION_SUFFIX.length && n.endsWith(EXTENSION_SUFFIX));
    } catch {
      continue;
    }
    names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const file of names) {
      const name = file.slice(0, -EXTENSION_SUFFIX.length);
      const path = join(dir, file);
      if (stacked.has(name)) out.push({ path, name, pinned: false, signature: "not checked", stacked: false, reason: `an extension named ${name} is stacked already` });
      else if (stacked.size >= limit) out.push({ path, name, pinned: false, signature: "not checked", stacked: false, reason: `more than ${limit} extensions` });
      else {
        const v = await judgeExtension(path, name, pins, osId);
        if (v.stacked) stacked.add(name);
        out.push(v);
      }
    }
  }
  return out;
}
