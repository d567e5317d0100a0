/**
 * How directory entries are packed into blocks. Used by the writer's layout pass (sizes) and its
 * emit pass (bytes), so both agree by construction.
 *
 * A block is [dirent x n][names...]; a new block starts when the next entry (12 bytes + name)
 * no longer fits. Entries are in byte order across blocks: the kernel binary-searches blocks by
 * their first name.
 */
import { BLOCK_SIZE, Dirent } from "./ondisk.js";

export interface DirBlockPlan {
  /** index range [first, end) into the sorted names */
  first: number;
  end: number;
  /** bytes used in the block */
  used: number;
}

export function packDirectory(nameLengths: readonly number[]): { blocks: DirBlockPlan[]; size: number } {
  const blocks: DirBlockPlan[] = [];
  let first = 0;
  let used = 0;
  for (let i = 0; i < nameLengths.length; i++) {
    const need = Dirent.size + nameLengths[i];
    if (used + need > BLOCK_SIZE) {
      blocks.push({ first, end: i, used });
      first = i;
      used = 0;
    }
    used += need;
  }
  if (nameLengths.length) blocks.push({ first, end: nameLengths.length, used });
  const size = blocks.length ? (blocks.length - 1) * BLOCK_SIZE + blocks[blocks.length - 1].used : 0;
  return { blocks, size };
}
