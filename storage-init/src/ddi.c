#define _GNU_SOURCE
#include "ddi.h"
#include "ddi_types.h"
#include "blkid.h"
#include "gpt.h"
#include "pkcs7.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SECTOR 512
#define ALIGN 4096

/* this architecture's name, then its root, root-verity, root-verity-sig,
 * usr, usr-verity, usr-verity-sig types */
static const char *const ddi_arch_types[7] = { DDI_TYPES };
#define DDI_ARCH (ddi_arch_types[0])
static const char *const *const ddi_types = ddi_arch_types + 1;
static const char *const ddi_roles[6] = { "root", "root-verity", "root-verity-sig", "usr", "usr-verity", "usr-verity-sig" };

int ddi_find(const unsigned char *lba1, const unsigned char *entries, size_t len, uint64_t size,
	     struct ddi_layout *out, char *err, size_t errlen)
{
	struct ddi_part part[6], *slot[3];
	struct gpt_header h;
	int found[6] = { 0, 0, 0, 0, 0, 0 };
	const char *const *role;
	unsigned long i;
	int k, *has;

	memset(out, 0, sizeof *out);
	memset(part, 0, sizeof part);
	if (gpt_parse_header(lba1, SECTOR, &h) < 0) {
		snprintf(err, errlen, "offset 512: GPT header: bad signature, size, CRC or entry geometry");
		return -1;
	}
	if (h.entries_lba != 2 || len < (size_t)h.n_entries * h.entry_size ||
	    crc32_ieee(entries, (size_t)h.n_entries * h.entry_size) != (uint32_t)h.entries_crc) {
		snprintf(err, errlen, "offset 1024: GPT entry array: not at LBA 2 or CRC32 mismatch");
		return -1;
	}
	for (i = 0; i < h.n_entries; i++) {
		const unsigned char *e = entries + i * h.entry_size;
		unsigned long long first = le64(e + 32), last = le64(e + 40);
		char type[37];

		guid_format(e, type);
		for (k = 0; k < 6; k++)
			if (strcmp(type, ddi_types[k]) == 0)
				break;
		if (k == 6)
			continue;
		if (found[k]++) {
			snprintf(err, errlen, "more than one %s %s partition", DDI_ARCH, ddi_roles[k]);
			return -1;
		}
		/* inside the usable LBAs and the file; no multiplication can wrap */
		if (first > last || first < h.first_usable || last > h.last_usable ||
		    last >= size / SECTOR) {
			snprintf(err, errlen, "offset %lu: GPT entry %lu (%s): LBAs %llu..%llu outside the usable %llu..%llu of a %llu-byte file",
				 1024 + i * h.entry_size + 32, i + 1, ddi_roles[k], first, last,
				 h.first_usable, h.last_usable, (unsigned long long)size);
			return -1;
		}
		part[k].offset = first * SECTOR;
		part[k].size = (last - first + 1) * SECTOR;
		memcpy(part[k].guid, e + 16, 16);
	}
	/* a root partition first (an image); else usr (an extension of /usr only) */
	out->usr = !found[0] && !found[1] && (found[3] || found[4]);
	has = found + (out->usr ? 3 : 0);
	role = ddi_roles + (out->usr ? 3 : 0);
	out->root = part[out->usr ? 3 : 0];
	out->verity = part[out->usr ? 4 : 1];
	out->sig = part[out->usr ? 5 : 2];
	slot[0] = &out->root;
	slot[1] = &out->verity;
	slot[2] = &out->sig;
	for (k = 0; k < 2; k++)
		if (!has[k]) {
			snprintf(err, errlen, found[3] || found[4] ? "no %s %s partition" : "no %s %s or usr partition",
				 DDI_ARCH, role[k]);
			return -1;
		}
	out->has_sig = has[2];
	for (k = 0; k < 3; k++) {
		int j;

		if (!has[k])
			continue;
		if (slot[k]->offset % ALIGN || slot[k]->size % ALIGN) {
			snprintf(err, errlen, "the %s partition is not %d-byte aligned", role[k], ALIGN);
			return -1;
		}
		for (j = k + 1; j < 3; j++)
			if (has[j] && slot[k]->offset < slot[j]->offset + slot[j]->size &&
			    slot[j]->offset < slot[k]->offset + slot[k]->size) {
				snprintf(err, errlen, "the %s and %s partitions overlap", role[k], role[j]);
				return -1;
			}
	}
	return 0;
}

/* The unique GUID's 32 hex digits (text order) equal hex[0..32). */
static int guid_is(const unsigned char *guid, const char *hex)
{
	char text[37], digits[33];
	size_t i, o = 0;

	guid_format(guid, text);
	for (i = 0; text[i]; i++)
		if (text[i] != '-')
			digits[o++] = text[i];
	digits[o] = '\0';
	return strncmp(digits, hex, 32) == 0;
}

int ddi_check(const struct ddi_layout *l, const struct config *c, char *err, size_t errlen)
{
	size_t n = strlen(c->verity_roothash);

	if (l->verity.offset != c->verity_hash_offset) {
		snprintf(err, errlen, "root-verity partition at offset %llu, the config pins %lu",
			 (unsigned long long)l->verity.offset, c->verity_hash_offset);
		return -1;
	}
	if (l->root.size / VERITY_BLOCK < c->verity_data_blocks) {
		snprintf(err, errlen, "root partition of %llu bytes, the config needs %lu blocks",
			 (unsigned long long)l->root.size, c->verity_data_blocks);
		return -1;
	}
	if (n < 64 || !guid_is(l->root.guid, c->verity_roothash) ||
	    !guid_is(l->verity.guid, c->verity_roothash + n - 32)) {
		snprintf(err, errlen, "partition GUIDs are not the pinned root hash's halves");
		return -1;
	}
	return 0;
}

/* The string value of "key" (given once) in the JSON text [buf, end): *v, *n. */
static int json_string(const char *buf, const char *end, const char *key, const char **v, size_t *n,
		       char *err, size_t errlen)
{
	size_t klen = strlen(key);
	const char *p, *at = NULL, *q;

	for (p = buf; (p = memmem(p, (size_t)(end - p), key, klen)); p += klen) {
		if (at) {
			snprintf(err, errlen, "signature JSON: %s given twice", key);
			return -1;
		}
		at = p;
	}
	if (!at) {
		snprintf(err, errlen, "signature JSON: no %s", key);
		return -1;
	}
	for (q = at + klen; q < end && *q == ' '; q++)
		;
	if (q == end || *q++ != ':') {
		snprintf(err, errlen, "signature JSON offset %zu: expected ':' after %s", (size_t)(q - buf), key);
		return -1;
	}
	for (; q < end && *q == ' '; q++)
		;
	if (q == end || *q++ != '"') {
		snprintf(err, errlen, "signature JSON offset %zu: %s: expected a string", (size_t)(q - buf), key);
		return -1;
	}
	*v = q;
	for (; q < end && *q != '"'; q++)
		if (*q == '\\') {
			snprintf(err, errlen, "signature JSON offset %zu: %s: escapes are not expected", (size_t)(q - buf), key);
			return -1;
		}
	if (q == end) {
		snprintf(err, errlen, "signature JSON: %s: unterminated string", key);
		return -1;
	}
	*n = (size_t)(q - *v);
	return 0;
}

/* The "signature" value: base64 DER PKCS#7 over the root hash's hex string,
 * checked against the pinned certificate. */
static int check_signer(const char *buf, const char *end, const char *roothash, const unsigned char *cert,
			size_t cert_len, char *err, size_t errlen)
{
	static unsigned char der[PKCS7_SIG_MAX];
	char why[200];
	const char *v;
	size_t n;
	long len;

	if (json_string(buf, end, "\"signature\"", &v, &n, err, errlen) < 0)
		return -1;
	len = base64_decode(v, n, der, sizeof der, 0);
	if (len < 0) {
		snprintf(err, errlen, "signature JSON offset %zu: \"signature\": not canonical base64 of at most %d bytes",
			 (size_t)(v - buf), PKCS7_SIG_MAX);
		return -1;
	}
	if (pkcs7_verify_detached(der, (size_t)len, (const unsigned char *)roothash, strlen(roothash), cert, cert_len,
				  why, sizeof why) < 0) {
		snprintf(err, errlen, "signature partition: %s", why);
		return -1;
	}
	return 0;
}

int ddi_check_signature(const char *buf, size_t len, const char *roothash, const unsigned char *cert,
			size_t cert_len, char *err, size_t errlen)
{
	static const char key[] = "\"rootHash\"";
	const char *end = memchr(buf, '\0', len), *p, *at = NULL, *v;
	size_t n, want = strlen(roothash);

	if (!end) {
		snprintf(err, errlen, "signature JSON: no NUL within %zu bytes", len);
		return -1;
	}
	n = (size_t)(end - buf);
	for (p = buf; p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'); p++)
		;
	if (p == end || *p != '{') {
		snprintf(err, errlen, "signature JSON: expected an object");
		return -1;
	}
	for (p = buf; (p = memmem(p, n - (size_t)(p - buf), key, sizeof key - 1)); p += sizeof key - 1) {
		if (at) {
			snprintf(err, errlen, "signature JSON: \"rootHash\" given twice");
			return -1;
		}
		at = p;
	}
	if (!at) {
		snprintf(err, errlen, "signature JSON: no \"rootHash\"");
		return -1;
	}
	for (v = at + sizeof key - 1; v < end && *v == ' '; v++)
		;
	if (v == end || *v++ != ':') {
		snprintf(err, errlen, "signature JSON: expected ':' after \"rootHash\"");
		return -1;
	}
	for (; v < end && *v == ' '; v++)
		;
	if ((size_t)(end - v) < want + 2 || v[0] != '"' || memcmp(v + 1, roothash, want) != 0 ||
	    v[want + 1] != '"') {
		snprintf(err, errlen, "the signature partition names another root hash than the pinned %.16s...",
			 roothash);
		return -1;
	}
	return cert_len ? check_signer(buf, end, roothash, cert, cert_len, err, errlen) : 0;
}

int ddi_read(int fd, uint64_t size, struct ddi_layout *out, char *err, size_t errlen)
{
	static unsigned char head[2 * SECTOR];
	static unsigned char entries[GPT_ENTRIES_MAX_BYTES];
	unsigned long long n_bytes;
	size_t want;

	/* MBR, header, 32 entry sectors, a partition, the backup's 33 */
	if (size < 68 * SECTOR ||
	    pread_full(fd, head, sizeof head, 0) != (ssize_t)sizeof head) {
		snprintf(err, errlen, "too small or unreadable for a GPT");
		return -1;
	}
	if (head[510] != 0x55 || head[511] != 0xaa || head[450] != 0xee) {
		snprintf(err, errlen, "offset 446: expected a protective MBR (type 0xee, 55 AA)");
		return -1;
	}
	/* the header's geometry is bounded by gpt_parse_header (in ddi_find) */
	n_bytes = (unsigned long long)le32(head + SECTOR + 80) * le32(head + SECTOR + 84);
	want = n_bytes <= sizeof entries ? (size_t)n_bytes : sizeof entries;
	if (pread_full(fd, entries, want, 2 * SECTOR) != (ssize_t)want) {
		snprintf(err, errlen, "offset 1024: GPT entry array: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	return ddi_find(head + SECTOR, entries, want, size, out, err, errlen);
}

void ddi_roothash_of_guids(const struct ddi_layout *l, char out[65])
{
	char text[37];
	size_t i, o = 0;
	int k;

	for (k = 0; k < 2; k++) {
		guid_format(k ? l->verity.guid : l->root.guid, text);
		for (i = 0; text[i]; i++)
			if (text[i] != '-')
				out[o++] = text[i];
	}
	out[o] = '\0';
}

int ddi_read_signature(int fd, const struct ddi_layout *l, const char *roothash, const unsigned char *cert,
		       size_t cert_len, char *err, size_t errlen)
{
	static char sig[DDI_SIG_MAX];
	size_t want = l->sig.size < sizeof sig ? (size_t)l->sig.size : sizeof sig;

	if (pread_full(fd, sig, want, (off_t)l->sig.offset) != (ssize_t)want) {
		snprintf(err, errlen, "offset %llu: signature partition: %s",
			 (unsigned long long)l->sig.offset, strerror(errno ? errno : EIO));
		return -1;
	}
	return ddi_check_signature(sig, want, roothash, cert, cert_len, err, errlen);
}

int ddi_locate(int fd, uint64_t size, const struct config *c, const unsigned char *cert, size_t cert_len,
	       struct ddi_layout *out, char *err, size_t errlen)
{
	if (ddi_read(fd, size, out, err, errlen) < 0)
		return -1;
	if (out->usr) {
		snprintf(err, errlen, "no %s root partition (a usr one: an extension, not an image)", DDI_ARCH);
		return -1;
	}
	if (ddi_check(out, c, err, errlen) < 0)
		return -1;
	if (!out->has_sig) {
		if (!cert_len)
			return 0;
		snprintf(err, errlen, "verity_cert pins a signer, but the image has no root-verity-sig partition");
		return -1;
	}
	return ddi_read_signature(fd, out, c->verity_roothash, cert, cert_len, err, errlen);
}
