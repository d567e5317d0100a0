/* GPT and MBR partition identifiers for PARTUUID=/PARTLABEL= (pure). */
#ifndef SI_GPT_H
#define SI_GPT_H

#include <stddef.h>
#include <stdint.h>

#define GPT_ENTRIES_MAX_BYTES (128 * 1024)

struct gpt_header {
	unsigned long long first_usable, last_usable;
	unsigned long long entries_lba;
	unsigned long n_entries;
	unsigned long entry_size;
	unsigned long entries_crc;
};

uint32_t crc32_ieee(const void *buf, size_t len);

/* GUID bytes as stored on disk (first three fields little-endian) -> text. */
void guid_format(const unsigned char *g, char out[37]);

/* Parse the GPT header found in lba1 (one logical block, bs bytes).
 * Checks signature, header size and CRC. Returns 0 or -1. */
int gpt_parse_header(const unsigned char *lba1, size_t bs, struct gpt_header *h);

/* From the partition entry array (n_entries * entry_size bytes, CRC
 * checked), return the unique GUID and the name (UTF-16LE, non-ASCII as
 * '?') of partition number partno (1-based). Returns 0 or -1. */
int gpt_partition(const struct gpt_header *h, const unsigned char *entries, size_t len,
		  unsigned partno, char uuid[37], char *name, size_t namelen);

/* MBR: "xxxxxxxx-NN" from the disk signature. lba0 is 512 bytes. Fails on
 * a protective MBR (GPT disk), a missing 55AA or a zero signature. */
int mbr_partuuid(const unsigned char *lba0, unsigned partno, char out[16]);

#endif
