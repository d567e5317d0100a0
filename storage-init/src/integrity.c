#define _GNU_SOURCE
#include "integrity.h"
#include "fsverity.h"
#include "kabi.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U  /* Linux 6.3+ */
#endif

#define COPY_CHUNK (1u << 20)

int fsverity_measure(int fd, unsigned *alg, unsigned char *digest, size_t *len)
{
	union {
		struct si_fsverity_digest d;
		unsigned char room[sizeof(struct si_fsverity_digest) + SHA_MAX_LEN];
	} m;
	int rc;

	memset(&m, 0, sizeof m);
	m.d.digest_size = SHA_MAX_LEN;
	do
		rc = ioctl(fd, SI_FS_IOC_MEASURE_VERITY, &m);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -1;
	if (m.d.digest_size > SHA_MAX_LEN) {
		errno = EOVERFLOW;
		return -1;
	}
	*alg = m.d.digest_algorithm;
	*len = m.d.digest_size;
	memcpy(digest, m.d.digest, m.d.digest_size);
	return 0;
}

static int new_memfd(void)
{
	int fd = memfd_create(MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);

	if (fd < 0 && errno == EINVAL) /* kernels before 6.3 */
		fd = memfd_create(MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd;
}

int copy_to_sealed_memfd(int fd, uint64_t size, struct fsverity_ctx *tree, const char **what)
{
	static unsigned char buf[COPY_CHUNK];
	uint64_t done = 0;
	int mfd, seals, saved;

	mfd = new_memfd();
	if (mfd < 0) {
		*what = "memfd_create";
		return -1;
	}
	/* take the memory up front: a too large image fails here, clearly */
	if (size > 0 && fallocate(mfd, 0, 0, (off_t)size) < 0 && errno != EOPNOTSUPP) {
		*what = "fallocate (memory for the image)";
		goto fail;
	}
	while (done < size) {
		size_t want = size - done < COPY_CHUNK ? (size_t)(size - done) : COPY_CHUNK;
		ssize_t r = read_full(fd, buf, want);

		if (r < 0) {
			*what = "read";
			goto fail;
		}
		if ((size_t)r != want) {
			*what = "read (the image shrank while being copied)";
			errno = EIO;
			goto fail;
		}
		(void)fsverity_update(tree, buf, want);
		if (write_full(mfd, buf, want) < 0) {
			*what = "write (memory for the image)";
			goto fail;
		}
		done += want;
	}
	if (fcntl(mfd, F_ADD_SEALS, MEMFD_SEALS) < 0) {
		*what = "F_ADD_SEALS";
		goto fail;
	}
	seals = fcntl(mfd, F_GET_SEALS);
	if (seals < 0 || (seals & MEMFD_SEALS) != MEMFD_SEALS) {
		*what = "F_GET_SEALS (seals missing)";
		if (seals >= 0)
			errno = EPERM;
		goto fail;
	}
	return mfd;
fail:
	saved = errno;
	close(mfd);
	errno = saved;
	return -1;
}

int memfd_reopen_readonly(int mfd)
{
	char self[32];
	int fd, saved;

	snprintf(self, sizeof self, "/proc/self/fd/%d", mfd);
	fd = open(self, O_RDONLY | O_CLOEXEC);
	saved = errno;
	close(mfd);
	errno = saved;
	return fd;
}
