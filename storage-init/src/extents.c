#include "extents.h"

#include <stdio.h>
#include <string.h>

#define SECTOR 512u

static int add(struct dm_target *out, size_t max, size_t *n, uint64_t start, uint64_t len,
	       const char *type, const char *dev, uint64_t phys, char *err, size_t errlen)
{
	struct dm_target *t;

	if (*n >= max) {
		snprintf(err, errlen, "more than %zu pieces", max);
		return -1;
	}
	t = &out[(*n)++];
	t->start = start / SECTOR;
	t->length = len / SECTOR;
	t->type = type;
	t->params[0] = '\0';
	if (dev)
		snprintf(t->params, sizeof t->params, "%s %llu", dev, (unsigned long long)(phys / SECTOR));
	return 0;
}

int extents_table(const struct si_fiemap_extent *ext, size_t n, uint64_t size, const char *dev,
		  struct dm_target *out, size_t max, char *err, size_t errlen)
{
	uint64_t at = 0; /* bytes of the file mapped so far */
	size_t i, nt = 0;

	if (size == 0 || size % SECTOR) {
		snprintf(err, errlen, "size %llu is not a whole number of sectors", (unsigned long long)size);
		return -1;
	}
	for (i = 0; i < n && at < size; i++) {
		const struct si_fiemap_extent *e = &ext[i];
		uint64_t len = e->fe_length;

		if (e->fe_flags & SI_FIEMAP_EXTENT_UNMAPPABLE) {
			snprintf(err, errlen, "extent at byte %llu has flags 0x%x (not plain blocks on the device)",
				 (unsigned long long)e->fe_logical, e->fe_flags);
			return -1;
		}
		if (e->fe_logical % SECTOR || e->fe_physical % SECTOR || len % SECTOR || len == 0) {
			snprintf(err, errlen, "extent at byte %llu is not sector-aligned", (unsigned long long)e->fe_logical);
			return -1;
		}
		if (e->fe_logical < at || len > UINT64_MAX - e->fe_logical || len > UINT64_MAX - e->fe_physical) {
			snprintf(err, errlen, "extent at byte %llu overlaps or wraps", (unsigned long long)e->fe_logical);
			return -1;
		}
		if (e->fe_logical >= size)
			break;
		/* a hole reads as zeros, as from the file */
		if (e->fe_logical > at && add(out, max, &nt, at, e->fe_logical - at, "zero", NULL, 0, err, errlen) < 0)
			return -1;
		if (len > size - e->fe_logical)
			len = size - e->fe_logical; /* the last block's tail past the end of the file */
		if (add(out, max, &nt, e->fe_logical, len, "linear", dev, e->fe_physical, err, errlen) < 0)
			return -1;
		at = e->fe_logical + len;
	}
	if (at < size && add(out, max, &nt, at, size - at, "zero", NULL, 0, err, errlen) < 0)
		return -1;
	return (int)nt;
}

int extents_append(struct si_fiemap_extent *ext, size_t *n, size_t max, uint64_t logical,
		   uint64_t physical, uint64_t len)
{
	struct si_fiemap_extent *last = *n ? &ext[*n - 1] : NULL;

	if (physical == 0)
		return 0; /* a hole: extents_table reads it as zeros */
	if (last && last->fe_logical + last->fe_length == logical &&
	    last->fe_physical + last->fe_length == physical) {
		last->fe_length += len;
		return 0;
	}
	if (*n >= max)
		return -1;
	memset(&ext[*n], 0, sizeof ext[*n]);
	ext[*n].fe_logical = logical;
	ext[*n].fe_physical = physical;
	ext[*n].fe_length = len;
	(*n)++;
	return 0;
}
