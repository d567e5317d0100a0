/** Initramfs files as a boot loader hands them to the kernel. */
import { align4 } from "../../src/formats/cpio/newc.js";

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
