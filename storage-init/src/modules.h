#ifndef SI_MODULES_H
#define SI_MODULES_H

#include "config.h"

struct module_counts {
	size_t loaded;
	size_t skipped;   /* storage modules after the boot device appeared */
	size_t refused;   /* optional modules the kernel did not take */
};

/* finit_module() each module in order, EEXIST counting as loaded: first the
 * plain ones, then the storage modules, each only while present(ctx) says the
 * boot device is still missing. An optional module the kernel refuses is
 * logged and counted, nothing more. Returns 0 with the counts, or -1 with
 * *failed set to the module and errno set. */
int modules_load(const struct config *c, int (*present)(void *ctx), void *ctx,
		 const struct module_spec **failed, struct module_counts *n);
/* Whether a module file name asks for in-kernel decompression. */
int module_is_compressed(const char *path);

#endif
