/* GPT and MBR partition identifiers, read the way blockdev.c's partition_ids() reads them.
 * Input: byte 0 = partition number, byte 1 bit 0 = 4096-byte logical blocks, bit 1 = leave the
 * CRCs alone (else the header's and the entries' CRC32 are recomputed, so mutations get past
 * them), then the start of the disk (what pread would return; shorter: the disk ends there). */
#include "fuzz.h"
#include "blkid.h"
#include "gpt.h"

#include <string.h>

/* blockdev.c reads the entries into a static buffer of this size */
static unsigned char entries[GPT_ENTRIES_MAX_BYTES];

static void fuzz_one(const uint8_t *data, size_t size)
{
	unsigned char lba01[8192];
	struct gpt_header h;
	size_t bs, total, disk_len;
	const uint8_t *disk;
	unsigned partno;
	char uuid[37], label[80], mbr[16];

	if (size < 2)
		return;
	partno = data[0];
	bs = (data[1] & 1) ? 4096 : 512;
	disk = data + 2;
	disk_len = size - 2;
	if (disk_len < 2 * bs)
		return;
	memcpy(lba01, disk, 2 * bs);
	if (!(data[1] & 2) && memcmp(lba01 + bs, "EFI PART", 8) == 0) {
		unsigned long hsize = le32(lba01 + bs + 12);
		unsigned long long lba = le64(lba01 + bs + 72);
		size_t n = (size_t)le32(lba01 + bs + 80) * le32(lba01 + bs + 84);
		uint32_t crc;

		if (lba <= disk_len / bs && n <= disk_len - lba * bs && n <= sizeof entries) {
			crc = crc32_ieee(disk + lba * bs, n);
			memcpy(lba01 + bs + 88, &crc, 4);
		}
		if (hsize >= 92 && hsize <= bs && hsize <= 512) {
			memset(lba01 + bs + 16, 0, 4);
			crc = crc32_ieee(lba01 + bs, hsize);
			memcpy(lba01 + bs + 16, &crc, 4);
		}
	}
	if (gpt_parse_header(lba01 + bs, bs, &h) == 0) {
		total = (size_t)h.n_entries * (size_t)h.entry_size;
		if (total > sizeof entries)
			abort(); /* blockdev.c would overrun its buffer */
		if (h.entries_lba > disk_len / bs || disk_len - h.entries_lba * bs < total)
			return; /* short read: blockdev.c gives up */
		memcpy(entries, disk + h.entries_lba * bs, total);
		if (gpt_partition(&h, entries, total, partno, uuid, label, sizeof label) == 0) {
			fuzz_touch(uuid, sizeof uuid);
			fuzz_touch(label, sizeof label);
		}
		return;
	}
	if (mbr_partuuid(lba01, partno, mbr) == 0)
		fuzz_touch(mbr, sizeof mbr);
}
