/* SHA-256 and SHA-512 (FIPS 180-4), streaming; pure. Used for fs-verity
 * digests of the image (integrity = copy). */
#ifndef SI_SHA2_H
#define SI_SHA2_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA512_LEN 64
#define SHA_MAX_LEN 64

enum hash_alg { HASH_SHA256 = 1, HASH_SHA512 = 2 }; /* fs-verity's numbers */

struct hash_ctx {
	enum hash_alg alg;
	union {
		uint32_t s256[8];
		uint64_t s512[8];
	} h;
	uint64_t total;            /* bytes hashed so far (< 2^61: enough here) */
	size_t fill;               /* bytes waiting in buf */
	unsigned char buf[128];
};

size_t hash_len(enum hash_alg alg);        /* digest bytes */
size_t hash_block_len(enum hash_alg alg);  /* input block bytes */
void hash_init(struct hash_ctx *c, enum hash_alg alg);
void hash_update(struct hash_ctx *c, const void *data, size_t len);
/* Writes hash_len(alg) bytes. The context must be re-initialised after. */
void hash_final(struct hash_ctx *c, unsigned char *out);
/* Use CPU SHA instructions when present (default: yes). Returns whether
 * they are used now. For tests: sha2_accel(0) forces the portable code. */
int sha2_accel(int enable);
/* One-shot. */
void hash_buf(enum hash_alg alg, const void *data, size_t len, unsigned char *out);

#endif
