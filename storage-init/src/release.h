/* os-release and extension-release files (os-release(5)), pure. */
#ifndef SI_RELEASE_H
#define SI_RELEASE_H

#include <stddef.h>

/* The last KEY=VALUE of the text, one pair a line, surrounding blanks and
 * one pair of quotes stripped. 0, or -1 when absent or longer than size - 1. */
int release_value(const char *text, const char *key, char *out, size_t size);

/* From extension-release text: ID and whether SYSEXT_SCOPE includes initrd
 * (absent: the spec's "system portable", so no). 0, or -1 with no ID. */
int sysext_parse_release(const char *text, char *id, size_t idsize, int *initrd);

#endif
