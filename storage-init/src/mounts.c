#define _GNU_SOURCE
#include "mounts.h"
#include "blkid.h"
#include "kabi.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define DELETE_MAX_DEPTH 64

int do_mount(const char *src, const char *target, const char *type,
	     unsigned long flags, const char *data)
{
	int rc;

	do
		rc = mount(src, target, type, flags, data);
	while (rc < 0 && errno == EINTR);
	return rc;
}

struct api_mount {
	const char *src, *target, *type;
	unsigned long flags;
	const char *data;
};

static const struct api_mount api_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
};

int mount_api_filesystems(const char **what)
{
	size_t i;

	for (i = 0; i < sizeof api_mounts / sizeof api_mounts[0]; i++) {
		const struct api_mount *m = &api_mounts[i];

		*what = m->target;
		if (mkdir_exist_ok(m->target, 0755) < 0)
			return -1;
		if (do_mount(m->src, m->target, m->type, m->flags, m->data) < 0 && errno != EBUSY)
			return -1;
	}
	return 0;
}

void ensure_std_fds(void)
{
	int fd, i;

	for (i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) >= 0)
			continue;
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd < 0)
			fd = open("/dev/null", O_RDWR | O_NOCTTY);
		if (fd < 0)
			return;
		if (fd != i) {
			(void)dup2(fd, i);
			close(fd);
		}
	}
}

const char *mount_no_replay_option(const char *type)
{
	if (strcmp(type, "ext4") == 0 || strcmp(type, "ext3") == 0)
		return "noload";
	if (strcmp(type, "xfs") == 0)
		return "norecovery";
	return NULL;  /* vfat: no journal; btrfs: see README */
}

int mount_boot(const char *dev, const char *target, const char *fstype,
	       const char *probed, const char *flags,
	       void (*prepare)(const char *type, void *ctx), void *ctx, const char **used)
{
	char data[1024];
	const char *order[6];
	size_t n = 0, i, j;
	int first_err = 0;

	if (strcmp(fstype, "auto") != 0) {
		order[n++] = fstype;
	} else {
		if (probed && probed[0])
			order[n++] = mount_fstype(probed);
		for (i = 0; i < N_MOUNT_FSTYPES; i++) {
			for (j = 0; j < n; j++)
				if (strcmp(order[j], mount_fstypes[i]) == 0)
					break;
			if (j == n)
				order[n++] = mount_fstypes[i];
		}
	}
	for (i = 0; i < n; i++) {
		const char *nr = mount_no_replay_option(order[i]);

		if (prepare)
			prepare(order[i], ctx);
		if (snprintf(data, sizeof data, "%s%s%s", flags, flags[0] && nr ? "," : "",
			     nr ? nr : "") >= (int)sizeof data) {
			errno = E2BIG;
			return -1;
		}
		if (do_mount(dev, target, order[i], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			     data[0] ? data : NULL) == 0) {
			*used = order[i];
			return 0;
		}
		log_debug("mount %s on %s as %s: %s", dev, target, order[i], strerror(errno));
		if (i == 0)
			first_err = errno;
	}
	errno = first_err;
	return -1;
}

int is_ram_fs(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs) < 0)
		return 0;
	return (unsigned long)sfs.f_type == SI_TMPFS_MAGIC ||
	       (unsigned long)sfs.f_type == SI_RAMFS_MAGIC;
}

static unsigned long delete_below(int dirfd, dev_t dev, int depth)
{
	unsigned long removed = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	if (depth > DELETE_MAX_DEPTH)
		return 0;
	fd = dup(dirfd);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (st.st_dev != dev)
			continue;  /* a mount point: leave it alone */
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat sst;

			if (sub < 0)
				continue;
			/* a directory that is itself a mount point has another st_dev */
			if (fstat(sub, &sst) == 0 && sst.st_dev == dev)
				removed += delete_below(sub, dev, depth + 1);
			close(sub);
			if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) == 0)
				removed++;
		} else if (unlinkat(dirfd, de->d_name, 0) == 0) {
			removed++;
		}
	}
	closedir(d);
	return removed;
}

unsigned long delete_tree(int dirfd)
{
	struct stat st;

	if (fstat(dirfd, &st) < 0)
		return 0;
	return delete_below(dirfd, st.st_dev, 0);
}

int copy_dir_attrs(const char *from, const char *to)
{
	struct timespec t[2];
	struct stat st;

	if (stat(from, &st) < 0)
		return -1;
	t[0] = st.st_atim;
	t[1] = st.st_mtim;
	if (chown(to, st.st_uid, st.st_gid) < 0 || chmod(to, st.st_mode & 07777) < 0)
		return -1;
	return utimensat(AT_FDCWD, to, t, 0);
}

int move_api_mounts(const char *newroot, char *what, size_t size)
{
	static const char *const dirs[] = { "/dev", "/proc", "/sys" };
	char target[SI_PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (str_concat(target, sizeof target, newroot, dirs[i]) < 0) {
			errno = ENAMETOOLONG;
			str_copy(what, size, newroot);
			return -1;
		}
		str_copy(what, size, target);
		if (mkdir_exist_ok(target, 0755) < 0)
			return -1;
		if (do_mount(dirs[i], target, NULL, MS_MOVE, NULL) < 0)
			return -1;
	}
	/* /run was only ours (its device nodes are gone): the original init mounts
	 * its own, sized and flagged as without us (initramfs-tools: 10 % of RAM,
	 * noexec; systemd: 20 %, and journald sizes its runtime journal by it) */
	str_copy(what, size, "/run");
	return umount2("/run", 0);
}
