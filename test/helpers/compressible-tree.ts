/** A tree of hard cases for compressed EROFS images (see writer-compressed.test.ts). */
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { prng } from "./prng.js";

const SIZES = [1, 4095, 4096, 4097, 8191, 8192, 8193, 12288, 12289, 65535, 65536, 65537, 1048576, 1048577, 3 * 1048576 + 5];

function random(rnd: () => number, n: number): Buffer {
  const b = Buffer.alloc(n + 3);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE((rnd() * 0x100000000) >>> 0, i);
  return b.subarray(0, n);
}

export function text(n: number, seed: number): Buffer {
  const words = ["erofs", "lz4", "pcluster", "lcluster", "initramfs", "kernel", "module", "\n", "overlay", "boot"];
  const parts: string[] = [];
  let len = 0;
  let x = seed;
  while (len < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = words[x % words.length] + (x % 7 === 0 ? String(x % 1000) : " ");
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join("")).subarray(0, n);
}

/** 2 MiB where plain and compressed pclusters interleave: 4 KiB of noise, then zeros, ... */
export function mixed(rnd: () => number): Buffer {
  const b = Buffer.alloc(2 << 20);
  for (let o = 0; o < b.length; o += 16384) random(rnd, 4100).copy(b, o + (o % 3000));
  return b;
}

/** The hard cases, written to `dir`. */
export function makeTree(dir: string): void {
  const rnd = prng(4242);
  for (const kind of ["random", "zeros", "text"]) {
    mkdirSync(join(dir, kind));
    for (const n of SIZES) {
      const data = kind === "random" ? random(rnd, n) : kind === "zeros" ? Buffer.alloc(n) : text(n, n);
      writeFileSync(join(dir, kind, `s${n}`), data);
    }
  }
  // plain and compressed pclusters interleaved: 4 KiB of noise, 12 KiB of zeros, ...
  writeFileSync(join(dir, "mixed"), mixed(rnd));
  // text with noise: pclusters that barely save a block, or barely do not
  const noisy = text(1 << 20, 7);
  for (let i = 0; i < noisy.length; i += 3) if (rnd() < 0.5) noisy[i] = (rnd() * 256) | 0;
  writeFileSync(join(dir, "noisy"), noisy);
  writeFileSync(join(dir, "zeros-9M"), Buffer.alloc(9 << 20)); // longer than one extent may be
  writeFileSync(join(dir, "empty"), "");
  linkSync(join(dir, "text", "s65537"), join(dir, "hardlink"));
  symlinkSync("text/s4097", join(dir, "symlink"));
}

