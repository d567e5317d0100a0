/** The EROFS writer: plan (layout) then emit (bytes). */
import { FsTree } from "../../../fs/tree.js";
import { emitImage, EmitResult, ImageSink } from "./emit.js";
import { ErofsWriteOptions, planImage } from "./plan.js";

export type { ErofsWriteOptions } from "./plan.js";
export type { ImageSink, EmitResult } from "./emit.js";
export { planImage } from "./plan.js";
export { emitImage } from "./emit.js";

export function writeErofs(tree: FsTree, sink: ImageSink, options: ErofsWriteOptions = {}): EmitResult {
  return emitImage(planImage(tree, options), sink);
}

/** Builds the whole image in memory. */
export function buildErofsImage(tree: FsTree, options: ErofsWriteOptions = {}): Uint8Array {
  const plan = planImage(tree, options);
  const image = new Uint8Array(plan.totalBlocks * 4096);
  emitImage(plan, { write: (offset, bytes) => image.set(bytes, offset) });
  return image;
}
