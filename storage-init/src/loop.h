#ifndef SI_LOOP_H
#define SI_LOOP_H

#include <stddef.h>
#include <stdint.h>

/* Attach the open (read-only) image file to a free loop device, read-only
 * and autoclear, with direct I/O when the kernel takes it. Returns an open
 * fd of the loop device (close it only after mounting it: autoclear) and
 * its path, or -1 with errno set and the failing operation in *what. */
int loop_attach(int image_fd, const char *image_name, char *devpath, size_t size,
		const char **what);
/* The same, the device starting `offset` bytes into the file. */
int loop_attach_at(int image_fd, const char *image_name, uint64_t offset, char *devpath,
		   size_t size, const char **what);

#endif
