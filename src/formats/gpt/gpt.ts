/**
 * GUID partition tables (UEFI spec, ch. 5) on 512-byte sectors: a protective MBR at LBA 0, the
 * primary header at LBA 1 and its 128 x 128-byte entry array at LBA 2..33, the backup entry array
 * and header in the last 33 sectors. The layout is planned first (planGpt: every LBA decided), then
 * encoded (encodeGpt); decodeGpt reads a table strictly (bounded counts, both CRC32s, the backup
 * compared with the primary) and names the byte offset of what it refuses.
 *
 * The defaults are what systemd-repart (through libfdisk) writes, so the same plan gives the same
 * bytes: first usable LBA 2048 (1 MiB), partitions packed at 4096-byte alignment, the disk rounded
 * up to 4096 bytes past the backup table.
 */
import { crc32 } from "node:zlib";
import { FormatError, UsageError } from "../../errors.js";
import { bytes, defineStruct, u32, u64, u8 } from "../struct.js";
import { guidFromDisk, guidToDisk, parseGuid } from "./guid.js";

export const SECTOR = 512;
export const GPT_ENTRY_COUNT = 128;
export const GPT_ENTRY_SIZE = 128;
/** entry array sectors (128 x 128 bytes) */
export const GPT_ARRAY_SECTORS = (GPT_ENTRY_COUNT * GPT_ENTRY_SIZE) / SECTOR;
/** the reader's bound on entry count x size (the spec's minimum array is 16 KiB) */
export const GPT_MAX_ARRAY_BYTES = 128 * 1024;
export const GPT_NAME_UNITS = 36;
/** first LBA the table leaves free; systemd-repart and fdisk start partitions at 1 MiB */
export const GPT_FIRST_LBA = 2048;
export const GPT_ALIGN = 4096;
/** attribute bits (UEFI: 0-2; Discoverable Partitions: 59 growfs, 60 read-only, 62 hidden, 63 no-auto) */
export const GPT_ATTR = { required: 1n << 0n, growfs: 1n << 59n, readOnly: 1n << 60n, noAuto: 1n << 63n } as const;

export const PROTECTIVE_MBR = defineStruct("protective MBR", 512, {
  status: u8(446),
  chsFirst: bytes(447, 3),
  type: u8(450),
  chsLast: bytes(451, 3),
  firstLba: u32(454),
  sectors: u32(458),
  signature: bytes(510, 2),
});
export const GPT_HEADER = defineStruct("GPT header", 92, {
  signature: bytes(0, 8),
  revision: u32(8),
  headerSize: u32(12),
  headerCrc: u32(16),
  reserved: u32(20),
  myLba: u64(24),
  alternateLba: u64(32),
  firstUsable: u64(40),
  lastUsable: u64(48),
  diskGuid: bytes(56, 16),
  entriesLba: u64(72),
  entryCount: u32(80),
  entrySize: u32(84),
  entriesCrc: u32(88),
});
export const GPT_ENTRY = defineStruct("GPT partition entry", GPT_ENTRY_SIZE, {
  type: bytes(0, 16),
  guid: bytes(16, 16),
  firstLba: u64(32),
  lastLba: u64(40),
  attributes: u64(48),
  name: bytes(56, 2 * GPT_NAME_UNITS),
});
const GPT_SIGNATURE = new TextEncoder().encode("EFI PART");
const GPT_REVISION = 0x00010000;
const MBR_SIGNATURE = new Uint8Array([0x55, 0xaa]);
const MBR_TYPE_GPT = 0xee;

export interface GptPartitionSpec {
  /** type and unique GUIDs, canonical text */
  type: string;
  guid: string;
  name: string;
  /** bytes (a multiple of 512) */
  size: number;
  attributes: bigint;
}

export interface GptPartition extends GptPartitionSpec {
  /** 1-based */
  number: number;
  firstLba: number;
  /** inclusive */
  lastLba: number;
  /** byte offset in the disk */
  offset: number;
}

export interface GptTable {
  diskGuid: string;
  /** disk size in sectors */
  sectors: number;
  firstUsable: number;
  lastUsable: number;
  partitions: GptPartition[];
}

export interface GptPlanOptions {
  diskGuid: string;
  partitions: GptPartitionSpec[];
  firstLba?: number;
  /** byte alignment of every partition start and of the disk size */
  align?: number;
}

/** The table's overhead past the last partition: backup array and header. */
const TAIL_SECTORS = GPT_ARRAY_SECTORS + 1;

export function planGpt(o: GptPlanOptions): GptTable {
  const align = o.align ?? GPT_ALIGN;
  if (align % SECTOR !== 0 || align <= 0) throw new UsageError(`GPT: alignment must be a multiple of ${SECTOR}, got ${align}`);
  const alignSectors = align / SECTOR;
  const firstUsable = o.firstLba ?? GPT_FIRST_LBA;
  if (!Number.isSafeInteger(firstUsable) || firstUsable < 2 + GPT_ARRAY_SECTORS) throw new UsageError(`GPT: first LBA must be at least ${2 + GPT_ARRAY_SECTORS}, got ${firstUsable}`);
  if (o.partitions.length > GPT_ENTRY_COUNT) throw new UsageError(`GPT: at most ${GPT_ENTRY_COUNT} partitions, got ${o.partitions.length}`);
  parseGuid(o.diskGuid, "disk GUID");
  const up = (n: number, m: number) => Math.ceil(n / m) * m;
  let at = up(firstUsable, alignSectors);
  const partitions = o.partitions.map((p, i): GptPartition => {
    parseGuid(p.type, `partition ${i + 1} type`);
    parseGuid(p.guid, `partition ${i + 1} GUID`);
    if (!Number.isSafeInteger(p.size) || p.size <= 0 || p.size % SECTOR !== 0) throw new UsageError(`GPT: partition ${i + 1} size must be a positive multiple of ${SECTOR}, got ${p.size}`);
    encodeName(p.name);
    if (p.attributes < 0n || p.attributes >= 1n << 64n) throw new UsageError(`GPT: partition ${i + 1} attributes out of range`);
    const firstLba = up(at, alignSectors);
    const lastLba = firstLba + p.size / SECTOR - 1;
    at = lastLba + 1;
    return { ...p, number: i + 1, firstLba, lastLba, offset: firstLba * SECTOR };
  });
  const sectors = up(at + TAIL_SECTORS, alignSectors);
  return { diskGuid: o.diskGuid, sectors, firstUsable, lastUsable: sectors - TAIL_SECTORS - 1, partitions };
}

function encodeName(name: string): Uint8Array {
  const units = [...name].map((c) => c.codePointAt(0)!);
  if (units.some((u) => u === 0 || u > 0xffff) || units.length > GPT_NAME_UNITS) throw new UsageError(`GPT: partition name ${JSON.stringify(name)}: at most ${GPT_NAME_UNITS} UTF-16 units, no NUL`);
  const b = new Uint8Array(2 * GPT_NAME_UNITS);
  units.forEach((u, i) => new DataView(b.buffer).setUint16(2 * i, u, true));
  return b;
}

export interface EncodedGpt {
  /** LBA 0 .. 33: protective MBR, primary header, primary entry array */
  primary: Uint8Array;
  /** the last 33 sectors: backup entry array, backup header */
  backup: Uint8Array;
  backupOffset: number;
}

export function encodeGpt(t: GptTable): EncodedGpt {
  const primary = new Uint8Array((2 + GPT_ARRAY_SECTORS) * SECTOR);
  PROTECTIVE_MBR.encode(primary, 0, {
    chsFirst: new Uint8Array([0x00, 0x02, 0x00]), type: MBR_TYPE_GPT, chsLast: new Uint8Array([0xff, 0xff, 0xff]),
    firstLba: 1, sectors: Math.min(t.sectors - 1, 0xffffffff), signature: MBR_SIGNATURE,
  });
  const array = new Uint8Array(GPT_ARRAY_SECTORS * SECTOR);
  for (const [i, p] of t.partitions.entries()) {
    GPT_ENTRY.encode(array, i * GPT_ENTRY_SIZE, {
      type: guidToDisk(p.type), guid: guidToDisk(p.guid), firstLba: BigInt(p.firstLba), lastLba: BigInt(p.lastLba),
      attributes: p.attributes, name: encodeName(p.name),
    });
  }
  const entriesCrc = crc32(array) >>> 0;
  const last = t.sectors - 1;
  const header = (myLba: number, alternateLba: number, entriesLba: number): Uint8Array => {
    const h = new Uint8Array(SECTOR);
    GPT_HEADER.encode(h, 0, {
      signature: GPT_SIGNATURE, revision: GPT_REVISION, headerSize: GPT_HEADER.size, headerCrc: 0, myLba: BigInt(myLba), alternateLba: BigInt(alternateLba),
      firstUsable: BigInt(t.firstUsable), lastUsable: BigInt(t.lastUsable), diskGuid: guidToDisk(t.diskGuid), entriesLba: BigInt(entriesLba),
      entryCount: GPT_ENTRY_COUNT, entrySize: GPT_ENTRY_SIZE, entriesCrc,
    });
    GPT_HEADER.encode(h, 0, { headerCrc: crc32(h.subarray(0, GPT_HEADER.size)) >>> 0 });
    return h;
  };
  primary.set(header(1, last, 2), SECTOR);
  primary.set(array, 2 * SECTOR);
  const backup = new Uint8Array(TAIL_SECTORS * SECTOR);
  backup.set(array, 0);
  backup.set(header(last, 1, last - GPT_ARRAY_SECTORS), GPT_ARRAY_SECTORS * SECTOR);
  return { primary, backup, backupOffset: (t.sectors - TAIL_SECTORS) * SECTOR };
}

/** Bytes decodeGpt needs from the start of the disk (MBR, header and up to GPT_MAX_ARRAY_BYTES of entries). */
export const GPT_PRIMARY_READ = 2 * SECTOR + GPT_MAX_ARRAY_BYTES;

/**
 * Reads a table strictly. `head` holds the disk's first bytes (GPT_PRIMARY_READ, or the whole
 * disk when smaller), `readSector(lba, count)` the backup's sectors; `diskBytes` is the disk size.
 */
export function decodeGpt(head: Uint8Array, diskBytes: number, readSectors: (lba: number, count: number) => Uint8Array, source = "disk image"): GptTable {
  const fail = (off: number, why: string): never => {
    throw new FormatError("GPT", off, why, source);
  };
  if (!Number.isSafeInteger(diskBytes) || diskBytes % SECTOR !== 0) fail(0, `disk size ${diskBytes} is not a whole number of ${SECTOR}-byte sectors`);
  const sectors = diskBytes / SECTOR;
  if (sectors < 3 + 2 * GPT_ARRAY_SECTORS || head.length < Math.min(GPT_PRIMARY_READ, diskBytes)) fail(0, `disk of ${diskBytes} bytes is too small for a GPT`);
  const mbr = PROTECTIVE_MBR.decode(head, 0);
  if (mbr.signature[0] !== 0x55 || mbr.signature[1] !== 0xaa) fail(510, "expected the MBR signature 55 AA");
  if (mbr.type !== MBR_TYPE_GPT) fail(450, `expected a protective MBR (partition type 0xee), got 0x${mbr.type.toString(16)}`);
  const primary = readHeader(head.subarray(SECTOR, 2 * SECTOR), SECTOR, 1, fail);
  if (primary.alternateLba !== sectors - 1) fail(SECTOR + 32, `backup header LBA ${primary.alternateLba}, expected the last sector ${sectors - 1}`);
  if (primary.entriesLba !== 2) fail(SECTOR + 72, `entry array at LBA ${primary.entriesLba}, expected 2`);
  const arrayBytes = primary.entryCount * primary.entrySize;
  const arraySectors = Math.ceil(arrayBytes / SECTOR);
  if (primary.firstUsable < 2 + arraySectors || primary.lastUsable < primary.firstUsable || primary.lastUsable > sectors - 2 - arraySectors) {
    fail(SECTOR + 40, `usable LBAs ${primary.firstUsable}..${primary.lastUsable} overlap the tables of a ${sectors}-sector disk`);
  }
  if (head.length < 2 * SECTOR + arrayBytes) fail(2 * SECTOR, `entry array of ${arrayBytes} bytes runs past the disk's ${head.length} bytes`);
  const array = head.subarray(2 * SECTOR, 2 * SECTOR + arrayBytes);
  if ((crc32(array) >>> 0) !== primary.entriesCrc) fail(2 * SECTOR, "entry array CRC32 mismatch");

  const partitions: GptPartition[] = [];
  for (let i = 0; i < primary.entryCount; i++) {
    const at = i * primary.entrySize;
    const e = GPT_ENTRY.decode(array, at);
    if (e.type.every((b) => b === 0)) continue;
    const off = 2 * SECTOR + at;
    const firstLba = Number(e.firstLba);
    const lastLba = Number(e.lastLba);
    if (e.firstLba > e.lastLba || firstLba < primary.firstUsable || lastLba > primary.lastUsable) {
      fail(off + 32, `partition ${i + 1}: LBAs ${e.firstLba}..${e.lastLba} outside the usable ${primary.firstUsable}..${primary.lastUsable}`);
    }
    const other = partitions.find((p) => firstLba <= p.lastLba && p.firstLba <= lastLba);
    if (other) fail(off + 32, `partition ${i + 1} overlaps partition ${other.number}`);
    partitions.push({
      number: i + 1, type: guidFromDisk(e.type), guid: guidFromDisk(e.guid), name: decodeName(e.name, off + 56, fail),
      size: (lastLba - firstLba + 1) * SECTOR, attributes: e.attributes, firstLba, lastLba, offset: firstLba * SECTOR,
    });
  }

  // the backup must describe the same table
  const tailLba = sectors - 1 - arraySectors;
  const tail = readSectors(tailLba, arraySectors + 1);
  if (tail.length !== (arraySectors + 1) * SECTOR) fail(tailLba * SECTOR, "the backup table is cut short");
  const bAt = arraySectors * SECTOR;
  const backup = readHeader(tail.subarray(bAt, bAt + SECTOR), (sectors - 1) * SECTOR, sectors - 1, fail);
  const same = (k: keyof GptHeaderFields) => backup[k] === primary[k];
  if (backup.alternateLba !== 1 || backup.entriesLba !== tailLba || !(["firstUsable", "lastUsable", "entryCount", "entrySize", "entriesCrc"] as const).every(same)
    || Buffer.compare(backup.diskGuid, primary.diskGuid) !== 0) {
    fail((sectors - 1) * SECTOR, "the backup header does not match the primary");
  }
  if (Buffer.compare(tail.subarray(0, arrayBytes), array) !== 0) fail(tailLba * SECTOR, "the backup entry array does not match the primary");
  return { diskGuid: guidFromDisk(primary.diskGuid), sectors, firstUsable: primary.firstUsable, lastUsable: primary.lastUsable, partitions };
}

interface GptHeaderFields {
  myLba: number; alternateLba: number; firstUsable: number; lastUsable: number; entriesLba: number;
  entryCount: number; entrySize: number; entriesCrc: number; diskGuid: Uint8Array;
}

function readHeader(sector: Uint8Array, at: number, myLba: number, fail: (off: number, why: string) => never): GptHeaderFields {
  const h = GPT_HEADER.decode(sector, 0);
  if (Buffer.compare(h.signature, GPT_SIGNATURE) !== 0) fail(at, 'expected the GPT header signature "EFI PART"');
  if (h.revision !== GPT_REVISION) fail(at + 8, `expected revision 1.0, got 0x${h.revision.toString(16)}`);
  if (h.headerSize !== GPT_HEADER.size) fail(at + 12, `expected header size ${GPT_HEADER.size}, got ${h.headerSize}`);
  const copy = sector.slice(0, GPT_HEADER.size);
  GPT_HEADER.encode(copy, 0, { headerCrc: 0 });
  if ((crc32(copy) >>> 0) !== h.headerCrc) fail(at + 16, "header CRC32 mismatch");
  if (h.myLba !== BigInt(myLba)) fail(at + 24, `header says it is at LBA ${h.myLba}, found at ${myLba}`);
  if (h.entrySize < GPT_ENTRY_SIZE || h.entrySize % GPT_ENTRY_SIZE !== 0 || h.entrySize > GPT_MAX_ARRAY_BYTES) fail(at + 84, `entry size ${h.entrySize} is not a multiple of ${GPT_ENTRY_SIZE}`);
  if (h.entryCount < 1 || h.entryCount * h.entrySize > GPT_MAX_ARRAY_BYTES) fail(at + 80, `${h.entryCount} entries of ${h.entrySize} bytes: more than ${GPT_MAX_ARRAY_BYTES} bytes`);
  const lba = (v: bigint, off: number) => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : fail(at + off, `LBA ${v} out of range`));
  return {
    myLba, alternateLba: lba(h.alternateLba, 32), firstUsable: lba(h.firstUsable, 40), lastUsable: lba(h.lastUsable, 48), entriesLba: lba(h.entriesLba, 72),
    entryCount: h.entryCount, entrySize: h.entrySize, entriesCrc: h.entriesCrc, diskGuid: h.diskGuid,
  };
}

function decodeName(b: Uint8Array, at: number, fail: (off: number, why: string) => never): string {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const units: number[] = [];
  for (let i = 0; i < GPT_NAME_UNITS; i++) {
    const u = dv.getUint16(2 * i, true);
    if (u === 0) break;
    units.push(u);
  }
  try {
    return new TextDecoder("utf-16le", { fatal: true }).decode(new Uint16Array(units));
  } catch {
    return fail(at, "partition name is not valid UTF-16");
  }
}

/** A protective MBR and a GPT header signature at LBA 1: the file is a GPT disk image. */
export function isGptDisk(head: Uint8Array): boolean {
  return head.length >= 2 * SECTOR && head[510] === 0x55 && head[511] === 0xaa && head[450] === MBR_TYPE_GPT
    && Buffer.compare(head.subarray(SECTOR, SECTOR + 8), GPT_SIGNATURE) === 0;
}

/**
 * Recomputes the primary and backup headers' CRC32s (entry array and header) in place, for
 * fuzzing and damage tests that change a field and want the reader to get past the checksums.
 * Bytes that do not look like a GPT are left alone.
 */
export function fixGptCrcs(disk: Uint8Array): void {
  const fix = (at: number) => {
    if (at < 0 || at + SECTOR > disk.length || Buffer.compare(disk.subarray(at, at + 8), GPT_SIGNATURE) !== 0) return;
    const h = GPT_HEADER.decode(disk, at);
    const n = h.entryCount * h.entrySize;
    const arrayAt = Number(h.entriesLba) * SECTOR;
    if (n <= GPT_MAX_ARRAY_BYTES && h.entriesLba < BigInt(disk.length) && arrayAt + n <= disk.length) GPT_HEADER.encode(disk, at, { entriesCrc: crc32(disk.subarray(arrayAt, arrayAt + n)) >>> 0 });
    GPT_HEADER.encode(disk, at, { headerCrc: 0 });
    GPT_HEADER.encode(disk, at, { headerCrc: crc32(disk.subarray(at, at + GPT_HEADER.size)) >>> 0 });
  };
  fix(SECTOR);
  if (disk.length % SECTOR === 0) fix(disk.length - SECTOR);
}
