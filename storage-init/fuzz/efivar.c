/* LoaderDevicePartUUID as efivarfs gives it (attributes + UTF-16LE GUID): efivar_parse_partuuid. */
#include "fuzz.h"
#include "efivar.h"

#include <string.h>

static void fuzz_one(const uint8_t *data, size_t size)
{
	char out[PARTUUID_LEN + 1], err[160];

	memset(out, 'x', sizeof out);
	if (efivar_parse_partuuid(data, size, out, err, sizeof err) == 0) {
		/* accepted: 36 characters, lower-case hex and dashes */
		if (fuzz_touch(out, sizeof out) != PARTUUID_LEN || strspn(out, "0123456789abcdef-") != PARTUUID_LEN)
			abort();
	} else {
		fuzz_touch(err, sizeof err);
	}
}
