/**
 * `sysext`: a directory's /usr and /opt as a system-extension DDI (root, root-verity and, signed,
 * root-verity-sig partitions of the --arch architecture; EROFS by our writer), with its
 * extension-release file written from the options. The output appears complete or not at all (staged next to it, fsync, rename).
 */
import { createHash } from "node:crypto";
import { chmodSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.js";
import { toHex } from "../formats/verity/algorithms.js";
import {
  EXTENSION_RELEASE_DIR, EXTENSION_SUFFIX, ExtensionRelease, extensionNameProblem, renderExtensionRelease,
} from "../formats/sysext/index.js";
import { bytesContent, DirNode, displayName, emptyMeta, FileNode, FsTree, newDir, Timestamp, walk } from "../fs/tree.js";
import { writeDdi } from "../integrity/ddi-file.js";
import { ddiArchOf, DDI_KINDS, DdiKind, DEFAULT_DDI_ARCH } from "../formats/ddi/index.js";
import { fsyncDir } from "../io/atomic-file.js";
import { readDirTree } from "../io/dir-reader.js";
import { timestampFromEnv, writeImageFile } from "./convert.js";

/** what an extension may carry: systemd-sysext merges only these hierarchies */
export const SYSEXT_HIERARCHIES = ["usr", "opt"] as const;

export interface SysextOptions extends ExtensionRelease {
  dir: string;
  output: string;
  /** PEM key and certificate files: adds the usr-verity-sig partition */
  key?: string;
  cert?: string;
  timestamp?: Timestamp;
  /**
   * root (default): the filesystem holds usr/ and opt/, the kind storage-init stacks; usr: the
   * filesystem is /usr itself (usr, usr-verity, usr-verity-sig partitions), as systemd-repart
   * builds extensions: systemd-sysext merges it, storage-init skips it (no /opt either)
   */
  partition?: DdiKind;
}

export interface SysextResult {
  output: string;
  name: string;
  partition: DdiKind;
  rootHash: string;
  bytes: number;
  release: string;
  signed: boolean;
}

/** NAME of the output NAME.raw; a UsageError when it is not one. */
export function extensionNameOf(output: string): string {
  const base = basename(output);
  if (!base.endsWith(EXTENSION_SUFFIX)) throw new UsageError(`-o ${output}: an extension image is named NAME${EXTENSION_SUFFIX}`);
  const name = base.slice(0, -EXTENSION_SUFFIX.length);
  const p = extensionNameProblem(name);
  if (p) throw new UsageError(`-o ${output}: ${p}`);
  return name;
}

/** The extension's tree: DIR's usr and opt only, owned by root (as packages install them), plus the release file. */
export function sysextTree(tree: FsTree, dir: string, name: string, release: string): FsTree {
  for (const [entry, node] of tree.root.entries) {
    if (!(SYSEXT_HIERARCHIES as readonly string[]).includes(entry) || node.kind !== "dir") {
      throw new UsageError(`${join(dir, displayName(entry))}: an extension holds only the directories ${SYSEXT_HIERARCHIES.map((h) => "/" + h).join(" and ")} (systemd-sysext merges nothing else)`);
    }
  }
  for (const { path, node } of walk(tree)) {
    if (path.startsWith(EXTENSION_RELEASE_DIR + "/")) throw new UsageError(`${join(dir, displayName(path))}: the extension-release file is written from the options, not taken from DIR`);
    node.uid = 0;
    node.gid = 0;
  }
  let d: DirNode = tree.root;
  for (const part of EXTENSION_RELEASE_DIR.split("/")) {
    let next = d.entries.get(part);
    if (!next) d.entries.set(part, (next = newDir({ mtime: d.mtime })));
    if (next.kind !== "dir") throw new UsageError(`${join(dir, part)}: expected a directory`);
    d = next;
  }
  const file: FileNode = { ...emptyMeta(), perm: 0o644, mtime: d.mtime, kind: "file", content: bytesContent(Buffer.from(release)) };
  d.entries.set(`extension-release.${name}`, file);
  return tree;
}

/** A usr-partition extension's tree: DIR/usr as the filesystem's root (nothing else in DIR). */
function usrPartitionTree(tree: FsTree, dir: string): FsTree {
  for (const [entry, node] of tree.root.entries) {
    if (entry !== "usr" || node.kind !== "dir") throw new UsageError(`${join(dir, displayName(entry))}: an extension with a usr partition holds only the directory /usr`);
  }
  const usr = tree.root.entries.get("usr");
  if (!usr || usr.kind !== "dir") throw new UsageError(`${dir}: no usr/ directory for a usr partition`);
  return { ...tree, root: usr };
}

export async function buildSysext(o: SysextOptions): Promise<SysextResult> {
  const name = extensionNameOf(o.output);
  if (!o.id) throw new UsageError("--id: required (the os-release ID the extension is for, or _any)");
  const release = renderExtensionRelease(o);
  // ARCHITECTURE= and the partition types say the same; without --arch, x86-64's types and no ARCHITECTURE=
  const arch = o.architecture === undefined ? DEFAULT_DDI_ARCH : ddiArchOf(o.architecture, "--arch (partition types)");
  if ((o.key === undefined) !== (o.cert === undefined)) throw new UsageError("--key and --cert go together");
  const key = o.key !== undefined ? readFileSync(o.key, "utf8") : undefined;
  const cert = o.cert !== undefined ? readFileSync(o.cert) : undefined;
  const kind = o.partition ?? "root";
  if (!(DDI_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--partition: expected ${DDI_KINDS.join(" or ")}, got ${JSON.stringify(kind)}`);
  const full = sysextTree(readDirTree(o.dir), o.dir, name, release);
  const tree = kind === "usr" ? usrPartitionTree(full, o.dir) : full;
  const timestamp = o.timestamp ?? timestampFromEnv();
  const stage = join(dirname(o.output), `.${basename(o.output)}.${process.pid}`);
  const erofs = `${stage}.erofs`;
  const ddi = `${stage}.tmp`;
  try {
    const img = writeImageFile(tree, erofs, { timestamp });
    // derived, not random: the same tree gives the same image and root hash
    const derived = (what: string, n: number) => createHash("sha256").update(`initoverlayfs sysext ${what}\0`).update(img.uuid).digest().subarray(0, n);
    const r = await writeDdi(erofs, ddi, {
      kind, arch, salt: derived("dm-verity salt", 32), uuid: derived("dm-verity uuid", 16), sign: key !== undefined && cert !== undefined ? { key, cert } : undefined,
    });
    chmodSync(ddi, 0o644);
    renameSync(ddi, o.output);
    fsyncDir(dirname(o.output));
    return { output: o.output, name, partition: kind, rootHash: toHex(r.rootHash), bytes: r.size, release, signed: key !== undefined };
  } finally {
    rmSync(erofs, { force: true });
    rmSync(ddi, { force: true });
  }
}
