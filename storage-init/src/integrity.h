/* Checking the image file before it is mounted: fs-verity measurement by the
 * kernel, or a copy into sealed memory with the digest computed here. */
#ifndef SI_INTEGRITY_H
#define SI_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>
#include "sha2.h"

#define MEMFD_NAME "initoverlayfs-image"

/* FS_IOC_MEASURE_VERITY: the digest the kernel enforces for this file.
 * Returns 0 with the algorithm (1 SHA-256, 2 SHA-512) and digest, or -1
 * with errno (ENODATA: not a verity file; EOPNOTSUPP/ENOTTY: the
 * filesystem has no fs-verity). */
int fsverity_measure(int fd, unsigned *alg, unsigned char *digest, size_t *len);

/* Copy size bytes of fd into a new memfd, computing the fs-verity digest
 * (4096-byte blocks, no salt) on the way, then seal it against any change
 * (shrink, grow, write, further seals) and check the seals. Returns the
 * memfd, or -1 with errno and the failing operation in *what. */
int copy_to_sealed_memfd(int fd, uint64_t size, enum hash_alg alg, unsigned char *digest,
			 const char **what);

/* The seals copy_to_sealed_memfd sets. */
#define MEMFD_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

#endif
