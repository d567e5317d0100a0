/* The mini initramfs's manifest: every path the build put into it, so that
 * storage-init hands over everything else in the initial rootfs (what the
 * boot loader appended) and nothing of its own. Pure: works on a buffer. */
#ifndef SI_MANIFEST_H
#define SI_MANIFEST_H

#include <stddef.h>

/* src/formats/storage-init-config/schema.ts: MANIFEST_PATH, LIMITS.manifest* */
#define MANIFEST_PATH "/etc/initoverlayfs.manifest"
#define MANIFEST_FILE_MAX    (64 * 1024)
#define MANIFEST_MAX_ENTRIES 1024
#define MANIFEST_PATH_MAX    4096       /* PATH_MAX: the longest name a cpio member has */

/* One line "MODE UID GID PATH": MODE octal with the type bits (40755),
 * PATH absolute; lines sorted by PATH bytes (strcmp order). */
struct manifest_entry {
	const char *path;
	unsigned mode, uid, gid;
};

struct manifest {
	size_t n;
	struct manifest_entry e[MANIFEST_MAX_ENTRIES];
};

/* Parse buf[0..len) in place (newlines become NULs; buf[len] must be
 * writable). Checks: every line complete, a known file type, absolute
 * normalized paths (no "//", ".", "..", trailing "/"), strictly ascending,
 * every parent listed before its children as a directory. Returns 0, or -1
 * with "line N (byte OFF): what was expected" in err. */
int manifest_parse(struct manifest *m, char *buf, size_t len, char *err, size_t errlen);

/* The entry for an absolute path, or NULL. */
const struct manifest_entry *manifest_find(const struct manifest *m, const char *path);

#endif
