/**
 * A push parser for a stream of newc/crc cpio archives, as the kernel reads them: several archives
 * may follow each other, NUL padding between them, each ended by "TRAILER!!!". Input arrives in
 * chunks (straight from a decompressor); file data that lies inside one chunk is passed on as a
 * view, without copying. Pure: bytes in, entries out.
 */
import { FormatError } from "../../errors.js";
import { align4, decodeNewcHeader, HEADER_SIZE, NewcHeader, TRAILER_NAME } from "./newc.js";

/** Linux PATH_MAX; the kernel rejects longer names */
export const CPIO_NAME_MAX = 4096;

export interface CpioEntry {
  header: NewcHeader;
  /** name as a byte string, without the trailing NUL */
  name: string;
  data: Uint8Array;
  /** offset of the header in the stream */
  offset: number;
}

export interface CpioSink {
  entry(e: CpioEntry): void;
  /** "TRAILER!!!": end of one archive (hard-link tracking resets) */
  trailer(offset: number): void;
}

type State = "reset" | "header" | "name" | "data" | "pad";

export class CpioParser {
  private state: State = "reset";
  private pos: number; // stream offset of the next byte to consume
  private pending: Uint8Array[] = []; // pieces of the current field
  private pendingLen = 0;
  private need = 0;
  private header!: NewcHeader;
  private headerOffset = 0;
  private name = "";
  private sum = 0;

  constructor(private readonly sink: CpioSink, private readonly source = "cpio", baseOffset = 0) {
    this.pos = baseOffset;
  }

  /** True between archives: after a trailer and any NUL padding. */
  get atArchiveBoundary(): boolean {
    return this.state === "reset";
  }

  get offset(): number {
    return this.pos;
  }

  /**
   * Consumes `chunk`. With `stopAtBoundary`, returns as soon as an archive has ended and a
   * non-NUL, non-"0" byte follows (how the kernel hands an uncompressed segment back to its
   * segment loop); returns the number of bytes consumed.
   */
  push(chunk: Uint8Array, stopAtBoundary = false): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case "reset": {
          while (i < n && chunk[i] === 0) i++, this.pos++;
          if (i === n) break;
          if (chunk[i] !== 0x30 /* '0' */ || (this.pos & 3) !== 0) {
            if (stopAtBoundary) return i;
            if ((this.pos & 3) !== 0 && chunk[i] === 0x30) throw this.err(this.pos, "broken padding: cpio header not 4-byte aligned");
            throw this.err(this.pos, `junk between cpio archives: byte 0x${chunk[i].toString(16).padStart(2, "0")}`);
          }
          this.startField("header", HEADER_SIZE);
          this.headerOffset = this.pos;
          break;
        }
        case "data": {
          // fast path: the whole rest of the data is in this chunk
          const take = Math.min(this.need - this.pendingLen, n - i);
          const piece = chunk.subarray(i, i + take);
          if (this.header.crc) for (let k = 0; k < piece.length; k++) this.sum = (this.sum + piece[k]) >>> 0;
          this.pending.push(piece);
          this.pendingLen += take;
          i += take;
          this.pos += take;
          if (this.pendingLen === this.need) this.finishData();
          break;
        }
        default: {
          const take = Math.min(this.need - this.pendingLen, n - i);
          this.pending.push(chunk.subarray(i, i + take));
          this.pendingLen += take;
          i += take;
          this.pos += take;
          if (this.pendingLen === this.need) this.finishField(this.collect());
        }
      }
    }
    return i;
  }

  /** The stream ended: it must end between archives. */
  end(): void {
    if (this.state !== "reset") {
      throw this.err(this.pos, `truncated cpio archive: stream ends inside ${this.describeState()} of the entry at offset ${this.headerOffset}`);
    }
  }

  private err(offset: number, detail: string): FormatError {
    return new FormatError("cpio", offset, detail, this.source);
  }

  private describeState(): string {
    return { header: "a header", name: "a name", data: "file data", pad: "padding", reset: "" }[this.state];
  }

  private startField(state: State, need: number): void {
    this.state = state;
    this.need = need;
    this.pending = [];
    this.pendingLen = 0;
  }

  private collect(): Uint8Array {
    if (this.pending.length === 1) return this.pending[0];
    const out = new Uint8Array(this.pendingLen);
    let o = 0;
    for (const p of this.pending) out.set(p, o), (o += p.length);
    return out;
  }

  private finishField(bytes: Uint8Array): void {
    switch (this.state) {
      case "header": {
        let h: NewcHeader;
        try {
          h = decodeNewcHeader(bytes, 0, this.headerOffset);
        } catch (e) {
          throw e instanceof FormatError ? e.withSource(this.source) : e;
        }
        if (h.namesize === 0 || h.namesize > CPIO_NAME_MAX) {
          throw this.err(this.headerOffset + 94, `name size ${h.namesize} out of range 1..${CPIO_NAME_MAX}`);
        }
        this.header = h;
        // header + name are padded together to a multiple of 4
        this.startField("name", align4(this.headerOffset + HEADER_SIZE + h.namesize) - this.headerOffset - HEADER_SIZE);
        break;
      }
      case "name": {
        const ns = this.header.namesize;
        if (bytes[ns - 1] !== 0) throw this.err(this.headerOffset + HEADER_SIZE + ns - 1, "malformed archive: name is not NUL-terminated");
        const nul = bytes.indexOf(0);
        // the kernel uses the name up to its first NUL
        this.name = Buffer.from(bytes.buffer, bytes.byteOffset, nul).toString("latin1");
        if (this.name === TRAILER_NAME) {
          this.sink.trailer(this.headerOffset);
          this.state = "reset";
          return;
        }
        this.sum = 0;
        this.startField("data", this.header.filesize);
        if (this.header.filesize === 0) this.finishData();
        break;
      }
      case "pad":
        // padding after file data; the kernel does not look at its bytes
        this.startHeaderOrReset();
        break;
    }
  }

  private finishData(): void {
    const h = this.header;
    const data = this.collect();
    // like the kernel (do_copy), only regular files' data is checksummed; GNU cpio writes 0 for symlinks
    if (h.crc && (h.mode & 0o170000) === 0o100000 && this.sum !== h.check) {
      throw this.err(this.headerOffset, `bad data checksum for ${JSON.stringify(this.name)}: header says 0x${h.check.toString(16)}, data sums to 0x${this.sum.toString(16)}`);
    }
    this.sink.entry({ header: h, name: this.name, data, offset: this.headerOffset });
    const padded = align4(this.pos) - this.pos;
    if (padded) this.startField("pad", padded);
    else this.startHeaderOrReset();
  }

  private startHeaderOrReset(): void {
    // After an entry, the next header follows directly (no NULs allowed inside an archive).
    this.headerOffset = this.pos;
    this.startField("header", HEADER_SIZE);
  }
}
