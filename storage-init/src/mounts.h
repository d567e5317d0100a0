#ifndef SI_MOUNTS_H
#define SI_MOUNTS_H

#include <stddef.h>

/* mount(2) with EINTR retry; returns 0 or -1 with errno. */
int do_mount(const char *src, const char *target, const char *type,
	     unsigned long flags, const char *data);

/* /proc, /sys, /dev (devtmpfs), /run (tmpfs); *what names the failing one. */
int mount_api_filesystems(const char **what);
/* Make sure fds 0, 1, 2 are open (on /dev/console, else /dev/null). */
void ensure_std_fds(void);

/* Mount the boot device read-only on target. fstype "auto" tries the
 * probed type first, then mount_fstypes. flags (bootflags) get the type's
 * mount_no_replay_option. prepare(type, ctx) runs before each try (it loads
 * the type's modules). Returns 0 or -1 with errno; *used gets the type that
 * worked. */
int mount_boot(const char *dev, const char *target, const char *fstype,
	       const char *probed, const char *flags,
	       void (*prepare)(const char *type, void *ctx), void *ctx, const char **used);

/* Is the filesystem at path a tmpfs or ramfs (statfs magic)? */
int is_ram_fs(const char *path);

/* The option that makes a read-only mount of this type skip journal
 * replay (which writes even then): ext3/ext4 noload, xfs norecovery;
 * NULL for the others. */
const char *mount_no_replay_option(const char *type);

/* Delete everything below the directory fd that is on the same filesystem
 * (does not cross into mounts). Best effort; returns entries removed. */
unsigned long delete_tree(int dirfd);

/* Give directory TO the owner, mode and times of FROM. Returns 0 or -1
 * with errno. */
int copy_dir_attrs(const char *from, const char *to);

/* MS_MOVE /dev, /proc, /sys to NEWROOT/..., creating the directories, and
 * unmount /run (the original init mounts its own). Returns 0 or -1 with
 * errno and the failing path in what. */
int move_api_mounts(const char *newroot, char *what, size_t size);

#endif
