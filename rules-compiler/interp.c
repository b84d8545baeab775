// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reference interpreter: evaluates the AST directly over struct ks_event.
 * It is the oracle the table tests compare the kernel evaluator against,
 * so it is written for obviousness, not speed.
 *
 * Values: string fields are byte ranges of the event (ev->str[field]);
 * process.args is NUL-separated elements and a string test is true if any
 * element matches; process.command_line is the same region with NUL read
 * as a space (trailing NULs dropped). A field whose KS_P_* bit is clear is
 * null, and every test on a null field is false except KS_N_NULL.
 * '?' matches one byte; case folding is ASCII only.
 */
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

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

/* ---- regex (Sigma |re), compiled once per node ---- */

struct regex_cache {
	size_t n;
	bool bad;		/* did not compile: never matches */
	regex_t re[];
};

void ks_regex_cache_free(void *cache)
{
	struct regex_cache *c = cache;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		regfree(&c->re[i]);
	free(c);
}

static struct regex_cache *regex_build(const struct ks_node *n, char *err,
				       size_t errlen)
{
	struct regex_cache *c;
	size_t i;
	int rc;

	c = ks_xmalloc(sizeof(*c) + n->n_pats * sizeof(regex_t));
	for (i = 0; i < n->n_pats; i++) {
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

static bool regex_match(const struct ks_node *n, const char *v, size_t len)
{
	const struct regex_cache *c = regex_get(n);
	regmatch_t m[1];
	size_t i;

	if (c->bad)
		return false;
	for (i = 0; i < c->n; i++) {
		m[0].rm_so = 0;
		m[0].rm_eo = len;
		if (!regexec(&c->re[i], v, 1, m, REG_STARTEND))
			return true;
	}
	return false;
}

/* ---- field values ---- */

static char hostname[256];
static pthread_once_t hostname_once = PTHREAD_ONCE_INIT;

static void hostname_init(void)
{
	if (gethostname(hostname, sizeof(hostname) - 1))
		hostname[0] = 0;
}

static bool present(const struct ks_field_info *f, const struct ks_event *ev)
{
	return !f->present || (ev->present & f->present);
}

/* Buffer big enough for any formatted or rewritten value. */
#define VALBUF	(KS_PAYLOAD_MAX + 64)

/*
 * The string value of a field, or false for null. command_line is
 * rewritten into buf (NUL -> ' '); entity ids are formatted into it.
 */
static bool str_value(const struct ks_field_info *f, const struct ks_event *ev,
		      const struct ks_interp_ctx *ctx, char *buf,
		      const char **s, size_t *len)
{
	const struct ks_strref *r;
	size_t i;

	if (!present(f, ev))
		return false;
	if (f->type == KS_T_USER_STR) {
		if (ctx && ctx->user_str)
			return ctx->user_str(ctx->arg, f, ev, s, len);
		if (strcmp(f->name, "host.name"))
			return false;
		pthread_once(&hostname_once, hostname_init);
		*s = hostname;
		*len = strlen(hostname);
		return true;
	}
	if (f->type == KS_T_ENTITY) {
		bool parent = f->id == KS_F_PARENT_ENTITY_ID;

		*len = snprintf(buf, VALBUF, "%u-%llu",
				parent ? ev->ppid : ev->pid,
				(unsigned long long)(parent ? ev->parent_start_ns
							    : ev->start_ns));
		*s = buf;
		return true;
	}
	if (!KS_F_IS_STR(f->id))
		return false;
	r = &ev->str[f->id];
	if ((size_t)r->off + r->len > sizeof(*ev))
		return false;	/* corrupt reference: treat as missing */
	*s = (const char *)ev + r->off;
	*len = r->len;
	if (f->id != KS_F_PROCESS_COMMAND_LINE)
		return true;
	while (*len && !(*s)[*len - 1])
		(*len)--;
	for (i = 0; i < *len; i++)
		buf[i] = (*s)[i] ? (*s)[i] : ' ';
	*s = buf;
	return true;
}

static bool str_test(const struct ks_node *n, const char *v, size_t len)
{
	size_t i;

	if (n->strop == KS_SO_REGEX)
		return regex_match(n, v, len);
	for (i = 0; i < n->n_pats; i++)
		if (ks_str_match(n->strop, &n->pats[i], v, len))
			return true;
	return false;
}

static bool eval_str(const struct ks_node *n, const struct ks_event *ev,
		     const struct ks_interp_ctx *ctx)
{
	char buf[VALBUF];
	const char *s, *e, *end;
	size_t len;

	if (!str_value(n->field, ev, ctx, buf, &s, &len))
		return false;
	if (n->field->type != KS_T_STR_ARRAY)
		return str_test(n, s, len);
	/* any element; a trailing NUL ends the last one */
	for (end = s + len; s < end; s = e + 1) {
		e = memchr(s, 0, end - s);
		if (!e)
			e = end;
		if (str_test(n, s, e - s))
			return true;
	}
	return false;
}

static bool num_value(const struct ks_field_info *f, const struct ks_event *ev,
		      int64_t *v)
{
	if (!present(f, ev))
		return false;
	switch (f->id) {
	case KS_F_PROCESS_PID: *v = ev->pid; break;
	case KS_F_PARENT_PID: *v = ev->ppid; break;
	case KS_F_USER_ID: *v = ev->uid; break;
	case KS_F_GROUP_ID: *v = ev->gid; break;
	case KS_F_EXIT_CODE: *v = ev->exit_code; break;
	case KS_F_ARGS_COUNT: *v = ev->args_count; break;
	case KS_F_SOURCE_PORT: *v = ev->sport; break;
	case KS_F_DEST_PORT: *v = ev->dport; break;
	case KS_F_TRANSPORT: *v = ev->transport; break;
	case KS_F_CATEGORY: *v = ev->category; break;
	case KS_F_ACTION: *v = ev->action; break;
	case KS_F_DIRECTION: *v = ev->direction; break;
	default: return false;
	}
	return true;
}

static bool cmp(int64_t a, enum ks_cmp c, int64_t b)
{
	switch (c) {
	case KS_CMP_EQ: return a == b;
	case KS_CMP_NE: return a != b;
	case KS_CMP_LT: return a < b;
	case KS_CMP_LE: return a <= b;
	case KS_CMP_GT: return a > b;
	case KS_CMP_GE: return a >= b;
	}
	return false;
}

static bool eval_num(const struct ks_node *n, const struct ks_event *ev)
{
	int64_t v;
	size_t i;

	if (!n->n_nums || !num_value(n->field, ev, &v))
		return false;
	if (n->cmp == KS_CMP_EQ || n->cmp == KS_CMP_NE) {
		/* EQ over a list is IN; NE over a list is NOT IN */
		for (i = 0; i < n->n_nums; i++)
			if (v == n->nums[i])
				return n->cmp == KS_CMP_EQ;
		return n->cmp == KS_CMP_NE;
	}
	return cmp(v, n->cmp, n->nums[0]);
}

static const uint8_t *ip_value(const struct ks_field_info *f,
			       const struct ks_event *ev)
{
	if (!present(f, ev))
		return NULL;
	if (f->id == KS_F_SOURCE_IP)
		return ev->saddr;
	if (f->id == KS_F_DEST_IP)
		return ev->daddr;
	return NULL;
}

static bool net_has(const struct ks_ipnet *net, const uint8_t *a)
{
	unsigned int full = net->prefix / 8, rest = net->prefix % 8;

	if (memcmp(net->addr, a, full))
		return false;
	if (!rest)
		return true;
	return !((net->addr[full] ^ a[full]) & (0xff << (8 - rest)));
}

static bool eval_ip(const struct ks_node *n, const struct ks_event *ev)
{
	const uint8_t *a = ip_value(n->field, ev);
	size_t i;

	if (!a)
		return false;
	for (i = 0; i < n->n_nets; i++)
		if (net_has(&n->nets[i], a))
			return true;
	return false;
}

static bool is_null(const struct ks_field_info *f, const struct ks_event *ev,
		    const struct ks_interp_ctx *ctx)
{
	char buf[VALBUF];
	const char *s;
	size_t len;
	int64_t v;

	switch (f->type) {
	case KS_T_NUM:
	case KS_T_ENUM:
		return !num_value(f, ev, &v);
	case KS_T_IP:
		return !ip_value(f, ev);
	default:
		return !str_value(f, ev, ctx, buf, &s, &len);
	}
}

bool ks_interp_node_ctx(const struct ks_node *n, const struct ks_event *ev,
			const struct ks_interp_ctx *ctx)
{
	size_t i;

	if (!n)
		return true;
	switch (n->kind) {
	case KS_N_AND:
		for (i = 0; i < n->n_kids; i++)
			if (!ks_interp_node_ctx(n->kids[i], ev, ctx))
				return false;
		return true;
	case KS_N_OR:
		for (i = 0; i < n->n_kids; i++)
			if (ks_interp_node_ctx(n->kids[i], ev, ctx))
				return true;
		return false;
	case KS_N_NOT:
		return !ks_interp_node_ctx(n->kids[0], ev, ctx);
	case KS_N_BOOL:
		return n->num != 0;
	case KS_N_STR:
		return eval_str(n, ev, ctx);
	case KS_N_NUM:
		return eval_num(n, ev);
	case KS_N_IP:
		return eval_ip(n, ev);
	case KS_N_NULL:
		return is_null(n->field, ev, ctx);
	}
	return false;
}

bool ks_interp_node(const struct ks_node *n, const struct ks_event *ev)
{
	return ks_interp_node_ctx(n, ev, NULL);
}

bool ks_interp_step_ctx(const struct ks_step_ast *s, const struct ks_event *ev,
			const struct ks_interp_ctx *ctx)
{
	if (s->category != KS_CAT_ANY && s->category != ev->category)
		return false;
	return ks_interp_node_ctx(s->cond, ev, ctx);
}

bool ks_interp_step(const struct ks_step_ast *s, const struct ks_event *ev)
{
	return ks_interp_step_ctx(s, ev, NULL);
}
