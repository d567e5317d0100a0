/**
 * The mini initramfs: storage-init as /init, its /etc/initoverlayfs.conf, the module files it
 * loads, and the few device nodes and mount points early boot needs; a compressed newc archive.
 * The config text is checked against storage-init's limits (storage-init/src/config.h) here, so
 * a config it would reject never reaches a boot.
 */
import { gzipSync } from "node:zlib";
import { compress as zstdCompress } from "@mongodb-js/zstd";
import { FormatError, UsageError } from "../errors.js";
import { IntegrityConfig, renderIntegrity } from "./integrity-config.js";
import { treeToCpio } from "../formats/cpio/writer.js";
import {
  bytesContent, ByteString, displayName, FileContent, FsNode, FsTree, newDir, newTree, splitPath, Timestamp, toByteString,
} from "../fs/tree.js";

/** storage-init/src/config.h */
export const STORAGE_INIT_LIMITS = {
  modules: 128, // CFG_MAX_MODULES
  shims: 8, // CFG_MAX_SHIMS
  path: 255, // SI_PATH_MAX - 1
  value: 511, // CFG_VALUE_MAX - 1
  line: 1024, // CFG_LINE_MAX
  timeout: 3600,
} as const;

export const FAILURE_POLICIES = ["panic", "reboot", "shell"] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

export interface StorageInitConfig {
  boot: string;
  bootfstype?: string;
  bootflags?: string;
  image: string;
  init: string;
  timeout: number;
  failure: FailurePolicy;
  /** absolute paths inside the mini initramfs, in load order, with optional parameters */
  modules: {
    path: ByteString; params?: string;
    /** storage_module: skipped once the boot device is there */
    untilBoot?: boolean;
    /** optional_module: a refusal by the kernel is logged, not fatal */
    mayFail?: boolean;
  }[];
  /** switch-root programs in the image to replace; [] writes "shim =" (replace none) */
  shims: ByteString[];
  /** which image the mini initramfs accepts (absent: none) */
  integrity?: IntegrityConfig;
  /** a comment line at the top */
  comment?: string;
}

/** --boot: what storage-init's check_boot accepts, with a value the parser keeps intact. */
export function checkBootSpec(spec: string): string {
  const fail = (why: string): never => {
    throw new UsageError(`--boot: ${why}: ${JSON.stringify(spec)} (expected UUID=..., LABEL=..., PARTUUID=..., PARTLABEL=... or /dev/...)`);
  };
  const m = /^(UUID|PARTUUID|LABEL|PARTLABEL)=(.*)$/s.exec(spec);
  if (m) {
    if (m[2] === "") fail(`empty ${m[1]}`);
    if ((m[1] === "UUID" || m[1] === "PARTUUID") && !/^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)*$/.test(m[2])) fail(`${m[1]} must be hex digits and dashes`);
  } else if (!/^\/dev\/[^\s]+$/.test(spec)) fail("not a device spec");
  checkValue("--boot", spec, STORAGE_INIT_LIMITS.value);
  return spec;
}

export function checkAbsolutePath(option: string, p: string): string {
  if (!p.startsWith("/")) throw new UsageError(`${option}: must be an absolute path: ${JSON.stringify(p)}`);
  if (/\s/.test(p)) throw new UsageError(`${option}: whitespace in a path is not supported: ${JSON.stringify(p)}`);
  return checkValue(option, p, STORAGE_INIT_LIMITS.path);
}

function checkValue(what: string, v: string, max: number): string {
  if (/[\n\r\0"]/.test(v)) throw new UsageError(`${what}: newlines, NUL bytes and double quotes cannot be written to the config: ${JSON.stringify(v)}`);
  if (toByteString(v).length > max) throw new UsageError(`${what}: longer than ${max} bytes: ${JSON.stringify(v)}`);
  return v;
}

/** A value as config_parse reads it back: quoted when surrounding blanks would be trimmed. */
function value(v: string): string {
  return /^\s|\s$/.test(v) || v.startsWith('"') ? `"${v}"` : v;
}

/** The config file as bytes-in-a-string (latin1): paths from the tree are byte strings. */
export function renderConfig(c: StorageInitConfig): ByteString {
  const L = STORAGE_INIT_LIMITS;
  if (c.modules.length > L.modules) {
    throw new UsageError(`${c.modules.length} modules selected but storage-init loads at most ${L.modules}: name the boot filesystem (--boot-fstype) or leave out default drivers (--no-default-modules)`);
  }
  if (c.shims.length > L.shims) throw new UsageError(`${c.shims.length} switch-root programs found but storage-init replaces at most ${L.shims}`);
  if (!Number.isInteger(c.timeout) || c.timeout < 0 || c.timeout > L.timeout) throw new UsageError(`--timeout: expected a whole number of seconds from 0 to ${L.timeout}, got ${c.timeout}`);
  if (!FAILURE_POLICIES.includes(c.failure)) throw new UsageError(`--failure: expected ${FAILURE_POLICIES.join(", ")}, got ${JSON.stringify(c.failure)}`);
  const b = toByteString;
  const lines: string[] = [];
  if (c.comment) lines.push(`# ${b(c.comment)}`);
  lines.push(`boot = ${value(b(checkBootSpec(c.boot)))}`);
  if (c.bootfstype) lines.push(`bootfstype = ${c.bootfstype}`);
  if (c.bootflags) lines.push(`bootflags = ${value(b(checkValue("--boot-flags", c.bootflags, L.value)))}`);
  lines.push(`image = ${b(checkAbsolutePath("--image-path", c.image))}`);
  lines.push(`init = ${b(checkAbsolutePath("--init", c.init))}`);
  lines.push(`timeout = ${c.timeout}`);
  lines.push(`failure = ${c.failure}`);
  if (c.integrity) lines.push(...renderIntegrity(c.integrity));
  for (const m of c.modules) {
    if (!m.path.startsWith("/") || m.path.length > L.path || /\s/.test(m.path)) throw new UsageError(`module path unusable by storage-init: ${JSON.stringify(displayName(m.path))}`);
    lines.push(`${m.untilBoot ? "storage_module" : m.mayFail ? "optional_module" : "module"} = ${m.path}${m.params ? " " + b(m.params) : ""}`);
  }
  if (c.shims.length === 0) lines.push("shim =");
  for (const s of c.shims) {
    if (s.length > L.path || /\s/.test(s)) throw new UsageError(`shim path unusable by storage-init: ${JSON.stringify(displayName(s))}`);
    lines.push(`shim = ${s}`);
  }
  for (const l of lines) {
    if (l.length > L.line) throw new UsageError(`config line longer than ${L.line} bytes: ${displayName(l.slice(0, 60))}...`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Reads config text the way storage-init's config_parse does (comments, "key = value", '-' in
 * keys read as '_', surrounding blanks trimmed, optional double quotes). Returns every pair in
 * order (module and shim repeat); `lastValues` gives the value that wins for single keys.
 */
export function parseConfigText(text: ByteString, source = "config"): [string, string][] {
  const out: [string, string][] = [];
  let offset = 0;
  for (const raw of text.split("\n")) {
    const lineAt = offset;
    offset += raw.length + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const bad = (why: string): never => {
      throw new FormatError("config", lineAt, why, source);
    };
    const eq = line.indexOf("=");
    if (eq < 0) bad('expected "key = value"');
    const key = line.slice(0, eq).trim().replace(/-/g, "_");
    if (!/^[A-Za-z0-9_.]+$/.test(key)) bad(`invalid key ${JSON.stringify(key)}`);
    let v = line.slice(eq + 1).trim();
    if (v.startsWith('"')) {
      if (v.length < 2 || !v.endsWith('"') || v.slice(1, -1).includes('"')) bad("badly quoted value");
      v = v.slice(1, -1);
    }
    out.push([key, v]);
  }
  return out;
}

export function lastValues(pairs: ReadonlyArray<readonly [string, string]>): Map<string, string> {
  return new Map(pairs.map(([k, v]) => [k, v] as [string, string]));
}

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
  put("etc/initoverlayfs.conf", { ...meta(0o644), kind: "file", content: bytesContent(Buffer.from(c.config, "latin1")) });
  for (const f of c.files) put(f.path, { ...meta(0o644), kind: "file", content: f.content });
  return tree;
}

export type MiniCompression = "gzip" | "zstd" | "none";
export const MINI_COMPRESSIONS: readonly MiniCompression[] = ["gzip", "zstd", "none"];

/** gzip is the default: every kernel can unpack it (CONFIG_RD_GZIP is always on in practice). */
export async function compressArchive(cpio: Uint8Array, kind: MiniCompression): Promise<Uint8Array> {
  switch (kind) {
    case "gzip": return gzipSync(cpio, { level: 6 }); // level 9: 10x slower for 0.5% smaller
    case "zstd": return zstdCompress(Buffer.from(cpio.buffer, cpio.byteOffset, cpio.byteLength), 19);
    case "none": return cpio;
  }
}

/** The whole archive: tree → newc cpio → compressed. */
export async function packMiniInitramfs(c: MiniInitramfsContent, kind: MiniCompression): Promise<{ bytes: Uint8Array; cpioBytes: number }> {
  const cpio = treeToCpio(miniInitramfsTree(c));
  return { bytes: await compressArchive(cpio, kind), cpioBytes: cpio.length };
}
