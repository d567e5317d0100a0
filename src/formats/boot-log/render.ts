/** The boot report as text, for people. Pure. */
import type { BootReport } from "./report.js";
import type { SystemdAnalyzeTimes } from "./systemd-analyze.js";

const s3 = (x: number) => x.toFixed(3);
const PHASE_TITLE = { kernel: "kernel until the first program", storageInit: "storage-init", originalInit: "original init until the real root" } as const;

const MARKER_WORDS = {
  "switch-shim": "the real root, as our run-init/switch_root shim switched to it",
  "root-init-exec": "the real root, as the kernel logged its /sbin/init starting (TOMOYO's activation trigger)",
  systemd: "the real root, as systemd started outside the initrd",
  "kernel-mounted-root": "the real root, mounted by the kernel",
} as const;

function row(title: string, seconds: number, from: number, to: number): string {
  return `${title.padEnd(44)} ${s3(seconds).padStart(8)} s   ${s3(from)} → ${s3(to)}`;
}

function systemdLine(t: SystemdAnalyzeTimes): string {
  if (!t.finished) return "systemd-analyze: the boot is not finished yet";
  const parts = (["firmware", "loader", "kernel", "initrd", "softReboot", "userspace"] as const)
    .filter((k) => t[k] !== null)
    .map((k) => `${s3(t[k]!)} s (${k === "softReboot" ? "soft reboot" : k})`);
  return `systemd-analyze: ${parts.join(" + ")}${t.total !== null ? ` = ${s3(t.total)} s` : ""}`;
}

export function renderBootReport(r: BootReport): string {
  const out: string[] = [`${"phase".padEnd(44)} ${"seconds".padStart(10)}   from → to (kernel clock)`];
  for (const name of ["kernel", "storageInit", "originalInit"] as const) {
    const p = r.phases[name];
    if (!p) continue;
    const title = name === "kernel" && r.firstProgram ? `${PHASE_TITLE.kernel} (${r.firstProgram.path})` : PHASE_TITLE[name];
    out.push(row(title, p.seconds, p.from, p.to));
    if (name === "kernel" && r.initramfsUnpack) out.push(row("  within it: unpacking the initramfs", r.initramfsUnpack.seconds, r.initramfsUnpack.from, r.initramfsUnpack.to));
    if (name === "storageInit" && r.storageInit) {
      for (const st of r.storageInit.steps) out.push(`    +${s3(st.seconds)}  ${s3(st.at).padStart(8)}  ${st.message}`);
      const si = r.storageInit;
      if (si.handOver) out.push(`hand-over at ${s3(si.handOver.at)} s: ${si.handOver.init} from the image (storage-init counted ${si.handOver.reportedMs} ms)`);
      else if (si.failure) out.push(`storage-init FAILED at ${si.failure.step}: ${si.failure.detail} (the last step it finished: "${si.lastStep.message}" at ${s3(si.lastStep.at)} s)`);
      else out.push(`storage-init's last step: ${si.lastStep.message}`);
    }
    if (name === "originalInit" && r.realRoot) out.push(`  ${MARKER_WORDS[r.realRoot.marker]}: "${r.realRoot.message}"`);
  }
  if (r.realRoot) out.push(`real root at ${s3(r.realRoot.at)} s`);
  if (r.systemdAnalyze) {
    out.push(systemdLine(r.systemdAnalyze));
    if (r.systemdAnalyze.kernel !== null) {
      out.push(`  systemd counts everything before its own first start as "kernel"${r.systemdAnalyze.initrd !== null ? ` and its time in the initrd as "initrd"` : ""}: the phases above split that up`);
    }
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join("\n") + "\n";
}
