/* The parts of storage-init that only a real kernel can judge, driven by
 * tests/blockdev.sh on a loop device in a private mount namespace:
 *   node NAME MAJ MIN   fallback node for a device devtmpfs lacks: it must
 *                       open, and be gone after blockdev_nodes_release()
 *   find SPEC           one scan of /sys/class/block for the boot device:
 *                       prints "ok   SPEC is NAME (NODE)"
 *   mount-boot DEV DIR  the boot mount: BLKROSET held, read-only, no journal
 *                       replay; the device writable again afterwards */
#define _GNU_SOURCE
#include "blockdev.h"
#include "log.h"
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int bad(const char *what, int err)
{
	printf("FAIL %s: %s\n", what, strerror(err));
	return 1;
}

static int ro_flag(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), ro = -1;

	if (fd < 0 || ioctl(fd, BLKROGET, &ro) < 0)
		ro = -1;
	if (fd >= 0)
		close(fd);
	return ro;
}

static int node(const char *name, const char *maj, const char *min)
{
	char path[SI_PATH_MAX], line[512];
	struct stat st;
	FILE *f;
	int fd;

	if (blockdev_node(name, (unsigned)atoi(maj), (unsigned)atoi(min), path, sizeof path) < 0)
		return bad("blockdev_node", errno);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bad(path, errno);
	close(fd);
	printf("ok   %s opens\n", path);
	if (blockdev_nodes_release() < 0)
		return bad("blockdev_nodes_release", errno);
	if (stat(BLOCKDEV_NODE_DIR, &st) == 0 || errno != ENOENT)
		return bad(BLOCKDEV_NODE_DIR " still there", EEXIST);
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return bad("/proc/self/mountinfo", errno);
	while (fgets(line, sizeof line, f))
		if (strstr(line, " " BLOCKDEV_NODE_DIR " ")) {
			fclose(f);
			return bad(BLOCKDEV_NODE_DIR " still mounted", EBUSY);
		}
	fclose(f);
	printf("ok   " BLOCKDEV_NODE_DIR " unmounted and removed\n");
	return 0;
}

static int find(const char *spec)
{
	struct blockdev b;
	char reason[128];

	if (bootdev_find(spec, 0, &b, reason, sizeof reason) < 0) {
		printf("FAIL %s: %s\n", spec, reason);
		return 1;
	}
	printf("ok   %s is %s (%s)\n", spec, b.name, b.node);
	return 0;
}

static int mount_boot_test(const char *dev, const char *dir)
{
	const char *used;
	int rc = 0;

	if (blockdev_hold_ro(dev) < 0)
		return bad("blockdev_hold_ro", errno);
	if (ro_flag(dev) != 1)
		rc = bad("BLKROGET after blockdev_hold_ro: not read-only", EINVAL);
	/* mounted even so: blockdev.sh compares the image bytes afterwards */
	if (mount_boot(dev, dir, "auto", "ext4", "", NULL, NULL, &used) < 0)
		return bad("mount_boot", errno);
	if (umount2(dir, 0) < 0)
		return bad("umount", errno);
	if (blockdev_release_ro() < 0)
		return bad("blockdev_release_ro", errno);
	if (ro_flag(dev) != 0)
		rc = bad("BLKROGET after blockdev_release_ro: still read-only", EINVAL);
	printf("%s %s mounted as %s (%s) and released\n", rc ? "FAIL" : "ok  ", dev, used,
	       mount_no_replay_option(used) ? mount_no_replay_option(used) : "-");
	return rc;
}

int main(int argc, char **argv)
{
	log_use_stderr();
	log_set_level(7);
	if (argc == 5 && strcmp(argv[1], "node") == 0)
		return node(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "find") == 0)
		return find(argv[2]);
	if (argc == 4 && strcmp(argv[1], "mount-boot") == 0)
		return mount_boot_test(argv[2], argv[3]);
	fprintf(stderr, "usage: blockdev-io node NAME MAJ MIN | find SPEC | mount-boot DEV DIR\n");
	return 2;
}
