#include "config.h"
#include "blkid.h"
#include "efivar.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ---- value checkers --------------------------------------------------- */

static int check_absolute(const char *v, char *err, size_t errlen)
{
	if (v[0] != '/') {
		snprintf(err, errlen, "must be an absolute path: \"%s\"", v);
		return -1;
	}
	return 0;
}

static int check_boot(const char *v, char *err, size_t errlen)
{
	static const char *const prefixes[] = { "UUID=", "LABEL=", "PARTUUID=", "PARTLABEL=", "/dev/" };
	size_t i;

	if (strcmp(v, BOOT_SPEC_ESP) == 0)
		return 0;
	for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(v, prefixes[i], n) == 0 && v[n] != '\0')
			return 0;
	}
	snprintf(err, errlen, "expected UUID=..., LABEL=..., PARTUUID=..., PARTLABEL=..., /dev/... or esp: \"%s\"", v);
	return -1;
}

static int check_fstype(const char *v, char *err, size_t errlen)
{
	static const char *const types[] = { "auto", "ext4", "ext3", "ext2", "vfat", "xfs", "btrfs" };
	size_t i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(v, types[i]) == 0)
			return 0;
	snprintf(err, errlen, "unsupported filesystem type \"%s\" (auto, ext4, ext3, ext2, vfat, xfs, btrfs)", v);
	return -1;
}

/* The boot partition is only read: refuse mount options that would write
 * to it. "rw" in the mount data clears the read-only flag (the kernel
 * parses ro/rw there too); "remount" has no place in a first mount. */
static int check_bootflags(const char *v, char *err, size_t errlen)
{
	static const char *const refused[] = { "rw", "remount" };
	const char *p = v;
	size_t i;

	while (*p) {
		size_t n = strcspn(p, ","), name = strcspn(p, ",=");

		if (name > n)
			name = n;
		for (i = 0; i < sizeof refused / sizeof refused[0]; i++)
			if (name == strlen(refused[i]) && strncmp(p, refused[i], name) == 0) {
				snprintf(err, errlen, "\"%s\" refused: the boot partition is mounted read-only and never written",
					 refused[i]);
				return -1;
			}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int check_hex_string(const char *v, size_t max_bytes, char *err, size_t errlen)
{
	unsigned char buf[CFG_SALT_MAX];

	if (hex_decode(v, buf, max_bytes) <= 0) {
		snprintf(err, errlen, "expected an even number of hex digits (at most %zu): \"%s\"",
			 2 * max_bytes, v);
		return -1;
	}
	return 0;
}

static int check_roothash(const char *v, char *err, size_t errlen)
{
	return check_hex_string(v, CFG_DIGEST_MAX, err, errlen);
}

static int check_salt(const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "-") == 0)
		return 0;
	return check_hex_string(v, CFG_SALT_MAX, err, errlen);
}

static int check_hashalg(const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "sha256") == 0 || strcmp(v, "sha512") == 0 || strcmp(v, "sha1") == 0)
		return 0;
	snprintf(err, errlen, "expected sha256, sha512 or sha1: \"%s\"", v);
	return -1;
}

/* "sha256:" + 64 hex digits or "sha512:" + 128 */
static int parse_digest(const char *v, unsigned *alg, unsigned char *bin, size_t *len)
{
	size_t want;
	long n;

	if (strncmp(v, "sha256:", 7) == 0) {
		*alg = 1;
		want = 32;
	} else if (strncmp(v, "sha512:", 7) == 0) {
		*alg = 2;
		want = 64;
	} else {
		return -1;
	}
	n = hex_decode(v + 7, bin, CFG_DIGEST_MAX);
	if (n < 0 || (size_t)n != want)
		return -1;
	*len = want;
	return 0;
}

static int check_digest(const char *v, char *err, size_t errlen)
{
	unsigned char bin[CFG_DIGEST_MAX];
	unsigned alg;
	size_t len;

	if (parse_digest(v, &alg, bin, &len) < 0) {
		snprintf(err, errlen, "expected sha256:<64 hex digits> or sha512:<128 hex digits>: \"%.80s\"", v);
		return -1;
	}
	return 0;
}

/* ---- key table ---------------------------------------------------------
 * Adding a key is one line here (plus a field in struct config). */

enum kind {
	K_STRING,   /* fixed char array at off, size bytes, checked by check */
	K_UINT,     /* unsigned long at off, in [0, max] */
	K_BOOL,     /* debug: sets loglevel 7 */
	K_YESNO,    /* unsigned char at off: 1 yes, 0 no */
	K_FAILURE,
	K_MODULE,   /* repeatable; max = 1: storage_module, 2: optional_module (field and key
		     * alike), 3: bootfs_module (TYPE PATH [params]) */
	K_PATHS,    /* repeatable absolute paths: struct path_list at off */
	K_INTEGRITY,
	K_IMAGE_FORMAT,
	K_SYSEXT,   /* repeatable sha256 root hash; an empty value empties the list */
};

struct key_def {
	const char *name;
	enum kind kind;
	size_t off;
	size_t size;
	unsigned long max;
	int (*check)(const char *v, char *err, size_t errlen);
	int file_only;  /* not settable from the kernel command line */
};

#define STR(name, field, chk) { name, K_STRING, offsetof(struct config, field), \
	sizeof(((struct config *)0)->field), 0, chk, 0 }
#define UINT(name, field, mx) { name, K_UINT, offsetof(struct config, field), 0, mx, NULL, 0 }
/* The integrity keys say which image the mini initramfs trusts: they come
 * from the (verified) mini initramfs only, never from the editable kernel
 * command line. */
#define SECURE_STR(name, field, chk) { name, K_STRING, offsetof(struct config, field), \
	sizeof(((struct config *)0)->field), 0, chk, 1 }
#define SECURE_UINT(name, field, mx) { name, K_UINT, offsetof(struct config, field), 0, mx, NULL, 1 }

static const struct key_def keys[] = {
	STR("boot", boot, check_boot),
	STR("bootfstype", bootfstype, check_fstype),
	STR("bootflags", bootflags, check_bootflags),
	STR("image", image, check_absolute),
	STR("init", init, check_absolute),
	STR("shell", shell, check_absolute),
	UINT("timeout", timeout, 3600),
	UINT("loglevel", loglevel, 7),
	{ "debug", K_BOOL, 0, 0, 0, NULL, 0 },
	{ "failure", K_FAILURE, 0, 0, 0, NULL, 0 },
	{ "module", K_MODULE, 0, 0, 0, NULL, 0 },
	{ "storage_module", K_MODULE, 0, 0, 1, NULL, 0 },
	{ "optional_module", K_MODULE, 0, 0, 2, NULL, 0 },
	{ "bootfs_module", K_MODULE, 0, 0, 3, NULL, 0 },
	{ "shim", K_PATHS, offsetof(struct config, shims), 0, 0, NULL, 0 },
	{ "shim_script", K_PATHS, offsetof(struct config, scripts), 0, 0, NULL, 0 },
	/* no: the kernel command line changes nothing (it may be editable by
	 * whoever sits at the boot menu) */
	{ "cmdline", K_YESNO, offsetof(struct config, cmdline), 0, 0, NULL, 1 },
	{ "integrity", K_INTEGRITY, 0, 0, 0, NULL, 1 },
	SECURE_STR("digest", digest, check_digest),
	SECURE_STR("verity_roothash", verity_roothash, check_roothash),
	SECURE_STR("verity_salt", verity_salt, check_salt),
	SECURE_STR("verity_hashalg", verity_hashalg, check_hashalg),
	SECURE_UINT("verity_format", verity_format, 1),
	/* bounded so that blocks * 4096 and the offsets fit in 64 bits */
	SECURE_UINT("verity_data_blocks", verity_data_blocks, (CFG_UNSET - 1) / VERITY_BLOCK),
	SECURE_UINT("verity_hash_offset", verity_hash_offset, VERITY_OFFSET_MAX),
	SECURE_STR("verity_sig", verity_sig, check_absolute),
	SECURE_STR("verity_cert", verity_cert, check_absolute),
	{ "image_format", K_IMAGE_FORMAT, 0, 0, 0, NULL, 1 },
	{ "sysext_roothash", K_SYSEXT, 0, 0, 0, NULL, 1 },
};

const char *const integrity_names[4] = { "none", "dm-verity", "fs-verity", "copy" };
const char *const image_format_names[2] = { "plain", "ddi" };

#define N_KEYS (sizeof keys / sizeof keys[0])

const char *config_key_name(size_t i)
{
	return i < N_KEYS ? keys[i].name : NULL;
}

static const char *const default_shims[] = {
	"/usr/sbin/run-init", "/usr/bin/run-init",
	"/usr/sbin/switch_root", "/sbin/switch_root",
};
static const char *const default_scripts[] = { "/init" };

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	str_copy(c->bootfstype, sizeof c->bootfstype, "auto");
	str_copy(c->init, sizeof c->init, "/init");
	str_copy(c->shell, sizeof c->shell, "/bin/sh");
	c->timeout = 10;
	c->loglevel = 6;
	c->failure = FAILURE_PANIC;
	c->cmdline = 1;
	c->verity_format = CFG_UNSET;
	c->verity_data_blocks = CFG_UNSET;
	c->verity_hash_offset = CFG_UNSET;
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static int set_module(struct config *c, const char *v, unsigned long kind, char *err, size_t errlen)
{
	struct module_spec *m;
	size_t plen, i;
	const char *params;

	if (c->n_modules >= CFG_MAX_MODULES) {
		snprintf(err, errlen, "too many modules (at most %d)", CFG_MAX_MODULES);
		return -1;
	}
	m = &c->modules[c->n_modules];
	m->bootfs[0] = '\0';
	if (kind == 3) {
		size_t tlen = strcspn(v, " \t");

		for (i = 0; i < N_MOUNT_FSTYPES; i++)
			if (strlen(mount_fstypes[i]) == tlen && strncmp(v, mount_fstypes[i], tlen) == 0)
				break;
		if (i == N_MOUNT_FSTYPES) {
			snprintf(err, errlen, "expected a type (ext4, vfat, xfs, btrfs) before the module path");
			return -1;
		}
		str_copy(m->bootfs, sizeof m->bootfs, mount_fstypes[i]);
		v = skip_blanks(v + tlen);
	}
	plen = strcspn(v, " \t");
	params = skip_blanks(v + plen);
	if (str_ncopy(m->path, sizeof m->path, v, plen) < 0) {
		snprintf(err, errlen, "module path longer than %d bytes", SI_PATH_MAX - 1);
		return -1;
	}
	if (check_absolute(m->path, err, errlen) < 0)
		return -1;
	if (str_copy(m->params, sizeof m->params, params) < 0) {
		snprintf(err, errlen, "module parameters longer than %d bytes", CFG_PARAMS_MAX - 1);
		return -1;
	}
	m->storage_module = kind == 1;
	m->optional_module = kind == 2;
	c->n_modules++;
	return 0;
}

static int add_path(struct path_list *l, const char *v, char *err, size_t errlen)
{
	if (l->n >= CFG_MAX_SHIMS) {
		snprintf(err, errlen, "too many entries (at most %d)", CFG_MAX_SHIMS);
		return -1;
	}
	if (check_absolute(v, err, errlen) < 0)
		return -1;
	if (str_copy(l->path[l->n], SI_PATH_MAX, v) < 0) {
		snprintf(err, errlen, "path longer than %d bytes", SI_PATH_MAX - 1);
		return -1;
	}
	l->n++;
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "", "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	size_t i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (str_ieq(v, yes[i])) {
			*out = 1;
			return 0;
		}
	for (i = 0; i < sizeof no / sizeof no[0]; i++)
		if (str_ieq(v, no[i])) {
			*out = 0;
			return 0;
		}
	return -1;
}

int config_set(struct config *c, const char *key, const char *value,
	       enum cfg_origin origin, char *err, size_t errlen)
{
	const struct key_def *k = NULL;
	size_t i;
	unsigned long n;
	int b;

	err[0] = '\0';
	for (i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, key) == 0) {
			k = &keys[i];
			break;
		}
	if (!k)
		return CFG_UNKNOWN_KEY;
	if (k->file_only && origin == CFG_FROM_CMDLINE) {
		snprintf(err, errlen, "%s: not accepted on the kernel command line (it comes from the mini initramfs's config file only)", key);
		return CFG_BAD;
	}

	switch (k->kind) {
	case K_STRING: {
		char *dst = (char *)c + k->off;

		if (value[0] == '\0' && k->check != check_bootflags) { /* no extra flags is fine */
			snprintf(err, errlen, "%s: empty value", key);
			return CFG_BAD;
		}
		if (strlen(value) >= k->size) {
			snprintf(err, errlen, "%s: value longer than %zu bytes", key, k->size - 1);
			return CFG_BAD;
		}
		if (k->check(value, err, errlen) < 0)
			goto prefixed;
		str_copy(dst, k->size, value);
		return CFG_OK;
	}
	case K_UINT:
		if (parse_ulong(value, k->max, &n) < 0) {
			snprintf(err, errlen, "%s: expected a whole number from 0 to %lu: \"%s\"", key, k->max, value);
			return CFG_BAD;
		}
		*(unsigned long *)(void *)((char *)c + k->off) = n;
		return CFG_OK;
	case K_BOOL:
		if (parse_bool(value, &b) < 0) {
			snprintf(err, errlen, "%s: expected 0/1, yes/no, true/false: \"%s\"", key, value);
			return CFG_BAD;
		}
		c->loglevel = b ? 7 : 6;
		return CFG_OK;
	case K_YESNO:
		if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
			*((unsigned char *)c + k->off) = value[0] == 'y';
			return CFG_OK;
		}
		snprintf(err, errlen, "%s: expected yes or no: \"%s\"", key, value);
		return CFG_BAD;
	case K_FAILURE:
		if (strcmp(value, "panic") == 0)
			c->failure = FAILURE_PANIC;
		else if (strcmp(value, "reboot") == 0)
			c->failure = FAILURE_REBOOT;
		else if (strcmp(value, "shell") == 0)
			c->failure = FAILURE_SHELL;
		else {
			snprintf(err, errlen, "%s: expected panic, reboot or shell: \"%s\"", key, value);
			return CFG_BAD;
		}
		return CFG_OK;
	case K_INTEGRITY:
		for (i = 0; i < sizeof integrity_names / sizeof integrity_names[0]; i++)
			if (strcmp(value, integrity_names[i]) == 0) {
				c->integrity = (enum integrity_mode)i;
				return CFG_OK;
			}
		snprintf(err, errlen, "%s: expected none, dm-verity, fs-verity or copy: \"%s\"", key, value);
		return CFG_BAD;
	case K_IMAGE_FORMAT:
		for (i = 0; i < sizeof image_format_names / sizeof image_format_names[0]; i++)
			if (strcmp(value, image_format_names[i]) == 0) {
				c->image_format = (enum image_format)i;
				c->image_format_given = 1;
				return CFG_OK;
			}
		snprintf(err, errlen, "%s: expected plain or ddi: \"%s\"", key, value);
		return CFG_BAD;
	case K_MODULE:
		if (origin == CFG_FROM_CMDLINE && !c->modules_from_cmdline) {
			c->modules_from_cmdline = 1;
			c->n_modules = 0;
		}
		if (value[0] == '\0') {
			c->n_modules = 0;
			return CFG_OK;
		}
		if (set_module(c, value, k->max, err, errlen) < 0)
			goto prefixed;
		return CFG_OK;
	case K_SYSEXT: {
		unsigned char bin[SYSEXT_ROOTHASH_HEX / 2];

		if (value[0] == '\0') {
			c->n_sysext = 0;
			return CFG_OK;
		}
		if (strlen(value) != SYSEXT_ROOTHASH_HEX || hex_decode(value, bin, sizeof bin) != (long)sizeof bin) {
			snprintf(err, errlen, "%s: expected a sha256 root hash (%d hex digits): \"%.80s\"", key,
				 SYSEXT_ROOTHASH_HEX, value);
			return CFG_BAD;
		}
		if (c->n_sysext >= CFG_MAX_SYSEXTS) {
			snprintf(err, errlen, "%s: too many entries (at most %d)", key, CFG_MAX_SYSEXTS);
			return CFG_BAD;
		}
		/* lower case: compared with what the partition GUIDs say */
		hex_encode(c->sysext_roothash[c->n_sysext++], bin, sizeof bin);
		return CFG_OK;
	}
	case K_PATHS: {
		struct path_list *l = (struct path_list *)(void *)((char *)c + k->off);

		l->given = 1;
		if (origin == CFG_FROM_CMDLINE && !l->from_cmdline) {
			l->from_cmdline = 1;
			l->n = 0;
		}
		if (value[0] == '\0') {
			l->n = 0;
			return CFG_OK;
		}
		if (add_path(l, value, err, errlen) < 0)
			goto prefixed;
		return CFG_OK;
	}
	}
	snprintf(err, errlen, "%s: internal error", key);
	return CFG_BAD;

prefixed: {
		char tmp[CFG_ERR_MAX];

		str_copy(tmp, sizeof tmp, err);
		snprintf(err, errlen, "%s: %s", key, tmp);
		return CFG_BAD;
	}
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static int valid_key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
}

/* One line (NUL-terminated copy, no newline). */
static int parse_line(struct config *c, char *line, unsigned lineno,
		      cfg_warn_fn warn, void *ctx, char *err, size_t errlen)
{
	char msg[CFG_ERR_MAX];
	char *p = line, *key, *eq, *val, *end;
	int rc;

	while (is_space(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	eq = strchr(p, '=');
	if (!eq) {
		snprintf(err, errlen, "line %u: expected \"key = value\"", lineno);
		return -1;
	}
	key = p;
	end = eq;
	while (end > key && is_space(end[-1]))
		end--;
	*end = '\0';
	if (*key == '\0') {
		snprintf(err, errlen, "line %u: missing key before '='", lineno);
		return -1;
	}
	for (p = key; *p; p++) {
		if (!valid_key_char(*p)) {
			snprintf(err, errlen, "line %u: invalid character in key \"%s\"", lineno, key);
			return -1;
		}
		if (*p == '-')
			*p = '_';
	}
	val = eq + 1;
	while (is_space(*val))
		val++;
	end = val + strlen(val);
	while (end > val && is_space(end[-1]))
		end--;
	*end = '\0';
	if (*val == '"') {
		if (end - val < 2 || end[-1] != '"') {
			snprintf(err, errlen, "line %u: unterminated quoted value", lineno);
			return -1;
		}
		end[-1] = '\0';
		val++;
		if (strchr(val, '"')) {
			snprintf(err, errlen, "line %u: stray '\"' inside quoted value", lineno);
			return -1;
		}
	}
	rc = config_set(c, key, val, CFG_FROM_FILE, msg, sizeof msg);
	if (rc == CFG_UNKNOWN_KEY) {
		if (warn) {
			snprintf(msg, sizeof msg, "line %u: unknown key \"%.64s\" ignored", lineno, key);
			warn(ctx, msg);
		}
		return 0;
	}
	if (rc != CFG_OK) {
		snprintf(err, errlen, "line %u: %s", lineno, msg);
		return -1;
	}
	return 0;
}

int config_parse(struct config *c, const char *buf, size_t len,
		 cfg_warn_fn warn, void *ctx, char *err, size_t errlen)
{
	char line[CFG_LINE_MAX + 1];
	size_t pos = 0;
	unsigned lineno = 0;

	err[0] = '\0';
	if (len > CFG_FILE_MAX) {
		snprintf(err, errlen, "file larger than %d bytes", CFG_FILE_MAX);
		return -1;
	}
	while (pos < len) {
		size_t start = pos, n;

		lineno++;
		while (pos < len && buf[pos] != '\n') {
			if (buf[pos] == '\0') {
				snprintf(err, errlen, "line %u: NUL byte", lineno);
				return -1;
			}
			pos++;
		}
		n = pos - start;
		if (pos < len)
			pos++; /* newline */
		if (n > CFG_LINE_MAX) {
			snprintf(err, errlen, "line %u: longer than %d bytes", lineno, CFG_LINE_MAX);
			return -1;
		}
		memcpy(line, buf + start, n);
		line[n] = '\0';
		if (parse_line(c, line, lineno, warn, ctx, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int finish_integrity(struct config *c, char *err, size_t errlen)
{
	const char *mode = integrity_names[c->integrity];
	size_t want;

#define REQUIRE(cond, key) do { if (!(cond)) { \
		snprintf(err, errlen, "%s: not set (required by integrity = %s)", key, mode); \
		return -1; } } while (0)
	switch (c->integrity) {
	case INTEGRITY_NONE:
		/* a misspelled or missing "integrity =" must not boot unverified */
		if (c->digest[0] || c->verity_roothash[0] || c->verity_salt[0] ||
		    c->verity_hashalg[0] || c->verity_sig[0] || c->verity_cert[0] ||
		    c->verity_format != CFG_UNSET || c->verity_data_blocks != CFG_UNSET ||
		    c->verity_hash_offset != CFG_UNSET || c->image_format_given) {
			snprintf(err, errlen, "integrity keys are set but integrity is none or missing");
			return -1;
		}
		return 0;
	case INTEGRITY_FS_VERITY:
	case INTEGRITY_COPY:
		if (c->image_format == IMAGE_DDI || c->verity_cert[0]) {
			snprintf(err, errlen, "%s: %s needs integrity = dm-verity",
				 c->verity_cert[0] ? "verity_cert" : "image_format", c->verity_cert[0] ? "a certificate" : "ddi");
			return -1;
		}
		REQUIRE(c->digest[0], "digest");
		if (parse_digest(c->digest, &c->digest_alg, c->digest_bin, &c->digest_len) < 0) {
			snprintf(err, errlen, "digest: invalid");  /* checked when set already */
			return -1;
		}
		return 0;
	case INTEGRITY_DM_VERITY:
		REQUIRE(c->verity_roothash[0], "verity_roothash");
		REQUIRE(c->verity_salt[0], "verity_salt");
		REQUIRE(c->verity_hashalg[0], "verity_hashalg");
		REQUIRE(c->verity_format != CFG_UNSET, "verity_format");
		REQUIRE(c->verity_data_blocks != CFG_UNSET, "verity_data_blocks");
		REQUIRE(c->verity_hash_offset != CFG_UNSET, "verity_hash_offset");
		want = strcmp(c->verity_hashalg, "sha512") == 0 ? 128 :
		       strcmp(c->verity_hashalg, "sha1") == 0 ? 40 : 64;
		if (strlen(c->verity_roothash) != want) {
			snprintf(err, errlen, "verity_roothash: %zu hex digits, %s needs %zu",
				 strlen(c->verity_roothash), c->verity_hashalg, want);
			return -1;
		}
		if (c->verity_data_blocks == 0) {
			snprintf(err, errlen, "verity_data_blocks: must be at least 1");
			return -1;
		}
		if (c->verity_hash_offset % VERITY_BLOCK != 0) {
			snprintf(err, errlen, "verity_hash_offset: %lu is not a multiple of %d",
				 c->verity_hash_offset, VERITY_BLOCK);
			return -1;
		}
		if (c->verity_hash_offset / VERITY_BLOCK < c->verity_data_blocks) {
			snprintf(err, errlen, "verity_hash_offset: %lu overlaps the %lu data blocks",
				 c->verity_hash_offset, c->verity_data_blocks);
			return -1;
		}
		/* the certificate checks a DDI's signature partition; a plain image has none */
		if (c->verity_cert[0] && c->image_format != IMAGE_DDI) {
			snprintf(err, errlen, "verity_cert: needs image_format = ddi");
			return -1;
		}
		return 0;
	}
#undef REQUIRE
	snprintf(err, errlen, "integrity: internal error");
	return -1;
}

int config_finish(struct config *c, char *err, size_t errlen)
{
	size_t i;

	if (!c->shims.given) {
		for (i = 0; i < sizeof default_shims / sizeof default_shims[0]; i++)
			str_copy(c->shims.path[i], SI_PATH_MAX, default_shims[i]);
		c->shims.n = i;
	}
	if (!c->scripts.given) {
		for (i = 0; i < sizeof default_scripts / sizeof default_scripts[0]; i++)
			str_copy(c->scripts.path[i], SI_PATH_MAX, default_scripts[i]);
		c->scripts.n = i;
	}
	if (c->boot[0] == '\0') {
		snprintf(err, errlen, "boot: not set");
		return -1;
	}
	if (c->image[0] == '\0') {
		snprintf(err, errlen, "image: not set");
		return -1;
	}
	return finish_integrity(c, err, errlen);
}
