/* dm-verity: the superblock veritysetup writes at the hash offset, the
 * kernel table line for the verity target (pure), and reading the root
 * hash signature file. */
#ifndef SI_VERITY_H
#define SI_VERITY_H

#include <stddef.h>
#include "config.h"

#define VERITY_SB_LEN 512
#define VERITY_TABLE_MAX 1024
#define VERITY_SIG_KEY_DESC "initoverlayfs:roothash"
/* the largest payload of a "user" key (add_key refuses more with EINVAL) */
#define VERITY_SIG_MAX 32767

/* Check the superblock against the configuration (version 1, same hash
 * type, algorithm, block sizes, data block count and salt): the kernel
 * never reads it, so a mismatch would otherwise only show as I/O errors.
 * Returns 0, or -1 with "field: expected X, found Y" in err. */
int verity_check_superblock(const unsigned char *sb, const struct config *c, char *err,
			    size_t errlen);

/* Target parameters for "verity" over data device DATA and hash device HASH
 * ("MAJ:MIN"; the same device for a plain image). The on-corruption option follows the failure policy:
 * panic -> panic_on_corruption, reboot -> restart_on_corruption, shell ->
 * none (reads fail with EIO). With a signature, root_hash_sig_key_desc.
 * Returns 0, or -1 when it does not fit. */
int verity_table(const struct config *c, const char *data, const char *hash, int with_sig, char *out,
		 size_t size);

/* Read the root hash signature file into buf (room for VERITY_SIG_MAX + 1
 * bytes): 1 to VERITY_SIG_MAX bytes, what add_key accepts for a "user" key.
 * Returns 0 with *len, or -1 with a reason in err. */
int verity_read_sig(const char *path, char *buf, size_t *len, char *err, size_t errlen);

/* Sectors (512 bytes) the target covers. */
unsigned long long verity_sectors(const struct config *c);

#endif
