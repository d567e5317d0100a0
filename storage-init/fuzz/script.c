/* The shim script rewrite. Input: byte 0 picks the command name and the output size (bit 7:
 * a tight buffer, to reach the overflow checks), then the script. */
#include "fuzz.h"
#include "script.h"

#include <string.h>

static void fuzz_one(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "run-init", "switch_root" };
	static const char *const paths[] = { "/usr/lib/initoverlayfs/storage-init", "/S" };
	static char out[SCRIPT_MAX + 4096];
	size_t outsize;
	unsigned count;
	long r;

	if (size < 1 || size - 1 > SCRIPT_MAX)
		return;
	outsize = (data[0] & 0x80) ? size - 1 + (data[0] & 0x3f) : SCRIPT_MAX;
	r = script_rewrite((const char *)data + 1, size - 1, names[data[0] & 1], paths[(data[0] >> 1) & 1],
			   out, outsize, &count);
	if (r > (long)outsize || count > SCRIPT_MAX_REWRITES)
		abort();
}
