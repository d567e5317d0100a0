#define _GNU_SOURCE
#include "modules.h"
#include "blkid.h"
#include "kabi.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

int module_is_compressed(const char *path)
{
	return has_suffix(path, ".xz") || has_suffix(path, ".zst") || has_suffix(path, ".gz");
}

static int load_one(const struct module_spec *m)
{
	unsigned flags = module_is_compressed(m->path) ? SI_MODULE_INIT_COMPRESSED_FILE : 0;
	unsigned long long t0 = now_ms();
	long rc;
	int fd, err;

	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		rc = syscall(SYS_finit_module, fd, m->params, flags);
	while (rc < 0 && errno == EINTR);
	err = errno;
	close(fd);
	if (rc < 0 && err != EEXIST) {
		errno = err;
		return -1;
	}
	log_debug("module %s%s%s: %s (%llu ms)", m->path, m->params[0] ? " " : "", m->params,
		  rc < 0 ? "already loaded" : "loaded", now_ms() - t0);
	return 0;
}

int modules_load(const struct config *c, int (*present)(void *ctx), void *ctx,
		 const struct module_spec **failed, struct module_counts *n)
{
	int pass;
	size_t i;

	n->loaded = n->skipped = n->refused = 0;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < c->n_modules; i++) {
			const struct module_spec *m = &c->modules[i];

			/* a boot filesystem's modules wait for its mount: modules_load_bootfs */
			if (m->storage_module != pass || m->bootfs[0])
				continue;
			/* once the boot device is there, no more storage drivers:
			 * the original init loads what the machine needs */
			if (pass == 1 && (n->skipped || (present && present(ctx)))) {
				n->skipped++;
				continue;
			}
			if (load_one(m) < 0) {
				if (m->optional_module) {
					/* ENODEV: the CPU lacks the feature; the generic code does the job */
					log_info("optional module %s not loaded: %s", m->path, strerror(errno));
					n->refused++;
					continue;
				}
				*failed = m;
				return -1;
			}
			n->loaded++;
		}
	}
	return 0;
}

int modules_load_bootfs(const struct config *c, const char *type,
			const struct module_spec **failed, size_t *loaded)
{
	const char *t = mount_fstype(type);
	size_t i;

	*loaded = 0;
	for (i = 0; i < c->n_modules; i++) {
		const struct module_spec *m = &c->modules[i];

		if (strcmp(m->bootfs, t) != 0)
			continue;
		if (load_one(m) < 0) {
			*failed = m;
			return -1;
		}
		(*loaded)++;
	}
	return 0;
}
