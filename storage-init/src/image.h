/* The image step: open the image file, check it as `integrity` says,
 * attach it (loop device; dm-verity on top) and mount EROFS read-only. */
#ifndef SI_IMAGE_H
#define SI_IMAGE_H

#include <stddef.h>
#include "config.h"

#define DM_VERITY_NAME "initoverlayfs-verity"
#define DM_IMAGE_NAME "initoverlayfs-image"
#define DM_ROOT_NAME "initoverlayfs-root"  /* image_format = ddi: the root partition */

struct image_mounted {
	char dev[SI_PATH_MAX];     /* the block device EROFS is mounted from */
	char loopdev[SI_PATH_MAX];
	long long size;            /* image file bytes */
	int unpinned;              /* nothing holds the boot filesystem: unmount it */
	unsigned long long root_offset; /* image_format = ddi: the root partition's byte offset */
};

/* Any failure prints one "FAILED at <step>" line and applies the failure
 * policy (never returns). On success nothing is left open: the mount holds
 * the device, which goes away (loop autoclear, dm deferred remove) when the
 * mount does.
 * How the image is read: dm-verity and none map the image's blocks on the
 * boot partition (FIEMAP) through a read-only loop device over BOOTDEV and a
 * dm-linear device, so nothing holds the boot filesystem (out->unpinned);
 * copy reads a sealed memfd; fs-verity, and a file whose blocks cannot be
 * mapped (or BOOTDEV NULL), go through a loop device on the file, which
 * keeps the boot filesystem in use while the image is mounted. */
void image_mount(const struct config *c, const char *path, const char *bootdev, const char *mnt,
		 struct image_mounted *out);

/* Before the boot filesystem is mounted: a plain image pinned by dm-verity,
 * found by c->image in the ext2/3/4 metadata of BOOTDEV (probed as FSTYPE)
 * and mapped as image_mount maps it, so neither the filesystem's driver nor
 * a mount is needed. Returns 0 with the image mounted on MNT, or -1 with a
 * reason when it cannot be found that way, nothing set up (the caller then
 * mounts the filesystem): another type, metadata this reader refuses, or a
 * verity superblock at the image's hash offset that is not the pinned one.
 * A failure after that (attaching, dm-verity, the mount) is fatal, as in
 * image_mount. */
int image_mount_unmounted(const struct config *c, const char *bootdev, const char *fstype, const char *mnt,
			  struct image_mounted *out, char *err, size_t errlen);

#endif
