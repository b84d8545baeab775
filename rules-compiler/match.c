// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * String tests with the AST's semantics: equality, prefix, suffix,
 * substring and wildcard (ASCII case folding, '?' one byte), Sigma's |re
 * as POSIX EREs and EQL's `regex` with PCRE2, compiled once per node. The
 * interpreter evaluates
 * with these; the EQL parser matches enum names and the Sigma importer
 * selection names with them.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <limits.h>
#include <pcre2.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

/* ---- string matching ---- */

static inline unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static inline bool ch_eq(unsigned char a, unsigned char b, bool ci)
{
	return ci ? fold(a) == fold(b) : a == b;
}

static bool mem_eq(const char *a, const char *b, size_t n, bool ci)
{
	size_t i;

	if (!ci)
		return !memcmp(a, b, n);
	for (i = 0; i < n; i++)
		if (fold(a[i]) != fold(b[i]))
			return false;
	return true;
}

static bool mem_contains(const char *h, size_t hl, const char *n, size_t nl,
			 bool ci)
{
	size_t i;

	if (!ci)
		return nl <= hl && memmem(h, hl, n, nl);
	for (i = 0; i + nl <= hl; i++)
		if (mem_eq(h + i, n, nl, ci))
			return true;
	return false;
}

/*
 * Glob match, iterative: on a mismatch go back to just after the last '*'
 * and let it swallow one more byte. O(len(p) * len(v)) worst case, no
 * recursion, no allocation.
 */
bool ks_wild_match(const char *p, size_t plen, const char *v, size_t vlen,
		   bool ci)
{
	size_t pi = 0, vi = 0, star_p = (size_t)-1, star_v = 0, adv;
	unsigned char c;

	while (vi < vlen) {
		if (pi < plen) {
			c = p[pi];
			if (c == '*') {
				star_p = ++pi;
				star_v = vi;
				continue;
			}
			if (c == '?') {
				pi++;
				vi++;
				continue;
			}
			adv = 1;
			if (c == '\\' && pi + 1 < plen) {
				c = p[pi + 1];
				adv = 2;
			}
			if (ch_eq(c, v[vi], ci)) {
				pi += adv;
				vi++;
				continue;
			}
		}
		if (star_p == (size_t)-1)
			return false;
		pi = star_p;
		vi = ++star_v;
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

bool ks_str_match(enum ks_strop op, const struct ks_strpat *pt,
		  const char *v, size_t vlen)
{
	switch (op) {
	case KS_SO_EQ:
		return vlen == pt->len && mem_eq(v, pt->s, vlen, pt->ci);
	case KS_SO_PREFIX:
		return vlen >= pt->len && mem_eq(v, pt->s, pt->len, pt->ci);
	case KS_SO_SUFFIX:
		return vlen >= pt->len &&
		       mem_eq(v + vlen - pt->len, pt->s, pt->len, pt->ci);
	case KS_SO_CONTAINS:
		return mem_contains(v, vlen, pt->s, pt->len, pt->ci);
	case KS_SO_WILDCARD:
		return ks_wild_match(pt->s, pt->len, v, vlen, pt->ci);
	default:
		return false;	/* regex: needs the compiled cache */
	}
}

/* ---- regexes (Sigma |re, EQL regex), compiled once per node ---- */

struct regex_cache {
	size_t n;
	bool bad;		/* did not compile: never matches */
	bool pcre;		/* KS_SO_EQLRE: pc[], else re[] */
	pcre2_code **pc;
	regex_t re[];
};

void ks_regex_cache_free(void *cache)
{
	struct regex_cache *c = cache;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		if (c->pcre)
			pcre2_code_free(c->pc[i]);
		else
			regfree(&c->re[i]);
	}
	free(c->pc);
	free(c);
}

/*
 * glibc's regcomp copies a repeated expression once per repetition, and
 * repeats a repetition of a repetition on top: ((a{255}){255}){255} takes
 * 3.4 GB, twenty stacked '+' 700 MB, and ten stacked '*' corrupt its heap.
 * So an ERE is measured first: its positions (characters, classes) with
 * every {m,n} multiplying what it repeats must stay under
 * REGEX_MAX_POSITIONS, bounds under RE_DUP_MAX, and a quantifier must not
 * follow another. The measure is structural, so it is the same before
 * and after translation from PCRE.
 *
 * Time is bounded too. regcomp's epsilon closures follow every way an
 * expression can match the empty string, and a loop (*, +, {m,}) over
 * m copies of X follows about e^(m+1) of them, e being X's count of
 * empty matches: (a|||||){20,} has 5^21 and never finishes, (a||){20,}
 * takes 0.5 s. So the empty ways of every group are counted (a branch
 * multiplies its atoms', a group adds its branches') and a loop is
 * refused above REGEX_MAX_EMPTY_WAYS, which regcomp walks in ~10 ms.
 */
#define REGEX_MAX_POSITIONS	32768u
#define REGEX_MAX_BOUND		255u
#define REGEX_MAX_GROUPS	32u
#define REGEX_MAX_EMPTY_WAYS	65536u
#define EMPTY_WAYS_CAP		(1ull << 40)	/* saturates: no overflow */

struct ere_group {
	uint64_t size;		/* positions so far */
	uint64_t last;		/* of the last atom, which a quantifier repeats */
	uint64_t alts;		/* empty ways of the finished branches */
	uint64_t pre;		/* ... of this branch before its last atom */
	uint64_t last_e;	/* ... of the last atom */
};

struct ere_bound {
	uint64_t factor;	/* positions multiply by it */
	unsigned long m;	/* least count */
	unsigned long n;	/* most count; for an open bound m + 1 */
	bool open;		/* a loop: *, + or {m,} */
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b > EMPTY_WAYS_CAP ? EMPTY_WAYS_CAP : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	if (a && b > EMPTY_WAYS_CAP / a)
		return EMPTY_WAYS_CAP;
	return a * b;
}

/* e^k, saturating */
static uint64_t sat_pow(uint64_t e, unsigned long k)
{
	uint64_t r = 1;

	while (k-- && r < EMPTY_WAYS_CAP)
		r = sat_mul(r, e);
	return r;
}

/* Digits at p[*i, len) as a number (saturating at ULONG_MAX); false if none. */
static bool bound_number(const char *p, size_t len, size_t *i,
			 unsigned long *v)
{
	size_t start = *i;

	for (*v = 0; *i < len && isdigit((unsigned char)p[*i]); (*i)++)
		*v = *v > (ULONG_MAX - 9) / 10 ? ULONG_MAX :
		     *v * 10 + (p[*i] - '0');
	return *i > start;
}

/*
 * The one reader of a repetition bound, for the checks here and for the
 * required-literal scan (lower_cond.c): digits only (no sign, no space,
 * unlike strtoul), so both read the same '{' as a bound or a literal.
 */
size_t ks_regex_bound(const char *p, size_t len, unsigned long *m,
		      unsigned long *n, bool *open)
{
	unsigned long hi;
	size_t i = 1;

	if (!len || p[0] != '{' || !bound_number(p, len, &i, m))
		return 0;
	*n = *m;
	*open = false;
	if (i < len && p[i] == ',') {
		i++;
		if (bound_number(p, len, &i, &hi))
			*n = hi;
		else
			*open = true;
	}
	return i < len && p[i] == '}' ? i + 1 : 0;
}

/* "{m}", "{m,}" or "{m,n}" at p into b; false if bad. */
static bool ere_bound(const char *p, size_t *used, struct ere_bound *b)
{
	*used = ks_regex_bound(p, strlen(p), &b->m, &b->n, &b->open);
	if (!*used || b->m > REGEX_MAX_BOUND || b->n < b->m ||
	    (!b->open && b->n > REGEX_MAX_BOUND))
		return false;
	if (b->open)
		b->n = b->m + 1;	/* open: counted as one more */
	b->factor = b->n ? b->n : 1;
	return true;
}

/* Bytes of the bracket expression at p: "[...]", "[]...]", "[^]...]",
 * with [:class:], [.coll.] and [=equiv=] inside. */
static size_t ere_bracket(const char *p, size_t len)
{
	size_t i = 1, j;
	char x;

	if (i < len && p[i] == '^')
		i++;
	if (i < len && p[i] == ']')
		i++;
	while (i < len && p[i] != ']') {
		x = i + 1 < len ? p[i + 1] : 0;
		if (p[i] != '[' || (x != ':' && x != '.' && x != '=')) {
			i++;
			continue;
		}
		for (j = i + 2; j + 1 < len && !(p[j] == x && p[j + 1] == ']'); j++)
			;
		i = j + 2;
	}
	return i < len ? i + 1 : len;
}

/* The empty ways of X{m,n}: X^m, X^(m+1) ... X^n, each e^k. */
static uint64_t empty_ways_repeated(uint64_t e, const struct ere_bound *b)
{
	uint64_t r = 0;
	unsigned long k;

	for (k = b->m; k <= b->n && r < EMPTY_WAYS_CAP; k++)
		r = sat_add(r, sat_pow(e, k));
	return r;
}

static const char *ere_quantifier(struct ere_group *g, const char *p,
				  size_t *used, bool after_quant)
{
	struct ere_bound b = { 2, 0, 1, *p != '?' };

	*used = 1;
	if (after_quant)
		return "stacked quantifiers (like a++ or a*{2})";
	if (*p == '+')
		b.m = 1, b.n = 2;
	if (*p == '{' && !ere_bound(p, used, &b))
		return "a repetition bound above 255 (or malformed)";
	if (b.open && sat_pow(g->last_e, b.m + 1) > REGEX_MAX_EMPTY_WAYS)
		return "a repeated group matches the empty string in too many "
		       "ways (like (a||){20,}: drop the empty alternatives)";
	g->size += g->last * (b.factor - 1);
	g->last *= b.factor;
	g->last_e = empty_ways_repeated(g->last_e, &b);
	return NULL;
}

/* An atom of `size` positions and `e` empty ways follows in g. */
static void ere_atom(struct ere_group *g, uint64_t size, uint64_t e)
{
	g->pre = sat_mul(g->pre, g->last_e);
	g->last_e = e;
	g->last = size;
	g->size += size;
}

static void ere_open(struct ere_group *g)
{
	g->size = g->last = g->alts = 0;
	g->pre = g->last_e = 1;		/* the empty branch: one way */
}

static const char *ere_check(const char *p)
{
	struct ere_group g[REGEX_MAX_GROUPS + 1];
	size_t len = strlen(p), i, k, d = 0;
	bool after_quant = false;
	const char *why;
	uint64_t e;

	ere_open(&g[0]);
	for (i = 0; i < len; i += k) {
		bool quant = strchr("*+?{", p[i]) != NULL;

		k = 1;
		if (quant) {
			why = ere_quantifier(&g[d], p + i, &k, after_quant);
			if (why)
				return why;
		} else if (p[i] == '(') {
			if (++d > REGEX_MAX_GROUPS)
				return "groups nested more than 32 deep";
			ere_open(&g[d]);
		} else if (p[i] == ')' && d) {
			e = sat_add(g[d].alts, sat_mul(g[d].pre, g[d].last_e));
			ere_atom(&g[d - 1], g[d].size ? g[d].size : 1, e);
			d--;
		} else if (p[i] == '|') {
			g[d].alts = sat_add(g[d].alts,
					    sat_mul(g[d].pre, g[d].last_e));
			g[d].pre = g[d].last_e = 1;
			g[d].last = 0;
		} else if (p[i] == '^' || p[i] == '$') {
			ere_atom(&g[d], 0, 1);
		} else {
			if (p[i] == '[')
				k = ere_bracket(p + i, len - i);
			else if (p[i] == '\\' && i + 1 < len)
				k = 2;
			ere_atom(&g[d], 1, 0);
		}
		after_quant = quant;
		if (g[d].size > REGEX_MAX_POSITIONS)
			return "it expands to more than 32768 positions (nested "
			       "repetitions)";
	}
	return NULL;
}

/*
 * Elastic's EQL regex is Lucene's: it matches the whole value, '.' is any
 * character and a backslash makes any other character literal. PCRE2
 * compiled ANCHORED | ENDANCHORED | DOTALL runs it; what the two read
 * differently is refused here, so a rule never means something else than
 * in Elastic: PCRE's anchors, group syntax, escapes such as \b or \x
 * (literal letters in Lucene), possessive quantifiers, POSIX classes, and
 * Lucene's own operators (" @ & ~ < > #) that PCRE reads as literals.
 */
static const char *eqlre_check(const char *p, size_t len, size_t *at,
			       char *why, size_t wlen)
{
	size_t i, first = 0;	/* in [...]: its first member's index */
	bool br = false;

	for (i = 0; i < len; i++) {
		char c = p[i], x = i + 1 < len ? p[i + 1] : 0;

		*at = i;
		if (c == '\\') {
			if (isalnum((unsigned char)x) && !strchr("dDwWsS", x)) {
				snprintf(why, wlen, "\\%c is not in Elastic's "
					 "regex (there, a literal '%c')", x, x);
				return why;
			}
			i++;
		} else if (br) {
			if (c == '[' && (x == ':' || x == '=' || x == '.'))
				return "POSIX classes like [:alpha:] are not in "
				       "Elastic's regex";
			br = c != ']' || i == first;	/* "[]a]": a member */
		} else if (c == '[') {
			br = true;
			first = i + 1 + (x == '^');
		} else if (c == '^' || c == '$') {
			return "anchors ^ and $ are literals in Elastic's regex, "
			       "which always matches the whole value (escape "
			       "them)";
		} else if (c == '(' && x == '?') {
			return "(?...) groups are not in Elastic's regex";
		} else if (strchr("*+?}", c) && x == '+') {
			return "possessive quantifiers (a*+) are not in Elastic's "
			       "regex";
		} else if (strchr("\"@&~<>#", c)) {
			snprintf(why, wlen, "Lucene's operator '%c' is not "
				 "supported (escape it for the literal)", c);
			return why;
		}
	}
	return NULL;
}

/* Compile pt into c->pc[c->n++]; false with the reason in err. */
static bool pcre_build(struct regex_cache *c, const struct ks_strpat *pt,
		       char *err, size_t errlen)
{
	uint32_t opt = PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL |
		       (pt->ci ? PCRE2_CASELESS : 0);
	PCRE2_UCHAR msg[96];
	char buf[96];
	const char *why;
	PCRE2_SIZE off;
	size_t at;
	int rc;

	why = eqlre_check(pt->s, pt->len, &at, buf, sizeof(buf));
	if (why) {
		if (err)
			snprintf(err, errlen, "%s (at offset %zu)", why, at);
		return false;
	}
	c->pc[c->n] = pcre2_compile((PCRE2_SPTR)pt->s, pt->len, opt, &rc, &off,
				    NULL);
	if (!c->pc[c->n]) {
		pcre2_get_error_message(rc, msg, sizeof(msg));
		if (err)
			snprintf(err, errlen, "%s (at offset %zu)", (char *)msg,
				 (size_t)off);
		return false;
	}
	/* no JIT (no executable memory, say) leaves PCRE2's interpreter */
	pcre2_jit_compile(c->pc[c->n], PCRE2_JIT_COMPLETE);
	c->n++;
	return true;
}

static struct regex_cache *regex_build(const struct ks_node *n, char *err,
				       size_t errlen)
{
	struct regex_cache *c;
	const char *why;
	size_t i;
	int rc;

	c = ks_xmalloc(sizeof(*c) + n->n_pats * sizeof(regex_t));
	if (n->strop == KS_SO_EQLRE) {
		c->pcre = true;
		c->pc = ks_xmalloc((n->n_pats + 1) * sizeof(*c->pc));
		for (i = 0; i < n->n_pats && !c->bad; i++)
			c->bad = !pcre_build(c, &n->pats[i], err, errlen);
		return c;
	}
	for (i = 0; i < n->n_pats; i++) {
		why = strlen(n->pats[i].s) != n->pats[i].len ?
			"it holds a NUL byte" : ere_check(n->pats[i].s);
		if (why) {
			if (err)
				snprintf(err, errlen, "%s", why);
			c->bad = true;
			break;
		}
		rc = regcomp(&c->re[i], n->pats[i].s, REG_EXTENDED | REG_NOSUB |
			     (n->pats[i].ci ? REG_ICASE : 0));
		if (rc) {
			if (err)
				regerror(rc, &c->re[i], err, errlen);
			c->bad = true;
			break;
		}
		c->n++;
	}
	return c;
}

int ks_regex_compile(struct ks_ruleset *rs, struct ks_node *n, char *err,
		     size_t errlen)
{
	struct regex_cache *c = regex_build(n, err, errlen);

	ks_regex_cache_free(n->cache);
	n->cache = c;
	return c->bad ? -1 : 0;
}

static const struct regex_cache *regex_get(const struct ks_node *n)
{
	struct regex_cache *c = __atomic_load_n((struct regex_cache **)&n->cache,
						__ATOMIC_ACQUIRE), *exp = NULL;

	if (c)
		return c;
	/* a node built outside the importer: compile it now, first one wins */
	c = regex_build(n, NULL, 0);
	if (!__atomic_compare_exchange_n((void **)&n->cache, (void **)&exp, c,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		ks_regex_cache_free(c);
		c = exp;
	}
	return c;
}

/*
 * One match data per thread (the interpreter runs on several), freed when
 * the thread ends; one ovector pair is enough to learn whether the whole
 * value matched.
 *
 * A backtracking regex such as (.*a){20} over 4 KiB of attacker-chosen
 * command line costs PCRE2 its whole default match limit (10 M steps,
 * 3-10 ms per value with JIT here) and then gives up. Kestrel's limit is
 * 100,000 steps (0.09-0.12 ms): an event flood cannot stall kload for
 * long. A value PCRE2 gives up on is KS_TRI_UNSURE, never "no match": the
 * interpreter then lets the rule fire (interp.c), so such a value cannot
 * slip past a rule, and kestrel_regex_undecided_total counts it.
 * pcre2_dfa_match, which does not backtrack, is no way out: in 10.42 it
 * reports (.*a){2} as matching "aaaaaaaaaax" under PCRE2_ENDANCHORED.
 */
#define PCRE_MATCH_LIMIT	100000
#define PCRE_HEAP_LIMIT_KIB	4096

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pcre2_match_context *match_ctx;
static uint64_t n_unsure;

static void md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void md_key_init(void)
{
	if (pthread_key_create(&md_key, md_free))
		abort();
	match_ctx = pcre2_match_context_create(NULL);
	if (!match_ctx)
		ks_oom();
	pcre2_set_match_limit(match_ctx, PCRE_MATCH_LIMIT);
	pcre2_set_depth_limit(match_ctx, PCRE_MATCH_LIMIT);
	pcre2_set_heap_limit(match_ctx, PCRE_HEAP_LIMIT_KIB);
}

static pcre2_match_data *md_get(void)
{
	pcre2_match_data *md;

	pthread_once(&md_once, md_key_init);
	md = pthread_getspecific(md_key);
	if (md)
		return md;
	md = pcre2_match_data_create(1, NULL);
	if (!md || pthread_setspecific(md_key, md))
		ks_oom();
	return md;
}

static enum ks_tri pcre_match(const struct regex_cache *c, const char *v,
			      size_t len)
{
	pcre2_match_data *md = md_get();
	enum ks_tri m = KS_TRI_NO;
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		rc = pcre2_match(c->pc[i], (PCRE2_SPTR)v, len, 0, 0, md,
				 match_ctx);
		if (rc >= 0)
			return KS_TRI_YES;
		if (rc != PCRE2_ERROR_NOMATCH)
			m = KS_TRI_UNSURE;	/* a later pattern may match */
	}
	if (m == KS_TRI_UNSURE)
		__atomic_add_fetch(&n_unsure, 1, __ATOMIC_RELAXED);
	return m;
}

uint64_t ks_regex_undecided(void)
{
	return __atomic_load_n(&n_unsure, __ATOMIC_RELAXED);
}

/*
 * glibc's regexec reads only [rm_so, rm_eo) under REG_STARTEND, but
 * sanitizers' regexec interceptors (and other C libraries) strlen the
 * string first: the value goes in NUL-terminated, as a copy, so no reader
 * runs past it (fuzz_sigma under ASan read 2,097 bytes past a cut value).
 */
static enum ks_tri ere_match(const struct regex_cache *c, const char *v,
			     size_t len)
{
	char small[512], *s = len < sizeof(small) ? small : ks_xmalloc(len + 1);
	enum ks_tri r = KS_TRI_NO;
	regmatch_t m[1];
	size_t i;

	memcpy(s, v, len);
	s[len] = 0;
	for (i = 0; i < c->n && r == KS_TRI_NO; i++) {
		m[0].rm_so = 0;
		m[0].rm_eo = len;
		if (!regexec(&c->re[i], s, 1, m, REG_STARTEND))
			r = KS_TRI_YES;
	}
	if (s != small)
		free(s);
	return r;
}

enum ks_tri ks_regex_match(const struct ks_node *n, const char *v,
			   size_t len)
{
	const struct regex_cache *c = regex_get(n);

	if (c->bad)
		return KS_TRI_NO;
	return c->pcre ? pcre_match(c, v, len) : ere_match(c, v, len);
}
