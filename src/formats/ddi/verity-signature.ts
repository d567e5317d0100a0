/**
 * The root-verity-sig partition's content (Discoverable Partitions): one JSON object
 *   {"rootHash":"HEX","certificateFingerprint":"HEX","signature":"BASE64"}
 * (keys in the order systemd-repart writes them), the signature a DER PKCS#7 over the root hash's
 * hex string, the fingerprint the SHA-256 of the signer's DER certificate; NUL-padded to a
 * multiple of 4096 bytes. The reader ignores keys it does not know, as systemd does.
 */
import { FormatError, UsageError } from "../../errors.js";
import { DDI_ALIGN } from "./ddi.js";

export interface VeritySignature {
  rootHash: string;
  certificateFingerprint: string;
  /** DER PKCS#7 */
  signature: Uint8Array;
}

/** bounded: a signature with one certificate is a few KiB */
export const VERITY_SIGNATURE_MAX = 64 * 1024;

export function encodeVeritySignature(s: VeritySignature): Uint8Array {
  if (!/^([0-9a-f]{2}){20,64}$/.test(s.rootHash)) throw new UsageError(`verity signature: root hash must be lower-case hex, got ${JSON.stringify(s.rootHash)}`);
  if (!/^[0-9a-f]{64}$/.test(s.certificateFingerprint)) throw new UsageError("verity signature: certificate fingerprint must be 64 lower-case hex digits");
  const json = JSON.stringify({ rootHash: s.rootHash, certificateFingerprint: s.certificateFingerprint, signature: Buffer.from(s.signature).toString("base64") });
  const text = new TextEncoder().encode(json);
  if (text.length > VERITY_SIGNATURE_MAX) throw new UsageError(`verity signature: ${text.length} bytes, more than ${VERITY_SIGNATURE_MAX}`);
  const out = new Uint8Array(Math.ceil(text.length / DDI_ALIGN) * DDI_ALIGN);
  out.set(text);
  return out;
}

export function decodeVeritySignature(b: Uint8Array, at = 0, source = "signature partition"): VeritySignature {
  const fail = (off: number, why: string): never => {
    throw new FormatError("verity signature JSON", at + off, why, source);
  };
  const end = b.indexOf(0);
  const len = end < 0 ? b.length : end;
  if (len === 0) fail(0, "empty (expected a JSON object)");
  if (len > VERITY_SIGNATURE_MAX) fail(0, `${len} bytes of JSON, more than ${VERITY_SIGNATURE_MAX}`);
  const stray = end < 0 ? -1 : b.subarray(end).findIndex((x) => x !== 0);
  if (stray >= 0) fail(end + stray, "expected NUL padding after the JSON");
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(0, len)));
  } catch (e) {
    return fail(0, `not JSON (${(e as Error).message})`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(0, "expected a JSON object");
  const o = v as Record<string, unknown>;
  const str = (k: string, re: RegExp, what: string): string => (typeof o[k] === "string" && re.test(o[k] as string) ? (o[k] as string) : fail(0, `"${k}": expected ${what}`));
  const rootHash = str("rootHash", /^([0-9a-f]{2}){20,64}$/, "lower-case hex of 20 to 64 bytes");
  const certificateFingerprint = str("certificateFingerprint", /^[0-9a-f]{64}$/, "64 lower-case hex digits (SHA-256)");
  const signature = str("signature", /^[A-Za-z0-9+/]+={0,2}$/, "base64");
  const der = Buffer.from(signature, "base64");
  if (der.toString("base64") !== signature) fail(0, '"signature": not canonical base64');
  return { rootHash, certificateFingerprint, signature: new Uint8Array(der) };
}

