/**
 * The contract with storage-init's wording: every pattern the boot report matches on storage-init's
 * lines must match a line storage-init/src/*.c really writes. The C format strings are read from
 * the sources and filled with sample arguments; rewording a line in C fails this test.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { STORAGE_INIT_LINES, STORAGE_INIT_PREFIX } from "../../../src/formats/boot-log/index.js";

const SRC = new URL("../../../../storage-init/src/", import.meta.url);

/** The format string of every log_*() call in storage-init's C sources, adjacent literals joined. */
function logFormats(): { file: string; format: string }[] {
  const out: { file: string; format: string }[] = [];
  for (const file of readdirSync(SRC).filter((f) => f.endsWith(".c"))) {
    const text = readFileSync(new URL(file, SRC), "utf8");
    for (const m of text.matchAll(/\blog_(?:debug|info|warn|error)\(\s*((?:"(?:[^"\\]|\\.)*"\s*|[A-Z_]+\s*)+)[,)]/g)) {
      // string literals only: a macro between them (BOOT_MNT) is kept as its name
      const format = m[1].replace(/"((?:[^"\\]|\\.)*)"\s*|([A-Z_]+)\s*/g, (_, lit, macro) => lit ?? macro).replace(/\\"/g, "\"");
      out.push({ file, format });
    }
  }
  return out;
}

/** printf: each conversion takes the next argument. */
function fill(format: string, args: string[]): string {
  let i = 0;
  return format.replace(/%(?:\.\d+)?(?:ll|l|z)?[sdu]/g, () => args[i++] ?? "?");
}

// sample arguments, in the C call's order, and how many log calls write each line
const CASES: Record<keyof typeof STORAGE_INIT_LINES, { args: string[]; calls: number }> = {
  start: { args: ["0.1.0"], calls: 1 },
  handOver: { args: ["/init", "1430"], calls: 1 },
  failed: { args: ["load modules", "/lib/modules/x.ko", "No such device"], calls: 4 },
  switched: { args: ["run-init", "/root"], calls: 2 },
};

test("storage-init's log prefix is the one the report strips", () => {
  const h = readFileSync(new URL("log.h", SRC), "utf8");
  assert.match(h, new RegExp(`^#define LOG_PREFIX "${STORAGE_INIT_PREFIX}"$`, "m"));
});

test("every storage-init pattern matches the lines storage-init's C sources write, and only those", () => {
  const formats = logFormats();
  assert.ok(formats.length > 40, `only ${formats.length} log calls found in ${SRC.pathname}`);
  for (const [name, pattern] of Object.entries(STORAGE_INIT_LINES)) {
    const c = CASES[name as keyof typeof CASES];
    const hits = formats.filter((f) => pattern.test(fill(f.format, c.args)));
    assert.equal(hits.length, c.calls, `${name} ${pattern}: matches ${hits.length} C log calls (${hits.map((h) => `${h.file}: "${h.format}"`).join("; ")}), expected ${c.calls}`);
    // the same call reworded (its first word changed) no longer matches: the test can fail
    for (const h of hits) assert.doesNotMatch(fill(h.format.replace(/[A-Za-z]{2,}/, (w) => `${w}X`), c.args), pattern);
  }
});
