/**
 * GUIDs as GPT stores them: the canonical text's first three fields little-endian, the last two
 * as written. In memory a GUID is its lower-case canonical text.
 */
import { UsageError } from "../../errors.js";
import { formatUuid } from "../uuid.js";

const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The 16 bytes of the text in reading order (as systemd's sd_id128_t holds them). */
export function parseGuid(text: string, what = "GUID"): Uint8Array {
  if (!GUID_TEXT.test(text)) throw new UsageError(`${what}: expected a lower-case 8-4-4-4-12 GUID, got ${JSON.stringify(text)}`);
  return new Uint8Array(Buffer.from(text.replace(/-/g, ""), "hex"));
}

const MIXED = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];

export function guidToDisk(text: string): Uint8Array {
  const b = parseGuid(text);
  return new Uint8Array(MIXED.map((i) => b[i]));
}

export function guidFromDisk(disk: Uint8Array): string {
  return formatUuid(new Uint8Array(MIXED.map((i) => disk[i])));
}
