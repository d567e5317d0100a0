/**
 * Writes a Discoverable Disk Image of an EROFS file: the file copied into the root partition,
 * the dm-verity hash partition (superblock at its offset 0, as `veritysetup format` writes to a
 * separate hash device), the signature partition when signing, the GPT around them. The caller
 * writes to a staging name and renames (the file is complete or absent).
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { UsageError } from "../errors.js";
import { DdiArch, encodeVeritySignature, planDdi } from "../formats/ddi/index.js";
import { encodeGpt, GptTable } from "../formats/gpt/index.js";
import { HashName, toHex } from "../formats/verity/algorithms.js";
import { DmVerityParams, dmVerityGeometry, dmVerityParams, encodeVeritySuperblock } from "../formats/verity/dm-verity.js";
import { fdSource, ByteSource } from "./byte-source.js";
import { computeDmVerityTree } from "./dm-verity-file.js";
import { LeafHashingOptions } from "./leaf-hashing.js";
import { loadCertificate, signRootHash } from "./signature.js";

export interface WriteDdiOptions extends LeafHashingOptions {
  arch?: DdiArch;
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
  planDdi({ arch: o.arch ?? "x86-64", rootHash: new Uint8Array(32), dataSize, hashSize: 4096, diskGuid: o.diskGuid }).partitions[0].offset;

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
    const table = planDdi({ arch: o.arch ?? "x86-64", rootHash, dataSize, hashSize: area.length, signatureSize: signature?.length, diskGuid: o.diskGuid });
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
