/* Host helper for test/storage-init/pkcs7.test.ts: storage-init's signature check on files.
 * usage: pkcs7-verify SIG.der CONTENT CERT -> "ok", exit 0; or the one-line reason, exit 1 */
#include "pkcs7.h"

#include <stdio.h>

static long slurp(const char *path, unsigned char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, size, f);
	if (ferror(f) || (n == size && fgetc(f) != EOF)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return (long)n;
}

int main(int argc, char **argv)
{
	static unsigned char sig[PKCS7_SIG_MAX + 1], content[1 << 20], cert[PKCS7_CERT_MAX + 1];
	long s, c, k;
	char err[256];

	if (argc != 4)
		return 2;
	if ((s = slurp(argv[1], sig, sizeof sig)) < 0 || (c = slurp(argv[2], content, sizeof content)) < 0 ||
	    (k = slurp(argv[3], cert, sizeof cert)) < 0) {
		perror("pkcs7-verify: read");
		return 2;
	}
	if (pkcs7_verify_detached(sig, (size_t)s, content, (size_t)c, cert, (size_t)k, err, sizeof err) < 0) {
		printf("%s\n", err);
		return 1;
	}
	printf("ok\n");
	return 0;
}
