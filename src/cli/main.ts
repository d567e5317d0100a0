/**
 * The initoverlayfs command. Errors become one line on stderr and a meaningful exit code
 * (see exit-codes.ts); a stack trace is printed only with INITOVERLAYFS_DEBUG=1.
 */
import { Command, CommanderError } from "commander";
import { FormatError, InitoverlayfsError, UsageError } from "../errors.js";
import { EXIT } from "./exit-codes.js";
import { convertCommand } from "./commands/convert.js";
import { buildCommand } from "./commands/build.js";
import { readerCommands } from "./commands/reader.js";
import { integrityCommands } from "./commands/integrity.js";
import { installCommands } from "./commands/install.js";
import { ukiCommand } from "./commands/uki.js";
import { bootReportCommand } from "./commands/boot-report.js";
import { sysextCommand } from "./commands/sysext.js";

export function buildProgram(): Command {
  const program = new Command("initoverlayfs")
    .description("split a big initramfs into a tiny early-boot initramfs and a lazily read EROFS image")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(convertCommand());
  program.addCommand(buildCommand());
  for (const c of readerCommands()) program.addCommand(c);
  for (const c of integrityCommands()) program.addCommand(c);
  for (const c of installCommands()) program.addCommand(c);
  program.addCommand(ukiCommand());
  program.addCommand(sysextCommand());
  program.addCommand(bootReportCommand());
  for (const c of program.commands) c.exitOverride().showHelpAfterError();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? EXIT.OK : Number(process.exitCode);
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    // help and version exit 0; commander already printed the message
    return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (process.env.INITOVERLAYFS_DEBUG) console.error(e);
  if (e instanceof UsageError) {
    process.stderr.write(`initoverlayfs: ${e.message}\n`);
    return EXIT.USAGE;
  }
  if (e instanceof FormatError) {
    process.stderr.write(`initoverlayfs: ${e.message}\n`);
    return EXIT.BAD_INPUT;
  }
  if (e instanceof InitoverlayfsError) {
    // an expected failure with a complete message (a tool that failed, a file that changed)
    process.stderr.write(`initoverlayfs: ${e.message}\n`);
    return EXIT.SYSTEM;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === "object" && "code" in err && typeof err.code === "string") {
    process.stderr.write(`initoverlayfs: ${err.message}\n`);
    return EXIT.SYSTEM;
  }
  process.stderr.write(`initoverlayfs: internal error: ${err?.message ?? String(e)} (set INITOVERLAYFS_DEBUG=1 for details)\n`);
  return EXIT.SYSTEM;
}

