/**
 * Writes newc cpio archives: from raw entries (for tests and crafted archives) or from a tree
 * (the mini initramfs). Hard links: every member of a group is written with nlink >= 2 and the
 * same ino; the data goes with the last member, as GNU cpio does.
 */
import { ByteString, FsNode, FsTree, modeOf, walk } from "../../fs/tree.js";
import { align4, encodeNewcHeader, TRAILER_NAME } from "./newc.js";

export interface RawCpioEntry {
  name: ByteString;
  mode: number;
  uid?: number;
  gid?: number;
  nlink?: number;
  mtime?: number;
  ino?: number;
  devmajor?: number;
  devminor?: number;
  rdevmajor?: number;
  rdevminor?: number;
  data?: Uint8Array;
  /** write a 070702 header with the data checksum */
  crc?: boolean;
  /** override the checksum field (to craft bad archives) */
  check?: number;
}

export class CpioWriter {
  private parts: Uint8Array[] = [];
  private length = 0;
  private nextIno = 1;

  add(e: RawCpioEntry): this {
    const data = e.data ?? new Uint8Array(0);
    const name = Buffer.from(e.name + "\0", "latin1");
    let sum = 0;
    if (e.crc) for (let i = 0; i < data.length; i++) sum = (sum + data[i]) >>> 0;
    const header = encodeNewcHeader({
      crc: e.crc, ino: e.ino ?? this.nextIno++, mode: e.mode, uid: e.uid ?? 0, gid: e.gid ?? 0,
      nlink: e.nlink ?? 1, mtime: e.mtime ?? 0, filesize: data.length, devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0, rdevmajor: e.rdevmajor ?? 0, rdevminor: e.rdevminor ?? 0,
      namesize: name.length, check: e.check ?? sum,
    });
    this.push(header);
    this.push(name);
    this.pad();
    this.push(data);
    this.pad();
    return this;
  }

  trailer(): this {
    return this.add({ name: TRAILER_NAME, mode: 0, ino: 0, nlink: 1 });
  }

  /** Pads the archive with NULs to a multiple of `n` (e.g. 512 like GNU cpio). */
  padTo(n: number): this {
    const r = this.length % n;
    if (r) this.push(new Uint8Array(n - r));
    return this;
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }

  private push(b: Uint8Array): void {
    if (b.length) this.parts.push(b), (this.length += b.length);
  }

  private pad(): void {
    const n = align4(this.length) - this.length;
    if (n) this.push(new Uint8Array(n));
  }
}


/** Serializes a tree: parents before children, byte order, hard links as groups. */
export function treeToCpio(tree: FsTree): Uint8Array {
  const w = new CpioWriter();
  const links = new Map<FsNode, number>();
  const count = new Map<FsNode, number>();
  for (const { node } of walk(tree)) count.set(node, (count.get(node) ?? 0) + 1);
  const seen = new Map<FsNode, number>();
  let ino = 1;
  for (const { path, node } of walk(tree)) {
    const n = count.get(node)!;
    let nodeIno = links.get(node);
    if (nodeIno === undefined) links.set(node, (nodeIno = ino++));
    const k = (seen.get(node) ?? 0) + 1;
    seen.set(node, k);
    const last = k === n;
    const common = {
      name: path === "" ? "." : path, mode: modeOf(node), uid: node.uid, gid: node.gid,
      mtime: node.mtime.sec, ino: nodeIno, nlink: node.kind === "dir" ? 2 : n,
    };
    switch (node.kind) {
      case "file": w.add({ ...common, data: last ? node.content.read() : undefined }); break;
      case "symlink": w.add({ ...common, data: Buffer.from(node.target, "latin1") }); break;
      case "chardev": case "blockdev": w.add({ ...common, rdevmajor: node.rdevMajor, rdevminor: node.rdevMinor }); break;
      default: w.add(common);
    }
  }
  return w.trailer().bytes();
}
