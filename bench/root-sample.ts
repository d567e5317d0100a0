/**
 * One boot as the benches sample it: the test root's init that also dumps /proc/meminfo and the
 * per-CPU free lists, and the parser that splits the console into phases (boot-report's parser).
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { buildBootReport, parseKernelLog, KERNEL_LINES, KernelLogLine } from "../src/formats/boot-log/index.js";
import { ROOT_INIT, rootReport, tail } from "../test/boot/root-report.js";
import { ScalingSample } from "./scaling-report.js";

/** The kernel command line's list (commas) of the modules the stock boot had at its root: the pair's root unloads the others. */
const STOCK_MODULES_PARAM = "bench.stock_modules";

/** The kernel command line argument that asks the root to unload all but `modules`; undefined for none. */
export function stockModulesArg(modules: readonly string[] | undefined): string | undefined {
  return modules?.length ? `${STOCK_MODULES_PARAM}=${modules.join(",")}` : undefined;
}

// a diagnosis after every other measurement (what the modules the pair loaded beyond the stock's
// hold): unload every module not in STOCK_MODULES_PARAM's list, in passes (a module goes once its
// users have), and print the free memory including the per-CPU lists; without the list only the
// memory, at the same point of the boot
const UNLOAD_BLOCK = `keep=$($B sed -n 's/.*${STOCK_MODULES_PARAM.replace(".", "\\.")}=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
if [ -n "$keep" ]; then
  for pass in 1 2 3; do
    for m in $($B cut -d' ' -f1 /proc/modules); do
      case ",$keep," in *,$m,*) ;; *) $B rmmod $m 2>/dev/null && echo "UNLOADED $m";; esac
    done
  done
fi
$B sleep 1
echo "FREE-END $($B grep MemFree /proc/meminfo | $B tr -s ' ' | $B cut -d' ' -f2) $($B grep -E '^ +count: ' /proc/zoneinfo | $B tr -s ' ' | $B cut -d' ' -f3 | $B tr '\\n' ' ')"
`;

// the reporting init, plus all of /proc/meminfo at the real root (where the memory went), and
// again once the old root's loop devices are gone (what the pair's teardown gives back)
export const SAMPLE_INIT = ROOT_INIT
  .replace("$B grep MemAvailable /proc/meminfo | $B sed 's/^/MEM /'\n", (m) => `${m}$B sed 's/^/MEMINFO /' /proc/meminfo\n` +
    // free pages parked on the per-CPU lists, which MemFree does not count
    `$B grep -E '^ +(count|high): ' /proc/zoneinfo | $B sed 's/^ */PCP /'\necho "MIN-FREE $($B cat /proc/sys/vm/min_free_kbytes)"\n`)
  .replace('echo "LOOPS-CHECKED"\n', (m) => `$B sed 's/^/MEMINFO-AFTER /' /proc/meminfo\n${m}`)
  .replace('echo "ROOT-DONE"\n', (m) => UNLOAD_BLOCK + m);
if ((SAMPLE_INIT.match(/MEMINFO|FREE-END/g) ?? []).length !== 3) throw new Error("ROOT_INIT changed: the lines to extend are gone");

/** The benches attach the test root, then the boot disk: the second virtio disk. */
export const BOOT_DISK = "vdb";

// the kernel's line when an initramfs archive does not fit in RAM (init/initramfs.c): the boot may
// still reach the root without the appended content, which is not a boot of that initramfs
export const UNPACK_FAILED = /Initramfs unpacking failed: .*/;

/** The times of one boot to the test root, in seconds since the kernel started. */
export interface BootTimes {
  /** /proc/uptime when the real root's init printed ROOT-MARKER */
  uptime: number;
  /** the kernel runs the initramfs's first program (stock: the original /init; the pair: storage-init) */
  kernelAt: number;
  /** the original initramfs's init starts: storage-init's hand-over (the pair), the first program (stock) */
  originalInitAt: number;
  memAvailableKiB: number;
  /** all the root printed (bytes read per disk, modules, ...) */
  root: ReturnType<typeof rootReport>;
  /** the kernel log in the console */
  lines: KernelLogLine[];
}

/**
 * Where one boot's time went, by boot-report's parser. Throws when the kernel did not unpack the
 * whole initramfs, the boot did not reach the root, or storage-init ran and did not hand over.
 */
export function parseBootTimes(text: string): BootTimes {
  const failed = UNPACK_FAILED.exec(text);
  if (failed) throw new Error(`the kernel did not unpack the whole initramfs: ${failed[0]}`);
  const root = rootReport(text);
  if (!root.reached || root.uptime === undefined || root.memAvailableKiB === undefined) throw new Error(`boot did not reach the root:\n${tail(text)}`);
  const lines = parseKernelLog(text, "console");
  const br = buildBootReport(lines);
  if (!br.phases.kernel) throw new Error(`no kernel phase in the boot log:\n${tail(text)}`);
  if (br.storageInit && !br.storageInit.handOver) throw new Error(`storage-init did not hand over:\n${tail(text)}`);
  // the original init starts at the first program (stock) or storage-init's hand-over (pair): it
  // ends at the root's own UPTIME line, which the kernel log does not show
  const originalInitAt = br.storageInit?.handOver?.at ?? br.phases.kernel.to;
  return { uptime: root.uptime, kernelAt: br.phases.kernel.to, originalInitAt, memAvailableKiB: root.memAvailableKiB, root, lines };
}

export function parseSample(text: string): ScalingSample {
  const { uptime, kernelAt, originalInitAt, memAvailableKiB, root, lines } = parseBootTimes(text);
  const freeing = lines.find((l) => KERNEL_LINES.unpackEnd.test(l.message));
  const meminfo: Record<string, number> = {};
  const meminfoAfterTeardown: Record<string, number> = {};
  for (const m of text.matchAll(/^MEMINFO (\w+(?:\(\w+\))?):\s+(\d+)/gm)) meminfo[m[1]] = Number(m[2]);
  for (const m of text.matchAll(/^MEMINFO-AFTER (\w+(?:\(\w+\))?):\s+(\d+)/gm)) meminfoAfterTeardown[m[1]] = Number(m[2]);
  const pcp = [...text.matchAll(/^PCP (count|high): +(\d+)/gm)];
  // per-CPU list counts are in 4 KiB pages
  const kiB = (pages: string[]) => 4 * pages.reduce((a, n) => a + Number(n), 0);
  const pages = (k: string) => pcp.filter((m) => m[1] === k).map((m) => m[2]);
  const minFree = /^MIN-FREE (\d+)/m.exec(text);
  const end = /^FREE-END (\d+)((?: \d+)*)[ \r]*$/m.exec(text);
  return {
    perCpuFreeKiB: pcp.length ? { count: kiB(pages("count")), high: kiB(pages("high")) } : undefined,
    minFreeKiB: minFree ? Number(minFree[1]) : undefined,
    uptime, kernel: kernelAt, storageInit: originalInitAt - kernelAt,
    originalInit: uptime - originalInitAt, memAvailableKiB, modules: root.modules, moduleMs: root.moduleMs,
    freeingInitrd: freeing ? { at: freeing.usec / 1e6, kiB: Number(/(\d+)K$/.exec(freeing.message)![1]) } : undefined, meminfo, meminfoAfterTeardown,
    freeAtEndKiB: end ? Number(end[1]) + kiB(end[2].trim().split(/ +/).filter(Boolean)) : undefined,
    unloaded: [...text.matchAll(/^UNLOADED (\S+)$/gm)].map((m) => m[1]),
    bootDiskReads: root.readRequests[BOOT_DISK] === undefined ? undefined : { requests: root.readRequests[BOOT_DISK], bytes: root.bytesRead[BOOT_DISK] },
  };
}

/** Writes text to path through a synced temporary file. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`, fd = openSync(tmp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
