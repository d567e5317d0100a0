/**
 * Decompresses a module file at build time (--decompress-modules): the mini initramfs is
 * compressed as a whole anyway, and a plain .ko needs no CONFIG_MODULE_DECOMPRESS. A signed
 * module stays valid: the signature is appended before compression, over the plain bytes.
 */
import { decompress } from "../../compression/index.js";
import { FormatError } from "../../errors.js";
import { ModuleCompression } from "./names.js";

export async function decompressModule(data: Uint8Array, kind: ModuleCompression, source: string): Promise<Uint8Array> {
  if (kind === "none") return data;
  const chunks: Uint8Array[] = [];
  const gen = decompress(kind, data, 0);
  try {
    let r = await gen.next();
    while (!r.done) {
      chunks.push(r.value);
      r = await gen.next();
    }
  } catch (e) {
    throw e instanceof FormatError ? e.withSource(source) : e;
  }
  return Buffer.concat(chunks);
}
