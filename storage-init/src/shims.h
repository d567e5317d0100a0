/* Switch-root shims: storage-init copied over run-init / switch_root in
 * the new root, and bare-name calls in its scripts pointed at the copy.
 * See "The switch-root shim mechanism" in README.md. */
#ifndef SI_SHIMS_H
#define SI_SHIMS_H

#include "config.h"

/* What failed, carried out of the chrooted child through a pipe. */
struct shim_report {
	int err;
	char path[SI_PATH_MAX];
};

/* In a child chrooted into ROOT: install c->shims (the ones present in the
 * image), then rewrite c->scripts. Returns 0, or -1 with the errno and the
 * path that failed in *rep. */
int install_shims(const struct config *c, const char *root, struct shim_report *rep);

#endif
