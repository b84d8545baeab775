// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * JSON reader for Event JSONL lines: one pass over the line into a flat
 * array of nodes in buffers reused from line to line (see
 * include/kestrel/json.h). No allocation per line once they have grown.
 *
 * It accepts exactly the texts jansson 2.14's json_loadb() accepts with
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL (tests/fuzz/fuzz_events.c
 * checks the two agree): an object or array at the top, nothing but
 * white space after it, well-formed UTF-8, no control characters in
 * strings, escapes \" \\ \/ \b \f \n \r \t \uXXXX with surrogates in
 * pairs, \u0000 in values but not in member names, no duplicate member
 * names, integers that fit int64_t, reals that do not overflow a double,
 * at most 2048 nested values. What it rejects goes to jansson for the
 * message, so diagnostics stay jansson's.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/ecs.h"
#include "kestrel/json.h"
#include "kestrel/text.h"
#include "json_scan.h"

#define KS_JR_MAX_DEPTH	2048	/* jansson's JSON_PARSER_MAX_DEPTH */
#define KS_JR_LINEAR	16	/* members checked pairwise for duplicates */

struct pstate {
	struct ks_jr *r;
	const char *line, *p, *end;
	char *copy;		/* r->str: the line's copy, its strings unescaped in place */
	char *scratch;		/* r->str after the copy: a number's text for strtod */
	unsigned int depth;
};

static inline void ws(struct pstate *ps)
{
	ps->p = skip_ws(ps->p, ps->end);
}

static int node_new(struct pstate *ps, uint8_t type, uint32_t *idx)
{
	struct ks_jr *r = ps->r;

	if (r->n_nodes == r->cap_nodes) {
		size_t cap = r->cap_nodes ? r->cap_nodes * 2 : 64;
		struct ks_jn *n = realloc(r->n, cap * sizeof(*n));

		if (!n)
			return -1;
		r->n = n;
		r->cap_nodes = cap;
	}
	*idx = (uint32_t)r->n_nodes++;
	memset(&r->n[*idx], 0, sizeof(r->n[0]));
	r->n[*idx].type = type;
	return 0;
}

static int hex4(const char *p, const char *end, unsigned int *v)
{
	int i, h;

	if (end - p < 4)
		return -1;
	*v = 0;
	for (i = 0; i < 4; i++) {
		h = ks_hexval((unsigned char)p[i]);
		if (h < 0)
			return -1;
		*v = *v << 4 | (unsigned int)h;
	}
	return 0;
}

/* \uXXXX at p (after the backslash and 'u'), surrogate pairs joined. */
static const char *unicode_escape(const char *p, const char *end, unsigned int *cp)
{
	unsigned int lo;

	if (hex4(p, end, cp))
		return NULL;
	p += 4;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return NULL;		/* a low surrogate alone */
	if (*cp < 0xd800 || *cp > 0xdbff)
		return p;
	if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) ||
	    lo < 0xdc00 || lo > 0xdfff)
		return NULL;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return p + 6;
}

/* Escapes of a raw string body [p, end) into w; returns the new w or NULL. */
static char *unescape(const char *p, const char *end, char *w)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *c;
	unsigned int cp;

	while (p < end) {
		if (*p != '\\') {
			*w++ = *p++;
			continue;
		}
		p++;
		if (*p == 'u') {
			p = unicode_escape(p + 1, end, &cp);
			if (!p)
				return NULL;
			w += ks_utf8_put(w, cp);
			continue;
		}
		c = strchr(from, *p);
		if (!c || !*p)
			return NULL;
		*w++ = to[c - from];
		p++;
	}
	return w;
}

/*
 * A string at ps->p (on the opening quote): its unescaped text in the
 * line's copy, over the raw text (never longer), a NUL where the closing
 * quote was. One copy of the line instead of a memcpy call per string:
 * ~30 strings a line in the replay bench. *esc: it had escapes (only then
 * can it hold a NUL); *dot: a '.' in it. Inlined in its two callers: the
 * call was ~15 instructions of a ~115-instruction string, 2.8 % of the
 * parse (bench/profile/replay5-parse.txt).
 */
static inline __attribute__((always_inline)) int
string(struct pstate *ps, const char **s, uint32_t *len, bool *esc, bool *dot)
{
	const char *b = ps->p + 1, *q = b;
	struct run r = { 0, 0 };
	char *w;

	*esc = false;
	for (;;) {
		q = plain_run(q, ps->end, &r);
		if (q == ps->end || (unsigned char)*q < 0x20)
			return -1;
		if (*q == '"')
			break;
		*esc = true;	/* a backslash: the escaped byte is unescape()'s to check */
		if (++q == ps->end)
			return -1;
		r.high |= (unsigned char)*q & 0x80;
		r.dots |= *q == '.';
		q++;
	}
	*dot = r.dots != 0;
	if (r.high && !ks_utf8_valid(b, (size_t)(q - b)))
		return -1;
	*s = ps->copy + (b - ps->line);
	w = *esc ? unescape(b, q, ps->copy + (b - ps->line)) : ps->copy + (q - ps->line);
	if (!w)
		return -1;
	*w = '\0';
	*len = (uint32_t)(w - *s);
	ps->p = q + 1;
	return 0;
}

static bool digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* A real overflows jansson when strtod says ERANGE with a huge value. */
static int real_ok(struct pstate *ps, const char *p, size_t n)
{
	double d;

	memcpy(ps->scratch, p, n);
	ps->scratch[n] = '\0';
	errno = 0;
	d = strtod(ps->scratch, NULL);
	return (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE ? -1 : 0;
}

static int number(struct pstate *ps, struct ks_jn *n)
{
	const char *p = ps->p, *q = p + (*p == '-');
	bool real = false;

	if (!digit(q, ps->end))
		return -1;
	if (*q == '0') {
		if (digit(++q, ps->end))
			return -1;
	} else {
		while (digit(q, ps->end))
			q++;
	}
	if (q < ps->end && *q == '.') {
		real = true;
		if (!digit(++q, ps->end))
			return -1;
		while (digit(q, ps->end))
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		real = true;
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (!digit(q, ps->end))
			return -1;
		while (digit(q, ps->end))
			q++;
	}
	ps->p = q;
	if (real) {
		n->type = KS_JT_REAL;
		return real_ok(ps, p, (size_t)(q - p));
	}
	return int_value(p, q, &n->i);
}

/* true / false / null: jansson reads a run of letters as one word. */
static int literal(struct pstate *ps, struct ks_jn *n)
{
	const char *p = ps->p, *q = p;

	while (q < ps->end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
		q++;
	ps->p = q;
	if (q - p == 4 && !memcmp(p, "true", 4))
		n->type = KS_JT_TRUE;
	else if (q - p == 5 && !memcmp(p, "false", 5))
		n->type = KS_JT_FALSE;
	else if (q - p == 4 && !memcmp(p, "null", 4))
		n->type = KS_JT_NULL;
	else
		return -1;
	return 0;
}

static int key_cmp(const void *a, const void *b, void *arg)
{
	const struct ks_jn *n = arg;
	const struct ks_jn *x = &n[*(const uint32_t *)a], *y = &n[*(const uint32_t *)b];

	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return memcmp(x->key, y->key, x->klen);
}

/* Whether two members of object o have the same name. */
static bool duplicates(struct ks_jr *r, const struct ks_jn *o)
{
	const struct ks_jn *a, *b;
	uint32_t i, k = 0;

	if (o->len <= KS_JR_LINEAR) {
		for (a = ks_jr_first(r, o); a; a = ks_jr_next(r, a))
			for (b = ks_jr_next(r, a); b; b = ks_jr_next(r, b))
				if (a->klen == b->klen && !memcmp(a->key, b->key, a->klen))
					return true;
		return false;
	}
	if (r->cap_set < o->len) {
		uint32_t *s = realloc(r->set, o->len * sizeof(*s));

		if (!s)
			return true;	/* the line fails; jansson gives the message */
		r->set = s;
		r->cap_set = o->len;
	}
	for (i = o->first; i; i = r->n[i].next)
		r->set[k++] = i;
	qsort_r(r->set, k, sizeof(*r->set), key_cmp, r->n);
	for (i = 1; i < k; i++)
		if (!key_cmp(&r->set[i - 1], &r->set[i], r->n))
			return true;
	return false;
}

/*
 * jansson skips one NUL byte right after a number or a word (true,
 * false, null): its unget of that byte leaves its look-ahead buffer
 * looking empty, so the next read takes the byte after. Lines that
 * decoded before must decode the same, so this reader does it too.
 */
static void jansson_nul(struct pstate *ps)
{
	if (ps->p < ps->end && *ps->p == '\0')
		ps->p++;
}

static int value(struct pstate *ps, uint32_t *idx);

/* Members of the container at node c, ps->p just past its '{' or '['. */
static int members(struct pstate *ps, uint32_t c, char close)
{
	uint32_t prev = 0, m, klen = 0;
	const char *key = NULL;
	bool esc, dot;

	ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (ps->p == ps->end || *ps->p != '"' ||
			    string(ps, &key, &klen, &esc, &dot) || (esc && memchr(key, '\0', klen)))
				return -1;
			ps->r->dotted |= dot;
			ws(ps);
			if (ps->p == ps->end || *ps->p++ != ':')
				return -1;
			ws(ps);
		}
		if (value(ps, &m))
			return -1;
		ps->r->n[m].key = key;
		ps->r->n[m].klen = klen;
		if (prev)
			ps->r->n[prev].next = m;
		else
			ps->r->n[c].first = m;
		prev = m;
		ps->r->n[c].len++;
		ws(ps);
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return close == '}' && duplicates(ps->r, &ps->r->n[c]) ? -1 : 0;
		}
		if (ps->p == ps->end || *ps->p++ != ',')
			return -1;
		ws(ps);
	}
}

static int value(struct pstate *ps, uint32_t *idx)
{
	bool esc, dot;
	char c;
	int err;

	if (ps->p == ps->end || ++ps->depth > KS_JR_MAX_DEPTH || node_new(ps, KS_JT_INT, idx))
		return -1;
	c = *ps->p;
	if (c == '{' || c == '[') {
		ps->r->n[*idx].type = c == '{' ? KS_JT_OBJ : KS_JT_ARR;
		ps->p++;
		err = members(ps, *idx, c == '{' ? '}' : ']');
	} else if (c == '"') {
		ps->r->n[*idx].type = KS_JT_STR;
		err = string(ps, &ps->r->n[*idx].s, &ps->r->n[*idx].len, &esc, &dot);
		ps->r->n[*idx].esc = esc;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		err = number(ps, &ps->r->n[*idx]);
		jansson_nul(ps);
	} else {
		err = literal(ps, &ps->r->n[*idx]);
		jansson_nul(ps);
	}
	ps->depth--;
	return err;
}

int ks_jr_parse(struct ks_jr *r, const char *line, size_t len)
{
	struct pstate ps = { r, line, line, line + len, NULL, NULL, 0 };
	uint32_t root;

	r->n_nodes = 0;
	r->dotted = false;
	if (r->cap_str < 2 * len + 2) {
		char *s = realloc(r->str, 2 * len + 2);

		if (!s)
			return -1;
		r->str = s;
		r->cap_str = 2 * len + 2;
	}
	memcpy(r->str, line, len);
	ps.copy = r->str;
	ps.scratch = r->str + len + 1;
	ws(&ps);
	if (ps.p == ps.end || (*ps.p != '{' && *ps.p != '['))
		return -1;
	if (value(&ps, &root))
		goto bad;
	ws(&ps);
	if (ps.p != ps.end)
		goto bad;
	return 0;
bad:
	r->n_nodes = 0;
	return -1;
}

void ks_jr_free(struct ks_jr *r)
{
	free(r->n);
	free(r->str);
	free(r->set);
	memset(r, 0, sizeof(*r));
}

const struct ks_jn *ks_jr_getn(const struct ks_jr *r, const struct ks_jn *obj,
			       const char *key, size_t klen)
{
	const struct ks_jn *m;

	if (!obj || obj->type != KS_JT_OBJ)
		return NULL;
	for (m = ks_jr_first(r, obj); m; m = ks_jr_next(r, m))
		if (m->klen == klen && (!klen || m->key[0] == key[0]) && !memcmp(m->key, key, klen))
			return m;
	return NULL;
}
