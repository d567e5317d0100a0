/**
 * boot-report: where a boot's time went. The edge: reads the kernel log (/dev/kmsg, else dmesg,
 * else the journal; the journal too when the ring buffer no longer holds the boot's start; --boot
 * ID from the journal; --from FILE) and systemd-analyze's summary (--systemd-analyze FILE, or the
 * command when systemd is PID 1 and the report is of this boot); the parsing and the phases are
 * src/formats/boot-log.
 */
import { Command } from "commander";
import { spawnSync } from "node:child_process";
import { closeSync, constants, openSync, readFileSync, readSync } from "node:fs";
import { FormatError, InitoverlayfsError, UsageError } from "../../errors.js";
import { buildBootReport, JOURNAL_FIELDS, parseJournalKernelLog, parseKernelLog, parseKernelLogOrJournal, oldestLine, parseSystemdAnalyze, reachesBootStart, renderBootReport, type KernelLogLine, type SystemdAnalyzeTimes } from "../../formats/boot-log/index.js";
import { EXIT } from "../exit-codes.js";

/** Every record /dev/kmsg still holds: read without blocking until EAGAIN (the end of the buffer). */
function readKmsg(): string {
  const fd = openSync("/dev/kmsg", constants.O_RDONLY | constants.O_NONBLOCK);
  // one record per read; a record is at most 8 KiB (CONSOLE_EXT_LOG_MAX)
  const buf = Buffer.alloc(16 * 1024);
  const records: string[] = [];
  try {
    for (;;) {
      try {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        records.push(buf.toString("utf8", 0, n));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") break;
        // the records before this one were overwritten while we read: go on with the rest
        if (code === "EPIPE") continue;
        throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
  return records.join("");
}

function readDmesg(): string {
  const r = spawnSync("dmesg", [], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new InitoverlayfsError(`exit ${r.status}: ${r.stderr.trim().split("\n")[0].replace(/^dmesg: /, "")}`);
  return r.stdout;
}

/** A boot's kernel records as the journal keeps them (`journalctl -k -b BOOT -o json`), the fields the reader reads. */
function readJournal(boot: string): string {
  const args = ["-k", "-b", boot, "-o", "json", "--all", "--no-pager", `--output-fields=${JOURNAL_FIELDS.join(",")}`];
  const r = spawnSync("journalctl", args, { encoding: "utf8", maxBuffer: 1 << 28, timeout: 120_000 });
  // each message names journalctl: "spawnSync journalctl ENOENT", or its own first line
  if (r.error) throw r.error;
  if (r.status !== 0) throw new InitoverlayfsError(`journalctl -k -b ${boot}: exit ${r.status}: ${(r.stderr || r.stdout).trim().split("\n")[0]}`);
  return r.stdout;
}

interface KernelLog { lines: KernelLogLine[]; source: string; notes: string[] }

function journalLog(boot: string): KernelLog {
  const source = `journal (journalctl -k -b ${boot})`;
  const text = readJournal(boot);
  // no journal files, or none of that boot: journalctl prints nothing and exits 0
  if (!text.trim()) throw new InitoverlayfsError(`journalctl -k -b ${boot}: no kernel record of that boot in the journal`);
  return { lines: withSource(source, () => parseJournalKernelLog(text)), source, notes: [] };
}

/**
 * This boot's kernel log: /dev/kmsg, else dmesg, else the journal. The kernel's ring buffer
 * wraps on a machine that has been up for a while; then the journal, which keeps the whole boot,
 * stands in when it reaches further back.
 */
function liveKernelLog(): KernelLog {
  const failed: string[] = [];
  let hint = "";
  let ring: KernelLog | undefined;
  for (const [source, read] of [["/dev/kmsg", readKmsg], ["dmesg", readDmesg]] as const) {
    try {
      const text = read();
      ring = { lines: withSource(source, () => parseKernelLog(text)), source, notes: [] };
      break;
    } catch (e) {
      if (e instanceof FormatError) throw e;
      if ((e as NodeJS.ErrnoException).code === "EPERM") hint = " (kernel.dmesg_restrict: run as root, or use --from FILE)";
      failed.push(`${source}: ${(e as Error).message}`);
    }
  }
  if (ring && reachesBootStart(ring.lines)) return ring;
  let journal: KernelLog | undefined;
  let journalFailure = "";
  try {
    journal = journalLog("0");
  } catch (e) {
    journalFailure = (e as Error).message;
  }
  if (!ring && !journal) throw new InitoverlayfsError(`cannot read the kernel log: ${[...failed, journalFailure].join("; ")}${hint}`);
  if (!ring) {
    journal!.notes.push(`read from the journal: ${failed.join("; ")}`);
    return journal!;
  }
  if (!journal) {
    ring.notes.push(`the journal could not stand in: ${journalFailure}`);
    return ring;
  }
  if (journal.lines[0].usec < ring.lines[0].usec) {
    journal.notes.push(`read from the journal: ${ring.source} no longer holds this boot's start (${oldestLine(ring.lines)})`);
    return journal;
  }
  ring.notes.push(`the journal reaches back no further (${oldestLine(journal.lines)})`);
  return ring;
}

/**
 * systemd-analyze's summary when systemd runs this system (null when it does not, or the tool is
 * missing); when it cannot answer (no bus, say) the report goes on without it, with a note.
 */
function liveSystemdAnalyze(): { times: SystemdAnalyzeTimes | null; note?: string } {
  let pid1 = "";
  try {
    pid1 = readFileSync("/proc/1/comm", "utf8").trim();
  } catch {
    return { times: null };
  }
  if (pid1 !== "systemd") return { times: null };
  const r = spawnSync("systemd-analyze", ["time"], { encoding: "utf8", timeout: 30_000 });
  if (r.error) return { times: null, note: `systemd-analyze: ${r.error.message}` };
  try {
    // before the boot is done it says so on stderr and exits non-zero
    return { times: parseSystemdAnalyze(`${r.stdout}\n${r.stderr}`, "systemd-analyze time") };
  } catch {
    return { times: null, note: `systemd-analyze time: exit ${r.status}: ${(r.stderr || r.stdout).trim().split("\n")[0]}` };
  }
}

function withSource<T>(source: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof FormatError ? e.withSource(source) : e;
  }
}

// journalctl's boot selectors: an offset (0 this boot, -1 the one before) or a boot ID, optionally with an offset
const BOOT_SELECTOR = /^(?:[+-]?\d{1,6}|[0-9a-f]{32}(?:[+-]\d{1,6})?)$/;

export function bootReportCommand(): Command {
  return new Command("boot-report")
    .description("where a boot's time went, from the kernel log: the kernel until the first program, each storage-init step, the hand-over, the original init until the real root, and systemd-analyze's summary; exit 1 if the log shows storage-init failed")
    .option("--from <file>", "read a saved kernel log (dmesg output, a serial console capture, /dev/kmsg records, or journalctl -k -o json output) instead of this boot's")
    .option("--boot <id>", "read that boot's kernel log from the journal (journalctl -b: 0 this boot, -1 the one before, or a boot ID)")
    .option("--systemd-analyze <file>", "read saved `systemd-analyze time` output (default: run it when systemd is PID 1 and the report is of this boot)")
    .option("--json", "print the report as JSON (times in seconds since the kernel started)")
    .action((o) => {
      if (o.from && o.boot !== undefined) throw new UsageError("--from and --boot: give one of them");
      if (o.boot !== undefined && !BOOT_SELECTOR.test(o.boot)) throw new UsageError(`--boot: expected 0, -1, ... or a 32-digit boot ID, got ${JSON.stringify(o.boot)}`);
      const log: KernelLog = o.from
        ? { lines: withSource(o.from, () => parseKernelLogOrJournal(readFileSync(o.from, "utf8"))), source: o.from as string, notes: [] }
        : o.boot !== undefined ? journalLog(o.boot) : liveKernelLog();
      const thisBoot = !o.from && (o.boot === undefined || o.boot === "0");
      const analyze = o.systemdAnalyze
        ? { times: withSource(o.systemdAnalyze, () => parseSystemdAnalyze(readFileSync(o.systemdAnalyze, "utf8"))) }
        : thisBoot ? liveSystemdAnalyze() : { times: null };
      const report = buildBootReport(log.lines, analyze.times);
      report.notes.push(...log.notes);
      if (analyze.note) report.notes.push(analyze.note);
      process.stdout.write(o.json ? JSON.stringify({ source: log.source, ...report }, null, 2) + "\n" : renderBootReport(report));
      if (report.storageInit?.outcome === "failed") process.exitCode = EXIT.PROBLEMS;
    });
}
