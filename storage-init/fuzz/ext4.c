/* ext2/3/4 metadata as storage-init reads an image's blocks without mounting the boot
 * filesystem (src/ext4map.c): the input is the whole filesystem; reads past its end fail. */
#include "fuzz.h"
#include "ext4map.h"
#include "extents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mem {
	const uint8_t *data;
	size_t size;
};

static int mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct mem *m = ctx;

	if (off > m->size || len > m->size - off) {
		errno = EIO;
		return -1;
	}
	memcpy(buf, m->data + off, len);
	return 0;
}

static void fuzz_one(const uint8_t *data, size_t size)
{
	static struct si_fiemap_extent ext[EXTENTS_MAX + 1];
	struct mem m = { data, size };
	char err[256];
	uint64_t bytes, next = 0;
	long n, i;

	n = ext4_file_extents(mem_read, &m, "/boot/initoverlayfs.img", ext, EXTENTS_MAX + 1, &bytes, err, sizeof err);
	if (n < 0) {
		fuzz_touch(err, sizeof err);
		return;
	}
	/* what the reader promises: extents in file order, none empty */
	for (i = 0; i < n; i++) {
		if (ext[i].fe_length == 0 || ext[i].fe_logical < next)
			abort();
		next = ext[i].fe_logical + ext[i].fe_length;
	}
}
