/**
 * How the mini initramfs is compressed for a kernel: the kernel must unpack it before anything
 * runs, so a kind its config or release cannot unpack is refused, and `auto` picks the fastest one
 * it can.
 */
import { UsageError } from "../errors.js";
import { MiniCompression, MiniCompressionChoice } from "../formats/storage-init-config/index.js";
import { configIsY, kernelAtLeast, KernelConfig } from "./kernel.js";

/** What is known of the kernel a mini is for: its release, and its config when one was found. */
export interface KernelFacts {
  kver: string;
  config?: KernelConfig;
}

/** The kernel option that lets the kernel unpack each kind of mini (gzip's is on in every kernel in practice). */
const MINI_DECOMPRESSOR: Partial<Record<MiniCompression, string>> = { zstd: "CONFIG_RD_ZSTD", lz4: "CONFIG_RD_LZ4" };
/**
 * lz4's legacy frames have no end marker. Before 5.11 the kernel decoded whatever followed the
 * mini (an archive the boot loader appends) as more frames and failed; since then the zero chunk
 * size our lz4 mini ends with stops it (commit 2c484419efc0).
 */
const LZ4_END_KERNEL = [5, 11] as const;

/** Why this kernel cannot boot a mini packed as `kind`, or undefined (also when its config or release is unknown). */
function miniCompressionProblem(kind: MiniCompression, kernel: KernelFacts): string | undefined {
  const option = MINI_DECOMPRESSOR[kind];
  if (option && kernel.config && !configIsY(kernel.config, option)) return `this kernel cannot unpack it (${option} is not set in ${kernel.config.source})`;
  if (kind === "lz4" && kernelAtLeast(kernel.kver, ...LZ4_END_KERNEL) === false) {
    return `Linux ${kernel.kver} cannot find where an lz4 mini ends, so an archive a boot loader appends would not unpack (needs ${LZ4_END_KERNEL.join(".")} or later)`;
  }
  return undefined;
}

/**
 * `auto`: lz4 when the kernel's config and release say it unpacks lz4 and finds its end (the
 * kernel unpacks a 10 MB mini in 0.08 s instead of gzip's 0.18 under TCG), else gzip. A named
 * kind the kernel cannot unpack is refused: it would boot to a panic.
 */
export function chooseMiniCompression(choice: MiniCompressionChoice, kernel: KernelFacts): MiniCompression {
  if (choice === "auto") {
    const lz4Known = kernel.config !== undefined && kernelAtLeast(kernel.kver, ...LZ4_END_KERNEL) === true;
    return lz4Known && miniCompressionProblem("lz4", kernel) === undefined ? "lz4" : "gzip";
  }
  const problem = miniCompressionProblem(choice, kernel);
  if (problem) throw new UsageError(`--mini-compression ${choice}: ${problem}`);
  return choice;
}
