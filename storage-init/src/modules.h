#ifndef SI_MODULES_H
#define SI_MODULES_H

#include "config.h"

/* finit_module() each module in order; EEXIST counts as loaded.
 * Returns 0, or -1 with *failed set to the module and errno set. */
int modules_load(const struct config *c, const struct module_spec **failed);
/* Whether a module file name asks for in-kernel decompression. */
int module_is_compressed(const char *path);

#endif
