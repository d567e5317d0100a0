/**
 * A Unified Kernel Image: systemd-stub with the kernel, initrd, command line and os-release added
 * as PE sections (UAPI "Unified Kernel Image" specification; the layout systemd's ukify writes).
 * Each section gets the next SectionAlignment-aligned address after the stub's last section, its
 * data the next FileAlignment-aligned offset after the file's end; .linux goes last. Pure: the
 * stub's bytes and the parts in, the image's bytes out.
 */
import { FormatError } from "../../errors.js";
import { OPTIONAL_HEADER, PeImage, SCN_READ_DATA, SECTION_HEADER, parsePe, peChecksum } from "./pe.js";

/** The order sections are added in (ukify's; .linux last). */
export const UKI_SECTIONS = [".osrel", ".cmdline", ".uname", ".initrd", ".linux"] as const;
export type UkiSectionName = (typeof UKI_SECTIONS)[number];

export interface UkiParts {
  linux: Uint8Array;
  initrd: Uint8Array;
  cmdline: string;
  osrel: Uint8Array;
  /** the kernel's version (`uname -r`); left out when undefined */
  uname?: string;
}

export interface PlannedSection {
  name: UkiSectionName;
  virtualAddress: number;
  virtualSize: number;
  pointerToRawData: number;
  sizeOfRawData: number;
}

export interface UkiPlan {
  stub: PeImage;
  sections: PlannedSection[];
  sizeOfImage: number;
  fileSize: number;
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;
const U32 = 2 ** 32;

function partBytes(p: UkiParts): [UkiSectionName, Uint8Array][] {
  const text = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
  const all: [UkiSectionName, Uint8Array | undefined][] = [
    [".osrel", p.osrel], [".cmdline", text(p.cmdline)], [".uname", p.uname === undefined ? undefined : text(p.uname)],
    [".initrd", p.initrd], [".linux", p.linux],
  ];
  return all.filter((e): e is [UkiSectionName, Uint8Array] => e[1] !== undefined);
}

/** Where every section goes; throws a FormatError (offset into the stub) when one does not fit. */
export function planUki(stubBytes: Uint8Array, parts: UkiParts): UkiPlan {
  const stub = parsePe(stubBytes);
  const items = partBytes(parts);
  for (const [name] of items) {
    const i = stub.sections.findIndex((s) => s.name === name);
    if (i >= 0) throw new FormatError("PE", stub.sectionTableOffset + i * SECTION_HEADER.size, `the stub already has a ${name} section (a UKI, not a stub?)`);
  }
  const tableEnd = stub.sectionTableOffset + (stub.sections.length + items.length) * SECTION_HEADER.size;
  const firstRaw = Math.min(stub.sizeOfHeaders, ...stub.sections.filter((s) => s.sizeOfRawData).map((s) => s.pointerToRawData));
  if (tableEnd > firstRaw) {
    throw new FormatError("PE", stub.sectionTableOffset + stub.sections.length * SECTION_HEADER.size,
      `no room for ${items.length} more section headers: the table would end at byte ${tableEnd}, the headers end at ${firstRaw}`);
  }
  const last = stub.sections[stub.sections.length - 1];
  let va = alignUp(last ? last.virtualAddress + (last.virtualSize || last.sizeOfRawData) : stub.sizeOfHeaders, stub.sectionAlignment);
  let raw = alignUp(Math.max(stub.fileSize, ...stub.sections.map((s) => s.pointerToRawData + s.sizeOfRawData)), stub.fileAlignment);
  const sections: PlannedSection[] = [];
  for (const [name, data] of items) {
    const sizeOfRawData = alignUp(data.length, stub.fileAlignment);
    if (va + data.length > U32 || raw + sizeOfRawData > U32) {
      throw new FormatError("PE", raw, `section ${name} (${data.length} bytes) does not fit: a PE image addresses at most 4 GiB`);
    }
    sections.push({ name, virtualAddress: va, virtualSize: data.length, pointerToRawData: raw, sizeOfRawData });
    va = alignUp(va + data.length, stub.sectionAlignment);
    raw += sizeOfRawData;
  }
  return { stub, sections, sizeOfImage: va, fileSize: raw };
}

/** The UKI's bytes: the stub with the planned section headers, sizes and checksum, then the data. */
export function emitUki(stubBytes: Uint8Array, plan: UkiPlan, parts: UkiParts): Uint8Array {
  const out = new Uint8Array(plan.fileSize);
  out.set(stubBytes);
  const data = new Map(partBytes(parts));
  const { stub } = plan;
  plan.sections.forEach((s, i) => {
    const at = stub.sectionTableOffset + (stub.sections.length + i) * SECTION_HEADER.size;
    const name = new Uint8Array(8);
    name.set(Buffer.from(s.name, "latin1"));
    SECTION_HEADER.encode(out, at, {
      name, virtualSize: s.virtualSize, virtualAddress: s.virtualAddress, sizeOfRawData: s.sizeOfRawData,
      pointerToRawData: s.pointerToRawData, characteristics: SCN_READ_DATA,
    });
    out.set(data.get(s.name)!, s.pointerToRawData);
  });
  const dv = new DataView(out.buffer);
  dv.setUint16(stub.coffOffset + 2, stub.sections.length + plan.sections.length, true);
  const added = plan.sections.reduce((n, s) => n + s.sizeOfRawData, 0);
  OPTIONAL_HEADER.encode(out, stub.optionalOffset, {
    sizeOfImage: plan.sizeOfImage,
    sizeOfInitializedData: Math.min(U32 - 1, stub.sizeOfInitializedData + added),
    checkSum: 0,
  });
  const checksumAt = stub.optionalOffset + OPTIONAL_HEADER.fields.checkSum.offset;
  dv.setUint32(checksumAt, peChecksum(out, checksumAt), true);
  return out;
}

/** x86 boot protocol: the setup header of a bzImage (Documentation/arch/x86/boot.rst). */
const BOOT_FLAG_AT = 0x1fe; // 0xAA55
const HEADER_MAGIC_AT = 0x202; // "HdrS"
const VERSION_AT = 0x206;
const KERNEL_VERSION_AT = 0x20e; // pointer to the version string, minus 0x200

/**
 * Checks that `kernel` is an x86 bzImage systemd-stub can start (boot protocol 2.11+, the EFI
 * handover and LoadImage both need it) and returns its version string's first word (`uname -r`),
 * or undefined when it has none.
 */
export function bzImageRelease(kernel: Uint8Array): string | undefined {
  const dv = new DataView(kernel.buffer, kernel.byteOffset, kernel.byteLength);
  if (kernel.length < 0x400 || dv.getUint16(BOOT_FLAG_AT, true) !== 0xaa55) throw new FormatError("bzImage", BOOT_FLAG_AT, "expected the boot flag 0xAA55 of an x86 kernel image");
  if (dv.getUint32(HEADER_MAGIC_AT, true) !== 0x53726448) throw new FormatError("bzImage", HEADER_MAGIC_AT, "expected the setup header magic \"HdrS\"");
  const version = dv.getUint16(VERSION_AT, true);
  if (version < 0x20b) throw new FormatError("bzImage", VERSION_AT, `boot protocol ${version >> 8}.${version & 0xff} (expected 2.11 or later)`);
  const ptr = dv.getUint16(KERNEL_VERSION_AT, true);
  if (ptr === 0) return undefined;
  const at = ptr + 0x200;
  const end = kernel.indexOf(0, at);
  if (at >= kernel.length || end < 0 || end - at > 512) throw new FormatError("bzImage", KERNEL_VERSION_AT, `kernel version string at ${at} is not a terminated string`);
  return Buffer.from(kernel.subarray(at, end)).toString("latin1").split(" ")[0] || undefined;
}
