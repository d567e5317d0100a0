/* Checking the image file before it is mounted: fs-verity measurement by the
 * kernel, or a copy into sealed memory with the digest computed here. */
#ifndef SI_INTEGRITY_H
#define SI_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>
#include "fsverity.h"

#define MEMFD_NAME "initoverlayfs-image"

/* FS_IOC_MEASURE_VERITY: the digest the kernel enforces for this file.
 * Returns 0 with the algorithm (1 SHA-256, 2 SHA-512) and digest, or -1
 * with errno (ENODATA: not a verity file; EOPNOTSUPP/ENOTTY: the
 * filesystem has no fs-verity). */
int fsverity_measure(int fd, unsigned *alg, unsigned char *digest, size_t *len);

/* Copy size bytes of fd (from its offset) into a new memfd, feeding them to
 * tree (fs-verity or dm-verity, initialized for size by the caller, who
 * takes the digest from it), then seal it against any change (shrink, grow,
 * write, further seals) and check the seals. Returns the memfd, or -1 with
 * errno and the failing operation in *what. */
int copy_to_sealed_memfd(int fd, uint64_t size, struct fsverity_ctx *tree, const char **what);

/* A read-only open file of the sealed memfd mfd, for a loop device (also on
 * pre-5.8 kernels, where read-only comes from the file's mode); mfd is
 * closed either way. Returns the new fd, or -1 with errno. */
int memfd_reopen_readonly(int mfd);
#define MEMFD_REOPEN_WHAT "open /proc/self/fd (the sealed memfd, read-only)"

/* The seals copy_to_sealed_memfd sets. */
#define MEMFD_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

#endif
