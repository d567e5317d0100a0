#!/usr/bin/env node
import { main } from "./main.js";

// Output files are written synchronously to a temp file and renamed: with these handlers a
// signal is handled between JS tasks, never in the middle of a write, so an interrupted run
// leaves either the complete file or nothing (the default action would kill mid-write and
// leave the temp file behind).
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    process.stderr.write(`initoverlayfs: interrupted (${sig})\n`);
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[sig]);
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
