/* Where one file's blocks are on an ext2/3/4 filesystem, read from its
 * metadata (superblock, group descriptor, inodes, extent trees,
 * directories) without the kernel's ext4 driver: with dm-verity pinning
 * the image's contents, storage-init maps the image straight from the
 * partition and never mounts the boot filesystem. Pure: every read goes
 * through a callback, and is bounded by what the metadata says.
 *
 * What it refuses (the caller mounts the filesystem instead): block-mapped
 * files (ext2/ext3 without extents), inline or encrypted directories,
 * meta_bg, an external journal device, a journal that needs recovery (its
 * newer metadata would not be seen), feature bits it does not know, a
 * symlink on the way, and anything malformed. */
#ifndef SI_EXT4MAP_H
#define SI_EXT4MAP_H

#include <stddef.h>
#include <stdint.h>
#include "kabi.h"

/* Reads LEN bytes at byte OFF of the partition; 0, or -1 (errno set). */
typedef int (*ext4_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

/* The extents of the regular file at PATH (absolute, from the filesystem's
 * root) as FIEMAP would give them (bytes on the partition, in file order;
 * unwritten ones flagged), at most MAX of them, and its size. Returns the
 * number of extents, or -1 with a reason in err. */
long ext4_file_extents(ext4_read_fn read, void *ctx, const char *path,
		       struct si_fiemap_extent *ext, size_t max, uint64_t *size,
		       char *err, size_t errlen);

#endif
