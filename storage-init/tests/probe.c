/* Host helper for tests/real-images.sh: print what storage-init's probes see
 * in an image file, in `blkid -o export` form.
 *   probe FILE              -> TYPE= UUID= LABEL=
 *   probe --part FILE N     -> PARTUUID= (and PARTLABEL=) of partition N
 *   probe --ext4 FILE PATH  -> SIZE= and one "LOGICAL PHYSICAL LENGTH FLAGS" line (bytes)
 *                              per extent of PATH, as storage-init reads them without a mount */
#include "blkid.h"
#include "ext4map.h"
#include "extents.h"
#include "gpt.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char buf[PROBE_BUF_SIZE];
static struct si_fiemap_extent ext[EXTENTS_MAX + 1];
static unsigned char entries[GPT_ENTRIES_MAX_BYTES];

int main(int argc, char **argv)
{
	struct fs_info fi;
	struct gpt_header h;
	unsigned long partno;
	char uuid[37], name[80], mbr[16];
	ssize_t r;
	int fd;

	if (argc == 2) {
		fd = open(argv[1], O_RDONLY);
		if (fd < 0 || (r = pread_full(fd, buf, sizeof buf, 0)) < 0) {
			perror(argv[1]);
			return 2;
		}
		close(fd);
		if (!probe_fs(buf, (size_t)r, &fi))
			return 1;
		printf("TYPE=%s\n", fi.fstype);
		if (fi.uuid[0])
			printf("UUID=%s\n", fi.uuid);
		if (fi.label[0])
			printf("LABEL=%s\n", fi.label);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--part") == 0 && parse_ulong(argv[3], 128, &partno) == 0) {
		fd = open(argv[2], O_RDONLY);
		if (fd < 0 || pread_full(fd, buf, 1024, 0) != 1024) {
			perror(argv[2]);
			return 2;
		}
		if (gpt_parse_header(buf + 512, 512, &h) == 0) {
			size_t total = (size_t)h.n_entries * h.entry_size;

			if (pread_full(fd, entries, total, (off_t)(h.entries_lba * 512)) != (ssize_t)total ||
			    gpt_partition(&h, entries, total, (unsigned)partno, uuid, name, sizeof name) < 0)
				return 1;
			printf("PARTUUID=%s\n", uuid);
			if (name[0])
				printf("PARTLABEL=%s\n", name);
			return 0;
		}
		if (mbr_partuuid(buf, (unsigned)partno, mbr) < 0)
			return 1;
		printf("PARTUUID=%s\n", mbr);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--ext4") == 0) {
		char err[256];
		uint64_t size;
		long n, i;

		fd = open(argv[2], O_RDONLY);
		if (fd < 0) {
			perror(argv[2]);
			return 2;
		}
		n = ext4_file_extents(pread_exact, &fd, argv[3], ext, EXTENTS_MAX + 1, &size, err, sizeof err);
		if (n < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("SIZE=%llu\n", (unsigned long long)size);
		for (i = 0; i < n; i++)
			printf("%llu %llu %llu %u\n", (unsigned long long)ext[i].fe_logical,
			       (unsigned long long)ext[i].fe_physical, (unsigned long long)ext[i].fe_length,
			       ext[i].fe_flags);
		return 0;
	}
	fprintf(stderr, "usage: probe FILE | probe --part FILE N | probe --ext4 FILE PATH\n");
	return 2;
}
