#include "efivar.h"

#include <stdio.h>

int efivar_parse_partuuid(const unsigned char *buf, size_t len, char *out, char *err, size_t errlen)
{
	size_t i, n;

	if (len < 4 || (len - 4) % 2 != 0) {
		snprintf(err, errlen, "%zu bytes: expected 4 bytes of attributes and a UTF-16 string", len);
		return -1;
	}
	n = (len - 4) / 2;
	/* the terminating NUL is optional; nothing may follow it */
	if (n == PARTUUID_LEN + 1 && (buf[4 + 2 * PARTUUID_LEN] | buf[5 + 2 * PARTUUID_LEN]) == 0)
		n--;
	if (n != PARTUUID_LEN) {
		snprintf(err, errlen, "a %zu-character string: expected a GUID of %d characters", n, PARTUUID_LEN);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned c = buf[4 + 2 * i] | (unsigned)buf[5 + 2 * i] << 8;
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			snprintf(err, errlen, "character %zu (U+%04X) of the GUID: expected %s", i, c,
				 dash ? "'-'" : "a hex digit");
			return -1;
		}
		out[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	}
	out[n] = '\0';
	return 0;
}
