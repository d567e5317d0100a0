/** boot-report as a user runs it: text and --json, exit codes, one-line errors, and this machine's own log. */
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, constants, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CLI, cli } from "../helpers/cli.js";
import { withTempDir } from "../helpers/tmp.js";

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/formats/boot-log/fixtures/${name}`, import.meta.url));

test("boot-report --help, and a pair boot's log as text and as JSON", () => {
  const h = cli(["boot-report", "--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout.toString(), /--from <file>[\s\S]*--boot <id>[\s\S]*--systemd-analyze <file>[\s\S]*--json/);

  const t = cli(["boot-report", "--from", fixture("pair-console.txt")]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout.toString(), /^storage-init +1\.454 s +2\.610 → 4\.063$/m);

  const j = cli(["boot-report", "--from", fixture("pair-console.txt"), "--json"]);
  assert.equal(j.code, 0, j.stderr);
  const r = JSON.parse(j.stdout.toString());
  assert.equal(r.source, fixture("pair-console.txt"));
  assert.equal(r.initoverlayfs, true);
  assert.deepEqual(Object.keys(r.phases), ["kernel", "storageInit", "originalInit"]);
  for (const p of Object.values(r.phases) as { seconds: unknown }[]) assert.equal(typeof p.seconds, "number");
  assert.equal(r.storageInit.outcome, "handed-over");
  assert.equal(r.realRoot.marker, "switch-shim");
  assert.equal(r.systemdAnalyze, null);
});

test("boot-report: a stock boot says there is no initoverlayfs stage; a failed storage-init exits 1", () => {
  const s = cli(["boot-report", "--from", fixture("stock-console.txt")]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout.toString(), /^note: no initoverlayfs stage in this boot/m);
  const f = cli(["boot-report", "--from", fixture("failed-console.txt"), "--json"]);
  assert.equal(f.code, 1, f.stderr);
  assert.equal(JSON.parse(f.stdout.toString()).storageInit.failure.step, "load modules");
});

test("boot-report: systemd-analyze from a file; bad input is one line on stderr, exit 3, nothing on stdout", () =>
  withTempDir((dir) => {
    const sa = join(dir, "sa.txt");
    writeFileSync(sa, "Startup finished in 10.1s (kernel) + 2.3s (userspace) = 12.4s \n");
    const ok = cli(["boot-report", "--from", fixture("pair-console.txt"), "--systemd-analyze", sa, "--json"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout.toString()).systemdAnalyze, { finished: true, firmware: null, loader: null, kernel: 10.1, initrd: null, softReboot: null, userspace: 2.3, total: 12.4 });

    const garbage = join(dir, "garbage.log");
    writeFileSync(garbage, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x41]));
    for (const [args, re] of [
      [["--from", garbage], new RegExp(`^initoverlayfs: ${garbage}: offset 0: kernel log: no timestamped line found; expected`)],
      [["--from", join(dir, "empty.log")], /^initoverlayfs: ENOENT/],
      [["--from", fixture("pair-console.txt"), "--systemd-analyze", garbage], new RegExp(`^initoverlayfs: ${garbage}: offset 0: systemd-analyze: expected a line "Startup finished in`)],
    ] as [string[], RegExp][]) {
      const r = cli(["boot-report", ...args]);
      assert.equal(r.code, args[1].endsWith("empty.log") ? 4 : 3, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout.length, 0);
    }
    writeFileSync(join(dir, "empty.log"), "");
    const e = cli(["boot-report", "--from", join(dir, "empty.log")]);
    assert.equal(e.code, 3);
    assert.match(e.stderr, /offset 0: kernel log: empty; expected/);
  }));

test("boot-report on this machine's own kernel log (/dev/kmsg)", (t) => {
  try {
    closeSync(openSync("/dev/kmsg", constants.O_RDONLY | constants.O_NONBLOCK));
  } catch (e) {
    t.skip(`/dev/kmsg cannot be read here: ${(e as Error).message}`);
    return;
  }
  const r = cli(["boot-report", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout.toString());
  assert.equal(rep.source, "/dev/kmsg");
  // the machine running the tests did not boot through storage-init; once its ring buffer has
  // wrapped (the suite's own loop and mount lines fill it), the log cannot say so, and says that
  if (rep.fromBootStart) {
    assert.equal(rep.initoverlayfs, false);
    assert.ok(rep.notes.some((n: string) => n.startsWith("no initoverlayfs stage")), rep.notes.join("\n"));
  } else {
    assert.equal(rep.initoverlayfs, null);
    assert.ok(rep.notes.some((n: string) => n.startsWith("the log does not reach back to this boot's start")), rep.notes.join("\n"));
    assert.ok(!rep.notes.some((n: string) => n.startsWith("no initoverlayfs stage")), rep.notes.join("\n"));
  }
});

test("boot-report falls back to dmesg when /dev/kmsg cannot be opened", (t) =>
  withTempDir((dir) => {
    if (process.getuid?.() !== 0) return t.skip("needs root to run the command as an unprivileged user");
    // an unprivileged user cannot open /dev/kmsg under kernel.dmesg_restrict=1; a stand-in dmesg prints the pair's log
    if (readFileSync("/proc/sys/kernel/dmesg_restrict", "utf8").trim() !== "1") return t.skip("kernel.dmesg_restrict is 0: /dev/kmsg is readable by anyone");
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "dmesg"), `#!/bin/sh\nexec cat '${fixture("pair-console.txt")}'\n`, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const run = (path: string) => spawnSync(process.execPath, [CLI, "boot-report", "--json"], { uid: 65534, gid: 65534, env: { PATH: path }, encoding: "utf8" });
    const r = run(`${bin}:/usr/bin:/bin`);
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.source, "dmesg");
    assert.equal(rep.storageInit.outcome, "handed-over");
    // only the journal: read from it, saying why
    writeFileSync(join(bin, "journalctl"), `#!/bin/sh\nexec cat '${fixture("dracut-pair-journal.json")}'\n`, { mode: 0o755 });
    rmSync(join(bin, "dmesg"));
    const j = run(`${bin}:/usr/bin:/bin`);
    assert.equal(j.status, 0, j.stderr);
    const rj = JSON.parse(j.stdout);
    assert.equal(rj.source, "journal (journalctl -k -b 0)");
    assert.match(rj.notes.join("\n"), /^read from the journal: \/dev\/kmsg: EPERM[^\n]*; dmesg: /m);
    // none works: one line naming each, exit 4
    const none = run("/nonexistent");
    assert.equal(none.status, 4);
    assert.match(none.stderr, /^initoverlayfs: cannot read the kernel log: \/dev\/kmsg: EPERM[^\n]*; dmesg: [^\n]*; spawnSync journalctl ENOENT \(kernel\.dmesg_restrict: run as root, or use --from FILE\)\n$/);
  }));

test("boot-report: when the ring buffer no longer holds the boot's start, the journal stands in", (t) =>
  withTempDir((dir) => {
    if (process.getuid?.() !== 0) return t.skip("needs root to run the command as an unprivileged user");
    if (readFileSync("/proc/sys/kernel/dmesg_restrict", "utf8").trim() !== "1") return t.skip("kernel.dmesg_restrict is 0: /dev/kmsg is readable by anyone");
    // dmesg: the pair's log after its ring buffer lost everything before storage-init's last steps
    const wrapped = join(dir, "wrapped.txt");
    writeFileSync(wrapped, readFileSync(fixture("pair-console.txt"), "utf8").split("\n").filter((l) => /^\[\s*(\d+\.\d+)\]/.test(l) && Number(/^\[\s*(\d+\.\d+)\]/.exec(l)![1]) >= 4.01).join("\n") + "\n");
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "dmesg"), `#!/bin/sh\nexec cat '${wrapped}'\n`, { mode: 0o755 });
    const journalctl = (body: string) => writeFileSync(join(bin, "journalctl"), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const run = () => spawnSync(process.execPath, [CLI, "boot-report", "--json"], { uid: 65534, gid: 65534, env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });

    // the journal holds the whole boot: it is read instead (asked for this boot's kernel records as JSON)
    journalctl(`case "$*" in "-k -b 0 -o json "*) exec cat '${fixture("dracut-pair-journal.json")}';; esac\necho "unexpected arguments: $*" >&2; exit 9`);
    const j = run();
    assert.equal(j.status, 0, j.stderr);
    const rj = JSON.parse(j.stdout);
    assert.equal(rj.source, "journal (journalctl -k -b 0)");
    assert.equal(rj.fromBootStart, true);
    assert.equal(rj.storageInit.outcome, "handed-over");
    assert.ok(rj.notes.some((n: string) => /^read from the journal: dmesg no longer holds this boot's start \(its oldest line is at 4\.0\d\d s\)$/.test(n)), rj.notes.join("\n"));

    // no journal: the wrapped log, saying what it lacks and why the journal did not stand in
    journalctl(`echo "No journal files were found." >&2; exit 1`);
    const d = run();
    assert.equal(d.status, 0, d.stderr);
    const rd = JSON.parse(d.stdout);
    assert.equal(rd.source, "dmesg");
    assert.equal(rd.fromBootStart, false);
    assert.equal(rd.storageInit, null);
    assert.equal(rd.initoverlayfs, true);
    assert.ok(rd.notes.includes("the journal could not stand in: journalctl -k -b 0: exit 1: No journal files were found."), rd.notes.join("\n"));
  }));

test("boot-report --boot: that boot's kernel log from the journal; bad selectors and a journal without it are one line", () =>
  withTempDir((dir) => {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "journalctl"), `#!/bin/sh
case "$*" in
  "-k -b -1 -o json "*) exec cat '${fixture("dracut-pair-journal.json")}';;
  "-k -b -5 -o json "*) echo "Data from the specified boot (-5) is not available: No such boot ID in journal" >&2; exit 1;;
esac
echo "unexpected arguments: $*" >&2; exit 9
`, { mode: 0o755 });
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, "boot-report", ...args], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
    const ok = run("--boot", "-1", "--json");
    assert.equal(ok.status, 0, ok.stderr);
    const r = JSON.parse(ok.stdout);
    assert.equal(r.source, "journal (journalctl -k -b -1)");
    assert.equal(r.storageInit.outcome, "handed-over");
    // systemd-analyze describes the running boot only
    assert.equal(r.systemdAnalyze, null);
    for (const [args, code, re] of [
      [["--boot", "-5"], 4, /^initoverlayfs: journalctl -k -b -5: exit 1: Data from the specified boot \(-5\) is not available: No such boot ID in journal\n$/],
      [["--boot", "yesterday"], 2, /^initoverlayfs: --boot: expected 0, -1, \.\.\. or a 32-digit boot ID, got "yesterday"\n$/],
      [["--boot", "-1", "--from", fixture("pair-console.txt")], 2, /^initoverlayfs: --from and --boot: give one of them\n$/],
    ] as [string[], number, RegExp][]) {
      const e = run(...args);
      assert.equal(e.status, code, e.stderr);
      assert.match(e.stderr, re);
      assert.equal(e.stdout, "");
    }
  }));
