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
#define DM_BUF 4096

/* header, then one target spec and its parameters, 8-byte aligned */
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

int dm_create_readonly(const char *name, const char *type, unsigned long long sectors,
		       const char *params, unsigned *maj, unsigned *min, const char **what)
{
	struct si_dm_ioctl *io;
	struct si_dm_target_spec *spec;
	size_t plen = strlen(params) + 1, spec_len;
	int fd, saved;

	spec_len = (sizeof *spec + plen + 7) & ~(size_t)7;
	if (sizeof dmbuf.io + spec_len > DM_BUF) {
		*what = "table";
		errno = E2BIG;
		return -1;
	}
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

	/* verity wants a read-only table */
	io = header(name, SI_DM_READONLY_FLAG);
	io->target_count = 1;
	io->data_start = (sizeof *io + 7) & ~7u;
	spec = (struct si_dm_target_spec *)(void *)(dmbuf.bytes + io->data_start);
	spec->sector_start = 0;
	spec->length = sectors;
	spec->next = (uint32_t)spec_len;
	str_copy(spec->target_type, sizeof spec->target_type, type);
	memcpy((char *)(spec + 1), params, plen);
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
