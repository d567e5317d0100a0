#ifndef SI_MODULES_H
#define SI_MODULES_H

#include "config.h"

struct module_counts {
	size_t loaded;
	size_t skipped;   /* storage modules after the boot device appeared */
	size_t refused;   /* optional modules the kernel did not take */
};

/* finit_module() each module in order, EEXIST counting as loaded: first the
 * plain ones (not the boot filesystems'), then the storage modules, each
 * only while present(ctx) says the boot device is still missing. An
 * optional module the kernel refuses is logged and counted, nothing more. Returns 0 with the counts, or -1 with
 * *failed set to the module and errno set. */
int modules_load(const struct config *c, int (*present)(void *ctx), void *ctx,
		 const struct module_spec **failed, struct module_counts *n);
/* finit_module() the boot filesystem modules for a mount as type (ext2 and
 * ext3 mount as ext4), in order, EEXIST counting as loaded. Returns 0 with
 * *loaded, or -1 with *failed and errno. */
int modules_load_bootfs(const struct config *c, const char *type,
			const struct module_spec **failed, size_t *loaded);
/* The kernel command line whose MODULE.PARAM=VALUE parameters apply to
 * every module loaded after this (copied; call once, before the config
 * parser tokenizes its own copy). Each module that gets some logs them. */
void modules_set_cmdline(const char *line);
/* Whether a module file name asks for in-kernel decompression. */
int module_is_compressed(const char *path);

#endif
