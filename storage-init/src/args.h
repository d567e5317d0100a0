/* Command lines of the switch-root tools storage-init stands in for (pure). */
#ifndef SI_ARGS_H
#define SI_ARGS_H

#include <stddef.h>

enum tool { TOOL_STORAGE_INIT = 0, TOOL_RUN_INIT, TOOL_SWITCH_ROOT };

struct switch_args {
	int dry_run;             /* run-init -n */
	const char *console;     /* -c DEV */
	const char *drop_caps;   /* run-init -d CAPS (ignored with a warning) */
	const char *newroot;
	const char *init;
	char **init_argv;        /* init_argv[0] == init, NULL-terminated */
};

/* Which tool argv[0] names ("run-init", "switch_root"; any directory). */
enum tool tool_from_argv0(const char *argv0);

/* getopt-like parsing: options before the first operand, "-c DEV" or
 * "-cDEV", clustered flags ("-nc DEV"), "--" ends options.
 * run-init: [-d caps] [-c consoledev] [-n] NEWROOT INIT [ARGS...]
 * switch_root: [-c consoledev] NEWROOT INIT [ARGS...]
 * Returns 0 or -1 with a message in err. */
int parse_switch_args(enum tool t, int argc, char **argv, struct switch_args *out,
		      char *err, size_t errlen);

#endif
