/* Rewriting bare-name calls of a command in a shell script (pure).
 * Needed because busybox built with FEATURE_SH_STANDALONE (Debian's
 * initramfs) runs its own applet for "run-init" through /proc/self/exe and
 * never looks at PATH, so a shim file alone is not reached. */
#ifndef SI_SCRIPT_H
#define SI_SCRIPT_H

#include <stddef.h>

#define SCRIPT_MAX (256 * 1024)
#define SCRIPT_MAX_REWRITES 64

/* Copy in[0..len) to out, replacing each use of NAME as a command word
 * (outside quotes and comments, delimited by blanks or ; & | ( ) `) with
 * PATH. Returns the output length, or -1 when out is too small or there
 * are more than SCRIPT_MAX_REWRITES uses. *count gets the replacements. */
long script_rewrite(const char *in, size_t len, const char *name, const char *path,
		    char *out, size_t outsize, unsigned *count);

#endif
