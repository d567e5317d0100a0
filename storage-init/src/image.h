/* The image step: open the image file, check it as `integrity` says,
 * attach it (loop device; dm-verity on top) and mount EROFS read-only. */
#ifndef SI_IMAGE_H
#define SI_IMAGE_H

#include <stddef.h>
#include "config.h"

#define DM_VERITY_NAME "initoverlayfs-verity"

struct image_mounted {
	char dev[SI_PATH_MAX];     /* the block device EROFS is mounted from */
	char loopdev[SI_PATH_MAX];
	long long size;            /* image file bytes */
};

/* Any failure prints one "FAILED at <step>" line and applies the failure
 * policy (never returns). On success nothing is left open: the mount holds
 * the device, which goes away (loop autoclear, dm deferred remove) when the
 * mount does; the image file is held only by the loop device (none, fs-verity,
 * dm-verity) or not at all (copy: the loop device holds the sealed memfd). */
void image_mount(const struct config *c, const char *path, const char *mnt,
		 struct image_mounted *out);

#endif
