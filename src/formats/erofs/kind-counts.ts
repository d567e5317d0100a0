/** Inodes counted by type: shared by fsck's statistics and inspect's summary. */
import type { NodeKind } from "../../fs/tree.js";

export interface KindCounts {
  inodes: number;
  dirs: number;
  files: number;
  symlinks: number;
  chardevs: number;
  blockdevs: number;
  fifos: number;
  sockets: number;
}

const FIELD: Record<NodeKind, Exclude<keyof KindCounts, "inodes">> = {
  dir: "dirs", file: "files", symlink: "symlinks", chardev: "chardevs", blockdev: "blockdevs", fifo: "fifos", socket: "sockets",
};

export function emptyKindCounts(): KindCounts {
  return { inodes: 0, dirs: 0, files: 0, symlinks: 0, chardevs: 0, blockdevs: 0, fifos: 0, sockets: 0 };
}

export function countKind(c: KindCounts, kind: NodeKind): void {
  c.inodes++;
  c[FIELD[kind]]++;
}
