/* device-mapper through its ioctls on /dev/mapper/control (no libdevmapper). */
#ifndef SI_DM_H
#define SI_DM_H

#include <stddef.h>

/* Create device NAME with one read-only target (TYPE, PARAMS) over SECTORS
 * and resume it. Returns 0 with the device number, or -1 with errno set
 * and the failing operation in *what; a half-made device is removed. */
int dm_create_readonly(const char *name, const char *type, unsigned long long sectors,
		       const char *params, unsigned *maj, unsigned *min, const char **what);
/* Remove NAME; deferred: when its last opener closes it (our mount). */
int dm_remove(const char *name, int deferred);

#endif
