#define _GNU_SOURCE
#include "dm.h"
#include "kabi.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DM_CONTROL "/dev/mapper/control"
#define DM_CONTROL_SYSFS "/sys/class/misc/device-mapper/dev"
#define DM_CONTROL_NODE "/run/initoverlayfs/mapper-control"
/* header, then the target specs, each followed by its parameters, 8-byte
 * aligned: room for EXTENTS_MAX linear targets */
#define DM_BUF (512 * 1024)


static union {
	struct si_dm_ioctl io;
	unsigned char bytes[DM_BUF];
	uint64_t align;
} dmbuf;

/* devtmpfs makes /dev/mapper/control once dm-mod is loaded; without it
 * (or before it shows) make our own node from sysfs. */
static int open_control(const char **what)
{
	char dev[32], *colon;
	unsigned long maj, min;
	int fd = open(DM_CONTROL, O_RDWR | O_CLOEXEC);

	if (fd >= 0 || errno != ENOENT)
		goto out;
	*what = DM_CONTROL_SYSFS " (device-mapper not in the kernel: is dm-mod loaded?)";
	if (read_sysfs(DM_CONTROL_SYSFS, dev, sizeof dev) < 0)
		return -1;
	colon = strchr(dev, ':');
	if (colon)
		*colon++ = '\0';
	if (!colon || parse_ulong(dev, 0xfff, &maj) < 0 || parse_ulong(colon, 0xfffff, &min) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (mkdir_exist_ok("/run/initoverlayfs", 0755) < 0 ||
	    (mknod(DM_CONTROL_NODE, S_IFCHR | 0600, makedev((unsigned)maj, (unsigned)min)) < 0 && errno != EEXIST))
		return -1;
	fd = open(DM_CONTROL_NODE, O_RDWR | O_CLOEXEC);
out:
	if (fd < 0)
		*what = DM_CONTROL;
	return fd;
}

static struct si_dm_ioctl *header(const char *name, uint32_t flags)
{
	memset(&dmbuf, 0, sizeof dmbuf);
	dmbuf.io.version[0] = SI_DM_VERSION_MAJOR;
	dmbuf.io.data_size = sizeof dmbuf;
	dmbuf.io.data_start = sizeof dmbuf.io;
	dmbuf.io.flags = flags;
	if (name)
		str_copy(dmbuf.io.name, sizeof dmbuf.io.name, name);
	return &dmbuf.io;
}

static int dm_ioctl(int fd, unsigned long req)
{
	int rc;

	do
		rc = ioctl(fd, req, &dmbuf);
	while (rc < 0 && errno == EINTR);
	return rc;
}

int dm_remove(const char *name, int deferred)
{
	const char *what;
	int fd = open_control(&what), rc, saved;

	if (fd < 0)
		return -1;
	header(name, deferred ? SI_DM_DEFERRED_REMOVE : 0);
	rc = dm_ioctl(fd, SI_DM_DEV_REMOVE);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Lays the table out after the header; returns the bytes used or 0 when it does not fit. */
static size_t put_table(struct si_dm_ioctl *io, const struct dm_target *t, size_t n)
{
	size_t at = (sizeof *io + 7) & ~(size_t)7, i;

	io->data_start = (uint32_t)at;
	for (i = 0; i < n; i++) {
		struct si_dm_target_spec *spec = (struct si_dm_target_spec *)(void *)(dmbuf.bytes + at);
		const char *p = t[i].long_params ? t[i].long_params : t[i].params;
		size_t plen = strlen(p) + 1, len = (sizeof *spec + plen + 7) & ~(size_t)7;

		if (len > sizeof dmbuf - at)
			return 0;
		spec->sector_start = t[i].start;
		spec->length = t[i].length;
		spec->next = (uint32_t)len;
		str_copy(spec->target_type, sizeof spec->target_type, t[i].type);
		memcpy((char *)(spec + 1), p, plen);
		at += len;
	}
	io->target_count = (uint32_t)n;
	return at;
}

int dm_create_readonly(const char *name, const struct dm_target *targets, size_t n,
		       unsigned *maj, unsigned *min, const char **what)
{
	struct si_dm_ioctl *io;
	int fd, saved;

	fd = open_control(what);
	if (fd < 0)
		return -1;
	io = header(NULL, 0);
	if (dm_ioctl(fd, SI_DM_VERSION) < 0) {
		*what = "DM_VERSION";
		goto fail;
	}
	log_debug("device-mapper interface %u.%u.%u", io->version[0], io->version[1], io->version[2]);

	io = header(name, 0);
	str_concat(io->uuid, sizeof io->uuid, "INITOVERLAYFS-", name);
	if (dm_ioctl(fd, SI_DM_DEV_CREATE) < 0) {
		*what = "DM_DEV_CREATE";
		goto fail;
	}
	*maj = major((dev_t)io->dev);
	*min = minor((dev_t)io->dev);

	/* verity wants a read-only table; ours never writes */
	io = header(name, SI_DM_READONLY_FLAG);
	if (put_table(io, targets, n) == 0) {
		*what = "table";
		errno = E2BIG;
		goto fail_remove;
	}
	if (dm_ioctl(fd, SI_DM_TABLE_LOAD) < 0) {
		*what = "DM_TABLE_LOAD (the kernel log says why)";
		goto fail_remove;
	}
	header(name, 0); /* no DM_SUSPEND_FLAG: resume, making the table live */
	if (dm_ioctl(fd, SI_DM_DEV_SUSPEND) < 0) {
		*what = "DM_DEV_SUSPEND (resume)";
		goto fail_remove;
	}
	close(fd);
	return 0;

fail_remove:
	saved = errno;
	header(name, 0);
	(void)dm_ioctl(fd, SI_DM_DEV_REMOVE);
	errno = saved;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}
