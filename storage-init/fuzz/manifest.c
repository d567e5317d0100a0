/* The mini initramfs's manifest (src/manifest.c), as the hand-over step reads it; then lookups of
 * every path it accepted, and of "/", which it never lists. */
#include "fuzz.h"
#include "manifest.h"

#include <string.h>

static void fuzz_one(const uint8_t *data, size_t size)
{
	static struct manifest m;
	char err[160];
	char *buf;
	size_t i;

	if (size > MANIFEST_FILE_MAX)
		return;
	buf = fuzz_cstring(data, size);
	if (!buf)
		return;
	if (manifest_parse(&m, buf, size, err, sizeof err) < 0) {
		fuzz_touch(err, sizeof err);
	} else {
		for (i = 0; i < m.n; i++) {
			if (manifest_find(&m, m.e[i].path) != &m.e[i])
				abort(); /* sorted and unique: each is found as itself */
		}
		if (manifest_find(&m, "/"))
			abort(); /* never listed: not a normalized path */
	}
	free(buf);
}
