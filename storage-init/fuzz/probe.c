/* Filesystem superblock probes on the start of a device (len may be short: small devices). */
#include "fuzz.h"
#include "blkid.h"

static void check(int (*probe)(const unsigned char *, size_t, struct fs_info *),
		  const uint8_t *data, size_t size)
{
	struct fs_info fi;

	if (probe(data, size, &fi) == 1) {
		fuzz_touch(fi.fstype, sizeof fi.fstype);
		fuzz_touch(fi.uuid, sizeof fi.uuid);
		fuzz_touch(fi.label, sizeof fi.label);
	}
}

static void fuzz_one(const uint8_t *data, size_t size)
{
	if (size > PROBE_BUF_SIZE)
		size = PROBE_BUF_SIZE;
	check(probe_ext, data, size);
	check(probe_vfat, data, size);
	check(probe_xfs, data, size);
	check(probe_btrfs, data, size);
	check(probe_fs, data, size);
}
