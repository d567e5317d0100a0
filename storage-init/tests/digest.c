/* Host helper for tests/digests.sh: storage-init's SHA-2 and fs-verity code
 * on a file, fed in uneven pieces.
 * usage: [SI_SHA_PORTABLE=1] digest sha256|sha512|fsverity-sha256|fsverity-sha512 FILE
 *        digest dm-verity FILE SALT-HEX|- FORMAT   (the root hash) */
#include "fsverity.h"
#include "sha2.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fsverity_ctx fsv;

int main(int argc, char **argv)
{
	static unsigned char buf[70001];
	unsigned char d[SHA_MAX_LEN];
	char hex[2 * SHA_MAX_LEN + 1];
	struct hash_ctx h;
	enum hash_alg alg;
	static unsigned char salt[DMV_SALT_MAX];
	long salt_len = 0;
	int tree, dm;
	long long size;
	size_t n;
	FILE *f;

	dm = argc == 5 && strcmp(argv[1], "dm-verity") == 0;
	if (argc != 3 && !dm)
		return 2;
	if (dm && strcmp(argv[3], "-") != 0 && (salt_len = hex_decode(argv[3], salt, sizeof salt)) < 0)
		return 2;
	if (getenv("SI_SHA_PORTABLE"))
		sha2_accel(0); /* test the portable code on a CPU with SHA instructions */
	tree = dm || strncmp(argv[1], "fsverity-", 9) == 0;
	alg = strstr(argv[1], "512") ? HASH_SHA512 : HASH_SHA256;
	f = fopen(argv[2], "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		perror(argv[2]);
		return 1;
	}
	hash_init(&h, alg);
	if (dm ? dmverity_init(&fsv, (uint64_t)size, salt, (size_t)salt_len, (unsigned)atoi(argv[4])) < 0 :
	    tree && fsverity_init(&fsv, alg, (uint64_t)size) < 0)
		return 1;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
		if (tree ? fsverity_update(&fsv, buf, n) < 0 : (hash_update(&h, buf, n), 0))
			return 1;
	}
	fclose(f);
	if (dm ? dmverity_root(&fsv, d) < 0 : tree ? fsverity_final(&fsv, d) < 0 : (hash_final(&h, d), 0))
		return 1;
	hex_encode(hex, d, hash_len(alg));
	if (dm) {
		printf("%s\n", hex);
		return 0;
	}
	printf("%s:%s\n", alg == HASH_SHA512 ? "sha512" : "sha256", hex);
	return 0;
}
