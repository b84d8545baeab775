// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TOML 1.0 reader for Elastic detection-rules files (include/kestrel/toml.h).
 *
 * One pass over the text, a statement (key = value, [header], [[header]])
 * per line. Keys are looked up in one hash table keyed by (table, key), so
 * a document with n keys is read in O(n) whatever its shape. How each table
 * came to be (prefix of a header, its own header, dotted key, inline) is
 * kept in its flags: TOML lets each table be defined once, and that is what
 * decides whether a later header or dotted key may add to it. The first
 * error ends the parse; its position is the byte line:col of the offending
 * token.
 *
 * About 1,300 lines, kept in one file on purpose: every part (strings,
 * keys, scalars, the table index, statements) reads and advances the one
 * private cursor struct tp and reports through its fail(); splitting the
 * file would publish that state to make a header of it, for a reader
 * whose only entry point is ks_toml_parse().
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <kestrel/text.h>
#include <kestrel/toml.h>

#include "source.h"

#define TF_IMPLICIT	0x01	/* created as a prefix of a [header] */
#define TF_EXPLICIT	0x02	/* defined by its own [header] or [[header]] */
#define TF_DOTTED	0x04	/* created by a dotted key */
#define TF_INLINE	0x08	/* an inline table: closed once written */
#define TF_AOT		0x10	/* an array of tables ([[header]]) */

struct slot {
	const struct ks_toml *parent;
	struct ks_toml *node;
};

/* One part of a (dotted) key: the decoded bytes and where it was. */
struct kpart {
	char *s;
	size_t len;
	struct ks_loc loc;
};

struct key {
	struct kpart v[KS_TOML_MAX_DEPTH];
	size_t n;
};

struct tp {
	const char *s;
	size_t len, pos;
	int line;
	size_t lstart;			/* offset of the current line */
	const char *file;
	struct ks_diags *d;
	bool failed;
	struct ks_toml *root, *cur;	/* cur: where key = value goes */
	struct slot *tab;		/* (table, key) -> entry */
	size_t tcap, tn;
	char *buf;			/* the string being decoded */
	size_t blen, bcap;
	struct ks_toml_seg *segs;	/* and where its bytes came from */
	size_t nseg, segcap;
};

/* ---- positions and errors ---- */

static struct ks_loc here(const struct tp *p)
{
	return (struct ks_loc){ .file = p->file, .line = p->line,
				.col = (int)(p->pos - p->lstart + 1) };
}

/* Position of any offset (errors only: scans from the start). */
static struct ks_loc loc_at(const struct tp *p, size_t off)
{
	struct ks_loc l = { .file = p->file, .line = 1, .col = 1 };
	size_t i, ls = 0;

	for (i = 0; i < off && i < p->len; i++)
		if (p->s[i] == '\n') {
			l.line++;
			ls = i + 1;
		}
	l.col = (int)(off - ls + 1);
	return l;
}

static int fail(struct tp *p, struct ks_loc at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct tp *p, struct ks_loc at, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return -1;
	p->failed = true;
	va_start(ap, fmt);
	ks_diag_vadd(p->d, KS_DIAG_ERROR, at, fmt, ap);
	va_end(ap);
	return -1;
}

/* What was found where something else was expected, for messages. */
static const char *chdesc(int c, char buf[16])
{
	if (c < 0)
		return "end of file";
	if (c == '\n')
		return "end of line";
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

static int peek(const struct tp *p, size_t k)
{
	return p->pos + k < p->len ? (unsigned char)p->s[p->pos + k] : -1;
}

/* Control characters TOML allows in no string or comment: all but tab. */
static bool is_ctrl(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static bool is_bare(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* ---- whitespace, comments, newlines ---- */

static void skip_ws(struct tp *p)
{
	while (peek(p, 0) == ' ' || peek(p, 0) == '\t')
		p->pos++;
}

/* LF or CRLF at pos: consume it and return true. */
static bool take_nl(struct tp *p)
{
	if (peek(p, 0) == '\r' && peek(p, 1) == '\n')
		p->pos++;
	else if (peek(p, 0) != '\n')
		return false;
	p->pos++;
	p->line++;
	p->lstart = p->pos;
	return true;
}

static int bare_cr(struct tp *p)
{
	return fail(p, here(p), "carriage return not followed by a line feed");
}

static int comment(struct tp *p)
{
	int c;

	if (peek(p, 0) != '#')
		return 0;
	for (p->pos++; (c = peek(p, 0)) >= 0 && c != '\n'; p->pos++) {
		if (c == '\r' && peek(p, 1) == '\n')
			break;
		if (is_ctrl(c))
			return fail(p, here(p), "control character U+%04X in a comment", c);
	}
	return 0;
}

/* Blank lines and comments (inside arrays). */
static int skip_ws_nl(struct tp *p)
{
	for (;;) {
		skip_ws(p);
		if (comment(p))
			return -1;
		if (take_nl(p))
			continue;
		return peek(p, 0) == '\r' ? bare_cr(p) : 0;
	}
}

/* The rest of a statement's line: blanks, a comment, then a newline. */
static int eol(struct tp *p, const char *after)
{
	char cb[16];

	skip_ws(p);
	if (comment(p))
		return -1;
	if (peek(p, 0) < 0 || take_nl(p))
		return 0;
	if (peek(p, 0) == '\r')
		return bare_cr(p);
	return fail(p, here(p), "expected a newline after %s, found %s", after,
		    chdesc(peek(p, 0), cb));
}

/* ---- the tree and the (table, key) index ---- */

static uint64_t khash(const struct ks_toml *parent, const char *k, size_t n)
{
	uint64_t h = ks_fnv1a64(&parent, sizeof(parent), KS_FNV64_INIT);

	h = ks_fnv1a64(k, n, h);
	return h ^ (h >> 31);
}

static struct ks_toml *lookup(const struct tp *p, const struct ks_toml *t,
			      const struct kpart *k)
{
	size_t i;

	if (!p->tcap)
		return NULL;
	for (i = khash(t, k->s, k->len) & (p->tcap - 1); p->tab[i].node;
	     i = (i + 1) & (p->tcap - 1))
		if (p->tab[i].parent == t && p->tab[i].node->key_len == k->len &&
		    !memcmp(p->tab[i].node->key, k->s, k->len))
			return p->tab[i].node;
	return NULL;
}

static void index_put(struct slot *tab, size_t cap, const struct ks_toml *t,
		      struct ks_toml *n)
{
	size_t i = khash(t, n->key, n->key_len) & (cap - 1);

	while (tab[i].node)
		i = (i + 1) & (cap - 1);
	tab[i] = (struct slot){ t, n };
}

static void index_add(struct tp *p, const struct ks_toml *t, struct ks_toml *n)
{
	struct slot *old = p->tab;
	size_t i, ocap = p->tcap;

	if (2 * (p->tn + 1) > p->tcap) {
		p->tcap = p->tcap ? 2 * p->tcap : 64;
		p->tab = ks_xmalloc(p->tcap * sizeof(*p->tab));
		for (i = 0; i < ocap; i++)
			if (old[i].node)
				index_put(p->tab, p->tcap, old[i].parent, old[i].node);
		free(old);
	}
	index_put(p->tab, p->tcap, t, n);
	p->tn++;
}

static struct ks_toml *node_new(struct tp *p, enum ks_toml_type type,
				struct ks_loc loc, unsigned int depth)
{
	struct ks_toml *n;

	if (depth > KS_TOML_MAX_DEPTH) {
		fail(p, loc, "tables and arrays nested deeper than %d levels",
		     KS_TOML_MAX_DEPTH);
		return NULL;
	}
	n = ks_xmalloc(sizeof(*n));
	n->type = type;
	n->loc = loc;
	n->key_loc = loc;
	n->depth = depth;
	return n;
}

static void push(struct ks_toml *t, struct ks_toml *n)
{
	ks_grow(&t->v, &t->cap, t->n, sizeof(*t->v));
	t->v[t->n++] = n;
}

/* Enter n in table t under key k (whose bytes n takes over). */
static void attach(struct tp *p, struct ks_toml *t, struct kpart *k,
		   struct ks_toml *n)
{
	n->key = k->s;
	n->key_len = k->len;
	n->key_loc = k->loc;
	k->s = NULL;
	push(t, n);
	index_add(p, t, n);
}

void ks_toml_free(struct ks_toml *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		ks_toml_free(t->v[i]);
	free(t->v);
	free(t->key);
	free(t->str);
	free(t->segs);
	free(t);
}

/* ---- strings ---- */

static void buf_put(struct tp *p, const char *s, size_t n)
{
	while (p->blen + n + 1 > p->bcap) {
		p->bcap = p->bcap ? 2 * p->bcap : 256;
		p->buf = ks_xrealloc(p->buf, p->bcap);
	}
	memcpy(p->buf + p->blen, s, n);
	p->blen += n;
}

/* Value bytes from here on come from the current source position. */
static void seg_mark(struct tp *p)
{
	struct ks_toml_seg s = { p->blen, p->line, (int)(p->pos - p->lstart + 1) };

	if (p->nseg && p->segs[p->nseg - 1].off == s.off) {
		p->segs[p->nseg - 1] = s;
		return;
	}
	ks_grow(&p->segs, &p->segcap, p->nseg, sizeof(*p->segs));
	p->segs[p->nseg++] = s;
}

static void str_begin(struct tp *p)
{
	p->blen = 0;
	p->nseg = 0;
	seg_mark(p);
}

/* The decoded string, NUL-terminated, as a malloc'd copy. */
static char *buf_take(struct tp *p, size_t *len)
{
	char *s = ks_xmalloc(p->blen + 1);

	if (p->blen)	/* p->buf is NULL until the first byte */
		memcpy(s, p->buf, p->blen);
	*len = p->blen;
	return s;
}

/* \uXXXX or \UXXXXXXXX at pos (the backslash). */
static int escape_unicode(struct tp *p, struct ks_loc at, int u)
{
	int i, n = u == 'u' ? 4 : 8, h;
	uint32_t cp = 0;
	char o[4];

	for (i = 0; i < n; i++) {
		h = ks_hexval(peek(p, 2 + i));
		if (h < 0)
			return fail(p, at, "\\%c needs %d hex digits", u, n);
		cp = cp << 4 | h;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return fail(p, at, "\\%c%.*s is not a Unicode scalar value", u, n,
			    p->s + p->pos + 2);
	buf_put(p, o, ks_utf8_put(o, cp));
	p->pos += 2 + n;
	return 0;
}

static int escape(struct tp *p)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	struct ks_loc at = here(p);
	int c = peek(p, 1);
	const char *e;
	char cb[16];

	seg_mark(p);
	if (c == 'u' || c == 'U') {
		if (escape_unicode(p, at, c))
			return -1;
	} else if (c > 0 && (e = strchr(from, c))) {
		buf_put(p, &to[e - from], 1);
		p->pos += 2;
	} else {
		return fail(p, at, "invalid escape \\%s in a string",
			    c == ' ' ? "<space>" : chdesc(c, cb));
	}
	seg_mark(p);
	return 0;
}

/* A character of a string that is none of its delimiters or escapes. */
static int str_char(struct tp *p, int c)
{
	char b = c;

	if (is_ctrl(c))
		return fail(p, here(p), "control character U+%04X in a string", c);
	buf_put(p, &b, 1);
	p->pos++;
	return 0;
}

/* "basic" or 'literal' on one line; pos at the opening quote. */
static int str_line(struct tp *p, int q)
{
	struct ks_loc at = here(p);
	int c;

	p->pos++;
	str_begin(p);
	for (;;) {
		c = peek(p, 0);
		if (c == q) {
			p->pos++;
			return 0;
		}
		if (c < 0 || c == '\n' || c == '\r')
			return fail(p, at, "unterminated string");
		if (q == '"' && c == '\\') {
			if (escape(p))
				return -1;
		} else if (str_char(p, c)) {
			return -1;
		}
	}
}

/*
 * A run of quotes inside a multi-line string: one or two are content,
 * three to five close it (the first ones being content). 1 when closed.
 */
static int ml_quotes(struct tp *p, int q)
{
	size_t k = 0;

	while (peek(p, k) == q)
		k++;
	if (k > 5)
		return fail(p, here(p), "%zu quotes in a row: at most two may "
			    "precede the closing %c%c%c", k, q, q, q);
	buf_put(p, p->s + p->pos, k < 3 ? k : k - 3);
	p->pos += k;
	return k >= 3;
}

/* A backslash at the end of a line in a """string""": it eats every blank
 * and newline that follow. false if the backslash is an escape. */
static bool line_continuation(struct tp *p)
{
	size_t k = 1;

	while (peek(p, k) == ' ' || peek(p, k) == '\t')
		k++;
	if (peek(p, k) != '\n' && !(peek(p, k) == '\r' && peek(p, k + 1) == '\n'))
		return false;
	p->pos += k;
	while (take_nl(p) || peek(p, 0) == ' ' || peek(p, 0) == '\t')
		if (peek(p, 0) == ' ' || peek(p, 0) == '\t')
			p->pos++;
	seg_mark(p);
	return true;
}

/* One step of a multi-line string at c: 0 go on, 1 closed, -1 error. */
static int ml_step(struct tp *p, int q, int c)
{
	if (c == q)
		return ml_quotes(p, q);
	if (c == '\n' || c == '\r') {
		if (!take_nl(p))
			return bare_cr(p);
		buf_put(p, "\n", 1);
		seg_mark(p);
		return 0;
	}
	if (q == '"' && c == '\\')
		return line_continuation(p) ? 0 : escape(p);
	return str_char(p, c);
}

/* """multi-line basic""" or '''multi-line literal'''; pos at the quotes. */
static int str_ml(struct tp *p, int q)
{
	struct ks_loc at = here(p);
	int c, r;

	p->pos += 3;
	take_nl(p);		/* a newline right after the opening is trimmed */
	str_begin(p);
	for (;;) {
		c = peek(p, 0);
		if (c < 0)
			return fail(p, at, "unterminated multi-line string");
		r = ml_step(p, q, c);
		if (r)
			return r < 0 ? -1 : 0;
	}
}

/* ---- keys ---- */

static void key_free(struct key *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i].s);
	k->n = 0;
}

static int key_part(struct tp *p, struct kpart *k)
{
	int c = peek(p, 0);
	size_t start = p->pos;
	char cb[16];

	k->loc = here(p);
	if (c == '"' || c == '\'') {
		if (peek(p, 1) == c && peek(p, 2) == c)
			return fail(p, k->loc, "a key cannot be a multi-line string");
		if (str_line(p, c))
			return -1;
		k->s = buf_take(p, &k->len);
		return 0;
	}
	while (is_bare(peek(p, 0)))
		p->pos++;
	if (p->pos == start)
		return fail(p, k->loc, "expected a key, found %s", chdesc(c, cb));
	k->len = p->pos - start;
	k->s = ks_xmalloc(k->len + 1);
	memcpy(k->s, p->s + start, k->len);
	return 0;
}

/* a, "a b", a.b . 'c' */
static int parse_key(struct tp *p, struct key *k)
{
	k->n = 0;
	for (;;) {
		if (k->n == KS_TOML_MAX_DEPTH)
			return fail(p, here(p), "key with more than %d dotted parts",
				    KS_TOML_MAX_DEPTH);
		k->v[k->n].s = NULL;
		if (key_part(p, &k->v[k->n]))
			return -1;
		k->n++;
		skip_ws(p);
		if (peek(p, 0) != '.')
			return 0;
		p->pos++;
		skip_ws(p);
	}
}

/* "a.b.c" of parts [0, n], for messages (NUL bytes end it early). */
static char *key_text(const struct key *k, size_t n)
{
	char *s = NULL, *t;
	size_t i;

	for (i = 0; i <= n && i < k->n; i++) {
		t = ks_xasprintf("%s%s%s", s ? s : "", s ? "." : "", k->v[i].s);
		free(s);
		s = t;
	}
	return s ? s : ks_xstrdup("");
}

static const char *defined_as(const struct ks_toml *c)
{
	if (c->type == KS_TOML_TABLE) {
		if (c->flags & TF_INLINE)
			return "an inline table";
		if (c->flags & TF_DOTTED)
			return "a table (by dotted keys)";
		if (c->flags & TF_EXPLICIT)
			return "a table with its own [header]";
		return "a table (by a [header] below it)";
	}
	if (c->type == KS_TOML_ARRAY)
		return c->flags & TF_AOT ? "an array of tables" : "an array";
	return ks_toml_type_name(c->type);
}

/* Key parts [0, i] of k name c, which cannot be used the way asked. */
static int conflict(struct tp *p, const struct key *k, size_t i,
		    const struct ks_toml *c, const char *want)
{
	char *name = key_text(k, i);

	fail(p, k->v[i].loc, "cannot %s \"%s\": it is already %s", want, name,
	     defined_as(c));
	ks_diag_add(p->d, KS_DIAG_NOTE, c->key_loc, "\"%s\" first defined here",
		    name);
	free(name);
	return -1;
}

/* ---- scalars: numbers, booleans, date-times ---- */

/* Digits of `base` with single underscores between them: the number of
 * digits, -1 for a misplaced underscore; *used bytes were read. */
static long scan_digits(const char *q, const char *end, int base, size_t *used)
{
	size_t i = 0;
	long nd = 0;
	int dv;

	while (q + i < end) {
		if (q[i] == '_') {
			dv = q + i + 1 < end ? ks_hexval(q[i + 1]) : -1;
			if (!nd || dv < 0 || dv >= base)
				return -1;
			i++;
			continue;
		}
		dv = ks_hexval(q[i]);
		if (dv < 0 || dv >= base)
			break;
		nd++;
		i++;
	}
	*used = i;
	return nd;
}

/* Digits (and underscores) [q, end) of base into *v; false on overflow
 * past lim. */
static bool accumulate(const char *q, const char *end, int base, uint64_t lim,
		       uint64_t *v)
{
	uint64_t d;

	for (*v = 0; q < end; q++) {
		if (*q == '_')
			continue;
		d = ks_hexval(*q);
		if (*v > (lim - d) / base)
			return false;
		*v = *v * base + d;
	}
	return true;
}

static int int_prefixed(struct tp *p, struct ks_toml *v, const char *q,
			const char *end, struct ks_loc at)
{
	int base = q[1] == 'x' ? 16 : q[1] == 'o' ? 8 : 2;
	size_t used;
	long nd = scan_digits(q + 2, end, base, &used);
	uint64_t u;

	if (nd <= 0 || q + 2 + used != end)
		return fail(p, at, "invalid base-%d integer \"%.*s\"", base,
			    (int)(end - q), q);
	if (!accumulate(q + 2, end, base, INT64_MAX, &u))
		return fail(p, at, "integer \"%.*s\" does not fit in 64 bits",
			    (int)(end - q), q);
	v->type = KS_TOML_INT;
	v->i = (int64_t)u;
	return 0;
}

/* Part [q, end) of a float: '.' digits, then e[+-]digits, each optional;
 * returns the end of what was read, or NULL if a part has no digits. */
static const char *float_tail(const char *q, const char *end)
{
	size_t used;

	if (q < end && *q == '.') {
		if (scan_digits(q + 1, end, 10, &used) <= 0)
			return NULL;
		q += 1 + used;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (scan_digits(q, end, 10, &used) <= 0)
			return NULL;
		q += used;
	}
	return q;
}

static void set_float(struct ks_toml *v, const char *t, const char *end)
{
	char tmp[128];
	size_t n = 0;

	for (; t < end && n + 1 < sizeof(tmp); t++)
		if (*t != '_')
			tmp[n++] = *t;
	tmp[n] = 0;
	v->type = KS_TOML_FLOAT;
	v->f = strtod(tmp, NULL);
}

static int number(struct tp *p, struct ks_toml *v, const char *t, size_t n,
		  struct ks_loc at)
{
	const char *q = t, *end = t + n, *f;
	bool neg = *q == '-';
	size_t used;
	long nd;
	uint64_t u;

	if (*q == '+' || *q == '-')
		q++;
	if (end - q == 3 && (!memcmp(q, "inf", 3) || !memcmp(q, "nan", 3))) {
		v->type = KS_TOML_FLOAT;
		v->f = *q == 'i' ? INFINITY : NAN;
		v->f = neg ? -v->f : v->f;
		return 0;
	}
	if (end - q > 2 && q[0] == '0' && strchr("xob", q[1])) {
		if (q != t)
			return fail(p, at, "a sign is not allowed before 0%c", q[1]);
		return int_prefixed(p, v, q, end, at);
	}
	nd = scan_digits(q, end, 10, &used);
	f = nd > 0 ? float_tail(q + used, end) : NULL;
	if (!f || f != end)
		return fail(p, at, "invalid value \"%.*s\"", (int)n, t);
	if (*q == '0' && nd > 1)
		return fail(p, at, "leading zeros are not allowed in \"%.*s\"",
			    (int)n, t);
	if (q + used != end) {
		set_float(v, t, end);
		return 0;
	}
	if (!accumulate(q, end, 10, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &u))
		return fail(p, at, "integer \"%.*s\" does not fit in 64 bits",
			    (int)n, t);
	v->type = KS_TOML_INT;
	v->i = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/* Two digits at t as a number, or -1. */
static int dd(const char *t)
{
	if (!isdigit((unsigned char)t[0]) || !isdigit((unsigned char)t[1]))
		return -1;
	return (t[0] - '0') * 10 + t[1] - '0';
}

static bool date_shape(const char *t, size_t n)
{
	return n >= 10 && dd(t) >= 0 && dd(t + 2) >= 0 && t[4] == '-' &&
	       dd(t + 5) >= 0 && t[7] == '-' && dd(t + 8) >= 0;
}

static bool date_valid(const char *t)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y = dd(t) * 100 + dd(t + 2), m = dd(t + 5), d = dd(t + 8);
	bool leap = (y % 4 == 0 && y % 100) || y % 400 == 0;

	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return !(m == 2 && d == 29 && !leap);
}

/* HH:MM:SS[.frac] at t[*i]. */
static bool time_part(const char *t, size_t n, size_t *i)
{
	const char *s = t + *i;

	if (n - *i < 8 || dd(s) < 0 || dd(s) > 23 || s[2] != ':' ||
	    dd(s + 3) < 0 || dd(s + 3) > 59 || s[5] != ':' || dd(s + 6) < 0 ||
	    dd(s + 6) > 60)
		return false;
	*i += 8;
	if (*i < n && t[*i] == '.') {
		if (*i + 1 >= n || !isdigit((unsigned char)t[*i + 1]))
			return false;
		for (++*i; *i < n && isdigit((unsigned char)t[*i]); ++*i)
			;
	}
	return true;
}

/* Z, or +HH:MM / -HH:MM, ending the text. */
static bool offset_part(const char *t, size_t n, size_t i)
{
	const char *s = t + i;

	if (n - i == 1)
		return *s == 'Z' || *s == 'z';
	return n - i == 6 && (*s == '+' || *s == '-') && dd(s + 1) >= 0 &&
	       dd(s + 1) <= 23 && s[3] == ':' && dd(s + 4) >= 0 && dd(s + 4) <= 59;
}

static bool datetime_kind(const char *t, size_t n, enum ks_toml_dt *dt)
{
	size_t i = 0;

	if (!date_shape(t, n)) {
		*dt = KS_TOML_DT_TIME;
		return time_part(t, n, &i) && i == n;
	}
	if (!date_valid(t))
		return false;
	*dt = KS_TOML_DT_DATE;
	if (n == 10)
		return true;
	if (t[10] != 'T' && t[10] != 't' && t[10] != ' ')
		return false;
	i = 11;
	if (!time_part(t, n, &i))
		return false;
	*dt = i == n ? KS_TOML_DT_LOCAL : KS_TOML_DT_OFFSET;
	return i == n || offset_part(t, n, i);
}

static bool tok_char(int c)
{
	return is_bare(c) || c == '+' || c == '.' || c == ':';
}

/* The bytes of a number, boolean or date-time at pos. RFC 3339 lets a
 * space stand for the T of a date-time: a date, a space and HH: are one. */
static size_t scan_token(const struct tp *p)
{
	const char *s = p->s;
	size_t b = p->pos, e = b;

	while (e < p->len && tok_char((unsigned char)s[e]))
		e++;
	if (e - b == 10 && date_shape(s + b, 10) && e + 3 < p->len &&
	    s[e] == ' ' && dd(s + e + 1) >= 0 && s[e + 3] == ':')
		for (e++; e < p->len && tok_char((unsigned char)s[e]); e++)
			;
	return e - b;
}

static int scalar(struct tp *p, struct ks_toml *v)
{
	size_t n = scan_token(p);
	const char *t = p->s + p->pos;
	char cb[16];

	if (!n)
		return fail(p, v->loc, "expected a value, found %s",
			    chdesc(peek(p, 0), cb));
	if ((n == 4 && !memcmp(t, "true", 4)) || (n == 5 && !memcmp(t, "false", 5))) {
		v->type = KS_TOML_BOOL;
		v->b = n == 4;
	} else if (date_shape(t, n) || (n > 2 && dd(t) >= 0 && t[2] == ':')) {
		if (!datetime_kind(t, n, &v->dt))
			return fail(p, v->loc, "invalid date-time \"%.*s\" "
				    "(expected 1979-05-27T07:32:00Z, "
				    "1979-05-27T07:32:00, 1979-05-27 or 07:32:00)",
				    (int)n, t);
		v->type = KS_TOML_DATETIME;
		v->str = ks_xmalloc(n + 1);
		memcpy(v->str, t, n);
		v->len = n;
	} else if (number(p, v, t, n, v->loc)) {
		return -1;
	}
	p->pos += n;
	return 0;
}

/* ---- values ---- */

static struct ks_toml *parse_value(struct tp *p, unsigned int depth);
static int keyval(struct tp *p, struct ks_toml *t);

static struct ks_toml *value_string(struct tp *p, struct ks_toml *v)
{
	int q = peek(p, 0);

	if (peek(p, 1) == q && peek(p, 2) == q ? str_ml(p, q) : str_line(p, q)) {
		ks_toml_free(v);
		return NULL;
	}
	v->type = KS_TOML_STRING;
	v->str = buf_take(p, &v->len);
	v->segs = ks_xmalloc(p->nseg * sizeof(*v->segs));
	memcpy(v->segs, p->segs, p->nseg * sizeof(*v->segs));
	v->n_segs = p->nseg;
	return v;
}

/* [ v, v, ... ] over any number of lines, a trailing comma allowed. */
static struct ks_toml *parse_array(struct tp *p, struct ks_toml *a)
{
	struct ks_toml *v;
	char cb[16];

	a->type = KS_TOML_ARRAY;
	p->pos++;
	for (;;) {
		if (skip_ws_nl(p))
			goto err;
		if (peek(p, 0) == ']')
			break;
		v = parse_value(p, a->depth + 1);
		if (!v)
			goto err;
		push(a, v);
		if (skip_ws_nl(p))
			goto err;
		if (peek(p, 0) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p, 0) == ']')
			break;
		fail(p, here(p), "expected ',' or ']' in an array, found %s",
		     chdesc(peek(p, 0), cb));
		goto err;
	}
	p->pos++;
	return a;
err:
	ks_toml_free(a);
	return NULL;
}

/* { k = v, k.k = v } on one line, no trailing comma (TOML 1.0). */
static struct ks_toml *parse_inline(struct tp *p, struct ks_toml *t)
{
	char cb[16];
	int c;

	t->type = KS_TOML_TABLE;
	t->flags = TF_INLINE | TF_EXPLICIT;
	p->pos++;
	skip_ws(p);
	if (peek(p, 0) == '}')
		goto done;
	for (;;) {
		if (keyval(p, t))
			goto err;
		skip_ws(p);
		c = peek(p, 0);
		if (c == '}')
			break;
		if (c != ',') {
			fail(p, here(p), c == '\n' || c == '\r' ?
			     "an inline table must be on one line" :
			     "expected ',' or '}' in an inline table, found %s",
			     chdesc(c, cb));
			goto err;
		}
		p->pos++;
		skip_ws(p);
		if (peek(p, 0) == '}') {
			fail(p, here(p), "no trailing comma allowed in an inline table");
			goto err;
		}
	}
done:
	p->pos++;
	return t;
err:
	ks_toml_free(t);
	return NULL;
}

static struct ks_toml *parse_value(struct tp *p, unsigned int depth)
{
	struct ks_toml *v = node_new(p, KS_TOML_INT, here(p), depth);

	if (!v)
		return NULL;
	switch (peek(p, 0)) {
	case '"':
	case '\'':
		return value_string(p, v);
	case '[':
		return parse_array(p, v);
	case '{':
		return parse_inline(p, v);
	}
	if (scalar(p, v)) {
		ks_toml_free(v);
		return NULL;
	}
	return v;
}

/* ---- statements ---- */

/* A new, empty table under t for key part i of k, with flags: how it came. */
static struct ks_toml *table_add(struct tp *p, struct ks_toml *t, struct key *k,
				 size_t i, unsigned int flags)
{
	struct ks_toml *c = node_new(p, KS_TOML_TABLE, k->v[i].loc, t->depth + 1);

	if (!c)
		return NULL;
	c->flags = flags;
	attach(p, t, &k->v[i], c);
	return c;
}

/* Follow the dotted parts of k but the last from table t: tables they name
 * must have been made by dotted keys too, or are made now. */
static struct ks_toml *dotted_walk(struct tp *p, struct ks_toml *t,
				   struct key *k)
{
	struct ks_toml *c;
	size_t i;

	for (i = 0; i + 1 < k->n; i++) {
		c = lookup(p, t, &k->v[i]);
		if (!c) {
			c = table_add(p, t, k, i, TF_DOTTED);
			if (!c)
				return NULL;
		} else if (c->type != KS_TOML_TABLE || !(c->flags & TF_DOTTED)) {
			conflict(p, k, i, c, "add keys to");
			return NULL;
		}
		t = c;
	}
	return t;
}

static int keyval(struct tp *p, struct ks_toml *t)
{
	struct ks_toml *v, *old;
	struct key k;
	char cb[16];
	int ret = -1;

	if (parse_key(p, &k))
		goto out;
	skip_ws(p);
	if (peek(p, 0) != '=') {
		fail(p, here(p), "expected '=' after a key, found %s",
		     chdesc(peek(p, 0), cb));
		goto out;
	}
	p->pos++;
	skip_ws(p);
	t = dotted_walk(p, t, &k);
	if (!t)
		goto out;
	old = lookup(p, t, &k.v[k.n - 1]);
	if (old) {
		conflict(p, &k, k.n - 1, old, "redefine");
		goto out;
	}
	v = parse_value(p, t->depth + 1);
	if (!v)
		goto out;
	attach(p, t, &k.v[k.n - 1], v);
	ret = 0;
out:
	key_free(&k);
	return ret;
}

/* A part of a [header] before the last: a table, or the last table of an
 * array of tables; missing ones are made, to be defined later. */
static struct ks_toml *header_step(struct tp *p, struct ks_toml *t,
				   struct key *k, size_t i)
{
	struct ks_toml *c = lookup(p, t, &k->v[i]);

	if (!c)
		return table_add(p, t, k, i, TF_IMPLICIT);
	if (c->type == KS_TOML_TABLE && !(c->flags & TF_INLINE))
		return c;
	if (c->type == KS_TOML_ARRAY && (c->flags & TF_AOT))
		return c->v[c->n - 1];
	conflict(p, k, i, c, "define a table under");
	return NULL;
}

static struct ks_toml *header_table(struct tp *p, struct ks_toml *t,
				    struct key *k, struct ks_loc at)
{
	struct kpart *last = &k->v[k->n - 1];
	struct ks_toml *c = lookup(p, t, last);

	if (!c) {
		c = node_new(p, KS_TOML_TABLE, at, t->depth + 1);
		if (!c)
			return NULL;
		attach(p, t, last, c);
	} else if (c->type != KS_TOML_TABLE || !(c->flags & TF_IMPLICIT)) {
		conflict(p, k, k->n - 1, c, "define table");
		return NULL;
	}
	c->flags = TF_EXPLICIT;
	c->loc = at;
	return c;
}

static struct ks_toml *header_aot(struct tp *p, struct ks_toml *t,
				  struct key *k, struct ks_loc at)
{
	struct kpart *last = &k->v[k->n - 1];
	struct ks_toml *a = lookup(p, t, last), *e;

	if (!a) {
		a = node_new(p, KS_TOML_ARRAY, at, t->depth + 1);
		if (!a)
			return NULL;
		a->flags = TF_AOT;
		attach(p, t, last, a);
	} else if (a->type != KS_TOML_ARRAY || !(a->flags & TF_AOT)) {
		conflict(p, k, k->n - 1, a, "append a table to");
		return NULL;
	}
	e = node_new(p, KS_TOML_TABLE, at, a->depth + 1);
	if (!e)
		return NULL;
	e->flags = TF_EXPLICIT;
	push(a, e);
	return e;
}

/* [a.b] or [[a.b]]; pos at the first bracket. */
static int header(struct tp *p)
{
	struct ks_loc at = here(p);
	bool aot = peek(p, 1) == '[';
	struct ks_toml *t = p->root;
	struct key k = { .n = 0 };
	char cb[16];
	size_t i;
	int ret = -1;

	p->pos += aot ? 2 : 1;
	skip_ws(p);
	if (parse_key(p, &k))
		goto out;
	if (aot && peek(p, 0) == ']' && peek(p, 1) != ']') {
		p->pos++;	/* [[a] */
		fail(p, here(p), "expected ']]' to close the header, found %s",
		     chdesc(peek(p, 0), cb));
		goto out;
	}
	if (peek(p, 0) != ']') {
		fail(p, here(p), "expected '%s' to close the header, found %s",
		     aot ? "]]" : "]", chdesc(peek(p, 0), cb));
		goto out;
	}
	p->pos += aot ? 2 : 1;
	for (i = 0; t && i + 1 < k.n; i++)
		t = header_step(p, t, &k, i);
	if (t)
		t = aot ? header_aot(p, t, &k, at) : header_table(p, t, &k, at);
	if (t) {
		p->cur = t;
		ret = 0;
	}
out:
	key_free(&k);
	return ret;
}

static int statement(struct tp *p)
{
	int c;

	skip_ws(p);
	c = peek(p, 0);
	if (c == '[') {
		if (header(p))
			return -1;
		return eol(p, "a table header");
	}
	if (c >= 0 && c != '#' && c != '\n' && c != '\r') {
		if (keyval(p, p->cur))
			return -1;
		return eol(p, "a value");
	}
	return eol(p, "a comment");
}

/* Offset of the first byte that is not valid UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF included), or len. */
static size_t utf8_invalid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 1, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 2, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 3, cp = s[i] & 0x07;
		else
			return i;
		if (len - i <= n)
			return i;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return i;
		i += n + 1;
	}
	return len;
}

static int check_input(struct tp *p)
{
	size_t bad;

	if (p->len > KS_TOML_MAX_SIZE)
		return fail(p, here(p), "file larger than %u bytes", KS_TOML_MAX_SIZE);
	bad = utf8_invalid((const unsigned char *)p->s, p->len);
	if (bad < p->len)
		return fail(p, loc_at(p, bad), "invalid UTF-8 (byte 0x%02x)",
			    (unsigned char)p->s[bad]);
	if (p->len >= 3 && !memcmp(p->s, "\xef\xbb\xbf", 3))
		p->pos = p->lstart = 3;	/* byte order mark */
	return 0;
}

struct ks_toml *ks_toml_parse(const char *text, size_t len, const char *file,
			      struct ks_diags *d)
{
	struct tp p = { .s = text, .len = len, .line = 1, .file = file, .d = d };

	if (check_input(&p))
		return NULL;
	p.root = node_new(&p, KS_TOML_TABLE, here(&p), 0);
	p.root->flags = TF_EXPLICIT;
	p.cur = p.root;
	while (p.pos < p.len && !statement(&p))
		;
	free(p.tab);
	free(p.buf);
	free(p.segs);
	if (p.failed) {
		ks_toml_free(p.root);
		return NULL;
	}
	return p.root;
}

/* ---- queries on the tree ---- */

const struct ks_toml *ks_toml_get(const struct ks_toml *t, const char *key)
{
	size_t i, n = strlen(key);

	if (!t || t->type != KS_TOML_TABLE)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (t->v[i]->key_len == n && !memcmp(t->v[i]->key, key, n))
			return t->v[i];
	return NULL;
}

const char *ks_toml_type_name(enum ks_toml_type type)
{
	static const char *const names[] = {
		[KS_TOML_TABLE] = "table",	[KS_TOML_ARRAY] = "array",
		[KS_TOML_STRING] = "string",	[KS_TOML_INT] = "integer",
		[KS_TOML_FLOAT] = "float",	[KS_TOML_BOOL] = "boolean",
		[KS_TOML_DATETIME] = "date-time",
	};

	return (unsigned int)type < ARRAY_SIZE(names) ? names[type] : "value";
}

struct ks_loc ks_toml_str_loc(const struct ks_toml *s, size_t off)
{
	struct ks_loc l = s->loc;
	size_t lo;

	if (!s->n_segs)
		return l;
	_Static_assert(offsetof(struct ks_toml_seg, off) == 0, "ks_seg_last reads off first");
	lo = ks_seg_last(s->segs, s->n_segs, sizeof(*s->segs), off);
	l.line = s->segs[lo].line;
	l.col = s->segs[lo].col + (int)(off - s->segs[lo].off);
	return l;
}
