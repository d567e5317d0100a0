#define _GNU_SOURCE
#include "manifest.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int known_type(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: case S_IFREG: case S_IFLNK: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return 1;
	}
	return 0;
}

/* digits in base 8 or 10 up to a space; 0 on success */
static int parse_num(const char **p, unsigned base, unsigned long max, unsigned *out)
{
	unsigned long v = 0;
	const char *s = *p;

	if (*s < '0' || *s >= '0' + (int)base)
		return -1;
	for (; *s >= '0' && *s < '0' + (int)base; s++) {
		v = v * base + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	if (*s != ' ')
		return -1;
	*p = s + 1;
	*out = (unsigned)v;
	return 0;
}

/* absolute, no empty, "." or ".." component, no trailing slash */
static int normalized(const char *p)
{
	const char *c;

	if (p[0] != '/' || p[1] == '\0')
		return 0;
	for (c = p; *c; ) {
		const char *s = ++c; /* after a slash */
		size_t n;

		while (*c && *c != '/')
			c++;
		n = (size_t)(c - s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
	}
	return 1;
}

static const struct manifest_entry *find_in(const struct manifest_entry *e, size_t n, const char *path,
					    size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(e[mid].path, path, len);

		if (c == 0 && e[mid].path[len] != '\0')
			c = 1;
		if (c == 0)
			return &e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct manifest_entry *manifest_find(const struct manifest *m, const char *path)
{
	return find_in(m->e, m->n, path, strlen(path));
}

int manifest_parse(struct manifest *m, char *buf, size_t len, char *err, size_t errlen)
{
	size_t off = 0, line = 0;

	m->n = 0;
	while (off < len) {
		char *nl = memchr(buf + off, '\n', len - off);
		const char *p = buf + off, *what = NULL;
		struct manifest_entry *e = &m->e[m->n];
		const struct manifest_entry *parent;
		const char *slash;

		line++;
		if (!nl) {
			what = "a line ending in a newline";
		} else if (memchr(buf + off, '\0', (size_t)(nl - (buf + off)))) {
			what = "no NUL byte";
		} else if (m->n == MANIFEST_MAX_ENTRIES) {
			what = "at most 1024 lines";
		} else {
			*nl = '\0';
			if (parse_num(&p, 8, 0177777, &e->mode) < 0 || !known_type(e->mode))
				what = "an octal mode with a file type, then a space";
			else if (parse_num(&p, 10, 0xffffffffUL, &e->uid) < 0 ||
				 parse_num(&p, 10, 0xffffffffUL, &e->gid) < 0)
				what = "a decimal uid and gid, each followed by a space";
			else if (strlen(p) >= MANIFEST_PATH_MAX || !normalized(p))
				what = "an absolute path without empty, \".\" or \"..\" components";
			else if (m->n && strcmp(m->e[m->n - 1].path, p) >= 0)
				what = "paths in ascending byte order, each once";
		}
		if (!what) {
			e->path = p;
			slash = strrchr(p, '/');
			if (slash != p) {
				parent = find_in(m->e, m->n, p, (size_t)(slash - p));
				if (!parent || (parent->mode & S_IFMT) != S_IFDIR)
					what = "the parent directory listed before its entries";
			}
		}
		if (what) {
			snprintf(err, errlen, "line %zu (byte %zu): expected %s", line, off, what);
			return -1;
		}
		m->n++;
		off = (size_t)(nl - buf) + 1;
	}
	return 0;
}
