/** Commands that read EROFS images: inspect, ls, cat, extract, fsck. */
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { FormatError, UsageError } from "../../errors.js";
import { displayName, toByteString } from "../../fs/tree.js";
import { EXIT } from "../exit-codes.js";

function load(path: string): Uint8Array {
  return readFileSync(path);
}

/** Runs `fn`, attaching the image path to any format error. */
function withSource<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof FormatError ? e.withSource(path) : e;
  }
}

const MODE_CHARS: Record<string, string> = { dir: "d", file: "-", symlink: "l", chardev: "c", blockdev: "b", fifo: "p", socket: "s" };

function permString(perm: number): string {
  const rwx = (v: number, s: boolean, ch: string) =>
    (v & 4 ? "r" : "-") + (v & 2 ? "w" : "-") + (s ? (v & 1 ? ch : ch.toUpperCase()) : v & 1 ? "x" : "-");
  return rwx(perm >> 6, !!(perm & 0o4000), "s") + rwx(perm >> 3, !!(perm & 0o2000), "s") + rwx(perm, !!(perm & 0o1000), "t");
}

export function readerCommands(): Command[] {
  const inspect = new Command("inspect")
    .description("show an EROFS image's superblock, features and counts; for a DDI also its partitions, verity parameters and signature")
    .argument("<image>")
    .option("--json", "machine-readable output")
    .action(async (image: string, o) => {
      const { inspectErofs } = await import("../../formats/erofs/inspect.js");
      const { isGptDisk } = await import("../../formats/gpt/gpt.js");
      let bytes = load(image);
      let ddi: (ReturnType<typeof import("../../integrity/ddi-file.js").describeDdi> & { extension?: import("../../formats/sysext/index.js").ExtensionInfo }) | undefined;
      if (isGptDisk(bytes)) {
        const { describeDdi, readDdi } = await import("../../integrity/ddi-file.js");
        const d = readDdi(image);
        ddi = describeDdi(d);
        bytes = bytes.subarray(d.parts.root.offset, d.parts.root.offset + d.parts.root.size);
        const { extensionInfoOf } = await import("../../formats/sysext/index.js");
        const extension = withSource(image, () => extensionInfoOf(bytes, image));
        if (extension) ddi = { ...ddi, extension };
      }
      const info = withSource(image, () => inspectErofs(bytes));
      if (o.json) {
        process.stdout.write(JSON.stringify(ddi ? { ddi, ...info } : info, null, 2) + "\n");
        return;
      }
      if (ddi) {
        process.stdout.write(`${"DDI".padEnd(18)} ${ddi.arch}, ${ddi.bytes} bytes, disk GUID ${ddi.diskGuid}\n`);
        for (const p of ddi.partitions) {
          process.stdout.write(`${`  partition ${p.number}`.padEnd(18)} ${p.role}, type ${p.typeName ? `${p.typeName} ` : ""}${p.type}, label "${p.name}", at ${p.offset}, ${p.size} bytes, GUID ${p.guid}${p.readOnly ? ", read-only" : ""}${p.growfs ? ", growfs" : ""}\n`);
        }
        const v = ddi.verity;
        process.stdout.write(`${"  verity".padEnd(18)} ${v.algorithm} format ${v.hashType}, ${v.dataBlocks} blocks of ${v.dataBlockSize}, salt ${v.salt || "-"}\n`);
        process.stdout.write(`${"  root hash".padEnd(18)} ${ddi.rootHashFromGuids} (partition GUIDs)\n`);
        if (ddi.signature) process.stdout.write(`${"  signature".padEnd(18)} root hash ${ddi.signature.rootHash}, signer ${ddi.signature.certificateFingerprint} (not verified: use verify --cert)\n`);
        if (ddi.extension) {
          const x = ddi.extension;
          const level = x.versionId !== undefined ? `, VERSION_ID=${x.versionId}` : x.sysextLevel !== undefined ? `, SYSEXT_LEVEL=${x.sysextLevel}` : "";
          process.stdout.write(`${"  extension".padEnd(18)} ${x.name}: ID=${x.id}${level}, scope ${x.effectiveScope.join(" ")}${x.scope ? "" : " (default)"}${x.architecture ? `, ARCHITECTURE=${x.architecture}` : ""}\n`);
        }
        process.stdout.write(`${"root partition:".padEnd(18)}\n`);
      }
      const lines: [string, unknown][] = [
        ["image bytes", info.imageBytes],
        ["block size", info.blockSize],
        ["blocks", info.blocks],
        ["uuid", info.uuid],
        ["volume name", info.volumeName],
        ["build time", `${info.buildTime.iso} (${info.buildTime.sec}.${String(info.buildTime.nsec).padStart(9, "0")})`],
        ["root nid", info.rootNid],
        ["meta blkaddr", info.metaBlkaddr],
        ["xattr blkaddr", info.xattrBlkaddr],
        ["checksum", info.checksum.enabled ? `${info.checksum.stored} (${info.checksum.ok ? "ok" : "BAD, computed " + info.checksum.computed})` : "none"],
        ["compat features", info.featureCompat.join(" ") || "-"],
        ["incompat features", info.featureIncompat.join(" ") || "-"],
        ["counts", Object.entries(info.counts).map(([k, v]) => `${k} ${v}`).join(", ")],
      ];
      const z = info.compression;
      if (z) {
        const ratio = z.uncompressedBytes ? ` (${((100 * z.compressedBytes) / z.uncompressedBytes).toFixed(1)}%)` : "";
        lines.push(
          ["compression", `${z.inodes} inodes, ${z.compressedBytes} bytes in pclusters for ${z.uncompressedBytes} bytes${ratio}`],
          ["  algorithms", `${z.algorithms.join(" ") || "lz4 (no config records)"}, max pcluster ${z.maxPclusterBlocks} blocks, lz4 window ${z.lz4MaxDistance}`],
          ["  index layouts", Object.entries(z.layouts).map(([k, v]) => `${k} ${v}`).join(", ")],
          ["  extents", Object.entries(z.extents).map(([k, v]) => `${k} ${v}`).join(", ") || "-"],
        );
        if (z.unreadableIndexes) lines.push(["  unreadable", `${z.unreadableIndexes} indexes (run fsck)`]);
      }
      for (const [k, v] of lines) process.stdout.write(`${k.padEnd(18)} ${v}\n`);
    });

  const ls = new Command("ls")
    .description("list a directory of an EROFS image (or the whole tree with -R)")
    .argument("<image>")
    .argument("[path]", "directory or file inside the image", "/")
    .option("-R, --recursive", "list every path below")
    .option("-l, --long", "show type, mode, owner, size, mtime")
    .option("--json", "machine-readable output")
    .action(async (image: string, path: string, o) => {
      const { ErofsImage } = await import("../../formats/erofs/reader.js");
      withSource(image, () => {
        const img = ErofsImage.open(load(image));
        const start = img.lookup(toByteString(path));
        if (!start) throw new UsageError(`${image}: no such path in the image: ${path}`);
        const rows: { path: string; kind: string; mode: number; uid: number; gid: number; size: number; mtime: number; target?: string }[] = [];
        const base = toByteString(path).replace(/\/+$/, "");
        const stack: { nid: number; path: string; depth: number }[] = [];
        const add = (nid: number, p: string) => {
          const ino = img.readInode(nid, p);
          rows.push({
            path: displayName(p) || "/", kind: ino.kind, mode: ino.perm, uid: ino.uid, gid: ino.gid, size: ino.size,
            mtime: ino.mtime.sec, target: ino.kind === "symlink" ? displayName(img.readLink(ino, p)) : undefined,
          });
          return ino;
        };
        if (start.kind !== "dir") add(start.nid, base);
        else stack.push({ nid: start.nid, path: base, depth: 0 });
        while (stack.length) {
          const d = stack.pop()!;
          const entries = img.readDir(d.nid, { path: d.path }).filter((e) => e.name !== "." && e.name !== "..");
          const subdirs: typeof stack = [];
          for (const e of entries) {
            const p = `${d.path}/${e.name}`;
            const ino = add(e.nid, p);
            if (o.recursive && ino.kind === "dir") subdirs.push({ nid: e.nid, path: p, depth: d.depth + 1 });
          }
          stack.push(...subdirs.reverse());
        }
        if (o.json) {
          process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
          return;
        }
        for (const r of rows) {
          const shown = o.recursive || start.kind !== "dir" ? r.path : r.path.slice(r.path.lastIndexOf("/") + 1);
          if (!o.long) process.stdout.write(shown + "\n");
          else {
            const when = new Date(r.mtime * 1000).toISOString().replace("T", " ").slice(0, 19);
            process.stdout.write(`${MODE_CHARS[r.kind]}${permString(r.mode)} ${String(r.uid).padStart(5)} ${String(r.gid).padStart(5)} ${String(r.size).padStart(10)} ${when} ${shown}${r.target !== undefined ? " -> " + r.target : ""}\n`);
          }
        }
      });
    });

  const cat = new Command("cat")
    .description("write a file of an EROFS image to stdout")
    .argument("<image>")
    .argument("<path>", "regular file (or symlink target text) inside the image")
    .action(async (image: string, path: string) => {
      const { ErofsImage } = await import("../../formats/erofs/reader.js");
      const data = withSource(image, () => {
        const img = ErofsImage.open(load(image));
        const ino = img.lookup(toByteString(path));
        if (!ino) throw new UsageError(`${image}: no such path in the image: ${path}`);
        if (ino.kind === "symlink") return Buffer.from(img.readLink(ino, path), "latin1");
        if (ino.kind !== "file") throw new UsageError(`${image}: ${path} is a ${ino.kind}, not a regular file`);
        return img.readData(ino, path);
      });
      process.stdout.write(data);
    });

  const extract = new Command("extract")
    .description("extract the whole tree of an EROFS image into a directory (owners, modes, times, links, devices)")
    .argument("<image>")
    .argument("<dir>", "target directory (created; must be empty if it exists)")
    .action(async (image: string, dir: string) => {
      const [{ readErofs }, { extractTree }] = await Promise.all([import("../../formats/erofs/reader.js"), import("../../io/extract.js")]);
      const tree = withSource(image, () => readErofs(load(image)));
      withSource(image, () => extractTree(tree, dir));
    });

  const fsck = new Command("fsck")
    .description("check every structure of an EROFS image; exit 1 if any problem is found")
    .argument("<image>")
    .option("--json", "machine-readable output")
    .action(async (image: string, o) => {
      const { fsckErofs } = await import("../../formats/erofs/fsck.js");
      const r = withSource(image, () => fsckErofs(load(image)));
      if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + "\n");
      else {
        for (const p of r.problems) {
          const where = [p.offset !== undefined ? `offset ${p.offset}` : "", p.path !== undefined ? displayName(p.path) || "/" : ""].filter(Boolean).join(": ");
          process.stdout.write(`${image}: ${where ? where + ": " : ""}${p.message}\n`);
        }
        const s = r.stats;
        process.stdout.write(`${image}: ${r.ok ? "clean" : `${r.problems.length} problem(s)`}; ${s.inodes} inodes (${s.dirs} dirs, ${s.files} files, ${s.symlinks} symlinks), ${s.bytesRead} bytes of file data read${s.compressedExtents ? ` (${s.compressedExtents} compressed extents, ${s.compressedBytes} bytes of pclusters decoded to ${s.uncompressedBytes})` : ""}\n`);
      }
      if (!r.ok) process.exitCode = EXIT.PROBLEMS;
    });

  return [inspect, ls, cat, extract, fsck];
}
