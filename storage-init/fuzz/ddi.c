/* A DDI's GPT as image.c reads it (ddi_find), and the signature partition's JSON check.
 * Input: the start of the image file; the header's and the entries' CRC32 are recomputed so
 * mutations get past them. The signature check runs on the signature partition's bytes, when
 * they are inside the input, against a fixed root hash, with a (malformed) pinned certificate so
 * the "signature" string and its base64 are read too (fuzz/pkcs7.c covers the PKCS#7 check). */
#include "fuzz.h"
#include "blkid.h"
#include "ddi.h"
#include "gpt.h"

#include <string.h>

static unsigned char entries[GPT_ENTRIES_MAX_BYTES];
static unsigned char disk[4 << 20];

static void fuzz_one(const uint8_t *data, size_t size)
{
	static const char roothash[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct ddi_layout l;
	char err[256];
	size_t n;
	uint32_t crc;

	if (size < 1024 || size > sizeof disk)
		return;
	memcpy(disk, data, size);
	n = (size_t)le32(disk + 512 + 80) * le32(disk + 512 + 84);
	if (n <= sizeof entries && n <= size - 1024) {
		crc = crc32_ieee(disk + 1024, n);
		memcpy(disk + 512 + 88, &crc, 4);
	}
	memset(disk + 512 + 16, 0, 4);
	crc = crc32_ieee(disk + 512, 92);
	memcpy(disk + 512 + 16, &crc, 4);
	n = size - 1024 < sizeof entries ? size - 1024 : sizeof entries;
	memcpy(entries, disk + 1024, n);
	if (ddi_find(disk + 512, entries, n, size, &l, err, sizeof err) < 0) {
		fuzz_touch(err, sizeof err);
		return;
	}
	if (l.has_sig && l.sig.offset < size) {
		size_t len = size - l.sig.offset < l.sig.size ? size - l.sig.offset : l.sig.size;

		if (len > DDI_SIG_MAX)
			len = DDI_SIG_MAX;
		static const unsigned char cert[] = { 0x30, 0x00 };

		if (ddi_check_signature((const char *)disk + l.sig.offset, len, roothash, cert, sizeof cert, err,
					sizeof err) < 0)
			fuzz_touch(err, sizeof err);
	}
}
