/* Kernel command line: tokenizer with the kernel's quoting rules, and
 * initoverlayfs.KEY=VALUE overrides (pure). */
#ifndef SI_CMDLINE_H
#define SI_CMDLINE_H

#include <stddef.h>
#include "config.h"

#define CMDLINE_MAX 8192
#define CMDLINE_PREFIX "initoverlayfs."

/* Split buf (modified in place) into parameters the way the kernel does:
 * whitespace separates, double quotes group, quotes around a value or a
 * whole parameter are removed. Stops at a bare "--" (init's arguments).
 * cb gets param and value (value NULL when there is no '='); a non-zero
 * return from cb stops and is returned. */
typedef int (*cmdline_cb)(void *ctx, char *param, char *val);
int cmdline_foreach(char *buf, cmdline_cb cb, void *ctx);

/* Module parameters on a command line, as modprobe applies them to a module
 * it loads: each MODULE.PARAM[=VALUE] whose MODULE is name ('-' and '_'
 * alike). buf (a copy of the command line) is modified. out gets base, then
 * each PARAM[=VALUE] (a value with whitespace in double quotes), separated
 * by spaces: the kernel takes the last of a repeated parameter, so these
 * override base. Returns how many came from buf, or -1 when out is too
 * small (out is then empty). */
int cmdline_module_params(char *buf, const char *name, const char *base, char *out, size_t outlen);

/* Apply initoverlayfs.* overrides from a command line (buf is modified).
 * Returns 0 or -1 with a message in err. Unknown keys go to warn. With
 * c->cmdline 0 (cmdline = no in the file) nothing is applied and one line
 * saying how many parameters were ignored goes to warn. */
int cmdline_apply(struct config *c, char *buf, cfg_warn_fn warn, void *ctx,
		  char *err, size_t errlen);

#endif
