/* Host unit tests for storage-init's pure logic (built with ASan/UBSan). */
#include "args.h"
#include "blkid.h"
#include "cmdline.h"
#include "config.h"
#include "gpt.h"
#include "script.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	CHECK(c.shims.n == 2);
	CHECK_STR(c.shims.path[1], "/bin/switch_root");
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

static void test_config_unknown(void)
{
	current = "config unknown keys";
	CHECK(parse("verity_roothash = abcdef\nboot=/dev/vda\nfsverity-digest = 12\n") == 0);
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
}

int main(void)
{
	test_config_basic();
	test_config_defaults();
	test_config_repeats();
	test_config_limits();
	test_config_errors();
	test_config_unknown();
	test_cmdline_tokens();
	test_cmdline_overrides();
	test_args();
	test_probe_ext();
	test_probe_vfat();
	test_probe_xfs_btrfs();
	test_gpt();
	test_script_rewrite();
	test_util();
	printf("unit: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
