/**
 * The depmod index files of one lib/modules/KVER directory inside a tree, parsed: modules.dep
 * (every module and all its dependencies), modules.builtin and modules.builtin.modinfo (what the
 * kernel has built in, and their aliases), modules.alias and modules.softdep. Only the text
 * files are read: the .bin files are kmod's caches of the same data.
 */
import { FormatError } from "../../errors.js";
import { ByteString, FileNode, FsTree } from "../../fs/tree.js";
import { normalizeAlias, normalizeModuleName, parseModulePath, ModuleCompression } from "./names.js";
import { readTreeFile, resolvePath } from "./tree-path.js";

/** A tree holding a modules directory: the initramfs, or the host's /lib/modules/KVER. */
export interface ModuleSource {
  /** for messages and results: "initramfs", "/lib/modules/6.1.0-56-amd64" */
  label: string;
  tree: FsTree;
  /** the KVER modules directory inside the tree ("lib/modules/6.1.0-56-amd64", or "" for its root) */
  dir: ByteString;
}

export interface ModuleEntry {
  name: string;
  /** as modules.dep writes it, relative to the modules directory: "kernel/fs/ext4/ext4.ko" */
  path: string;
  compression: ModuleCompression;
  /** every module it needs (modules.dep is transitive), names, in modules.dep order */
  deps: string[];
}

export interface SoftDeps {
  pre: string[];
  post: string[];
}

export interface ModuleIndex {
  source: ModuleSource;
  /** the modules directory with symlinks resolved ("usr/lib/modules/KVER") */
  realDir: ByteString;
  modules: Map<string, ModuleEntry>;
  builtin: Set<string>;
  /** normalized alias → built-in modules providing it */
  builtinAliases: Map<string, string[]>;
  /** normalized alias → modules (patterns without wildcards) */
  exactAliases: Map<string, string[]>;
  /** alias patterns with fnmatch wildcards, in file order */
  globAliases: GlobAlias[];
  softdeps: Map<string, SoftDeps>;
  /** modules with a cpu: alias: they refuse to load (ENODEV) on CPUs without the feature */
  cpuSpecific: Set<string>;
}

const text = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

/** Lines with the byte offset each starts at, for FormatError offsets. */
function* lines(s: string): Generator<{ line: string; offset: number; no: number }> {
  let offset = 0;
  let no = 1;
  for (const line of s.split("\n")) {
    yield { line, offset, no };
    offset += line.length + 1;
    no++;
  }
}

export function parseModulesDep(s: string, source: string): Map<string, ModuleEntry> {
  const modules = new Map<string, ModuleEntry>();
  for (const { line, offset, no } of lines(s)) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    const path = colon < 0 ? "" : line.slice(0, colon).trim();
    const mod = path ? parseModulePath(path) : undefined;
    if (!mod) throw new FormatError("modules.dep", offset, `line ${no}: expected "path.ko: dependencies...", got ${JSON.stringify(line.slice(0, 80))}`, source);
    const deps: string[] = [];
    for (const d of line.slice(colon + 1).split(/\s+/).filter(Boolean)) {
      const dm = parseModulePath(d);
      if (!dm) throw new FormatError("modules.dep", offset, `line ${no}: ${JSON.stringify(d)} is not a module file name`, source);
      deps.push(dm.name);
    }
    // depmod writes each module once; should a name repeat, the first line wins, as in kmod
    if (!modules.has(mod.name)) modules.set(mod.name, { name: mod.name, path, compression: mod.compression, deps });
  }
  return modules;
}

export function parseModulesBuiltin(s: string): Set<string> {
  const out = new Set<string>();
  for (const { line } of lines(s)) {
    const m = line.trim() ? parseModulePath(line.trim()) : undefined;
    if (m) out.add(m.name);
  }
  return out;
}

/** modules.builtin.modinfo: NUL-separated "module.key=value"; the alias= ones matter here. */
export function parseBuiltinModinfo(s: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rec of s.split("\0")) {
    const m = /^([^.=]+)\.alias=(.+)$/.exec(rec);
    if (m) push(out, normalizeAlias(m[2]), normalizeModuleName(m[1]));
  }
  return out;
}

/** fnmatch(3) without flags, the way kmod matches alias patterns, as a RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith("!")) cls = "^" + cls.slice(1);
      re += "[" + cls.replace(/\\/g, "\\\\") + "]";
      i = end;
    } else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

const isGlob = (p: string) => /[*?[]/.test(p);

/**
 * A wildcard alias line. modules.alias has tens of thousands (pci:v..., usb:v...), and the build
 * asks for a handful of names: each pattern is compiled only once a name has its literal prefix.
 */
export interface GlobAlias {
  glob: string;
  /** the pattern up to its first wildcard: a matching name starts with it */
  prefix: string;
  module: string;
  regexp?: RegExp;
}

function parseAliases(s: string, idx: Pick<ModuleIndex, "exactAliases" | "globAliases" | "cpuSpecific">): void {
  for (const { line } of lines(s)) {
    const m = /^alias\s+(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const pattern = normalizeAlias(m[1]);
    const module = normalizeModuleName(m[2]);
    if (/^(x86)?cpu:/.test(pattern)) idx.cpuSpecific.add(module);
    if (isGlob(pattern)) idx.globAliases.push({ glob: pattern, prefix: pattern.slice(0, pattern.search(/[*?[]/)), module });
    else push(idx.exactAliases, pattern, module);
  }
}

export function parseSoftdeps(s: string): Map<string, SoftDeps> {
  const out = new Map<string, SoftDeps>();
  for (const { line } of lines(s)) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "softdep" || words.length < 2) continue;
    const name = normalizeModuleName(words[1]);
    const sd = out.get(name) ?? { pre: [], post: [] };
    let list: string[] | undefined;
    for (const w of words.slice(2)) {
      if (w === "pre:") list = sd.pre;
      else if (w === "post:") list = sd.post;
      else list?.push(w);
    }
    out.set(name, sd);
  }
  return out;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (!l) m.set(k, [v]);
  else if (!l.includes(v)) l.push(v);
}

/** Undefined when the tree has no modules.dep there. */
export function loadModuleIndex(source: ModuleSource): ModuleIndex | undefined {
  const dir = resolvePath(source.tree, source.dir);
  if (!dir || dir.node.kind !== "dir") return undefined;
  const file = (name: string) => readTreeFile(source.tree, dir.path ? `${dir.path}/${name}` : name);
  const dep = file("modules.dep");
  if (!dep) return undefined;
  const where = (name: string) => `${source.label}: ${dir.path ? dir.path + "/" : ""}${name}`;
  const idx: ModuleIndex = {
    source,
    realDir: dir.path,
    modules: parseModulesDep(text(dep), where("modules.dep")),
    builtin: new Set(),
    builtinAliases: new Map(),
    exactAliases: new Map(),
    globAliases: [],
    softdeps: new Map(),
    cpuSpecific: new Set(),
  };
  const builtin = file("modules.builtin");
  if (builtin) idx.builtin = parseModulesBuiltin(text(builtin));
  const modinfo = file("modules.builtin.modinfo");
  if (modinfo) idx.builtinAliases = parseBuiltinModinfo(text(modinfo));
  const alias = file("modules.alias");
  if (alias) parseAliases(text(alias), idx);
  const softdep = file("modules.softdep");
  if (softdep) idx.softdeps = parseSoftdeps(text(softdep));
  return idx;
}

/** Modules whose alias patterns match `alias` (already normalized), exact ones first. */
export function matchAlias(idx: ModuleIndex, alias: string): string[] {
  const out = [...(idx.exactAliases.get(alias) ?? [])];
  for (const g of idx.globAliases) {
    if (!alias.startsWith(g.prefix) || out.includes(g.module)) continue;
    g.regexp ??= globToRegExp(g.glob);
    if (g.regexp.test(alias)) out.push(g.module);
  }
  return out;
}

/** The module file of an entry, if the tree has it. */
export function moduleFile(idx: ModuleIndex, entry: ModuleEntry): { node: FileNode; path: ByteString } | undefined {
  const p = entry.path.startsWith("/") ? entry.path : idx.realDir ? `${idx.realDir}/${entry.path}` : entry.path;
  const r = resolvePath(idx.source.tree, p);
  return r && r.node.kind === "file" ? { node: r.node, path: r.path } : undefined;
}
