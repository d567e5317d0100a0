/**
 * The mutator of the TypeScript fuzz driver: from a corpus input, a new input by 1 to 8 stacked
 * mutations, libFuzzer's kinds (bit flips, byte changes, inserts, deletes, chunk copies, splices
 * with another input, interesting integers), aimed half of the time at the target's header
 * fields, plus text mutations (dictionary tokens, numbers) for the text formats. Deterministic
 * for a given PRNG seed, so a run can be repeated.
 */

export type Rng = () => number;

/** xorshift128+ folded to [0, 1): fast, seedable */
export function rng(seed: number): Rng {
  let a = (seed ^ 0x9e3779b9) >>> 0 || 1;
  let b = (seed * 2654435761) >>> 0 || 2;
  let c = 0x85ebca6b;
  let d = 0xc2b2ae35;
  return () => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return d / 0x100000000;
  };
}

export interface MutationHints {
  /** byte ranges holding header fields ([start, end)), where integers are planted */
  hot?: ReadonlyArray<readonly [number, number]>;
  /** tokens for text formats (keys, separators) */
  dictionary?: readonly string[];
  /** text format: numbers are rewritten in decimal and hex too */
  text?: boolean;
  /** inputs are cut to this size */
  maxLen: number;
}

const INTERESTING = [
  0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 63, 64, 100, 127, 128, 255, 256, 511, 512, 1000, 1023, 1024, 4095, 4096, 4097,
  8192, 32767, 32768, 65535, 65536, 0x7fffff, 0x800000, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];
const INTERESTING_64 = [2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 2 ** 64 - 1];

const int = (r: Rng, n: number) => Math.floor(r() * n);

function writeUint(out: Uint8Array, at: number, bytes: number, v: number, le: boolean): void {
  // v may exceed 2^32: split so no precision is lost below 2^53
  const lo = v % 0x100000000;
  const hi = Math.floor(v / 0x100000000);
  for (let i = 0; i < bytes && at + i < out.length; i++) {
    const byte = i < 4 ? (lo >>> (8 * i)) & 0xff : (hi >>> (8 * (i - 4))) & 0xff;
    out[le ? at + i : at + bytes - 1 - i] = byte;
  }
}

function position(r: Rng, len: number, hints: MutationHints): number {
  if (len === 0) return 0;
  const hot = hints.hot?.filter(([s]) => s < len);
  if (hot?.length && r() < 0.5) {
    const [s, e] = hot[int(r, hot.length)];
    return s + int(r, Math.max(1, Math.min(e, len) - s));
  }
  // header fields are 2-, 4- and 8-byte aligned more often than not
  const p = int(r, len);
  return r() < 0.5 ? p & ~3 : p;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

function mutateOnce(r: Rng, data: Uint8Array, other: Uint8Array, hints: MutationHints): Uint8Array {
  const len = data.length;
  const kinds = hints.text ? 14 : 11;
  switch (len === 0 ? 4 : int(r, kinds)) {
    case 0: { // flip a bit
      const out = data.slice();
      out[position(r, len, hints)] ^= 1 << int(r, 8);
      return out;
    }
    case 1: { // a random byte
      const out = data.slice();
      out[position(r, len, hints)] = int(r, 256);
      return out;
    }
    case 2: { // a small change to a byte
      const out = data.slice();
      const p = position(r, len, hints);
      out[p] = (out[p] + int(r, 35) - 17) & 0xff;
      return out;
    }
    case 3: { // an interesting integer, 1 to 8 bytes, either byte order
      const out = data.slice();
      const bytes = [1, 2, 4, 4, 8][int(r, 5)];
      const pool = bytes === 8 && r() < 0.5 ? INTERESTING_64 : INTERESTING;
      let v = pool[int(r, pool.length)];
      if (r() < 0.2) v = Math.max(0, v + int(r, 3) - 1);
      writeUint(out, position(r, len, hints), bytes, v, r() < 0.8);
      return out;
    }
    case 4: { // insert random bytes
      const p = int(r, len + 1);
      const n = 1 + int(r, r() < 0.8 ? 8 : 256);
      const ins = new Uint8Array(n);
      const fill = r() < 0.5 ? int(r, 256) : -1;
      for (let i = 0; i < n; i++) ins[i] = fill >= 0 ? fill : int(r, 256);
      return concat(data.subarray(0, p), ins, data.subarray(p));
    }
    case 5: { // delete a range
      const p = int(r, len);
      const n = 1 + int(r, Math.min(len - p, r() < 0.8 ? 8 : 4096));
      return concat(data.subarray(0, p), data.subarray(p + n));
    }
    case 6: { // copy a chunk over another place
      const out = data.slice();
      const to = position(r, len, hints);
      const from = int(r, len);
      const n = 1 + int(r, Math.min(len - from, len - to, 64));
      out.set(data.subarray(from, from + n), to);
      return out;
    }
    case 7: { // splice with another corpus input
      if (other.length === 0) return data;
      const p = int(r, len + 1);
      const q = int(r, other.length + 1);
      return r() < 0.5 ? concat(data.subarray(0, p), other.subarray(q)) : concat(data.subarray(0, p), other.subarray(q, q + 1 + int(r, 512)), data.subarray(p));
    }
    case 8: // truncate
      return data.subarray(0, int(r, len + 1));
    case 9: { // duplicate a chunk in place (repeated structures, long runs)
      const p = int(r, len);
      const n = 1 + int(r, Math.min(len - p, 256));
      return concat(data.subarray(0, p + n), data.subarray(p, p + n), data.subarray(p + n));
    }
    case 10: { // overwrite a byte run with one value (zeroed or 0xff'd fields)
      const out = data.slice();
      const p = position(r, len, hints);
      out.fill([0, 0xff, 0x20, 0x30][int(r, 4)], p, Math.min(len, p + 1 + int(r, 16)));
      return out;
    }
    case 11: { // a dictionary token
      const dict = hints.dictionary ?? [];
      if (!dict.length) return data;
      const tok = new TextEncoder().encode(dict[int(r, dict.length)]);
      const p = int(r, len + 1);
      return r() < 0.7 ? concat(data.subarray(0, p), tok, data.subarray(p)) : concat(data.subarray(0, p), tok, data.subarray(Math.min(len, p + tok.length)));
    }
    case 12: { // a number in the text replaced by an interesting one
      const text = Buffer.from(data).toString("latin1");
      const spans = [...text.matchAll(/[0-9a-fA-F]{2,}|[0-9]+/g)];
      if (!spans.length) return data;
      const m = spans[int(r, spans.length)];
      const v = [...INTERESTING, ...INTERESTING_64][int(r, INTERESTING.length + INTERESTING_64.length)];
      const s = r() < 0.5 ? BigInt(v).toString() : BigInt(v).toString(16).padStart(m[0].length, "0");
      return Buffer.from(text.slice(0, m.index!) + s + text.slice(m.index! + m[0].length), "latin1");
    }
    default: { // a line duplicated or dropped
      const lines = Buffer.from(data).toString("latin1").split("\n");
      const i = int(r, lines.length);
      if (r() < 0.5) lines.splice(i, 0, lines[int(r, lines.length)]);
      else lines.splice(i, 1);
      return Buffer.from(lines.join("\n"), "latin1");
    }
  }
}

export function mutate(r: Rng, data: Uint8Array, other: Uint8Array, hints: MutationHints): Uint8Array {
  let out = data;
  const n = 1 + int(r, r() < 0.7 ? 3 : 8);
  for (let i = 0; i < n; i++) out = mutateOnce(r, out, other, hints);
  return out.length > hints.maxLen ? out.subarray(0, hints.maxLen) : out;
}
