/* Small extensions in one RAM layer: each is copied out of its (verified)
 * EROFS mount into a staging directory, then merged with the extensions
 * below it as overlayfs would stack the two, so that one tmpfs directory
 * replaces a loop and a dm device per extension, and no device is left for
 * the original init's udev. Stacking rules (Documentation/filesystems/
 * overlayfs.rst): an upper non-directory, whiteout (0/0 character device)
 * or opaque directory hides what is below; an upper directory merges with a
 * lower one; a lower opaque directory or non-directory under an upper
 * directory ends the merge there, so the merged directory becomes opaque. */
#ifndef SI_MERGE_H
#define SI_MERGE_H

#include <stddef.h>

#define MERGE_OPAQUE_XATTR "trusted.overlay.opaque"

struct merge_error {
	char path[512];
	const char *op;
	int err;
};

/* Copy the tree at src (a directory) to dst, which must not exist: types,
 * data, owners, modes, extended attributes, times, hard links within the
 * tree. Returns 0, or -1 with the failing step in e (dst then partly made). */
int merge_copy_tree(const char *src, const char *dst, struct merge_error *e);

/* Move upper's entries into lower, by the rules above, so that lower shows
 * what overlayfs would show of upper over lower (both directories on one
 * filesystem); what lower had that upper hides is removed, upper is left
 * with emptied directories. Returns 0, or -1 with e. */
int merge_over(const char *upper, const char *lower, struct merge_error *e);

/* Remove path and everything under it. Returns 0, or -1 with e. */
int merge_remove_tree(const char *path, struct merge_error *e);

#endif
