#ifndef SI_SWITCHROOT_H
#define SI_SWITCHROOT_H

#include "args.h"

/* storage-init running as run-init or switch_root. Never returns on
 * success (execs INIT); returns an exit status otherwise. */
int shim_main(enum tool t, int argc, char **argv);

/* Is INIT executable inside NEWROOT (symlinks resolved inside it)?
 * Returns 0 or -1 with errno. */
int init_is_executable(const char *newroot, const char *init);

/* The steps of switch_by_move(); each caller names them in its own
 * FAILED line. */
enum move_step { MOVE_OPEN_ROOT, MOVE_MOUNT, MOVE_CHROOT, MOVE_CHDIR };

/* Classic switch for a root that cannot be pivoted (rootfs): with cwd at
 * the new root, delete the old root's files if it is tmpfs/ramfs (OLD_NAME
 * says whose in the debug line), MS_MOVE "." onto "/", chroot("."),
 * chdir("/"). Returns 0, or -1 with errno and the failing step in *failed. */
int switch_by_move(const char *old_name, enum move_step *failed);

#endif
