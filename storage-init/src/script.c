#include "script.h"

#include <string.h>

static int is_sep(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == ';' || ch == '&' ||
	       ch == '|' || ch == '(' || ch == ')' || ch == '`';
}

enum state { NORMAL, SQUOTE, DQUOTE, COMMENT };

long script_rewrite(const char *in, size_t len, const char *name, const char *path,
		    char *out, size_t outsize, unsigned *count)
{
	size_t nlen = strlen(name), plen = strlen(path), i = 0, o = 0;
	enum state st = NORMAL;
	int word_start = 1;

	*count = 0;
#define PUT(ch) do { if (o >= outsize) return -1; out[o++] = (ch); } while (0)
	while (i < len) {
		char ch = in[i];

		switch (st) {
		case SQUOTE:
			if (ch == '\'')
				st = NORMAL;
			break;
		case DQUOTE:
			if (ch == '\\' && i + 1 < len) {
				PUT(ch);
				ch = in[++i];
			} else if (ch == '"') {
				st = NORMAL;
			}
			break;
		case COMMENT:
			if (ch == '\n')
				st = NORMAL;
			break;
		case NORMAL:
			if (word_start && len - i >= nlen && memcmp(in + i, name, nlen) == 0 &&
			    (i + nlen == len || is_sep(in[i + nlen]))) {
				if (*count >= SCRIPT_MAX_REWRITES || plen > outsize - o)
					return -1;
				memcpy(out + o, path, plen);
				o += plen;
				i += nlen;
				(*count)++;
				word_start = 0;
				continue;
			}
			if (ch == '\\' && i + 1 < len) {
				PUT(ch);
				ch = in[++i];
			} else if (ch == '\'') {
				st = SQUOTE;
			} else if (ch == '"') {
				st = DQUOTE;
			} else if (ch == '#' && word_start) {
				st = COMMENT;
			}
			break;
		}
		PUT(ch);
		word_start = (st == NORMAL) && is_sep(ch);
		i++;
	}
#undef PUT
	return (long)o;
}
