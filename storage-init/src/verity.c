#include "verity.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* superblock layout (cryptsetup's "verity" format, little endian) */
#define SB_SIGNATURE 0     /* "verity\0\0" */
#define SB_VERSION 8
#define SB_HASH_TYPE 12
#define SB_ALGORITHM 32    /* 32 bytes, NUL-terminated */
#define SB_DATA_BS 64
#define SB_HASH_BS 68
#define SB_DATA_BLOCKS 72
#define SB_SALT_SIZE 80
#define SB_SALT 88

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int verity_check_superblock(const unsigned char *sb, const struct config *c, char *err,
			    size_t errlen)
{
	unsigned char salt[CFG_SALT_MAX];
	char alg[33];
	long salt_len = 0;
	uint64_t blocks = (uint64_t)le32(sb + SB_DATA_BLOCKS) | (uint64_t)le32(sb + SB_DATA_BLOCKS + 4) << 32;
	unsigned salt_size = (unsigned)sb[SB_SALT_SIZE] | (unsigned)sb[SB_SALT_SIZE + 1] << 8;

	if (memcmp(sb + SB_SIGNATURE, "verity\0\0", 8) != 0) {
		snprintf(err, errlen, "no verity superblock (signature \"verity\" missing)");
		return -1;
	}
	if (le32(sb + SB_VERSION) != 1) {
		snprintf(err, errlen, "superblock version %u, expected 1", le32(sb + SB_VERSION));
		return -1;
	}
	if (le32(sb + SB_HASH_TYPE) != c->verity_format) {
		snprintf(err, errlen, "hash type %u in the superblock, configured %lu",
			 le32(sb + SB_HASH_TYPE), c->verity_format);
		return -1;
	}
	memcpy(alg, sb + SB_ALGORITHM, 32);
	alg[32] = '\0';
	if (strcmp(alg, c->verity_hashalg) != 0) {
		snprintf(err, errlen, "algorithm \"%s\" in the superblock, configured %s", alg,
			 c->verity_hashalg);
		return -1;
	}
	if (le32(sb + SB_DATA_BS) != VERITY_BLOCK || le32(sb + SB_HASH_BS) != VERITY_BLOCK) {
		snprintf(err, errlen, "block sizes %u/%u in the superblock, expected %d",
			 le32(sb + SB_DATA_BS), le32(sb + SB_HASH_BS), VERITY_BLOCK);
		return -1;
	}
	if (blocks != c->verity_data_blocks) {
		snprintf(err, errlen, "%llu data blocks in the superblock, configured %lu",
			 (unsigned long long)blocks, c->verity_data_blocks);
		return -1;
	}
	if (strcmp(c->verity_salt, "-") != 0)
		salt_len = hex_decode(c->verity_salt, salt, sizeof salt);
	if (salt_len < 0 || salt_size != (unsigned long)salt_len ||
	    memcmp(sb + SB_SALT, salt, (size_t)salt_len) != 0) {
		snprintf(err, errlen, "salt in the superblock (%u bytes) differs from the configured one",
			 salt_size);
		return -1;
	}
	return 0;
}

int verity_read_sig(const char *path, char *buf, size_t *len, char *err, size_t errlen)
{
	if (read_file(path, buf, VERITY_SIG_MAX + 1, len) < 0) {
		if (errno == EFBIG)
			snprintf(err, errlen, "larger than %d bytes (the kernel's limit for the key)",
				 VERITY_SIG_MAX);
		else
			snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (*len == 0) {
		snprintf(err, errlen, "empty file");
		return -1;
	}
	return 0;
}

unsigned long long verity_sectors(const struct config *c)
{
	return (unsigned long long)c->verity_data_blocks * (VERITY_BLOCK / 512);
}

int verity_table(const struct config *c, const char *data, const char *hash, int with_sig, char *out,
		 size_t size)
{
	const char *opt = NULL;
	int nopts, n;

	if (c->failure == FAILURE_PANIC)
		opt = "panic_on_corruption";
	else if (c->failure == FAILURE_REBOOT)
		opt = "restart_on_corruption";
	nopts = (opt ? 1 : 0) + (with_sig ? 2 : 0);
	/* the hash tree follows the superblock's block */
	n = snprintf(out, size, "%lu %s %s %d %d %lu %lu %s %s %s", c->verity_format, data, hash,
		     VERITY_BLOCK, VERITY_BLOCK, c->verity_data_blocks,
		     c->verity_hash_offset / VERITY_BLOCK + 1, c->verity_hashalg, c->verity_roothash,
		     c->verity_salt);
	if (n < 0 || (size_t)n >= size)
		return -1;
	if (nopts)
		n += snprintf(out + n, size - (size_t)n, " %d%s%s%s", nopts, opt ? " " : "",
			      opt ? opt : "", with_sig ? " root_hash_sig_key_desc " VERITY_SIG_KEY_DESC : "");
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}
