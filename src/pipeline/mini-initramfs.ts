/**
 * The mini initramfs: storage-init as /init, its config, the module files it loads, the few
 * device nodes and mount points early boot needs, and the manifest of all of them (what storage-init
 * keeps from the booted system); a compressed newc archive, after the original's early archives
 * (microcode, ACPI tables: initramfs/early.ts), carried first and unchanged.
 */
import { gzipSync } from "node:zlib";
import { LZ4_LEGACY_END_BYTES } from "../compression/lz4-legacy.js";
import { compressLz4Legacy } from "../compression/lz4-native.js";
import { compressZstd } from "../compression/zstd.js";
import { UsageError } from "../errors.js";
import { CONFIG_PATH, MANIFEST_PATH, MiniCompression, renderManifest } from "../formats/storage-init-config/index.js";
import { treeToCpio } from "../formats/cpio/writer.js";
import {
  bytesContent, ByteString, displayName, FileContent, FsNode, FsTree, newDir, newTree, splitPath, Timestamp, toByteString,
} from "../fs/tree.js";

export interface MiniInitramfsContent {
  storageInit: FileContent;
  /** renderConfig's output */
  config: ByteString;
  /** module files: path inside the archive without the leading slash ("lib/modules/KVER/kernel/...") */
  files: { path: ByteString; content: FileContent }[];
  /** every inode's mtime (default 0: reproducible) */
  mtime?: Timestamp;
}

/**
 * Mount points storage-init uses (it creates missing ones, but an initramfs that has them needs no
 * writes), and the device nodes the kernel opens before devtmpfs is mounted: /dev/console for
 * PID 1's stdio when CONFIG_DEVTMPFS_MOUNT is off (Debian), /dev/kmsg and /dev/null for logging.
 */
const DIRS = ["dev", "proc", "sys", "run", "boot", "etc"];
const DEVICES: ReadonlyArray<readonly [string, number, number, number]> = [
  ["dev/console", 5, 1, 0o600],
  ["dev/kmsg", 1, 11, 0o644],
  ["dev/null", 1, 3, 0o666],
];

export function miniInitramfsTree(c: MiniInitramfsContent): FsTree {
  const mtime = c.mtime ?? { sec: 0, nsec: 0 };
  const tree = newTree();
  tree.root.mtime = mtime;
  const meta = (perm: number) => ({ perm, uid: 0, gid: 0, mtime, xattrs: new Map() });
  const put = (path: ByteString, node: FsNode) => {
    const parts = splitPath(path);
    let dir = tree.root;
    for (const p of parts.slice(0, -1)) {
      let next = dir.entries.get(p);
      if (!next) dir.entries.set(p, (next = newDir(meta(0o755))));
      if (next.kind !== "dir") throw new UsageError(`mini initramfs: ${displayName(path)}: ${displayName(p)} is not a directory`);
      dir = next;
    }
    const name = parts[parts.length - 1];
    if (dir.entries.has(name)) throw new UsageError(`mini initramfs: ${displayName(path)} added twice`);
    dir.entries.set(name, node);
  };
  for (const d of DIRS) put(d, newDir(meta(0o755)));
  for (const [p, major, minor, perm] of DEVICES) put(p, { ...meta(perm), kind: "chardev", rdevMajor: major, rdevMinor: minor });
  put("init", { ...meta(0o755), kind: "file", content: c.storageInit });
  put(CONFIG_PATH, { ...meta(0o644), kind: "file", content: bytesContent(Buffer.from(c.config, "latin1")) });
  for (const f of c.files) put(f.path, { ...meta(0o644), kind: "file", content: f.content });
  // last: it lists every entry, itself included (its content is set once all are in)
  const manifest = { ...meta(0o644), kind: "file" as const, content: bytesContent(new Uint8Array()) };
  put(MANIFEST_PATH, manifest);
  manifest.content = bytesContent(Buffer.from(renderManifest(tree), "latin1"));
  return tree;
}

/**
 * zstd's own default. Measured on Debian 12's 9.6 MiB mini cpio (55 modules): level 3 → 2.54 MB
 * in 0.09 s, 9 → 2.22 MB in 0.7 s, 19 → 1.97 MB in 10.5 s. (Until the addon did this, the call
 * asked @mongodb-js/zstd for 19, which its wrapper dropped: 3 is what every mini had.)
 */
const ZSTD_LEVEL = 3;

/** The kinds build chooses from (`auto`: chooseMiniCompression in mini-compression.ts). */
export async function compressArchive(cpio: Uint8Array, kind: MiniCompression): Promise<Uint8Array> {
  switch (kind) {
    case "gzip": return gzipSync(cpio, { level: 6 }); // level 9: 10x slower for 0.5% smaller
    case "zstd": return compressZstd(cpio, ZSTD_LEVEL);
    // LZ4HC: the largest of the three, the fastest for the kernel to unpack (CONFIG_RD_LZ4); ended,
    // so that an archive the boot loader appends (at any multiple of 4) is not read as a chunk
    case "lz4": return Buffer.concat([compressLz4Legacy(cpio), new Uint8Array(LZ4_LEGACY_END_BYTES)]);
    case "none": return cpio;
  }
}

/**
 * The whole file: `early` (the original's leading uncompressed archives, byte for byte: the
 * kernel's early loaders find them at the same offsets, from the file's first byte), then
 * tree → newc cpio → compressed. `early` ends after a trailer, at a multiple of 4: an
 * uncompressed mini archive that follows starts aligned, as the kernel requires.
 */
export async function packMiniInitramfs(c: MiniInitramfsContent, kind: MiniCompression, early: Uint8Array = new Uint8Array(0)): Promise<{ bytes: Uint8Array; cpioBytes: number }> {
  if (early.length % 4) throw new RangeError(`early archives end at byte ${early.length}, not a multiple of 4`);
  const cpio = treeToCpio(miniInitramfsTree(c));
  const packed = await compressArchive(cpio, kind);
  return { bytes: early.length ? Buffer.concat([early, packed]) : packed, cpioBytes: cpio.length };
}
