/**
 * The kernel log as text: lines as dmesg and the serial console print them
 * ("[    2.640875] message", anything before the bracket being other output on the same console
 * line) and records as /dev/kmsg gives them ("6,339,2640875,-;message", continuation lines
 * " KEY=value" ignored). Pure: text in, lines out.
 */
import { FormatError } from "../../errors.js";
import { isJournalJson, parseJournalKernelLog } from "./journal.js";

export interface KernelLogLine {
  /** microseconds since the kernel started (the kernel's own timestamp) */
  usec: number;
  message: string;
  /** byte offset of the line in the input */
  offset: number;
}

// priority,sequence,microseconds,flags[,more fields];message (Documentation/ABI/testing/dev-kmsg)
const KMSG_RECORD = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/;
// the first "[ seconds.micro]" on a line; dmesg may add a caller id "[    T1]" after it
const DMESG_LINE = /\[\s*(\d+)\.(\d{6})\](?:\[\s*[TC]\d+\])? ?(.*)$/;

const EXPECTED = "expected kernel log lines as dmesg prints them (\"[    2.640875] message\") or /dev/kmsg records (\"6,339,2640875,-;message\")";

/**
 * The timestamped lines of a kernel log, in time order, each once (a console capture may show a
 * line twice: as the kernel printed it and again in a later dmesg dump). Throws a FormatError
 * when the text holds no kernel log line at all.
 */
export function parseKernelLog(text: string, source?: string): KernelLogLine[] {
  const out: KernelLogLine[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const k = KMSG_RECORD.exec(line);
    const d = k ? undefined : DMESG_LINE.exec(line);
    const usec = k ? Number(k[3]) : d ? Number(d[1]) * 1_000_000 + Number(d[2]) : undefined;
    const message = (k ? k[4] : d ? d[3] : undefined)?.trimEnd();
    if (usec !== undefined && message !== undefined && Number.isSafeInteger(usec)) {
      const key = `${usec} ${message}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ usec, message, offset });
      }
    }
    offset += Buffer.byteLength(raw, "utf8") + 1;
  }
  if (!out.length) throw new FormatError("kernel log", 0, text.length ? `no timestamped line found; ${EXPECTED}` : `empty; ${EXPECTED}`, source);
  // stable: lines with the same timestamp keep their order
  return out.sort((a, b) => a.usec - b.usec);
}

/** The kernel log in any of its forms: text (dmesg, a console, /dev/kmsg records) or the journal's JSON. */
export function parseKernelLogOrJournal(text: string, source?: string): KernelLogLine[] {
  return isJournalJson(text) ? parseJournalKernelLog(text, source) : parseKernelLog(text, source);
}
