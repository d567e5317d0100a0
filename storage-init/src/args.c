#include "args.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

enum tool tool_from_argv0(const char *argv0)
{
	const char *b;

	if (!argv0)
		return TOOL_STORAGE_INIT;
	b = path_base(argv0);
	if (strcmp(b, "run-init") == 0)
		return TOOL_RUN_INIT;
	if (strcmp(b, "switch_root") == 0)
		return TOOL_SWITCH_ROOT;
	return TOOL_STORAGE_INIT;
}

int parse_switch_args(enum tool t, int argc, char **argv, struct switch_args *out,
		      char *err, size_t errlen)
{
	const char *name = (t == TOOL_RUN_INIT) ? "run-init" : "switch_root";
	const char *with_arg = (t == TOOL_RUN_INIT) ? "dc" : "c";
	const char *flags = (t == TOOL_RUN_INIT) ? "n" : "";
	int i = 1;

	memset(out, 0, sizeof *out);
	err[0] = '\0';
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		const char *p = argv[i] + 1;

		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		i++;
		while (*p) {
			char opt = *p++;

			if (strchr(flags, opt)) {
				out->dry_run = 1;
				continue;
			}
			if (strchr(with_arg, opt)) {
				const char *val;

				if (*p) {
					val = p;
				} else if (i < argc) {
					val = argv[i++];
				} else {
					snprintf(err, errlen, "%s: option -%c needs an argument", name, opt);
					return -1;
				}
				if (opt == 'c')
					out->console = val;
				else
					out->drop_caps = val;
				break;
			}
			snprintf(err, errlen, "%s: unknown option -%c", name, opt);
			return -1;
		}
	}
	if (argc - i < 2) {
		snprintf(err, errlen, "usage: %s%s [-c consoledev]%s NEWROOT INIT [ARGS...]", name,
			 t == TOOL_RUN_INIT ? " [-d caps]" : "", t == TOOL_RUN_INIT ? " [-n]" : "");
		return -1;
	}
	if (argv[i][0] == '\0' || argv[i + 1][0] == '\0') {
		snprintf(err, errlen, "%s: empty NEWROOT or INIT", name);
		return -1;
	}
	out->newroot = argv[i];
	out->init = argv[i + 1];
	out->init_argv = &argv[i + 1];
	return 0;
}
