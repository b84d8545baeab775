// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sigma values as patterns: the wildcard encoding of a value, the
 * |windash variants of an option, and |re's PCRE translated to a POSIX
 * ERE that means the same (or the reason it cannot be).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigma.h"

/* Sigma value -> wildcard encoding: '*' '?' wildcards; '\*' '\?' '\\'
 * escapes; any other backslash is a literal backslash. */
char *sg_wild(const char *s, size_t len, size_t *olen)
{
	char *o = ks_xmalloc(2 * len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len &&
		    (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
			o[n++] = '\\';
			o[n++] = s[++i];
		} else if (s[i] == '\\') {
			o[n++] = '\\';
			o[n++] = '\\';
		} else {
			o[n++] = s[i];
		}
	}
	*olen = n;
	return o;
}

static bool is_word(unsigned char c)
{
	return isalnum(c) || c == '_';
}

/*
 * |windash: every '-' or '/' that starts a word after a non-word byte
 * (regex \B[-/]\b, as pySigma) in all combinations of '-', '/', en dash,
 * em dash and horizontal bar.
 */
size_t sg_windash(const char *s, char ***out)
{
	static const char *const dashes[] = { "-", "/", "\xe2\x80\x93",
					      "\xe2\x80\x94", "\xe2\x80\x95" };
	size_t pos[WINDASH_MAX], np = 0, len = strlen(s), i, k, nv = 1, v, c, n;
	char **res, *o;

	for (i = 0; i < len; i++) {
		if ((s[i] == '-' || s[i] == '/') &&
		    (i == 0 || !is_word(s[i - 1])) &&
		    i + 1 < len && is_word(s[i + 1])) {
			if (np == WINDASH_MAX)
				return 0;
			pos[np++] = i;
		}
	}
	for (k = 0; k < np; k++)
		nv *= ARRAY_SIZE(dashes);
	res = ks_xmalloc(nv * sizeof(*res));
	for (v = 0; v < nv; v++) {
		o = ks_xmalloc(len + 3 * np + 1);
		c = v;
		for (i = 0, k = 0, n = 0; i < len; i++) {
			if (k < np && pos[k] == i) {
				const char *d = dashes[c % ARRAY_SIZE(dashes)];

				memcpy(o + n, d, strlen(d));
				n += strlen(d);
				c /= ARRAY_SIZE(dashes);
				k++;
			} else {
				o[n++] = s[i];
			}
		}
		res[v] = o;
	}
	*out = res;
	return nv;
}

/*
 * PCRE (as Sigma writes it) to POSIX ERE. Only what keeps the meaning is
 * translated; anything else is refused with the reason.
 */
static const char *re_class(char c, bool in_bracket)
{
	switch (c) {
	case 's': return in_bracket ? "[:space:]" : "[[:space:]]";
	case 'd': return in_bracket ? "0-9" : "[0-9]";
	case 'w': return in_bracket ? "[:alnum:]_" : "[[:alnum:]_]";
	case 'S': return in_bracket ? NULL : "[^[:space:]]";
	case 'D': return in_bracket ? NULL : "[^0-9]";
	case 'W': return in_bracket ? NULL : "[^[:alnum:]_]";
	default: return NULL;
	}
}

/* One byte c inside [...] (n the next); why it cannot be translated. */
static const char *re_in_bracket(FILE *o, char c, char n, size_t *i)
{
	const char *cls;

	if (c != '\\') {
		fputc(c, o);
		return NULL;
	}
	(*i)++;
	if ((cls = re_class(n, true)))
		fputs(cls, o);
	else if (n == ']' || n == '^' || n == '-')
		return "escaped ] ^ - inside [...]";
	else
		fputc(n, o);
	return NULL;
}

/* The escape "\\n" outside brackets; why it cannot be translated. */
static const char *re_escape(FILE *o, char n)
{
	const char *cls = re_class(n, false);

	if (cls)
		fputs(cls, o);
	else if (n == 'n')
		fputc('\n', o);
	else if (n == 't')
		fputc('\t', o);
	else if (n == 'r')
		fputc('\r', o);
	else if (isdigit((unsigned char)n) || isalpha((unsigned char)n))
		return "backreferences and escapes like \\b, \\x";
	else if (strchr(".[]()*+?{}|^$\\", n))
		fprintf(o, "\\%c", n);
	else
		fputc(n, o);	/* \/ \- \" : the byte itself */
	return NULL;
}

/*
 * Without |s, PCRE's '.' does not match a newline and '$' also matches
 * before a final one; POSIX's '.' matches anything and '$' only the end:
 * write what PCRE means.
 */
static void re_plain(FILE *o, char c, bool dotall)
{
	if (c == '.' && !dotall)
		fputs("[^\n]", o);
	else if (c == '$')
		fputs("\n?$", o);
	else
		fputc(c, o);
}

char *sg_re_translate(const char *s, bool *ci, bool dotall,
			  const char **why)
{
	size_t len = strlen(s), i;
	char *buf = NULL;
	size_t blen;
	FILE *o = open_memstream(&buf, &blen);
	size_t bstart = 0;
	bool br = false;

	if (!o)
		abort();
	*why = NULL;
	if (!strncmp(s, "(?i)", 4)) {
		*ci = true;
		s += 4;
		len -= 4;
	}
	for (i = 0; i < len && !*why; i++) {
		char c = s[i], n = i + 1 < len ? s[i + 1] : 0;

		if (br) {
			/* a ']' right after '[' or '[^' is a member */
			if (c == ']' && i != bstart)
				br = false;
			*why = re_in_bracket(o, c, n, &i);
			continue;
		}
		if (c == '[') {
			br = true;
			bstart = i + 1 + (n == '^');
			fputc(c, o);
			continue;
		}
		if (c == '(' && n == '?') {
			if (i + 2 < len && s[i + 2] == ':') {
				fputc('(', o);
				i += 2;
				continue;
			}
			*why = "(?...) groups other than (?:...) and a leading (?i)";
			continue;
		}
		if ((c == '*' || c == '+' || c == '?' || c == '}') && n == '?') {
			fputc(c, o);	/* lazy: same matches, drop the '?' */
			i++;
			continue;
		}
		if (c != '\\') {
			re_plain(o, c, dotall);
			continue;
		}
		i++;
		*why = re_escape(o, n);
	}
	fclose(o);
	if (*why) {
		free(buf);
		return NULL;
	}
	return buf;
}

