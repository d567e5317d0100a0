/* The image file's blocks on the boot partition (FIEMAP) as a device-mapper
 * table: the image can then be read from the partition itself, and the boot
 * filesystem unmounted before the hand-over (pure: works on arrays). */
#ifndef SI_EXTENTS_H
#define SI_EXTENTS_H

#include <stddef.h>
#include <stdint.h>
#include "dm.h"
#include "kabi.h"

#define EXTENTS_MAX 8192 /* dm targets in one table (a sparse image on a 1 KiB-block ext4 has hundreds); a file in more pieces is attached as a file */

/* Turns the FIEMAP extents of a file of SIZE bytes (a multiple of 512)
 * into targets over the device DEV ("MAJ:MIN") covering [0, SIZE): holes
 * read as zeros, extents past SIZE are cut. Returns the number of targets,
 * or -1 with a reason in err (unsorted or overlapping extents, an extent
 * whose data is not at a plain device location, misalignment, too many). */
int extents_table(const struct si_fiemap_extent *ext, size_t n, uint64_t size, const char *dev,
		  struct dm_target *out, size_t max, char *err, size_t errlen);

/* Appends LEN bytes of the file at LOGICAL, stored at PHYSICAL on the device
 * (0: a hole), to the extents EXT[0..*n), merging with the last one when
 * both are contiguous (FIBMAP answers block by block). Returns 0, or -1 when
 * MAX extents would not do. */
int extents_append(struct si_fiemap_extent *ext, size_t *n, size_t max, uint64_t logical,
		   uint64_t physical, uint64_t len);

#endif
