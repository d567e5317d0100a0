#include "cmdline.h"

#include <stdio.h>
#include <string.h>

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Same rules as the kernel's next_arg(): a parameter ends at whitespace
 * outside double quotes; a leading quote on the parameter or on its value
 * is dropped together with a quote that ends the parameter. */
static char *next_param(char *args, char **param, char **val)
{
	size_t i, equals = 0;
	int in_quote = 0, quoted = 0;

	if (*args == '"') {
		args++;
		in_quote = 1;
		quoted = 1;
	}
	for (i = 0; args[i]; i++) {
		if (is_space(args[i]) && !in_quote)
			break;
		if (equals == 0 && args[i] == '=')
			equals = i;
		if (args[i] == '"')
			in_quote = !in_quote;
	}
	*param = args;
	if (equals == 0) {
		*val = NULL;
	} else {
		args[equals] = '\0';
		*val = args + equals + 1;
		if (**val == '"') {
			(*val)++;
			if (i > 0 && args[i - 1] == '"')
				args[i - 1] = '\0';
		}
	}
	if (quoted && i > 0 && args[i - 1] == '"')
		args[i - 1] = '\0';
	if (args[i]) {
		args[i] = '\0';
		args += i + 1;
	} else {
		args += i;
	}
	while (is_space(*args))
		args++;
	return args;
}

int cmdline_foreach(char *buf, cmdline_cb cb, void *ctx)
{
	char *p = buf;

	while (is_space(*p))
		p++;
	while (*p) {
		char *param, *val;
		int rc;

		p = next_param(p, &param, &val);
		if (!val && strcmp(param, "--") == 0)
			break;
		rc = cb(ctx, param, val);
		if (rc)
			return rc;
	}
	return 0;
}

struct module_ctx {
	const char *name;
	char *out;
	size_t outlen, len;
	int n, overflow;
};

/* a module name and the part before the dot of a parameter, '-' and '_' alike */
static int same_module(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

		if (y == '\0' || x != y)
			return 0;
	}
	return b[alen] == '\0';
}

static void append(struct module_ctx *m, const char *s)
{
	size_t l = strlen(s);

	if (m->overflow || m->len + l >= m->outlen) {
		m->overflow = 1;
		return;
	}
	memcpy(m->out + m->len, s, l + 1);
	m->len += l;
}

static int module_one(void *vctx, char *param, char *val)
{
	struct module_ctx *m = vctx;
	char *dot = strchr(param, '.');
	size_t i;
	int spaced = 0;

	if (!dot || dot == param || dot[1] == '\0' || !same_module(param, (size_t)(dot - param), m->name))
		return 0;
	if (m->len)
		append(m, " ");
	append(m, dot + 1);
	if (val) {
		for (i = 0; val[i]; i++)
			spaced |= is_space(val[i]);
		append(m, spaced ? "=\"" : "=");
		append(m, val);
		if (spaced)
			append(m, "\"");
	}
	m->n++;
	return 0;
}

int cmdline_module_params(char *buf, const char *name, const char *base, char *out, size_t outlen)
{
	struct module_ctx m = { name, out, outlen, 0, 0, 0 };

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	append(&m, base);
	cmdline_foreach(buf, module_one, &m);
	if (m.overflow) {
		out[0] = '\0';
		return -1;
	}
	return m.n;
}

struct apply_ctx {
	struct config *c;
	cfg_warn_fn warn;
	void *wctx;
	char *err;
	size_t errlen;
	unsigned ignored;  /* initoverlayfs.* parameters skipped (cmdline = no) */
};

static int apply_one(void *vctx, char *param, char *val)
{
	struct apply_ctx *a = vctx;
	size_t plen = strlen(CMDLINE_PREFIX);
	char key[64], msg[CFG_ERR_MAX];
	size_t i;
	int rc;

	if (strncmp(param, CMDLINE_PREFIX, plen) != 0)
		return 0;
	if (!a->c->cmdline) {
		a->ignored++;
		return 0;
	}
	if (str_copy(key, sizeof key, param + plen) < 0 || key[0] == '\0') {
		snprintf(a->err, a->errlen, "kernel command line: bad parameter name \"%.64s\"", param);
		return -1;
	}
	for (i = 0; key[i]; i++)
		if (key[i] == '-')
			key[i] = '_';   /* the kernel treats - and _ alike */
	rc = config_set(a->c, key, val ? val : "", CFG_FROM_CMDLINE, msg, sizeof msg);
	if (rc == CFG_UNKNOWN_KEY) {
		if (a->warn) {
			snprintf(msg, sizeof msg, "kernel command line: unknown key \"%s\" ignored", param);
			a->warn(a->wctx, msg);
		}
		return 0;
	}
	if (rc != CFG_OK) {
		snprintf(a->err, a->errlen, "kernel command line: %s%s", CMDLINE_PREFIX, msg);
		return -1;
	}
	return 0;
}

int cmdline_apply(struct config *c, char *buf, cfg_warn_fn warn, void *ctx,
		  char *err, size_t errlen)
{
	struct apply_ctx a = { c, warn, ctx, err, errlen, 0 };

	err[0] = '\0';
	if (strlen(buf) >= CMDLINE_MAX) {
		snprintf(err, errlen, "kernel command line longer than %d bytes", CMDLINE_MAX - 1);
		return -1;
	}
	if (cmdline_foreach(buf, apply_one, &a))
		return -1;
	if (a.ignored && warn) {
		char msg[CFG_ERR_MAX];

		snprintf(msg, sizeof msg, "kernel command line: %u initoverlayfs.* parameter(s) ignored (cmdline = no)",
			 a.ignored);
		warn(ctx, msg);
	}
	return 0;
}
