/* fs-verity file digest computed in userspace, streaming (pure): the digest
 * `fsverity digest` prints and FS_IOC_MEASURE_VERITY returns, for 4096-byte
 * blocks and no salt. The file size must be known up front (it is part of
 * the descriptor and fixes the tree's height). */
#ifndef SI_FSVERITY_H
#define SI_FSVERITY_H

#include <stddef.h>
#include <stdint.h>
#include "sha2.h"

#define FSV_BLOCK 4096
#define FSV_MAX_LEVELS 8

struct fsverity_ctx {
	enum hash_alg alg;
	uint64_t size;       /* the file size given to fsverity_init */
	uint64_t done;       /* bytes fed so far */
	unsigned levels;     /* tree levels below the root */
	size_t part;         /* bytes waiting in block (a partial data block) */
	unsigned char block[FSV_BLOCK];
	/* pending hash block of each level; slot [levels] receives the root */
	size_t fill[FSV_MAX_LEVELS + 1];
	unsigned char level[FSV_MAX_LEVELS + 1][FSV_BLOCK];
};

/* Returns 0, or -1 when the size needs more levels than fs-verity allows. */
int fsverity_init(struct fsverity_ctx *c, enum hash_alg alg, uint64_t size);
/* Feed the next bytes. Returns 0, or -1 when more than size bytes are fed. */
int fsverity_update(struct fsverity_ctx *c, const void *data, size_t len);
/* The file digest (hash_len(alg) bytes). Returns 0, or -1 when fewer than
 * size bytes were fed. */
int fsverity_final(struct fsverity_ctx *c, unsigned char *digest);

#endif
