/**
 * Writes a Discoverable Disk Image of an EROFS file: the file copied into the root partition,
 * the dm-verity hash partition (superblock at its offset 0, as `veritysetup format` writes to a
 * separate hash device), the signature partition when signing, the GPT around them. The caller
 * writes to a staging name and renames (the file is complete or absent).
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { FormatError, UsageError } from "../errors.js";
import {
  DdiArch, DdiKind, DdiPartitions, DdiRole, ddiRoleName, ddiTypeName, DEFAULT_DDI_ARCH, ddiPartitionGuids, decodeVeritySignature, encodeVeritySignature, findDdiPartitions, planDdi, VeritySignature, VERITY_SIGNATURE_MAX,
} from "../formats/ddi/index.js";
import { decodeGpt, encodeGpt, GPT_PRIMARY_READ, GptPartition, GptTable, SECTOR } from "../formats/gpt/index.js";
import { HashName, toHex } from "../formats/verity/algorithms.js";
import {
  decodeVeritySuperblock, DmVerityParams, dmVerityGeometry, dmVerityParams, encodeVeritySuperblock, VERITY_SUPERBLOCK,
} from "../formats/verity/dm-verity.js";
import { fdSource, ByteSource, readRange } from "./byte-source.js";
import { computeDmVerityTree } from "./dm-verity-file.js";
import { LeafHashingOptions } from "./leaf-hashing.js";
import { loadCertificate, signRootHash } from "./signature.js";

export interface WriteDdiOptions extends LeafHashingOptions {
  arch?: DdiArch;
  /** root (default): an image; usr: a system extension */
  kind?: DdiKind;
  algorithm?: HashName;
  hashType?: 0 | 1;
  salt: Uint8Array;
  /** verity superblock UUID */
  uuid: Uint8Array;
  /** data and hash block size (default 4096; systemd-repart uses the 512-byte sector) */
  blockSize?: number;
  diskGuid?: string;
  /** PEM key and PEM/DER certificate: adds the root-verity-sig partition */
  sign?: { key: string; cert: Uint8Array };
}

export interface WrittenDdi {
  table: GptTable;
  params: DmVerityParams;
  rootHash: Uint8Array;
  size: number;
}

/** Where the root partition starts, whatever the hash and signature sizes. */
const rootOffsetOf = (o: WriteDdiOptions, dataSize: number) =>
  planDdi({ arch: o.arch ?? DEFAULT_DDI_ARCH, rootHash: new Uint8Array(32), dataSize, hashSize: 4096, diskGuid: o.diskGuid }).partitions[0].offset;

export async function writeDdi(erofsPath: string, outPath: string, o: WriteDdiOptions): Promise<WrittenDdi> {
  const key = o.sign?.key;
  const cert = o.sign?.cert;
  const fingerprint = cert ? createHash("sha256").update(loadCertificate(cert).raw).digest("hex") : undefined;
  const inFd = openSync(erofsPath, "r");
  const fd = openSync(outPath, "w+", 0o600);
  try {
    const erofsSize = fstatSync(inFd).size;
    if (erofsSize === 0 || erofsSize % 4096 !== 0) throw new UsageError(`${erofsPath}: ${erofsSize} bytes is not a whole number of 4096-byte blocks`);
    const write = (bytes: Uint8Array, at: number) => {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, at + done);
    };
    const dataSize = erofsSize;
    const rootOffset = rootOffsetOf(o, dataSize);
    // the EROFS file into the root partition
    const buf = new Uint8Array(1 << 20);
    for (let pos = 0; pos < erofsSize; ) {
      const n = readSync(inFd, buf, 0, Math.min(buf.length, erofsSize - pos), pos);
      if (n === 0) throw new UsageError(`${erofsPath}: changed while being read (short read at ${pos})`);
      write(buf.subarray(0, n), rootOffset + pos);
      pos += n;
    }
    const bs = o.blockSize ?? 4096;
    const params = dmVerityParams({
      dataBlocks: dataSize / bs, hashOffset: 0, algorithm: o.algorithm ?? "sha256", hashType: o.hashType ?? 1, dataBlockSize: bs, hashBlockSize: bs,
      salt: o.salt, uuid: o.uuid, superblock: true,
    });
    const g = dmVerityGeometry(params);
    const area = new Uint8Array(g.hashEnd);
    area.set(encodeVeritySuperblock(params), 0);
    const whole = fdSource(fd, outPath, rootOffset + dataSize);
    const data: ByteSource = { name: outPath, size: dataSize, readAt: (into, pos) => whole.readAt(into, rootOffset + pos) };
    const rootHash = await computeDmVerityTree(data, params, (off, b) => area.set(b, off), o);
    const signature = key && cert && fingerprint
      ? encodeVeritySignature({ rootHash: toHex(rootHash), certificateFingerprint: fingerprint, signature: signRootHash(toHex(rootHash), key, cert) })
      : undefined;
    const table = planDdi({ arch: o.arch ?? DEFAULT_DDI_ARCH, kind: o.kind, rootHash, dataSize, hashSize: area.length, signatureSize: signature?.length, diskGuid: o.diskGuid });
    if (table.partitions[0].offset !== rootOffset) throw new Error("DDI plan: the root partition moved");
    const gpt = encodeGpt(table);
    write(area, table.partitions[1].offset);
    if (signature) write(signature, table.partitions[2].offset);
    write(gpt.backup, gpt.backupOffset);
    write(gpt.primary, 0);
    const size = table.sectors * 512;
    ftruncateSync(fd, size);
    fsyncSync(fd);
    return { table, params, rootHash, size };
  } finally {
    closeSync(fd);
    closeSync(inFd);
  }
}

export interface DdiInfo {
  table: GptTable;
  parts: DdiPartitions;
  /** from the verity superblock at the hash partition's start */
  params: DmVerityParams;
  signature?: VeritySignature;
}

/** Reads and checks a DDI's structure (GPT, partitions, verity superblock, signature JSON); hashes nothing. */
export function readDdi(path: string): DdiInfo {
  const fd = openSync(path, "r");
  try {
    return readDdiSource(fdSource(fd, path, fstatSync(fd).size));
  } finally {
    closeSync(fd);
  }
}

export function readDdiSource(src: ByteSource, only?: DdiArch): DdiInfo {
  const path = src.name;
  const table = decodeGpt(readRange(src, 0, GPT_PRIMARY_READ), src.size, (lba, n) => readRange(src, lba * SECTOR, n * SECTOR), path);
  const parts = findDdiPartitions(table, path, only);
  const sb = readRange(src, parts.verity.offset, VERITY_SUPERBLOCK.size);
  const params = { ...decodeVeritySuperblock(sb, parts.verity.offset, path), hashOffset: 0 };
  const g = dmVerityGeometry(params);
  if (g.hashEnd > parts.verity.size) throw new FormatError("DDI", parts.verity.offset, `the hash tree (${g.hashEnd} bytes) does not fit its ${parts.verity.size}-byte partition`, path);
  if (params.dataBlocks * params.dataBlockSize > parts.root.size) {
    throw new FormatError("DDI", parts.verity.offset + 72, `the superblock covers ${params.dataBlocks * params.dataBlockSize} bytes, more than the ${parts.root.size}-byte root partition`, path);
  }
  const signature = parts.signature
    ? decodeVeritySignature(readRange(src, parts.signature.offset, Math.min(parts.signature.size, VERITY_SIGNATURE_MAX + 1)), parts.signature.offset, path)
    : undefined;
  return { table, parts, params, signature };
}

export interface DdiVerifyOptions extends LeafHashingOptions {
  /** the pinned root hash (hex) */
  rootHash?: string;
  /** PEM or DER: the signature partition must be by it */
  certificate?: string | Uint8Array;
}

export interface DdiVerifyResult {
  ok: boolean;
  reason?: string;
  rootHash: string;
  signature: "verified" | "not checked" | "absent" | "failed";
  info: DdiInfo;
}

/**
 * Checks a DDI the way storage-init and systemd accept it: every hash block recomputed from the
 * root partition, the root hash against the pin, the partition GUIDs and the signature JSON's
 * root hash against the computed one, the signature against the certificate. A malformed
 * structure (GPT, superblock, JSON) is a FormatError.
 */
export async function verifyDdi(path: string, o: DdiVerifyOptions = {}): Promise<DdiVerifyResult> {
  const fd = openSync(path, "r");
  try {
    return await verifyDdiSource(fdSource(fd, path, fstatSync(fd).size), o);
  } finally {
    closeSync(fd);
  }
}

/** One partition of a DDI as a source of its own. */
export function partitionSource(whole: ByteSource, p: GptPartition): ByteSource {
  return { name: whole.name, size: p.size, readAt: (into, pos) => whole.readAt(into.subarray(0, Math.max(0, Math.min(into.length, p.size - pos))), p.offset + pos) };
}

/**
 * Every hash block recomputed from the root partition and compared with the hash partition's:
 * the root hash the data gives, and the first hash block that differs (what dm-verity would
 * refuse to read), if any.
 */
export async function hashDdiSource(whole: ByteSource, info: DdiInfo, o: LeafHashingOptions = {}): Promise<{ rootHash: string; problem?: string }> {
  const { parts, params } = info;
  let problem: string | undefined;
  const hash = partitionSource(whole, parts.verity);
  const root = await computeDmVerityTree(partitionSource(whole, parts.root), params, (off, block) => {
    if (problem) return;
    if (Buffer.compare(readRange(hash, off, block.length), block) !== 0) problem = `hash block at offset ${parts.verity.offset + off} does not match the root partition's data`;
  }, o);
  return { rootHash: toHex(root), problem };
}

export async function verifyDdiSource(whole: ByteSource, o: DdiVerifyOptions = {}): Promise<DdiVerifyResult> {
  const path = whole.name;
  const info = readDdiSource(whole);
  const { parts } = info;
  const { rootHash, problem } = await hashDdiSource(whole, info, o);
  const root = Buffer.from(rootHash, "hex");
  const sig = info.signature;
  const result = (reason: string | undefined, signature: DdiVerifyResult["signature"]): DdiVerifyResult => ({ ok: !reason, reason: reason && `${path}: ${reason}`, rootHash, signature, info });
  const guids = ddiPartitionGuids(root);
  if (problem) return result(problem, "not checked");
  if (o.rootHash !== undefined && o.rootHash.toLowerCase() !== rootHash) return result(`root hash ${rootHash} does not match the pinned ${o.rootHash.toLowerCase()}`, "not checked");
  if (parts.root.guid !== guids.root || parts.verity.guid !== guids.verity) return result(`partition GUIDs ${parts.root.guid}, ${parts.verity.guid} are not the root hash's halves`, "not checked");
  if (sig && sig.rootHash !== rootHash) return result(`the signature partition names root hash ${sig.rootHash}, the data gives ${rootHash}`, "failed");
  if (!sig) return result(o.certificate !== undefined ? "no signature partition to check against the certificate" : undefined, "absent");
  if (o.certificate === undefined) return result(undefined, "not checked");
  const cert = loadCertificate(o.certificate);
  const fp = createHash("sha256").update(cert.raw).digest("hex");
  if (fp !== sig.certificateFingerprint) return result(`signed by certificate ${sig.certificateFingerprint}, expected ${fp}`, "failed");
  const { verifyDetached } = await import("./signature.js");
  const check = verifyDetached(sig.signature, new TextEncoder().encode(rootHash), o.certificate, `${path}: signature partition`);
  return check.ok ? result(undefined, "verified") : result(`signature partition: ${check.reason}`, "failed");
}

/** What `inspect` shows of a DDI: its partitions, verity parameters and signature. */
export function describeDdi(d: DdiInfo) {
  const k = d.parts.kind;
  const roleOf = (p: GptPartition): DdiRole | undefined => (p === d.parts.root ? "root" : p === d.parts.verity ? "verity" : p === d.parts.signature ? "signature" : undefined);
  const role = (p: GptPartition) => { const r = roleOf(p); return r ? ddiRoleName(k, r) : "other"; };
  const typeName = (p: GptPartition) => { const r = roleOf(p); return r ? ddiTypeName(k, d.parts.arch, r) : null; };
  return {
    arch: d.parts.arch,
    kind: k,
    diskGuid: d.table.diskGuid,
    bytes: d.table.sectors * SECTOR,
    partitions: d.table.partitions.map((p) => ({
      number: p.number, role: role(p), typeName: typeName(p), name: p.name, type: p.type, guid: p.guid, offset: p.offset, size: p.size,
      readOnly: (p.attributes & (1n << 60n)) !== 0n, growfs: (p.attributes & (1n << 59n)) !== 0n,
    })),
    verity: {
      algorithm: d.params.algorithm, hashType: d.params.hashType, dataBlockSize: d.params.dataBlockSize, hashBlockSize: d.params.hashBlockSize,
      dataBlocks: d.params.dataBlocks, salt: toHex(d.params.salt),
    },
    /** the root hash the partition GUIDs carry (their halves); the signature's, when signed */
    rootHashFromGuids: (d.parts.root.guid + d.parts.verity.guid).replace(/-/g, ""),
    /** what the signature partition claims; inspect checks nothing (verify --cert does) */
    signature: d.signature ? { rootHash: d.signature.rootHash, certificateFingerprint: d.signature.certificateFingerprint, bytes: d.signature.signature.length, verified: false } : null,
  };
}
