/* The signature check (src/pkcs7.c and BearSSL under it): our DER walk of the certificate and
 * the PKCS#7 message, BearSSL's X.509 key decoding, RSA/ECDSA and SHA-2.
 * Input: u16 big-endian certificate length, the certificate (DER or PEM), then the signature;
 * the content is fixed (test/fuzz/targets.ts SIGNED_CONTENT), so the seeds verify. */
#include "fuzz.h"
#include "pkcs7.h"

static void fuzz_one(const uint8_t *data, size_t size)
{
	static const char content[] = "initoverlayfs fuzz content\n";
	char err[256];
	size_t n;

	if (size < 2)
		return;
	n = (size_t)data[0] << 8 | data[1];
	if (n > size - 2)
		return;
	if (pkcs7_verify_detached(data + 2 + n, size - 2 - n, (const unsigned char *)content, sizeof content - 1,
				  data + 2, n, err, sizeof err) < 0)
		fuzz_touch(err, sizeof err);
}
