/**
 * The kernel log as the journal keeps it: `journalctl -k -o json`, one JSON object per line.
 * journald stores each /dev/kmsg record with the kernel's own timestamp
 * (`_SOURCE_MONOTONIC_TIMESTAMP`, microseconds) and `_TRANSPORT=kernel`. From a record a program
 * wrote (any facility but the kernel's: storage-init's lines, systemd's early ones) it splits
 * "identifier[pid]: " off into `SYSLOG_IDENTIFIER` and `SYSLOG_PID` (src/journal/journald-kmsg.c),
 * so the line is put back together as the program wrote it. The ring buffer wraps; the journal
 * keeps the whole boot, and earlier boots. Pure: text in, lines out.
 */
import { FormatError } from "../../errors.js";
import type { KernelLogLine } from "./kernel-log.js";

/** The fields the reader reads (`journalctl --output-fields`; JSON output adds the cursor, its timestamps and _BOOT_ID). */
export const JOURNAL_FIELDS = ["_TRANSPORT", "_SOURCE_MONOTONIC_TIMESTAMP", "MESSAGE", "SYSLOG_FACILITY", "SYSLOG_IDENTIFIER", "SYSLOG_PID"] as const;

const FORMAT = "journal";
const EXPECTED = "expected `journalctl -k -o json` output (one JSON object per line)";

/** Whether the text is journalctl's JSON rather than a kernel log as text. */
export function isJournalJson(text: string): boolean {
  return text.trimStart().startsWith("{");
}

/** A field's value: a string, bytes (not UTF-8, or control characters) as an array of numbers, the first of several values, or undefined (absent, or left out: over 4 KiB without --all). */
function field(record: Record<string, unknown>, name: string): string | undefined {
  let v = record[name];
  // a field the record holds more than once: an array of values (a byte array is an array of numbers)
  if (Array.isArray(v) && v.length && typeof v[0] !== "number") v = v[0];
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return Buffer.from(v as number[]).toString("utf8");
  return undefined;
}

/** The line as the kernel log shows it: a program's record gets its "identifier[pid]: " back. */
function kmsgText(record: Record<string, unknown>, message: string): string {
  const facility = field(record, "SYSLOG_FACILITY");
  const ident = field(record, "SYSLOG_IDENTIFIER");
  // the kernel's own records: facility 0, identifier "kernel" (older journald sets no facility)
  if (ident === undefined || facility === "0" || (facility === undefined && ident === "kernel")) return message;
  const pid = field(record, "SYSLOG_PID");
  return `${ident}${pid !== undefined ? `[${pid}]` : ""}: ${message}`;
}

/**
 * The kernel records of one boot, in time order. Records of other transports (a whole
 * `journalctl -b -o json`) are passed over; records of more than one boot, a line that is not a
 * JSON object, or a kernel record without its timestamp are a FormatError at that line's offset.
 */
export function parseJournalKernelLog(text: string, source?: string): KernelLogLine[] {
  const out: KernelLogLine[] = [];
  const boots = new Set<string>();
  let offset = 0;
  for (const raw of text.split("\n")) {
    const at = offset;
    offset += Buffer.byteLength(raw, "utf8") + 1;
    if (!raw.trim()) continue;
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch {
      record = undefined;
    }
    if (typeof record !== "object" || record === null || Array.isArray(record)) throw new FormatError(FORMAT, at, `not a JSON object; ${EXPECTED}`, source);
    const r = record as Record<string, unknown>;
    if (field(r, "_TRANSPORT") !== "kernel") continue;
    const boot = field(r, "_BOOT_ID");
    if (boot !== undefined) boots.add(boot);
    if (boots.size > 1) throw new FormatError(FORMAT, at, `records of more than one boot; expected one boot's (journalctl -k -b ID -o json)`, source);
    const ts = field(r, "_SOURCE_MONOTONIC_TIMESTAMP");
    if (ts === undefined || !/^\d{1,16}$/.test(ts)) throw new FormatError(FORMAT, at, `a kernel record without _SOURCE_MONOTONIC_TIMESTAMP (got ${JSON.stringify(r._SOURCE_MONOTONIC_TIMESTAMP)})`, source);
    const message = field(r, "MESSAGE");
    // left out by journalctl (over 4 KiB without --all): no boot phase is marked by such a line
    if (message === undefined) continue;
    out.push({ usec: Number(ts), message: kmsgText(r, message).trimEnd(), offset: at });
  }
  if (!out.length) throw new FormatError(FORMAT, 0, `no kernel record (_TRANSPORT=kernel) found; ${EXPECTED}`, source);
  // stable: records with the same timestamp keep their order
  return out.sort((a, b) => a.usec - b.usec);
}
