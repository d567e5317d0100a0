/** fs-verity digests of files and other byte sources (streaming, see leaf-hashing.ts). */
import { FsverityDigest, FsverityOptions, FsverityTree } from "../formats/verity/fsverity.js";
import { ByteSource, withFileSource } from "./byte-source.js";
import { LeafHashingOptions, hashSourceBlocks } from "./leaf-hashing.js";

export async function fsverityDigestOfSource(src: ByteSource, opts: FsverityOptions & LeafHashingOptions = {}): Promise<FsverityDigest> {
  const tree = new FsverityTree(opts);
  await hashSourceBlocks(src, 0, src.size, tree.blockHashParams, (d, n) => tree.addDataDigests(d, n), opts);
  return tree.digest();
}

/** What `fsverity digest PATH` prints, as a structure (the file digest over the whole file). */
export async function fsverityDigestOfFile(path: string, opts: FsverityOptions & LeafHashingOptions = {}): Promise<FsverityDigest> {
  return withFileSource(path, (src) => fsverityDigestOfSource(src, opts));
}
