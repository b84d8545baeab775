// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * EQL parser: recursive descent over the token vector of lexer.c, typed
 * against the field catalogue, producing the AST of include/kestrel/rules.h.
 *
 * Errors: a syntax error ends the query (nothing sensible follows); a
 * semantic error (unknown field, type mismatch, bad value) is reported and
 * parsing goes on with a placeholder, so one run shows them all.
 *
 * Null semantics (Elastic EQL, two-valued here): every comparison with a
 * null field is false, the negated ones included (`!=`, `not in`), which
 * is why `f != "x"` is lowered as `f != null and not f == "x"`. Only an
 * explicit `not` inverts a false comparison into true. `f == null` is the
 * only way to ask for a missing value.
 *
 * String operators (Elastic EQL): `==`, `!=`, `in` are exact and case-
 * sensitive; `in~` is exact and case-insensitive; `:` is a case-insensitive
 * wildcard match, `like` a case-sensitive one and `like~` insensitive. In
 * wildcard patterns `*` is any run and `?` one byte; write `\*` and `\?`
 * for a literal star and question mark.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "lexer.h"

/* ---- AST construction ---- */

struct ks_node *ks_node_new(struct ks_ruleset *rs, enum ks_node_kind kind,
			    struct ks_loc loc)
{
	struct ks_node *n = ks_alloc(rs, sizeof(*n));

	n->kind = kind;
	n->loc = loc;
	return n;
}

void ks_nodevec_push(struct ks_nodevec *vec, struct ks_node *n)
{
	ks_grow(&vec->v, &vec->cap, vec->n, sizeof(*vec->v));
	vec->v[vec->n++] = n;
}

struct ks_node *ks_node_bool(struct ks_ruleset *rs, struct ks_loc loc, bool v)
{
	struct ks_node *n = ks_node_new(rs, KS_N_BOOL, loc);

	n->num = v;
	return n;
}

/* AND/OR of the vector; nested nodes of the same kind are flattened so
 * "a and b and c" is one node of three kids. */
struct ks_node *ks_node_join(struct ks_ruleset *rs, enum ks_node_kind kind,
			     struct ks_loc loc, struct ks_nodevec *vec)
{
	struct ks_node *n, *k;
	size_t i, j, cnt = 0;

	if (!vec->n) {
		free(vec->v);
		return ks_node_bool(rs, loc, kind == KS_N_AND);
	}
	if (vec->n == 1) {
		n = vec->v[0];
		free(vec->v);
		vec->v = NULL;
		return n;
	}
	for (i = 0; i < vec->n; i++)
		cnt += vec->v[i]->kind == kind ? vec->v[i]->n_kids : 1;
	n = ks_node_new(rs, kind, vec->v[0]->loc);
	n->kids = ks_alloc(rs, cnt * sizeof(*n->kids));
	for (i = 0; i < vec->n; i++) {
		k = vec->v[i];
		if (k->kind != kind) {
			n->kids[n->n_kids++] = k;
			continue;
		}
		for (j = 0; j < k->n_kids; j++)
			n->kids[n->n_kids++] = k->kids[j];
	}
	free(vec->v);
	vec->v = NULL;
	return n;
}

struct ks_node *ks_node_not(struct ks_ruleset *rs, struct ks_node *kid)
{
	struct ks_node *n = ks_node_new(rs, KS_N_NOT, kid->loc);

	n->kids = ks_alloc(rs, sizeof(*n->kids));
	n->kids[0] = kid;
	n->n_kids = 1;
	return n;
}

struct ks_node *ks_node_null(struct ks_ruleset *rs, struct ks_loc loc,
			     const struct ks_field_info *f)
{
	struct ks_node *n = ks_node_new(rs, KS_N_NULL, loc);

	n->field = f;
	return n;
}

struct ks_node *ks_node_num(struct ks_ruleset *rs, struct ks_loc loc,
			    const struct ks_field_info *f, enum ks_cmp cmp,
			    const int64_t *nums, size_t cnt)
{
	struct ks_node *n = ks_node_new(rs, KS_N_NUM, loc);
	size_t i, j;

	n->field = f;
	n->cmp = cmp;
	n->nums = ks_alloc(rs, (cnt ? cnt : 1) * sizeof(*n->nums));
	for (i = 0; i < cnt; i++) {
		for (j = 0; j < n->n_nums && n->nums[j] != nums[i]; j++)
			;
		if (j == n->n_nums)
			n->nums[n->n_nums++] = nums[i];
	}
	return n;
}

struct ks_node *ks_node_ip(struct ks_ruleset *rs, struct ks_loc loc,
			   const struct ks_field_info *f,
			   const struct ks_ipnet *nets, size_t cnt)
{
	struct ks_node *n = ks_node_new(rs, KS_N_IP, loc);

	n->field = f;
	n->nets = ks_alloc(rs, (cnt ? cnt : 1) * sizeof(*n->nets));
	memcpy(n->nets, nets, cnt * sizeof(*nets));
	n->n_nets = cnt;
	return n;
}

char *ks_wild_escape(const char *s, size_t len, size_t *olen)
{
	char *o = ks_xmalloc(2 * len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '*' || s[i] == '?' || s[i] == '\\')
			o[n++] = '\\';
		o[n++] = s[i];
	}
	*olen = n;
	return o;
}

/*
 * Reduce a wildcard pattern to the most specific operation: no wildcard is
 * EQ, "abc*" PREFIX, "*abc" SUFFIX, "*abc*" CONTAINS (and "*" PREFIX of ""),
 * anything else stays WILDCARD with runs of stars collapsed.
 */
enum ks_strop ks_wild_reduce(const char *p, size_t len, char **out,
			     size_t *olen)
{
	/* items: a literal byte, or '*' / '?' as wildcards (kind set) */
	char *byte = ks_xmalloc(len + 1), *kind = ks_xmalloc(len + 1), *o;
	size_t i, n = 0, k, stars = 0, qs = 0;
	enum ks_strop op;

	for (i = 0; i < len; i++) {
		if (p[i] == '\\' && i + 1 < len) {
			byte[n] = p[++i];
			kind[n++] = 0;
		} else if (p[i] == '*' || p[i] == '?') {
			if (p[i] == '*' && n && kind[n - 1] == '*')
				continue;	/* "**" is "*" */
			stars += p[i] == '*';
			qs += p[i] == '?';
			byte[n] = p[i];
			kind[n++] = p[i];
		} else {
			byte[n] = p[i];
			kind[n++] = 0;
		}
	}
	if (!qs && n == 1 && stars == 1)
		op = KS_SO_PREFIX;		/* "*": any value */
	else if (qs || stars > 2 ||
		 (stars == 2 && !(kind[0] == '*' && kind[n - 1] == '*')) ||
		 (stars == 1 && kind[0] != '*' && kind[n - 1] != '*'))
		op = KS_SO_WILDCARD;
	else if (!stars)
		op = KS_SO_EQ;
	else if (stars == 2)
		op = KS_SO_CONTAINS;
	else
		op = kind[0] == '*' ? KS_SO_SUFFIX : KS_SO_PREFIX;

	o = ks_xmalloc(2 * n + 1);
	k = 0;
	for (i = 0; i < n; i++) {
		if (op != KS_SO_WILDCARD) {
			if (!kind[i])
				o[k++] = byte[i];
			continue;
		}
		if (!kind[i] && (byte[i] == '*' || byte[i] == '?' ||
				 byte[i] == '\\'))
			o[k++] = '\\';
		o[k++] = byte[i];
	}
	free(byte);
	free(kind);
	*out = o;
	*olen = k;
	return op;
}

static struct ks_node *str_group(struct ks_ruleset *rs, struct ks_loc loc,
				 const struct ks_field_info *f, enum ks_strop op,
				 size_t cap)
{
	struct ks_node *n = ks_node_new(rs, KS_N_STR, loc);

	n->field = f;
	n->strop = op;
	n->pats = ks_alloc(rs, cap * sizeof(*n->pats));
	if (op == KS_SO_REGEX) {
		struct ks_priv *pv = ks_priv(rs);

		ks_grow(&pv->regex_nodes, &pv->cap_regex, pv->n_regex,
			sizeof(*pv->regex_nodes));
		pv->regex_nodes[pv->n_regex++] = n;
	}
	return n;
}

static void str_group_add(struct ks_ruleset *rs, struct ks_node *n,
			  const char *s, size_t len, bool ci)
{
	size_t i;

	for (i = 0; i < n->n_pats; i++)
		if (n->pats[i].len == len && n->pats[i].ci == ci &&
		    !memcmp(n->pats[i].s, s, len))
			return;
	n->pats[n->n_pats].s = ks_strndup(rs, s, len);
	n->pats[n->n_pats].len = len;
	n->pats[n->n_pats].ci = ci;
	n->n_pats++;
}

struct ks_node *ks_node_str(struct ks_ruleset *rs, struct ks_loc loc,
			    const struct ks_field_info *f, enum ks_strop op,
			    bool wild, bool ci, const struct ks_pat_in *pats,
			    size_t cnt)
{
	struct ks_node *groups[KS_SO_REGEX + 1] = { 0 };
	struct ks_nodevec vec = { 0 };
	enum ks_strop o;
	size_t i, len;
	char *s;

	for (i = 0; i < cnt; i++) {
		if (wild) {
			o = ks_wild_reduce(pats[i].s, pats[i].len, &s, &len);
		} else {
			o = op;
			s = (char *)pats[i].s;
			len = pats[i].len;
		}
		if (!groups[o])
			groups[o] = str_group(rs, loc, f, o, cnt);
		str_group_add(rs, groups[o], s, len, ci);
		if (wild)
			free(s);
	}
	/* fixed order, most specific first: deterministic output */
	for (i = 0; i < ARRAY_SIZE(groups); i++)
		if (groups[i])
			ks_nodevec_push(&vec, groups[i]);
	return ks_node_join(rs, KS_N_OR, loc, &vec);
}

int ks_parse_ipnet(const char *s, struct ks_ipnet *out, bool allow_prefix)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	struct in_addr a4;
	long pfx = -1;
	int i, max;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		if (!allow_prefix || !slash[1])
			return -1;
		*slash = 0;
		pfx = strtol(slash + 1, &end, 10);
		if (*end || slash[1] == '-' || slash[1] == '+')
			return -1;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, &a4, 4);
		max = 32;
		if (pfx > max)
			return -1;
		out->prefix = 96 + (pfx < 0 ? 32 : pfx);
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		max = 128;
		if (pfx > max)
			return -1;
		out->prefix = pfx < 0 ? 128 : pfx;
	} else {
		return -1;
	}
	/* clear host bits: "10.1.2.3/8" is the network 10.0.0.0/8 */
	for (i = 0; i < 16; i++) {
		int keep = out->prefix - i * 8;

		if (keep <= 0)
			out->addr[i] = 0;
		else if (keep < 8)
			out->addr[i] &= 0xff << (8 - keep);
	}
	return 0;
}

/* ---- parser state and errors ---- */

struct parser {
	struct ks_ruleset *rs;
	const struct ks_posmap *pm;
	struct ks_tokens tk;
	size_t i;
	size_t errors;
};

enum op_kind { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_COLON, OP_IN,
	       OP_LIKE };

struct cmp_op {
	enum op_kind kind;
	bool ci, negate;
	const char *text;	/* as written, for messages */
};

static struct ks_token *cur(struct parser *p)
{
	return &p->tk.v[p->i];
}

static struct ks_token *ahead(struct parser *p, size_t k)
{
	return &p->tk.v[p->i + k < p->tk.n ? p->i + k : p->tk.n - 1];
}

static struct ks_token *advance(struct parser *p)
{
	struct ks_token *t = cur(p);

	if (t->kind != KS_TOK_EOF && t->kind != KS_TOK_ERROR)
		p->i++;
	return t;
}

static struct ks_loc tok_loc(struct parser *p, const struct ks_token *t)
{
	size_t off = t->kind == KS_TOK_ERROR ? t->err_off : t->off;

	/* the end of the query is right after its last token */
	if (t->kind == KS_TOK_EOF && t > p->tk.v) {
		off = t[-1].end;
		return ks_posmap_loc(p->pm, off);
	}
	return ks_posmap_loc(p->pm, off);
}

static void verr(struct parser *p, struct ks_loc l, const char *fmt, va_list ap)
{
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0) {
		fputs("kestrel: out of memory\n", stderr);
		abort();
	}
	ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, l, "%s", msg);
	free(msg);
	p->errors++;
}

/* Semantic error: reported, parsing continues. */
__attribute__((format(printf, 3, 4)))
static void serr(struct parser *p, const struct ks_token *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(p, tok_loc(p, t), fmt, ap);
	va_end(ap);
}

/* Syntax error: reported, the query is abandoned (returns NULL). A lexical
 * error token speaks for itself. */
__attribute__((format(printf, 3, 4)))
static void *syn(struct parser *p, const struct ks_token *t, const char *fmt, ...)
{
	va_list ap;

	if (t->kind == KS_TOK_ERROR) {
		serr(p, t, "%s", t->s);
		return NULL;
	}
	va_start(ap, fmt);
	verr(p, tok_loc(p, t), fmt, ap);
	va_end(ap);
	return NULL;
}

/* Describe a token for "expected X, got Y" messages. */
static const char *desc(const struct ks_token *t, char *buf, size_t n)
{
	switch (t->kind) {
	case KS_TOK_IDENT:
		snprintf(buf, n, "\"%s\"", t->s);
		break;
	case KS_TOK_STRING:
		snprintf(buf, n, "string \"%.*s%s\"", t->len > 32 ? 32 : (int)t->len,
			 t->s, t->len > 32 ? "..." : "");
		break;
	case KS_TOK_NUMBER:
		snprintf(buf, n, "number %lld", (long long)t->num);
		break;
	default:
		snprintf(buf, n, "%s", ks_tok_kind_name(t->kind));
	}
	return buf;
}

#define DESC(t)	desc((t), (char[64]){ 0 }, 64)

static const char *const keywords[] = {
	"and", "or", "not", "in", "in~", "like", "like~", "where", "sequence",
	"by", "with", "until", "true", "false", "null",
};

static bool is_kw(const struct ks_token *t, const char *kw)
{
	return t->kind == KS_TOK_IDENT && !t->quoted && !strcmp(t->s, kw);
}

static bool is_keyword(const struct ks_token *t)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keywords); i++)
		if (is_kw(t, keywords[i]))
			return true;
	return false;
}

static bool is_field_tok(const struct ks_token *t)
{
	return t->kind == KS_TOK_IDENT && !is_keyword(t);
}

/* Look a field up; unknown fields are reported (with a suggestion). */
static const struct ks_field_info *field_of(struct parser *p,
					    const struct ks_token *t)
{
	const struct ks_field_info *f = ks_field_lookup(t->s);
	const char *sug;

	if (f)
		return f;
	sug = ks_field_suggest(t->s);
	if (sug)
		serr(p, t, "unknown field \"%s\" (did you mean \"%s\"?)", t->s, sug);
	else
		serr(p, t, "unknown field \"%s\"", t->s);
	return NULL;
}

static struct ks_node *placeholder(struct parser *p, const struct ks_token *t)
{
	return ks_node_bool(p->rs, tok_loc(p, t), false);
}

/* ---- comparisons ---- */

static bool nullable(const struct ks_field_info *f)
{
	return f->present != 0;
}

/* The negated comparisons are false on null too (see the top comment). */
static struct ks_node *negate(struct ks_ruleset *rs, const struct ks_field_info *f,
			      struct ks_node *n)
{
	struct ks_nodevec vec = { 0 };

	if (n->kind == KS_N_NUM && n->n_nums == 1 && n->cmp == KS_CMP_EQ) {
		n->cmp = KS_CMP_NE;
		return n;
	}
	if (!nullable(f))
		return ks_node_not(rs, n);
	ks_nodevec_push(&vec, ks_node_not(rs, ks_node_null(rs, n->loc, f)));
	ks_nodevec_push(&vec, ks_node_not(rs, n));
	return ks_node_join(rs, KS_N_AND, n->loc, &vec);
}

/* Token bytes in the wildcard encoding: unescaped '*' and '?' are
 * wildcards, '\*' '\?' (token.lit) and backslashes are escaped. */
static char *tok_wild(const struct ks_token *t, size_t *olen)
{
	char *o = ks_xmalloc(2 * t->len + 1);
	size_t i, n = 0;

	for (i = 0; i < t->len; i++) {
		char c = t->s[i];

		if (c == '\\' || ((c == '*' || c == '?') && t->lit[i]))
			o[n++] = '\\';
		o[n++] = c;
	}
	*olen = n;
	return o;
}

static const char *op_name(const struct cmp_op *op)
{
	return op->text;
}

static struct ks_node *cmp_str(struct parser *p, const struct ks_token *ft,
			       const struct ks_field_info *f,
			       const struct cmp_op *op,
			       struct ks_token **vals, size_t n)
{
	struct ks_pat_in *pats = ks_xmalloc(n * sizeof(*pats));
	bool wild = op->kind == OP_COLON || op->kind == OP_LIKE;
	bool ci = op->kind == OP_COLON || op->ci;
	struct ks_node *node = NULL;
	size_t i, len;

	if (op->kind >= OP_LT && op->kind <= OP_GE) {
		serr(p, ft, "operator %s is not supported on string field %s",
		     op_name(op), f->name);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (vals[i]->kind != KS_TOK_STRING) {
			serr(p, vals[i], "cannot compare string field %s with a "
			     "number", f->name);
			goto out;
		}
		if (wild) {
			pats[i].s = tok_wild(vals[i], &len);
			pats[i].len = len;
		} else {
			pats[i].s = vals[i]->s;
			pats[i].len = vals[i]->len;
		}
	}
	node = ks_node_str(p->rs, tok_loc(p, ft), f, KS_SO_EQ, wild, ci, pats, n);
	if (op->negate)
		node = negate(p->rs, f, node);
out:
	for (i = 0; wild && i < n; i++)
		free((char *)pats[i].s);
	free(pats);
	return node;
}

static enum ks_cmp op_cmp(enum op_kind k)
{
	switch (k) {
	case OP_LT: return KS_CMP_LT;
	case OP_LE: return KS_CMP_LE;
	case OP_GT: return KS_CMP_GT;
	case OP_GE: return KS_CMP_GE;
	default: return KS_CMP_EQ;
	}
}

static struct ks_node *cmp_num(struct parser *p, const struct ks_token *ft,
			       const struct ks_field_info *f,
			       const struct cmp_op *op,
			       struct ks_token **vals, size_t n)
{
	int64_t *nums;
	struct ks_node *node;
	size_t i;

	if (op->kind == OP_LIKE) {
		serr(p, ft, "operator %s is not supported on numeric field %s",
		     op_name(op), f->name);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (vals[i]->kind != KS_TOK_NUMBER) {
			serr(p, vals[i], "cannot compare numeric field %s with "
			     "a string", f->name);
			return NULL;
		}
	}
	nums = ks_xmalloc(n * sizeof(*nums));
	for (i = 0; i < n; i++)
		nums[i] = vals[i]->num;
	node = ks_node_num(p->rs, tok_loc(p, ft), f, op_cmp(op->kind), nums, n);
	free(nums);
	if (op->negate)
		node = negate(p->rs, f, node);
	return node;
}

/* Enum values a string matches, with the semantics of the operator. */
static size_t enum_matches(const struct ks_field_info *f,
			   const struct cmp_op *op, const struct ks_token *v,
			   int64_t *out)
{
	const struct ks_enum_val *ev;
	struct ks_strpat pat;
	enum ks_strop so = KS_SO_EQ;
	size_t i, k = 0, cnt, len;
	char *s = NULL, *w;

	ev = ks_field_enum(f, &cnt);
	pat.ci = op->kind == OP_COLON || op->ci;
	if (op->kind == OP_COLON || op->kind == OP_LIKE) {
		w = tok_wild(v, &len);
		so = ks_wild_reduce(w, len, &s, &pat.len);
		free(w);
		pat.s = s;
	} else {
		pat.s = v->s;
		pat.len = v->len;
	}
	for (i = 0; i < cnt; i++)
		if (ks_str_match(so, &pat, ev[i].name, strlen(ev[i].name)))
			out[k++] = ev[i].value;
	free(s);
	return k;
}

static struct ks_node *cmp_enum(struct parser *p, const struct ks_token *ft,
				const struct ks_field_info *f,
				const struct cmp_op *op,
				struct ks_token **vals, size_t n)
{
	struct ks_node *node = NULL;
	size_t i, k = 0, cnt, m;
	int64_t *nums;

	if ((op->kind >= OP_LT && op->kind <= OP_GE)) {
		serr(p, ft, "operator %s is not supported on %s", op_name(op),
		     f->name);
		return NULL;
	}
	ks_field_enum(f, &cnt);
	nums = ks_xmalloc((n * cnt + n) * sizeof(*nums));
	for (i = 0; i < n; i++) {
		if (vals[i]->kind == KS_TOK_NUMBER && f->id == KS_F_TRANSPORT) {
			nums[k++] = vals[i]->num;	/* IP protocol number */
			continue;
		}
		if (vals[i]->kind != KS_TOK_STRING) {
			serr(p, vals[i], "cannot compare %s with a number "
			     "(expected one of: %s)", f->name,
			     ks_field_enum_list(f));
			goto out;
		}
		m = enum_matches(f, op, vals[i], nums + k);
		if (!m) {
			serr(p, vals[i], "unknown value \"%s\" for %s (expected "
			     "one of: %s)", vals[i]->s, f->name,
			     ks_field_enum_list(f));
			goto out;
		}
		k += m;
	}
	node = ks_node_num(p->rs, tok_loc(p, ft), f, KS_CMP_EQ, nums, k);
	if (op->negate)
		node = negate(p->rs, f, node);
out:
	free(nums);
	return node;
}

static struct ks_node *cmp_ip(struct parser *p, const struct ks_token *ft,
			      const struct ks_field_info *f,
			      const struct cmp_op *op,
			      struct ks_token **vals, size_t n)
{
	struct ks_ipnet *nets;
	struct ks_node *node = NULL;
	size_t i;

	if (op->kind != OP_EQ && op->kind != OP_NE && op->kind != OP_IN &&
	    op->kind != OP_COLON) {
		serr(p, ft, "operator %s is not supported on IP field %s "
		     "(use ==, in or cidrMatch)", op_name(op), f->name);
		return NULL;
	}
	nets = ks_xmalloc(n * sizeof(*nets));
	for (i = 0; i < n; i++) {
		if (vals[i]->kind != KS_TOK_STRING) {
			serr(p, vals[i], "cannot compare IP field %s with a "
			     "number", f->name);
			goto out;
		}
		if (ks_parse_ipnet(vals[i]->s, &nets[i], false)) {
			serr(p, vals[i], "invalid IP address \"%s\"", vals[i]->s);
			goto out;
		}
	}
	node = ks_node_ip(p->rs, tok_loc(p, ft), f, nets, n);
	if (op->negate)
		node = negate(p->rs, f, node);
out:
	free(nets);
	return node;
}

/* Check the right-hand values, then dispatch on the field's type. */
static struct ks_node *build_cmp(struct parser *p, const struct ks_token *ft,
				 const struct ks_field_info *f,
				 const struct cmp_op *op,
				 struct ks_token **vals, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct ks_token *v = vals[i];

		if (is_kw(v, "null")) {
			if (n == 1 && (op->kind == OP_EQ || op->kind == OP_NE)) {
				struct ks_node *nn = ks_node_null(p->rs, tok_loc(p, ft), f);

				return op->negate ? ks_node_not(p->rs, nn) : nn;
			}
			serr(p, v, "null can only be compared with == or !=");
			return NULL;
		}
		if (is_kw(v, "true") || is_kw(v, "false")) {
			serr(p, v, "cannot compare %s with a boolean", f->name);
			return NULL;
		}
		if (v->kind == KS_TOK_IDENT) {
			serr(p, v, "comparing a field with another field is not "
			     "supported");
			return NULL;
		}
	}
	switch (f->type) {
	case KS_T_NUM:
		return cmp_num(p, ft, f, op, vals, n);
	case KS_T_ENUM:
		return cmp_enum(p, ft, f, op, vals, n);
	case KS_T_IP:
		return cmp_ip(p, ft, f, op, vals, n);
	default:
		return cmp_str(p, ft, f, op, vals, n);
	}
}

/* A literal (or, to report it properly, a field name) on the right. */
static struct ks_token *parse_value(struct parser *p)
{
	struct ks_token *t = cur(p);

	if (t->kind == KS_TOK_STRING || t->kind == KS_TOK_NUMBER ||
	    is_kw(t, "null") || is_kw(t, "true") || is_kw(t, "false") ||
	    is_field_tok(t))
		return advance(p);
	return syn(p, t, "expected a value, got %s", DESC(t));
}

/* "(" value {"," value} ")" into a malloc'd vector. */
static struct ks_token **parse_list(struct parser *p, size_t *n)
{
	struct ks_token **v = NULL, *t;
	size_t cap = 0;

	*n = 0;
	advance(p);	/* ( */
	for (;;) {
		t = parse_value(p);
		if (!t)
			goto fail;
		ks_grow(&v, &cap, *n, sizeof(*v));
		v[(*n)++] = t;
		t = cur(p);
		if (t->kind == KS_TOK_RPAREN) {
			advance(p);
			return v;
		}
		if (t->kind != KS_TOK_COMMA) {
			syn(p, t, "expected \",\" or \")\" in the list, got %s",
			    DESC(t));
			goto fail;
		}
		advance(p);
	}
fail:
	free(v);
	return NULL;
}

static bool parse_op(struct parser *p, const struct ks_token *ft,
		     struct cmp_op *op)
{
	static const struct { enum ks_tok_kind tk; enum op_kind k; bool neg;
			      const char *text; } sym[] = {
		{ KS_TOK_EQ, OP_EQ, false, "==" }, { KS_TOK_NE, OP_EQ, true, "!=" },
		{ KS_TOK_LT, OP_LT, false, "<" }, { KS_TOK_LE, OP_LE, false, "<=" },
		{ KS_TOK_GT, OP_GT, false, ">" }, { KS_TOK_GE, OP_GE, false, ">=" },
		{ KS_TOK_COLON, OP_COLON, false, ":" },
	};
	struct ks_token *t = cur(p);
	size_t i;

	memset(op, 0, sizeof(*op));
	for (i = 0; i < ARRAY_SIZE(sym); i++) {
		if (t->kind == sym[i].tk) {
			op->kind = sym[i].k;
			op->negate = sym[i].neg;
			op->text = sym[i].text;
			advance(p);
			return true;
		}
	}
	if (is_kw(t, "not") && (is_kw(ahead(p, 1), "in") || is_kw(ahead(p, 1), "in~"))) {
		op->negate = true;
		advance(p);
		t = cur(p);
	}
	op->text = t->kind == KS_TOK_IDENT ? t->s : "";
	if (is_kw(t, "in") || is_kw(t, "in~")) {
		op->kind = OP_IN;
		op->ci = t->s[2] == '~';
	} else if (is_kw(t, "like") || is_kw(t, "like~")) {
		op->kind = OP_LIKE;
		op->ci = t->s[4] == '~';
	} else {
		syn(p, t, "expected an operator after \"%s\", got %s", ft->s,
		    DESC(t));
		return false;
	}
	advance(p);
	return true;
}

static struct ks_node *parse_comparison(struct parser *p)
{
	struct ks_token *ft = advance(p), *t, **vals, *one;
	const struct ks_field_info *f = field_of(p, ft);
	struct ks_node *n = NULL;
	struct cmp_op op;
	size_t nv = 1;

	if (!parse_op(p, ft, &op))
		return NULL;
	t = cur(p);
	if (op.kind == OP_IN && t->kind != KS_TOK_LPAREN)
		return syn(p, t, "expected \"(\" after \"%s\", got %s", op.text,
			   DESC(t));
	if (t->kind == KS_TOK_LPAREN &&
	    (op.kind == OP_IN || op.kind == OP_COLON || op.kind == OP_LIKE)) {
		vals = parse_list(p, &nv);
		if (!vals)
			return NULL;
	} else {
		one = parse_value(p);
		if (!one)
			return NULL;
		vals = ks_xmalloc(sizeof(*vals));
		vals[0] = one;
	}
	if (f)
		n = build_cmp(p, ft, f, &op, vals, nv);
	free(vals);
	return n ? n : placeholder(p, ft);
}

/* ---- functions ---- */

enum fn_kind { FN_STARTS, FN_ENDS, FN_CONTAINS, FN_CIDR };

static const struct {
	const char *name;
	enum fn_kind kind;
	enum ks_strop op;
} functions[] = {
	{ "startsWith", FN_STARTS, KS_SO_PREFIX },
	{ "endsWith", FN_ENDS, KS_SO_SUFFIX },
	{ "stringContains", FN_CONTAINS, KS_SO_CONTAINS },
	{ "cidrMatch", FN_CIDR, KS_SO_EQ },
};

static struct ks_token **parse_args(struct parser *p, const struct ks_token *nt,
				    size_t *n)
{
	struct ks_token **v = NULL, *t;
	size_t cap = 0;

	*n = 0;
	advance(p);	/* ( */
	if (cur(p)->kind == KS_TOK_RPAREN) {
		advance(p);
		return ks_xmalloc(sizeof(*v));
	}
	for (;;) {
		t = parse_value(p);
		if (!t)
			goto fail;
		ks_grow(&v, &cap, *n, sizeof(*v));
		v[(*n)++] = t;
		t = cur(p);
		if (t->kind == KS_TOK_RPAREN) {
			advance(p);
			return v;
		}
		if (t->kind != KS_TOK_COMMA) {
			syn(p, t, "expected \",\" or \")\" in the arguments of "
			    "%s, got %s", nt->s, DESC(t));
			goto fail;
		}
		advance(p);
	}
fail:
	free(v);
	return NULL;
}

static struct ks_node *fn_cidr(struct parser *p, const struct ks_token *nt,
			       const struct ks_token *ft,
			       const struct ks_field_info *f,
			       struct ks_token **args, size_t n)
{
	struct ks_ipnet *nets;
	struct ks_node *node = NULL;
	size_t i;

	if (f->type != KS_T_IP) {
		serr(p, ft, "%s needs an IP field; %s is a %s", nt->s, f->name,
		     ks_ftype_name(f->type));
		return NULL;
	}
	nets = ks_xmalloc(n * sizeof(*nets));
	for (i = 1; i < n; i++) {
		if (ks_parse_ipnet(args[i]->s, &nets[i - 1], true)) {
			serr(p, args[i], "invalid CIDR \"%s\"", args[i]->s);
			goto out;
		}
	}
	node = ks_node_ip(p->rs, tok_loc(p, nt), f, nets, n - 1);
out:
	free(nets);
	return node;
}

static struct ks_node *fn_string(struct parser *p, const struct ks_token *nt,
				 const struct ks_token *ft,
				 const struct ks_field_info *f, enum ks_strop so,
				 bool ci, struct ks_token **args)
{
	struct ks_pat_in pat = { args[1]->s, args[1]->len };
	struct cmp_op op = { .kind = OP_LIKE, .ci = ci, .text = nt->s };
	struct ks_token tmp = *args[1], *vals[] = { &tmp };
	bool lead = so != KS_SO_PREFIX, trail = so != KS_SO_SUFFIX;
	struct ks_node *n;

	if (f->type == KS_T_NUM || f->type == KS_T_IP) {
		serr(p, ft, "%s needs a string field; %s is a %s", nt->s,
		     f->name, ks_ftype_name(f->type));
		return NULL;
	}
	if (f->type != KS_T_ENUM)
		return ks_node_str(p->rs, tok_loc(p, nt), f, so, false, ci, &pat, 1);
	/*
	 * Keyword fields: the same test as a wildcard over the enum names.
	 * The argument's own bytes are literal (lit set), the added stars not.
	 */
	tmp.len = args[1]->len + lead + trail;
	tmp.s = ks_xmalloc(tmp.len + 1);
	tmp.lit = ks_xmalloc(tmp.len + 1);
	memset(tmp.lit, 1, tmp.len);
	memcpy(tmp.s + lead, args[1]->s, args[1]->len);
	if (lead) {
		tmp.s[0] = '*';
		tmp.lit[0] = 0;
	}
	if (trail) {
		tmp.s[tmp.len - 1] = '*';
		tmp.lit[tmp.len - 1] = 0;
	}
	n = cmp_enum(p, nt, f, &op, vals, 1);
	free(tmp.s);
	free(tmp.lit);
	return n;
}

static bool is_known_fn(const struct ks_token *nt)
{
	size_t i, base = strlen(nt->s);
	bool ci = base && nt->s[base - 1] == '~';

	base -= ci;
	for (i = 0; i < ARRAY_SIZE(functions); i++)
		if (strlen(functions[i].name) == base &&
		    !strncasecmp(functions[i].name, nt->s, base) &&
		    !(ci && functions[i].kind == FN_CIDR))
			return true;
	return false;
}

static struct ks_node *parse_function(struct parser *p)
{
	struct ks_token *nt = advance(p), **args;
	const struct ks_field_info *f = NULL;
	struct ks_node *n = NULL;
	size_t na, i, fi;
	bool ci, known = false;
	size_t base;

	args = parse_args(p, nt, &na);
	if (!args)
		return NULL;
	/* length(x) == 3 and friends: report the function, not the "==" */
	if (cur(p)->kind >= KS_TOK_EQ && cur(p)->kind <= KS_TOK_GE) {
		advance(p);
		if (!parse_value(p)) {
			free(args);
			return NULL;
		}
		if (!is_known_fn(nt)) {
			serr(p, nt, "unknown function \"%s\"", nt->s);
			goto out;
		}
		serr(p, nt, "comparing the result of %s is not supported", nt->s);
		goto out;
	}
	base = strlen(nt->s);
	ci = base && nt->s[base - 1] == '~';
	base -= ci;
	for (fi = 0; fi < ARRAY_SIZE(functions); fi++) {
		if (strlen(functions[fi].name) == base &&
		    !strncasecmp(functions[fi].name, nt->s, base) &&
		    !(ci && functions[fi].kind == FN_CIDR)) {
			known = true;
			break;
		}
	}
	if (!known) {
		serr(p, nt, "unknown function \"%s\"", nt->s);
		goto out;
	}
	if (functions[fi].kind == FN_CIDR ? na < 2 : na != 2) {
		serr(p, nt, "%s expects %s2 arguments, got %zu", nt->s,
		     functions[fi].kind == FN_CIDR ? "at least " : "", na);
		goto out;
	}
	if (!is_field_tok(args[0])) {
		serr(p, args[0], "the first argument of %s must be a field",
		     nt->s);
		goto out;
	}
	f = field_of(p, args[0]);
	for (i = 1; i < na; i++) {
		if (args[i]->kind != KS_TOK_STRING) {
			serr(p, args[i], "the arguments of %s after the field "
			     "must be strings", nt->s);
			goto out;
		}
	}
	if (!f)
		goto out;
	if (functions[fi].kind == FN_CIDR)
		n = fn_cidr(p, nt, args[0], f, args, na);
	else
		n = fn_string(p, nt, args[0], f, functions[fi].op, ci, args);
out:
	free(args);
	return n ? n : placeholder(p, nt);
}

/* ---- boolean structure ---- */

static struct ks_node *parse_or(struct parser *p);

static struct ks_node *parse_primary(struct parser *p)
{
	struct ks_token *t = cur(p);
	struct ks_node *n;

	if (t->kind == KS_TOK_LPAREN) {
		advance(p);
		n = parse_or(p);
		if (!n)
			return NULL;
		t = cur(p);
		if (t->kind != KS_TOK_RPAREN)
			return syn(p, t, "expected \")\", got %s", DESC(t));
		advance(p);
		return n;
	}
	if (is_kw(t, "true") || is_kw(t, "false")) {
		advance(p);
		return ks_node_bool(p->rs, tok_loc(p, t), t->s[0] == 't');
	}
	if (is_field_tok(t) && ahead(p, 1)->kind == KS_TOK_LPAREN)
		return parse_function(p);
	if (is_field_tok(t))
		return parse_comparison(p);
	return syn(p, t, "expected a condition, got %s", DESC(t));
}

static struct ks_node *parse_not(struct parser *p)
{
	struct ks_node *n;

	if (!is_kw(cur(p), "not"))
		return parse_primary(p);
	advance(p);
	n = parse_not(p);
	return n ? ks_node_not(p->rs, n) : NULL;
}

static struct ks_node *parse_bin(struct parser *p, const char *kw,
				 enum ks_node_kind kind,
				 struct ks_node *(*sub)(struct parser *))
{
	struct ks_nodevec vec = { 0 };
	struct ks_node *n;
	struct ks_loc loc = tok_loc(p, cur(p));

	for (;;) {
		n = sub(p);
		if (!n) {
			free(vec.v);
			return NULL;
		}
		ks_nodevec_push(&vec, n);
		if (!is_kw(cur(p), kw))
			break;
		advance(p);
	}
	return ks_node_join(p->rs, kind, loc, &vec);
}

static struct ks_node *parse_and(struct parser *p)
{
	return parse_bin(p, "and", KS_N_AND, parse_not);
}

static struct ks_node *parse_or(struct parser *p)
{
	return parse_bin(p, "or", KS_N_OR, parse_and);
}

/* ---- queries ---- */

static bool parse_category(struct parser *p, enum ks_category *cat)
{
	static const char *const names[] = {
		[KS_CAT_ANY] = "any", [KS_CAT_PROCESS] = "process",
		[KS_CAT_FILE] = "file", [KS_CAT_NETWORK] = "network",
	};
	struct ks_token *t = cur(p);
	size_t i;

	if (!is_field_tok(t)) {
		syn(p, t, "expected an event category (process, file, network "
		    "or any), got %s", DESC(t));
		return false;
	}
	advance(p);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(t->s, names[i])) {
			*cat = i;
			goto where;
		}
	}
	serr(p, t, "unknown event category \"%s\" (expected process, file, "
	     "network or any)", t->s);
where:
	t = cur(p);
	if (!is_kw(t, "where")) {
		syn(p, t, "expected \"where\", got %s", DESC(t));
		return false;
	}
	advance(p);
	return true;
}

static bool parse_event(struct parser *p, struct ks_step_ast *s)
{
	s->loc = tok_loc(p, cur(p));
	s->runs = 1;
	if (!parse_category(p, &s->category))
		return false;
	s->cond = parse_or(p);
	if (!s->cond)
		return false;
	/* "where true" is the unconditional step of the API */
	if (s->cond->kind == KS_N_BOOL && s->cond->num)
		s->cond = NULL;
	return true;
}

static bool parse_fields(struct parser *p, const struct ks_field_info **join,
			 size_t *n)
{
	struct ks_token *t = cur(p);
	const struct ks_field_info *f;
	bool over = false;

	if (!is_field_tok(t)) {
		syn(p, t, "expected a field name after \"by\", got %s", DESC(t));
		return false;
	}
	for (;;) {
		t = cur(p);
		if (!is_field_tok(t)) {
			syn(p, t, "expected a field name, got %s", DESC(t));
			return false;
		}
		advance(p);
		f = field_of(p, t);
		if (*n >= KS_MAX_JOIN) {
			if (!over)
				serr(p, t, "too many join fields (at most %u)",
				     KS_MAX_JOIN);
			over = true;
		} else if (f) {
			join[(*n)++] = f;
		}
		if (cur(p)->kind != KS_TOK_COMMA)
			return true;
		advance(p);
	}
}

static bool expect_assign(struct parser *p, const char *what)
{
	struct ks_token *t = cur(p);

	if (t->kind != KS_TOK_ASSIGN) {
		syn(p, t, "expected \"=\" after \"%s\", got %s", what, DESC(t));
		return false;
	}
	advance(p);
	return true;
}

static bool parse_maxspan(struct parser *p, struct ks_query *q)
{
	static const struct { const char *u; uint64_t ns; } units[] = {
		{ "ms", 1000000ull }, { "s", 1000000000ull },
		{ "m", 60000000000ull }, { "h", 3600000000000ull },
	};
	struct ks_token *nt, *ut;
	size_t i;

	advance(p);	/* maxspan */
	if (!expect_assign(p, "maxspan"))
		return false;
	nt = cur(p);
	if (nt->kind != KS_TOK_NUMBER) {
		syn(p, nt, "expected a duration after \"maxspan=\", got %s",
		    DESC(nt));
		return false;
	}
	advance(p);
	ut = cur(p);
	if (ut->kind != KS_TOK_IDENT || ut->off != nt->end) {
		serr(p, nt, "maxspan needs a time unit (ms, s, m or h)");
		return true;
	}
	advance(p);
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(ut->s, units[i].u))
			break;
	if (i == ARRAY_SIZE(units))
		serr(p, ut, "unknown time unit \"%s\" (expected ms, s, m or h)",
		     ut->s);
	else if (nt->num <= 0)
		serr(p, nt, "maxspan must be positive");
	else if ((uint64_t)nt->num > UINT64_MAX / units[i].ns)
		serr(p, nt, "maxspan is too large");
	else
		q->maxspan_ns = (uint64_t)nt->num * units[i].ns;
	return true;
}

static bool parse_runs(struct parser *p, struct ks_step_ast *s, bool until)
{
	struct ks_token *t = cur(p);

	if (!(t->kind == KS_TOK_IDENT && !strcmp(t->s, "runs"))) {
		syn(p, t, "expected \"runs\" after \"with\", got %s", DESC(t));
		return false;
	}
	advance(p);
	if (!expect_assign(p, "runs"))
		return false;
	t = cur(p);
	if (t->kind != KS_TOK_NUMBER) {
		syn(p, t, "expected a number after \"runs=\", got %s", DESC(t));
		return false;
	}
	advance(p);
	if (until)
		serr(p, t, "runs is not allowed on until");
	else if (t->num < 1 || t->num > 100)
		serr(p, t, "runs must be between 1 and 100, got %lld",
		     (long long)t->num);
	else
		s->runs = t->num;
	return true;
}

static bool parse_step(struct parser *p, struct ks_step_ast *s, bool until)
{
	struct ks_token *t = cur(p);
	bool by = false, runs = false;

	if (t->kind != KS_TOK_LBRACK) {
		syn(p, t, "expected \"[\" to start a sequence step, got %s",
		    DESC(t));
		return false;
	}
	advance(p);
	if (!parse_event(p, s))
		return false;
	s->loc = tok_loc(p, t);
	t = cur(p);
	if (t->kind != KS_TOK_RBRACK) {
		syn(p, t, "expected \"]\" to close the step, got %s", DESC(t));
		return false;
	}
	advance(p);
	for (;;) {
		t = cur(p);
		if (is_kw(t, "by") && !by) {
			advance(p);
			by = true;
			if (!parse_fields(p, s->join, &s->n_join))
				return false;
		} else if (is_kw(t, "with") && !runs) {
			advance(p);
			runs = true;
			if (!parse_runs(p, s, until))
				return false;
		} else {
			return true;
		}
	}
}

/* EQL: every step (and until) has the same number of join keys. */
static void check_joins(struct parser *p, struct ks_query *q)
{
	size_t i, want = q->steps[0].n_join;
	struct ks_step_ast *s;

	for (i = 0; i <= q->n_steps; i++) {
		s = i < q->n_steps ? &q->steps[i] : q->until;
		if (!s)
			break;
		if (s->n_join != want) {
			ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, s->loc,
				    "inconsistent number of join keys: the first "
				    "step has %zu, this one %zu", want, s->n_join);
			p->errors++;
		}
		if (q->n_join + s->n_join > KS_MAX_JOIN) {
			ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, s->loc,
				    "too many join fields (at most %u)",
				    KS_MAX_JOIN);
			p->errors++;
		}
	}
}

static bool parse_sequence(struct parser *p, struct ks_query *q)
{
	struct ks_step_ast *steps = NULL, st;
	struct ks_token *t;
	size_t n = 0, cap = 0, events = 0;
	bool by = false, span = false, ok = false;

	advance(p);	/* sequence */
	q->sequence = true;
	for (;;) {
		t = cur(p);
		if (is_kw(t, "by") && !by) {
			advance(p);
			by = true;
			if (!parse_fields(p, q->join, &q->n_join))
				return false;
		} else if (is_kw(t, "with") && !span) {
			advance(p);
			span = true;
			t = cur(p);
			if (!(t->kind == KS_TOK_IDENT && !strcmp(t->s, "maxspan")))
				return syn(p, t, "expected \"maxspan\" after "
					   "\"with\", got %s", DESC(t));
			if (!parse_maxspan(p, q))
				return false;
		} else {
			break;
		}
	}
	do {
		memset(&st, 0, sizeof(st));
		if (!parse_step(p, &st, false))
			goto out;
		ks_grow(&steps, &cap, n, sizeof(*steps));
		steps[n++] = st;
		events += st.runs;
	} while (cur(p)->kind == KS_TOK_LBRACK);
	q->steps = ks_alloc(p->rs, n * sizeof(*steps));
	memcpy(q->steps, steps, n * sizeof(*steps));
	q->n_steps = n;
	if (is_kw(cur(p), "until")) {
		advance(p);
		q->until = ks_alloc(p->rs, sizeof(*q->until));
		if (!parse_step(p, q->until, true))
			goto out;
	}
	if (events < 2) {
		ks_diag_add(&p->rs->diags, KS_DIAG_ERROR, q->loc,
			    "a sequence needs at least two steps");
		p->errors++;
	}
	check_joins(p, q);
	ok = true;
out:
	free(steps);
	return ok;
}

static bool parse_toplevel(struct parser *p, struct ks_query *q)
{
	struct ks_token *t = cur(p);

	q->loc = tok_loc(p, t);
	if (is_kw(t, "sequence")) {
		if (!parse_sequence(p, q))
			return false;
	} else {
		q->steps = ks_alloc(p->rs, sizeof(*q->steps));
		q->n_steps = 1;
		if (!parse_event(p, q->steps))
			return false;
	}
	t = cur(p);
	if (t->kind != KS_TOK_EOF) {
		syn(p, t, "unexpected %s after the end of the query", DESC(t));
		return false;
	}
	return true;
}

struct ks_query *ks_parse_query_map(struct ks_ruleset *rs,
				    const struct ks_posmap *pm)
{
	struct parser p = { .rs = rs, .pm = pm };
	struct ks_query *q = ks_alloc(rs, sizeof(*q));
	bool ok;

	ks_lex(pm->text, pm->len, &p.tk);
	ok = parse_toplevel(&p, q);
	if (ok && p.errors)
		ok = false;
	if (!ok && !p.errors) {
		/* a syntax error always reports; this is a safety net */
		ks_diag_add(&rs->diags, KS_DIAG_ERROR, ks_posmap_loc(pm, 0),
			    "invalid query");
	}
	ks_tokens_free(&p.tk);
	return ok ? q : NULL;
}

/* ---- formatting (EQL text back from the AST) ---- */

static void put_str(FILE *o, const char *s, size_t len, bool esc_wild)
{
	size_t i;

	fputc('"', o);
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '"': fputs("\\\"", o); break;
		case '\\': fputs("\\\\", o); break;
		case '\n': fputs("\\n", o); break;
		case '\t': fputs("\\t", o); break;
		case '\r': fputs("\\r", o); break;
		case '*': case '?':
			if (esc_wild)
				fputc('\\', o);
			fputc(c, o);
			break;
		default:
			fputc(c, o);
		}
	}
	fputc('"', o);
}

/* A pattern as an EQL wildcard string: literal bytes escaped, with the
 * wildcards the strop implies around them. */
static void put_pattern(FILE *o, enum ks_strop op, const struct ks_strpat *pt)
{
	size_t i;

	if (op != KS_SO_WILDCARD) {
		char *mid;
		size_t len;

		mid = ks_wild_escape(pt->s, pt->len, &len);
		fputc('"', o);
		if (op == KS_SO_SUFFIX || op == KS_SO_CONTAINS)
			fputc('*', o);
		for (i = 0; i < len; i++) {
			if (mid[i] == '\\' && i + 1 < len) {
				/* escaped byte: \* \? keep, \\ doubles */
				fputs(mid[i + 1] == '\\' ? "\\\\" : "\\", o);
				if (mid[i + 1] != '\\')
					fputc(mid[i + 1], o);
				i++;
			} else if (mid[i] == '"') {
				fputs("\\\"", o);
			} else if (mid[i] == '\n') {
				fputs("\\n", o);
			} else if (mid[i] == '\t') {
				fputs("\\t", o);
			} else if (mid[i] == '\r') {
				fputs("\\r", o);
			} else {
				fputc(mid[i], o);
			}
		}
		if (op == KS_SO_PREFIX || op == KS_SO_CONTAINS)
			fputc('*', o);
		fputc('"', o);
		free(mid);
		return;
	}
	fputc('"', o);
	for (i = 0; i < pt->len; i++) {
		char c = pt->s[i];

		if (c == '\\' && i + 1 < pt->len) {
			c = pt->s[++i];
			fputs(c == '\\' ? "\\\\" : "\\", o);
			if (c != '\\')
				fputc(c, o);
		} else if (c == '"') {
			fputs("\\\"", o);
		} else if (c == '\n') {
			fputs("\\n", o);
		} else if (c == '\t') {
			fputs("\\t", o);
		} else if (c == '\r') {
			fputs("\\r", o);
		} else {
			fputc(c, o);
		}
	}
	fputc('"', o);
}

static void fmt_str_node(FILE *o, const struct ks_node *n)
{
	const char *f = n->field->name;
	bool ci = n->n_pats && n->pats[0].ci;
	size_t i;

	for (i = 1; i < n->n_pats; i++) {
		if (n->pats[i].ci != ci) {
			/* mixed case modes cannot share one operator */
			fputc('(', o);
			for (i = 0; i < n->n_pats; i++) {
				struct ks_node one = *n;

				one.pats = &n->pats[i];
				one.n_pats = 1;
				fputs(i ? " or " : "", o);
				fmt_str_node(o, &one);
			}
			fputc(')', o);
			return;
		}
	}
	if (n->strop == KS_SO_REGEX) {
		for (i = 0; i < n->n_pats; i++) {
			fprintf(o, "%sregex%s(%s, ", i ? " or " : "",
				ci ? "~" : "", f);
			put_str(o, n->pats[i].s, n->pats[i].len, false);
			fputc(')', o);
		}
		return;
	}
	if (n->strop == KS_SO_EQ && !ci) {
		fprintf(o, "%s %s ", f, n->n_pats == 1 ? "==" : "in");
	} else {
		fprintf(o, "%s %s ", f, ci ? ":" : "like");
	}
	if (n->n_pats != 1)
		fputc('(', o);
	for (i = 0; i < n->n_pats; i++) {
		fputs(i ? ", " : "", o);
		if (n->strop == KS_SO_EQ && !ci)
			put_str(o, n->pats[i].s, n->pats[i].len, false);
		else
			put_pattern(o, n->strop, &n->pats[i]);
	}
	if (n->n_pats != 1)
		fputc(')', o);
}

static void fmt_num_value(FILE *o, const struct ks_field_info *f, int64_t v)
{
	const struct ks_enum_val *ev;
	size_t i, cnt;

	ev = ks_field_enum(f, &cnt);
	for (i = 0; i < cnt; i++) {
		if (ev[i].value == v) {
			fprintf(o, "\"%s\"", ev[i].name);
			return;
		}
	}
	fprintf(o, "%lld", (long long)v);
}

static void fmt_num_node(FILE *o, const struct ks_node *n)
{
	static const char *const ops[] = {
		[KS_CMP_EQ] = "==", [KS_CMP_NE] = "!=", [KS_CMP_LT] = "<",
		[KS_CMP_LE] = "<=", [KS_CMP_GT] = ">", [KS_CMP_GE] = ">=",
	};
	size_t i;

	if (n->n_nums == 1) {
		fprintf(o, "%s %s ", n->field->name, ops[n->cmp]);
		fmt_num_value(o, n->field, n->nums[0]);
		return;
	}
	fprintf(o, "%s%s in (", n->cmp == KS_CMP_NE ? "not " : "", n->field->name);
	for (i = 0; i < n->n_nums; i++) {
		fputs(i ? ", " : "", o);
		fmt_num_value(o, n->field, n->nums[i]);
	}
	fputc(')', o);
}

static void fmt_ipnet(FILE *o, const struct ks_ipnet *net, bool with_prefix)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	char buf[INET6_ADDRSTRLEN];

	if (!memcmp(net->addr, mapped, 12) && net->prefix >= 96) {
		inet_ntop(AF_INET, net->addr + 12, buf, sizeof(buf));
		fprintf(o, "\"%s", buf);
		if (with_prefix)
			fprintf(o, "/%d", net->prefix - 96);
	} else {
		inet_ntop(AF_INET6, net->addr, buf, sizeof(buf));
		fprintf(o, "\"%s", buf);
		if (with_prefix)
			fprintf(o, "/%d", net->prefix);
	}
	fputc('"', o);
}

static void fmt_ip_node(FILE *o, const struct ks_node *n)
{
	bool hosts = true;
	size_t i;

	for (i = 0; i < n->n_nets; i++)
		hosts &= n->nets[i].prefix == 128;
	if (!hosts) {
		fprintf(o, "cidrMatch(%s", n->field->name);
		for (i = 0; i < n->n_nets; i++) {
			fputs(", ", o);
			fmt_ipnet(o, &n->nets[i], true);
		}
		fputc(')', o);
		return;
	}
	fprintf(o, "%s %s ", n->field->name, n->n_nets == 1 ? "==" : "in");
	if (n->n_nets != 1)
		fputc('(', o);
	for (i = 0; i < n->n_nets; i++) {
		fputs(i ? ", " : "", o);
		fmt_ipnet(o, &n->nets[i], false);
	}
	if (n->n_nets != 1)
		fputc(')', o);
}

static int prec(const struct ks_node *n)
{
	switch (n->kind) {
	case KS_N_OR: return 1;
	case KS_N_AND: return 2;
	case KS_N_NOT: return 3;
	default: return 4;
	}
}

static void fmt_node(FILE *o, const struct ks_node *n, int min_prec)
{
	bool paren = prec(n) < min_prec;
	size_t i;

	if (paren)
		fputc('(', o);
	switch (n->kind) {
	case KS_N_AND:
	case KS_N_OR:
		for (i = 0; i < n->n_kids; i++) {
			fputs(i ? (n->kind == KS_N_AND ? " and " : " or ") : "", o);
			fmt_node(o, n->kids[i], prec(n) + 1);
		}
		break;
	case KS_N_NOT:
		if (n->kids[0]->kind == KS_N_NULL) {
			fprintf(o, "%s != null", n->kids[0]->field->name);
			break;
		}
		fputs("not ", o);
		fmt_node(o, n->kids[0], 3);
		break;
	case KS_N_BOOL:
		fputs(n->num ? "true" : "false", o);
		break;
	case KS_N_STR:
		fmt_str_node(o, n);
		break;
	case KS_N_NUM:
		fmt_num_node(o, n);
		break;
	case KS_N_IP:
		fmt_ip_node(o, n);
		break;
	case KS_N_NULL:
		fprintf(o, "%s == null", n->field->name);
		break;
	}
	if (paren)
		fputc(')', o);
}

static FILE *mem_open(char **buf, size_t *len)
{
	FILE *o = open_memstream(buf, len);

	if (!o) {
		fputs("kestrel: out of memory\n", stderr);
		abort();
	}
	return o;
}

char *ks_node_format(const struct ks_node *n)
{
	char *buf = NULL;
	size_t len;
	FILE *o = mem_open(&buf, &len);

	if (n)
		fmt_node(o, n, 0);
	else
		fputs("true", o);
	fclose(o);
	return buf;
}

static void fmt_fields(FILE *o, const struct ks_field_info *const *f, size_t n)
{
	size_t i;

	if (!n)
		return;
	fputs(" by ", o);
	for (i = 0; i < n; i++)
		fprintf(o, "%s%s", i ? ", " : "", f[i]->name);
}

static void fmt_step(FILE *o, const struct ks_step_ast *s, bool bracket)
{
	char *c = ks_node_format(s->cond);

	fprintf(o, "%s%s where %s%s", bracket ? "[" : "",
		ks_category_name(s->category), c, bracket ? "]" : "");
	free(c);
	if (!bracket)
		return;
	fmt_fields(o, s->join, s->n_join);
	if (s->runs > 1)
		fprintf(o, " with runs=%u", s->runs);
}

static void fmt_span(FILE *o, uint64_t ns)
{
	static const struct { const char *u; uint64_t ns; } units[] = {
		{ "h", 3600000000000ull }, { "m", 60000000000ull },
		{ "s", 1000000000ull }, { "ms", 1000000ull },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(units) - 1; i++)
		if (!(ns % units[i].ns))
			break;
	fprintf(o, " with maxspan=%llu%s",
		(unsigned long long)(ns / units[i].ns), units[i].u);
}

char *ks_query_format(const struct ks_query *q)
{
	char *buf = NULL;
	size_t len, i;
	FILE *o = mem_open(&buf, &len);

	if (!q->sequence) {
		fmt_step(o, &q->steps[0], false);
		goto out;
	}
	fputs("sequence", o);
	fmt_fields(o, q->join, q->n_join);
	if (q->maxspan_ns)
		fmt_span(o, q->maxspan_ns);
	for (i = 0; i < q->n_steps; i++) {
		fputs("\n  ", o);
		fmt_step(o, &q->steps[i], true);
	}
	if (q->until) {
		fputs("\nuntil ", o);
		fmt_step(o, q->until, true);
	}
out:
	fclose(o);
	return buf;
}
