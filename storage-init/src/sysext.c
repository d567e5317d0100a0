#define _GNU_SOURCE
#include "sysext.h"
#include "blockdev.h"
#include "ddi.h"
#include "dm.h"
#include "failure.h"
#include "fsverity.h"
#include "integrity.h"
#include "log.h"
#include "loop.h"
#include "merge.h"
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
#define USR_RELEASE_DIR (RELEASE_DIR + 4) /* in a usr partition, which is /usr */

/* the verity parameters of the extension at hand, for verity_table(), and
 * its salt as bytes for the tree computed in RAM */
static struct config vc;
static unsigned char salt[CFG_SALT_MAX];
static size_t salt_len;
static char names[CFG_MAX_SYSEXTS][256];
static char text[4096];

/* the overlay's extension layers, bottom first: layer N is mnt_dir/N (one
 * extension's own mount) or, a RAM layer, mnt_dir/r/N (any number merged) */
static unsigned char layer_in_ram[CFG_MAX_SYSEXTS];
static size_t n_layers;
static int ram_mounted;

static void layer_dir(const char *mnt_dir, size_t i, char *out, size_t size)
{
	snprintf(out, size, "%.200s/%s%zu", mnt_dir, layer_in_ram[i] ? SYSEXT_RAM_DIR "/" : "", i);
}

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
	unsigned n_salt;

	if (pread_full(fd, sb, sizeof sb, (off_t)l->verity.offset) != (ssize_t)sizeof sb) {
		snprintf(why, WHY_MAX, "verity superblock unreadable");
		return -1;
	}
	blocks = (unsigned long long)rd32(sb + 72) | (unsigned long long)rd32(sb + 76) << 32;
	n_salt = (unsigned)sb[80] | (unsigned)sb[81] << 8;
	if (memcmp(sb, "verity\0\0", 8) != 0 || rd32(sb + 8) != 1 || rd32(sb + 12) > 1 ||
	    memcmp(sb + 32, "sha256", 7) != 0 || rd32(sb + 64) != VERITY_BLOCK ||
	    rd32(sb + 68) != VERITY_BLOCK || n_salt > CFG_SALT_MAX || blocks == 0 ||
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
	if (n_salt)
		hex_encode(vc.verity_salt, sb + 88, n_salt);
	else
		str_copy(vc.verity_salt, sizeof vc.verity_salt, "-");
	salt_len = n_salt;
	memcpy(salt, sb + 88, salt_len);
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

/* What the mounted extension holds, checked: /usr and /opt only (a usr
 * partition is /usr), its extension-release for the initrd and the image's
 * ID. 0, or -1 with why. */
static int check_content(const char *mnt, int usr, const char *name, const char *osid, char *id, char *why)
{
	char rel[3 * SI_PATH_MAX];
	int initrd;

	if (!usr && check_top(mnt, why) < 0)
		return -1;
	snprintf(rel, sizeof rel, "%s%s%s", mnt, usr ? USR_RELEASE_DIR : RELEASE_DIR, name);
	if (read_file(rel, text, sizeof text, NULL) < 0) {
		snprintf(why, WHY_MAX, "no %s%.64s (%s)", (usr ? USR_RELEASE_DIR : RELEASE_DIR) + 1, name, strerror(errno));
		return -1;
	}
	if (sysext_parse_release(text, id, ID_MAX, &initrd) < 0) {
		snprintf(why, WHY_MAX, "extension-release.%.64s: no ID=", name);
		return -1;
	}
	if (!initrd) {
		snprintf(why, WHY_MAX, "SYSEXT_SCOPE does not include initrd");
		return -1;
	}
	if (strcmp(id, "_any") != 0 && strcmp(id, osid) != 0) {
		snprintf(why, WHY_MAX, "ID=%s, the image's os-release says ID=%s", id, osid[0] ? osid : "(none)");
		return -1;
	}
	return 0;
}

/* One extension on its own devices (a loop device from its root partition
 * on, dm-verity over it), mounted as layer n_layers; 0, or -1 with why
 * (then nothing of it stays attached or mounted). */
static int use_devices(int fd, const char *path, const char *name, const struct ddi_layout *l,
		       const char *roothash, const char *mnt_dir, const char *osid, char *why)
{
	static char table[VERITY_TABLE_MAX];
	char loopdev[SI_PATH_MAX], node[SI_PATH_MAX], dev[24], mnt[SI_PATH_MAX];
	char verity_name[32], id[ID_MAX], dmname[32];
	struct dm_target t;
	const char *what;
	unsigned maj, min;
	int loop_fd, rc = -1, stage = 0;

	layer_in_ram[n_layers] = 0;
	layer_dir(mnt_dir, n_layers, mnt, sizeof mnt);
	snprintf(verity_name, sizeof verity_name, "initoverlayfs-x%zu", n_layers);
	/* from the root partition on: dm-verity's data start at its device's
	 * sector 0, and the hash partition follows in the same device */
	loop_fd = loop_attach_at(fd, path, l->root.offset, loopdev, sizeof loopdev, &what);
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
	if (check_content(mnt, 0, name, osid, id, why) < 0)
		goto out;
	log_info("extension %s: stacked on %s (root hash %.16s..., %lu blocks read through dm-verity, ID=%s)",
		 path, mnt, roothash, vc.verity_data_blocks, id);
	n_layers++;
	rc = 0;
out:
	if (rc < 0 && stage >= 3 && umount2(mnt, 0) < 0)
		log_warn("umount %s: %s", mnt, strerror(errno));
	/* when the mount goes (or now, unused) */
	if (stage >= 2 && dm_remove(verity_name, rc == 0) < 0)
		log_warn("remove %s: %s", verity_name, strerror(errno));
	if (loop_fd >= 0)
		close(loop_fd); /* autoclear: the loop device goes with the dm device over it */
	return rc;
}

/* The RAM layers' tmpfs, on first use. 0, or -1 with why. */
static int ram_mount(const char *mnt_dir, char *why)
{
	char dir[SI_PATH_MAX];

	if (ram_mounted)
		return 0;
	snprintf(dir, sizeof dir, "%s/" SYSEXT_RAM_DIR, mnt_dir);
	if (mkdir_exist_ok(dir, 0755) < 0 ||
	    do_mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=" SYSEXT_RAM_SIZE) < 0) {
		snprintf(why, WHY_MAX, "tmpfs on %.64s: %s", dir, strerror(errno));
		return -1;
	}
	ram_mounted = 1;
	return 0;
}

enum ram_result { RAM_STACKED, RAM_SKIPPED, RAM_NOT_HERE };

/* The staged copy merged as the new top: under a RAM layer on top, or as a
 * new one. A failure here leaves a layer half merged: the boot fails. */
static void ram_stack(const char *mnt_dir, const char *stage, const char *path, char *layer,
		      size_t layersize)
{
	struct merge_error e;
	const char *step = "merge";

	if (n_layers && layer_in_ram[n_layers - 1]) {
		layer_dir(mnt_dir, n_layers - 1, layer, layersize);
		if (merge_over(stage, layer, &e) < 0 || (step = "remove", merge_remove_tree(stage, &e)) < 0)
			goto fail;
		return;
	}
	layer_in_ram[n_layers] = 1;
	layer_dir(mnt_dir, n_layers++, layer, layersize);
	if (rename(stage, layer) < 0) {
		e.err = errno;
		e.op = "rename";
		str_copy(e.path, sizeof e.path, stage);
		goto fail;
	}
	return;
fail:
	{
		char reason[sizeof e.path + 80];

		snprintf(reason, sizeof reason, "%s into %.100s: %s %.300s: %s", step, layer, e.op, e.path, strerror(e.err));
		fail("stack extensions", path, reason);
	}
}

/* An extension of at most SYSEXT_RAM_ONE bytes: its root partition copied
 * into a sealed memfd while its dm-verity tree is computed, the root hash
 * compared with the pinned one, then mounted from there (a loop device on
 * the memfd) and copied into the RAM layer. RAM_NOT_HERE with why: it could
 * not be done this way (memory, the tmpfs full, an attribute tmpfs cannot
 * hold), the devices are tried. */
static enum ram_result use_in_ram(int fd, const char *path, const char *name, const struct ddi_layout *l,
				  const char *roothash, const char *mnt_dir, const char *osid, char *why)
{
	static struct fsverity_ctx tree;
	unsigned char got[32], want[32];
	char mnt[SI_PATH_MAX], stage[SI_PATH_MAX], layer[SI_PATH_MAX], loopdev[SI_PATH_MAX];
	char target[SI_PATH_MAX + 8], id[ID_MAX], hex[65];
	uint64_t size = (uint64_t)vc.verity_data_blocks * VERITY_BLOCK;
	enum ram_result rc = RAM_NOT_HERE;
	struct merge_error e = { .op = NULL };
	const char *what;
	int mfd, rofd = -1, loop_fd = -1, mounted = 0;

	if (ram_mount(mnt_dir, why) < 0)
		return RAM_NOT_HERE;
	if (lseek(fd, (off_t)l->root.offset, SEEK_SET) < 0 ||
	    dmverity_init(&tree, size, salt, salt_len, (unsigned)vc.verity_format) < 0) {
		snprintf(why, WHY_MAX, "seek/tree: %s", strerror(errno));
		return RAM_NOT_HERE;
	}
	mfd = copy_to_sealed_memfd(fd, size, &tree, &what);
	if (mfd < 0) {
		snprintf(why, WHY_MAX, "%s: %s", what, strerror(errno));
		return RAM_NOT_HERE;
	}
	(void)dmverity_root(&tree, got);
	if (hex_decode(roothash, want, sizeof want) != (long)sizeof want || memcmp(got, want, sizeof want) != 0) {
		hex_encode(hex, got, sizeof got);
		snprintf(why, WHY_MAX, "verity: the data give root hash %.16s..., not the pinned one", hex);
		close(mfd);
		return RAM_SKIPPED;
	}
	rofd = memfd_reopen_readonly(mfd);
	snprintf(mnt, sizeof mnt, "%s/" SYSEXT_RAM_MOUNT, mnt_dir);
	snprintf(stage, sizeof stage, "%s/" SYSEXT_RAM_DIR "/" SYSEXT_RAM_STAGE, mnt_dir);
	if (rofd < 0 || (loop_fd = loop_attach(rofd, path, loopdev, sizeof loopdev, &what)) < 0) {
		snprintf(why, WHY_MAX, "%.64s: %s", rofd < 0 ? MEMFD_REOPEN_WHAT : what, strerror(errno));
		goto out;
	}
	rc = RAM_SKIPPED; /* from here on, the verified data themselves are at fault */
	if (mkdir_exist_ok(mnt, 0755) < 0 || do_mount(loopdev, mnt, "erofs", MS_RDONLY, NULL) < 0) {
		snprintf(why, WHY_MAX, "mount %.64s on %.64s: %s", loopdev, mnt, strerror(errno));
		goto out;
	}
	mounted = 1;
	if (check_content(mnt, l->usr, name, osid, id, why) < 0)
		goto out;
	/* a usr partition's root is the layer's /usr */
	snprintf(target, sizeof target, "%s%s", stage, l->usr ? "/usr" : "");
	if ((l->usr && mkdir(stage, 0755) < 0) || merge_copy_tree(mnt, target, &e) < 0) {
		if (l->usr && !e.op) {
			e.op = "mkdir";
			e.err = errno;
			str_copy(e.path, sizeof e.path, stage);
		}
		snprintf(why, WHY_MAX, "copy into RAM: %s %.100s: %s", e.op, e.path, strerror(e.err));
		if (merge_remove_tree(stage, &e) < 0 && e.err != ENOENT)
			fail("stack extensions", stage, "a failed copy cannot be removed");
		rc = RAM_NOT_HERE;
		goto out;
	}
	ram_stack(mnt_dir, stage, path, layer, sizeof layer);
	log_info("extension %s: stacked on %s (in RAM: root hash %.16s..., %lu blocks verified in memory, ID=%s)",
		 path, layer, roothash, vc.verity_data_blocks, id);
	rc = RAM_STACKED;
out:
	if (mounted && umount2(mnt, 0) < 0 && umount2(mnt, MNT_DETACH) < 0)
		log_warn("umount %s: %s", mnt, strerror(errno));
	if (loop_fd >= 0)
		close(loop_fd); /* autoclear: the loop device is free again once unmounted */
	if (rofd >= 0)
		close(rofd);
	return rc;
}

/* One extension, verified and stacked: in RAM when small, else on its own
 * devices; 0, or -1 with why (never mounted then). */
static int use_one(const struct config *c, const char *path, const char *name, const char *mnt_dir,
		   const char *osid, char *why)
{
	char roothash[65], err[160];
	struct ddi_layout l;
	struct stat st;
	int fd, rc = -1;

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
	if ((uint64_t)vc.verity_data_blocks * VERITY_BLOCK <= SYSEXT_RAM_ONE) {
		enum ram_result r = use_in_ram(fd, path, name, &l, roothash, mnt_dir, osid, why);

		if (r != RAM_NOT_HERE) {
			rc = r == RAM_STACKED ? 0 : -1;
			goto out;
		}
		if (l.usr) {
			/* an overlay layer cannot have a mount at its /usr */
			snprintf(why + strlen(why), WHY_MAX - strlen(why), "; a usr partition is stacked only from RAM");
			goto out;
		}
		log_info("extension %s: not in RAM (%s): on its own loop and dm-verity devices", path, why);
	} else if (l.usr) {
		snprintf(why, WHY_MAX, "a usr partition of over %d MiB: stacked only from RAM", SYSEXT_RAM_ONE >> 20);
		goto out;
	}
	rc = use_devices(fd, path, name, &l, roothash, mnt_dir, osid, why);
out:
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
	char path[2 * SI_PATH_MAX], why[WHY_MAX], name[256];
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
			if (use_one(c, path, name, mnt_dir, osid, why) == 0) {
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
	/* the RAM layers are done: nothing writes to them any more */
	snprintf(dir, sizeof dir, "%s/" SYSEXT_RAM_DIR, mnt_dir);
	if (ram_mounted && mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		fail_errno("stack extensions", dir, errno);
	rep->layers = n_layers;
	/* the topmost layer first: the last one stacked (CFG_MAX_SYSEXTS of
	 * them fit: main.c sizes lower for that) */
	for (i = n_layers; i-- > 0;) {
		int n;

		layer_dir(mnt_dir, i, dir, sizeof dir);
		n = snprintf(lower + o, lowersize - o, "%s:", dir);

		if (n < 0 || (size_t)n >= lowersize - o)
			fail("stack extensions", mnt_dir, "too many layers for the overlay's options");
		o += (size_t)n;
	}
	snprintf(lower + o, lowersize - o, "%s", image_root);
	if (rep->stacked || rep->skipped)
		log_info("extensions: %zu stacked, %zu skipped, %zu layer(s), image os-release ID=%s (%llu ms)",
			 rep->stacked, rep->skipped, n_layers, osid[0] ? osid : "(none)", now_ms() - t0);
}

int sysext_may_read_boot(const struct config *c)
{
	return c->n_sysext > 0 || access(SYSEXT_CERT_PATH, F_OK) == 0;
}

void sysext_release(const char *mnt_dir)
{
	char mnt[SI_PATH_MAX];
	size_t i;

	for (i = 0; i < n_layers; i++) {
		if (layer_in_ram[i])
			continue;
		layer_dir(mnt_dir, i, mnt, sizeof mnt);
		if (umount2(mnt, MNT_DETACH) < 0)
			log_warn("detach %s: %s", mnt, strerror(errno));
	}
	snprintf(mnt, sizeof mnt, "%s/" SYSEXT_RAM_DIR, mnt_dir);
	if (ram_mounted && umount2(mnt, MNT_DETACH) < 0)
		log_warn("detach %s: %s", mnt, strerror(errno));
}
