/* os-release syntax (pure): see release.h. */
#define _GNU_SOURCE
#include "release.h"

#include <string.h>

/* The last KEY=VALUE of os-release text, quotes stripped; 0, or -1 when absent or too long. */
int release_value(const char *t, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	int found = -1;

	while (*t) {
		const char *e = strchr(t, '\n'), *next = e ? e + 1 : t + strlen(t);
		size_t n = (size_t)(next - t) - (e ? 1 : 0);

		while (n && (*t == ' ' || *t == '\t')) {
			t++;
			n--;
		}
		if (n > klen && strncmp(t, key, klen) == 0 && t[klen] == '=') {
			const char *v = t + klen + 1;
			size_t vn = n - klen - 1;

			while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t' || v[vn - 1] == '\r'))
				vn--;
			if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0]) {
				v++;
				vn -= 2;
			}
			if (vn < size) {
				memcpy(out, v, vn);
				out[vn] = '\0';
				found = 0;
			} else {
				found = -1;
			}
		}
		t = next;
	}
	return found;
}

int sysext_parse_release(const char *t, char *id, size_t idsize, int *initrd)
{
	char scope[128], *p, *save = NULL;

	if (release_value(t, "ID", id, idsize) < 0 || id[0] == '\0')
		return -1;
	*initrd = 0;
	/* absent: the spec's default "system portable" */
	if (release_value(t, "SYSEXT_SCOPE", scope, sizeof scope) < 0)
		return 0;
	for (p = strtok_r(scope, " \t", &save); p; p = strtok_r(NULL, " \t", &save))
		if (strcmp(p, "initrd") == 0)
			*initrd = 1;
	return 0;
}

