/** Initramfs files as a boot loader hands them to the kernel. */
import { spawnSync } from "node:child_process";
import { align4 } from "../../src/formats/cpio/newc.js";
import { LZ4_LEGACY_END_BYTES, LZ4_LEGACY_MAGIC } from "../../src/compression/lz4-legacy.js";

/** Archives one after the other, each starting at a multiple of 4 (as boot loaders place them). */
export function concatInitrds(parts: readonly Uint8Array[]): Buffer {
  const out: Uint8Array[] = [];
  let len = 0;
  for (const p of parts) {
    const start = align4(len);
    if (start > len) out.push(Buffer.alloc(start - len));
    out.push(p);
    len = start + p.length;
  }
  return Buffer.concat(out);
}

/** The newc archive inside a mini initramfs without early archives, unpacked by the tool a person would use. */
export function miniCpio(mini: Uint8Array): Buffer {
  const b = Buffer.from(mini);
  const tool = (cmd: string, input: Uint8Array) => {
    const r = spawnSync(cmd, ["-dc"], { input, maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`${cmd} -dc: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  if (b[0] === 0x1f && b[1] === 0x8b) return tool("gzip", b);
  if (b.readUInt32LE(0) === 0xfd2fb528) return tool("zstd", b);
  if (b.readUInt32LE(0) === LZ4_LEGACY_MAGIC) {
    // the zero chunk size that ends our lz4 frames is not the lz4 tool's (it calls it corrupt)
    const end = b.length - LZ4_LEGACY_END_BYTES;
    if (!b.subarray(end).equals(Buffer.alloc(LZ4_LEGACY_END_BYTES))) throw new Error("an lz4 mini must end with a zero chunk size");
    return tool("lz4", b.subarray(0, end));
  }
  return b;
}
