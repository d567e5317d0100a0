/** EROFS test helpers: mkfs.erofs wrapper, superblock checksum fix-up, forcing lazy reads. */
import { erofsSuperblockChecksum } from "../../src/formats/erofs/crc32c.js";
import { BLOCK_SIZE, FEATURE_COMPAT_SB_CHKSUM, SUPERBLOCK_OFFSET, Superblock } from "../../src/formats/erofs/ondisk.js";
import { walk, type FsTree } from "../../src/fs/tree.js";
import { run } from "./run.js";

export function mkfsErofs(image: string, srcDir: string, args: string[] = []): void {
  run("mkfs.erofs", ["--quiet", ...args, image, srcDir]);
}

/** Recomputes the superblock checksum after a test patched block 0 (when SB_CHKSUM is on). */
export function fixSuperblockChecksum(bytes: Uint8Array): void {
  const sb = Superblock.decode(bytes, SUPERBLOCK_OFFSET);
  if (!(sb.featureCompat & FEATURE_COMPAT_SB_CHKSUM)) return;
  const block = new Uint8Array(bytes.subarray(SUPERBLOCK_OFFSET, BLOCK_SIZE));
  block.fill(0, Superblock.fields.checksum.offset, Superblock.fields.checksum.offset + 4);
  Superblock.encode(bytes, SUPERBLOCK_OFFSET, { checksum: erofsSuperblockChecksum(block) });
}

/** Reads every file's content (trees from readers are lazy). Returns the total size. */
export function readAllContents(tree: FsTree): number {
  let n = 0;
  for (const { node } of walk(tree)) if (node.kind === "file") n += node.content.read().length;
  return n;
}

export function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
