/* The verity Merkle tree computed in userspace, streaming (pure), for
 * 4096-byte blocks: the fs-verity file digest `fsverity digest` prints and
 * FS_IOC_MEASURE_VERITY returns (no salt), and the dm-verity root hash
 * `veritysetup format` prints (sha256, its salt). Both hash data blocks into
 * full hash blocks, those into the next level, up to one block; a one-block
 * input has no tree, its block's hash is the root. The size must be known up
 * front (it fixes the tree's height). */
#ifndef SI_FSVERITY_H
#define SI_FSVERITY_H

#include <stddef.h>
#include <stdint.h>
#include "sha2.h"

#define FSV_BLOCK 4096
#define FSV_MAX_LEVELS 8
#define DMV_SALT_MAX 256 /* dm-verity salt bytes (the superblock's field) */

struct fsverity_ctx {
	enum hash_alg alg;
	uint64_t size;       /* the file size given to fsverity_init */
	uint64_t done;       /* bytes fed so far */
	unsigned levels;     /* tree levels below the root */
	size_t part;         /* bytes waiting in block (a partial data block) */
	/* dm-verity: each block hashed with the salt before it (format 1) or after (format 0) */
	unsigned char salt[DMV_SALT_MAX];
	size_t salt_len;
	int salt_after;
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

/* The dm-verity tree of size bytes (a whole number of blocks, at least
 * one), SHA-256, format 1 or 0. Returns 0, or -1 for a size or salt out of
 * range. Fed with fsverity_update. */
int dmverity_init(struct fsverity_ctx *c, uint64_t size, const unsigned char *salt, size_t salt_len,
		  unsigned format);
/* The root hash (32 bytes). Returns 0, or -1 when fewer than size bytes were fed. */
int dmverity_root(struct fsverity_ctx *c, unsigned char *root);

#endif
