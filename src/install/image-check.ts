/**
 * Does the image on /boot still match what the mini initramfs expects? First the cheap checks:
 * the file is there, its EROFS superblock passes the reader's checks (formats/erofs/superblock.ts) and its size
 * agrees with the superblock (and with the dm-verity layout, if any). Then, when the mini
 * initramfs names an integrity mode, what storage-init will check: the fs-verity digest, or the
 * dm-verity superblock, hash blocks and root hash (verifyImage). A root hash signature is the
 * kernel's to check against its keyrings; it is not checked here.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { IntegrityConfig, VERITY_BLOCK_SIZE } from "../formats/storage-init-config/index.js";
import { verifyImage } from "../integrity/verify.js";
import { FormatError, UnsupportedError } from "../errors.js";
import { BLOCK_SIZE } from "../formats/erofs/ondisk.js";
import { parseSuperblock, type ErofsSuperblock, type SuperblockCheck } from "../formats/erofs/superblock.js";

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
  if (integrity.mode === "dm-verity" && integrity.imageFormat === "ddi") {
    // a DDI: no EROFS superblock at offset 0; verifyImage checks its GPT, partitions and hashes
    try {
      const r = await verifyImage(image, integrity);
      return { ok: r.ok, bytes, digestChecked: r.ok, problems: r.ok ? [] : [r.reason ?? `${image}: does not match`] };
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      return { ok: false, bytes, digestChecked: false, problems: [e.message] };
    }
  }
  // of the soft checks only the checksum matters here: the size is checked below, against the integrity layout
  const soft = (offset: number, detail: string, check: SuperblockCheck) => {
    if (check === "checksum") problems.push(`${image}: offset ${offset}: ${detail}`);
  };
  let sb: ErofsSuperblock;
  try {
    sb = parseSuperblock(readHead(image), { imageSize: bytes, strict: true, soft }).fields;
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    const what = e instanceof UnsupportedError ? "not an EROFS image this tool supports" : "not an EROFS image";
    return { ok: false, bytes, digestChecked: false, problems: [`${image}: offset ${e.offset}: ${what} (${e.detail})`] };
  }
  const dataBytes = sb.blocks * BLOCK_SIZE;
  if (integrity.mode === "dm-verity") {
    if (integrity.dataBlocks * VERITY_BLOCK_SIZE < dataBytes) problems.push(`${image}: ${sb.blocks} EROFS blocks but dm-verity covers ${integrity.dataBlocks}`);
    if (bytes < integrity.hashOffset + VERITY_BLOCK_SIZE) problems.push(`${image}: ${bytes} bytes, ends before the dm-verity hash area at ${integrity.hashOffset}`);
  } else if (dataBytes !== bytes) {
    problems.push(`${image}: ${bytes} bytes, the superblock says ${sb.blocks} blocks (${dataBytes} bytes)`);
  }
  let digestChecked = false;
  if (problems.length === 0 && integrity.mode !== "none") {
    const v = await verifyImage(image, integrity);
    digestChecked = true;
    if (!v.ok) problems.push(`${image}: ${v.reason ?? `does not match the ${integrity.mode} data of the mini initramfs`}`);
  }
  return { ok: problems.length === 0, bytes, blocks: sb.blocks, digestChecked, problems };
}
