/**
 * The summary `systemd-analyze time` prints (src/analyze/analyze-time-data.c pretty_boot_time()):
 * "Startup finished in 1.2s (firmware) + 800ms (loader) + 3.4s (kernel) + 2.1s (initrd) +
 * 5.6s (userspace) = 13.1s", every part but userspace optional, each a format_timespan() value
 * ("1min 5.947s", "876ms"). Before the boot is done it says "Bootup is not yet finished ...".
 * Pure: text in, seconds out.
 */
import { FormatError } from "../../errors.js";

export interface SystemdAnalyzeTimes {
  /** false when systemd said the boot is not finished yet: every time is then null */
  finished: boolean;
  firmware: number | null;
  loader: number | null;
  /** from the kernel's start until systemd first started (in the initrd, or the real root) */
  kernel: number | null;
  /** from systemd's start in the initrd until the switch to the real root */
  initrd: number | null;
  softReboot: number | null;
  userspace: number | null;
  total: number | null;
}

const LABELS = { firmware: "firmware", loader: "loader", kernel: "kernel", initrd: "initrd", "soft reboot": "softReboot", userspace: "userspace" } as const;
type Label = keyof typeof LABELS;

// format_timespan()'s units (src/basic/time-util.c), longest first as it prints them
const UNITS: Record<string, number> = { y: 31_557_600, month: 2_629_800, w: 604_800, d: 86_400, h: 3_600, min: 60, s: 1, ms: 1e-3, us: 1e-6, "μs": 1e-6 };
const START = "Startup finished in ";
const NOT_FINISHED = "Bootup is not yet finished";

/** Seconds of one format_timespan() value, or undefined when it is not one. */
export function parseTimespan(text: string): number | undefined {
  if (text === "0") return 0;
  const parts = text.split(" ");
  let seconds = 0;
  for (const p of parts) {
    const m = /^(\d+(?:\.\d+)?)([a-zμ]+)$/.exec(p);
    if (!m || !(m[2] in UNITS)) return undefined;
    seconds += Number(m[1]) * UNITS[m[2]];
  }
  // whole microseconds: what systemd measured
  return Math.round(seconds * 1e6) / 1e6;
}

export function parseSystemdAnalyze(text: string, source?: string): SystemdAnalyzeTimes {
  const times: SystemdAnalyzeTimes = { finished: true, firmware: null, loader: null, kernel: null, initrd: null, softReboot: null, userspace: null, total: null };
  const at = text.indexOf(START);
  if (at < 0) {
    if (text.includes(NOT_FINISHED)) return { ...times, finished: false };
    throw new FormatError("systemd-analyze", 0, `expected a line "${START}... (userspace) = ..." or "${NOT_FINISHED}"`, source);
  }
  const lineStart = at;
  const end = text.indexOf("\n", at);
  const line = text.slice(at + START.length, end < 0 ? undefined : end);
  const byteAt = (i: number) => Buffer.byteLength(text.slice(0, lineStart + START.length + i), "utf8");
  const bad = (i: number, what: string): never => {
    throw new FormatError("systemd-analyze", byteAt(i), what, source);
  };
  // "A (x) + B (y) + C (userspace) = T": the total after the last "=", then the parts
  const eq = line.lastIndexOf(" = ");
  const partsText = eq < 0 ? line.trimEnd() : line.slice(0, eq);
  if (eq >= 0) {
    const t = parseTimespan(line.slice(eq + 3).trim());
    if (t === undefined) bad(eq + 3, `expected a time span after "=", got ${JSON.stringify(line.slice(eq + 3).trim())}`);
    times.total = t ?? null;
  }
  let pos = 0;
  for (const part of partsText.split(" + ")) {
    const m = /^(.+) \(([a-z ]+)\)$/.exec(part);
    if (!m || !(m[2] in LABELS)) bad(pos, `expected "TIME (firmware|loader|kernel|initrd|soft reboot|userspace)", got ${JSON.stringify(part)}`);
    const seconds = parseTimespan(m![1]);
    if (seconds === undefined) bad(pos, `expected a time span such as "1min 2.345s" or "876ms", got ${JSON.stringify(m![1])}`);
    const key = LABELS[m![2] as Label];
    if (times[key] !== null) bad(pos, `"(${m![2]})" twice`);
    times[key] = seconds!;
    pos += part.length + 3;
  }
  if (times.userspace === null) bad(0, `expected a "(userspace)" part`);
  return times;
}
