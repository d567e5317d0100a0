/* The kernel command line: the tokenizer, then initoverlayfs.* overrides on a valid config, as
 * main() applies them (the line is NUL-terminated and modified in place). */
#include "fuzz.h"
#include "cmdline.h"
#include "config.h"

#include <string.h>

static const char base[] =
	"boot = UUID=0a1b2c3d-1111-2222-3333-444455556666\n"
	"image = /initoverlayfs-9.9.9-test.img\n"
	"module = /lib/modules/9.9.9-test/kernel/fs/ext4/ext4.ko\n";

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	fuzz_touch(msg, 4096);
}

static int each(void *ctx, char *param, char *val)
{
	(void)ctx;
	fuzz_touch(param, CMDLINE_MAX + 1);
	if (val)
		fuzz_touch(val, CMDLINE_MAX + 1);
	return 0;
}

static void fuzz_one(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[CFG_ERR_MAX];
	char *buf;

	if (size > CMDLINE_MAX + 64)
		return;
	buf = fuzz_cstring(data, size);
	if (!buf)
		return;
	cmdline_foreach(buf, each, NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	config_defaults(&c);
	if (config_parse(&c, base, sizeof base - 1, warn, NULL, err, sizeof err) < 0)
		abort();
	if (cmdline_apply(&c, buf, warn, NULL, err, sizeof err) < 0)
		fuzz_touch(err, sizeof err);
	else if (config_finish(&c, err, sizeof err) < 0)
		fuzz_touch(err, sizeof err);
	free(buf);
}
