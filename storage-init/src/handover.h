/* Hand-over of what the boot loader appended: everything in the initial
 * rootfs that is not one of the mini initramfs's own paths (its manifest)
 * is moved into the new root, file by file, before the original init runs.
 * storage-init never opens these files for anything but copying them. */
#ifndef SI_HANDOVER_H
#define SI_HANDOVER_H

#include "manifest.h"

struct handover_stats {
	unsigned long files, dirs, symlinks, nodes; /* nodes: devices, fifos, sockets */
	unsigned long links;     /* extra names of a multi-linked file, linked again */
	unsigned long replaced;  /* entries of the image replaced */
	unsigned long skipped;   /* could not be placed, as the kernel's unpacking could not either */
	unsigned long long bytes;
};

/* What happened; on failure, the path and "operation: reason". */
struct handover_report {
	struct handover_stats st;
	char path[MANIFEST_PATH_MAX];
	char reason[160];
};

/* Move every entry below the directory SRC (on one filesystem: mount
 * points are left alone; SKIP, a path like "/initoverlayfs", too) that M
 * does not list into DST, with its owner, mode, times, symlink target or
 * device number; files DST has are replaced. SRC is emptied as it goes:
 * the extra memory is one 64 KiB chunk (a multi-linked file: its size).
 * Returns 0, or -1 with rep->path and rep->reason. */
int handover_tree(int src, int dst, const struct manifest *m, const char *skip,
		  struct handover_report *rep);

/* The boot's step: read MANIFEST_PATH, then handover_tree("/", NEWROOT) in
 * a child chrooted into NEWROOT (so that the image's absolute symlinks,
 * /lib -> /usr/lib, resolve inside it). Same returns. */
int handover_appended(const char *newroot, const char *skip, struct handover_report *rep);

#endif
