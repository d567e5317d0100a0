#define _GNU_SOURCE
#include "image.h"
#include "blkid.h"
#include "blockdev.h"
#include "ddi.h"
#include "dm.h"
#include "ext4map.h"
#include "extents.h"
#include "failure.h"
#include "integrity.h"
#include "kabi.h"
#include "log.h"
#include "loop.h"
#include "mounts.h"
#include "pkcs7.h"
#include "util.h"
#include "verity.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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
	static struct fsverity_ctx tree;
	unsigned char got[SHA_MAX_LEN];
	unsigned long long t0 = now_ms();
	long long avail = mem_available();
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
	if (fsverity_init(&tree, (enum hash_alg)c->digest_alg, (uint64_t)size) < 0)
		fail("copy image", path, "too large for an fs-verity tree");
	mfd = copy_to_sealed_memfd(fd, (uint64_t)size, &tree, &what);
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
	(void)fsverity_final(&tree, got);
	log_info("integrity copy: %lld bytes copied into a sealed memfd in %llu ms", size,
		 now_ms() - t0);
	check_digest(c, path, (unsigned)c->digest_alg, got, hash_len((enum hash_alg)c->digest_alg));
	rofd = memfd_reopen_readonly(mfd);
	if (rofd < 0)
		fail_errno("copy image", MEMFD_REOPEN_WHAT, errno);
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

/* integrity = dm-verity: the superblock at verity_hash_offset must be the
 * one the config describes (read from the file, before it is attached). */
static void check_verity_superblock(const struct config *c, int img_fd, const char *path, long long size)
{
	unsigned char sb[VERITY_SB_LEN];
	char err[200];

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
}

/* image_format = ddi: the root and root-verity partitions found by type in
 * the file's GPT, checked against the config (and the signature partition
 * against the pinned root hash) before anything is attached. */
static void locate_ddi(const struct config *c, int img_fd, const char *path, long long size,
		       struct image_mounted *out)
{
	static char cert[PKCS7_CERT_MAX + 1];
	struct ddi_layout l;
	size_t cert_len = 0;
	char err[240];

	/* verity_cert: the signer pinned in the mini initramfs (fails closed when unreadable) */
	if (c->verity_cert[0] && read_file(c->verity_cert, cert, sizeof cert, &cert_len) < 0)
		fail_errno("read the pinned certificate", c->verity_cert, errno);
	if (c->verity_cert[0] && cert_len == 0)
		fail("read the pinned certificate", c->verity_cert, "empty file");
	if (ddi_locate(img_fd, (uint64_t)size, c, (const unsigned char *)cert, cert_len, &l, err, sizeof err) < 0)
		fail("read DDI", path, err);
	out->root_offset = l.root.offset;
	log_info("image %s: DDI, root partition at %llu (%llu bytes), root-verity at %llu, %s",
		 path, (unsigned long long)l.root.offset, (unsigned long long)l.root.size,
		 (unsigned long long)l.verity.offset,
		 cert_len ? "signature partition names the pinned root hash and verifies against the pinned certificate" :
		 l.has_sig ? "signature partition names the pinned root hash" : "no signature partition");
}

/* "MAJ:MIN" of a block device node. */
static int devnum(const char *node, char *out, size_t size)
{
	struct stat st;

	if (stat(node, &st) < 0)
		return -1;
	if (!S_ISBLK(st.st_mode)) {
		errno = ENOTBLK;
		return -1;
	}
	snprintf(out, size, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

/* Creates the read-only dm device NAME from TARGETS; out->dev becomes its node. */
static void dm_device(const char *step, const char *name, const struct dm_target *t, size_t n,
		      struct image_mounted *out)
{
	char dmname[32];
	const char *what;
	unsigned maj, min;

	if (dm_create_readonly(name, t, n, &maj, &min, &what) < 0)
		fail_errno(step, what, errno);
	snprintf(dmname, sizeof dmname, "dm-%u", min);
	if (blockdev_node(dmname, maj, min, out->dev, sizeof out->dev) < 0)
		fail_errno(step, dmname, errno);
}

/* integrity = dm-verity: a verity target over out->dev (data blocks first,
 * superblock and hash tree after verity_hash_offset); out->dev becomes the
 * verity device. */
static void setup_verity(const struct config *c, struct image_mounted *out)
{
	static char table[VERITY_TABLE_MAX];
	struct dm_target t;
	char dev[24], data[24], under[SI_PATH_MAX]; /* "MAJ:MIN": at most 21 characters */

	if (c->verity_sig[0])
		add_signature_key(c->verity_sig);
	if (devnum(out->dev, dev, sizeof dev) < 0)
		fail_errno("set up dm-verity", out->dev, errno);
	str_copy(data, sizeof data, dev);
	if (c->image_format == IMAGE_DDI) {
		/* dm-verity has no data offset: the root partition gets its own linear device */
		struct image_mounted root;

		memset(&t, 0, sizeof t);
		t.length = verity_sectors(c);
		t.type = "linear";
		snprintf(t.params, sizeof t.params, "%s %llu", dev, out->root_offset / 512);
		dm_device("set up dm-verity", DM_ROOT_NAME, &t, 1, &root);
		if (devnum(root.dev, data, sizeof data) < 0)
			fail_errno("set up dm-verity", root.dev, errno);
		log_info("image: root partition is %s (linear %s from sector %llu)", root.dev, dev,
			 out->root_offset / 512);
	}
	if (verity_table(c, data, dev, c->verity_sig[0] != '\0', table, sizeof table) < 0)
		fail("set up dm-verity", out->dev, "table too long");
	memset(&t, 0, sizeof t);
	t.length = verity_sectors(c);
	t.type = "verity";
	t.long_params = table;
	log_debug("dm-verity table: 0 %llu verity %s", (unsigned long long)t.length, table);
	str_copy(under, sizeof under, out->dev);
	dm_device("set up dm-verity", DM_VERITY_NAME, &t, 1, out);
	log_info("integrity dm-verity: %s is %s over %s (%lu data blocks, %s, root %.16s...)",
		 DM_VERITY_NAME, out->dev, under, c->verity_data_blocks, c->verity_hashalg,
		 c->verity_roothash);
}

/* The image file's extents, FIEMAP_EXTENT_LAST included; -1 with a reason. */
static long read_extents(int fd, struct si_fiemap_extent *ext, size_t max, char *err, size_t errlen)
{
	static union {
		struct si_fiemap fm;
		unsigned char bytes[sizeof(struct si_fiemap) + 64 * sizeof(struct si_fiemap_extent)];
	} buf;
	struct si_fiemap_extent *got = (struct si_fiemap_extent *)(void *)(buf.bytes + sizeof buf.fm);
	uint64_t start = 0;
	size_t n = 0, i;

	for (;;) {
		memset(&buf, 0, sizeof buf);
		buf.fm.fm_start = start;
		buf.fm.fm_length = ~0ULL - start;
		buf.fm.fm_flags = SI_FIEMAP_FLAG_SYNC;
		buf.fm.fm_extent_count = 64;
		if (ioctl(fd, SI_FS_IOC_FIEMAP, &buf) < 0) {
			int e = errno;

			snprintf(err, errlen, "FIEMAP: %s", strerror(e));
			errno = e; /* the caller falls back to FIBMAP on EOPNOTSUPP */
			return -1;
		}
		if (buf.fm.fm_mapped_extents == 0 || buf.fm.fm_mapped_extents > 64)
			return (long)n;
		for (i = 0; i < buf.fm.fm_mapped_extents; i++) {
			if (n >= max) {
				snprintf(err, errlen, "more than %zu pieces", max);
				return -1;
			}
			ext[n++] = got[i];
			if (got[i].fe_flags & SI_FIEMAP_EXTENT_LAST)
				return (long)n;
		}
		start = got[i - 1].fe_logical + got[i - 1].fe_length;
	}
}

/* Without FIEMAP (vfat on older kernels): FIBMAP, one call per piece that
 * is contiguous on any filesystem: a block, or a FAT cluster. */
static long read_blocks(int fd, long long size, struct si_fiemap_extent *ext, size_t max, char *err, size_t errlen)
{
	struct statfs sfs;
	uint64_t logical, step;
	size_t n = 0;
	int bsz;

	if (ioctl(fd, SI_FIGETBSZ, &bsz) < 0 || bsz <= 0 || fstatfs(fd, &sfs) < 0) {
		snprintf(err, errlen, "FIGETBSZ: %s", strerror(errno));
		return -1;
	}
	step = (uint64_t)bsz;
	if ((unsigned long)sfs.f_type == SI_MSDOS_SUPER_MAGIC && sfs.f_bsize > 0 && (uint64_t)sfs.f_bsize % step == 0)
		step = (uint64_t)sfs.f_bsize; /* a cluster's sectors are contiguous */
	for (logical = 0; logical < (uint64_t)size; logical += step) {
		int blk = (int)(logical / (uint64_t)bsz);

		if ((uint64_t)blk != logical / (uint64_t)bsz || ioctl(fd, SI_FIBMAP, &blk) < 0) {
			snprintf(err, errlen, "FIBMAP: %s", strerror(errno ? errno : EOVERFLOW));
			return -1;
		}
		if (extents_append(ext, &n, max, logical, (uint64_t)(unsigned)blk * (uint64_t)bsz, step) < 0) {
			snprintf(err, errlen, "more than %zu pieces", max);
			return -1;
		}
	}
	return (long)n;
}

/* Maps N extents of an image of SIZE bytes on BOOTDEV: a read-only loop
 * device over the partition itself (opened as a device, not claimed, no
 * filesystem) and a dm-linear device of the extents over it. Returns the
 * loop device's fd with out->dev the dm-linear device, or -1 with a reason
 * (then nothing was set up). */
static int map_extents(const struct si_fiemap_extent *ext, size_t n, uint64_t size, const char *bootdev,
		       const char *path, struct image_mounted *out, char *err, size_t errlen)
{
	static struct dm_target t[EXTENTS_MAX];
	const char *what;
	char dev[32], dmname[32];
	unsigned maj, min;
	int bfd, loop_fd, nt;

	/* checked once with a stand-in device, so a refusal leaves nothing attached */
	if (extents_table(ext, n, size, "0:0", t, EXTENTS_MAX, err, errlen) < 0)
		return -1;
	bfd = open(bootdev, O_RDONLY | O_CLOEXEC);
	if (bfd < 0)
		fail_errno("attach loop device", bootdev, errno);
	loop_fd = loop_attach(bfd, bootdev, out->loopdev, sizeof out->loopdev, &what);
	if (loop_fd < 0)
		fail_errno("attach loop device", what, errno);
	close(bfd); /* the loop device holds its own reference */
	if (devnum(out->loopdev, dev, sizeof dev) < 0)
		fail_errno("attach loop device", out->loopdev, errno);
	nt = extents_table(ext, n, size, dev, t, EXTENTS_MAX, err, errlen);
	if (nt < 0)
		fail("map image", path, err);
	if (dm_create_readonly(DM_IMAGE_NAME, t, (size_t)nt, &maj, &min, &what) < 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
		close(loop_fd); /* autoclear: the loop device goes with it */
		out->loopdev[0] = '\0';
		return -1;
	}
	snprintf(dmname, sizeof dmname, "dm-%u", min);
	if (blockdev_node(dmname, maj, min, out->dev, sizeof out->dev) < 0)
		fail_errno("map image", dmname, errno);
	log_info("image %s: %d piece(s) of %s mapped as %s through %s; nothing holds the boot filesystem",
		 path, nt, bootdev, out->dev, out->loopdev);
	out->unpinned = 1;
	return loop_fd;
}

/* the image's extents, however they were found (one image per boot) */
static struct si_fiemap_extent image_ext[EXTENTS_MAX + 1];

/* The image file's blocks on BOOTDEV as the mounted filesystem reports
 * them (FIEMAP, else FIBMAP), mapped by map_extents. */
static int map_image(int img_fd, const char *path, long long size, const char *bootdev,
		     struct image_mounted *out, char *err, size_t errlen)
{
	struct stat ist, bst;
	long n;

	if (fstat(img_fd, &ist) < 0 || stat(bootdev, &bst) < 0) {
		snprintf(err, errlen, "stat: %s", strerror(errno));
		return -1;
	}
	/* btrfs and others report their own device numbers and logical addresses */
	if (!S_ISBLK(bst.st_mode) || ist.st_dev != bst.st_rdev) {
		snprintf(err, errlen, "the file's filesystem does not address %s directly", bootdev);
		return -1;
	}
	n = read_extents(img_fd, image_ext, EXTENTS_MAX + 1, err, errlen);
	if (n < 0 && (errno == EOPNOTSUPP || errno == ENOTTY))
		n = read_blocks(img_fd, size, image_ext, EXTENTS_MAX + 1, err, errlen);
	if (n < 0)
		return -1;
	return map_extents(image_ext, (size_t)n, (uint64_t)size, bootdev, path, out, err, errlen);
}

/* Removes the dm devices we made: now (a failed mount) or when the mount goes. */
static void dm_release(const struct config *c, const struct image_mounted *m, int deferred)
{
	if (c->integrity == INTEGRITY_DM_VERITY && dm_remove(DM_VERITY_NAME, deferred) < 0 && deferred)
		fail_errno("set up dm-verity", "deferred remove of " DM_VERITY_NAME, errno);
	if (c->image_format == IMAGE_DDI && dm_remove(DM_ROOT_NAME, deferred) < 0 && deferred)
		fail_errno("set up dm-verity", "deferred remove of " DM_ROOT_NAME, errno);
	if (m->unpinned && dm_remove(DM_IMAGE_NAME, deferred) < 0 && deferred)
		fail_errno("map image", "deferred remove of " DM_IMAGE_NAME, errno);
}

static void verify_and_mount(const struct config *c, int loop_fd, const char *mnt, struct image_mounted *out);

void image_mount(const struct config *c, const char *path, const char *bootdev, const char *mnt,
		 struct image_mounted *out)
{
	struct stat st;
	const char *what;
	char why[160];
	int img_fd, loop_fd = -1, attach_fd;

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
	} else {
		if (c->image_format == IMAGE_DDI)
			locate_ddi(c, img_fd, path, out->size, out);
		if (c->integrity == INTEGRITY_DM_VERITY)
			check_verity_superblock(c, img_fd, path, out->size);
		if (bootdev) {
			loop_fd = map_image(img_fd, path, out->size, bootdev, out, why, sizeof why);
			if (loop_fd < 0)
				log_warn("image %s: cannot map its blocks on %s (%s): attached as a file; "
					 "the boot filesystem stays in use while the image is mounted", path, bootdev, why);
		}
	}
	if (loop_fd < 0) {
		loop_fd = loop_attach(attach_fd, c->integrity == INTEGRITY_COPY ? "memfd:" MEMFD_NAME : path,
				      out->loopdev, sizeof out->loopdev, &what);
		if (loop_fd < 0)
			fail_errno("attach loop device", what, errno);
		str_copy(out->dev, sizeof out->dev, out->loopdev);
	}
	/* the loop device holds its own reference to what it reads */
	close(attach_fd);
	verify_and_mount(c, loop_fd, mnt, out);
}

/* dm-verity over out->dev if pinned, then EROFS on top; LOOP_FD is closed. */
static void verify_and_mount(const struct config *c, int loop_fd, const char *mnt, struct image_mounted *out)
{
	if (c->integrity == INTEGRITY_DM_VERITY)
		setup_verity(c, out);
	/* a dm device over the loop device holds it now; otherwise the mount will */
	if (out->unpinned || c->integrity == INTEGRITY_DM_VERITY) {
		close(loop_fd);
		loop_fd = -1;
	}
	if (do_mount(out->dev, mnt, "erofs", MS_RDONLY, NULL) < 0) {
		int e = errno;

		dm_release(c, out, 0);
		fail_errno("mount image", out->dev, e);
	}
	if (loop_fd >= 0)
		close(loop_fd); /* erofs keeps the device open; autoclear on its release */
	/* gone (and the loop device with them) when the mount goes */
	dm_release(c, out, 1);
	if (c->integrity == INTEGRITY_DM_VERITY || out->unpinned)
		log_info("device-mapper devices marked for deferred removal");
}

/* LEN bytes at byte OFF of the image, read from the device through the
 * extents (one plain extent must hold them all). */
static int mapped_read(int fd, const struct si_fiemap_extent *ext, size_t n, void *buf, size_t len, uint64_t off)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct si_fiemap_extent *e = &ext[i];

		if (e->fe_logical <= off && off - e->fe_logical <= e->fe_length &&
		    len <= e->fe_length - (off - e->fe_logical) && !e->fe_flags)
			return pread_exact(&fd, buf, len, e->fe_physical + (off - e->fe_logical));
	}
	errno = ERANGE;
	return -1;
}

int image_mount_unmounted(const struct config *c, const char *bootdev, const char *fstype, const char *mnt,
			  struct image_mounted *out, char *err, size_t errlen)
{
	unsigned char sb[VERITY_SB_LEN];
	unsigned long long t0 = now_ms();
	char why[200];
	uint64_t size = 0;
	long n;
	int fd, loop_fd;

	memset(out, 0, sizeof *out);
	if (c->integrity != INTEGRITY_DM_VERITY || c->image_format != IMAGE_PLAIN) {
		snprintf(err, errlen, "only a plain image pinned by dm-verity is read that way");
		return -1;
	}
	if (!fstype || strcmp(mount_fstype(fstype), "ext4") != 0) {
		snprintf(err, errlen, "a %s filesystem: only ext2/3/4 metadata is read here", fstype && *fstype ? fstype : "unknown");
		return -1;
	}
	fd = open(bootdev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "open: %s", strerror(errno));
		return -1;
	}
	n = ext4_file_extents(pread_exact, &fd, c->image, image_ext, EXTENTS_MAX + 1, &size, err, errlen);
	if (n >= 0 && size < (uint64_t)c->verity_hash_offset + 2 * VERITY_BLOCK) {
		snprintf(err, errlen, "%llu bytes, too small for a hash tree at offset %lu", (unsigned long long)size,
			 c->verity_hash_offset);
		n = -1;
	} else if (n >= 0 && mapped_read(fd, image_ext, (size_t)n, sb, sizeof sb, c->verity_hash_offset) < 0) {
		snprintf(err, errlen, "verity superblock at offset %lu: %s", c->verity_hash_offset, strerror(errno));
		n = -1;
	} else if (n >= 0 && verity_check_superblock(sb, c, why, sizeof why) < 0) {
		/* another file now, or the blocks moved: the filesystem's driver knows */
		snprintf(err, errlen, "verity superblock at offset %lu: %s", c->verity_hash_offset, why);
		n = -1;
	}
	close(fd);
	if (n < 0)
		return -1;
	out->size = (long long)size;
	log_info("image %s: %ld extent(s) on %s read from its ext4 metadata (%llu ms), verity superblock as pinned; "
		 "the boot filesystem is not mounted", c->image, n, bootdev, now_ms() - t0);
	loop_fd = map_extents(image_ext, (size_t)n, size, bootdev, c->image, out, err, errlen);
	if (loop_fd < 0)
		return -1;
	verify_and_mount(c, loop_fd, mnt, out);
	return 0;
}
