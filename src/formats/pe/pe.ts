/**
 * PE/COFF images (the UEFI executable format), read strictly: what a Unified Kernel Image needs
 * to know of systemd-stub to append sections to it. Pure: bytes in, structures out.
 * Layout: Microsoft's "PE Format" specification (DOS header, "PE\0\0", COFF header, optional
 * header PE32/PE32+, section table).
 */
import { FormatError } from "../../errors.js";
import { bytes, defineStruct, u16, u32 } from "../struct.js";

const FORMAT = "PE";

/** e_lfanew: where the DOS header points to the PE signature */
export const DOS_LFANEW = 0x3c;
export const PE_SIGNATURE = 0x00004550; // "PE\0\0"

export const COFF_HEADER = defineStruct("coff_header", 20, {
  machine: u16(0),
  numberOfSections: u16(2),
  pointerToSymbolTable: u32(8),
  sizeOfOptionalHeader: u16(16),
  characteristics: u16(18),
});

/** The fields both optional header kinds have at the same offsets. */
export const OPTIONAL_HEADER = defineStruct("optional_header", 68, {
  magic: u16(0),
  sizeOfInitializedData: u32(8),
  sectionAlignment: u32(32),
  fileAlignment: u32(36),
  sizeOfImage: u32(56),
  sizeOfHeaders: u32(60),
  checkSum: u32(64),
});
export const PE32_MAGIC = 0x10b;
export const PE32PLUS_MAGIC = 0x20b;
/** where NumberOfRvaAndSizes is, then the data directories (8 bytes each) follow */
const RVA_COUNT_OFFSET = { [PE32_MAGIC]: 92, [PE32PLUS_MAGIC]: 108 } as Record<number, number>;
/** data directory 4: the certificate table (Authenticode signature), a file offset */
export const CERTIFICATE_DIRECTORY = 4;

export const SECTION_HEADER = defineStruct("section_header", 40, {
  name: bytes(0, 8),
  virtualSize: u32(8),
  virtualAddress: u32(12),
  sizeOfRawData: u32(16),
  pointerToRawData: u32(20),
  characteristics: u32(36),
});
/** IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ: what ukify gives every UKI section */
export const SCN_READ_DATA = 0x40000040;

export interface PeSection {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
}

export interface PeImage {
  machine: number;
  magic: number;
  /** file offsets of the headers */
  coffOffset: number;
  optionalOffset: number;
  sectionTableOffset: number;
  sectionAlignment: number;
  fileAlignment: number;
  sizeOfHeaders: number;
  sizeOfImage: number;
  sizeOfInitializedData: number;
  sections: PeSection[];
  fileSize: number;
}

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
const fail = (offset: number, detail: string): never => {
  throw new FormatError(FORMAT, offset, detail);
};

export function sectionName(raw: Uint8Array): string {
  const end = raw.indexOf(0);
  return Buffer.from(raw.subarray(0, end < 0 ? raw.length : end)).toString("latin1");
}

/** Parses and checks the headers and section table; throws a FormatError at the first problem. */
export function parsePe(buf: Uint8Array): PeImage {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 0x40 || buf[0] !== 0x4d || buf[1] !== 0x5a) fail(0, "expected the DOS header's \"MZ\"");
  const peOffset = dv.getUint32(DOS_LFANEW, true);
  if (peOffset % 8 !== 0 || peOffset + 4 + COFF_HEADER.size > buf.length) fail(DOS_LFANEW, `PE header offset ${peOffset} outside the file or unaligned`);
  if (dv.getUint32(peOffset, true) !== PE_SIGNATURE) fail(peOffset, "expected the signature \"PE\\0\\0\"");
  const coffOffset = peOffset + 4;
  const coff = COFF_HEADER.decode(buf, coffOffset);
  // a deprecated COFF symbol table may trail the sections (systemd-stub 252 has one): new data goes after the file's end
  const optionalOffset = coffOffset + COFF_HEADER.size;
  if (optionalOffset + coff.sizeOfOptionalHeader > buf.length || coff.sizeOfOptionalHeader < OPTIONAL_HEADER.size) {
    fail(coffOffset + COFF_HEADER.fields.sizeOfOptionalHeader.offset, `optional header of ${coff.sizeOfOptionalHeader} bytes does not fit`);
  }
  const opt = OPTIONAL_HEADER.decode(buf, optionalOffset);
  const rvaCountAt = RVA_COUNT_OFFSET[opt.magic];
  if (rvaCountAt === undefined) fail(optionalOffset, `optional header magic 0x${opt.magic.toString(16)} (expected 0x10b or 0x20b)`);
  const { sectionAlignment, fileAlignment, sizeOfHeaders } = opt;
  if (!isPow2(fileAlignment) || fileAlignment < 512 || fileAlignment > 65536) fail(optionalOffset + 36, `FileAlignment ${fileAlignment} (expected a power of 2 from 512 to 64 KiB)`);
  if (!isPow2(sectionAlignment) || sectionAlignment < fileAlignment) fail(optionalOffset + 32, `SectionAlignment ${sectionAlignment} (expected a power of 2, at least FileAlignment ${fileAlignment})`);
  const rvaCount = rvaCountAt + 4 <= coff.sizeOfOptionalHeader ? dv.getUint32(optionalOffset + rvaCountAt, true) : 0;
  if (rvaCountAt + 4 + rvaCount * 8 > coff.sizeOfOptionalHeader) fail(optionalOffset + rvaCountAt, `${rvaCount} data directories do not fit the optional header`);
  if (rvaCount > CERTIFICATE_DIRECTORY) {
    const at = optionalOffset + rvaCountAt + 4 + CERTIFICATE_DIRECTORY * 8;
    // a signature covers the file as it is: sections added after it would break it
    if (dv.getUint32(at + 4, true) !== 0) fail(at, "the image is signed (certificate table): use an unsigned stub and sign the result");
  }
  const sectionTableOffset = optionalOffset + coff.sizeOfOptionalHeader;
  const n = coff.numberOfSections;
  if (sectionTableOffset + n * SECTION_HEADER.size > Math.min(sizeOfHeaders, buf.length)) {
    fail(sectionTableOffset, `${n} section headers do not fit in SizeOfHeaders ${sizeOfHeaders}`);
  }
  const sections: PeSection[] = [];
  let vaEnd = 0;
  for (let i = 0; i < n; i++) {
    const at = sectionTableOffset + i * SECTION_HEADER.size;
    const h = SECTION_HEADER.decode(buf, at);
    const s: PeSection = { name: sectionName(h.name), virtualSize: h.virtualSize, virtualAddress: h.virtualAddress, sizeOfRawData: h.sizeOfRawData, pointerToRawData: h.pointerToRawData, characteristics: h.characteristics };
    if (s.sizeOfRawData && (s.pointerToRawData < sizeOfHeaders || s.pointerToRawData + s.sizeOfRawData > buf.length)) {
      fail(at + 20, `section ${s.name}: raw data ${s.pointerToRawData}+${s.sizeOfRawData} outside the file (${buf.length} bytes) or inside the headers`);
    }
    if (s.virtualAddress < vaEnd || s.virtualAddress < sizeOfHeaders) fail(at + 12, `section ${s.name}: VirtualAddress 0x${s.virtualAddress.toString(16)} overlaps what comes before it`);
    // the loader maps VirtualSize bytes (raw data is padded to FileAlignment beyond it)
    vaEnd = s.virtualAddress + (s.virtualSize || s.sizeOfRawData);
    sections.push(s);
  }
  if (vaEnd > opt.sizeOfImage) fail(optionalOffset + 56, `SizeOfImage 0x${opt.sizeOfImage.toString(16)} ends before the last section (0x${vaEnd.toString(16)})`);
  return {
    machine: coff.machine, magic: opt.magic, coffOffset, optionalOffset, sectionTableOffset, sectionAlignment, fileAlignment, sizeOfHeaders,
    sizeOfImage: opt.sizeOfImage, sizeOfInitializedData: opt.sizeOfInitializedData, sections, fileSize: buf.length,
  };
}

/** The PE checksum (what pefile and the Windows loader compute): 16-bit sums, CheckSum itself skipped, plus the length. */
export function peChecksum(buf: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i += 2) {
    if (i === checksumOffset || i === checksumOffset + 2) continue;
    sum += buf[i] | ((i + 1 < buf.length ? buf[i + 1] : 0) << 8);
    sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
  sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return (sum + buf.length) >>> 0;
}
