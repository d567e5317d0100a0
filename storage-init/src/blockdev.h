/* Finding the boot device without udev: sysfs scan + superblock probes. */
#ifndef SI_BLOCKDEV_H
#define SI_BLOCKDEV_H

#include "util.h"

struct blockdev {
	char name[64];           /* kernel name, e.g. vdb1 */
	char node[SI_PATH_MAX];  /* device node we opened, e.g. /dev/vdb1 */
	char fstype[8];          /* probed type, may be empty */
};

/* Wait up to timeout_s seconds (0: look once) for the device described by
 * spec (UUID=, LABEL=, PARTUUID=, PARTLABEL=, /dev/...). Returns 0, or -1
 * with a reason in reason (e.g. "not found after 10 s"). */
int bootdev_find(const char *spec, unsigned long timeout_s, struct blockdev *out,
		 char *reason, size_t rlen);
/* One quiet look for that device: 1 if it is there now. */
int bootdev_present(const char *spec, struct blockdev *out);

/* Path of a usable node for MAJ:MIN named NAME: /dev/NAME when devtmpfs
 * has it, otherwise one created under /run/initoverlayfs. */
int blockdev_node(const char *name, unsigned maj, unsigned min, char *path, size_t size);

#endif
