/* Host unit tests for storage-init's pure logic (built with ASan/UBSan). */
#define _GNU_SOURCE
#include "args.h"
#include "blkid.h"
#include "cmdline.h"
#include "config.h"
#include "efivar.h"
#include "extents.h"
#include "fsverity.h"
#include "gpt.h"
#include "manifest.h"
#include "pkcs7.h"
#include "release.h"
#include "script.h"
#include "sha2.h"
#include "util.h"
#include "verity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned passed, failed;
static const char *current;

#define CHECK(cond) check((cond), #cond, __LINE__)
#define CHECK_STR(a, b) check_str((a), (b), #a, __LINE__)

static void check(int ok, const char *expr, int line)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL %s (line %d): %s\n", current, line, expr);
	}
}

static void check_str(const char *got, const char *want, const char *expr, int line)
{
	if (strcmp(got, want) == 0) {
		passed++;
	} else {
		failed++;
		printf("FAIL %s (line %d): %s = \"%s\", want \"%s\"\n", current, line, expr, got, want);
	}
}

static unsigned warnings;
static char last_warning[256];

static void warn_cb(void *ctx, const char *msg)
{
	(void)ctx;
	warnings++;
	str_copy(last_warning, sizeof last_warning, msg);
}

static struct config c;
static char err[512];

static int parse(const char *text)
{
	warnings = 0;
	last_warning[0] = '\0';
	config_defaults(&c);
	return config_parse(&c, text, strlen(text), warn_cb, NULL, err, sizeof err);
}

/* ---- config ------------------------------------------------------------ */

static void test_config_basic(void)
{
	current = "config basic";
	CHECK(parse("# initoverlayfs\n"
		    "\n"
		    "   # indented comment\n"
		    "boot = UUID=1234-ABCD\n"
		    "image=/initoverlayfs-6.1.0-56-amd64.img\n"
		    "  bootfstype\t=  vfat  \n"
		    "init = \"/sbin/init\"\n"
		    "bootflags = \"\"\n"
		    "timeout = 3\r\n"
		    "failure = shell\n"
		    "shell = \"/bin/my shell\"\n") == 0);
	CHECK_STR(err, "");
	CHECK_STR(c.boot, "UUID=1234-ABCD");
	CHECK_STR(c.image, "/initoverlayfs-6.1.0-56-amd64.img");
	CHECK_STR(c.bootfstype, "vfat");
	CHECK_STR(c.init, "/sbin/init");
	CHECK_STR(c.bootflags, "");
	CHECK_STR(c.shell, "/bin/my shell");
	CHECK(c.timeout == 3);
	CHECK(c.failure == FAILURE_SHELL);
	CHECK(warnings == 0);
}

static void test_config_defaults(void)
{
	current = "config defaults";
	CHECK(parse("boot=LABEL=boot\nimage=/x.img") == 0);  /* no final newline */
	CHECK_STR(c.init, "/init");
	CHECK_STR(c.shell, "/bin/sh");
	CHECK_STR(c.bootfstype, "auto");
	CHECK(c.timeout == 10);
	CHECK(c.failure == FAILURE_PANIC);
	CHECK(c.loglevel == 6);
	CHECK(config_finish(&c, err, sizeof err) == 0);
	CHECK(c.shims.n == 4);
	CHECK_STR(c.shims.path[0], "/usr/sbin/run-init");

	CHECK(parse("image=/x.img\n") == 0);
	CHECK(config_finish(&c, err, sizeof err) < 0);
	CHECK_STR(err, "boot: not set");
	CHECK(parse("boot=/dev/vdb\n") == 0);
	CHECK(config_finish(&c, err, sizeof err) < 0);
	CHECK_STR(err, "image: not set");
}

static void test_config_repeats(void)
{
	current = "config repeats";
	CHECK(parse("module = /lib/modules/virtio.ko\n"
		    "module = /lib/modules/virtio_blk.ko  queue_depth=64 foo=\"a\"\n"
		    "module=/lib/modules/erofs.ko.zst\n"
		    "shim = /usr/sbin/run-init\n"
		    "shim = /bin/switch_root\n") == 0);
	CHECK(c.n_modules == 3);
	CHECK_STR(c.modules[0].path, "/lib/modules/virtio.ko");
	CHECK_STR(c.modules[0].params, "");
	CHECK_STR(c.modules[1].path, "/lib/modules/virtio_blk.ko");
	CHECK_STR(c.modules[1].params, "queue_depth=64 foo=\"a\"");
	CHECK_STR(c.modules[2].path, "/lib/modules/erofs.ko.zst");
	CHECK(!c.modules[0].storage_module && !c.modules[2].storage_module);
	CHECK(c.shims.n == 2);
	CHECK_STR(c.shims.path[1], "/bin/switch_root");
	/* storage_module: the same list, in order, loaded only while the boot device is missing */
	CHECK(parse("module = /a.ko\nstorage_module = /s.ko x=1\nstorage-module=/t.ko\nmodule=/b.ko\n") == 0);
	CHECK(c.n_modules == 4);
	CHECK(!c.modules[0].storage_module && c.modules[1].storage_module && c.modules[2].storage_module && !c.modules[3].storage_module);
	CHECK_STR(c.modules[1].path, "/s.ko");
	CHECK_STR(c.modules[1].params, "x=1");
	CHECK(parse("storage_module = s.ko\n") < 0);
	CHECK(!c.modules[0].optional_module && !c.modules[1].optional_module);
	/* optional_module: in the always-loaded list, marked as allowed to be refused */
	CHECK(parse("module = /a.ko\noptional_module = /arch/sha256-ssse3.ko\nmodule=/b.ko\n") == 0);
	CHECK(c.n_modules == 3);
	CHECK(!c.modules[0].optional_module && c.modules[1].optional_module && !c.modules[2].optional_module);
	CHECK(!c.modules[1].storage_module);
	CHECK_STR(c.modules[1].path, "/arch/sha256-ssse3.ko");
	CHECK(parse("optional_module = sha.ko\n") < 0);
	/* bootfs_module: TYPE PATH [params], waiting for a mount as TYPE */
	CHECK(parse("module = /a.ko\nbootfs_module = ext4  /fs/jbd2.ko x=1\nbootfs_module=vfat /fs/fat.ko\n") == 0);
	CHECK(c.n_modules == 3);
	CHECK_STR(c.modules[0].bootfs, "");
	CHECK_STR(c.modules[1].bootfs, "ext4");
	CHECK_STR(c.modules[1].path, "/fs/jbd2.ko");
	CHECK_STR(c.modules[1].params, "x=1");
	CHECK_STR(c.modules[2].bootfs, "vfat");
	CHECK(!c.modules[1].storage_module && !c.modules[1].optional_module);
	CHECK(parse("bootfs_module = ext3 /fs/ext4.ko\n") < 0); /* ext3 mounts as ext4 */
	CHECK(parse("bootfs_module = /fs/ext4.ko\n") < 0);
	CHECK(parse("bootfs_module = ext4\n") < 0);
	CHECK(parse("bootfs_module = ext4x /fs/ext4.ko\n") < 0);
	CHECK_STR(mount_fstype("ext3"), "ext4");
	CHECK_STR(mount_fstype("vfat"), "vfat");
	c.boot[0] = 'x';
	CHECK(parse("boot=/dev/vda\nimage=/i\nshim=\n") == 0);
	CHECK(config_finish(&c, err, sizeof err) == 0);
	CHECK(c.shims.n == 0); /* explicitly emptied: no default list */
}

static void test_config_limits(void)
{
	static char big[CFG_MAX_MODULES * 40 + 200];
	char line[CFG_LINE_MAX + 40];
	size_t pos = 0, i;

	current = "config limits";
	/* a line of exactly CFG_LINE_MAX bytes is fine, one more is not */
	memset(line, 0, sizeof line);
	memcpy(line, "bootflags=", 10);
	memset(line + 10, 'a', CFG_LINE_MAX - 10);
	CHECK(parse(line) < 0); /* value longer than the field */
	CHECK(strstr(err, "value longer than") != NULL);
	memcpy(line, "#", 1);
	CHECK(parse(line) == 0);
	line[CFG_LINE_MAX] = 'a';
	CHECK(parse(line) < 0);
	CHECK_STR(err, "line 1: longer than 1024 bytes");

	for (i = 0; i <= CFG_MAX_MODULES; i++)
		pos += (size_t)snprintf(big + pos, sizeof big - pos, "module=/m%zu.ko\n", i);
	CHECK(parse(big) < 0);
	{
		char want[64];
		snprintf(want, sizeof want, "line %d: module: too many modules", CFG_MAX_MODULES + 1);
		CHECK(strstr(err, want) != NULL);
	}

	CHECK(parse("shim=/a\nshim=/b\nshim=/c\nshim=/d\nshim=/e\nshim=/f\nshim=/g\nshim=/h\nshim=/i\n") < 0);
	CHECK(strstr(err, "line 9: shim: too many entries") != NULL);

	CHECK(config_parse(&c, "a\0b", 3, NULL, NULL, err, sizeof err) < 0);
	CHECK_STR(err, "line 1: NUL byte");
}

static void test_config_errors(void)
{
	current = "config errors";
	CHECK(parse("boot\n") < 0);
	CHECK_STR(err, "line 1: expected \"key = value\"");
	CHECK(parse("\n= x\n") < 0);
	CHECK_STR(err, "line 2: missing key before '='");
	CHECK(parse("init = \"/sbin/init\n") < 0);
	CHECK_STR(err, "line 1: unterminated quoted value");
	CHECK(parse("timeout = ten\n") < 0);
	CHECK(strstr(err, "line 1: timeout: expected a whole number") != NULL);
	CHECK(parse("timeout = 99999\n") < 0);
	CHECK(parse("failure = ignore\n") < 0);
	CHECK(strstr(err, "expected panic, reboot or shell") != NULL);
	CHECK(parse("boot = vdb\n") < 0);
	CHECK(strstr(err, "line 1: boot: expected UUID=") != NULL);
	CHECK(parse("boot = UUID=\n") < 0);
	CHECK(parse("bootfstype = ntfs\n") < 0);
	CHECK(parse("init = sbin/init\n") < 0);
	CHECK(strstr(err, "init: must be an absolute path") != NULL);
	CHECK(parse("module = virtio.ko\n") < 0);
	CHECK(parse("my key = 1\n") < 0);
	CHECK(strstr(err, "invalid character in key") != NULL);
	CHECK(parse("image =\n") < 0);
	CHECK(strstr(err, "image: empty value") != NULL);
}

/* the boot partition is only read: no option may make the mount write */
static void test_config_bootflags(void)
{
	static const char *const refused[] = {
		"bootflags = noatime,remount\n", "bootflags = noatime,rw\n",
		"bootflags = rw,noatime\n", "bootflags = rw=1\n", "bootflags = rw\n",
	};
	char cmd[200];
	size_t i;

	current = "config bootflags";
	CHECK(parse("bootflags = noatime,errors=remount-ro,ro\n") == 0);
	CHECK_STR(c.bootflags, "noatime,errors=remount-ro,ro");
	for (i = 0; i < sizeof refused / sizeof refused[0]; i++)
		CHECK(parse(refused[i]) < 0);
	CHECK_STR(err, "line 1: bootflags: \"rw\" refused: the boot partition is mounted read-only and never written");
	CHECK(parse("bootflags = rwx,rw_x,xrw\n") == 0);
	CHECK(parse("boot = LABEL=b\nimage = /i.img\n") == 0);
	str_copy(cmd, sizeof cmd, "initoverlayfs.bootflags=rw");
	CHECK(cmdline_apply(&c, cmd, warn_cb, NULL, err, sizeof err) < 0);
	CHECK(strstr(err, "initoverlayfs.bootflags: \"rw\" refused") != NULL);
	CHECK_STR(c.bootflags, "");
}

/* cmdline = no: every key comes from the file */
static void test_config_cmdline_switch(void)
{
	char cmd[200];

	current = "config cmdline = no";
	CHECK(parse("boot = LABEL=b\nimage = /i.img\n") == 0);
	CHECK(c.cmdline == 1);
	CHECK(parse("boot = LABEL=b\nimage = /i.img\ncmdline = yes\n") == 0);
	CHECK(c.cmdline == 1);
	str_copy(cmd, sizeof cmd, "initoverlayfs.timeout=3");
	CHECK(cmdline_apply(&c, cmd, warn_cb, NULL, err, sizeof err) == 0);
	CHECK(c.timeout == 3 && warnings == 0);

	CHECK(parse("boot = LABEL=b\nimage = /i.img\ncmdline = no\n") == 0);
	CHECK(c.cmdline == 0);
	str_copy(cmd, sizeof cmd, "quiet initoverlayfs.timeout=3 initoverlayfs.boot=/dev/sdz "
		 "initoverlayfs.integrity=none initoverlayfs.cmdline=yes initoverlayfs.nosuchkey -- initoverlayfs.debug");
	CHECK(cmdline_apply(&c, cmd, warn_cb, NULL, err, sizeof err) == 0);
	CHECK(c.timeout == 10 && c.cmdline == 0);
	CHECK_STR(c.boot, "LABEL=b");
	CHECK(warnings == 1);
	CHECK_STR(last_warning, "kernel command line: 5 initoverlayfs.* parameter(s) ignored (cmdline = no)");
	str_copy(cmd, sizeof cmd, "quiet ro");
	warnings = 0;
	CHECK(cmdline_apply(&c, cmd, warn_cb, NULL, err, sizeof err) == 0);
	CHECK(warnings == 0);
	CHECK(config_finish(&c, err, sizeof err) == 0);

	/* the switch itself is file-only, and only yes or no */
	CHECK(parse("boot = LABEL=b\nimage = /i.img\n") == 0);
	str_copy(cmd, sizeof cmd, "initoverlayfs.cmdline=no");
	CHECK(cmdline_apply(&c, cmd, warn_cb, NULL, err, sizeof err) < 0);
	CHECK(strstr(err, "initoverlayfs.cmdline: not accepted on the kernel command line") != NULL);
	CHECK(parse("cmdline = off\n") < 0);
	CHECK_STR(err, "line 1: cmdline: expected yes or no: \"off\"");
}

static void test_config_unknown(void)
{
	current = "config unknown keys";
	CHECK(parse("verity_keyring = abcdef\nboot=/dev/vda\nfsverity-digest = 12\n") == 0);
	CHECK(warnings == 2);
	CHECK_STR(last_warning, "line 3: unknown key \"fsverity_digest\" ignored");
	CHECK_STR(c.boot, "/dev/vda");
	CHECK(parse("debug = yes\n") == 0);
	CHECK(c.loglevel == 7);
	CHECK(parse("debug = maybe\n") < 0);
	CHECK(parse("loglevel = 3\n") == 0);
	CHECK(c.loglevel == 3);
}

/* ---- kernel command line ---------------------------------------------- */

struct collected {
	unsigned n;
	char param[16][64];
	char val[16][64];
};

static int collect(void *ctx, char *param, char *val)
{
	struct collected *col = ctx;

	if (col->n >= 16)
		return 1;
	str_copy(col->param[col->n], 64, param);
	str_copy(col->val[col->n], 64, val ? val : "(null)");
	col->n++;
	return 0;
}

static void test_cmdline_tokens(void)
{
	char buf[256];
	struct collected col;

	current = "cmdline tokens";
	memset(&col, 0, sizeof col);
	str_copy(buf, sizeof buf,
		 "  BOOT_IMAGE=/vmlinuz root=UUID=1 ro quiet dyndbg=\"file x.c +p\" \"a=b c\" "
		 "x=\"\" q=\"half\" single -- init args=1");
	CHECK(cmdline_foreach(buf, collect, &col) == 0);
	CHECK(col.n == 9);
	CHECK_STR(col.param[0], "BOOT_IMAGE");
	CHECK_STR(col.val[0], "/vmlinuz");
	CHECK_STR(col.val[1], "UUID=1");
	CHECK_STR(col.param[2], "ro");
	CHECK_STR(col.val[2], "(null)");
	CHECK_STR(col.param[4], "dyndbg");
	CHECK_STR(col.val[4], "file x.c +p");
	CHECK_STR(col.param[5], "a");
	CHECK_STR(col.val[5], "b c");
	CHECK_STR(col.param[6], "x");
	CHECK_STR(col.val[6], "");
	CHECK_STR(col.val[7], "half");
	CHECK_STR(col.param[8], "single");

	memset(&col, 0, sizeof col);
	str_copy(buf, sizeof buf, "a=\"unterminated value here");
	CHECK(cmdline_foreach(buf, collect, &col) == 0);
	CHECK(col.n == 1);
	CHECK_STR(col.val[0], "unterminated value here");

	memset(&col, 0, sizeof col);
	buf[0] = '\0';
	CHECK(cmdline_foreach(buf, collect, &col) == 0);
	CHECK(col.n == 0);
}

static void test_cmdline_module_params(void)
{
	const char *line = "ro nvme_core.default_ps_max_latency_us=0 quiet nvme-core.io_timeout=\"30\" "
			   "usb-storage.quirks=0bc2:2322:u nvme.poll_queues nvme_coreX.a=1 .b=2 nvme_core.= "
			   "dyndbg=\"file x.c +p\" nvme_core.note=\"a b\" -- nvme_core.after=1";
	static const struct {
		const char *name, *base;
		int n;
		const char *want;
	} cases[] = {
		{ "nvme_core", "multipath=N", 3, "multipath=N default_ps_max_latency_us=0 io_timeout=30 note=\"a b\"" },
		/* the file name's '_' matches the command line's '-' and the other way round */
		{ "usb_storage", "", 1, "quirks=0bc2:2322:u" },
		{ "nvme", "", 1, "poll_queues" },
		/* none: the config's own, unchanged */
		{ "loop", "max_part=8", 0, "max_part=8" },
	};
	char buf[512], out[256];
	size_t i;

	current = "cmdline module parameters";
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		str_copy(buf, sizeof buf, line);
		CHECK(cmdline_module_params(buf, cases[i].name, cases[i].base, out, sizeof out) == cases[i].n);
		CHECK_STR(out, cases[i].want);
	}
	/* too small: -1 and nothing half written */
	str_copy(buf, sizeof buf, line);
	CHECK(cmdline_module_params(buf, "nvme_core", "multipath=N", out, 20) == -1);
	CHECK_STR(out, "");
}

static void test_cmdline_overrides(void)
{
	char buf[512];

	current = "cmdline overrides";
	CHECK(parse("boot=UUID=aaaa\nimage=/a.img\ntimeout=10\nmodule=/m1.ko\nmodule=/m2.ko\nshim=/s1\n") == 0);
	str_copy(buf, sizeof buf,
		 "console=ttyS0 initoverlayfs.timeout=3 initoverlayfs.boot=\"LABEL=my boot\" "
		 "initoverlayfs.module=\"/x.ko a=1 b=2\" initoverlayfs.module=/y.ko "
		 "initoverlayfs.debug initoverlayfs.failure=reboot initoverlayfs.future-key=1 "
		 "initoverlayfs.shim=");
	CHECK(cmdline_apply(&c, buf, warn_cb, NULL, err, sizeof err) == 0);
	CHECK(c.timeout == 3);
	CHECK_STR(c.boot, "LABEL=my boot");
	CHECK_STR(c.image, "/a.img");
	CHECK(c.n_modules == 2);
	CHECK_STR(c.modules[0].path, "/x.ko");
	CHECK_STR(c.modules[0].params, "a=1 b=2");
	CHECK_STR(c.modules[1].path, "/y.ko");
	CHECK(c.loglevel == 7);
	CHECK(c.failure == FAILURE_REBOOT);
	CHECK(warnings == 1);
	CHECK(strstr(last_warning, "initoverlayfs.future-key") != NULL);
	CHECK(c.shims.n == 0);
	CHECK(config_finish(&c, err, sizeof err) == 0);
	CHECK(c.shims.n == 0);

	CHECK(parse("boot=/dev/vda\n") == 0);
	str_copy(buf, sizeof buf, "initoverlayfs.timeout=abc");
	CHECK(cmdline_apply(&c, buf, warn_cb, NULL, err, sizeof err) < 0);
	CHECK(strstr(err, "initoverlayfs.timeout: expected a whole number") != NULL);

	/* after "--" everything belongs to init */
	CHECK(parse("boot=/dev/vda\n") == 0);
	str_copy(buf, sizeof buf, "quiet -- initoverlayfs.timeout=1");
	CHECK(cmdline_apply(&c, buf, warn_cb, NULL, err, sizeof err) == 0);
	CHECK(c.timeout == 10);
}

/* ---- run-init / switch_root arguments --------------------------------- */

static int split(char *s, char **argv, int max)
{
	int n = 0;
	char *tok = strtok(s, " ");

	while (tok && n < max - 1) {
		argv[n++] = tok;
		tok = strtok(NULL, " ");
	}
	argv[n] = NULL;
	return n;
}

static void test_args(void)
{
	char buf[256];
	char *argv[16];
	struct switch_args a;
	int argc;

	current = "switch-root arguments";
	CHECK(tool_from_argv0("run-init") == TOOL_RUN_INIT);
	CHECK(tool_from_argv0("/usr/sbin/run-init") == TOOL_RUN_INIT);
	CHECK(tool_from_argv0("/sbin/switch_root") == TOOL_SWITCH_ROOT);
	CHECK(tool_from_argv0("/init") == TOOL_STORAGE_INIT);
	CHECK(tool_from_argv0("run-init.sh") == TOOL_STORAGE_INIT);
	CHECK(tool_from_argv0(NULL) == TOOL_STORAGE_INIT);

	str_copy(buf, sizeof buf, "run-init -d cap_sys_module -c /dev/console -n /root /sbin/init splash --x");
	argc = split(buf, argv, 16);
	CHECK(parse_switch_args(TOOL_RUN_INIT, argc, argv, &a, err, sizeof err) == 0);
	CHECK(a.dry_run == 1);
	CHECK_STR(a.drop_caps, "cap_sys_module");
	CHECK_STR(a.console, "/dev/console");
	CHECK_STR(a.newroot, "/root");
	CHECK_STR(a.init, "/sbin/init");
	CHECK_STR(a.init_argv[0], "/sbin/init");
	CHECK_STR(a.init_argv[1], "splash");
	CHECK_STR(a.init_argv[2], "--x");
	CHECK(a.init_argv[3] == NULL);

	str_copy(buf, sizeof buf, "run-init /root /sbin/init");
	argc = split(buf, argv, 16);
	CHECK(parse_switch_args(TOOL_RUN_INIT, argc, argv, &a, err, sizeof err) == 0);
	CHECK(a.dry_run == 0 && a.console == NULL && a.drop_caps == NULL);
	CHECK(a.init_argv[1] == NULL);

	str_copy(buf, sizeof buf, "run-init -nc/dev/ttyS0 /root /init");
	argc = split(buf, argv, 16);
	CHECK(parse_switch_args(TOOL_RUN_INIT, argc, argv, &a, err, sizeof err) == 0);
	CHECK(a.dry_run == 1);
	CHECK_STR(a.console, "/dev/ttyS0");

	str_copy(buf, sizeof buf, "run-init -- -root /init");
	argc = split(buf, argv, 16);
	CHECK(parse_switch_args(TOOL_RUN_INIT, argc, argv, &a, err, sizeof err) == 0);
	CHECK_STR(a.newroot, "-root");

	str_copy(buf, sizeof buf, "run-init -n /root");
	argc = split(buf, argv, 16);
	CHECK(parse_switch_args(TOOL_RUN_INIT, argc, argv, &a, err, sizeof err) < 0);
	CHECK(strstr(err, "usage: run-init") != NULL);

	str_copy(buf, sizeof buf, "run-init -x /root /init");
	argc = split(buf, argv, 16);
	CHECK(parse_switch_args(TOOL_RUN_INIT, argc, argv, &a, err, sizeof err) < 0);
	CHECK_STR(err, "run-init: unknown option -x");

	str_copy(buf, sizeof buf, "run-init -c");
	argc = split(buf, argv, 16);
	CHECK(parse_switch_args(TOOL_RUN_INIT, argc, argv, &a, err, sizeof err) < 0);
	CHECK_STR(err, "run-init: option -c needs an argument");

	str_copy(buf, sizeof buf, "switch_root -c /dev/console /newroot /sbin/init 3");
	argc = split(buf, argv, 16);
	CHECK(parse_switch_args(TOOL_SWITCH_ROOT, argc, argv, &a, err, sizeof err) == 0);
	CHECK_STR(a.console, "/dev/console");
	CHECK_STR(a.newroot, "/newroot");
	CHECK_STR(a.init_argv[1], "3");

	str_copy(buf, sizeof buf, "switch_root -n /newroot /sbin/init");
	argc = split(buf, argv, 16);
	CHECK(parse_switch_args(TOOL_SWITCH_ROOT, argc, argv, &a, err, sizeof err) < 0);
}

/* ---- superblock probes ------------------------------------------------ */

static unsigned char img[PROBE_BUF_SIZE];
static const unsigned char uuid_bytes[16] = {
	0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef
};

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, unsigned long v)
{
	put16(p, (unsigned)(v & 0xFFFF));
	put16(p + 2, (unsigned)(v >> 16));
}
static void put64(unsigned char *p, unsigned long long v)
{
	put32(p, (unsigned long)(v & 0xFFFFFFFFu));
	put32(p + 4, (unsigned long)(v >> 32));
}

static void test_probe_ext(void)
{
	struct fs_info fi;
	unsigned char *sb = img + 1024;

	current = "probe ext4";
	memset(img, 0, sizeof img);
	CHECK(probe_fs(img, sizeof img, &fi) == 0);
	put16(sb + 0x38, 0xEF53);
	put32(sb + 0x5C, 0x4);        /* has_journal */
	put32(sb + 0x60, 0x2C2);      /* extents | flex_bg | 64bit | filetype */
	memcpy(sb + 0x68, uuid_bytes, 16);
	memcpy(sb + 0x78, "rootfs-label-16c", 16); /* no NUL: all 16 used */
	CHECK(probe_ext(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.fstype, "ext4");
	CHECK_STR(fi.uuid, "12345678-9abc-def0-0123-456789abcdef");
	CHECK_STR(fi.label, "rootfs-label-16c");
	put32(sb + 0x60, 0x2);        /* filetype only -> ext3 (journal) */
	CHECK(probe_fs(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.fstype, "ext3");
	put32(sb + 0x5C, 0);
	memset(sb + 0x78, 0, 16);
	CHECK(probe_fs(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.fstype, "ext2");
	CHECK_STR(fi.label, "");
	put32(sb + 0x60, 0x8);        /* journal device: not a filesystem */
	CHECK(probe_ext(img, sizeof img, &fi) == 0);
	CHECK(probe_ext(img, 1500, &fi) == 0); /* truncated buffer */
}

static void fat_common(unsigned char *b, unsigned fat16_len)
{
	memset(img, 0, sizeof img);
	b[0] = 0xEB; b[1] = 0x3C; b[2] = 0x90;
	memcpy(b + 3, "mkfs.fat", 8);
	put16(b + 0x0B, 512);
	b[0x0D] = 4;
	put16(b + 0x0E, fat16_len ? 4 : 32);
	b[0x10] = 2;
	b[0x15] = 0xF8;
	put16(b + 0x16, fat16_len);
	b[510] = 0x55; b[511] = 0xAA;
}

static void test_probe_vfat(void)
{
	struct fs_info fi;

	current = "probe vfat";
	/* FAT32 */
	fat_common(img, 0);
	put32(img + 0x24, 1000);
	img[0x42] = 0x29;
	put32(img + 0x43, 0x1234ABCDul);
	memcpy(img + 0x47, "ESP        ", 11);
	memcpy(img + 0x52, "FAT32   ", 8);
	CHECK(probe_fs(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.fstype, "vfat");
	CHECK_STR(fi.uuid, "1234-ABCD");
	CHECK_STR(fi.label, "ESP");
	memcpy(img + 0x47, "NO NAME    ", 11);
	CHECK(probe_vfat(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.label, "");
	memcpy(img + 0x52, "NTFS    ", 8);
	CHECK(probe_vfat(img, sizeof img, &fi) == 0);

	/* FAT16 */
	fat_common(img, 32);
	img[0x26] = 0x29;
	put32(img + 0x27, 0x0000BEEFul);
	memcpy(img + 0x2B, "BOOT PART  ", 11);
	memcpy(img + 0x36, "FAT16   ", 8);
	CHECK(probe_fs(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.uuid, "0000-BEEF");
	CHECK_STR(fi.label, "BOOT PART");
	/* FAT12 with the old 0x28 signature: id, no label */
	memcpy(img + 0x36, "FAT12   ", 8);
	img[0x26] = 0x28;
	CHECK(probe_vfat(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.uuid, "0000-BEEF");
	CHECK_STR(fi.label, "");
	/* sanity checks on the BPB */
	put16(img + 0x0B, 500);
	CHECK(probe_vfat(img, sizeof img, &fi) == 0);
	put16(img + 0x0B, 512);
	img[0x0D] = 3;
	CHECK(probe_vfat(img, sizeof img, &fi) == 0);
	img[0x0D] = 4;
	img[0x15] = 0x12;
	CHECK(probe_vfat(img, sizeof img, &fi) == 0);
	img[0x15] = 0xF8;
	img[0] = 0;
	CHECK(probe_vfat(img, sizeof img, &fi) == 0);
}

static void test_probe_xfs_btrfs(void)
{
	struct fs_info fi;
	unsigned char *sb = img + 0x10000;

	current = "probe xfs/btrfs";
	memset(img, 0, sizeof img);
	memcpy(img, "XFSB", 4);
	memcpy(img + 32, uuid_bytes, 16);
	memcpy(img + 108, "xfsboot", 7);
	CHECK(probe_fs(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.fstype, "xfs");
	CHECK_STR(fi.uuid, "12345678-9abc-def0-0123-456789abcdef");
	CHECK_STR(fi.label, "xfsboot");
	memcpy(img + 108, "twelve-chars", 12);
	CHECK(probe_xfs(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.label, "twelve-chars");

	memset(img, 0, sizeof img);
	memcpy(sb + 0x40, "_BHRfS_M", 8);
	memcpy(sb + 0x20, uuid_bytes, 16);
	memcpy(sb + 0x12B, "my btrfs", 8);
	CHECK(probe_fs(img, sizeof img, &fi) == 1);
	CHECK_STR(fi.fstype, "btrfs");
	CHECK_STR(fi.uuid, "12345678-9abc-def0-0123-456789abcdef");
	CHECK_STR(fi.label, "my btrfs");
	CHECK(probe_btrfs(img, 0x10000 + 100, &fi) == 0);
}

/* ---- GPT / MBR --------------------------------------------------------- */

static void test_gpt(void)
{
	static unsigned char disk[512 * 40];
	unsigned char *hdr = disk + 512, *ent = disk + 1024;
	static const unsigned char type_linux[16] = {
		0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4
	};
	struct gpt_header h;
	char uuid[37], name[80], mbr[16];
	const char *label = "boot";
	size_t i;

	current = "gpt";
	CHECK(crc32_ieee("123456789", 9) == 0xCBF43926u);
	memset(disk, 0, sizeof disk);
	/* protective MBR */
	disk[446 + 4] = 0xEE;
	disk[510] = 0x55; disk[511] = 0xAA;
	memcpy(hdr, "EFI PART", 8);
	put32(hdr + 8, 0x00010000);
	put32(hdr + 12, 92);
	put64(hdr + 24, 1);
	put64(hdr + 72, 2);
	put32(hdr + 80, 128);
	put32(hdr + 84, 128);
	/* partition 2: the one we look for */
	memcpy(ent + 128, type_linux, 16);
	memcpy(ent + 128 + 16, uuid_bytes, 16);
	for (i = 0; label[i]; i++)
		put16(ent + 128 + 56 + 2 * i, (unsigned char)label[i]);
	put32(hdr + 88, (unsigned long)crc32_ieee(ent, 128 * 128));
	put32(hdr + 16, (unsigned long)crc32_ieee(hdr, 92));

	CHECK(gpt_parse_header(hdr, 512, &h) == 0);
	CHECK(h.entries_lba == 2 && h.n_entries == 128 && h.entry_size == 128);
	CHECK(gpt_partition(&h, ent, 128 * 128, 2, uuid, name, sizeof name) == 0);
	/* the first three fields are little-endian on disk */
	CHECK_STR(uuid, "78563412-bc9a-f0de-0123-456789abcdef");
	CHECK_STR(name, "boot");
	CHECK(gpt_partition(&h, ent, 128 * 128, 1, uuid, name, sizeof name) < 0); /* unused */
	CHECK(gpt_partition(&h, ent, 128 * 128, 129, uuid, name, sizeof name) < 0);
	CHECK(gpt_partition(&h, ent, 100, 2, uuid, name, sizeof name) < 0);
	ent[128 + 20] ^= 1;   /* entries CRC mismatch */
	CHECK(gpt_partition(&h, ent, 128 * 128, 2, uuid, name, sizeof name) < 0);
	ent[128 + 20] ^= 1;
	hdr[40] ^= 1;         /* header CRC mismatch */
	CHECK(gpt_parse_header(hdr, 512, &h) < 0);
	hdr[40] ^= 1;
	put32(hdr + 12, 600); /* header larger than a block */
	CHECK(gpt_parse_header(hdr, 512, &h) < 0);
	CHECK(mbr_partuuid(disk, 1, mbr) < 0); /* protective MBR */

	/* MBR */
	memset(disk, 0, 512);
	put32(disk + 440, 0x0badcafeul);
	disk[446 + 4] = 0x83;
	disk[510] = 0x55; disk[511] = 0xAA;
	CHECK(mbr_partuuid(disk, 1, mbr) == 0);
	CHECK_STR(mbr, "0badcafe-01");
	CHECK(mbr_partuuid(disk, 5, mbr) == 0);
	CHECK_STR(mbr, "0badcafe-05");
	CHECK(mbr_partuuid(disk, 0, mbr) < 0);
	disk[511] = 0;
	CHECK(mbr_partuuid(disk, 1, mbr) < 0);
	disk[511] = 0xAA;
	put32(disk + 440, 0);
	CHECK(mbr_partuuid(disk, 1, mbr) < 0);
}

static void test_script_rewrite(void)
{
	static const char in[] =
		"#!/bin/sh\n"
		"# run-init is called below\n"
		"validate_init() {\n"
		"\trun-init -n \"${rootmnt}\" \"${1}\"\n"
		"}\n"
		"echo \"run-init failed\" 'run-init' x-run-init run-init-old /usr/sbin/run-init\n"
		"x=run-init; (run-init a)|run-init b && `run-init`\n"
		"exec run-init ${drop_caps} \"${rootmnt}\" \"${init}\" \"$@\" <\"${rootmnt}/dev/console\"\n"
		"echo \\\"run-init \\\" # run-init\n"
		"run-init";
	static const char want[] =
		"#!/bin/sh\n"
		"# run-init is called below\n"
		"validate_init() {\n"
		"\t/S -n \"${rootmnt}\" \"${1}\"\n"
		"}\n"
		"echo \"run-init failed\" 'run-init' x-run-init run-init-old /usr/sbin/run-init\n"
		"x=run-init; (/S a)|/S b && `/S`\n"
		"exec /S ${drop_caps} \"${rootmnt}\" \"${init}\" \"$@\" <\"${rootmnt}/dev/console\"\n"
		"echo \\\"run-init \\\" # run-init\n"
		"/S";
	char out[1024];
	unsigned n;
	long len;

	current = "script rewrite";
	len = script_rewrite(in, strlen(in), "run-init", "/S", out, sizeof out, &n);
	CHECK(len == (long)strlen(want));
	if (len >= 0) {
		out[len] = '\0';
		CHECK_STR(out, want);
	}
	CHECK(n == 6);
	len = script_rewrite(in, strlen(in), "switch_root", "/S", out, sizeof out, &n);
	CHECK(len == (long)strlen(in) && n == 0);
	CHECK(script_rewrite(in, strlen(in), "run-init", "/usr/sbin/run-init", out, 100, &n) < 0);
}

/* only command positions: arguments that happen to be the name stay */
static void test_script_command_positions(void)
{
	static const struct { const char *in, *want; unsigned n; } cases[] = {
		/* arguments, not commands */
		{ "[ -x run-init ] && run-init a\n", "[ -x run-init ] && /S a\n", 1 },
		{ "test -x /usr/sbin/run-init || echo run-init missing\n",
		  "test -x /usr/sbin/run-init || echo run-init missing\n", 0 },
		{ "command -v run-init >/dev/null\n", "command -v run-init >/dev/null\n", 0 },
		{ "echo a 2>&1 run-init; echo b >| run-init\n", "echo a 2>&1 run-init; echo b >| run-init\n", 0 },
		{ "ls run-init run-init\n", "ls run-init run-init\n", 0 },
		{ "echo \\\nrun-init\n", "echo \\\nrun-init\n", 0 },  /* line continuation */
		{ "echo $(date) run-init `date` run-init\n", "echo $(date) run-init `date` run-init\n", 0 },
		{ "case $1 in\nrun-init) run-init x ;;\nesac\n", "case $1 in\nrun-init) /S x ;;\nesac\n", 1 },
		/* commands after reserved words, exec, assignments, operators */
		{ "if run-init -n a; then run-init b; elif run-init c; then :; else run-init d; fi\n",
		  "if /S -n a; then /S b; elif /S c; then :; else /S d; fi\n", 4 },
		{ "while run-init; do run-init; done; until ! run-init; do :; done\n",
		  "while /S; do /S; done; until ! /S; do :; done\n", 3 },
		{ "{ run-init; } & run-init|run-init&&run-init||run-init\n",
		  "{ /S; } & /S|/S&&/S||/S\n", 5 },
		{ "A=1 B=\"x y\" run-init a\nexec A=1 run-init\nx=$(run-init a) run-init b\n",
		  "A=1 B=\"x y\" /S a\nexec A=1 /S\nx=$(/S a) /S b\n", 4 },
		{ "f() { run-init; }\necho $(run-init) `run-init` \"$(run-init)\"\n",
		  "f() { /S; }\necho $(/S) `/S` \"$(run-init)\"\n", 3 },
		{ "(cd /; run-init a) # run-init\n\trun-init", "(cd /; /S a) # run-init\n\t/S", 2 },
	};
	char out[512];
	unsigned n;
	size_t i;
	long len;

	current = "script rewrite: command positions only";
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		len = script_rewrite(cases[i].in, strlen(cases[i].in), "run-init", "/S", out, sizeof out, &n);
		CHECK(len >= 0);
		if (len < 0)
			continue;
		out[len] = '\0';
		CHECK_STR(out, cases[i].want);
		CHECK(n == cases[i].n);
	}
}

static void test_util(void)
{
	char small[8];
	unsigned long v;

	current = "util";
	CHECK(str_copy(small, sizeof small, "1234567") == 0);
	CHECK(str_copy(small, sizeof small, "12345678") < 0);
	CHECK_STR(small, "1234567");
	CHECK(str_concat(small, sizeof small, "abc", "defgh") < 0);
	CHECK(str_concat(small, sizeof small, "abc", "def") == 0);
	CHECK_STR(small, "abcdef");
	CHECK(parse_ulong("4294967295", 0xFFFFFFFFul, &v) == 0 && v == 4294967295ul);
	CHECK(parse_ulong("4294967296", 0xFFFFFFFFul, &v) < 0);
	CHECK(parse_ulong("", 10, &v) < 0);
	CHECK(parse_ulong("1x", 10, &v) < 0);
	CHECK(str_ieq("1234-abcd", "1234-ABCD"));
	CHECK(!str_ieq("1234-abcd", "1234-ABC"));
	CHECK_STR(path_base("/usr/sbin/run-init"), "run-init");
	CHECK(parse_ulong("8", 7, &v) < 0);
	CHECK(parse_ulong("7", 7, &v) == 0 && v == 7);
	CHECK(parse_ulong("2", 1, &v) < 0);
	{
		unsigned char b[4];
		char h[9];

		CHECK(hex_decode("00fFa5", b, sizeof b) == 3 && b[0] == 0 && b[1] == 0xff && b[2] == 0xa5);
		CHECK(hex_decode("abc", b, sizeof b) < 0);
		CHECK(hex_decode("0011223344", b, sizeof b) < 0);
		CHECK(hex_decode("zz", b, sizeof b) < 0);
		hex_encode(h, b, 3);
		CHECK_STR(h, "00ffa5");
	}
}


/* ---- integrity: SHA-2, fs-verity, dm-verity, config keys -------------- */

static void hex_of(enum hash_alg alg, const void *data, size_t len, char *out)
{
	unsigned char d[SHA_MAX_LEN];

	hash_buf(alg, data, len, d);
	hex_encode(out, d, hash_len(alg));
}

static void test_sha2(void)
{
	static char million[1000000];
	char hex[2 * SHA_MAX_LEN + 1];
	struct hash_ctx ctx;
	unsigned char d[SHA_MAX_LEN];
	size_t i;

	/* FIPS 180-4 examples (NIST CSRC "Example Values") */
	current = "sha256";
	hex_of(HASH_SHA256, "abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_of(HASH_SHA256, "", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of(HASH_SHA256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', sizeof million);
	hex_of(HASH_SHA256, million, sizeof million, hex);
	CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* streaming in odd pieces gives the same */
	hash_init(&ctx, HASH_SHA256);
	for (i = 0; i < sizeof million; i += 997)
		hash_update(&ctx, million + i, sizeof million - i < 997 ? sizeof million - i : 997);
	hash_final(&ctx, d);
	hex_encode(hex, d, 32);
	CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	current = "sha512";
	hex_of(HASH_SHA512, "abc", 3, hex);
	CHECK_STR(hex, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	hex_of(HASH_SHA512, "", 0, hex);
	CHECK_STR(hex, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
		       "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
	hex_of(HASH_SHA512, "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
		       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112, hex);
	CHECK_STR(hex, "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
		       "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
	hex_of(HASH_SHA512, million, sizeof million, hex);
	CHECK_STR(hex, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
		       "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

static int fsv_hex(enum hash_alg alg, const unsigned char *data, size_t len, size_t piece,
		   char *out)
{
	static struct fsverity_ctx fsv;
	unsigned char d[SHA_MAX_LEN];
	size_t i;

	if (fsverity_init(&fsv, alg, len) < 0)
		return -1;
	for (i = 0; i < len; i += piece)
		if (fsverity_update(&fsv, data + i, len - i < piece ? len - i : piece) < 0)
			return -1;
	if (fsverity_final(&fsv, d) < 0)
		return -1;
	hex_encode(out, d, hash_len(alg));
	return 0;
}

static void test_fsverity(void)
{
	static unsigned char pattern[1000000];
	static struct fsverity_ctx fsv;
	char hex[2 * SHA_MAX_LEN + 1];
	unsigned char d[SHA_MAX_LEN];
	size_t i;

	current = "fs-verity digest";
	/* known answers from fsverity-utils (shared/notes/verity.md) */
	for (i = 0; i < sizeof pattern; i++)
		pattern[i] = (unsigned char)((i % 11 + i % 439 + i % 1103) & 0xff);
	CHECK(fsv_hex(HASH_SHA256, pattern, sizeof pattern, sizeof pattern, hex) == 0);
	CHECK_STR(hex, "48df0c462329cd879661bd05b39aa81b05cc16afd27a7196a559da83531d39d9");
	CHECK(fsv_hex(HASH_SHA256, pattern, sizeof pattern, 1, hex) == 0);
	CHECK_STR(hex, "48df0c462329cd879661bd05b39aa81b05cc16afd27a7196a559da83531d39d9");
	CHECK(fsv_hex(HASH_SHA256, pattern, sizeof pattern, 5000, hex) == 0);
	CHECK_STR(hex, "48df0c462329cd879661bd05b39aa81b05cc16afd27a7196a559da83531d39d9");
	CHECK(fsv_hex(HASH_SHA256, pattern, 0, 1, hex) == 0);
	CHECK_STR(hex, "3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95");
	/* more or fewer bytes than declared */
	CHECK(fsverity_init(&fsv, HASH_SHA256, 10) == 0);
	CHECK(fsverity_update(&fsv, pattern, 11) < 0);
	CHECK(fsverity_update(&fsv, pattern, 9) == 0);
	CHECK(fsverity_final(&fsv, d) < 0);
	/* tree heights: 1 block -> 0 levels, 2..128 blocks -> 1, 129 -> 2 */
	CHECK(fsverity_init(&fsv, HASH_SHA256, 4096) == 0 && fsv.levels == 0);
	CHECK(fsverity_init(&fsv, HASH_SHA256, 4097) == 0 && fsv.levels == 1);
	CHECK(fsverity_init(&fsv, HASH_SHA256, 128 * 4096) == 0 && fsv.levels == 1);
	CHECK(fsverity_init(&fsv, HASH_SHA256, 128 * 4096 + 1) == 0 && fsv.levels == 2);
	CHECK(fsverity_init(&fsv, HASH_SHA512, 64 * 4096 + 1) == 0 && fsv.levels == 2);
	CHECK(fsverity_init(&fsv, HASH_SHA256, ~0ull) == 0 && fsv.levels <= FSV_MAX_LEVELS);
}

/* a superblock as `veritysetup format` writes it */
static void make_sb(unsigned char *sb, const char *alg, unsigned type, unsigned long long blocks,
		    const unsigned char *salt, unsigned salt_len)
{
	memset(sb, 0, VERITY_SB_LEN);
	memcpy(sb, "verity\0\0", 8);
	sb[8] = 1;
	sb[12] = (unsigned char)type;
	memcpy(sb + 32, alg, strlen(alg));
	sb[65] = 0x10; /* 4096 */
	sb[69] = 0x10;
	for (int i = 0; i < 8; i++)
		sb[72 + i] = (unsigned char)(blocks >> (8 * i));
	sb[80] = (unsigned char)salt_len;
	memcpy(sb + 88, salt, salt_len);
}

#define ROOT64 "e522df0f97da4febb882ac40f30b37dc0b444bf6df418929463fa25280f09d5c"
#define SALT64 "e48da609055204e89ae53b655ca2216dd983cf3cb829f34f63a297d106d53e2d"
#define DMV "boot = LABEL=b\nimage = /i.img\nintegrity = dm-verity\nverity_roothash = " ROOT64 \
	"\nverity_salt = " SALT64 "\nverity_hashalg = sha256\nverity_format = 1\n" \
	"verity_data_blocks = 2048\nverity_hash_offset = 8388608\n"

static int finish(const char *text)
{
	if (parse(text) < 0)
		return -1;
	return config_finish(&c, err, sizeof err);
}

/* the root hash signature: what add_key takes for a "user" key, 1..32767 bytes */
static void test_verity_sig_size(void)
{
	static char sig[VERITY_SIG_MAX + 1], data[32769];
	char path[] = "/tmp/si-unit-sig-XXXXXX", why[100];
	size_t sizes[] = { 0, 1, 32767, 32768, 32769 }, i, len;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	memset(data, 0x30, sizeof data);
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		int rc;

		CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, sizes[i], 0) == (ssize_t)sizes[i]);
		len = 12345;
		rc = verity_read_sig(path, sig, &len, why, sizeof why);
		if (sizes[i] >= 1 && sizes[i] <= 32767) {
			CHECK(rc == 0 && len == sizes[i]);
		} else {
			CHECK(rc < 0);
			CHECK_STR(why, sizes[i] ? "larger than 32767 bytes (the kernel's limit for the key)"
						: "empty file");
		}
	}
	close(fd);
	unlink(path);
	CHECK(verity_read_sig("/nonexistent/sig", sig, &len, why, sizeof why) < 0);
	CHECK_STR(why, "No such file or directory");
}

static void test_config_integrity(void)
{
	unsigned char sb[VERITY_SB_LEN], salt[32];
	char table[VERITY_TABLE_MAX], cmd[300];

	current = "config integrity";
	CHECK(finish("boot = LABEL=b\nimage = /i.img\n") == 0);
	CHECK(c.integrity == INTEGRITY_NONE);
	CHECK(finish("boot = LABEL=b\nimage = /i.img\nintegrity = none\n") == 0);
	CHECK(finish("boot = LABEL=b\nimage = /i.img\nintegrity = copy\n"
		     "digest = sha256:48DF0C462329cd879661bd05b39aa81b05cc16afd27a7196a559da83531d39d9\n") == 0);
	CHECK(c.integrity == INTEGRITY_COPY && c.digest_alg == 1 && c.digest_len == 32);
	CHECK(c.digest_bin[0] == 0x48 && c.digest_bin[31] == 0xd9);
	CHECK(finish("boot = LABEL=b\nimage = /i.img\nintegrity = fs-verity\ndigest = sha512:"
		     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f\n") == 0);
	CHECK(c.integrity == INTEGRITY_FS_VERITY && c.digest_alg == 2 && c.digest_len == 64);
	CHECK(finish(DMV) == 0);
	CHECK_STR(err, "");
	CHECK(c.integrity == INTEGRITY_DM_VERITY && c.verity_format == 1);
	CHECK(c.verity_data_blocks == 2048 && c.verity_hash_offset == 8388608);
	CHECK(finish(DMV "verity_sig = /etc/initoverlayfs/roothash.p7s\n") == 0);
	CHECK_STR(c.verity_sig, "/etc/initoverlayfs/roothash.p7s");
	/* verity_cert: a DDI's signer, nothing else has a signature partition */
	CHECK(finish(DMV "image_format = ddi\nverity_cert = /etc/initoverlayfs/verity-cert.der\n") == 0);
	CHECK_STR(c.verity_cert, "/etc/initoverlayfs/verity-cert.der");
	CHECK(finish(DMV "verity_cert = /etc/initoverlayfs/verity-cert.der\n") < 0);
	CHECK_STR(err, "verity_cert: needs image_format = ddi");
	CHECK(finish("boot = LABEL=b\nimage = /i.img\nintegrity = copy\ndigest = sha256:" ROOT64 "\nverity_cert = /c.der\n") < 0);
	CHECK_STR(err, "verity_cert: a certificate needs integrity = dm-verity");
	CHECK(finish("boot = LABEL=b\nimage = /i.img\nverity_cert = /c.der\n") < 0);
	CHECK_STR(err, "integrity keys are set but integrity is none or missing");
	CHECK(parse("verity_cert = c.der\n") < 0);

	/* required keys */
	CHECK(finish("boot = LABEL=b\nimage = /i.img\nintegrity = copy\n") < 0);
	CHECK_STR(err, "digest: not set (required by integrity = copy)");
	CHECK(finish("boot = LABEL=b\nimage = /i.img\nintegrity = dm-verity\nverity_roothash = " ROOT64 "\n") < 0);
	CHECK_STR(err, "verity_salt: not set (required by integrity = dm-verity)");
	CHECK(finish(DMV "verity_hash_offset = 8388609\n") < 0);
	CHECK_STR(err, "verity_hash_offset: 8388609 is not a multiple of 4096");
	CHECK(finish(DMV "verity_hash_offset = 4096\n") < 0);
	CHECK_STR(err, "verity_hash_offset: 4096 overlaps the 2048 data blocks");
	CHECK(finish(DMV "verity_data_blocks = 0\n") < 0);
	CHECK(finish(DMV "verity_hashalg = sha512\n") < 0);
	CHECK_STR(err, "verity_roothash: 64 hex digits, sha512 needs 128");
	/* integrity keys with a misspelled or missing mode fail closed */
	CHECK(finish("boot = LABEL=b\nimage = /i.img\nintegrty = copy\ndigest = sha256:" ROOT64 "\n") < 0);
	CHECK_STR(err, "integrity keys are set but integrity is none or missing");
	CHECK(finish("boot = LABEL=b\nimage = /i.img\nintegrity = none\nverity_hash_offset = 8192\n") < 0);
	/* bad values */
	CHECK(parse("integrity = yes\n") < 0);
	CHECK_STR(err, "line 1: integrity: expected none, dm-verity, fs-verity or copy: \"yes\"");
	CHECK(parse("digest = sha1:00\n") < 0);
	CHECK(parse("digest = sha256:48df\n") < 0);
	CHECK(parse("digest = sha256:48df0c462329cd879661bd05b39aa81b05cc16afd27a7196a559da83531d39dx\n") < 0);
	CHECK(parse("verity_roothash = abc\n") < 0);
	CHECK(parse("verity_roothash = xy\n") < 0);
	CHECK(parse("verity_salt = -\n") == 0);
	CHECK(parse("verity_salt = 0g\n") < 0);
	CHECK(parse("verity_hashalg = md5\n") < 0);
	CHECK(parse("verity_format = 2\n") < 0);
	CHECK(parse("verity_format = 5\n") < 0);
	CHECK(parse("verity_data_blocks = 99999999999999999999999\n") < 0);
	CHECK(parse("verity_sig = roothash.p7s\n") < 0);
	/* never from the kernel command line */
	CHECK(finish(DMV) == 0);
	str_copy(cmd, sizeof cmd, "initoverlayfs.integrity=none");
	CHECK(cmdline_apply(&c, cmd, warn_cb, NULL, err, sizeof err) < 0);
	CHECK(strstr(err, "not accepted on the kernel command line") != NULL);
	str_copy(cmd, sizeof cmd, "initoverlayfs.verity_roothash=" ROOT64);
	CHECK(cmdline_apply(&c, cmd, warn_cb, NULL, err, sizeof err) < 0);
	CHECK(c.integrity == INTEGRITY_DM_VERITY);

	/* offsets stay file offsets: offset + superblock + a hash block never wraps */
	current = "dm-verity bounds";
	CHECK(finish(DMV "verity_hash_offset = 9223372036854763520\n") == 0); /* 2^63 - 3 * 4096 */
	CHECK(c.verity_hash_offset + 2ul * VERITY_BLOCK > c.verity_hash_offset);
	CHECK(c.verity_hash_offset + 2ul * VERITY_BLOCK <= 9223372036854775807ul);
	CHECK(parse("verity_hash_offset = 9223372036854767616\n") < 0);          /* 2^63 - 2 * 4096 */
	CHECK(strstr(err, "verity_hash_offset: expected a whole number from 0 to 9223372036854767615") != NULL);
	CHECK(parse("verity_hash_offset = 18446744073709543424\n") < 0);         /* 2^64 - 2 * 4096 */
	CHECK(parse("verity_hash_offset = 18446744073709547520\n") < 0);         /* 2^64 - 4096 */
	test_verity_sig_size();

	current = "dm-verity superblock and table";
	CHECK(finish(DMV) == 0);
	CHECK(hex_decode(SALT64, salt, sizeof salt) == 32);
	make_sb(sb, "sha256", 1, 2048, salt, 32);
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) == 0);
	make_sb(sb, "sha512", 1, 2048, salt, 32);
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) < 0);
	CHECK_STR(err, "algorithm \"sha512\" in the superblock, configured sha256");
	make_sb(sb, "sha256", 0, 2048, salt, 32);
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) < 0);
	make_sb(sb, "sha256", 1, 2049, salt, 32);
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) < 0);
	CHECK_STR(err, "2049 data blocks in the superblock, configured 2048");
	make_sb(sb, "sha256", 1, 2048, salt, 31);
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) < 0);
	make_sb(sb, "sha256", 1, 2048, salt, 32);
	sb[88 + 31] ^= 1;
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) < 0);
	make_sb(sb, "sha256", 1, 2048, salt, 32);
	sb[0] = 'V';
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) < 0);
	make_sb(sb, "sha256", 1, 2048, salt, 32);
	sb[8] = 2;
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) < 0);
	make_sb(sb, "sha256", 1, 2048, salt, 32);
	sb[65] = 0x02; /* 512-byte data blocks */
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) < 0);

	CHECK(verity_sectors(&c) == 16384);
	CHECK(verity_table(&c, "7:3", "7:3", 0, table, sizeof table) == 0);
	CHECK_STR(table, "1 7:3 7:3 4096 4096 2048 2049 sha256 " ROOT64 " " SALT64 " 1 panic_on_corruption");
	c.failure = FAILURE_REBOOT;
	CHECK(verity_table(&c, "7:3", "7:3", 1, table, sizeof table) == 0);
	CHECK_STR(table, "1 7:3 7:3 4096 4096 2048 2049 sha256 " ROOT64 " " SALT64
			 " 3 restart_on_corruption root_hash_sig_key_desc initoverlayfs:roothash");
	c.failure = FAILURE_SHELL;
	str_copy(c.verity_salt, sizeof c.verity_salt, "-");
	CHECK(verity_table(&c, "7:3", "7:3", 0, table, sizeof table) == 0);
	CHECK_STR(table, "1 7:3 7:3 4096 4096 2048 2049 sha256 " ROOT64 " -");
	CHECK(verity_table(&c, "7:3", "7:3", 1, table, sizeof table) == 0);
	CHECK_STR(table, "1 7:3 7:3 4096 4096 2048 2049 sha256 " ROOT64 " - 2 root_hash_sig_key_desc initoverlayfs:roothash");
	CHECK(verity_table(&c, "7:3", "7:3", 0, table, 20) < 0);
	make_sb(sb, "sha256", 1, 2048, salt, 0);
	CHECK(verity_check_superblock(sb, &c, err, sizeof err) == 0);
}

/* ---- extents: the image's blocks as a device-mapper table ------------- */

static struct si_fiemap_extent ext(uint64_t logical, uint64_t physical, uint64_t length, uint32_t flags)
{
	struct si_fiemap_extent e;

	memset(&e, 0, sizeof e);
	e.fe_logical = logical;
	e.fe_physical = physical;
	e.fe_length = length;
	e.fe_flags = flags;
	return e;
}

static void test_extents(void)
{
	struct dm_target t[4];
	struct si_fiemap_extent e[4];

	current = "extents";
	/* two pieces, the last block's tail cut at the file's end */
	e[0] = ext(0, 1048576, 8192, 0);
	e[1] = ext(8192, 4096, 8192, SI_FIEMAP_EXTENT_LAST);
	CHECK(extents_table(e, 2, 12288, "7:0", t, 4, err, sizeof err) == 2);
	CHECK(t[0].start == 0 && t[0].length == 16 && strcmp(t[0].type, "linear") == 0);
	CHECK_STR(t[0].params, "7:0 2048");
	CHECK(t[1].start == 16 && t[1].length == 8);
	CHECK_STR(t[1].params, "7:0 8");
	/* holes (leading, inner, trailing) read as zeros */
	e[0] = ext(4096, 0, 4096, 0);
	e[1] = ext(12288, 8192, 4096, SI_FIEMAP_EXTENT_LAST);
	CHECK(extents_table(e, 2, 16384, "7:0", t, 4, err, sizeof err) == 4);
	CHECK(strcmp(t[0].type, "zero") == 0 && t[0].start == 0 && t[0].length == 8);
	CHECK(strcmp(t[2].type, "zero") == 0 && t[2].start == 16 && t[2].length == 8);
	CHECK(strcmp(t[3].type, "linear") == 0 && t[3].start == 24);
	/* too many pieces for the table */
	CHECK(extents_table(e, 2, 20480, "7:0", t, 4, err, sizeof err) < 0);
	CHECK_STR(err, "more than 4 pieces");
	/* data that is not plain blocks on the device: compressed, inline, unwritten */
	e[0] = ext(0, 0, 4096, 0x8);
	CHECK(extents_table(e, 1, 4096, "7:0", t, 4, err, sizeof err) < 0);
	CHECK_STR(err, "extent at byte 0 has flags 0x8 (not plain blocks on the device)");
	e[0] = ext(0, 0, 4096, 0x200 | SI_FIEMAP_EXTENT_LAST);
	CHECK(extents_table(e, 1, 4096, "7:0", t, 4, err, sizeof err) < 0);
	/* misaligned, overlapping, wrapping */
	e[0] = ext(0, 100, 4096, 0);
	CHECK(extents_table(e, 1, 4096, "7:0", t, 4, err, sizeof err) < 0);
	CHECK_STR(err, "extent at byte 0 is not sector-aligned");
	e[0] = ext(0, 0, 8192, 0);
	e[1] = ext(4096, 0, 4096, 0);
	CHECK(extents_table(e, 2, 16384, "7:0", t, 4, err, sizeof err) < 0);
	CHECK_STR(err, "extent at byte 4096 overlaps or wraps");
	e[0] = ext(0, UINT64_MAX - 511, 4096, 0);
	CHECK(extents_table(e, 1, 4096, "7:0", t, 4, err, sizeof err) < 0);
	/* block-by-block answers (FIBMAP) merge into extents; holes are left out */
	{
		size_t n = 0;

		CHECK(extents_append(e, &n, 4, 0, 8192, 4096) == 0);
		CHECK(extents_append(e, &n, 4, 4096, 12288, 4096) == 0);   /* contiguous: merged */
		CHECK(extents_append(e, &n, 4, 8192, 0, 4096) == 0);       /* a hole */
		CHECK(extents_append(e, &n, 4, 12288, 65536, 4096) == 0);
		CHECK(n == 2 && e[0].fe_length == 8192 && e[1].fe_logical == 12288 && e[1].fe_physical == 65536);
		CHECK(extents_table(e, n, 16384, "7:0", t, 4, err, sizeof err) == 3);
		CHECK(strcmp(t[1].type, "zero") == 0 && t[1].start == 16 && t[1].length == 8);
		CHECK(extents_append(e, &n, 2, 20480, 4096, 4096) < 0);     /* full */
	}
	/* a size that is not whole sectors; no extents at all: all zeros */
	CHECK(extents_table(e, 0, 1000, "7:0", t, 4, err, sizeof err) < 0);
	CHECK(extents_table(e, 0, 4096, "7:0", t, 4, err, sizeof err) == 1 && strcmp(t[0].type, "zero") == 0);
}


/* an efivarfs file: attributes, then the string in UTF-16LE (with its NUL if nul) */
static size_t efivar_bytes(unsigned char *buf, const char *s, int nul)
{
	size_t i, n = strlen(s) + (nul ? 1 : 0);

	buf[0] = 0x06; buf[1] = buf[2] = buf[3] = 0;  /* BOOTSERVICE_ACCESS | RUNTIME_ACCESS */
	for (i = 0; i < n; i++) {
		buf[4 + 2 * i] = (unsigned char)s[i];
		buf[5 + 2 * i] = 0;
	}
	return 4 + 2 * n;
}

static void test_efivar(void)
{
	unsigned char b[128];
	char out[PARTUUID_LEN + 1], e[160];
	size_t n;

	current = "efivar";
	/* what systemd-stub writes: upper case, NUL-terminated */
	n = efivar_bytes(b, "4A67B082-0A4C-41CF-B6C7-440B29BB8C4F", 1);
	CHECK(efivar_parse_partuuid(b, n, out, e, sizeof e) == 0);
	CHECK_STR(out, "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f");
	n = efivar_bytes(b, "0fc63daf-8483-4772-8e79-3d69d8477de4", 0);
	CHECK(efivar_parse_partuuid(b, n, out, e, sizeof e) == 0);
	CHECK_STR(out, "0fc63daf-8483-4772-8e79-3d69d8477de4");
	/* too short, odd length, no data, a dash out of place, a non-ASCII unit, text after the NUL */
	CHECK(efivar_parse_partuuid(b, 3, out, e, sizeof e) < 0);
	CHECK(strstr(e, "3 bytes") != NULL);
	CHECK(efivar_parse_partuuid(b, n - 1, out, e, sizeof e) < 0);
	CHECK(efivar_parse_partuuid(b, 4, out, e, sizeof e) < 0);
	n = efivar_bytes(b, "4A67B0820-A4C-41CF-B6C7-440B29BB8C4F", 1);
	CHECK(efivar_parse_partuuid(b, n, out, e, sizeof e) < 0);
	CHECK(strstr(e, "character 8") != NULL);
	n = efivar_bytes(b, "4A67B082-0A4C-41CF-B6C7-440B29BB8C4F", 1);
	b[5] = 0x01;  /* U+0134 */
	CHECK(efivar_parse_partuuid(b, n, out, e, sizeof e) < 0);
	CHECK(strstr(e, "U+0134") != NULL);
	n = efivar_bytes(b, "4A67B082-0A4C-41CF-B6C7-440B29BB8C4F0", 0);
	CHECK(efivar_parse_partuuid(b, n, out, e, sizeof e) < 0);
	CHECK(strstr(e, "37-character") != NULL);
	b[4 + 2 * 36] = 0;  /* the NUL, then one more unit */
	n = efivar_bytes(b, "4A67B082-0A4C-41CF-B6C7-440B29BB8C4F", 1) + 2;
	b[n - 2] = 'x'; b[n - 1] = 0;
	CHECK(efivar_parse_partuuid(b, n, out, e, sizeof e) < 0);
	/* the config takes esp as a boot spec, and nothing that only starts like it */
	CHECK(parse("boot = esp\nintegrity = none\n") == 0);
	CHECK_STR(c.boot, "esp");
	CHECK(parse("boot = esp2\nintegrity = none\n") < 0);
	CHECK(parse("boot = ESP\nintegrity = none\n") < 0);
}

static struct manifest man;

/* manifest_parse on a copy of TEXT (it works in place); err holds the message */
static int manifest_of(const char *text)
{
	static char buf[MANIFEST_FILE_MAX + 1];
	size_t len = strlen(text);

	memcpy(buf, text, len + 1);
	return manifest_parse(&man, buf, len, err, sizeof err);
}

static void test_manifest(void)
{
	static char big[MANIFEST_FILE_MAX + 1];
	size_t i, off = 0;

	current = "manifest";
	CHECK(manifest_of("") == 0 && man.n == 0);
	/* byte order: "a" < "a-b" < "a/x" (the parent before, not right before) */
	CHECK(manifest_of("40755 0 0 /a\n40700 1 2 /a-b\n100644 0 0 /a/x\n20600 0 0 /c\n"
			  "120777 0 0 /l\n40755 4294967295 7 /z\n") == 0);
	CHECK(man.n == 6);
	CHECK(manifest_find(&man, "/a") == &man.e[0]);
	CHECK(manifest_find(&man, "/a/x") && manifest_find(&man, "/a/x")->mode == 0100644);
	CHECK(manifest_find(&man, "/a-b") && manifest_find(&man, "/a-b")->uid == 1 &&
	      manifest_find(&man, "/a-b")->gid == 2);
	CHECK(manifest_find(&man, "/z") && manifest_find(&man, "/z")->uid == 4294967295u);
	CHECK(manifest_find(&man, "/") == NULL);
	CHECK(manifest_find(&man, "/a/") == NULL);
	CHECK(manifest_find(&man, "/a/xy") == NULL);
	CHECK(manifest_find(&man, "/b") == NULL);
	CHECK(manifest_find(&man, "/a/x/y") == NULL);
	/* each refusal names the line and its byte offset */
	CHECK(manifest_of("40755 0 0 /a\n100644 0 0 /a/x") < 0);
	CHECK_STR(err, "line 2 (byte 13): expected a line ending in a newline");
	CHECK(manifest_of("40755 0 0 /a\n40755 0 0 /a\n") < 0);
	CHECK_STR(err, "line 2 (byte 13): expected paths in ascending byte order, each once");
	CHECK(manifest_of("40755 0 0 /b\n40755 0 0 /a\n") < 0);
	CHECK_STR(err, "line 2 (byte 13): expected paths in ascending byte order, each once");
	CHECK(manifest_of("100644 0 0 /a/x\n") < 0);
	CHECK_STR(err, "line 1 (byte 0): expected the parent directory listed before its entries");
	CHECK(manifest_of("100644 0 0 /a\n100644 0 0 /a/x\n") < 0);
	CHECK_STR(err, "line 2 (byte 14): expected the parent directory listed before its entries");
	CHECK(manifest_of("755 0 0 /a\n") < 0);
	CHECK_STR(err, "line 1 (byte 0): expected an octal mode with a file type, then a space");
	CHECK(manifest_of("40758 0 0 /a\n") < 0);
	CHECK(manifest_of("400755 0 0 /a\n") < 0);
	CHECK(manifest_of("40755 0 /a\n") < 0);
	CHECK_STR(err, "line 1 (byte 0): expected a decimal uid and gid, each followed by a space");
	CHECK(manifest_of("40755 0 4294967296 /a\n") < 0);
	CHECK(manifest_of("40755  0 0 /a\n") < 0);
	for (i = 0; i < 7; i++) {
		static const char *const bad[] = { "a", "/", "/a/", "//a", "/a//b", "/./a", "/a/.." };
		char line[64];

		snprintf(line, sizeof line, "40755 0 0 %s\n", bad[i]);
		CHECK(manifest_of(line) < 0);
		CHECK_STR(err, "line 1 (byte 0): expected an absolute path without empty, \".\" or \"..\" components");
	}
	CHECK(manifest_of("40755 0 0 /.a\n40755 0 0 /.a/..b\n") == 0);
	{
		static char nul[] = "40755 0 0 /a\n40755 0 0 /b\0c\n";

		CHECK(manifest_parse(&man, nul, sizeof nul - 1, err, sizeof err) < 0);
		CHECK_STR(err, "line 2 (byte 13): expected no NUL byte");
	}
	/* 1024 lines fit, the 1025th does not (18-byte lines; parsing works in place) */
	for (i = 0; i <= MANIFEST_MAX_ENTRIES; i++)
		off += (size_t)sprintf(big + off, "100644 0 0 /f%04zu\n", i);
	CHECK(manifest_parse(&man, big, off - 18, err, sizeof err) == 0 && man.n == MANIFEST_MAX_ENTRIES);
	for (off = 0, i = 0; i <= MANIFEST_MAX_ENTRIES; i++)
		off += (size_t)sprintf(big + off, "100644 0 0 /f%04zu\n", i);
	CHECK(manifest_parse(&man, big, off, err, sizeof err) < 0);
	CHECK_STR(err, "line 1025 (byte 18432): expected at most 1024 lines");
}

static void test_base64(void)
{
	unsigned char out[8];

	current = "base64";
	CHECK(base64_decode("", 0, out, sizeof out, 0) == 0);
	CHECK(base64_decode("YWJj", 4, out, sizeof out, 0) == 3 && memcmp(out, "abc", 3) == 0);
	CHECK(base64_decode("YWI=", 4, out, sizeof out, 0) == 2 && memcmp(out, "ab", 2) == 0);
	CHECK(base64_decode("YQ==", 4, out, sizeof out, 0) == 1 && out[0] == 'a');
	CHECK(base64_decode("YR==", 4, out, sizeof out, 0) == -1);   /* non-zero unused bits */
	CHECK(base64_decode("YWJ", 3, out, sizeof out, 0) == -1);    /* not a multiple of 4 */
	CHECK(base64_decode("YQ==YQ==", 8, out, sizeof out, 0) == -1); /* data after padding */
	CHECK(base64_decode("Y===", 4, out, sizeof out, 0) == -1);
	CHECK(base64_decode("YW\nJj", 5, out, sizeof out, 0) == -1);
	CHECK(base64_decode("YW\nJj", 5, out, sizeof out, 1) == 3);
	CHECK(base64_decode("YWJjYWJjYWJj", 12, out, sizeof out, 0) == -1); /* 9 bytes > 8 */
}

/* The DER reader's refusals, on the certificate (checked first), each naming the offset. */
static void test_pkcs7_der(void)
{
	static const unsigned char indef[] = { 0x30, 0x80, 0x00, 0x00 };
	static const unsigned char longer[] = { 0x30, 0x81, 0x02, 0x05, 0x00 };
	static const unsigned char over[] = { 0x30, 0x05, 0x05, 0x00 };
	static const unsigned char trail[] = { 0x30, 0x00, 0x00 };
	static const unsigned char sig[] = { 0x30, 0x00 };
	char e[256];

	current = "pkcs7 DER";
	CHECK(pkcs7_verify_detached(sig, 2, (const unsigned char *)"x", 1, indef, sizeof indef, e, sizeof e) == -1);
	CHECK_STR(e, "certificate offset 1: Certificate: indefinite (BER, not DER) length");
	CHECK(pkcs7_verify_detached(sig, 2, (const unsigned char *)"x", 1, longer, sizeof longer, e, sizeof e) == -1);
	CHECK_STR(e, "certificate offset 1: Certificate: length not in its shortest form (not DER)");
	CHECK(pkcs7_verify_detached(sig, 2, (const unsigned char *)"x", 1, over, sizeof over, e, sizeof e) == -1);
	CHECK_STR(e, "certificate offset 0: Certificate: 5 bytes of value, only 2 left");
	CHECK(pkcs7_verify_detached(sig, 2, (const unsigned char *)"x", 1, trail, sizeof trail, e, sizeof e) == -1);
	CHECK_STR(e, "certificate offset 2: 1 unexpected bytes after the Certificate");
	CHECK(pkcs7_verify_detached(sig, 2, (const unsigned char *)"x", 1, sig, sizeof sig, e, sizeof e) == -1);
	CHECK_STR(e, "certificate offset 2: expected TBSCertificate, got the end of the data");
	CHECK(pkcs7_verify_detached(sig, 2, (const unsigned char *)"x", 1, sig, PKCS7_CERT_MAX + 1, e, sizeof e) == -1);
	CHECK_STR(e, "certificate offset 0: 16385 bytes, more than 16384");
}

static void test_release(void)
{
	char id[16], v[8];
	int initrd = -1;

	CHECK(sysext_parse_release("ID=debian\nSYSEXT_SCOPE=initrd system\n", id, sizeof id, &initrd) == 0);
	CHECK_STR(id, "debian");
	CHECK(initrd == 1);
	/* absent scope: "system portable" */
	CHECK(sysext_parse_release("  ID=\"_any\"\r\n", id, sizeof id, &initrd) == 0);
	CHECK_STR(id, "_any");
	CHECK(initrd == 0);
	CHECK(sysext_parse_release("ID=a\nSYSEXT_SCOPE='system portable'\nID=b", id, sizeof id, &initrd) == 0);
	CHECK_STR(id, "b");
	CHECK(initrd == 0);
	CHECK(sysext_parse_release("SYSEXT_SCOPE=initrd\nIDX=a\n", id, sizeof id, &initrd) < 0);
	CHECK(sysext_parse_release("ID=\n", id, sizeof id, &initrd) < 0);
	CHECK(sysext_parse_release("ID=much-too-long-for-the-buffer\n", id, sizeof id, &initrd) < 0);
	CHECK(release_value("A=1\nB = 2\n", "B", v, sizeof v) < 0);

	/* sysext_roothash: sha256 hex, lower-cased, repeated, emptied by an empty value */
	config_defaults(&c);
	CHECK(config_set(&c, "sysext_roothash", "AB00000000000000000000000000000000000000000000000000000000000001", CFG_FROM_FILE, err, sizeof err) == CFG_OK);
	CHECK(c.n_sysext == 1);
	CHECK_STR(c.sysext_roothash[0], "ab00000000000000000000000000000000000000000000000000000000000001");
	CHECK(config_set(&c, "sysext_roothash", "ab", CFG_FROM_FILE, err, sizeof err) == CFG_BAD);
	CHECK(config_set(&c, "sysext_roothash", "ab00000000000000000000000000000000000000000000000000000000000001", CFG_FROM_CMDLINE, err, sizeof err) == CFG_BAD);
	CHECK(config_set(&c, "sysext_roothash", "", CFG_FROM_FILE, err, sizeof err) == CFG_OK);
	CHECK(c.n_sysext == 0);
}

int main(void)
{
	test_config_basic();
	test_config_defaults();
	test_config_repeats();
	test_config_limits();
	test_config_errors();
	test_config_unknown();
	test_config_bootflags();
	test_config_cmdline_switch();
	test_cmdline_tokens();
	test_cmdline_module_params();
	test_cmdline_overrides();
	test_args();
	test_probe_ext();
	test_probe_vfat();
	test_probe_xfs_btrfs();
	test_gpt();
	test_script_rewrite();
	test_script_command_positions();
	test_util();
	test_base64();
	test_pkcs7_der();
	/* the portable code, then the CPU's SHA instructions when it has them */
	sha2_accel(0);
	test_sha2();
	test_fsverity();
	if (sha2_accel(1)) {
		printf("unit: SHA-256 again with the CPU's SHA instructions\n");
		test_sha2();
		test_fsverity();
	}
	test_config_integrity();
	test_extents();
	test_efivar();
	test_manifest();
	test_release();
	printf("unit: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
