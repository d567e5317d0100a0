/**
 * Streaming XXH64 (seed 0), for the zstd content checksum, which fzstd does not verify.
 * 64-bit values are kept as two uint32 halves (hi, lo): BigInt would be far too slow here.
 */

// primes as [hi, lo]
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

// Results of the helpers below, to avoid allocating a pair per operation.
let RH = 0;
let RL = 0;

const INV16 = 1 / 65536;

/**
 * (ah:al) * (bh:bl) mod 2^64. The high half of al * bl comes from splitting al in 16-bit halves:
 * each partial product is below 2^48, exact in a double.
 */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const carry = Math.floor(((al >>> 16) * bl + Math.floor((al & 0xffff) * bl * INV16)) * INV16);
  RL = Math.imul(al, bl) >>> 0;
  RH = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  RL = lo >>> 0;
  RH = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** rotate left by r, 0 < r < 32 */
function rotl(h: number, l: number, r: number): void {
  RH = ((h << r) | (l >>> (32 - r))) >>> 0;
  RL = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** acc + input * P2, rotl 31, * P1 */
function round(acch: number, accl: number, inh: number, inl: number): void {
  mul(inh, inl, P2H, P2L);
  add(acch, accl, RH, RL);
  rotl(RH, RL, 31);
  mul(RH, RL, P1H, P1L);
}

/**
 * The stripe loop in WebAssembly, where i64 multiply is one instruction (about 10x the JS
 * version below). Hand-assembled from:
 *   (memory (export "mem") 17)            ;; [0, 32): v1..v4 as i64; data from 32, up to 1 MiB
 *   (func (export "stripes") (param $p i32) (param $end i32) (local $v1 i64) ... ($v4 i64)
 *     v1..v4 = i64.load offset=0/8/16/24 (i32.const 0)
 *     (loop  ;; at least one stripe
 *       v_k = i64.rotl(v_k + i64.load offset=8k ($p) * PRIME64_2, 31) * PRIME64_1  (k = 1..4)
 *       (br_if 0 (i32.lt_u (local.tee $p (i32.add $p 32)) $end)))
 *     store v1..v4 back at 0/8/16/24)
 */
const WASM_HEX =
    "0061736d0100000001060160027f7f00030201000503010011071102036d656d0200077374726970657300000ade0101" +
    "db0101047e4100290300210241002903082103410029031021044100290318210503402002200029030042cfd6d3bed2" +
    "c7abd9427e7c421f89428795afaf98b6de9b9e7f7e21022003200029030842cfd6d3bed2c7abd9427e7c421f89428795" +
    "afaf98b6de9b9e7f7e21032004200029031042cfd6d3bed2c7abd9427e7c421f89428795afaf98b6de9b9e7f7e210420" +
    "05200029031842cfd6d3bed2c7abd9427e7c421f89428795afaf98b6de9b9e7f7e2105200041206a22002001490d000b" +
    "410020023703004100200337030841002004370310410020053703180b";
const WASM_DATA_AT = 32;
const WASM_DATA_MAX = 1 << 20;

interface WasmStripes {
  run: (p: number, end: number) => void;
  bytes: Uint8Array;
  words: Uint32Array;
}

/** The little of the WebAssembly API used here (lib "ES2022" has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

let wasmStripes: WasmStripes | null | undefined;

function loadWasm(): WasmStripes | null {
  if (wasmStripes !== undefined) return wasmStripes;
  try {
    const wa = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new wa.Instance(new wa.Module(Buffer.from(WASM_HEX, "hex")));
    const mem = instance.exports.mem as { buffer: ArrayBuffer };
    wasmStripes = {
      run: instance.exports.stripes as (p: number, end: number) => void,
      bytes: new Uint8Array(mem.buffer),
      words: new Uint32Array(mem.buffer, 0, 8),
    };
  } catch {
    wasmStripes = null; // no WebAssembly (e.g. --jitless): the JS loop does it
  }
  return wasmStripes;
}

export class Xxh64 {
  // accumulators v1..v4 as hi/lo
  private v = new Uint32Array(8);
  private buf = new Uint8Array(32);
  private bufLen = 0;
  private total = 0;

  constructor() {
    // seed 0: v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1
    add(P1H, P1L, P2H, P2L);
    this.v[0] = RH; this.v[1] = RL;
    this.v[2] = P2H; this.v[3] = P2L;
    this.v[4] = 0; this.v[5] = 0;
    // -P1 = ~P1 + 1
    add(~P1H >>> 0, ~P1L >>> 0, 0, 1);
    this.v[6] = RH; this.v[7] = RL;
  }

  update(data: Uint8Array): this {
    let p = 0;
    const n = data.length;
    this.total += n;
    if (this.bufLen > 0) {
      const take = Math.min(32 - this.bufLen, n);
      this.buf.set(data.subarray(0, take), this.bufLen);
      this.bufLen += take;
      p = take;
      if (this.bufLen < 32) return this;
      this.stripes(this.buf, 0, 32);
      this.bufLen = 0;
    }
    const whole = p + ((n - p) & ~31);
    if (whole > p) this.stripes(data, p, whole);
    if (whole < n) {
      this.buf.set(data.subarray(whole), 0);
      this.bufLen = n - whole;
    }
    return this;
  }

  /**
   * The four lanes are independent, so each runs over all stripes on its own, with its state in
   * locals and the round written out: this loop is the whole cost of hashing.
   */
  private stripes(d: Uint8Array, from: number, to: number): void {
    const wasm = loadWasm();
    if (wasm) this.stripesWasm(wasm, d, from, to);
    else this.stripesJs(d, from, to);
  }

  private stripesWasm(wasm: WasmStripes, d: Uint8Array, from: number, to: number): void {
    const v = this.v;
    const w = wasm.words;
    for (let k = 0; k < 4; k++) {
      w[2 * k] = v[2 * k + 1]; // little-endian i64: low word first
      w[2 * k + 1] = v[2 * k];
    }
    for (let at = from; at < to; at += WASM_DATA_MAX) {
      const n = Math.min(WASM_DATA_MAX, to - at);
      wasm.bytes.set(d.subarray(at, at + n), WASM_DATA_AT);
      wasm.run(WASM_DATA_AT, WASM_DATA_AT + n);
    }
    for (let k = 0; k < 4; k++) {
      v[2 * k + 1] = w[2 * k];
      v[2 * k] = w[2 * k + 1];
    }
  }

  private stripesJs(d: Uint8Array, from: number, to: number): void {
    const v = this.v;
    for (let lane = 0; lane < 4; lane++) {
      let h = v[2 * lane];
      let l = v[2 * lane + 1];
      for (let i = from + 8 * lane; i < to; i += 32) {
        const il = (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24)) >>> 0;
        const ih = (d[i + 4] | (d[i + 5] << 8) | (d[i + 6] << 16) | (d[i + 7] << 24)) >>> 0;
        // p = input * P2
        const pc = Math.floor(((il >>> 16) * P2L + Math.floor((il & 0xffff) * P2L * INV16)) * INV16);
        const pl = Math.imul(il, P2L) >>> 0;
        const ph = pc + Math.imul(ih, P2L) + Math.imul(il, P2H);
        // acc += p
        const sl = l + pl;
        const sh = (h + ph + (sl > 0xffffffff ? 1 : 0)) >>> 0;
        const sl32 = sl >>> 0;
        // rotl 31
        const rh = ((sh << 31) | (sl32 >>> 1)) >>> 0;
        const rl = ((sl32 << 31) | (sh >>> 1)) >>> 0;
        // acc = r * P1
        const mc = Math.floor(((rl >>> 16) * P1L + Math.floor((rl & 0xffff) * P1L * INV16)) * INV16);
        l = Math.imul(rl, P1L) >>> 0;
        h = (mc + Math.imul(rh, P1L) + Math.imul(rl, P1H)) >>> 0;
      }
      v[2 * lane] = h;
      v[2 * lane + 1] = l;
    }
  }

  /** The 64-bit digest as [hi, lo]. */
  digest(): [number, number] {
    const v = this.v;
    let hh: number, hl: number;
    if (this.total >= 32) {
      rotl(v[0], v[1], 1); let sh = RH, sl = RL;
      rotl(v[2], v[3], 7); add(sh, sl, RH, RL); sh = RH; sl = RL;
      rotl(v[4], v[5], 12); add(sh, sl, RH, RL); sh = RH; sl = RL;
      rotl(v[6], v[7], 18); add(sh, sl, RH, RL); sh = RH; sl = RL;
      for (let k = 0; k < 8; k += 2) {
        // merge round: h ^= round(0, v); h = h * P1 + P4
        round(0, 0, v[k], v[k + 1]);
        sh = (sh ^ RH) >>> 0; sl = (sl ^ RL) >>> 0;
        mul(sh, sl, P1H, P1L);
        add(RH, RL, P4H, P4L);
        sh = RH; sl = RL;
      }
      hh = sh; hl = sl;
    } else {
      hh = P5H; hl = P5L;
    }
    add(hh, hl, Math.floor(this.total / 0x100000000) >>> 0, this.total >>> 0);
    hh = RH; hl = RL;

    const b = this.buf;
    const len = this.bufLen;
    let i = 0;
    for (; i + 8 <= len; i += 8) {
      round(0, 0, le32(b, i + 4), le32(b, i));
      hh = (hh ^ RH) >>> 0; hl = (hl ^ RL) >>> 0;
      rotl(hh, hl, 27);
      mul(RH, RL, P1H, P1L);
      add(RH, RL, P4H, P4L);
      hh = RH; hl = RL;
    }
    if (i + 4 <= len) {
      mul(0, le32(b, i), P1H, P1L);
      hh = (hh ^ RH) >>> 0; hl = (hl ^ RL) >>> 0;
      rotl(hh, hl, 23);
      mul(RH, RL, P2H, P2L);
      add(RH, RL, P3H, P3L);
      hh = RH; hl = RL;
      i += 4;
    }
    for (; i < len; i++) {
      mul(0, b[i], P5H, P5L);
      hh = (hh ^ RH) >>> 0; hl = (hl ^ RL) >>> 0;
      rotl(hh, hl, 11);
      mul(RH, RL, P1H, P1L);
      hh = RH; hl = RL;
    }

    // avalanche
    hl = (hl ^ (hh >>> 1)) >>> 0; // h ^= h >> 33
    mul(hh, hl, P2H, P2L); hh = RH; hl = RL;
    hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0; // h ^= h >> 29
    hh = (hh ^ (hh >>> 29)) >>> 0;
    mul(hh, hl, P3H, P3L); hh = RH; hl = RL;
    hl = (hl ^ hh) >>> 0; // h ^= h >> 32
    return [hh, hl];
  }
}

function le32(d: Uint8Array, i: number): number {
  return (d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (d[i + 3] << 24)) >>> 0;
}
