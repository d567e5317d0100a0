/**
 * Early archives: the uncompressed newc archives at the start of an initramfs, before its first
 * compressed segment (CPU microcode, ACPI table overrides). The kernel's early loaders (x86
 * microcode, drivers/acpi/tables.c's table upgrade) read them with find_cpio_data()
 * (lib/earlycpio.c) straight from the initrd's first byte, before anything is unpacked: NUL words
 * are skipped, headers must sit at 4-byte-aligned offsets, and the scan stops at the first byte
 * that starts no header (a compressed stream). Inside a compressed segment, or in the EROFS image,
 * they are never applied. Found here as the kernel finds them, not by file names. Pure.
 */
import { CpioEntry, CpioParser, CpioSink } from "../formats/cpio/parser.js";
import { align4, decodeNewcHeader, HEADER_SIZE } from "../formats/cpio/newc.js";

export interface EarlyMember {
  /** as stored in the archive (e.g. "kernel/x86/microcode/GenuineIntel.bin") */
  path: string;
  size: number;
  /** of its header in the initramfs */
  offset: number;
}

export interface EarlyArchives {
  /** the initramfs's bytes [0, bytes) are carried as they are: every early archive, their offsets and padding */
  bytes: number;
  /** how many archives (each ended by TRAILER!!!) that is */
  archives: number;
  /** regular files in them, in archive order */
  members: EarlyMember[];
}

export const NO_EARLY_ARCHIVES: EarlyArchives = Object.freeze({ bytes: 0, archives: 0, members: [] }) as EarlyArchives;

/** Collects one uncompressed segment's archives: their regular files and where each ends. */
class ArchiveCollector implements CpioSink {
  /** end offset (after the trailer and its name's padding) of each archive, and its regular files */
  readonly archives: { end: number; members: EarlyMember[] }[] = [];
  private members: EarlyMember[] = [];

  constructor(private readonly input: Uint8Array) {}

  entry(e: CpioEntry): void {
    if ((e.header.mode & 0o170000) === 0o100000) this.members.push({ path: Buffer.from(e.name, "latin1").toString("utf8"), size: e.data.length, offset: e.offset });
  }

  trailer(offset: number): void {
    const h = decodeNewcHeader(this.input, offset, offset);
    this.archives.push({ end: align4(offset + HEADER_SIZE + h.namesize), members: this.members });
    this.members = [];
  }
}

/**
 * The early archives of an initramfs: the uncompressed archives before its first compressed
 * segment. With no compressed segment at all, the last archive is the main one (the image holds
 * it) and only those before it are early. A malformed archive is a FormatError, as readInitramfs
 * reports it.
 */
export function findEarlyArchives(input: Uint8Array, source = "initramfs"): EarlyArchives {
  const archives: ArchiveCollector["archives"] = [];
  let pos = 0;
  while (pos < input.length) {
    if (input[pos] === 0) {
      pos++;
      continue;
    }
    if (input[pos] !== 0x30 /* '0' */ || (pos & 3) !== 0) break; // a compressed segment
    const sink = new ArchiveCollector(input);
    const parser = new CpioParser(sink, source, pos);
    const used = parser.push(input.subarray(pos), true);
    parser.end();
    archives.push(...sink.archives);
    pos += used;
  }
  const compressedFollows = pos < input.length;
  const early = compressedFollows ? archives : archives.slice(0, -1);
  if (!early.length) return NO_EARLY_ARCHIVES;
  return { bytes: early[early.length - 1].end, archives: early.length, members: early.flatMap((a) => a.members) };
}
