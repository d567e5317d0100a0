#include "script.h"

#include <string.h>

#define MAX_NEST 16  /* ( and $( open at once; deeper is refused */

static int is_sep(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == ';' || ch == '&' ||
	       ch == '|' || ch == '(' || ch == ')' || ch == '`';
}

/* Words after which the next word is still a command:
 * reserved words that precede one, and exec. */
static int keeps_command(const char *w, size_t n)
{
	static const char *const words[] = { "!", "{", "if", "then", "else", "elif", "while",
					     "until", "do", "exec" };
	size_t i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i]) == n && memcmp(w, words[i], n) == 0)
			return 1;
	/* NAME=value: an assignment before the command */
	if (!((w[0] >= 'a' && w[0] <= 'z') || (w[0] >= 'A' && w[0] <= 'Z') || w[0] == '_'))
		return 0;
	for (i = 1; i < n; i++) {
		char ch = w[i];

		if (ch == '=')
			return 1;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_'))
			return 0;
	}
	return 0;
}

enum state { NORMAL, SQUOTE, DQUOTE, COMMENT };

long script_rewrite(const char *in, size_t len, const char *name, const char *path,
		    char *out, size_t outsize, unsigned *count)
{
	size_t nlen = strlen(name), plen = strlen(path), i = 0, o = 0, depth = 0;
	enum state st = NORMAL;
	int word_start = 1;  /* the previous character ended a word */
	int cmd = 1;         /* the next word is in command position */
	int bq_cmd = 0, in_bq = 0;
	/* per open parenthesis: the command position to restore at ')' */
	unsigned char saved[MAX_NEST];

	*count = 0;
#define PUT(ch) do { if (o >= outsize) return -1; out[o++] = (ch); } while (0)
	while (i < len) {
		char ch = in[i];
		int escaped = 0;

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
			if (ch == '\n') {
				st = NORMAL;
				cmd = 1;
			}
			break;
		case NORMAL:
			if (word_start && !is_sep(ch) && ch != '#') {
				size_t w = 0;

				while (i + w < len && !is_sep(in[i + w]))
					w++;
				/* "NAME)" with no "(" open is a case pattern */
				if (cmd && w == nlen && memcmp(in + i, name, nlen) == 0 &&
				    !(depth == 0 && i + w < len && in[i + w] == ')')) {
					if (*count >= SCRIPT_MAX_REWRITES || plen > outsize - o)
						return -1;
					memcpy(out + o, path, plen);
					o += plen;
					i += nlen;
					(*count)++;
					word_start = 0;
					cmd = 0;
					continue;
				}
				if (cmd && !keeps_command(in + i, w))
					cmd = 0; /* the command word: arguments follow */
			}
			if (ch == '\\' && i + 1 < len) {
				PUT(ch);
				ch = in[++i];
				escaped = 1;  /* also a line continuation: not a new command */
			} else if (ch == '\'') {
				st = SQUOTE;
			} else if (ch == '"') {
				st = DQUOTE;
			} else if (ch == '#' && word_start) {
				st = COMMENT;
			} else if ((ch == '&' || ch == '|') && i > 0 && (in[i - 1] == '>' || in[i - 1] == '<')) {
				/* a redirection: 2>&1, >| */
			} else if (ch == '\n' || ch == ';' || ch == '&' || ch == '|') {
				cmd = 1;
			} else if (ch == '(') {
				if (depth >= MAX_NEST)
					return -1;
				/* $( continues the word it is in; ( starts a subshell */
				saved[depth++] = (unsigned char)(i > 0 && in[i - 1] == '$' ? cmd : 0);
				cmd = 1;
			} else if (ch == ')') {
				/* unmatched: the end of a case pattern, a command follows;
				 * "NAME()": a function body follows */
				cmd = depth ? saved[--depth] : 1;
				if (i > 0 && in[i - 1] == '(')
					cmd = 1;
			} else if (ch == '`') {
				in_bq = !in_bq;
				if (in_bq) {
					bq_cmd = cmd;
					cmd = 1;
				} else {
					cmd = bq_cmd;
				}
			}
			break;
		}
		PUT(ch);
		word_start = (st == NORMAL) && !escaped && is_sep(ch);
		i++;
	}
#undef PUT
	return (long)o;
}
