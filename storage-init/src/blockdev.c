#define _GNU_SOURCE
#include "blockdev.h"
#include "blkid.h"
#include "gpt.h"
#include "log.h"
#include "mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SYS_BLOCK "/sys/class/block"
#define POLL_MS 20
#define NODE_DIR BLOCKDEV_NODE_DIR

enum spec_kind { SPEC_UUID, SPEC_LABEL, SPEC_PARTUUID, SPEC_PARTLABEL, SPEC_PATH };

struct spec {
	enum spec_kind kind;
	const char *value;
};

static unsigned char probe_buf[PROBE_BUF_SIZE];
static unsigned char gpt_entries[GPT_ENTRIES_MAX_BYTES];
static int node_dir_mounted;   /* our tmpfs is on NODE_DIR */
static int ro_fd = -1;         /* the boot device we made read-only */
static char ro_node[SI_PATH_MAX];

static void parse_spec(const char *s, struct spec *sp)
{
	static const struct { const char *prefix; enum spec_kind kind; } forms[] = {
		{ "UUID=", SPEC_UUID }, { "LABEL=", SPEC_LABEL },
		{ "PARTUUID=", SPEC_PARTUUID }, { "PARTLABEL=", SPEC_PARTLABEL },
		/* udev's symlinks do not exist without udev: read them as tags */
		{ "/dev/disk/by-uuid/", SPEC_UUID }, { "/dev/disk/by-label/", SPEC_LABEL },
		{ "/dev/disk/by-partuuid/", SPEC_PARTUUID }, { "/dev/disk/by-partlabel/", SPEC_PARTLABEL },
	};
	size_t i;

	for (i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		size_t n = strlen(forms[i].prefix);

		if (strncmp(s, forms[i].prefix, n) == 0) {
			sp->kind = forms[i].kind;
			sp->value = s + n;
			return;
		}
	}
	sp->kind = SPEC_PATH;
	sp->value = s;
}

static int parse_devnum(const char *s, unsigned *maj, unsigned *min)
{
	char buf[32];
	char *colon;
	unsigned long a, b;

	if (str_copy(buf, sizeof buf, s) < 0)
		return -1;
	colon = strchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	if (parse_ulong(buf, 0xFFFFFFFFul, &a) < 0 || parse_ulong(colon + 1, 0xFFFFFFFFul, &b) < 0)
		return -1;
	*maj = (unsigned)a;
	*min = (unsigned)b;
	return 0;
}

static int sysfs_attr(const char *name, const char *attr, char *buf, size_t size)
{
	char path[SI_PATH_MAX];

	if (snprintf(path, sizeof path, SYS_BLOCK "/%s/%s", name, attr) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return read_sysfs(path, buf, size);
}

/* /run is nodev: nodes devtmpfs lacks (not created yet, or renamed) go on a
 * tmpfs of their own that allows them, mounted on first need and removed
 * before the hand-over by blockdev_nodes_release(). */
static int node_dir(void)
{
	if (node_dir_mounted)
		return 0;
	if (mkdir_exist_ok(NODE_DIR, 0700) < 0)
		return -1;
	if (do_mount("tmpfs", NODE_DIR, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0700") < 0)
		return -1;
	node_dir_mounted = 1;
	log_info("device nodes that devtmpfs lacks go to a tmpfs on " NODE_DIR);
	return 0;
}

int blockdev_nodes_release(void)
{
	if (!node_dir_mounted)
		return 0;
	/* not lazily: a busy node here would be a leak we want to see */
	if (umount2(NODE_DIR, 0) < 0)
		return -1;
	node_dir_mounted = 0;
	if (rmdir(NODE_DIR) < 0)
		return -1;
	log_info("device nodes on " NODE_DIR " removed");
	return 0;
}

int blockdev_hold_ro(const char *node)
{
	int ro = 0, one = 1;
	int fd = open(node, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, BLKROGET, &ro) < 0)
		goto fail;
	if (ro) {
		log_info("%s is read-only already", node);
		close(fd);
		return 0;
	}
	if (ioctl(fd, BLKROSET, &one) < 0)
		goto fail;
	ro_fd = fd;
	str_copy(ro_node, sizeof ro_node, node);
	log_info("%s set read-only (BLKROSET) while we read it", node);
	return 0;
fail: {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
}

int blockdev_release_ro(void)
{
	int zero = 0;

	if (ro_fd < 0)
		return 0;
	if (ioctl(ro_fd, BLKROSET, &zero) < 0)
		return -1;
	close(ro_fd);
	ro_fd = -1;
	log_info("%s writable again (BLKROSET 0) for the real system", ro_node);
	return 0;
}

int blockdev_node(const char *name, unsigned maj, unsigned min, char *path, size_t size)
{
	struct stat st;
	dev_t want = makedev(maj, min);
	size_t i;

	if (str_concat(path, size, "/dev/", name) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 5; path[i]; i++)
		if (path[i] == '!')
			path[i] = '/';  /* e.g. cciss!c0d0 */
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == want)
		return 0;
	if (node_dir() < 0)
		return -1;
	if (snprintf(path, size, NODE_DIR "/blk-%u-%u", maj, min) >= (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mknod(path, S_IFBLK | 0600, want) < 0 && errno != EEXIST)
		return -1;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISBLK(st.st_mode) || st.st_rdev != want) {
		errno = EEXIST;
		return -1;
	}
	return 0;
}

/* Read the start of a device. Returns bytes read (zero-filled buffer) or -1. */
static ssize_t read_start(const char *node, unsigned char *buf, size_t size, off_t off)
{
	int fd = open(node, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ssize_t r;
	int saved;

	if (fd < 0)
		return -1;
	memset(buf, 0, size);
	r = pread_full(fd, buf, size, off);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Partition number and parent disk name of a partition, 0 if whole disk. */
static int partition_info(const char *name, unsigned *partno, char *parent, size_t psize)
{
	char buf[32], link[SI_PATH_MAX], path[SI_PATH_MAX];
	unsigned long v;
	ssize_t n;
	char *slash;

	if (sysfs_attr(name, "partition", buf, sizeof buf) < 0 || parse_ulong(buf, 65535, &v) < 0)
		return 0;
	if (snprintf(path, sizeof path, SYS_BLOCK "/%s", name) >= (int)sizeof path)
		return 0;
	n = readlink(path, link, sizeof link - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	slash = strrchr(link, '/');  /* .../block/vda/vda1 */
	if (!slash)
		return 0;
	*slash = '\0';
	if (str_copy(parent, psize, path_base(link)) < 0)
		return 0;
	*partno = (unsigned)v;
	return 1;
}

/* PARTUUID / PARTLABEL of a partition, read from the parent's table. */
static int partition_ids(const char *name, char *uuid, size_t usize, char *label, size_t lsize)
{
	char parent[64], devbuf[32], bsbuf[32], node[SI_PATH_MAX];
	unsigned partno, maj, min;
	unsigned long bs = 512;
	struct gpt_header h;
	unsigned char lba01[8192];
	size_t total;
	ssize_t r;

	uuid[0] = label[0] = '\0';
	if (!partition_info(name, &partno, parent, sizeof parent))
		return 0;
	if (sysfs_attr(parent, "dev", devbuf, sizeof devbuf) < 0 || parse_devnum(devbuf, &maj, &min) < 0)
		return 0;
	if (sysfs_attr(parent, "queue/logical_block_size", bsbuf, sizeof bsbuf) == 0 &&
	    (parse_ulong(bsbuf, 4096, &bs) < 0 || bs < 512))
		bs = 512;
	if (blockdev_node(parent, maj, min, node, sizeof node) < 0)
		return 0;
	r = read_start(node, lba01, 2 * bs, 0);
	if (r < (ssize_t)(2 * bs))
		return 0;
	if (gpt_parse_header(lba01 + bs, bs, &h) == 0) {
		char u[37], l[80];

		total = (size_t)h.n_entries * (size_t)h.entry_size;
		if (read_start(node, gpt_entries, total, (off_t)(h.entries_lba * bs)) < (ssize_t)total)
			return 0;
		if (gpt_partition(&h, gpt_entries, total, partno, u, l, sizeof l) < 0)
			return 0;
		str_copy(uuid, usize, u);
		str_copy(label, lsize, l);
		return 1;
	}
	if (mbr_partuuid(lba01, partno, devbuf) == 0) {
		str_copy(uuid, usize, devbuf);
		return 1;
	}
	return 0;
}

/* Check one device; 1 = match. seen gets a short description. */
static int check_device(const char *name, const struct spec *sp, struct blockdev *out,
			char *seen, size_t seensize)
{
	char buf[64], node[SI_PATH_MAX], uuid[40], label[PROBE_LABEL_MAX];
	unsigned maj, min;
	struct fs_info fi;
	ssize_t r;
	int match = 0, have_fs;

	seen[0] = '\0';
	if (sysfs_attr(name, "size", buf, sizeof buf) < 0 || strcmp(buf, "0") == 0)
		return 0; /* unbound loop devices, empty drives */
	if (sysfs_attr(name, "dev", buf, sizeof buf) < 0 || parse_devnum(buf, &maj, &min) < 0)
		return 0;
	if (blockdev_node(name, maj, min, node, sizeof node) < 0) {
		snprintf(seen, seensize, "%s(no node: %s)", name, strerror(errno));
		return 0;
	}
	r = read_start(node, probe_buf, sizeof probe_buf, 0);
	if (r < 0) {
		snprintf(seen, seensize, "%s(%s)", name, strerror(errno));
		return 0;
	}
	have_fs = probe_fs(probe_buf, (size_t)r, &fi);
	if (!have_fs)
		memset(&fi, 0, sizeof fi);
	switch (sp->kind) {
	case SPEC_UUID:
		match = have_fs && fi.uuid[0] && str_ieq(fi.uuid, sp->value);
		break;
	case SPEC_LABEL:
		match = have_fs && fi.label[0] && strcmp(fi.label, sp->value) == 0;
		break;
	case SPEC_PARTUUID:
	case SPEC_PARTLABEL:
		if (partition_ids(name, uuid, sizeof uuid, label, sizeof label))
			match = sp->kind == SPEC_PARTUUID ? str_ieq(uuid, sp->value)
							  : (label[0] && strcmp(label, sp->value) == 0);
		break;
	case SPEC_PATH:
		break;
	}
	snprintf(seen, seensize, "%s(%s%s%s)", name, have_fs ? fi.fstype : "?",
		 fi.uuid[0] ? " " : "", fi.uuid);
	if (!match)
		return 0;
	str_copy(out->name, sizeof out->name, name);
	str_copy(out->node, sizeof out->node, node);
	str_copy(out->fstype, sizeof out->fstype, fi.fstype);
	return 1;
}

static int find_by_path(const char *path, struct blockdev *out)
{
	struct stat st;
	struct fs_info fi;
	ssize_t r;

	if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode))
		return 0;
	memset(out, 0, sizeof *out);
	str_copy(out->name, sizeof out->name, path_base(path));
	str_copy(out->node, sizeof out->node, path);
	r = read_start(path, probe_buf, sizeof probe_buf, 0);
	if (r > 0 && probe_fs(probe_buf, (size_t)r, &fi))
		str_copy(out->fstype, sizeof out->fstype, fi.fstype);
	return 1;
}

static size_t append(char *dst, size_t size, size_t pos, const char *s)
{
	size_t n = strlen(s);

	if (pos + n + 2 >= size)
		return pos;
	if (pos)
		dst[pos++] = ' ';
	memcpy(dst + pos, s, n);
	pos += n;
	dst[pos] = '\0';
	return pos;
}

/* One scan of the block devices: the number matching (the first by name in
 * *out); what was seen goes to seen_all. /sys/class/block is read as a
 * stream and each entry checked as it comes: no cap on the number of
 * devices, and no list to sort. */
static size_t scan_once(const struct spec *sp, const char *spec, struct blockdev *out,
			char *seen_all, size_t cap, int quiet)
{
	char seen[128], name[64];
	size_t matches = 0, pos = 0;
	struct blockdev cand;
	struct dirent *de;
	DIR *d;

	seen_all[0] = '\0';
	if (sp->kind == SPEC_PATH)
		return find_by_path(sp->value, out) ? 1 : 0;
	d = opendir(SYS_BLOCK);
	if (!d) {
		if (!quiet)
			log_warn(SYS_BLOCK ": %s", strerror(errno));
		return 0;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		/* kernel block device names are short (DISK_NAME_LEN 32) */
		if (de->d_name[0] == '.' || str_copy(name, sizeof name, de->d_name) < 0)
			continue;
		if (check_device(name, sp, &cand, seen, sizeof seen)) {
			/* readdir's order is arbitrary: keep the first by name */
			if (matches == 0 || strcmp(cand.name, out->name) < 0)
				*out = cand;
			matches++;
		}
		if (seen[0])
			pos = append(seen_all, cap, pos, seen);
	}
	if (errno && !quiet)
		log_warn(SYS_BLOCK ": %s", strerror(errno));
	closedir(d);
	if (matches > 1 && !quiet)
		log_warn("%s matches %zu devices; using %s (the first by name)", spec, matches, out->name);
	return matches;
}

int bootdev_present(const char *spec, struct blockdev *out)
{
	char seen_all[512];
	struct spec sp;

	parse_spec(spec, &sp);
	return scan_once(&sp, spec, out, seen_all, sizeof seen_all, 1) > 0;
}

int bootdev_find(const char *spec, unsigned long timeout_s, struct blockdev *out,
		 char *reason, size_t rlen)
{
	unsigned long long start = now_ms(), deadline = start + timeout_s * 1000ull;
	char seen_all[512];
	struct spec sp;
	unsigned scans = 0;

	parse_spec(spec, &sp);
	for (;;) {
		scans++;
		if (scan_once(&sp, spec, out, seen_all, sizeof seen_all, 0)) {
			log_info("boot device %s is %s (%s) after %llu ms, %u scan(s)", spec, out->node,
				 out->fstype[0] ? out->fstype : "unknown type", now_ms() - start, scans);
			return 0;
		}
		if (now_ms() >= deadline)
			break;
		sleep_ms(POLL_MS);
	}
	log_info("block devices seen: %s", seen_all[0] ? seen_all : "none");
	snprintf(reason, rlen, "not found after %lu s", timeout_s);
	return -1;
}
