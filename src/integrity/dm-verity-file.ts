/**
 * dm-verity over an image file: append the hash area (superblock at hashOffset = the image's
 * size, then the tree), or recompute it from a source for verification. Data and hash blocks are
 * VERITY_BLOCK_SIZE (4096) as storage-init expects.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { VERITY_BLOCK_SIZE } from "../formats/storage-init-config/index.js";
import { UsageError } from "../errors.js";
import { HashName } from "../formats/verity/algorithms.js";
import { DmVerityParams, DmVerityTree, dataBlockHashParams, dmVerityGeometry, encodeVeritySuperblock } from "../formats/verity/dm-verity.js";
import { ByteSource, fdSource } from "./byte-source.js";
import { LeafHashingOptions, hashSourceBlocks } from "./leaf-hashing.js";

/**
 * Computes the tree of `params` over the data blocks of `src` (from offset 0) and hands every
 * hash block to `onBlock` with its byte offset; returns the root hash.
 */
export async function computeDmVerityTree(
  src: ByteSource,
  params: DmVerityParams,
  onBlock: (offset: number, block: Uint8Array, level: number) => void,
  opts: LeafHashingOptions = {},
): Promise<Uint8Array> {
  const g = dmVerityGeometry(params);
  const levelOf = (blk: number) => g.levelStart.findIndex((s, i) => blk >= s && blk < s + g.levelBlocks[i]);
  const tree = new DmVerityTree(params, (blk, b) => onBlock(blk * params.hashBlockSize, b, levelOf(blk)));
  await hashSourceBlocks(src, 0, params.dataBlocks * params.dataBlockSize, dataBlockHashParams(params), (d) => tree.addDataDigests(d), opts);
  return tree.finish();
}

export interface AppendVerityOptions extends LeafHashingOptions {
  algorithm?: HashName;
  hashType?: 0 | 1;
  /** default: 32 random bytes; empty = no salt */
  salt?: Uint8Array;
  /** superblock UUID, default random */
  uuid?: Uint8Array;
}

export interface AppendVerityResult {
  params: DmVerityParams;
  rootHash: Uint8Array;
  /** image size after appending */
  size: number;
}

/**
 * Appends the dm-verity hash area to `imagePath` (its size must be a multiple of 4096): the
 * result is what `veritysetup format --hash-offset=SIZE --data-blocks=SIZE/4096 IMAGE IMAGE`
 * writes. On failure the file is truncated back to its original size.
 */
export async function appendVerityHashTree(imagePath: string, opts: AppendVerityOptions = {}): Promise<AppendVerityResult> {
  const fd = openSync(imagePath, "r+");
  let original: number | undefined;
  try {
    const size = fstatSync(fd).size;
    if (size === 0 || size % VERITY_BLOCK_SIZE !== 0) throw new UsageError(`${imagePath}: ${size} bytes is not a whole number of ${VERITY_BLOCK_SIZE}-byte blocks`);
    original = size;
    const params: DmVerityParams = {
      dataBlocks: size / VERITY_BLOCK_SIZE,
      hashOffset: size,
      algorithm: opts.algorithm ?? "sha256",
      hashType: opts.hashType ?? 1,
      dataBlockSize: VERITY_BLOCK_SIZE,
      hashBlockSize: VERITY_BLOCK_SIZE,
      salt: opts.salt ?? randomBytes(32),
      uuid: opts.uuid ?? randomBytes(16),
      superblock: true,
    };
    const write = (bytes: Uint8Array, at: number) => {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, at + done);
    };
    const g = dmVerityGeometry(params);
    const src = fdSource(fd, imagePath, size);
    const root = await computeDmVerityTree(src, params, (off, b) => write(b, off), opts);
    // the superblock last: a hash area without one is recognisably incomplete
    const sb = new Uint8Array(g.hashStartBlock * params.hashBlockSize - size);
    sb.set(encodeVeritySuperblock(params));
    write(sb, size);
    ftruncateSync(fd, g.hashEnd);
    fsyncSync(fd);
    original = undefined;
    return { params, rootHash: root, size: g.hashEnd };
  } finally {
    if (original !== undefined) {
      try { ftruncateSync(fd, original); } catch { /* reported by the original error */ }
    }
    closeSync(fd);
  }
}
