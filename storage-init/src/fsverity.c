/* The verity Merkle tree (kernel documentation, filesystems/fsverity.rst and
 * device-mapper/verity.rst): data blocks are hashed into level-0 hash
 * blocks, full hash blocks into the next level, up to one block whose hash
 * is the root. fs-verity's file digest is the hash of the 256-byte
 * descriptor holding the root and the size; dm-verity's root hash is the
 * root itself, every block hashed with the salt. Only one pending block per
 * level is kept, so memory is bounded. */
#include "fsverity.h"

#include <string.h>

#define FSV_LOG_BLOCK 12
#define FSV_DESC_LEN 256

int fsverity_init(struct fsverity_ctx *c, enum hash_alg alg, uint64_t size)
{
	uint64_t blocks = size / FSV_BLOCK + (size % FSV_BLOCK != 0);
	uint64_t per = FSV_BLOCK / hash_len(alg);

	memset(c, 0, sizeof *c);
	c->alg = alg;
	c->size = size;
	while (blocks > 1) {
		if (c->levels == FSV_MAX_LEVELS)
			return -1;
		blocks = blocks / per + (blocks % per != 0);
		c->levels++;
	}
	return 0;
}

int dmverity_init(struct fsverity_ctx *c, uint64_t size, const unsigned char *salt, size_t salt_len,
		  unsigned format)
{
	if (size == 0 || size % FSV_BLOCK || salt_len > DMV_SALT_MAX || format > 1 ||
	    fsverity_init(c, HASH_SHA256, size) < 0)
		return -1;
	memcpy(c->salt, salt, salt_len);
	c->salt_len = salt_len;
	c->salt_after = format == 0;
	return 0;
}

static void hash_block(const struct fsverity_ctx *c, const unsigned char *block, unsigned char *out)
{
	struct hash_ctx h;

	if (!c->salt_len) {
		hash_buf(c->alg, block, FSV_BLOCK, out);
		return;
	}
	hash_init(&h, c->alg);
	if (!c->salt_after)
		hash_update(&h, c->salt, c->salt_len);
	hash_update(&h, block, FSV_BLOCK);
	if (c->salt_after)
		hash_update(&h, c->salt, c->salt_len);
	hash_final(&h, out);
}

/* Hash one full block into pending slot lvl; a full slot below the root
 * is hashed into the next one. */
static void hash_into(struct fsverity_ctx *c, unsigned lvl, const unsigned char *block)
{
	size_t dlen = hash_len(c->alg);

	for (;;) {
		hash_block(c, block, c->level[lvl] + c->fill[lvl]);
		c->fill[lvl] += dlen;
		if (lvl == c->levels || c->fill[lvl] + dlen <= FSV_BLOCK)
			return;
		c->fill[lvl] = 0;
		block = c->level[lvl];
		lvl++;
	}
}

int fsverity_update(struct fsverity_ctx *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (len > c->size - c->done)
		return -1;
	c->done += len;
	if (c->part) {
		size_t n = FSV_BLOCK - c->part < len ? FSV_BLOCK - c->part : len;

		memcpy(c->block + c->part, p, n);
		c->part += n;
		p += n;
		len -= n;
		if (c->part < FSV_BLOCK)
			return 0;
		hash_into(c, 0, c->block);
		c->part = 0;
	}
	for (; len >= FSV_BLOCK; p += FSV_BLOCK, len -= FSV_BLOCK)
		hash_into(c, 0, p);
	memcpy(c->block, p, len);
	c->part = len;
	return 0;
}

static void put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

/* The last partial blocks, zero-padded, up the tree: the root is then in
 * level[levels]. */
static void finish(struct fsverity_ctx *c)
{
	unsigned lvl;

	if (c->part) {
		memset(c->block + c->part, 0, FSV_BLOCK - c->part);
		hash_into(c, 0, c->block);
		c->part = 0;
	}
	for (lvl = 0; lvl < c->levels; lvl++) {
		if (c->fill[lvl] == 0)
			continue;
		memset(c->level[lvl] + c->fill[lvl], 0, FSV_BLOCK - c->fill[lvl]);
		c->fill[lvl] = 0;
		hash_into(c, lvl + 1, c->level[lvl]);
	}
}

int fsverity_final(struct fsverity_ctx *c, unsigned char *digest)
{
	unsigned char desc[FSV_DESC_LEN];

	if (c->done != c->size)
		return -1;
	memset(desc, 0, sizeof desc);
	desc[0] = 1;                        /* version */
	desc[1] = (unsigned char)c->alg;    /* 1 SHA-256, 2 SHA-512 */
	desc[2] = FSV_LOG_BLOCK;
	put_le64(desc + 8, c->size);
	/* an empty file has an all-zero root hash */
	if (c->size > 0) {
		finish(c);
		memcpy(desc + 16, c->level[c->levels], hash_len(c->alg));
	}
	hash_buf(c->alg, desc, sizeof desc, digest);
	return 0;
}

int dmverity_root(struct fsverity_ctx *c, unsigned char *root)
{
	if (c->done != c->size)
		return -1;
	finish(c);
	memcpy(root, c->level[c->levels], hash_len(c->alg));
	return 0;
}
