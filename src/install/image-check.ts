/**
 * Does the image on /boot still match what the mini initramfs expects? First the cheap checks:
 * the file is there, its EROFS superblock is valid (magic, block size, checksum) and its size
 * agrees with the superblock (and with the dm-verity layout, if any). Then, when the mini
 * initramfs names an integrity mode, what storage-init will check: the fs-verity digest, or the
 * dm-verity superblock, hash blocks and root hash (verifyImage). A root hash signature is the
 * kernel's to check against its keyrings; it is not checked here.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { IntegrityConfig, VERITY_BLOCK_SIZE } from "../formats/storage-init-config/index.js";
import { verifyImage } from "../integrity/verify.js";
import { erofsSuperblockChecksum } from "../formats/erofs/crc32c.js";
import { BLOCK_SIZE, BLOCK_SIZE_BITS, EROFS_MAGIC, FEATURE_COMPAT_SB_CHKSUM, SUPERBLOCK_OFFSET, Superblock } from "../formats/erofs/ondisk.js";

export interface ImageCheck {
  ok: boolean;
  bytes?: number;
  blocks?: number;
  /** true only when the integrity digest / root hash was verified */
  digestChecked: boolean;
  problems: string[];
}

function readHead(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const b = new Uint8Array(BLOCK_SIZE);
    const n = readSync(fd, b, 0, BLOCK_SIZE, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export async function imageMatches(image: string, integrity: IntegrityConfig): Promise<ImageCheck> {
  const problems: string[] = [];
  if (!existsSync(image)) return { ok: false, digestChecked: false, problems: [`${image}: missing`] };
  const bytes = statSync(image).size;
  const head = readHead(image);
  if (head.length < SUPERBLOCK_OFFSET + Superblock.size) return { ok: false, bytes, digestChecked: false, problems: [`${image}: ${bytes} bytes, too short for an EROFS superblock`] };
  const sb = Superblock.decode(head, SUPERBLOCK_OFFSET);
  if (sb.magic !== EROFS_MAGIC) problems.push(`${image}: offset ${SUPERBLOCK_OFFSET}: not an EROFS image (magic 0x${sb.magic.toString(16)})`);
  else {
    if (sb.blkszbits !== BLOCK_SIZE_BITS) problems.push(`${image}: block size 2^${sb.blkszbits}, expected 4096`);
    if (sb.featureCompat & FEATURE_COMPAT_SB_CHKSUM && head.length === BLOCK_SIZE) {
      const block = new Uint8Array(head.subarray(SUPERBLOCK_OFFSET));
      block.fill(0, Superblock.fields.checksum.offset, Superblock.fields.checksum.offset + 4);
      if (erofsSuperblockChecksum(block) !== sb.checksum) problems.push(`${image}: superblock checksum mismatch`);
    }
    const dataBytes = sb.blocks * BLOCK_SIZE;
    if (integrity.mode === "dm-verity") {
      if (integrity.dataBlocks * VERITY_BLOCK_SIZE < dataBytes) problems.push(`${image}: ${sb.blocks} EROFS blocks but dm-verity covers ${integrity.dataBlocks}`);
      if (bytes < integrity.hashOffset + VERITY_BLOCK_SIZE) problems.push(`${image}: ${bytes} bytes, ends before the dm-verity hash area at ${integrity.hashOffset}`);
    } else if (dataBytes !== bytes) {
      problems.push(`${image}: ${bytes} bytes, the superblock says ${sb.blocks} blocks (${dataBytes} bytes)`);
    }
  }
  let digestChecked = false;
  if (problems.length === 0 && integrity.mode !== "none") {
    const v = await verifyImage(image, integrity);
    digestChecked = true;
    if (!v.ok) problems.push(`${image}: ${v.reason ?? `does not match the ${integrity.mode} data of the mini initramfs`}`);
  }
  return { ok: problems.length === 0, bytes, blocks: sb.blocks, digestChecked, problems };
}
