#include "gpt.h"
#include "blkid.h"

#include <stdio.h>
#include <string.h>

uint32_t crc32_ieee(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t crc = 0xFFFFFFFFu;
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return crc ^ 0xFFFFFFFFu;
}

void guid_format(const unsigned char *g, char out[37])
{
	unsigned char u[16];

	u[0] = g[3]; u[1] = g[2]; u[2] = g[1]; u[3] = g[0];
	u[4] = g[5]; u[5] = g[4];
	u[6] = g[7]; u[7] = g[6];
	memcpy(u + 8, g + 8, 8);
	uuid_format(u, out);
}

int gpt_parse_header(const unsigned char *lba1, size_t bs, struct gpt_header *h)
{
	unsigned char tmp[512];
	unsigned long hsize;
	uint32_t want;

	if (bs < 92 || memcmp(lba1, "EFI PART", 8) != 0)
		return -1;
	hsize = le32(lba1 + 12);
	if (hsize < 92 || hsize > bs || hsize > sizeof tmp)
		return -1;
	memcpy(tmp, lba1, hsize);
	want = (uint32_t)le32(lba1 + 16);
	memset(tmp + 16, 0, 4);
	if (crc32_ieee(tmp, hsize) != want)
		return -1;
	h->first_usable = le64(lba1 + 40);
	h->last_usable = le64(lba1 + 48);
	h->entries_lba = le64(lba1 + 72);
	h->n_entries = le32(lba1 + 80);
	h->entry_size = le32(lba1 + 84);
	h->entries_crc = le32(lba1 + 88);
	if (h->entry_size < 128 || h->entry_size > 4096 || (h->entry_size & 7) ||
	    h->n_entries == 0 || h->n_entries > GPT_ENTRIES_MAX_BYTES / h->entry_size)
		return -1;
	return 0;
}

int gpt_partition(const struct gpt_header *h, const unsigned char *entries, size_t len,
		  unsigned partno, char uuid[37], char *name, size_t namelen)
{
	size_t total = (size_t)h->n_entries * (size_t)h->entry_size;
	const unsigned char *e;
	size_t i, o = 0;

	if (partno == 0 || partno > h->n_entries || len < total)
		return -1;
	if (crc32_ieee(entries, total) != (uint32_t)h->entries_crc)
		return -1;
	e = entries + (size_t)(partno - 1) * h->entry_size;
	if (memcmp(e, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0)
		return -1; /* unused entry */
	guid_format(e + 16, uuid);
	if (name && namelen) {
		for (i = 0; i < 36 && o + 1 < namelen; i++) {
			unsigned ch = le16(e + 56 + 2 * i);

			if (ch == 0)
				break;
			name[o++] = (ch < 0x80) ? (char)ch : '?';
		}
		name[o] = '\0';
	}
	return 0;
}

int mbr_partuuid(const unsigned char *lba0, unsigned partno, char out[16])
{
	unsigned long sig;
	int i;

	if (lba0[510] != 0x55 || lba0[511] != 0xAA)
		return -1;
	for (i = 0; i < 4; i++)
		if (lba0[446 + 16 * i + 4] == 0xEE)
			return -1;
	sig = le32(lba0 + 440);
	if (sig == 0 || partno == 0 || partno > 255)
		return -1;
	snprintf(out, 16, "%08x-%02x", (unsigned)(sig & 0xFFFFFFFFul), partno & 0xFFu);
	return 0;
}
