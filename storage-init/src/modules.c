#define _GNU_SOURCE
#include "modules.h"
#include "blkid.h"
#include "cmdline.h"
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

static char cmdline[CMDLINE_MAX + 1];

void modules_set_cmdline(const char *line)
{
	if (str_copy(cmdline, sizeof cmdline, line) < 0)
		cmdline[0] = '\0';
}

/* The module's name as the kernel has it: its file name up to the first
 * dot, '-' as '_' (nvme-core.ko is nvme_core). */
static void module_name(const char *path, char *out, size_t outlen)
{
	const char *base = strrchr(path, '/');
	size_t i, n;

	base = base ? base + 1 : path;
	n = strcspn(base, ".");
	if (n >= outlen)
		n = outlen - 1;
	for (i = 0; i < n; i++)
		out[i] = base[i] == '-' ? '_' : base[i];
	out[n] = '\0';
}

/* The config's parameters, then the command line's for this module (as
 * modprobe adds them: a driver option such as
 * nvme_core.default_ps_max_latency_us=0 must hold from the first load). */
static int module_params(const struct module_spec *m, char *out, size_t outlen)
{
	static char scratch[CMDLINE_MAX + 1];
	char name[64];
	int n;

	module_name(m->path, name, sizeof name);
	memcpy(scratch, cmdline, sizeof scratch);
	n = cmdline_module_params(scratch, name, m->params, out, outlen);
	if (n > 0)
		log_info("kernel command line: %d parameter(s) for module %s (its parameters now: %s)", n, name, out);
	return n;
}

static int load_one(const struct module_spec *m)
{
	static char params[CFG_PARAMS_MAX + CMDLINE_MAX + 2];
	unsigned flags = module_is_compressed(m->path) ? SI_MODULE_INIT_COMPRESSED_FILE : 0;
	unsigned long long t0 = now_ms();
	long rc;
	int fd, err;

	/* cannot overflow: the buffer holds both whole */
	if (module_params(m, params, sizeof params) < 0) {
		errno = E2BIG;
		return -1;
	}
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		rc = syscall(SYS_finit_module, fd, params, flags);
	while (rc < 0 && errno == EINTR);
	err = errno;
	close(fd);
	if (rc < 0 && err != EEXIST) {
		errno = err;
		return -1;
	}
	log_debug("module %s%s%s: %s (%llu ms)", m->path, params[0] ? " " : "", params,
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
