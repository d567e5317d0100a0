/**
 * TreeCompressor's scheduling (files offered while a tree loads, up to 1 MiB queued per worker,
 * handOutAll before long synchronous work) never changes the image: the same bytes as compressing
 * in this thread, which the end-to-end tests check against the kernel and fsck.erofs.
 */
import test from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers/promises";
import { bytesContent, emptyMeta, FileNode, FsTree, newDir, newTree } from "../../src/fs/tree.js";
import { buildErofsImage } from "../../src/formats/erofs/writer/index.js";
import { CompressionSettings, TreeCompressor, writerOptions } from "../../src/pipeline/compress-tree.js";
import { text } from "../helpers/compressible-tree.js";
import { prng } from "../helpers/prng.js";

/** 40 files from 3 KiB to 1 MiB: text, noise, and text with noise in it */
function files(): FileNode[] {
  const rnd = prng(77);
  const out: FileNode[] = [];
  for (let k = 0; k < 40; k++) {
    const size = 3000 + Math.floor(rnd() * rnd() * (1 << 20));
    const b = Buffer.from(text(size, k + 1));
    if (k % 3 !== 0) for (let i = 0; i < size; i += k % 3 === 1 ? 1 : 97) b[i] = Math.floor(rnd() * 256);
    out.push({ ...emptyMeta(), kind: "file", perm: 0o644, content: bytesContent(b) });
  }
  return out;
}

function treeOf(nodes: FileNode[]): FsTree {
  const tree = newTree();
  const dir = newDir();
  tree.root.entries.set("d", dir);
  nodes.forEach((n, k) => dir.entries.set(`f${String(k).padStart(2, "0")}`, n));
  return tree;
}

async function image(settings: CompressionSettings, schedule: "finish" | "offer" | "offer+handOutAll"): Promise<Uint8Array> {
  const nodes = files();
  const tree = treeOf(nodes);
  const c = new TreeCompressor(settings);
  try {
    return await imageWith(c, nodes, tree, schedule);
  } finally {
    await c.close(); // whoever makes a compressor closes it
  }
}

async function imageWith(c: TreeCompressor, nodes: ReturnType<typeof files>, tree: ReturnType<typeof treeOf>, schedule: "finish" | "offer" | "offer+handOutAll"): Promise<Uint8Array> {
  const settings = c.settings;
  nodes.forEach((n, k) => {
    if (schedule !== "finish") c.offer(n);
    // a later entry replacing a file's content after it was offered (a cpio archive can do that)
    if (k === 10) n.content = bytesContent(Buffer.from(text(200_000, 999)));
  });
  if (schedule !== "finish") {
    await setImmediate();
    if (schedule === "offer+handOutAll") c.handOutAll();
  }
  const compressed = await c.finish(tree);
  assert.ok(compressed.size > 15, `only ${compressed.size} files compressed`);
  return buildErofsImage(tree, { timestamp: { sec: 0, nsec: 0 }, ...writerOptions(settings, compressed) });
}

test("the image does not depend on the number of workers or on when files are offered and handed out", async () => {
  for (const base of [{ algorithm: "lz4hc", level: 9 }, { algorithm: "lz4", maxPclusterBytes: 16384, tailPacking: true }] as CompressionSettings[]) {
    // in this thread, with every content as finish() sees it
    const nodes = files();
    nodes[10].content = bytesContent(Buffer.from(text(200_000, 999)));
    const s1 = { ...base, workers: 1 };
    const c = new TreeCompressor(s1);
    const tree = treeOf(nodes);
    const reference = buildErofsImage(tree, { timestamp: { sec: 0, nsec: 0 }, ...writerOptions(s1, await c.finish(tree)) });
    for (const workers of [2, 3]) {
      for (const schedule of ["finish", "offer", "offer+handOutAll"] as const) {
        const got = await image({ ...base, workers }, schedule);
        assert.ok(Buffer.from(got).equals(Buffer.from(reference)), `${base.algorithm}, ${workers} workers, ${schedule}: image differs`);
      }
    }
  }
});
