/** Xattr name prefixes (short name indexes), shared by reader and writer. */
import { XATTR_PREFIXES } from "./ondisk.js";

/** Splits a full name into (index, suffix) using the longest matching prefix; 0 = no prefix. */
export function splitXattrName(name: string): { index: number; suffix: string } {
  let best: { index: number; suffix: string } = { index: 0, suffix: name };
  let bestLen = 0;
  for (const [index, prefix] of XATTR_PREFIXES) {
    // the posix_acl names are whole names: only an exact match uses them
    const whole = !prefix.endsWith(".");
    if (whole ? name === prefix : name.startsWith(prefix) && name.length > prefix.length) {
      if (prefix.length > bestLen) {
        best = { index, suffix: name.slice(prefix.length) };
        bestLen = prefix.length;
      }
    }
  }
  return best;
}

