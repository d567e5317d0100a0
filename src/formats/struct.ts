/**
 * One definition per on-disk structure: each field's offset, size and type, shared by the reader
 * and the writer so the two cannot disagree. All integers are little-endian.
 */

type FieldType = "u8" | "u16" | "u32" | "u64" | "bytes";

export interface FieldDef<T extends FieldType = FieldType> {
  type: T;
  offset: number;
  /** byte length; fixed by type except for "bytes" */
  size: number;
}

export const u8 = (offset: number): FieldDef<"u8"> => ({ type: "u8", offset, size: 1 });
export const u16 = (offset: number): FieldDef<"u16"> => ({ type: "u16", offset, size: 2 });
export const u32 = (offset: number): FieldDef<"u32"> => ({ type: "u32", offset, size: 4 });
export const u64 = (offset: number): FieldDef<"u64"> => ({ type: "u64", offset, size: 8 });
export const bytes = (offset: number, size: number): FieldDef<"bytes"> => ({ type: "bytes", offset, size });

type FieldValue<F> = F extends FieldDef<"u64"> ? bigint : F extends FieldDef<"bytes"> ? Uint8Array : number;

export type StructValue<Fields extends Record<string, FieldDef>> = {
  [K in keyof Fields]: FieldValue<Fields[K]>;
};

export interface StructDef<Fields extends Record<string, FieldDef>> {
  name: string;
  size: number;
  fields: Fields;
  /** Decodes the structure at `offset`; the caller has checked that `size` bytes are there. */
  decode(buf: Uint8Array, offset?: number): StructValue<Fields>;
  /** Encodes into `buf` at `offset`. Fields not given are left as they are (callers zero-fill). */
  encode(buf: Uint8Array, offset: number, value: Partial<StructValue<Fields>>): void;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function defineStruct<Fields extends Record<string, FieldDef>>(
  name: string,
  size: number,
  fields: Fields,
): StructDef<Fields> {
  for (const [k, f] of Object.entries(fields)) {
    if (f.offset + f.size > size) throw new Error(`struct ${name}: field ${k} past the end`);
  }
  const entries = Object.entries(fields);
  return {
    name,
    size,
    fields,
    decode(buf, offset = 0) {
      const dv = view(buf);
      const out: Record<string, unknown> = {};
      for (const [k, f] of entries) {
        const at = offset + f.offset;
        switch (f.type) {
          case "u8": out[k] = dv.getUint8(at); break;
          case "u16": out[k] = dv.getUint16(at, true); break;
          case "u32": out[k] = dv.getUint32(at, true); break;
          case "u64": out[k] = dv.getBigUint64(at, true); break;
          // a copy, also for Buffers (whose slice() is a view)
          case "bytes": out[k] = Uint8Array.prototype.slice.call(buf, at, at + f.size); break;
        }
      }
      return out as StructValue<Fields>;
    },
    encode(buf, offset, value) {
      const dv = view(buf);
      for (const [k, f] of entries) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined) continue;
        const at = offset + f.offset;
        switch (f.type) {
          case "u8": dv.setUint8(at, v as number); break;
          case "u16": dv.setUint16(at, v as number, true); break;
          case "u32": dv.setUint32(at, v as number, true); break;
          case "u64": dv.setBigUint64(at, v as bigint, true); break;
          case "bytes": {
            const b = v as Uint8Array;
            if (b.length > f.size) throw new Error(`struct ${name}: field ${k} is ${b.length} bytes, max ${f.size}`);
            buf.set(b, at);
            break;
          }
        }
      }
    },
  };
}
