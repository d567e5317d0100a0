/* The dm-verity superblock check. Input: the 512-byte superblock, then a config; when that
 * config does not parse to dm-verity, a fixed valid one is used. */
#include "fuzz.h"
#include "config.h"
#include "verity.h"

#include <string.h>

static const char base[] =
	"boot = UUID=0a1b2c3d-1111-2222-3333-444455556666\n"
	"image = /initoverlayfs-9.9.9-test.img\n"
	"integrity = dm-verity\n"
	"verity_roothash = e522df0f97da4febb882ac40f30b37dc0b444bf6df418929463fa25280f09d5c\n"
	"verity_salt = e48da609055204e89ae53b655ca2216dd983cf3cb829f34f63a297d106d53e2d\n"
	"verity_hashalg = sha256\n"
	"verity_format = 1\n"
	"verity_data_blocks = 2048\n"
	"verity_hash_offset = 8388608\n";

static void fuzz_one(const uint8_t *data, size_t size)
{
	static struct config c;
	unsigned char sb[VERITY_SB_LEN];
	char err[CFG_ERR_MAX];

	if (size < VERITY_SB_LEN)
		return;
	memcpy(sb, data, VERITY_SB_LEN);
	config_defaults(&c);
	if (config_parse(&c, (const char *)data + VERITY_SB_LEN, size - VERITY_SB_LEN, NULL, NULL, err, sizeof err) < 0 ||
	    config_finish(&c, err, sizeof err) < 0 || c.integrity != INTEGRITY_DM_VERITY) {
		config_defaults(&c);
		if (config_parse(&c, base, sizeof base - 1, NULL, NULL, err, sizeof err) < 0 ||
		    config_finish(&c, err, sizeof err) < 0)
			abort();
	}
	if (verity_check_superblock(sb, &c, err, sizeof err) < 0)
		fuzz_touch(err, sizeof err);
}
