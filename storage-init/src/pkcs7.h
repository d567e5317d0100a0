/* Detached PKCS#7 / CMS SignedData signatures (as `openssl smime -sign -binary
 * -outform DER`, `openssl cms` and systemd-repart write them) checked against
 * one pinned X.509 certificate. The DER walking is ours (bounded, strict);
 * the X.509 key decoding, RSA/ECDSA and SHA-2 are BearSSL's. No malloc. */
#ifndef SI_PKCS7_H
#define SI_PKCS7_H

#include <stddef.h>

#define PKCS7_SIG_MAX (16 * 1024)   /* DER signature (with embedded certificates) */
#define PKCS7_CERT_MAX (16 * 1024)  /* pinned certificate, DER or PEM */

/* One signer (issuerAndSerialNumber or subjectKeyIdentifier naming `cert`),
 * digest sha256/sha384/sha512, with or without signed attributes (then
 * contentType = data and messageDigest = the content's digest), signature
 * rsaEncryption, sha*WithRSAEncryption or ecdsa-with-SHA* over `content`.
 * `cert` is DER or PEM. Returns 0 when the signature verifies, or -1 with one
 * line in err naming what failed (and the byte offset for malformed DER). */
int pkcs7_verify_detached(const unsigned char *sig, size_t sig_len, const unsigned char *content,
			  size_t content_len, const unsigned char *cert, size_t cert_len, char *err,
			  size_t errlen);

#endif
