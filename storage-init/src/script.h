/* Rewriting bare-name calls of a command in a shell script (pure).
 * Needed because busybox built with FEATURE_SH_STANDALONE (Debian's
 * initramfs) runs its own applet for "run-init" through /proc/self/exe and
 * never looks at PATH, so a shim file alone is not reached. */
#ifndef SI_SCRIPT_H
#define SI_SCRIPT_H

#include <stddef.h>

#define SCRIPT_MAX (256 * 1024)
#define SCRIPT_MAX_REWRITES 64

/* Copy in[0..len) to out, replacing NAME with PATH where it is the command
 * word of a simple command: the first word after the start of a line, ; & |
 * && || ( $( ` or a case pattern's ), also after the words ! { if then else
 * elif while until do exec and after NAME=value assignments. Only a whole
 * unquoted word counts (delimited by blanks or ; & | ( ) `); arguments
 * ("[ -x run-init ]", "echo run-init"), quoted text (also "$(...)"),
 * comments and words after a leading redirection ("2>/dev/null run-init")
 * are left alone. Here-documents are not understood: a body line starting
 * with NAME is rewritten. Returns the output length, or -1
 * when out is too small, there are more than SCRIPT_MAX_REWRITES uses or more
 * than 16 nested parentheses. *count gets the replacements. */
long script_rewrite(const char *in, size_t len, const char *name, const char *path,
		    char *out, size_t outsize, unsigned *count);

#endif
