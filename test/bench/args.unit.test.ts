/** The benchmarks' option parser: strict, so a typo stops the run before a long benchmark starts. */
import test from "node:test";
import assert from "node:assert/strict";
import { BenchUsageError, parseBenchArgs, usageLine } from "../../bench/args.js";

const TABLE = { runs: "N", icount: true, cpu: "MODEL" } as const;

test("bench options: flags, values and one positional", () => {
  const p = parseBenchArgs(["in.img", "--runs", "5", "--icount", "--cpu", "max"], TABLE, "INITRAMFS");
  assert.deepEqual([...p.values], [["runs", "5"], ["icount", true], ["cpu", "max"]]);
  assert.deepEqual(p.positionals, ["in.img"]);
});

test("bench options: an unknown option, a missing value, a stray argument are refused", () => {
  assert.throws(() => parseBenchArgs(["--run", "5"], TABLE), (e: unknown) => e instanceof BenchUsageError && e.message === "unknown option --run");
  assert.throws(() => parseBenchArgs(["--runs"], TABLE), /--runs needs a value \(N\)/);
  assert.throws(() => parseBenchArgs(["--runs", "--icount"], TABLE), /--runs needs a value/);
  assert.throws(() => parseBenchArgs(["5"], TABLE), /unexpected argument "5"/);
  assert.throws(() => parseBenchArgs(["a", "b"], TABLE, "INITRAMFS"), /unexpected argument "b"/);
  // inherited names are not options
  assert.throws(() => parseBenchArgs(["--constructor"], TABLE), /unknown option --constructor/);
});

test("bench usage is made from the same table", () => {
  assert.equal(usageLine("boot", TABLE, "INITRAMFS"), "node dist/bench/boot.js [INITRAMFS] [--runs N] [--icount] [--cpu MODEL]");
});
