/**
 * dm-verity hash device layout, as `veritysetup format` writes it and the kernel reads it:
 * an optional 512-byte superblock at the hash offset, then the hash tree from block
 * hash_start_block on, root level first and the level of data-block digests last. Each level
 * packs 2^k digests per hash block (k = floor(log2(hash block size / digest size))); format 1
 * gives each digest a slot of hash_block_size / 2^k bytes and hashes salt ‖ block, format 0
 * (Chrome OS) packs them and hashes block ‖ salt. Unused bytes are zero. The root hash is the hash
 * of the single top block (with one data block: the hash of that block).
 *
 * Pure: the geometry decides every offset first; DmVerityTree then takes the data blocks' digests
 * in order and hands out each finished hash block with its block number, keeping one partial
 * block per level.
 */
import { FormatError, UsageError } from "../../errors.js";
import { bytes, defineStruct, u16, u32, u64 } from "../struct.js";
import { DIGEST_SIZE, HashName, checkBlockSize, toHex } from "./algorithms.js";
import { BlockHashParams, BlockHasher } from "./block-hasher.js";

export const VERITY_SUPERBLOCK = defineStruct("verity_superblock", 512, {
  signature: bytes(0, 8),
  version: u32(8),
  hashType: u32(12),
  uuid: bytes(16, 16),
  algorithm: bytes(32, 32),
  dataBlockSize: u32(64),
  hashBlockSize: u32(68),
  dataBlocks: u64(72),
  saltSize: u16(80),
  pad1: bytes(82, 6),
  salt: bytes(88, 256),
  pad2: bytes(344, 168),
});
export const VERITY_SIGNATURE = new TextEncoder().encode("verity\0\0");
export const VERITY_MAX_SALT = 256;
export const DM_VERITY_ALGORITHMS: readonly HashName[] = ["sha256", "sha512", "sha1"];

export interface DmVerityOptions {
  dataBlocks: number;
  /** byte offset of the superblock (or of the tree without one) in the hash device */
  hashOffset?: number;
  algorithm?: HashName;
  hashType?: 0 | 1;
  dataBlockSize?: number;
  hashBlockSize?: number;
  salt?: Uint8Array;
  /** superblock UUID (16 bytes; default all zero: callers that want a random one pass it) */
  uuid?: Uint8Array;
  /** default true; false = the tree starts at hashOffset (veritysetup --no-superblock) */
  superblock?: boolean;
}

export interface DmVerityParams {
  dataBlocks: number;
  hashOffset: number;
  algorithm: HashName;
  hashType: 0 | 1;
  dataBlockSize: number;
  hashBlockSize: number;
  salt: Uint8Array;
  uuid: Uint8Array;
  superblock: boolean;
}

export interface DmVerityGeometry {
  levels: number;
  hashesPerBlock: number;
  /** bytes per digest inside a hash block */
  slot: number;
  /** blocks per level, index 0 = the level of data-block digests */
  levelBlocks: number[];
  /** first hash block (in hash blocks from the device start) of each level */
  levelStart: number[];
  /** the kernel table's hash_start_block */
  hashStartBlock: number;
  /** byte offset just past the last hash block */
  hashEnd: number;
}

export function dmVerityParams(o: DmVerityOptions): DmVerityParams {
  const algorithm = o.algorithm ?? "sha256";
  if (!DM_VERITY_ALGORITHMS.includes(algorithm)) throw new UsageError(`dm-verity: unsupported hash algorithm ${JSON.stringify(algorithm)} (${DM_VERITY_ALGORITHMS.join(", ")})`);
  const hashType = o.hashType ?? 1;
  if (hashType !== 0 && hashType !== 1) throw new UsageError(`dm-verity: hash type must be 0 or 1, got ${hashType}`);
  const dataBlockSize = checkBlockSize("dm-verity data block size", o.dataBlockSize ?? 4096, 512, 65536);
  const hashBlockSize = checkBlockSize("dm-verity hash block size", o.hashBlockSize ?? 4096, 512, 65536);
  if (!Number.isSafeInteger(o.dataBlocks) || o.dataBlocks < 1) throw new UsageError(`dm-verity: data blocks must be at least 1, got ${o.dataBlocks}`);
  const hashOffset = o.hashOffset ?? 0;
  const superblock = o.superblock ?? true;
  if (!Number.isSafeInteger(hashOffset) || hashOffset < 0 || hashOffset % (superblock ? 512 : hashBlockSize) !== 0) {
    throw new UsageError(`dm-verity: hash offset must be a multiple of ${superblock ? 512 : hashBlockSize}, got ${hashOffset}`);
  }
  const salt = o.salt ?? new Uint8Array(0);
  if (salt.length > VERITY_MAX_SALT) throw new UsageError(`dm-verity salt: at most ${VERITY_MAX_SALT} bytes, got ${salt.length}`);
  const uuid = o.uuid ?? new Uint8Array(16);
  if (uuid.length !== 16) throw new UsageError(`dm-verity uuid: expected 16 bytes, got ${uuid.length}`);
  return { dataBlocks: o.dataBlocks, hashOffset, algorithm, hashType, dataBlockSize, hashBlockSize, salt, uuid, superblock };
}

export function dmVerityGeometry(p: DmVerityParams): DmVerityGeometry {
  const ds = DIGEST_SIZE[p.algorithm];
  const hashesPerBlock = 2 ** Math.floor(Math.log2(p.hashBlockSize / ds));
  const slot = p.hashType === 1 ? p.hashBlockSize / hashesPerBlock : ds;
  const levelBlocks: number[] = [];
  for (let n = p.dataBlocks; n > 1; ) {
    n = Math.ceil(n / hashesPerBlock);
    levelBlocks.push(n);
  }
  const levels = levelBlocks.length;
  const hashStartBlock = p.superblock ? Math.ceil((p.hashOffset + VERITY_SUPERBLOCK.size) / p.hashBlockSize) : p.hashOffset / p.hashBlockSize;
  const levelStart = new Array<number>(levels);
  let at = hashStartBlock;
  for (let i = levels - 1; i >= 0; i--) {
    levelStart[i] = at;
    at += levelBlocks[i];
  }
  return { levels, hashesPerBlock, slot, levelBlocks, levelStart, hashStartBlock, hashEnd: at * p.hashBlockSize };
}

/** How the data blocks are hashed (the leaf level's input). */
export function dataBlockHashParams(p: DmVerityParams): BlockHashParams {
  return { algorithm: p.algorithm, blockSize: p.dataBlockSize, salt: p.salt, saltPosition: p.hashType === 1 ? "before" : "after" };
}

export class DmVerityTree {
  readonly params: DmVerityParams;
  readonly geometry: DmVerityGeometry;
  private readonly hasher: BlockHasher;
  private readonly ds: number;
  private readonly levels: { block: Uint8Array; fill: number; index: number }[];
  private seen = 0;
  private root: Uint8Array | undefined;

  /** `emit` receives every finished hash block with its block number (in hash blocks). */
  constructor(opts: DmVerityOptions, private readonly emit: (hashBlock: number, block: Uint8Array) => void) {
    this.params = dmVerityParams(opts);
    this.geometry = dmVerityGeometry(this.params);
    this.hasher = new BlockHasher({ ...dataBlockHashParams(this.params), blockSize: this.params.hashBlockSize });
    this.ds = DIGEST_SIZE[this.params.algorithm];
    this.levels = this.geometry.levelBlocks.map(() => ({ block: new Uint8Array(this.params.hashBlockSize), fill: 0, index: 0 }));
  }

  /** Adds the packed digests of the next data blocks. */
  addDataDigests(digests: Uint8Array): void {
    const n = digests.length / this.ds;
    if (this.seen + n > this.params.dataBlocks) throw new UsageError(`dm-verity: more than ${this.params.dataBlocks} data blocks`);
    this.seen += n;
    if (this.geometry.levels === 0) {
      this.root = digests.slice(0, this.ds);
      return;
    }
    for (let i = 0; i < digests.length; i += this.ds) this.push(0, digests.subarray(i, i + this.ds));
  }

  private push(level: number, digest: Uint8Array): void {
    const l = this.levels[level];
    l.block.set(digest, l.fill * this.geometry.slot);
    if (++l.fill === this.geometry.hashesPerBlock) this.flush(level);
  }

  private flush(level: number): void {
    const l = this.levels[level];
    if (l.fill === 0) return;
    this.emit(this.geometry.levelStart[level] + l.index, l.block);
    const d = this.hasher.hashBlock(l.block);
    l.block = new Uint8Array(this.params.hashBlockSize);
    l.fill = 0;
    l.index++;
    if (level + 1 < this.levels.length) this.push(level + 1, d);
    else this.root = new Uint8Array(d);
  }

  /** Flushes the partial blocks and returns the root hash (call once, after every data block). */
  finish(): Uint8Array {
    if (this.seen !== this.params.dataBlocks) throw new UsageError(`dm-verity: got ${this.seen} data blocks, expected ${this.params.dataBlocks}`);
    for (let i = 0; i < this.levels.length; i++) this.flush(i);
    return this.root!;
  }
}

/** The 512-byte superblock veritysetup writes. */
export function encodeVeritySuperblock(p: DmVerityParams): Uint8Array {
  const b = new Uint8Array(VERITY_SUPERBLOCK.size);
  const alg = new TextEncoder().encode(p.algorithm);
  VERITY_SUPERBLOCK.encode(b, 0, {
    signature: VERITY_SIGNATURE,
    version: 1,
    hashType: p.hashType,
    uuid: p.uuid,
    algorithm: alg,
    dataBlockSize: p.dataBlockSize,
    hashBlockSize: p.hashBlockSize,
    dataBlocks: BigInt(p.dataBlocks),
    saltSize: p.salt.length,
    salt: p.salt,
  });
  return b;
}

/** Reads a superblock strictly; `at` is its byte offset in `source` (for messages). */
export function decodeVeritySuperblock(b: Uint8Array, at = 0, source = "hash device"): DmVerityParams {
  const fail = (off: number, why: string): never => {
    throw new FormatError("dm-verity superblock", at + off, why, source);
  };
  if (b.length < VERITY_SUPERBLOCK.size) fail(0, `expected ${VERITY_SUPERBLOCK.size} bytes, got ${b.length}`);
  const s = VERITY_SUPERBLOCK.decode(b);
  if (Buffer.compare(s.signature, VERITY_SIGNATURE) !== 0) fail(0, 'expected signature "verity\\0\\0"');
  if (s.version !== 1) fail(8, `expected version 1, got ${s.version}`);
  if (s.hashType !== 0 && s.hashType !== 1) fail(12, `expected hash type 0 or 1, got ${s.hashType}`);
  const nul = s.algorithm.indexOf(0);
  if (nul < 0) fail(32, "algorithm name is not NUL-terminated");
  const algorithm = Buffer.from(s.algorithm.subarray(0, nul)).toString("latin1") as HashName;
  if (!DM_VERITY_ALGORITHMS.includes(algorithm)) fail(32, `unsupported hash algorithm ${JSON.stringify(algorithm)}`);
  const bs = (off: number, v: number) => (v >= 512 && v <= 65536 && (v & (v - 1)) === 0 ? v : fail(off, `expected a power-of-two block size from 512 to 65536, got ${v}`));
  const dataBlockSize = bs(64, s.dataBlockSize);
  const hashBlockSize = bs(68, s.hashBlockSize);
  if (s.dataBlocks < 1n || s.dataBlocks > BigInt(Number.MAX_SAFE_INTEGER) / BigInt(dataBlockSize)) fail(72, `implausible data block count ${s.dataBlocks}`);
  if (s.saltSize > VERITY_MAX_SALT) fail(80, `salt size ${s.saltSize} is larger than ${VERITY_MAX_SALT}`);
  return {
    dataBlocks: Number(s.dataBlocks),
    hashOffset: at,
    algorithm,
    hashType: s.hashType as 0 | 1,
    dataBlockSize,
    hashBlockSize,
    salt: s.salt.slice(0, s.saltSize),
    uuid: s.uuid,
    superblock: true,
  };
}

export interface VerityTableOptions {
  dataDevice: string;
  hashDevice: string;
  /** e.g. ["panic_on_corruption"], ["root_hash_sig_key_desc", "KEY"] */
  optional?: string[];
}

/** The device-mapper table line for the target (start 0, length in 512-byte sectors). */
export function verityTableLine(p: DmVerityParams, rootHash: Uint8Array, t: VerityTableOptions): string {
  const g = dmVerityGeometry(p);
  const sectors = (p.dataBlocks * p.dataBlockSize) / 512;
  const fields = [
    0, sectors, "verity", p.hashType, t.dataDevice, t.hashDevice, p.dataBlockSize, p.hashBlockSize, p.dataBlocks,
    g.hashStartBlock, p.algorithm, toHex(rootHash), p.salt.length ? toHex(p.salt) : "-",
  ];
  if (t.optional?.length) fields.push(t.optional.length, ...t.optional);
  return fields.join(" ");
}

/**
 * In memory: the hash device bytes from the hash offset to the end of the tree (superblock
 * padded to a hash block, then the tree) and the root hash. `data` holds whole data blocks.
 */
export function dmVerityHashArea(data: Uint8Array, opts: Omit<DmVerityOptions, "dataBlocks"> & { dataBlocks?: number }): { rootHash: Uint8Array; area: Uint8Array; params: DmVerityParams } {
  const dbs = opts.dataBlockSize ?? 4096;
  const dataBlocks = opts.dataBlocks ?? data.length / dbs;
  if (!Number.isInteger(dataBlocks) || dataBlocks * dbs > data.length) throw new UsageError(`dm-verity: data is ${data.length} bytes, not ${dataBlocks === undefined ? "whole" : dataBlocks} blocks of ${dbs}`);
  const params = dmVerityParams({ ...opts, dataBlocks });
  const g = dmVerityGeometry(params);
  const area = new Uint8Array(g.hashEnd - params.hashOffset);
  if (params.superblock) area.set(encodeVeritySuperblock(params), 0);
  const tree = new DmVerityTree(params, (blk, b) => area.set(b, blk * params.hashBlockSize - params.hashOffset));
  const leaf = new BlockHasher(dataBlockHashParams(params));
  const chunk = 256;
  for (let i = 0; i < dataBlocks; i += chunk) {
    const n = Math.min(chunk, dataBlocks - i);
    const out = new Uint8Array(n * leaf.digestSize);
    leaf.hashBlocks(data.subarray(i * dbs, (i + n) * dbs), out);
    tree.addDataDigests(out);
  }
  return { rootHash: tree.finish(), area, params };
}
