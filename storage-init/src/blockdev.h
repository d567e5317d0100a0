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

#define BLOCKDEV_NODE_DIR "/run/initoverlayfs"

/* Path of a usable node for MAJ:MIN named NAME: /dev/NAME when devtmpfs
 * has it, otherwise one created on a tmpfs mounted on BLOCKDEV_NODE_DIR
 * (/run itself is nodev). */
int blockdev_node(const char *name, unsigned maj, unsigned min, char *path, size_t size);
/* Unmount that tmpfs and remove its directory, if it was needed: nothing of
 * it may outlive the hand-over. 0 or -1 with errno. */
int blockdev_nodes_release(void);

/* Set the device read-only at the block layer (BLKROSET) unless it is
 * already: then no mount of it can write (journal replay, orphan cleanup).
 * 0 or -1 with errno. */
int blockdev_hold_ro(const char *node);
/* Undo blockdev_hold_ro (BLKROSET 0) if it set the flag: the real system
 * mounts the same device read-write. 0 or -1 with errno. */
int blockdev_release_ro(void);

#endif
