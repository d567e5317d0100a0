/**
 * The boot report on real boot logs: QEMU console captures (Debian's 6.1 kernel, TCG) of a stock
 * initramfs boot, of the initoverlayfs pair, and of a storage-init that failed; and /dev/kmsg
 * records read on a machine without an initramfs stage. Expected times are the fixtures' own
 * timestamps, subtracted by hand.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FormatError } from "../../../src/errors.js";
import { buildBootReport, parseKernelLog, parseSystemdAnalyze, parseTimespan, renderBootReport } from "../../../src/formats/boot-log/index.js";

const fixture = (name: string) => readFileSync(new URL(`../../../../test/formats/boot-log/fixtures/${name}`, import.meta.url), "utf8");
const report = (text: string, analyze: string | null = null) => buildBootReport(parseKernelLog(text), analyze === null ? null : parseSystemdAnalyze(analyze));
const near = (actual: number | undefined, expected: number, what: string) => assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);

test("pair boot: kernel, each storage-init step, hand-over, original init until our run-init shim's switch", () => {
  const text = fixture("pair-console.txt");
  const r = report(text);
  assert.equal(r.initoverlayfs, true);
  assert.deepEqual(r.firstProgram, { path: "/init", at: 2.609574 });
  near(r.phases.kernel?.seconds, 2.609574, "kernel");
  near(r.initramfsUnpack?.seconds, 1.987133 - 1.81065, "unpacking the mini initramfs");
  near(r.phases.storageInit?.seconds, 4.063177 - 2.609574, "storage-init");
  near(r.phases.originalInit?.seconds, 9.760937 - 4.063177, "original init");
  assert.equal(r.storageInit?.outcome, "handed-over");
  assert.deepEqual(r.storageInit?.handOver, { at: 4.063177, init: "/init", reportedMs: 1430 });
  assert.equal(r.storageInit?.failure, null);
  assert.deepEqual(r.realRoot, { at: 9.760937, marker: "switch-shim", message: "initoverlayfs: run-init: switched to /root (pivot_root, old root detached)" });
  assert.deepEqual(r.notes, []);

  // every storage-init line the console shows, once (the dmesg dump at the end repeats them), in order
  const console = [...text.matchAll(/^\[\s*(\d+\.\d{6})\] initoverlayfs: (.*)$/gm)].map((m) => ({ at: Number(m[1]), message: m[2] }));
  const upTo = console.findIndex((l) => l.message.startsWith("starting /init from the image"));
  assert.ok(upTo > 15);
  assert.deepEqual(r.storageInit!.steps.map(({ at, message }) => ({ at, message })), console.slice(0, upTo + 1));
  // each step's time is since the previous one; the first since the kernel ran /init
  near(r.storageInit!.steps[0].seconds, 2.640875 - 2.609574, "first step");
  const mods = r.storageInit!.steps.find((s) => s.message.startsWith("24 module(s) loaded"));
  near(mods?.seconds, 3.880180 - 3.274400, "modules step");
  near(r.storageInit!.steps.reduce((a, s) => a + s.seconds, 0), 4.063177 - 2.609574, "steps add up");
});

test("stock boot: no initoverlayfs stage; the original init runs until the real root's /sbin/init starts", () => {
  const r = report(fixture("stock-console.txt"));
  assert.equal(r.initoverlayfs, false);
  assert.equal(r.storageInit, null);
  assert.equal(r.phases.storageInit, null);
  near(r.phases.kernel?.seconds, 6.92418, "kernel");
  near(r.initramfsUnpack?.seconds, 5.392802 - 1.269641, "unpacking the stock initramfs");
  near(r.phases.originalInit?.from, 6.92418, "original init from");
  near(r.phases.originalInit?.seconds, 16.621862 - 6.92418, "original init");
  assert.equal(r.realRoot?.marker, "root-init-exec");
  assert.deepEqual(r.notes, ["no initoverlayfs stage in this boot: storage-init did not run (no \"storage-init ... starting\" line)"]);
  assert.match(renderBootReport(r), /^note: no initoverlayfs stage in this boot/m);
});

test("/dev/kmsg records give the same report as dmesg lines", () => {
  // the pair's log as /dev/kmsg hands it out: priority,sequence,microseconds,flags;message
  const lines = parseKernelLog(fixture("pair-console.txt"));
  const kmsg = lines.map((l, i) => `${l.message.startsWith("initoverlayfs: ") ? 14 : 6},${339 + i},${l.usec},-;${l.message}\n`).join("");
  assert.deepEqual(report(kmsg), report(fixture("pair-console.txt")));
});

test("real /dev/kmsg records of a boot without an initramfs stage: continuation lines skipped, no real root guessed", () => {
  const text = fixture("host-kmsg.txt");
  const lines = parseKernelLog(text);
  assert.equal(lines.length, text.split("\n").filter((l) => /^\d+,\d+,\d+,/.test(l)).length);
  assert.ok(!lines.some((l) => /SUBSYSTEM=|DEVICE=/.test(l.message)));
  assert.deepEqual(lines[0], { usec: 0, message: lines[0].message, offset: 0 });
  const r = buildBootReport(lines);
  assert.deepEqual(r.firstProgram, { path: "/process_api", at: 0.484087 });
  assert.equal(r.realRoot, null);
  assert.equal(r.phases.originalInit, null);
  assert.ok(r.notes.some((n) => n.startsWith("nothing in the log marks the real root")), r.notes.join("\n"));
});

test("storage-init failed: the report names the failing step and the last step it finished", () => {
  const r = report(fixture("failed-console.txt"));
  assert.equal(r.storageInit?.outcome, "failed");
  assert.deepEqual(r.storageInit?.failure, { at: 2.409169, step: "load modules", detail: "/lib/modules/6.1.0-57-amd64/kernel/fs/efivarfs/efivarfs.ko: No such device" });
  assert.equal(r.storageInit?.lastStep.message, "storage-init 0.1.0 starting");
  assert.equal(r.storageInit?.handOver, null);
  near(r.phases.storageInit?.seconds, 2.409169 - 2.190138, "storage-init until the failure");
  assert.equal(r.phases.originalInit, null);
  assert.equal(r.realRoot, null);
  assert.match(renderBootReport(r), /^storage-init FAILED at load modules: .*efivarfs\.ko: No such device \(the last step it finished: "storage-init 0\.1\.0 starting" at 2\.239 s\)$/m);
});

test("a log that ends before the hand-over: the last step storage-init reached", () => {
  const text = fixture("pair-console.txt");
  // the console as far as the dm-verity step (the later dmesg dump cut off too)
  const cut = text.slice(0, text.indexOf("[    3.954985]"));
  const r = report(cut);
  assert.equal(r.storageInit?.outcome, "unfinished");
  assert.match(r.storageInit!.lastStep.message, /^integrity dm-verity: initoverlayfs-verity is \/dev\/dm-1/);
  near(r.phases.storageInit?.to, 3.945328, "storage-init so far");
  assert.equal(r.phases.originalInit, null);
  assert.ok(r.notes.some((n) => n.includes("the log ends before the hand-over")));
});

test("a ring buffer that wrapped: storage-init's absence is not claimed, a hand-over still kept still gives the original init's phase", () => {
  const lines = parseKernelLog(fixture("pair-console.txt"));
  assert.equal(buildBootReport(lines).fromBootStart, true);
  // the oldest records overwritten: everything before storage-init's last step is gone
  const late = lines.filter((l) => l.usec >= 4_010_000);
  const r = buildBootReport(late);
  assert.equal(r.fromBootStart, false);
  assert.equal(r.initoverlayfs, true);
  assert.equal(r.storageInit, null);
  assert.equal(r.phases.kernel, null);
  near(r.phases.originalInit?.seconds, 9.760937 - 4.063177, "original init from the hand-over");
  assert.ok(r.notes.some((n) => n.startsWith(`storage-init's first lines are not in the log (its oldest line is at ${(late[0].usec / 1e6).toFixed(3)} s)`)), r.notes.join("\n"));
  // only the real root's lines left: whether storage-init ran is unknown, and the report says so
  const tail = lines.filter((l) => l.usec > 4_063_177);
  const u = buildBootReport(tail);
  assert.equal(u.initoverlayfs, null);
  assert.ok(!u.notes.some((n) => n.startsWith("no initoverlayfs stage")), u.notes.join("\n"));
  assert.match(u.notes.join("\n"), /^the log does not reach back to this boot's start \(its oldest line is at \d+\.\d{3} s; .*whether storage-init ran is unknown; the journal keeps the whole boot/m);
  // the stock boot without its first lines but with the kernel's "Run /init": still known not to have run
  const stock = parseKernelLog(fixture("stock-console.txt"));
  const run = stock.findIndex((l) => /^Run \/init as init process$/.test(l.message));
  const s = buildBootReport(stock.slice(run));
  assert.equal(s.fromBootStart, false);
  assert.equal(s.initoverlayfs, false);
});

test("systemd's start outside the initrd marks the real root; its start in the initrd does not", () => {
  // systemd's lines as src/core/main.c writes them to /dev/kmsg, after the stock boot's /init started
  const systemd = (usec: number, msg: string) => `6,900,${usec},-;systemd[1]: ${msg}\n`;
  const base = "6,1,6924180,-;Run /init as init process\n";
  const initrd = systemd(7_000_000, "systemd 252.39-1~deb12u2 running in system mode (+PAM +AUDIT)") + systemd(7_000_100, "Detected architecture x86-64.") + systemd(7_000_200, "Running in initrd.");
  const root = systemd(9_500_000, "systemd 252.39-1~deb12u2 running in system mode (+PAM +AUDIT)") + systemd(9_500_100, "Detected architecture x86-64.");
  const r = report(base + initrd + root);
  assert.deepEqual(r.realRoot, { at: 9.5, marker: "systemd", message: "systemd[1]: systemd 252.39-1~deb12u2 running in system mode (+PAM +AUDIT)" });
  near(r.phases.originalInit?.seconds, 9.5 - 6.92418, "original init");
  // only the initrd's systemd: nothing marks the real root
  assert.equal(report(base + initrd).realRoot, null);
});

test("systemd-analyze's summary: every part, missing parts, time spans, not finished", () => {
  // lines as pretty_boot_time() (src/analyze/analyze-time-data.c) formats them, with format_timespan() values
  assert.deepEqual(parseSystemdAnalyze("Startup finished in 4.160s (firmware) + 2.796s (loader) + 5.831s (kernel) + 2.1s (initrd) + 18.885s (userspace) = 33.772s \ngraphical.target reached after 18.850s in userspace.\n"),
    { finished: true, firmware: 4.16, loader: 2.796, kernel: 5.831, initrd: 2.1, softReboot: null, userspace: 18.885, total: 33.772 });
  assert.deepEqual(parseSystemdAnalyze("Startup finished in 1.491s (kernel) + 1min 5.947s (userspace) = 1min 7.439s \n"),
    { finished: true, firmware: null, loader: null, kernel: 1.491, initrd: null, softReboot: null, userspace: 65.947, total: 67.439 });
  // a container: userspace only, no total
  assert.deepEqual(parseSystemdAnalyze("Startup finished in 876ms (userspace) \nmulti-user.target reached after 870ms in userspace.\n"),
    { finished: true, firmware: null, loader: null, kernel: null, initrd: null, softReboot: null, userspace: 0.876, total: null });
  assert.deepEqual(parseSystemdAnalyze("Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\nPlease try again later.\nHint: Use 'systemctl list-jobs' to see active jobs\n"),
    { finished: false, firmware: null, loader: null, kernel: null, initrd: null, softReboot: null, userspace: null, total: null });
  assert.equal(parseTimespan("1h 2min 3.5s"), 3723.5);
  assert.equal(parseTimespan("0"), 0);
  assert.equal(parseTimespan("12 parsecs"), undefined);

  const r = report(fixture("pair-console.txt"), "Startup finished in 10.1s (kernel) + 2.3s (userspace) = 12.4s \n");
  assert.equal(r.systemdAnalyze?.kernel, 10.1);
  const text = renderBootReport(r);
  assert.match(text, /^systemd-analyze: 10\.100 s \(kernel\) \+ 2\.300 s \(userspace\) = 12\.400 s$/m);
  assert.match(text, /^ {2}systemd counts everything before its own first start as "kernel"/m);
});

test("garbage and empty input: one clear error naming the input, the offset and what was expected", () => {
  const cases: [string, RegExp][] = [
    ["", /^boot\.log: offset 0: kernel log: empty; expected kernel log lines as dmesg prints them/],
    ["\u0000\u00ff garbage\nno timestamps here\n[1.5] short\n", /^boot\.log: offset 0: kernel log: no timestamped line found; expected .*"\[    2\.640875\] message".*"6,339,2640875,-;message"/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseKernelLog(text, "boot.log"), (e: unknown) => e instanceof FormatError && re.test(e.message) && !e.message.includes("\n"));
  }
  assert.throws(() => parseSystemdAnalyze("hello\n", "sa.txt"), (e: unknown) => e instanceof FormatError && /^sa\.txt: offset 0: systemd-analyze: expected a line "Startup finished in/.test(e.message));
  // the offset points at the part that is wrong
  const bad = "x\nStartup finished in 1.2s (kernel) + 3 parsecs (userspace) = 4s\n";
  assert.throws(() => parseSystemdAnalyze(bad, "sa.txt"), (e: unknown) => e instanceof FormatError && e.offset === bad.indexOf("3 parsecs") && /expected a time span/.test(e.message));
  assert.throws(() => parseSystemdAnalyze("Startup finished in 1.2s (kernel) + 3s (bootloader) + 2s (userspace)\n"), /expected "TIME \(firmware/);
  assert.throws(() => parseSystemdAnalyze("Startup finished in 1.2s (kernel)\n"), /expected a "\(userspace\)" part/);
});

test("README's example is this report of the pair fixture", () => {
  const readme = readFileSync(new URL("../../../../README.md", import.meta.url), "utf8");
  const m = /\$ initoverlayfs boot-report --from test\/formats\/boot-log\/fixtures\/pair-console\.txt\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, "README: no boot-report example");
  assert.equal(m[1], renderBootReport(report(fixture("pair-console.txt"))));
});
