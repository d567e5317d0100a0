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

/** (ah:al) * (bh:bl) mod 2^64 */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const t = a0 * b0;
  const m1 = a1 * b0;
  const m2 = a0 * b1;
  const mid = (t >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
  RL = ((mid << 16) | (t & 0xffff)) >>> 0;
  const carry = a1 * b1 + (m1 >>> 16) + (m2 >>> 16) + (mid >>> 16);
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

  private stripes(d: Uint8Array, from: number, to: number): void {
    const v = this.v;
    let v1h = v[0], v1l = v[1], v2h = v[2], v2l = v[3], v3h = v[4], v3l = v[5], v4h = v[6], v4l = v[7];
    for (let i = from; i < to; i += 32) {
      round(v1h, v1l, le32(d, i + 4), le32(d, i));
      v1h = RH; v1l = RL;
      round(v2h, v2l, le32(d, i + 12), le32(d, i + 8));
      v2h = RH; v2l = RL;
      round(v3h, v3l, le32(d, i + 20), le32(d, i + 16));
      v3h = RH; v3l = RL;
      round(v4h, v4l, le32(d, i + 28), le32(d, i + 24));
      v4h = RH; v4l = RL;
    }
    v[0] = v1h; v[1] = v1l; v[2] = v2h; v[3] = v2l; v[4] = v3h; v[5] = v3l; v[6] = v4h; v[7] = v4l;
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
