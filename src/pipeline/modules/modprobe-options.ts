/**
 * The `options MODULE PARAM...` lines of modprobe.d, which modprobe passes to a module when it
 * loads it (kmod's rules: *.conf files taken in file-name order across the directories, a name in
 * /etc hiding the same name in /run and /lib, a symlink to /dev/null masking it; a line ending in
 * a backslash goes on; `#` starts a comment line). storage-init loads the mini's modules itself,
 * so the build hands it the options the initramfs's own modprobe would have used. Other
 * directives (blacklist, install, softdep, ...) are not options and are skipped.
 */
import { UsageError } from "../../errors.js";
import { FsTree, displayName } from "../../fs/tree.js";
import { normalizeModuleName } from "./names.js";
import { resolvePath } from "./tree-path.js";

/** kmod's configuration directories, the first holding a name wins */
export const MODPROBE_DIRS = ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "lib/modprobe.d", "usr/lib/modprobe.d"] as const;

export interface ModprobeOption {
  /** the parameters as written, e.g. `max_part=8 max_loop=16` */
  params: string;
  /** `FILE line N`, for messages */
  where: string;
}

/** The options lines of one modprobe.d file, by module name ('-' as '_'), in line order. */
export function parseModprobeOptions(text: string, file: string, into = new Map<string, ModprobeOption[]>()): Map<string, ModprobeOption[]> {
  const raw = text.split("\n");
  for (let i = 0; i < raw.length; i++) {
    const no = i + 1;
    let line = raw[i];
    while (line.endsWith("\\") && i + 1 < raw.length) line = line.slice(0, -1) + " " + raw[++i];
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const m = /^options\s+(\S+)\s+(.*)$/.exec(t);
    if (!m) continue;
    const name = normalizeModuleName(m[1]);
    const list = into.get(name) ?? [];
    list.push({ params: m[2].trim(), where: `${file} line ${no}` });
    into.set(name, list);
  }
  return into;
}

/** Every options line of the tree's modprobe.d files, in the order modprobe reads them. */
export function modprobeOptions(tree: FsTree): Map<string, ModprobeOption[]> {
  const files = new Map<string, string>();
  for (const dir of MODPROBE_DIRS) {
    const d = resolvePath(tree, dir);
    if (!d || d.node.kind !== "dir") continue;
    for (const name of d.node.entries.keys()) {
      if (name.endsWith(".conf") && !files.has(name)) files.set(name, `${dir}/${name}`);
    }
  }
  const out = new Map<string, ModprobeOption[]>();
  for (const name of [...files.keys()].sort()) {
    const path = files.get(name)!;
    const link = resolvePath(tree, path, false);
    if (link?.node.kind === "symlink" && link.node.target === "/dev/null") continue; // masked
    const f = resolvePath(tree, path);
    if (f?.node.kind === "file") parseModprobeOptions(new TextDecoder().decode(f.node.content.read()), `/${displayName(path)}`, out);
  }
  return out;
}

/**
 * The parameters for one module, all its options lines joined; undefined without any. The
 * storage-init config carries no double quotes: a quoted option is refused, naming its line.
 */
export function moduleParams(options: Map<string, ModprobeOption[]>, module: string, maxBytes: number): string | undefined {
  const list = options.get(normalizeModuleName(module));
  if (!list?.length) return undefined;
  const quoted = list.find((o) => o.params.includes('"'));
  if (quoted) throw new UsageError(`${quoted.where}: the options for ${module} hold a double quote, which storage-init's configuration cannot carry: write the value without quotes`);
  const params = list.map((o) => o.params).join(" ").replace(/\s+/g, " ");
  if (Buffer.byteLength(params) > maxBytes) throw new UsageError(`${list[0].where}: the options for ${module} are ${Buffer.byteLength(params)} bytes, storage-init takes at most ${maxBytes}`);
  return params;
}
