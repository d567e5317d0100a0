/**
 * fsck for EROFS images. Pure (takes the whole image). Walks every inode and directory reachable
 * from the root, checks every structure and bound, reads every file's data, and collects all
 * problems: a broken structure is reported and not descended into, the rest is still checked.
 */
import { FormatError } from "../../errors.js";
import { displayName, type ByteString } from "../../fs/tree.js";
import { countKind, emptyKindCounts, type KindCounts } from "./kind-counts.js";
import { ErofsImage, type ErofsInode, type ErofsProblem } from "./reader.js";
import { SUPERBLOCK_OFFSET, Superblock } from "./ondisk.js";
import { reachableTwice, walkTree } from "./walk.js";
import type { SharedXattrRef } from "./xattr.js";

export type FsckProblem = ErofsProblem;

export interface FsckStats extends KindCounts {
  /** directory entries other than "." and ".." */
  dirents: number;
  /** extra links to non-directories (links beyond the first) */
  hardLinks: number;
  xattrs: number;
  /** regular file bytes read (each inode once) */
  bytesRead: number;
  compressedFiles: number;
  /** compressed extents decoded, and their compressed / uncompressed bytes */
  compressedExtents: number;
  compressedBytes: number;
  uncompressedBytes: number;
}

export interface FsckResult {
  ok: boolean;
  problems: FsckProblem[];
  stats: FsckStats;
}

export interface FsckOptions {
  /** default true */
  strict?: boolean;
  /** stop collecting after this many problems (default 1000) */
  maxProblems?: number;
  /** read uncompressed file data up to this size per file (bigger files are only bounds-checked; compressed
   * files are always decoded, one extent at a time); default 256 MiB */
  maxReadBytes?: number;
}

class TooManyProblems extends Error {}

interface Range {
  start: number;
  end: number;
  what: string;
  data: boolean;
}

function fmtPath(p: ByteString): string {
  return displayName(p) || "/";
}

export function fsckErofs(bytes: Uint8Array, opts: FsckOptions = {}): FsckResult {
  const maxProblems = opts.maxProblems ?? 1000;
  const maxRead = opts.maxReadBytes ?? 256 * 1024 * 1024;
  const problems: FsckProblem[] = [];
  const stats: FsckStats = {
    ...emptyKindCounts(),
    dirents: 0, hardLinks: 0, xattrs: 0, bytesRead: 0, compressedFiles: 0,
    compressedExtents: 0, compressedBytes: 0, uncompressedBytes: 0,
  };
  const report = (p: FsckProblem) => {
    problems.push(p);
    if (problems.length >= maxProblems) throw new TooManyProblems();
  };
  const fromError = (e: unknown, path?: ByteString): void => {
    if (e instanceof TooManyProblems) throw e;
    if (e instanceof FormatError) report({ offset: e.offset, path: path === undefined ? undefined : fmtPath(path), message: e.detail });
    else report({ path: path === undefined ? undefined : fmtPath(path), message: `internal error: ${(e as Error)?.message ?? String(e)}` });
  };

  try {
    let img: ErofsImage;
    try {
      img = ErofsImage.open(bytes, { strict: opts.strict ?? true, onProblem: (p) => report(p) });
    } catch (e) {
      fromError(e);
      return { ok: false, problems, stats };
    }
    walk(img, report, fromError, stats, maxRead);
  } catch (e) {
    if (!(e instanceof TooManyProblems)) throw e;
    problems.push({ message: `too many problems, stopped after ${maxProblems}` });
  }
  return { ok: problems.length === 0, problems, stats };
}

function walk(
  img: ErofsImage,
  report: (p: FsckProblem) => void,
  fromError: (e: unknown, path?: ByteString) => void,
  stats: FsckStats,
  maxRead: number,
): void {
  const ranges: Range[] = [{ start: SUPERBLOCK_OFFSET, end: SUPERBLOCK_OFFSET + Superblock.size, what: "superblock", data: false }];
  const cfg = img.compression.records;
  if (cfg) ranges.push({ start: cfg.start, end: cfg.end, what: "compression config records", data: false });
  const sharedXattrs = new Set<number>();
  /** nid -> first path, for every inode seen */
  const seen = new Map<number, { path: ByteString; links: number; inode: ErofsInode; subdirs: number }>();

  const rootNid = img.rootNid;
  /** Checks what an inode owns: its metadata range, data, xattrs. */
  const visit = (inode: ErofsInode, path: ByteString): void => {
    const nid = inode.nid;
    countKind(stats, inode.kind);
    ranges.push({ start: inode.offset, end: inode.metaEnd, what: `inode nid ${nid} ("${fmtPath(path)}")`, data: false });
    for (const e of inode.extents ?? []) {
      // (inline tails are inside the inode's own metadata range)
      if (e.physical !== null && !(e.physical >= inode.offset && e.physical < inode.metaEnd)) {
        ranges.push({ start: e.physical, end: e.physical + e.length, what: `data of nid ${nid} ("${fmtPath(path)}")`, data: true });
      }
    }
    // xattrs, and the shared entries they use
    try {
      const shared: SharedXattrRef[] = [];
      stats.xattrs += img.readXattrs(inode, path, shared).size;
      for (const { at, end } of shared) {
        if (sharedXattrs.has(at)) continue;
        sharedXattrs.add(at);
        ranges.push({ start: at, end, what: `shared xattr at ${at}`, data: false });
      }
    } catch (e) {
      fromError(e, path);
    }
    // data
    try {
      if (inode.compressed) {
        // every index entry is checked when the map is built; then every extent is decoded
        if (inode.kind === "file") stats.compressedFiles++;
        const { extents } = img.compressedMap(inode, path);
        for (const e of extents) {
          if (!e.inline) ranges.push({ start: e.physical, end: e.physical + e.plen, what: `pcluster of nid ${nid} ("${fmtPath(path)}")`, data: true });
          stats.compressedBytes += e.plen;
        }
        stats.compressedExtents += extents.length;
        let bad = 0;
        const n = img.forEachCompressedExtent(inode, undefined, path, (err) => {
          if (bad++ < 5) fromError(err, path); // a few per file: one broken pcluster is enough to know
        });
        stats.uncompressedBytes += n;
        if (inode.kind === "file") stats.bytesRead += n;
        if (inode.kind === "symlink") img.readLink(inode, path);
      } else if (inode.kind === "file") {
        if (inode.size <= maxRead) {
          img.readData(inode, path);
          stats.bytesRead += inode.size;
        }
      } else if (inode.kind === "symlink") {
        img.readLink(inode, path);
      }
    } catch (e) {
      fromError(e, path);
    }
  };

  let rootInode: ErofsInode;
  try {
    rootInode = img.readInode(rootNid, "");
  } catch (e) {
    fromError(e, "");
    return;
  }
  visit(rootInode, "");
  seen.set(rootNid, { path: "", links: 1, inode: rootInode, subdirs: 0 });
  for (const step of walkTree(img, rootInode)) {
    if (step.type === "error") {
      if (step.entry) stats.dirents++;
      fromError(step.error, step.path);
      continue;
    }
    const { entry, path, inode } = step;
    stats.dirents++;
    if (step.type === "seen") {
      if (inode.kind === "dir") {
        report({ offset: entry.offset, path: fmtPath(path), message: reachableTwice(entry.nid, step.firstPath, path) });
        continue;
      }
      seen.get(entry.nid)!.links++;
      stats.hardLinks++;
    } else {
      visit(inode, path);
      seen.set(entry.nid, { path, links: 1, inode, subdirs: 0 });
      if (inode.kind === "dir") seen.get(step.dir.nid)!.subdirs++;
    }
    try {
      img.checkFileType(entry, inode, path);
    } catch (e) {
      fromError(e, path);
    }
  }

  // link counts
  for (const [nid, s] of seen) {
    if (s.inode.kind === "dir") {
      if (s.inode.nlink !== s.subdirs + 2) {
        report({ offset: s.inode.offset + 6, path: fmtPath(s.path), message: `directory nid ${nid} has nlink ${s.inode.nlink}, expected ${s.subdirs + 2}` });
      }
    } else if (s.inode.nlink < s.links) {
      report({ offset: s.inode.offset + 6, path: fmtPath(s.path), message: `nid ${nid} has nlink ${s.inode.nlink} but ${s.links} directory entries` });
    }
  }
  const inos = img.superblock.inos;
  if (inos !== BigInt(seen.size)) {
    report({ offset: SUPERBLOCK_OFFSET + Superblock.fields.inos.offset, message: `superblock inode count ${inos} but ${seen.size} inodes are reachable` });
  }

  // overlaps: metadata must not overlap metadata or data (data may be shared: deduplicated chunks)
  ranges.sort((a, b) => a.start - b.start || a.end - b.end);
  let cur: Range | undefined;
  let reported = 0;
  for (const r of ranges) {
    if (r.end <= r.start) continue;
    if (cur && r.start < cur.end && !(r.data && cur.data) && reported < 20) {
      report({ offset: r.start, message: `${r.what} [${r.start}, ${r.end}) overlaps ${cur.what} [${cur.start}, ${cur.end})` });
      reported++;
    }
    if (!cur || r.end > cur.end) cur = r;
  }
}
