/**
 * The kernel log as the journal keeps it (`journalctl -k -o json`): a real journal, kept by
 * systemd-journald in the dracut initrd of a pair boot under QEMU, against the console of the same
 * boot; and the reader's rules on hand-made records (fields as journalctl prints them).
 */
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FormatError } from "../../../src/errors.js";
import { buildBootReport, isJournalJson, parseJournalKernelLog, parseKernelLog, parseKernelLogOrJournal } from "../../../src/formats/boot-log/index.js";

const fixture = (name: string) => readFileSync(new URL(`../../../../test/formats/boot-log/fixtures/${name}`, import.meta.url), "utf8");
const BOOT = "0123456789abcdef0123456789abcdef";
const rec = (o: Record<string, unknown>) => JSON.stringify({ _BOOT_ID: BOOT, _TRANSPORT: "kernel", ...o });

test("a dracut pair boot's journal gives the report its console gives", () => {
  const text = fixture("dracut-pair-journal.json");
  assert.ok(isJournalJson(text));
  const fromJournal = buildBootReport(parseKernelLogOrJournal(text));
  const fromConsole = buildBootReport(parseKernelLog(fixture("dracut-pair-console.txt")));
  assert.equal(fromJournal.fromBootStart, true);
  assert.equal(fromJournal.initoverlayfs, true);
  assert.equal(fromJournal.storageInit?.outcome, "handed-over");
  // storage-init's lines reach the journal without their "initoverlayfs: " and come back with it
  assert.ok(fromJournal.storageInit!.steps.length > 10);
  assert.deepEqual(fromJournal.storageInit!.steps, fromConsole.storageInit!.steps);
  assert.deepEqual(fromJournal.phases.kernel, fromConsole.phases.kernel);
  assert.deepEqual(fromJournal.phases.storageInit, fromConsole.phases.storageInit);
  assert.deepEqual(fromJournal.initramfsUnpack, fromConsole.initramfsUnpack);
  // systemd's own lines keep "systemd[1]: "
  assert.ok(parseJournalKernelLog(text).some((l) => l.message === "systemd[1]: Running in initrd."));
});

test("journal records: a program's identifier and pid put back, bytes decoded, other transports and left-out messages passed over, time order", () => {
  const text = [
    rec({ _SOURCE_MONOTONIC_TIMESTAMP: "2640875", SYSLOG_FACILITY: "1", SYSLOG_IDENTIFIER: "initoverlayfs", MESSAGE: "storage-init 0.1.0 starting" }),
    rec({ _SOURCE_MONOTONIC_TIMESTAMP: "0", SYSLOG_FACILITY: "0", SYSLOG_IDENTIFIER: "kernel", MESSAGE: "Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)" }),
    rec({ _SOURCE_MONOTONIC_TIMESTAMP: "2609574", SYSLOG_IDENTIFIER: "kernel", MESSAGE: [...Buffer.from("Run /init as init process")] }),
    rec({ _SOURCE_MONOTONIC_TIMESTAMP: "7000200", SYSLOG_FACILITY: "3", SYSLOG_IDENTIFIER: "systemd", SYSLOG_PID: "1", MESSAGE: "Running in initrd." }),
    rec({ _SOURCE_MONOTONIC_TIMESTAMP: "7000300", SYSLOG_FACILITY: "0", SYSLOG_IDENTIFIER: "kernel", MESSAGE: null }),
    JSON.stringify({ _BOOT_ID: BOOT, _TRANSPORT: "journal", MESSAGE: "not the kernel's", __MONOTONIC_TIMESTAMP: "1" }),
    "",
  ].join("\n");
  assert.deepEqual(parseJournalKernelLog(text).map(({ usec, message }) => ({ usec, message })), [
    { usec: 0, message: "Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)" },
    { usec: 2609574, message: "Run /init as init process" },
    { usec: 2640875, message: "initoverlayfs: storage-init 0.1.0 starting" },
    { usec: 7000200, message: "systemd[1]: Running in initrd." },
  ]);
  const r = buildBootReport(parseJournalKernelLog(text));
  assert.equal(r.initoverlayfs, true);
  assert.equal(r.fromBootStart, true);
  assert.equal(r.storageInit?.outcome, "unfinished");
});

test("bad journal input: one error naming the line's offset and what was expected", () => {
  const good = rec({ _SOURCE_MONOTONIC_TIMESTAMP: "1", SYSLOG_IDENTIFIER: "kernel", MESSAGE: "x" });
  const cases: [string, number, RegExp][] = [
    [`${good}\n{"MESSAGE": "cut off`, good.length + 1, /journal: not a JSON object; expected `journalctl -k -o json` output/],
    [`${good}\n[1, 2]\n`, good.length + 1, /not a JSON object/],
    [`${good}\n${rec({ _BOOT_ID: "f".repeat(32), _SOURCE_MONOTONIC_TIMESTAMP: "2", MESSAGE: "y" })}\n`, good.length + 1, /records of more than one boot; expected one boot's \(journalctl -k -b ID -o json\)/],
    [`${good}\n${rec({ MESSAGE: "no time" })}\n`, good.length + 1, /a kernel record without _SOURCE_MONOTONIC_TIMESTAMP \(got undefined\)/],
    [`${good}\n${rec({ _SOURCE_MONOTONIC_TIMESTAMP: "-5", MESSAGE: "y" })}\n`, good.length + 1, /without _SOURCE_MONOTONIC_TIMESTAMP \(got "-5"\)/],
    [JSON.stringify({ _TRANSPORT: "stdout", MESSAGE: "a service" }) + "\n", 0, /no kernel record \(_TRANSPORT=kernel\) found/],
  ];
  for (const [text, offset, re] of cases) {
    assert.throws(() => parseJournalKernelLog(text, "boot.json"), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.equal(e.offset, offset, e.message);
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(`boot.json: offset ${offset}: journal: `), e.message);
      return true;
    });
  }
  // text that is not JSON goes to the text reader, which says what it expected there
  assert.throws(() => parseKernelLogOrJournal("hello\n", "boot.log"), /boot\.log: offset 0: kernel log: no timestamped line found/);
});
