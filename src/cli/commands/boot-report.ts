/**
 * boot-report: where this boot's time went. The edge: reads the kernel log (/dev/kmsg, else
 * dmesg, or --from FILE) and systemd-analyze's summary (--systemd-analyze FILE, or the command
 * when systemd is PID 1); the parsing and the phases are src/formats/boot-log.
 */
import { Command } from "commander";
import { spawnSync } from "node:child_process";
import { closeSync, constants, openSync, readFileSync, readSync } from "node:fs";
import { FormatError, InitoverlayfsError } from "../../errors.js";
import { buildBootReport, parseKernelLog, parseSystemdAnalyze, renderBootReport, type SystemdAnalyzeTimes } from "../../formats/boot-log/index.js";
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

/** This boot's kernel log, and what it was read from. */
function liveKernelLog(): { text: string; source: string } {
  try {
    return { text: readKmsg(), source: "/dev/kmsg" };
  } catch (e) {
    try {
      return { text: readDmesg(), source: "dmesg" };
    } catch (e2) {
      const hint = (e as NodeJS.ErrnoException).code === "EPERM" ? " (kernel.dmesg_restrict: run as root, or use --from FILE)" : "";
      throw new InitoverlayfsError(`cannot read the kernel log: /dev/kmsg: ${(e as Error).message}; dmesg: ${(e2 as Error).message}${hint}`);
    }
  }
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

export function bootReportCommand(): Command {
  return new Command("boot-report")
    .description("where this boot's time went, from the kernel log: the kernel until the first program, each storage-init step, the hand-over, the original init until the real root, and systemd-analyze's summary; exit 1 if the log shows storage-init failed")
    .option("--from <file>", "read a saved kernel log (dmesg output, a serial console capture, or /dev/kmsg records) instead of this boot's")
    .option("--systemd-analyze <file>", "read saved `systemd-analyze time` output (default: run it when systemd is PID 1 and no --from is given)")
    .option("--json", "print the report as JSON (times in seconds since the kernel started)")
    .action((o) => {
      const log = o.from ? { text: readFileSync(o.from, "utf8"), source: o.from as string } : liveKernelLog();
      const lines = withSource(log.source, () => parseKernelLog(log.text));
      const analyze = o.systemdAnalyze
        ? { times: withSource(o.systemdAnalyze, () => parseSystemdAnalyze(readFileSync(o.systemdAnalyze, "utf8"))) }
        : o.from ? { times: null } : liveSystemdAnalyze();
      const report = buildBootReport(lines, analyze.times);
      if (analyze.note) report.notes.push(analyze.note);
      process.stdout.write(o.json ? JSON.stringify({ source: log.source, ...report }, null, 2) + "\n" : renderBootReport(report));
      if (report.storageInit?.outcome === "failed") process.exitCode = EXIT.PROBLEMS;
    });
}
