/**
 * The ELF identification and header fields that say what a file is built for: a kernel module
 * (ET_REL) or a static program (ET_EXEC). Pure: bytes in, fields out; a file that is not a
 * 64-bit little-endian ELF of a known machine is described, never guessed at.
 */
import { FormatError } from "../../errors.js";
import { Arch, archOfMachine, machineName } from "./arch.js";

export const ELF_MAGIC = Buffer.from("\x7fELF", "latin1");
/** e_ident (16 bytes), e_type (2), e_machine (2): enough to tell the machine */
export const ELF_HEADER_PREFIX = 20;
export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;

export interface ElfIdent {
  /** 32 or 64 (EI_CLASS) */
  bits: 32 | 64;
  littleEndian: boolean;
  type: number;
  machine: number;
}

/** The header of an ELF file; a FormatError names the offset of what is wrong. */
export function readElfIdent(bytes: Uint8Array, source?: string): ElfIdent {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4 || !b.subarray(0, 4).equals(ELF_MAGIC)) {
    throw new FormatError("ELF", 0, `expected the magic 7f 45 4c 46, got ${b.subarray(0, 4).toString("hex") || "an empty file"}`, source);
  }
  if (b.length < ELF_HEADER_PREFIX) throw new FormatError("ELF", b.length, `truncated header: ${b.length} bytes, expected at least ${ELF_HEADER_PREFIX}`, source);
  const cls = b[4], data = b[5];
  if (cls !== 1 && cls !== 2) throw new FormatError("ELF", 4, `EI_CLASS: expected 1 (32-bit) or 2 (64-bit), got ${cls}`, source);
  if (data !== 1 && data !== 2) throw new FormatError("ELF", 5, `EI_DATA: expected 1 (little-endian) or 2 (big-endian), got ${data}`, source);
  const littleEndian = data === 1;
  const u16 = (o: number) => (littleEndian ? b.readUInt16LE(o) : b.readUInt16BE(o));
  return { bits: cls === 1 ? 32 : 64, littleEndian, type: u16(16), machine: u16(18) };
}

/** What the file is built for, in words: "arm64", "x86 (32-bit)", "big-endian PowerPC 64". */
export function describeElf(e: ElfIdent): string {
  const arch = elfArch(e);
  if (arch) return arch;
  const odd = archOfMachine(e.machine) && e.bits === 32 ? "32-bit " : "";
  return `${e.littleEndian ? "" : "big-endian "}${odd}${machineName(e.machine)}`;
}

/** The architecture of a 64-bit little-endian ELF file, if it is one of ours. */
export function elfArch(e: ElfIdent): Arch | undefined {
  return e.bits === 64 && e.littleEndian ? archOfMachine(e.machine) : undefined;
}

/**
 * The architecture an ELF file is built for, if it is one of ours (undefined: another machine,
 * 32-bit or big-endian; describeElf says which). A FormatError when the bytes are not ELF.
 */
export function archOfElf(bytes: Uint8Array, source?: string): Arch | undefined {
  return elfArch(readElfIdent(bytes, source));
}
