#define _GNU_SOURCE
#include "image.h"
#include "blockdev.h"
#include "dm.h"
#include "failure.h"
#include "integrity.h"
#include "kabi.h"
#include "log.h"
#include "loop.h"
#include "mounts.h"
#include "util.h"
#include "verity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define COPY_RESERVE (32 << 20)  /* memory left for the rest of the boot */

static const char *const alg_names[3] = { "?", "sha256", "sha512" };

static const char *alg_name(unsigned alg)
{
	return alg < 3 ? alg_names[alg] : "?";
}

/* "expected sha256:0123456789abcdef..., got sha256:fedcba9876543210..." */
_Noreturn static void fail_digest(const char *path, const struct config *c, unsigned got_alg,
				  const unsigned char *got)
{
	char want_hex[17], got_hex[17], reason[160];

	hex_encode(want_hex, c->digest_bin, 8);
	hex_encode(got_hex, got, 8);
	snprintf(reason, sizeof reason, "fs-verity digest mismatch: expected %s:%s..., got %s:%s...",
		 alg_name(c->digest_alg), want_hex, alg_name(got_alg), got_hex);
	fail("verify image", path, reason);
}

static void check_digest(const struct config *c, const char *path, unsigned alg,
			 const unsigned char *got, size_t len)
{
	if (alg != c->digest_alg || len != c->digest_len || memcmp(got, c->digest_bin, len) != 0)
		fail_digest(path, c, alg, got);
}

/* integrity = fs-verity: the kernel verifies every read against the tree
 * on the boot filesystem; we check that it is the tree we expect. */
static void measure(const struct config *c, int fd, const char *path)
{
	unsigned char got[SHA_MAX_LEN];
	unsigned alg;
	size_t len;

	if (fsverity_measure(fd, &alg, got, &len) < 0) {
		if (errno == ENODATA)
			fail("verify image", path, "fs-verity not enabled on the image file (fsverity enable)");
		if (errno == EOPNOTSUPP || errno == ENOTTY)
			fail("verify image", path,
			     "the boot filesystem does not support fs-verity (ext4: tune2fs -O verity)");
		fail_errno("verify image", path, errno);
	}
	check_digest(c, path, alg, got, len);
	log_info("integrity fs-verity: %s has the expected %s digest; the kernel checks every read",
		 path, alg_name(alg));
}

/* MemAvailable in bytes, or -1 when /proc/meminfo does not say. */
static long long mem_available(void)
{
	static char buf[4096];
	unsigned long kib;
	char *p, *end;

	if (read_file("/proc/meminfo", buf, sizeof buf, NULL) < 0 && errno != EFBIG)
		return -1;
	p = strstr(buf, "MemAvailable:");
	if (!p)
		return -1;
	for (p += 13; *p == ' '; p++)
		;
	end = p + strspn(p, "0123456789");
	*end = '\0';
	if (parse_ulong(p, CFG_UNSET / 1024, &kib) < 0)
		return -1;
	return (long long)kib * 1024;
}

/* integrity = copy: returns a read-only fd of the sealed, verified memfd. */
static int copy_verified(const struct config *c, int fd, const char *path, long long size)
{
	unsigned char got[SHA_MAX_LEN];
	unsigned long long t0 = now_ms();
	long long avail = mem_available();
	char self[32];
	const char *what;
	int mfd, rofd;

	/* memfd pages are not limited by a tmpfs size: an image that nearly
	 * fills memory would wake the OOM killer instead of failing cleanly */
	if (avail >= 0 && size > avail - COPY_RESERVE) {
		char reason[160];

		snprintf(reason, sizeof reason,
			 "the image (%lld MiB) does not fit in available memory (%lld MiB, %d MiB kept free)",
			 size >> 20, avail >> 20, COPY_RESERVE >> 20);
		fail("copy image", path, reason);
	}
	mfd = copy_to_sealed_memfd(fd, (uint64_t)size, (enum hash_alg)c->digest_alg, got, &what);
	if (mfd < 0) {
		char reason[200];
		int e = errno;

		if (e == ENOSPC || e == ENOMEM || e == EFBIG)
			snprintf(reason, sizeof reason, "%s: %s (the image is %lld MiB and must fit in memory)",
				 what, strerror(e), size >> 20);
		else
			snprintf(reason, sizeof reason, "%s: %s", what, strerror(e));
		fail("copy image", path, reason);
	}
	log_info("integrity copy: %lld bytes copied into a sealed memfd in %llu ms", size,
		 now_ms() - t0);
	check_digest(c, path, (unsigned)c->digest_alg, got, hash_len((enum hash_alg)c->digest_alg));
	/* a read-only open file for the loop device, also on pre-5.8 kernels
	 * where read-only comes from the file's mode */
	snprintf(self, sizeof self, "/proc/self/fd/%d", mfd);
	rofd = open(self, O_RDONLY | O_CLOEXEC);
	if (rofd < 0)
		fail_errno("copy image", self, errno);
	close(mfd);
	log_info("integrity copy: %s digest matches; memfd sealed (shrink, grow, write, seal)",
		 alg_name(c->digest_alg));
	return rofd;
}

static void add_signature_key(const char *sigpath)
{
	static char sig[VERITY_SIG_MAX + 1];
	char err[80];
	size_t len;
	long id;

	if (verity_read_sig(sigpath, sig, &len, err, sizeof err) < 0)
		fail("load root hash signature", sigpath, err);
	/* the thread keyring: found by dm-verity during DM_TABLE_LOAD (same
	 * thread), dropped at exec, so the key does not outlive the setup */
	id = syscall(SYS_add_key, "user", VERITY_SIG_KEY_DESC, sig, len, SI_KEY_SPEC_THREAD_KEYRING);
	if (id < 0)
		fail_errno("load root hash signature", "add_key user " VERITY_SIG_KEY_DESC, errno);
	log_info("integrity dm-verity: root hash signature %s (%zu bytes) loaded as key %s", sigpath,
		 len, VERITY_SIG_KEY_DESC);
}

/* integrity = dm-verity: a verity target over the loop device (data blocks
 * first, superblock and hash tree after verity_hash_offset); out->dev
 * becomes the dm node to mount. */
static void setup_verity(const struct config *c, int img_fd, const char *path, long long size,
			 int loop_fd, struct image_mounted *out)
{
	unsigned char sb[VERITY_SB_LEN];
	char err[200], dev[32], table[VERITY_TABLE_MAX], dmname[32];
	struct stat lst;
	const char *what;
	unsigned maj, min;

	if ((unsigned long long)size < (unsigned long long)c->verity_hash_offset + 2 * VERITY_BLOCK) {
		snprintf(err, sizeof err, "%lld bytes, too small for a hash tree at offset %lu", size,
			 c->verity_hash_offset);
		fail("set up dm-verity", path, err);
	}
	errno = 0;
	if (pread_full(img_fd, sb, sizeof sb, (off_t)c->verity_hash_offset) != (ssize_t)sizeof sb)
		fail_errno("set up dm-verity", path, errno ? errno : EIO);
	if (verity_check_superblock(sb, c, err, sizeof err) < 0) {
		char reason[240];

		snprintf(reason, sizeof reason, "verity superblock at offset %lu: %s",
			 c->verity_hash_offset, err);
		fail("set up dm-verity", path, reason);
	}
	if (c->verity_sig[0])
		add_signature_key(c->verity_sig);
	if (fstat(loop_fd, &lst) < 0)
		fail_errno("set up dm-verity", out->loopdev, errno);
	snprintf(dev, sizeof dev, "%u:%u", major(lst.st_rdev), minor(lst.st_rdev));
	if (verity_table(c, dev, c->verity_sig[0] != '\0', table, sizeof table) < 0)
		fail("set up dm-verity", path, "table too long");
	log_debug("dm-verity table: 0 %llu verity %s", verity_sectors(c), table);
	if (dm_create_readonly(DM_VERITY_NAME, "verity", verity_sectors(c), table, &maj, &min,
			       &what) < 0)
		fail_errno("set up dm-verity", what, errno);
	snprintf(dmname, sizeof dmname, "dm-%u", min);
	if (blockdev_node(dmname, maj, min, out->dev, sizeof out->dev) < 0)
		fail_errno("set up dm-verity", dmname, errno);
	log_info("integrity dm-verity: %s is %s over %s (%lu data blocks, %s, root %.16s...)",
		 DM_VERITY_NAME, out->dev, out->loopdev, c->verity_data_blocks, c->verity_hashalg,
		 c->verity_roothash);
}

void image_mount(const struct config *c, const char *path, const char *mnt,
		 struct image_mounted *out)
{
	struct stat st;
	const char *what;
	int img_fd, loop_fd, attach_fd;

	memset(out, 0, sizeof *out);
	img_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img_fd < 0)
		fail_errno("open image", path, errno);
	if (fstat(img_fd, &st) < 0)
		fail_errno("open image", path, errno);
	if (!S_ISREG(st.st_mode))
		fail("open image", path, "not a regular file");
	out->size = (long long)st.st_size;
	log_info("image %s (%lld bytes), integrity %s", path, out->size,
		 integrity_names[c->integrity]);

	attach_fd = img_fd;
	if (c->integrity == INTEGRITY_FS_VERITY) {
		measure(c, img_fd, path);
	} else if (c->integrity == INTEGRITY_COPY) {
		attach_fd = copy_verified(c, img_fd, path, out->size);
		close(img_fd); /* nothing on the boot filesystem stays open */
		img_fd = -1;
	}
	loop_fd = loop_attach(attach_fd, c->integrity == INTEGRITY_COPY ? "memfd:" MEMFD_NAME : path,
			      out->loopdev, sizeof out->loopdev, &what);
	if (loop_fd < 0)
		fail_errno("attach loop device", what, errno);
	str_copy(out->dev, sizeof out->dev, out->loopdev);
	if (c->integrity == INTEGRITY_DM_VERITY)
		setup_verity(c, img_fd, path, out->size, loop_fd, out);
	/* the loop device holds its own reference to the file */
	close(attach_fd);
	if (img_fd >= 0 && img_fd != attach_fd)
		close(img_fd);
	if (c->integrity == INTEGRITY_DM_VERITY) {
		close(loop_fd); /* the verity target holds the loop device */
		loop_fd = -1;
	}
	if (do_mount(out->dev, mnt, "erofs", MS_RDONLY, NULL) < 0) {
		int e = errno;

		if (c->integrity == INTEGRITY_DM_VERITY)
			(void)dm_remove(DM_VERITY_NAME, 0);
		fail_errno("mount image", out->dev, e);
	}
	if (loop_fd >= 0)
		close(loop_fd); /* erofs keeps the device open; autoclear on its release */
	if (c->integrity == INTEGRITY_DM_VERITY) {
		/* gone (and the loop device with it) when the mount goes */
		if (dm_remove(DM_VERITY_NAME, 1) < 0)
			fail_errno("set up dm-verity", "deferred remove of " DM_VERITY_NAME, errno);
		log_info("integrity dm-verity: %s marked for deferred removal", DM_VERITY_NAME);
	}
}
