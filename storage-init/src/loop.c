#define _GNU_SOURCE
#include "loop.h"
#include "blockdev.h"
#include "kabi.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define GET_FREE_TRIES 16

static int xioctl(int fd, unsigned long req, unsigned long arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static int open_loop(int nr, char *devpath, size_t size)
{
	char name[32];

	snprintf(name, sizeof name, "loop%d", nr);
	if (blockdev_node(name, SI_LOOP_MAJOR, (unsigned)nr, devpath, size) < 0)
		return -1;
	return open(devpath, O_RDONLY | O_CLOEXEC);
}

/* LOOP_CONFIGURE (5.8+). Returns 0, or -1 with errno. */
static int configure(int loopfd, int image_fd, const char *image_name, uint64_t offset, int dio)
{
	struct si_loop_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.fd = (uint32_t)image_fd;
	cfg.info.lo_offset = offset;
	cfg.info.lo_flags = SI_LO_FLAGS_READ_ONLY | SI_LO_FLAGS_AUTOCLEAR |
			    (dio ? SI_LO_FLAGS_DIRECT_IO : 0);
	str_copy((char *)cfg.info.lo_file_name, SI_LO_NAME_SIZE, image_name);
	return xioctl(loopfd, SI_LOOP_CONFIGURE, (unsigned long)&cfg);
}

/* Older kernels: LOOP_SET_FD + LOOP_SET_STATUS64 (+ LOOP_SET_DIRECT_IO). */
static int set_fd_status(int loopfd, int image_fd, const char *image_name, uint64_t offset)
{
	struct si_loop_info64 info;
	int saved;

	if (xioctl(loopfd, SI_LOOP_SET_FD, (unsigned long)image_fd) < 0)
		return -1;
	memset(&info, 0, sizeof info);
	info.lo_flags = SI_LO_FLAGS_AUTOCLEAR;  /* read-only comes from O_RDONLY */
	info.lo_offset = offset;
	str_copy((char *)info.lo_file_name, SI_LO_NAME_SIZE, image_name);
	if (xioctl(loopfd, SI_LOOP_SET_STATUS64, (unsigned long)&info) < 0) {
		saved = errno;
		(void)xioctl(loopfd, SI_LOOP_CLR_FD, 0);
		errno = saved;
		return -1;
	}
	if (xioctl(loopfd, SI_LOOP_SET_DIRECT_IO, 1) < 0)
		log_debug("loop: direct I/O not available: %s", strerror(errno));
	return 0;
}

int loop_attach(int image_fd, const char *image_name, char *devpath, size_t size,
		const char **what)
{
	return loop_attach_at(image_fd, image_name, 0, devpath, size, what);
}

int loop_attach_at(int image_fd, const char *image_name, uint64_t offset, char *devpath,
		   size_t size, const char **what)
{
	int ctl, tries, saved;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		*what = "/dev/loop-control";
		return -1;
	}
	for (tries = 0; tries < GET_FREE_TRIES; tries++) {
		int nr = xioctl(ctl, SI_LOOP_CTL_GET_FREE, 0);
		int loopfd, rc;
		const char *how = "LOOP_CONFIGURE";

		if (nr < 0) {
			*what = "LOOP_CTL_GET_FREE";
			goto fail;
		}
		loopfd = open_loop(nr, devpath, size);
		if (loopfd < 0) {
			*what = devpath;
			goto fail;
		}
		rc = configure(loopfd, image_fd, image_name, offset, 1);
		if (rc < 0 && errno == EINVAL) {
			log_debug("loop: LOOP_CONFIGURE with direct I/O: EINVAL, retrying without");
			how = "LOOP_CONFIGURE without direct I/O";
			rc = configure(loopfd, image_fd, image_name, offset, 0);
		}
		if (rc < 0 && (errno == ENOTTY || errno == EINVAL)) {
			log_debug("loop: LOOP_CONFIGURE unsupported, using LOOP_SET_FD");
			how = "LOOP_SET_FD";
			rc = set_fd_status(loopfd, image_fd, image_name, offset);
		}
		if (rc == 0) {
			char path[64], dio[8] = "?";

			close(ctl);
			/* the kernel drops the flag silently where the backing file cannot do it */
			snprintf(path, sizeof path, "/sys/class/block/loop%d/loop/dio", nr);
			(void)read_sysfs(path, dio, sizeof dio);
			log_debug("loop: %s attached with %s, direct I/O %s", devpath, how, dio);
			return loopfd;
		}
		saved = errno;
		close(loopfd);
		if (saved != EBUSY) {
			errno = saved;
			*what = devpath;
			goto fail;
		}
		log_debug("loop: %s taken meanwhile, retrying", devpath);
	}
	errno = EBUSY;
	*what = "LOOP_CTL_GET_FREE";
fail:
	saved = errno;
	close(ctl);
	errno = saved;
	return -1;
}
