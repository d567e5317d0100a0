#ifndef SI_SWITCHROOT_H
#define SI_SWITCHROOT_H

#include "args.h"

/* storage-init running as run-init or switch_root. Never returns on
 * success (execs INIT); returns an exit status otherwise. */
int shim_main(enum tool t, int argc, char **argv);

/* Is INIT executable inside NEWROOT (symlinks resolved inside it)?
 * Returns 0 or -1 with errno. */
int init_is_executable(const char *newroot, const char *init);

/* Classic switch for a root that cannot be pivoted (rootfs): with cwd at
 * the new root, delete the old root's files if it is tmpfs/ramfs,
 * MS_MOVE "." onto "/", chroot("."), chdir("/"). Returns 0 or -1 with
 * errno and the failing operation in *what. */
int switch_by_move(const char **what);

#endif
