/**
 * Writes a Unified Kernel Image (src/formats/pe/uki.ts) from files: systemd-stub, the kernel,
 * the (mini) initramfs, a command line and os-release. Written to a temp file, fsynced, renamed.
 */
import { existsSync, readFileSync } from "node:fs";
import { FormatError, UsageError } from "../errors.js";
import { bzImageRelease, emitUki, planUki, PlannedSection } from "../formats/pe/uki.js";
import { writeFileAtomic } from "../io/atomic-file.js";

/** Debian's systemd-boot-efi (and Fedora's systemd-boot-unsigned) install it here. */
export const DEFAULT_STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
/** os-release(5): /etc/os-release, else /usr/lib/os-release */
export const OS_RELEASE_PATHS = ["/etc/os-release", "/usr/lib/os-release"] as const;

export interface UkiOptions {
  stub?: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  osRelease?: string;
  /** the .uname section; default: the kernel's own version string; null: none */
  uname?: string | null;
  output: string;
}

export interface UkiResult {
  path: string;
  bytes: number;
  stub: string;
  osRelease: string;
  uname: string | null;
  sections: PlannedSection[];
}

function readInput(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new UsageError(`${what}: ${path} does not exist`);
  return readFileSync(path);
}

function withSource<T>(source: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FormatError) throw e.withSource(source);
    throw e;
  }
}

export function writeUki(o: UkiOptions): UkiResult {
  if (/\0/.test(o.cmdline)) throw new UsageError("--cmdline: a NUL byte cannot be in a kernel command line");
  const stubPath = o.stub ?? DEFAULT_STUB;
  const osRelease = o.osRelease ?? OS_RELEASE_PATHS.find((p) => existsSync(p));
  if (!osRelease) throw new UsageError(`no os-release (${OS_RELEASE_PATHS.join(", ")}): name one with --os-release`);
  const stub = readInput(stubPath, "--stub");
  const linux = readInput(o.kernel, "--kernel");
  const parts = {
    linux, initrd: readInput(o.initrd, "--initrd"), cmdline: o.cmdline, osrel: readInput(osRelease, "--os-release"),
    uname: undefined as string | undefined,
  };
  const release = withSource(o.kernel, () => bzImageRelease(linux));
  parts.uname = o.uname === null ? undefined : o.uname ?? release;
  const plan = withSource(stubPath, () => planUki(stub, parts));
  const image = emitUki(stub, plan, parts);
  writeFileAtomic(o.output, (w) => w.write(0, image));
  return { path: o.output, bytes: image.length, stub: stubPath, osRelease, uname: parts.uname ?? null, sections: plan.sections };
}
