/* device-mapper through its ioctls on /dev/mapper/control (no libdevmapper). */
#ifndef SI_DM_H
#define SI_DM_H

#include <stddef.h>
#include <stdint.h>

struct dm_target {
	uint64_t start;   /* sectors into the mapped device */
	uint64_t length;  /* sectors */
	const char *type; /* "verity", "linear", "zero" */
	char params[48];  /* short parameters ("MAJ:MIN SECTOR" for linear) */
	const char *long_params; /* used instead of params when set (a verity table) */
};

/* Create device NAME with the read-only table TARGETS[0..N) and resume it.
 * Returns 0 with the device number, or -1 with errno set and the failing
 * operation in *what; a half-made device is removed. */
int dm_create_readonly(const char *name, const struct dm_target *targets, size_t n,
		       unsigned *maj, unsigned *min, const char **what);
/* Remove NAME; deferred: when its last opener closes it (our mount). */
int dm_remove(const char *name, int deferred);

#endif
