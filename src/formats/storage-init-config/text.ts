/**
 * The syntax storage-init's config_parse reads (and install.conf shares): one "key = value" a
 * line, # comments, '-' in keys read as '_', blanks around keys and values trimmed, a value may be
 * double-quoted to keep its blanks. Entries keep their byte offsets so every later check can name
 * where the bad value is.
 */
import { FormatError } from "../../errors.js";
import { ByteString } from "../../fs/tree.js";

export interface ConfigEntry {
  key: string;
  value: string;
  /** byte offset of the entry's line */
  offset: number;
}

/** Every entry in order (module and shim repeat). `text` holds one char per byte (latin1). */
export function parseConfigText(text: ByteString, source = "config"): ConfigEntry[] {
  const out: ConfigEntry[] = [];
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
    let value = line.slice(eq + 1).trim();
    if (value.startsWith('"')) {
      if (value.length < 2 || !value.endsWith('"') || value.slice(1, -1).includes('"')) bad("badly quoted value");
      value = value.slice(1, -1);
    }
    out.push({ key, value, offset: lineAt });
  }
  return out;
}

/** Parsed entries by key: the last one wins for single keys, as in storage-init. */
export class ConfigKeys {
  private readonly last = new Map<string, ConfigEntry>();

  constructor(readonly entries: readonly ConfigEntry[], readonly source = "config") {
    for (const e of entries) this.last.set(e.key, e);
  }

  static parse(text: ByteString, source = "config"): ConfigKeys {
    return new ConfigKeys(parseConfigText(text, source), source);
  }

  has(key: string): boolean {
    return this.last.has(key);
  }

  get(key: string): string | undefined {
    return this.last.get(key)?.value;
  }

  /** A FormatError at the line of `key` (at the start when absent), or of `entry` for a repeated key. */
  error(key: string, why: string, entry: ConfigEntry | undefined = this.last.get(key)): FormatError {
    return new FormatError("config", entry?.offset ?? 0, `${key}: ${why}`, this.source);
  }
}

/** A value as config_parse reads it back: quoted when surrounding blanks would be trimmed. */
export function quoteValue(v: string): string {
  return /^\s|\s$/.test(v) || v.startsWith('"') ? `"${v}"` : v;
}
