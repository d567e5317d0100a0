/* Discoverable Disk Images (integrity = dm-verity, image_format = ddi):
 * the root and root-verity partitions (and the optional root-verity-sig
 * partition) found by type in the image file's GPT, checked against the
 * pinned configuration before anything is attached. */
#ifndef SI_DDI_H
#define SI_DDI_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

#define DDI_SIG_MAX (64 * 1024)   /* signature JSON read at most (one certificate is a few KiB) */

struct ddi_part {
	uint64_t offset, size;        /* bytes */
	unsigned char guid[16];       /* unique GUID, on-disk byte order */
};

struct ddi_layout {
	/* the data partition (root, or usr when usr is set), its verity and signature partitions */
	struct ddi_part root, verity, sig;
	int has_sig;
	int usr;                      /* the data partition holds /usr (an extension), not / */
};

/* From the entry array (CRC-checked against the header parsed from lba1),
 * the one root, root-verity and (optional) root-verity-sig partition of
 * this architecture, or without a root partition the usr ones, inside the
 * usable LBAs of a file of `size` bytes. Returns 0, or -1 with a reason in
 * err. */
int ddi_find(const unsigned char *lba1, const unsigned char *entries, size_t len, uint64_t size,
	     struct ddi_layout *out, char *err, size_t errlen);

/* The layout against the config: the root-verity partition starts at
 * verity_hash_offset, the root partition holds verity_data_blocks blocks,
 * both start 4096-aligned, and their GUIDs are the root hash's halves (as
 * systemd-repart sets them). Returns 0, or -1 with a reason. */
int ddi_check(const struct ddi_layout *l, const struct config *c, char *err, size_t errlen);

/* The signature partition's JSON names the pinned root hash: its one
 * "rootHash" string equals c->verity_roothash. With a pinned certificate
 * (cert, cert_len > 0) its one "signature" (base64 DER PKCS#7) must also
 * verify, over the root hash's hex string, against it (pkcs7.c).
 * Returns 0, or -1. */
int ddi_check_signature(const char *buf, size_t len, const char *roothash, const unsigned char *cert,
			size_t cert_len, char *err, size_t errlen);

/* Reads the GPT from fd (a file of `size` bytes): ddi_find on it. */
int ddi_read(int fd, uint64_t size, struct ddi_layout *out, char *err, size_t errlen);

/* The 64 hex digits the root and root-verity partition GUIDs carry (the
 * root hash's first and last 128 bits, as systemd-repart sets them). */
void ddi_roothash_of_guids(const struct ddi_layout *l, char out[65]);

/* Reads l's signature partition from fd and runs ddi_check_signature on
 * it. Returns 0, or -1 with a reason. */
int ddi_read_signature(int fd, const struct ddi_layout *l, const char *roothash, const unsigned char *cert,
		       size_t cert_len, char *err, size_t errlen);

/* Reads the GPT and the signature partition from fd (a file of `size`
 * bytes) and runs the checks above; with a pinned certificate the
 * signature partition must be there and verify. Returns 0, or -1 with a
 * reason. */
int ddi_locate(int fd, uint64_t size, const struct config *c, const unsigned char *cert, size_t cert_len,
	       struct ddi_layout *out, char *err, size_t errlen);

#endif
