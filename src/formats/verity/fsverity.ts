/**
 * fs-verity file digest: a Merkle tree over `blockSize` blocks of the file (last block
 * zero-padded), digests packed into zero-padded tree blocks, levels built until one block remains;
 * the root is the hash of that block (a one-block file: the hash of its block; an empty file:
 * all zeros). The file digest is the hash of the 256-byte descriptor. The salt, zero-padded to the
 * hash function's input block size, is hashed before every block.
 *
 * Streaming: FsverityTree takes the data blocks' digests in order (so that the data blocks can be
 * hashed elsewhere, e.g. in worker threads) and keeps one partial block per level: memory is
 * O(levels * blockSize) whatever the file size.
 */
import { FormatError, UsageError } from "../../errors.js";
import { bytes, defineStruct, u16, u32, u64, u8 } from "../struct.js";
import { DIGEST_SIZE, FSVERITY_ALG_NUMBER, FsverityHashName, HASH_INPUT_BLOCK, checkBlockSize, toHex } from "./algorithms.js";
import { BlockHashParams, BlockHasher } from "./block-hasher.js";

export const FSVERITY_DESCRIPTOR = defineStruct("fsverity_descriptor", 256, {
  version: u8(0),
  hashAlgorithm: u8(1),
  logBlocksize: u8(2),
  saltSize: u8(3),
  /** reserved (sig_size in the on-disk copy); 0 in the digested descriptor */
  sigSize: u32(4),
  dataSize: u64(8),
  rootHash: bytes(16, 64),
  salt: bytes(80, 32),
  reserved: bytes(112, 144),
});

/** What `fsverity sign` signs: "FSVerity" ‖ le16 algorithm ‖ le16 digest size ‖ digest. */
export const FSVERITY_FORMATTED_DIGEST = defineStruct("fsverity_formatted_digest", 12, {
  magic: bytes(0, 8),
  digestAlgorithm: u16(8),
  digestSize: u16(10),
});

export const FSVERITY_MAX_SALT = 32;

export interface FsverityOptions {
  /** default sha256 */
  algorithm?: FsverityHashName;
  /** 1024..65536, default 4096 */
  blockSize?: number;
  /** default none */
  salt?: Uint8Array;
}

export interface FsverityParams {
  algorithm: FsverityHashName;
  blockSize: number;
  salt: Uint8Array;
}

export function fsverityParams(o: FsverityOptions = {}): FsverityParams {
  const algorithm = o.algorithm ?? "sha256";
  if (!(algorithm in FSVERITY_ALG_NUMBER)) throw new UsageError(`fs-verity: unsupported hash algorithm ${JSON.stringify(algorithm)} (sha256, sha512)`);
  const blockSize = checkBlockSize("fs-verity block size", o.blockSize ?? 4096, 1024, 65536);
  const salt = o.salt ?? new Uint8Array(0);
  if (salt.length > FSVERITY_MAX_SALT) throw new UsageError(`fs-verity salt: at most ${FSVERITY_MAX_SALT} bytes, got ${salt.length}`);
  return { algorithm, blockSize, salt };
}

/** The per-block hashing fs-verity does (data and tree blocks alike). */
export function fsverityBlockHashParams(p: FsverityParams): BlockHashParams {
  let salt = p.salt;
  if (salt.length > 0) {
    const n = HASH_INPUT_BLOCK[p.algorithm];
    salt = new Uint8Array(Math.ceil(salt.length / n) * n);
    salt.set(p.salt);
  }
  return { algorithm: p.algorithm, blockSize: p.blockSize, salt, saltPosition: "before" };
}

export class FsverityTree {
  readonly params: FsverityParams;
  private readonly hasher: BlockHasher;
  private readonly ds: number;
  /** per level: the partial tree block and how many digests it holds; count of digests seen */
  private levels: { block: Uint8Array; fill: number; total: number }[] = [];
  private dataSize = 0;

  constructor(opts: FsverityOptions = {}) {
    this.params = fsverityParams(opts);
    this.hasher = new BlockHasher(fsverityBlockHashParams(this.params));
    this.ds = DIGEST_SIZE[this.params.algorithm];
  }

  get blockHashParams(): BlockHashParams {
    return this.hasher.p;
  }

  /**
   * Adds the digests of the next data blocks (packed) and the number of data bytes they cover
   * (whole blocks except for a final partial one, which the caller zero-padded before hashing).
   */
  addDataDigests(digests: Uint8Array, dataBytes: number): void {
    this.dataSize += dataBytes;
    for (let i = 0; i < digests.length; i += this.ds) this.push(0, digests.subarray(i, i + this.ds));
  }

  /** Hashes data itself (any length; all but the last call must give whole blocks). */
  addData(data: Uint8Array): void {
    const bs = this.params.blockSize;
    const whole = data.length - (data.length % bs);
    const n = whole / bs + (whole < data.length ? 1 : 0);
    const out = new Uint8Array(n * this.ds);
    this.hasher.hashBlocks(data.subarray(0, whole), out);
    if (whole < data.length) {
      const last = new Uint8Array(bs);
      last.set(data.subarray(whole));
      out.set(this.hasher.hashBlock(last), (n - 1) * this.ds);
    }
    this.addDataDigests(out, data.length);
  }

  private push(level: number, digest: Uint8Array): void {
    let l = this.levels[level];
    if (!l) l = this.levels[level] = { block: new Uint8Array(this.params.blockSize), fill: 0, total: 0 };
    l.block.set(digest, l.fill * this.ds);
    l.fill++;
    l.total++;
    if ((l.fill + 1) * this.ds > this.params.blockSize) this.flush(level);
  }

  private flush(level: number): void {
    const l = this.levels[level];
    if (l.fill === 0) return;
    l.block.fill(0, l.fill * this.ds);
    const d = this.hasher.hashBlock(l.block);
    l.fill = 0;
    this.push(level + 1, d);
  }

  /** Root hash of the tree (all zeros for an empty file). */
  rootHash(): Uint8Array {
    for (let level = 0; ; level++) {
      const l = this.levels[level];
      if (!l) return new Uint8Array(this.ds);
      if (l.total === 1 && !this.levels[level + 1]) return l.block.slice(0, this.ds);
      this.flush(level);
    }
  }

  /** The descriptor the file digest is the hash of. */
  descriptor(root: Uint8Array = this.rootHash()): Uint8Array {
    const d = new Uint8Array(FSVERITY_DESCRIPTOR.size);
    FSVERITY_DESCRIPTOR.encode(d, 0, {
      version: 1,
      hashAlgorithm: FSVERITY_ALG_NUMBER[this.params.algorithm],
      logBlocksize: Math.log2(this.params.blockSize),
      saltSize: this.params.salt.length,
      dataSize: BigInt(this.dataSize),
      rootHash: root,
      salt: this.params.salt,
    });
    return d;
  }

  /** The file digest (call once, after all data). */
  digest(): FsverityDigest {
    const root = this.rootHash();
    const desc = this.descriptor(root);
    const digest = new BlockHasher({ ...this.hasher.p, salt: new Uint8Array(0), blockSize: desc.length }).hashBlock(desc);
    return { algorithm: this.params.algorithm, digest: new Uint8Array(digest), rootHash: root, dataSize: this.dataSize };
  }
}

export interface FsverityDigest {
  algorithm: FsverityHashName;
  digest: Uint8Array;
  rootHash: Uint8Array;
  dataSize: number;
}

/** fs-verity digest of bytes in memory. */
export function fsverityDigest(data: Uint8Array, opts: FsverityOptions = {}): FsverityDigest {
  const t = new FsverityTree(opts);
  const chunk = t.params.blockSize * 256;
  for (let i = 0; i < data.length; i += chunk) t.addData(data.subarray(i, Math.min(i + chunk, data.length)));
  return t.digest();
}

/** "sha256:HEX", as `fsverity digest` prints it. */
export function formatDigest(d: { algorithm: string; digest: Uint8Array }): string {
  return `${d.algorithm}:${toHex(d.digest)}`;
}

/** Parses "sha256:HEX" / "sha512:HEX". */
export function parseDigest(s: string): { algorithm: FsverityHashName; digest: Uint8Array } {
  const m = /^(sha256|sha512):([0-9a-fA-F]+)$/.exec(s);
  if (!m) throw new UsageError(`digest: expected sha256:HEX or sha512:HEX, got ${JSON.stringify(s)}`);
  const algorithm = m[1] as FsverityHashName;
  if (m[2].length !== DIGEST_SIZE[algorithm] * 2) throw new UsageError(`digest: ${algorithm} needs ${DIGEST_SIZE[algorithm] * 2} hex digits, got ${m[2].length}`);
  return { algorithm, digest: new Uint8Array(Buffer.from(m[2], "hex")) };
}

const MAGIC = new TextEncoder().encode("FSVerity");

/** The 12 + digest-size bytes that fs-verity's built-in signatures sign. */
export function formattedDigest(d: { algorithm: FsverityHashName; digest: Uint8Array }): Uint8Array {
  const out = new Uint8Array(FSVERITY_FORMATTED_DIGEST.size + d.digest.length);
  FSVERITY_FORMATTED_DIGEST.encode(out, 0, { magic: MAGIC, digestAlgorithm: FSVERITY_ALG_NUMBER[d.algorithm], digestSize: d.digest.length });
  out.set(d.digest, FSVERITY_FORMATTED_DIGEST.size);
  return out;
}

/** Reads a formatted digest back (strict: magic, known algorithm, matching size, no trailing bytes). */
export function parseFormattedDigest(b: Uint8Array, source = "formatted digest"): { algorithm: FsverityHashName; digest: Uint8Array } {
  const fail = (at: number, why: string): never => {
    throw new FormatError("fs-verity formatted digest", at, why, source);
  };
  if (b.length < FSVERITY_FORMATTED_DIGEST.size) fail(0, `expected at least ${FSVERITY_FORMATTED_DIGEST.size} bytes, got ${b.length}`);
  const h = FSVERITY_FORMATTED_DIGEST.decode(b);
  if (Buffer.compare(h.magic, MAGIC) !== 0) fail(0, 'expected magic "FSVerity"');
  const algorithm = (Object.keys(FSVERITY_ALG_NUMBER) as FsverityHashName[]).find((a) => FSVERITY_ALG_NUMBER[a] === h.digestAlgorithm);
  if (!algorithm) return fail(8, `unknown hash algorithm ${h.digestAlgorithm}`);
  if (h.digestSize !== DIGEST_SIZE[algorithm] || b.length !== 12 + h.digestSize) fail(10, `expected digest size ${DIGEST_SIZE[algorithm]} and ${12 + DIGEST_SIZE[algorithm]} bytes in all`);
  return { algorithm, digest: b.slice(12) };
}
