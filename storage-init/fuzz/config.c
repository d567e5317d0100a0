/* config_parse + config_finish on arbitrary file contents, then what main() derives from a
 * config that passed (the dm-verity table line). */
#include "fuzz.h"
#include "config.h"
#include "verity.h"

#include <string.h>

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	fuzz_touch(msg, 4096);
}

static void fuzz_one(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[CFG_ERR_MAX], table[VERITY_TABLE_MAX];

	config_defaults(&c);
	if (config_parse(&c, (const char *)data, size, warn, NULL, err, sizeof err) < 0) {
		fuzz_touch(err, sizeof err);
		return;
	}
	if (config_finish(&c, err, sizeof err) < 0) {
		fuzz_touch(err, sizeof err);
		return;
	}
	if (c.integrity == INTEGRITY_DM_VERITY) {
		if (verity_table(&c, "7:0", "7:0", 1, table, sizeof table) == 0)
			fuzz_touch(table, sizeof table);
		(void)verity_sectors(&c);
	}
}
