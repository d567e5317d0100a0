/**
 * Detached PKCS#7 (CMS SignedData) signatures as the kernel checks them: no certificates, no
 * signed attributes, the signer named by issuer and serial number. Built and parsed with
 * node-forge (its ASN.1/PKCS#7 code); the RSA/ECDSA check itself is node:crypto's.
 *   fs-verity: over the formatted digest ("FSVerity" ‖ le16 alg ‖ le16 size ‖ digest), as
 *              `fsverity sign` writes it;
 *   dm-verity: over the root hash hex string, as `openssl smime -sign -nocerts -noattr -binary`.
 * Signing needs an RSA key (node-forge signs RSA PKCS#1 v1.5 only).
 */
import { X509Certificate, createPublicKey, verify as cryptoVerify } from "node:crypto";
import { createRequire } from "node:module";
import type forge from "node-forge";
import { FormatError, UnsupportedError, UsageError } from "../errors.js";
import { FsverityHashName } from "../formats/verity/algorithms.js";
import { formattedDigest } from "../formats/verity/fsverity.js";

let forgeModule: typeof forge | undefined;
/** node-forge takes ~50 ms to load: required on first use, so importing the library stays cheap */
function nodeForge(): typeof forge {
  return (forgeModule ??= createRequire(import.meta.url)("node-forge") as typeof forge);
}

/** ECDSA object identifiers (node-forge knows RSA's only) */
const EC_OIDS: Record<string, string> = {
  "1.2.840.10045.2.1": "ecPublicKey",
  "1.2.840.10045.4.1": "ecdsa-with-sha1",
  "1.2.840.10045.4.3.2": "ecdsa-with-sha256",
  "1.2.840.10045.4.3.3": "ecdsa-with-sha384",
  "1.2.840.10045.4.3.4": "ecdsa-with-sha512",
};

export type SignatureHash = "sha256" | "sha512" | "sha1";

/** node-forge functions its type definitions leave out */

const toBinary = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("binary");

/** Parses a PEM or DER certificate; anything else is a FormatError. */
export function loadCertificate(cert: string | Uint8Array, source = "certificate"): X509Certificate {
  try {
    return new X509Certificate(typeof cert === "string" ? cert : Buffer.from(cert));
  } catch (e) {
    throw new FormatError("X.509 certificate", 0, `expected a PEM or DER certificate (${(e as Error).message})`, source);
  }
}

function certPem(cert: string | Uint8Array): string {
  return loadCertificate(cert).toString();
}

export function signDetached(content: Uint8Array, keyPem: string, cert: string | Uint8Array, hash: SignatureHash = "sha256"): Uint8Array {
  let certificate: forge.pki.Certificate;
  try {
    certificate = nodeForge().pki.certificateFromPem(certPem(cert));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new UnsupportedError("certificate", undefined, `signing needs an RSA certificate (${(e as Error).message})`);
  }
  let key: forge.pki.rsa.PrivateKey;
  try {
    key = nodeForge().pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  } catch (e) {
    throw new UnsupportedError("private key", undefined, `expected an RSA private key in PEM (${(e as Error).message})`);
  }
  const p7 = nodeForge().pkcs7.createSignedData();
  p7.content = nodeForge().util.createBuffer(toBinary(content));
  p7.addSigner({ key, certificate, digestAlgorithm: nodeForge().pki.oids[hash] });
  p7.sign({ detached: true });
  return new Uint8Array(Buffer.from(nodeForge().asn1.toDer(p7.toAsn1()).getBytes(), "binary"));
}

/** What `fsverity sign` writes for this digest (the signature hash is the digest's algorithm). */
export function signFsverityDigest(d: { algorithm: FsverityHashName; digest: Uint8Array }, keyPem: string, cert: string | Uint8Array): Uint8Array {
  return signDetached(formattedDigest(d), keyPem, cert, d.algorithm);
}

/** The signature dm-verity's root_hash_sig_key_desc expects: over the lower-case hex string. */
export function signRootHash(rootHashHex: string, keyPem: string, cert: string | Uint8Array, hash: SignatureHash = "sha256"): Uint8Array {
  if (!/^[0-9a-f]+$/.test(rootHashHex)) throw new UsageError(`root hash: expected lower-case hex, got ${JSON.stringify(rootHashHex)}`);
  return signDetached(new TextEncoder().encode(rootHashHex), keyPem, cert, hash);
}

export interface SignatureCheck {
  ok: boolean;
  reason?: string;
  hash?: string;
}

/**
 * Checks a detached DER PKCS#7 signature of `content` against `cert`. A structure that is not a
 * signed-data message with exactly one signer is a FormatError; a wrong signer or signature is a
 * failed check with a reason.
 */
export function verifyDetached(signature: Uint8Array, content: Uint8Array, cert: string | Uint8Array, source = "signature"): SignatureCheck {
  const bad = (why: string): never => {
    throw new FormatError("PKCS#7", 0, why, source);
  };
  let msg: forge.pkcs7.PkcsSignedData;
  let signerAsn1: forge.asn1.Asn1;
  let digestAlgorithms: string[] = [];
  try {
    const der = nodeForge().util.createBuffer(toBinary(signature));
    const asn1 = nodeForge().asn1.fromDer(der, { strict: true, parseAllBytes: true } as never);
    msg = nodeForge().pkcs7.messageFromAsn1(asn1) as forge.pkcs7.PkcsSignedData;
    const raw = (msg as unknown as { rawCapture: { signerInfos?: forge.asn1.Asn1[]; content?: unknown; digestAlgorithms?: forge.asn1.Asn1 } }).rawCapture;
    if (!raw?.signerInfos || (msg as unknown as { type: string }).type !== nodeForge().pki.oids.signedData) bad("expected a signed-data message");
    if (raw.signerInfos!.length !== 1) bad(`expected exactly one signer, got ${raw.signerInfos!.length}`);
    signerAsn1 = raw.signerInfos![0];
    if (raw.content !== undefined) bad("expected a detached signature (the message carries content)");
    if ((msg as unknown as { version: number }).version !== 1) bad("expected SignedData version 1");
    digestAlgorithms = ((raw.digestAlgorithms?.value ?? []) as forge.asn1.Asn1[]).map((a) => algorithmOid(a, "digestAlgorithms", bad));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    return bad(`not a DER PKCS#7 signed-data message: ${(e as Error).message}`);
  }
  const si = parseSignerInfo(signerAsn1!, bad);
  if (si.signedAttributes) bad("signed attributes are not supported (the kernel's form has none)");
  if (si.version !== 1) bad(`expected SignerInfo version 1, got ${si.version}`);
  const hash = nodeForge().pki.oids[si.digestOid] as string | undefined;
  if (!hash || !["sha1", "sha256", "sha384", "sha512"].includes(hash)) return bad(`unsupported digest algorithm ${si.digestOid}`);
  if (!digestAlgorithms.includes(si.digestOid)) bad("the signer's digest algorithm is not listed in SignedData.digestAlgorithms");
  const x509 = loadCertificate(cert);
  const signer = issuerAndSerial(x509, bad);
  if (nodeForge().asn1.toDer(si.issuer).getBytes() !== signer.issuer || si.serial !== signer.serial) {
    return { ok: false, hash, reason: "the signature names another signer (issuer/serial number) than the certificate" };
  }
  const keyType = x509.publicKey.asymmetricKeyType;
  const sigAlg = (nodeForge().pki.oids[si.signatureOid] as string | undefined) ?? EC_OIDS[si.signatureOid];
  const allowed = keyType === "rsa" ? ["rsaEncryption", `${hash}WithRSAEncryption`] : keyType === "ec" ? [`ecdsa-with-${hash}`, "ecPublicKey"] : [];
  if (!sigAlg || !allowed.includes(sigAlg)) return { ok: false, hash, reason: `signature algorithm ${sigAlg ?? si.signatureOid} does not fit the certificate's ${keyType} key and ${hash}` };
  const sig = Buffer.from(si.signature, "binary");
  const ok = cryptoVerify(hash, content, createPublicKey(x509.publicKey.export({ type: "spki", format: "pem" })), sig);
  return ok ? { ok, hash } : { ok, hash, reason: "the signature does not match the signed content and certificate" };
}

/**
 * SignerInfo ::= SEQUENCE { version, issuerAndSerialNumber SEQUENCE { issuer, serial },
 *   digestAlgorithm, [0] signedAttrs OPTIONAL, signatureAlgorithm, signature OCTET STRING,
 *   [1] unsignedAttrs OPTIONAL }   (node-forge does not export its validator for it)
 */
function parseSignerInfo(a: forge.asn1.Asn1, bad: (why: string) => never) {
  const { Class, Type } = nodeForge().asn1;
  const seq = (x: forge.asn1.Asn1 | undefined, what: string): forge.asn1.Asn1[] =>
    x && x.tagClass === Class.UNIVERSAL && x.type === Type.SEQUENCE && Array.isArray(x.value) ? x.value : bad(`SignerInfo: expected a SEQUENCE for ${what}`);
  const prim = (x: forge.asn1.Asn1 | undefined, type: number, what: string): string =>
    x && x.tagClass === Class.UNIVERSAL && x.type === type && typeof x.value === "string" ? x.value : bad(`SignerInfo: malformed ${what}`);
  const f = seq(a, "SignerInfo");
  let i = 0;
  const version = nodeForge().util.createBuffer(prim(f[i++], Type.INTEGER, "version")).toHex();
  const ias = seq(f[i++], "issuerAndSerialNumber");
  const issuer = ias[0] ?? bad("SignerInfo: missing issuer");
  const serial = prim(ias[1], Type.INTEGER, "serial number");
  const digestOid = algorithmOid(f[i++], "digestAlgorithm", bad);
  const signedAttributes = f[i]?.tagClass === Class.CONTEXT_SPECIFIC && f[i]?.type === 0;
  if (signedAttributes) i++;
  const signatureOid = algorithmOid(f[i++], "signatureAlgorithm", bad);
  const signature = prim(f[i++], Type.OCTETSTRING, "signature");
  if (f.length > i + (f[i]?.tagClass === Class.CONTEXT_SPECIFIC ? 1 : 0)) bad("SignerInfo: unexpected fields");
  return { version: parseInt(version, 16), issuer, serial, digestOid, signedAttributes, signatureOid, signature };
}

/** The certificate's issuer Name (DER) and serial number (INTEGER contents), read generically so any key type works. */
function issuerAndSerial(x509: X509Certificate, bad: (why: string) => never): { issuer: string; serial: string } {
  const cert = nodeForge().asn1.fromDer(nodeForge().util.createBuffer(x509.raw.toString("binary")));
  const tbs = (cert.value as forge.asn1.Asn1[])[0]?.value as forge.asn1.Asn1[] | undefined;
  if (!Array.isArray(tbs)) return bad("certificate: malformed TBSCertificate");
  const i = tbs[0]?.tagClass === nodeForge().asn1.Class.CONTEXT_SPECIFIC ? 1 : 0; // [0] version
  return { serial: tbs[i].value as string, issuer: nodeForge().asn1.toDer(tbs[i + 2]).getBytes() };
}

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters NULL or absent } */
function algorithmOid(a: forge.asn1.Asn1 | undefined, what: string, bad: (why: string) => never): string {
  const { Class, Type } = nodeForge().asn1;
  const v = a && a.tagClass === Class.UNIVERSAL && a.type === Type.SEQUENCE && a.constructed && Array.isArray(a.value) ? a.value : bad(`${what}: expected an AlgorithmIdentifier`);
  const oid = v[0];
  if (!oid || oid.tagClass !== Class.UNIVERSAL || oid.type !== Type.OID || oid.constructed || typeof oid.value !== "string") bad(`${what}: expected an OID`);
  const p = v[1];
  if (v.length > 2 || (p && (p.tagClass !== Class.UNIVERSAL || p.type !== Type.NULL || p.constructed || p.value !== ""))) bad(`${what}: expected NULL or no parameters`);
  try {
    return nodeForge().asn1.derToOid(oid.value as string);
  } catch (e) {
    // node-forge throws a plain Error for an arc over 2^53 (found by fuzzing)
    return bad(`${what}: malformed OID (${(e as Error).message})`);
  }
}
