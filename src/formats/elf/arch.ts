/**
 * The architectures initoverlayfs builds for, by the names systemd uses (ARCHITECTURE=, the
 * Discoverable Partitions types): x86-64 and arm64. Each one's ELF machine (elf.h), the kernel
 * config symbol only its kernels set, and what `uname -m` says on it.
 */
export const ARCHES = ["x86-64", "arm64"] as const;
export type Arch = (typeof ARCHES)[number];

export const ARCH_INFO: Readonly<Record<Arch, { elfMachine: number; kernelConfig: string; uname: string }>> = {
  "x86-64": { elfMachine: 62 /* EM_X86_64 */, kernelConfig: "CONFIG_X86_64", uname: "x86_64" },
  arm64: { elfMachine: 183 /* EM_AARCH64 */, kernelConfig: "CONFIG_ARM64", uname: "aarch64" },
};

/** For messages: other machines a wrong file may be built for (elf.h). */
const OTHER_MACHINES: Readonly<Record<number, string>> = {
  3: "x86 (32-bit)", 8: "MIPS", 20: "PowerPC", 21: "PowerPC 64", 22: "s390", 40: "ARM (32-bit)", 243: "RISC-V", 258: "LoongArch",
};

/** "x86-64", "arm64", or a description of another machine ("ARM (32-bit)", "e_machine 4242"). */
export function machineName(machine: number): string {
  return ARCHES.find((a) => ARCH_INFO[a].elfMachine === machine) ?? OTHER_MACHINES[machine] ?? `e_machine ${machine}`;
}

export function archOfMachine(machine: number): Arch | undefined {
  return ARCHES.find((a) => ARCH_INFO[a].elfMachine === machine);
}

/** "x86-64" or "arm64" as given, or why not (for --arch and the like). */
export function archProblem(v: string): string | undefined {
  return (ARCHES as readonly string[]).includes(v) ? undefined : `expected ${ARCHES.join(" or ")}, got ${JSON.stringify(v)}`;
}

/** The architecture `uname -m` (Node's os.machine()) names: to run a binary on this machine, never to choose what a build is for. */
export function archOfUname(machine: string): Arch | undefined {
  return ARCHES.find((a) => ARCH_INFO[a].uname === machine);
}
