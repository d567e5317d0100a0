/**
 * Where a boot's time went, from its kernel log (and systemd-analyze's summary, when there is
 * one): the kernel until the first program, storage-init step by step until the hand-over, the
 * original init until the real root. systemd charges everything before its own first start to
 * "kernel"; this report splits that up. Pure: parsed lines in, report out. Times are seconds
 * since the kernel started (the kernel log's clock).
 */
import type { KernelLogLine } from "./kernel-log.js";
import type { SystemdAnalyzeTimes } from "./systemd-analyze.js";
import { KERNEL_LINES, STORAGE_INIT_LINES, STORAGE_INIT_PREFIX, SYSTEMD_LINES } from "./markers.js";

export interface BootStep {
  /** when the line was logged */
  at: number;
  /** since the previous step (the first: since the kernel ran the first program) */
  seconds: number;
  /** storage-init's line, without its prefix */
  message: string;
}

export type RealRootMarker = "switch-shim" | "root-init-exec" | "systemd" | "kernel-mounted-root";

export interface BootPhase {
  from: number;
  to: number;
  seconds: number;
  /** the log line that ends the phase */
  until: string;
}

export interface BootReport {
  /** whether storage-init ran in this boot; null when the log does not reach back far enough to tell */
  initoverlayfs: boolean | null;
  /** whether the log holds the kernel's first line (a ring buffer that wrapped has lost it) */
  fromBootStart: boolean;
  /** the kernel's "Run X as init process" */
  firstProgram: { path: string; at: number } | null;
  /** the kernel unpacking the boot loader's initramfs (part of the kernel phase) */
  initramfsUnpack: { from: number; to: number; seconds: number } | null;
  storageInit: {
    version: string;
    startedAt: number;
    outcome: "handed-over" | "failed" | "unfinished";
    steps: BootStep[];
    /** the line "starting /init from the image (N ms)": N is storage-init's own count */
    handOver: { at: number; init: string; reportedMs: number } | null;
    failure: { at: number; step: string; detail: string } | null;
    /** the last step it finished (its last line that is not a failure): where it got to */
    lastStep: BootStep;
  } | null;
  /** when the real root took over, and which line says so */
  realRoot: { at: number; marker: RealRootMarker; message: string } | null;
  /** null when the log does not show where the phase ends (a note says why) */
  phases: { kernel: BootPhase | null; storageInit: BootPhase | null; originalInit: BootPhase | null };
  systemdAnalyze: SystemdAnalyzeTimes | null;
  /** what the log does not say, in words */
  notes: string[];
}

const sec = (usec: number) => usec / 1e6;

/** Where to look when the kernel's ring buffer has wrapped. */
const JOURNAL_HINT = "the journal keeps the whole boot (boot-report --boot 0, or --from the output of journalctl -k -b 0 -o json)";

/** Where a log that lost its start begins, in words: "its oldest line is at 4.013 s". */
export function oldestLine(lines: readonly KernelLogLine[]): string {
  return `its oldest line is at ${sec(lines[0].usec).toFixed(3)} s`;
}

/** Whether a kernel log holds its boot's first line (the kernel's banner). */
export function reachesBootStart(lines: readonly KernelLogLine[]): boolean {
  return lines.some((l) => KERNEL_LINES.banner.test(l.message));
}

interface Hit { i: number; m: RegExpExecArray; line: KernelLogLine }

export function buildBootReport(lines: KernelLogLine[], systemdAnalyze: SystemdAnalyzeTimes | null = null): BootReport {
  const notes: string[] = [];
  /** the first line from index `from` on whose message (without storage-init's prefix when `ours`) matches */
  const find = (re: RegExp, from = 0, ours = false): Hit | undefined => {
    for (let i = from; i < lines.length; i++) {
      const msg = lines[i].message;
      if (ours && !msg.startsWith(STORAGE_INIT_PREFIX)) continue;
      const m = re.exec(ours ? msg.slice(STORAGE_INIT_PREFIX.length) : msg);
      if (m) return { i, m, line: lines[i] };
    }
    return undefined;
  };

  const fromBootStart = reachesBootStart(lines);
  const run = find(KERNEL_LINES.runInit);
  const firstProgram = run ? { path: run.m[1], at: sec(run.line.usec) } : null;
  const unpackStart = find(KERNEL_LINES.unpackStart);
  const unpackEnd = unpackStart && find(KERNEL_LINES.unpackEnd, unpackStart.i);
  const initramfsUnpack = unpackStart && unpackEnd
    ? { from: sec(unpackStart.line.usec), to: sec(unpackEnd.line.usec), seconds: sec(unpackEnd.line.usec - unpackStart.line.usec) }
    : null;

  // storage-init: from its start line to the hand-over, a failure, or the end of the log
  const start = find(STORAGE_INIT_LINES.start, 0, true);
  const lateHandOver = start ? undefined : find(STORAGE_INIT_LINES.handOver, 0, true);
  // the kernel's work ends when it runs the first program (storage-init's start line comes right after)
  const kernelEnd = run && (!start || run.i <= start.i) ? run : start;
  let storageInit: BootReport["storageInit"] = null;
  let originalInitFrom: KernelLogLine | undefined;
  if (start) {
    const steps: BootStep[] = [];
    let prev = kernelEnd!.line.usec;
    let handOver: NonNullable<BootReport["storageInit"]>["handOver"] = null;
    let failure: NonNullable<BootReport["storageInit"]>["failure"] = null;
    for (let i = start.i; i < lines.length && !handOver && !failure; i++) {
      const l = lines[i];
      if (!l.message.startsWith(STORAGE_INIT_PREFIX)) continue;
      const message = l.message.slice(STORAGE_INIT_PREFIX.length);
      steps.push({ at: sec(l.usec), seconds: sec(l.usec - prev), message });
      prev = l.usec;
      const h = STORAGE_INIT_LINES.handOver.exec(message);
      const f = h ? null : STORAGE_INIT_LINES.failed.exec(message);
      if (h) {
        handOver = { at: sec(l.usec), init: h[1], reportedMs: Number(h[2]) };
        originalInitFrom = l;
      } else if (f) {
        failure = { at: sec(l.usec), step: f[1], detail: f[2] };
      }
    }
    const lastStep = failure && steps.length > 1 ? steps[steps.length - 2] : steps[steps.length - 1];
    storageInit = { version: start.m[1], startedAt: sec(start.line.usec), outcome: handOver ? "handed-over" : failure ? "failed" : "unfinished", steps, handOver, failure, lastStep };
    if (failure) notes.push(`storage-init failed at "${failure.step}" (${failure.detail}) after "${lastStep.message}": no hand-over, the original init never ran`);
    else if (!handOver) notes.push(`storage-init's last line is "${lastStep.message}": the log ends before the hand-over`);
  } else if (lateHandOver) {
    // the log lost storage-init's first lines but kept its hand-over: the original init's phase is still there
    notes.push(`storage-init's first lines are not in the log (${oldestLine(lines)}): its phase is unknown; it handed over at ${sec(lateHandOver.line.usec).toFixed(3)} s; ${JOURNAL_HINT}`);
    originalInitFrom = lateHandOver.line;
  } else if (run || fromBootStart) {
    notes.push("no initoverlayfs stage in this boot: storage-init did not run (no \"storage-init ... starting\" line)");
    originalInitFrom = run?.line;
  } else {
    // storage-init logs right after the kernel runs it: without that line or the banner, its absence says nothing
    notes.push(`the log does not reach back to this boot's start (${oldestLine(lines)}; no "Linux version" or "Run ... as init process" line): whether storage-init ran is unknown; ${JOURNAL_HINT}`);
  }

  // the real root: the earliest line after the original init's start that only the real root's start makes
  let realRoot: BootReport["realRoot"] = null;
  const mounted = find(KERNEL_LINES.mountedRoot);
  if (!start && run && mounted && mounted.i < run.i) {
    realRoot = { at: sec(run.line.usec), marker: "kernel-mounted-root", message: mounted.line.message };
    originalInitFrom = undefined;
    notes.push("the kernel mounted the root itself (no initramfs stage): its first program is the real root's init");
  } else if (originalInitFrom) {
    const from = lines.indexOf(originalInitFrom);
    const candidates: { line: KernelLogLine; marker: RealRootMarker }[] = [];
    const shim = find(STORAGE_INIT_LINES.switched, from, true);
    if (shim) candidates.push({ line: shim.line, marker: "switch-shim" });
    const exec = find(KERNEL_LINES.rootInitExec, from);
    if (exec) candidates.push({ line: exec.line, marker: "root-init-exec" });
    // systemd in the initrd says "Running in initrd." before it starts again in the real root
    let rootSystemd: number | undefined;
    for (let i = from, current = -1; i <= lines.length && rootSystemd === undefined; i++) {
      const msg = i < lines.length ? lines[i].message : undefined;
      if (msg === undefined || SYSTEMD_LINES.systemMode.test(msg)) {
        // the previous start said nothing of an initrd before this one (or the end): the real root's
        if (current >= 0) rootSystemd = current;
        current = i;
      } else if (current >= 0 && SYSTEMD_LINES.inInitrd.test(msg)) {
        current = -1;
      }
    }
    if (rootSystemd !== undefined) candidates.push({ line: lines[rootSystemd], marker: "systemd" });
    candidates.sort((a, b) => a.line.usec - b.line.usec);
    if (candidates.length) realRoot = { at: sec(candidates[0].line.usec), marker: candidates[0].marker, message: candidates[0].line.message };
    else notes.push("nothing in the log marks the real root (no switch line from our shims, no exec of /sbin/init logged by the kernel, no systemd start outside the initrd): the original init's phase is unknown");
  }

  const phases: BootReport["phases"] = { kernel: null, storageInit: null, originalInit: null };
  if (start && !run) notes.push("the kernel's \"Run ... as init process\" line is not in the log: the kernel's phase ends at storage-init's first line");
  if (kernelEnd) phases.kernel = { from: 0, to: sec(kernelEnd.line.usec), seconds: sec(kernelEnd.line.usec), until: kernelEnd.line.message };
  // (without the banner either, the note on the log's start says it)
  else if (fromBootStart) notes.push("the kernel's \"Run ... as init process\" line is not in the log: the kernel's phase is unknown");
  if (storageInit) {
    const end = storageInit.steps[storageInit.steps.length - 1];
    const from = kernelEnd!.line.usec, to = Math.round(end.at * 1e6);
    phases.storageInit = { from: sec(from), to: sec(to), seconds: sec(to - from), until: STORAGE_INIT_PREFIX + end.message };
  }
  if (originalInitFrom && realRoot) {
    const to = Math.round(realRoot.at * 1e6);
    phases.originalInit = { from: sec(originalInitFrom.usec), to: realRoot.at, seconds: sec(to - originalInitFrom.usec), until: realRoot.message };
  }
  if (systemdAnalyze && !systemdAnalyze.finished) notes.push("systemd-analyze: the boot is not finished yet");

  return { initoverlayfs: start || lateHandOver ? true : run || fromBootStart ? false : null, fromBootStart, firstProgram, initramfsUnpack, storageInit, realRoot, phases, systemdAnalyze, notes };
}
