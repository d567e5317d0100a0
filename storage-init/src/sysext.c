#define _GNU_SOURCE
#include "sysext.h"
#include "blockdev.h"
#include "ddi.h"
#include "dm.h"
#include "log.h"
#include "loop.h"
#include "mounts.h"
#include "pkcs7.h"
#include "release.h"
#include "util.h"
#include "verity.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define ID_MAX 64
#define WHY_MAX 200
#define RELEASE_DIR "/usr/lib/extension-release.d/extension-release."

/* the verity parameters of the extension at hand, for verity_table() */
static struct config vc;
static char names[CFG_MAX_SYSEXTS][256];
static char text[4096];

static int devnum(const char *node, char *out, size_t size)
{
	struct stat st;

	if (stat(node, &st) < 0)
		return -1;
	snprintf(out, size, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The superblock at the root-verity partition's start, into vc: the
 * parameters dm-verity checks the pinned root hash with (a changed one only
 * makes the root hash differ). */
static int read_superblock(int fd, const struct ddi_layout *l, const char *roothash, char *why)
{
	unsigned char sb[VERITY_SB_LEN];
	unsigned long long blocks;
	unsigned salt;

	if (pread_full(fd, sb, sizeof sb, (off_t)l->verity.offset) != (ssize_t)sizeof sb) {
		snprintf(why, WHY_MAX, "verity superblock unreadable");
		return -1;
	}
	blocks = (unsigned long long)rd32(sb + 72) | (unsigned long long)rd32(sb + 76) << 32;
	salt = (unsigned)sb[80] | (unsigned)sb[81] << 8;
	if (memcmp(sb, "verity\0\0", 8) != 0 || rd32(sb + 8) != 1 || rd32(sb + 12) > 1 ||
	    memcmp(sb + 32, "sha256", 7) != 0 || rd32(sb + 64) != VERITY_BLOCK ||
	    rd32(sb + 68) != VERITY_BLOCK || salt > CFG_SALT_MAX || blocks == 0 ||
	    blocks > l->root.size / VERITY_BLOCK || l->verity.offset < l->root.offset + l->root.size) {
		snprintf(why, WHY_MAX, "offset %llu: expected a version 1 sha256 verity superblock with %d-byte blocks covering the root partition, after it",
			 (unsigned long long)l->verity.offset, VERITY_BLOCK);
		return -1;
	}
	vc.verity_format = rd32(sb + 12);
	vc.verity_data_blocks = (unsigned long)blocks;
	/* on the loop device, which starts at the root partition */
	vc.verity_hash_offset = (unsigned long)(l->verity.offset - l->root.offset);
	vc.failure = FAILURE_SHELL; /* no *_on_corruption: a bad block is EIO, and the extension skipped */
	str_copy(vc.verity_hashalg, sizeof vc.verity_hashalg, "sha256");
	str_copy(vc.verity_roothash, sizeof vc.verity_roothash, roothash);
	if (salt)
		hex_encode(vc.verity_salt, sb + 88, salt);
	else
		str_copy(vc.verity_salt, sizeof vc.verity_salt, "-");
	return 0;
}

/* Every block through dm-verity: a block that does not match the root hash
 * is found now, not when the original init reads it. */
static int read_all(const char *node, char *why)
{
	static char buf[64 * 1024];
	unsigned long long off = 0;
	ssize_t n;
	int fd = open(node, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, WHY_MAX, "open %.64s: %s", node, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0)
		off += (unsigned long long)n;
	if (n < 0)
		snprintf(why, WHY_MAX, "dm-verity: data at offset %llu does not match the pinned root hash (%s)",
			 off, strerror(errno));
	close(fd);
	return n < 0 ? -1 : 0;
}

/* Only /usr and /opt at its top: the layer must not change anything else. */
static int check_top(const char *mnt, char *why)
{
	DIR *d = opendir(mnt);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		snprintf(why, WHY_MAX, "opendir: %s", strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strcmp(e->d_name, "usr") && strcmp(e->d_name, "opt")) {
			snprintf(why, WHY_MAX, "holds /%.64s: only /usr and /opt are stacked", e->d_name);
			rc = -1;
			break;
		}
		/* a symlink there would replace the image's whole /usr */
		if (e->d_type != DT_DIR) {
			snprintf(why, WHY_MAX, "/%.8s is not a directory", e->d_name);
			rc = -1;
			break;
		}
	}
	closedir(d);
	return rc;
}

static int is_pinned(const struct config *c, const char *roothash)
{
	size_t i;

	for (i = 0; i < c->n_sysext; i++)
		if (strcmp(c->sysext_roothash[i], roothash) == 0)
			return 1;
	return 0;
}

/* An extension whose root hash is not pinned may still be used when its
 * signature partition names that root hash and verifies against the signer
 * pinned in the mini initramfs (SYSEXT_CERT_PATH): dm-verity then holds the
 * data to the signed root hash. 0, or -1 with why. */
static int signed_by_pinned(int fd, const struct ddi_layout *l, const char *roothash, char *why)
{
	static char cert[PKCS7_CERT_MAX + 1];
	char err[160];
	size_t cert_len = 0;

	if (!l->has_sig) {
		snprintf(why, WHY_MAX, "root hash %.16s... not pinned (sysext_roothash) and not signed", roothash);
		return -1;
	}
	if (read_file(SYSEXT_CERT_PATH, cert, sizeof cert, &cert_len) < 0) {
		snprintf(why, WHY_MAX, "root hash %.16s... not pinned; signed, but no signer pinned (%s: %s)", roothash,
			 SYSEXT_CERT_PATH, errno == ENOENT ? "absent" : strerror(errno));
		return -1;
	}
	if (cert_len == 0) {
		snprintf(why, WHY_MAX, "root hash %.16s... not pinned; signed, but %s is empty", roothash, SYSEXT_CERT_PATH);
		return -1;
	}
	if (ddi_read_signature(fd, l, roothash, (const unsigned char *)cert, cert_len, err, sizeof err) < 0) {
		snprintf(why, WHY_MAX, "root hash %.16s... not pinned; signature: %.120s", roothash, err);
		return -1;
	}
	log_info("extension root hash %.16s...: signature verifies against %s", roothash, SYSEXT_CERT_PATH);
	return 0;
}

/* One extension, verified and mounted on mnt; 0, or -1 with why (then
 * nothing of it stays attached or mounted). */
static int use_one(const struct config *c, const char *path, const char *name, size_t idx,
		   const char *mnt, const char *osid, char *why)
{
	static char table[VERITY_TABLE_MAX];
	char roothash[65], err[160], loopdev[SI_PATH_MAX], node[SI_PATH_MAX], dev[24];
	char verity_name[32], rel[3 * SI_PATH_MAX], id[ID_MAX], dmname[32];
	struct dm_target t;
	struct ddi_layout l;
	struct stat st;
	const char *what;
	unsigned maj, min;
	int fd, loop_fd = -1, initrd, rc = -1, stage = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, WHY_MAX, "%s", fd < 0 ? strerror(errno) : "not a regular file");
		goto out;
	}
	if (ddi_read(fd, (uint64_t)st.st_size, &l, err, sizeof err) < 0) {
		snprintf(why, WHY_MAX, "not a DDI: %s", err);
		goto out;
	}
	ddi_roothash_of_guids(&l, roothash);
	if (!is_pinned(c, roothash) && signed_by_pinned(fd, &l, roothash, why) < 0)
		goto out;
	if (read_superblock(fd, &l, roothash, why) < 0)
		goto out;
	snprintf(verity_name, sizeof verity_name, "initoverlayfs-x%zu", idx);
	/* from the root partition on: dm-verity's data start at its device's
	 * sector 0, and the hash partition follows in the same device */
	loop_fd = loop_attach_at(fd, path, l.root.offset, loopdev, sizeof loopdev, &what);
	if (loop_fd < 0 || devnum(loopdev, dev, sizeof dev) < 0) {
		snprintf(why, WHY_MAX, "%.64s: %s", loop_fd < 0 ? what : loopdev, strerror(errno));
		goto out;
	}
	if (verity_table(&vc, dev, dev, 0, table, sizeof table) < 0) {
		snprintf(why, WHY_MAX, "verity table too long");
		goto out;
	}
	memset(&t, 0, sizeof t);
	t.length = (uint64_t)vc.verity_data_blocks * (VERITY_BLOCK / 512);
	t.type = "verity";
	t.long_params = table;
	if (dm_create_readonly(verity_name, &t, 1, &maj, &min, &what) < 0) {
		snprintf(why, WHY_MAX, "%s: %s", what, strerror(errno));
		goto out;
	}
	stage = 2;
	snprintf(dmname, sizeof dmname, "dm-%u", min);
	if (blockdev_node(dmname, maj, min, node, sizeof node) < 0) {
		snprintf(why, WHY_MAX, "%s: %s", dmname, strerror(errno));
		goto out;
	}
	if (read_all(node, why) < 0)
		goto out;
	if (mkdir_exist_ok(mnt, 0755) < 0 || do_mount(node, mnt, "erofs", MS_RDONLY, NULL) < 0) {
		snprintf(why, WHY_MAX, "mount %.64s on %.64s: %s", node, mnt, strerror(errno));
		goto out;
	}
	stage = 3;
	if (check_top(mnt, why) < 0)
		goto out;
	snprintf(rel, sizeof rel, "%s" RELEASE_DIR "%s", mnt, name);
	if (read_file(rel, text, sizeof text, NULL) < 0) {
		snprintf(why, WHY_MAX, "no %s%.64s (%s)", RELEASE_DIR + 1, name, strerror(errno));
		goto out;
	}
	if (sysext_parse_release(text, id, sizeof id, &initrd) < 0) {
		snprintf(why, WHY_MAX, "extension-release.%.64s: no ID=", name);
		goto out;
	}
	if (!initrd) {
		snprintf(why, WHY_MAX, "SYSEXT_SCOPE does not include initrd");
		goto out;
	}
	if (strcmp(id, "_any") != 0 && strcmp(id, osid) != 0) {
		snprintf(why, WHY_MAX, "ID=%s, the image's os-release says ID=%s", id, osid[0] ? osid : "(none)");
		goto out;
	}
	log_info("extension %s: stacked on %s (root hash %.16s..., %lu blocks read through dm-verity, ID=%s)",
		 path, mnt, roothash, vc.verity_data_blocks, id);
	rc = 0;
out:
	if (rc < 0 && stage >= 3 && umount2(mnt, 0) < 0)
		log_warn("umount %s: %s", mnt, strerror(errno));
	/* when the mount goes (or now, unused) */
	if (stage >= 2 && dm_remove(verity_name, rc == 0) < 0)
		log_warn("remove %s: %s", verity_name, strerror(errno));
	if (loop_fd >= 0)
		close(loop_fd); /* autoclear: the loop device goes with the dm device over it */
	if (fd >= 0)
		close(fd);
	return rc;
}

static int is_raw(const struct dirent *e)
{
	size_t n = strlen(e->d_name), s = sizeof SYSEXT_SUFFIX - 1;

	return e->d_name[0] != '.' && n > s && strcmp(e->d_name + n - s, SYSEXT_SUFFIX) == 0;
}

static void scan(const struct config *c, const char *dir, const char *mnt_dir, const char *osid,
		 struct sysext_report *rep)
{
	struct dirent **list;
	char path[2 * SI_PATH_MAX], mnt[SI_PATH_MAX], why[WHY_MAX], name[256];
	int n, i;
	size_t k;

	n = scandir(dir, &list, is_raw, alphasort);
	if (n < 0) {
		if (errno != ENOENT)
			log_warn("extensions in %s: %s", dir, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		str_ncopy(name, sizeof name, list[i]->d_name, strlen(list[i]->d_name) - (sizeof SYSEXT_SUFFIX - 1));
		free(list[i]);
		for (k = 0; k < rep->stacked && strcmp(names[k], name) != 0; k++)
			;
		if (k < rep->stacked) {
			snprintf(why, sizeof why, "an extension named %.64s is stacked already", name);
		} else if (rep->stacked >= CFG_MAX_SYSEXTS) {
			snprintf(why, sizeof why, "more than %d extensions", CFG_MAX_SYSEXTS);
		} else {
			snprintf(mnt, sizeof mnt, "%s/%zu", mnt_dir, rep->stacked);
			if (use_one(c, path, name, rep->stacked, mnt, osid, why) == 0) {
				str_copy(names[rep->stacked++], sizeof names[0], name);
				continue;
			}
		}
		rep->skipped++;
		log_warn("extension %s: skipped: %s", path, why);
	}
	free(list);
}

void sysext_apply(const struct config *c, const char *image_path, const char *image_root,
		  const char *mnt_dir, char *lower, size_t lowersize, struct sysext_report *rep)
{
	static const char *const release_files[] = { "/etc/initrd-release", "/etc/os-release", "/usr/lib/os-release" };
	char dir[SI_PATH_MAX + 64], osid[ID_MAX] = "", *slash;
	unsigned long long t0 = now_ms();
	size_t i, o = 0;
	int initrd;

	memset(rep, 0, sizeof *rep);
	snprintf(lower, lowersize, "%s", image_root);
	if (mkdir_exist_ok(mnt_dir, 0755) < 0) {
		log_warn("extensions: mkdir %s: %s; none stacked", mnt_dir, strerror(errno));
		return;
	}
	/* as systemd-sysext in an initrd: initrd-release first */
	text[0] = '\0';
	for (i = 0; i < sizeof release_files / sizeof release_files[0]; i++) {
		snprintf(dir, sizeof dir, "%s%s", image_root, release_files[i]);
		if (read_file(dir, text, sizeof text, NULL) == 0)
			break;
		text[0] = '\0';
	}
	if (text[0] && sysext_parse_release(text, osid, sizeof osid, &initrd) < 0)
		osid[0] = '\0';
	scan(c, SYSEXT_STUB_DIR, mnt_dir, osid, rep);
	str_copy(dir, sizeof dir, image_path);
	slash = strrchr(dir, '/');
	if (slash) {
		str_copy(slash + 1, sizeof dir - (size_t)(slash + 1 - dir), SYSEXT_SHARED_DIR);
		scan(c, dir, mnt_dir, osid, rep);
	}
	snprintf(dir, sizeof dir, "%s%s", image_path, SYSEXT_IMAGE_SUFFIX);
	scan(c, dir, mnt_dir, osid, rep);
	/* the topmost layer first: the last one stacked */
	for (i = rep->stacked; i-- > 0;) {
		int n = snprintf(lower + o, lowersize - o, "%s/%zu:", mnt_dir, i);

		if (n < 0 || (size_t)n >= lowersize - o)
			break;
		o += (size_t)n;
	}
	snprintf(lower + o, lowersize - o, "%s", image_root);
	if (rep->stacked || rep->skipped)
		log_info("extensions: %zu stacked, %zu skipped, image os-release ID=%s (%llu ms)",
			 rep->stacked, rep->skipped, osid[0] ? osid : "(none)", now_ms() - t0);
}

void sysext_release(const char *mnt_dir, size_t n)
{
	char mnt[SI_PATH_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(mnt, sizeof mnt, "%s/%zu", mnt_dir, i);
		if (umount2(mnt, MNT_DETACH) < 0)
			log_warn("detach %s: %s", mnt, strerror(errno));
	}
}
