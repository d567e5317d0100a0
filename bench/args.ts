/**
 * The benchmarks' command lines, Unix style: `--help` prints the usage (made from the same
 * table the parser reads, so it cannot go stale) and exits 0; an unknown option, a missing or
 * malformed value: one line on stderr and exit 2, before anything slow starts.
 */
import { basename } from "node:path";

/** Each option: `true` for a flag, else the placeholder of its value (`N`, `MODEL`, ...). */
export type OptionTable = Readonly<Record<string, true | string>>;

export interface BenchArgs {
  flag(name: string): boolean;
  text(name: string): string | undefined;
  /** a number ≥ `min` (default 0); `integer` refuses fractions */
  number(name: string, dflt: number, o?: { min?: number; integer?: boolean }): number;
  /** one of `choices` (default the first) */
  choice<T extends string>(name: string, choices: readonly T[]): T;
  /** a usage error of the script's own (options that exclude each other, ...) */
  fail(msg: string): never;
  positionals: string[];
  /** the command line as given, for the result files */
  command: string;
}

export class BenchUsageError extends Error {}

/** Pure: the parse of `argv` against `table`; throws BenchUsageError. */
export function parseBenchArgs(argv: readonly string[], table: OptionTable, positional?: string): { values: Map<string, string | true>; positionals: string[] } {
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      if (!positional || positionals.length) throw new BenchUsageError(`unexpected argument ${JSON.stringify(a)}`);
      positionals.push(a);
      continue;
    }
    const name = a.slice(2);
    const kind = Object.hasOwn(table, name) ? table[name] : undefined;
    if (kind === undefined) throw new BenchUsageError(`unknown option ${a}`);
    if (kind === true) {
      values.set(name, true);
      continue;
    }
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new BenchUsageError(`${a} needs a value (${kind})`);
    values.set(name, v);
    i++;
  }
  return { values, positionals };
}

export function usageLine(script: string, table: OptionTable, positional?: string): string {
  const opts = Object.entries(table).map(([k, v]) => (v === true ? `[--${k}]` : `[--${k} ${v}]`));
  return ["node", `dist/bench/${script}.js`, ...(positional ? [`[${positional}]`] : []), ...opts].join(" ");
}

/** The script's arguments; `--help` and usage errors end the process here. */
export function benchArgs(scriptUrl: string, table: OptionTable, positional?: string): BenchArgs {
  const script = basename(new URL(scriptUrl).pathname).replace(/\.js$/, "");
  const argv = process.argv.slice(2);
  const usage = usageLine(script, table, positional);
  const fail = (msg: string): never => {
    process.stderr.write(`bench/${script}: ${msg}; usage: ${usage}\n`);
    process.exit(2);
  };
  if (argv.includes("--help")) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  let parsed: ReturnType<typeof parseBenchArgs>;
  try {
    parsed = parseBenchArgs(argv, table, positional);
  } catch (e) {
    if (e instanceof BenchUsageError) fail(e.message);
    throw e;
  }
  const { values, positionals } = parsed!;
  return {
    flag: (name) => values.get(name) === true,
    text: (name) => {
      const v = values.get(name);
      return typeof v === "string" ? v : undefined;
    },
    number: (name, dflt, o = {}) => {
      const v = values.get(name);
      if (typeof v !== "string") return dflt;
      const n = Number(v);
      const min = o.min ?? 0;
      if (v.trim() === "" || !Number.isFinite(n) || n < min || (o.integer && !Number.isInteger(n)))
        return fail(`--${name}: expected ${o.integer ? "an integer" : "a number"} ≥ ${min}, got ${JSON.stringify(v)}`);
      return n;
    },
    choice: <T extends string>(name: string, choices: readonly T[]): T => {
      const v = values.get(name);
      if (typeof v !== "string") return choices[0];
      if (!(choices as readonly string[]).includes(v)) return fail(`--${name}: expected ${choices.join(" or ")}, got ${JSON.stringify(v)}`);
      return v as T;
    },
    fail,
    positionals,
    command: [`node dist/bench/${script}.js`, ...argv].join(" "),
  };
}
