// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * EQL comparisons and functions, typed against the field catalogue: the
 * operator and the right-hand values decide the node (string patterns,
 * numbers, enum values, addresses), and a mismatch is a semantic error
 * that names the field. The semantics are described in parser.c.
 *
 * About 1,190 lines (the folds of entry_meta.type and file.target_path
 * too): the functions (startsWith, cidrMatch, length, ...) type
 * their arguments and what they are compared with through the
 * comparisons' own operator, value-list and regex code (struct cmp_op,
 * parse_values, regex_node), which would otherwise have to be exported
 * from here for one other file.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parser.h"

enum op_kind { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_COLON, OP_IN,
	       OP_LIKE, OP_REGEX };

struct cmp_op {
	enum op_kind kind;
	bool ci, negate;
	const char *text;	/* as written, for messages */
};

/*
 * A comparison being typed: the field as written (ft, where errors about
 * it point), its catalogue entry, the operator and the right-hand values.
 * build_cmp and the typing of each field type (cmp_str, cmp_num, ...)
 * take it as one argument.
 */
struct cmp {
	const struct ks_token *ft;
	const struct ks_field_info *f;
	const struct cmp_op *op;
	struct ks_token **vals;
	size_t n;
};

/* ---- comparisons ---- */

static bool nullable(const struct ks_field_info *f)
{
	return f->present != 0;
}

/* The negated comparisons are false on null too (see parser.c). */
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

/* An error at the operator unless ok: it does not apply to field f of `kind`. */
static bool op_check(struct parser *p, const struct cmp *c, bool ok, const char *kind,
		     const char *hint)
{
	if (!ok)
		eql_serr(p, c->ft, "operator %s is not supported on %s field %s%s",
			 op_name(c->op), kind, c->f->name, hint);
	return ok;
}

/*
 * The operand checks of a comparison on a field of `kind` ("string",
 * "numeric", "IP"): the operator applies (op_ok) and every value is a
 * `want` token; else an error at the operator or the first bad value.
 */
static bool cmp_operands(struct parser *p, const struct cmp *c, bool op_ok,
			 const char *kind, enum ks_tok_kind want)
{
	size_t i;

	if (!op_check(p, c, op_ok, kind, ""))
		return false;
	for (i = 0; i < c->n; i++) {
		if (c->vals[i]->kind != want) {
			eql_serr(p, c->vals[i], "cannot compare %s field %s with a %s", kind,
				 c->f->name, want == KS_TOK_STRING ? "number" : "string");
			return false;
		}
	}
	return true;
}

static struct ks_node *cmp_str(struct parser *p, const struct cmp *c)
{
	bool wild = c->op->kind == OP_COLON || c->op->kind == OP_LIKE;
	bool ci = c->op->kind == OP_COLON || c->op->ci;
	struct ks_pat_in *pats;
	struct ks_node *node;
	size_t i, len;

	if (!cmp_operands(p, c, c->op->kind < OP_LT || c->op->kind > OP_GE, "string",
			  KS_TOK_STRING))
		return NULL;
	pats = ks_xmalloc(c->n * sizeof(*pats));
	for (i = 0; i < c->n; i++) {
		if (wild) {
			pats[i].s = tok_wild(c->vals[i], &len);
			pats[i].len = len;
		} else {
			pats[i].s = c->vals[i]->s;
			pats[i].len = c->vals[i]->len;
		}
	}
	node = ks_node_str(p->rs, eql_tok_loc(p, c->ft), c->f, KS_SO_EQ, wild, ci, pats,
			   c->n);
	if (c->op->negate)
		node = negate(p->rs, c->f, node);
	for (i = 0; wild && i < c->n; i++)
		free((char *)pats[i].s);
	free(pats);
	return node;
}

/*
 * An Elastic boolean (process.interactive): ==, != or (not) in with true
 * and false. Its value is the text "true" or "false" (fields.c), so the
 * test is string equality with those words; null is handled before.
 */
static struct ks_node *cmp_bool(struct parser *p, const struct cmp *c)
{
	struct ks_pat_in pats[2];
	bool seen[2] = { false, false }, t;
	struct ks_node *node;
	size_t i, np = 0;

	if (c->op->kind != OP_EQ && c->op->kind != OP_IN && c->op->kind != OP_COLON) {
		eql_serr(p, c->ft, "%s is a boolean: compare it with ==, !=, : or in",
			 c->f->name);
		return NULL;
	}
	for (i = 0; i < c->n; i++) {
		t = is_kw(c->vals[i], "true");
		if (!t && !is_kw(c->vals[i], "false")) {
			eql_serr(p, c->vals[i], "%s is a boolean: compare it with true "
				 "or false", c->f->name);
			return NULL;
		}
		if (!seen[t]) {
			seen[t] = true;
			pats[np++] = (struct ks_pat_in){ t ? "true" : "false", 5u - t };
		}
	}
	node = ks_node_str(p->rs, eql_tok_loc(p, c->ft), c->f, KS_SO_EQ, false, false,
			   pats, np);
	return c->op->negate ? negate(p->rs, c->f, node) : node;
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

/* A number the field cannot hold would make the comparison constant. */
static bool num_in_range(struct parser *p, const struct ks_field_info *f,
			 const struct ks_token *v)
{
	if (ks_field_in_range(f, v->num))
		return true;
	eql_serr(p, v, "%lld is out of range for %s (%lld..%lld)",
		 (long long)v->num, f->name, (long long)f->min,
		 (long long)f->max);
	return false;
}

/*
 * ECS makes the ids (user.id, group.id, ...) keywords and Elastic's rules
 * compare them with strings. "0" equals uid 0 exactly when it is the
 * number's decimal text, so a string of canonical decimal digits is that
 * number for equality; ordering is text order in Elastic, so not here.
 */
static bool id_text(struct parser *p, const struct ks_field_info *f,
		    const struct cmp_op *op, const struct ks_token *v, int64_t *num)
{
	size_t len = strlen(f->name), i;
	bool id = len > 3 && !strcmp(f->name + len - 3, ".id");
	int64_t x = 0;

	if (!id || v->kind != KS_TOK_STRING) {
		eql_serr(p, v, "cannot compare numeric field %s with a string", f->name);
		return false;
	}
	if (op->kind >= OP_LT && op->kind <= OP_GE) {
		eql_serr(p, v, "operator %s on the keyword %s orders text: compare "
			 "with a number", op_name(op), f->name);
		return false;
	}
	for (i = 0; i < v->len && v->s[i] >= '0' && v->s[i] <= '9' && x <= f->max; i++)
		x = x * 10 + (v->s[i] - '0');
	if (!v->len || i < v->len || (v->s[0] == '0' && v->len > 1) || x > f->max) {
		eql_serr(p, v, "\"%s\" is not the decimal text of a %s (0..%lld)",
			 v->s, f->name, (long long)f->max);
		return false;
	}
	*num = x;
	return true;
}

static struct ks_node *cmp_num(struct parser *p, const struct cmp *c)
{
	int64_t *nums;
	struct ks_node *node;
	size_t i;

	/* the operands' kinds here: an ECS id takes its decimal text too */
	if (!op_check(p, c, c->op->kind != OP_LIKE, "numeric", ""))
		return NULL;
	nums = ks_xmalloc(c->n * sizeof(*nums));
	for (i = 0; i < c->n; i++) {
		if (c->vals[i]->kind != KS_TOK_NUMBER) {
			if (!id_text(p, c->f, c->op, c->vals[i], &nums[i]))
				goto bad;
			continue;
		}
		if (!num_in_range(p, c->f, c->vals[i]))
			goto bad;
		nums[i] = c->vals[i]->num;
	}
	node = ks_node_num(p->rs, eql_tok_loc(p, c->ft), c->f, op_cmp(c->op->kind), nums,
			   c->n);
	free(nums);
	if (c->op->negate)
		node = negate(p->rs, c->f, node);
	return node;
bad:
	free(nums);
	return NULL;
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
		if ((so == KS_SO_EQ || !ev[i].alias) &&
		    ks_str_match(so, &pat, ev[i].name, strlen(ev[i].name)))
			out[k++] = ev[i].value;
	free(s);
	return k;
}

/* Drop repeated values (event.type "start" is several actions, several
 * names are KS_ENUM_NEVER), keeping the first's order; the new count. */
static size_t enum_dedup(int64_t *v, size_t n)
{
	size_t i, j, k = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < k && v[j] != v[i]; j++)
			;
		if (j == k)
			v[k++] = v[i];
	}
	return k;
}

/* Drop KS_ENUM_NEVER from v unless f has a name for it; the new count. */
static size_t enum_drop_unnamed(const struct ks_field_info *f, int64_t *v, size_t n)
{
	const struct ks_enum_val *ev;
	size_t i, k = 0, cnt;

	ev = ks_field_enum(f, &cnt);
	for (i = 0; i < cnt; i++)
		if (ev[i].value == KS_ENUM_NEVER)
			return n;
	for (i = 0; i < n; i++)
		if (v[i] != KS_ENUM_NEVER)
			v[k++] = v[i];
	return k;
}

static struct ks_node *cmp_enum(struct parser *p, const struct cmp *c)
{
	const struct ks_field_info *f = c->f;
	struct ks_node *node = NULL;
	size_t i, k = 0, cnt, m;
	int64_t *nums;

	if (!op_check(p, c, c->op->kind < OP_LT || c->op->kind > OP_GE, "enum", ""))
		return NULL;
	ks_field_enum(f, &cnt);
	nums = ks_xmalloc((c->n * cnt + c->n) * sizeof(*nums));
	for (i = 0; i < c->n; i++) {
		if (c->vals[i]->kind == KS_TOK_NUMBER && f->id == KS_F_TRANSPORT) {
			if (!num_in_range(p, f, c->vals[i]))
				goto out;
			nums[k++] = c->vals[i]->num;	/* IP protocol number */
			continue;
		}
		if (c->vals[i]->kind != KS_TOK_STRING) {
			eql_serr(p, c->vals[i], "cannot compare %s with a number "
			     "(expected one of: %s)", f->name,
			     ks_field_enum_list(f));
			goto out;
		}
		m = enum_matches(f, c->op, c->vals[i], nums + k);
		if (!m) {
			eql_serr(p, c->vals[i], "unknown value \"%s\" for %s (expected "
			     "one of: %s)", c->vals[i]->s, f->name,
			     ks_field_enum_list(f));
			goto out;
		}
		k += m;
	}
	k = enum_dedup(nums, k);
	if (!c->op->negate && k == 1 && nums[0] == KS_ENUM_NEVER) {
		eql_serr(p, c->ft, "no Kestrel event has %s %s (Kestrel does not "
			 "emit it), so this test could never be true", f->name,
			 c->n == 1 ? c->vals[0]->s : "of any value listed");
		goto out;
	}
	/*
	 * event.type is a function of the action, data_stream.dataset of the
	 * category: the test is on that. A value no event holds that the
	 * field has no name for (event.category) is dropped: it never
	 * matches, and its number would not print back.
	 */
	f = ks_field_by_id(f->id);
	k = enum_drop_unnamed(f, nums, k);
	if (!k) {	/* != a value no event holds */
		node = ks_node_bool(p->rs, eql_tok_loc(p, c->ft), true);
		goto out;
	}
	node = ks_node_num(p->rs, eql_tok_loc(p, c->ft), f, KS_CMP_EQ, nums, k);
	if (c->op->negate)
		node = negate(p->rs, f, node);
out:
	free(nums);
	return node;
}

static struct ks_node *cmp_ip(struct parser *p, const struct cmp *c)
{
	struct ks_ipnet *nets;
	struct ks_node *node = NULL;
	size_t i;
	bool op_ok = c->op->kind == OP_EQ || c->op->kind == OP_NE || c->op->kind == OP_IN ||
		     c->op->kind == OP_COLON;

	if (!op_check(p, c, op_ok, "IP", " (use ==, in or cidrMatch)") ||
	    !cmp_operands(p, c, true, "IP", KS_TOK_STRING))
		return NULL;
	nets = ks_xmalloc(c->n * sizeof(*nets));
	for (i = 0; i < c->n; i++) {
		if (ks_parse_ipnet(c->vals[i]->s, &nets[i], false)) {
			eql_serr(p, c->vals[i], "invalid IP address \"%s\"", c->vals[i]->s);
			goto out;
		}
	}
	node = ks_node_ip(p->rs, eql_tok_loc(p, c->ft), c->f, nets, c->n);
	if (c->op->negate)
		node = negate(p->rs, c->f, node);
out:
	free(nets);
	return node;
}

/* Each regex pattern of vals[0, n) compiles (else it is reported at its
 * own string): so a bad one is an error even where it is never run. */
static bool regex_check(struct parser *p, const char *what, enum ks_strop so,
			bool ci, struct ks_token **vals, size_t n)
{
	struct ks_strpat sp = { .ci = ci };
	struct ks_node one = { .kind = KS_N_STR, .strop = so, .pats = &sp,
			       .n_pats = 1 };
	char err[192];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (vals[i]->kind != KS_TOK_STRING) {
			eql_serr(p, vals[i], "%s takes strings", what);
			return false;
		}
		if (memchr(vals[i]->s, 0, vals[i]->len)) {
			eql_serr(p, vals[i], "a regular expression cannot hold a "
				 "NUL byte");
			return false;
		}
		sp.s = vals[i]->s;
		sp.len = vals[i]->len;
		one.cache = NULL;
		rc = ks_regex_compile(p->rs, &one, err, sizeof(err));
		ks_regex_cache_free(one.cache);
		if (rc) {
			eql_serr(p, vals[i], "invalid regular expression \"%s\": "
				 "%s", vals[i]->s, err);
			return false;
		}
	}
	return true;
}

static const char *regex_what(const struct ks_token *at, enum ks_strop so,
			      bool ci)
{
	return so != KS_SO_EQLRE ? at->s : ci ? "regex~" : "regex";
}

/*
 * A regex test of string field f with the patterns vals[0, n): Kestrel's
 * regex() function (so KS_SO_REGEX, a POSIX ERE found anywhere) or EQL's
 * regex operator (KS_SO_EQLRE, Elastic's whole-value match).
 */
static struct ks_node *regex_node(struct parser *p, const struct ks_token *at,
				  const struct ks_token *ft,
				  const struct ks_field_info *f, enum ks_strop so,
				  bool ci, struct ks_token **vals, size_t n)
{
	const char *what = regex_what(at, so, ci);
	struct ks_pat_in *pats;
	struct ks_node *node;
	char err[192];
	size_t i;

	if (f->type == KS_T_NUM || f->type == KS_T_IP || f->type == KS_T_ENUM ||
	    f->boolean) {
		eql_serr(p, ft, "%s needs a string field; %s is a %s", what,
			 f->name, f->boolean ? "boolean" : ks_ftype_name(f->type));
		return NULL;
	}
	if (!regex_check(p, what, so, ci, vals, n))
		return NULL;
	pats = ks_xmalloc(n * sizeof(*pats));
	for (i = 0; i < n; i++) {
		pats[i].s = vals[i]->s;
		pats[i].len = vals[i]->len;
	}
	node = ks_node_str(p->rs, eql_tok_loc(p, at), f, so, false, ci, pats, n);
	free(pats);
	if (ks_regex_compile(p->rs, node, err, sizeof(err)))
		return NULL;	/* compiled above: cannot happen */
	return node;
}

/* Check the right-hand values, then dispatch on the field's type. */
static struct ks_node *build_cmp(struct parser *p, const struct cmp *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct ks_token *v = c->vals[i];

		if (is_kw(v, "null")) {
			if (c->n == 1 && (c->op->kind == OP_EQ || c->op->kind == OP_NE)) {
				struct ks_node *nn = ks_node_null(p->rs, eql_tok_loc(p, c->ft),
								  c->f);

				return c->op->negate ? ks_node_not(p->rs, nn) : nn;
			}
			eql_serr(p, v, "null can only be compared with == or !=");
			return NULL;
		}
		if (is_kw(v, "true") || is_kw(v, "false")) {
			if (c->f->boolean)
				continue;
			eql_serr(p, v, "cannot compare %s with a boolean", c->f->name);
			return NULL;
		}
		if (v->kind == KS_TOK_IDENT) {
			eql_serr(p, v, "comparing a field with another field is not "
			     "supported");
			return NULL;
		}
	}
	if (c->f->boolean)
		return cmp_bool(p, c);
	if (c->op->kind == OP_REGEX)
		return regex_node(p, c->ft, c->ft, c->f, KS_SO_EQLRE, c->op->ci, c->vals,
				  c->n);
	switch (c->f->type) {
	case KS_T_NUM:
		return cmp_num(p, c);
	case KS_T_ENUM:
		return cmp_enum(p, c);
	case KS_T_IP:
		return cmp_ip(p, c);
	default:
		return cmp_str(p, c);
	}
}

/* A literal (or, to report it properly, a field name) on the right. */
static struct ks_token *parse_value(struct parser *p)
{
	struct ks_token *t = cur(p);

	if (t->kind == KS_TOK_STRING || t->kind == KS_TOK_NUMBER ||
	    is_kw(t, "null") || is_kw(t, "true") || is_kw(t, "false") ||
	    eql_is_field_tok(t))
		return advance(p);
	return eql_syn(p, t, "expected a value, got %s", DESC(t));
}

/*
 * "(" value {"," value} ")" into a malloc'd vector: the values of a list
 * (fn NULL) or the arguments of function fn (which may be none). At most
 * KS_MAX_LIST of them.
 */
static struct ks_token **parse_values(struct parser *p,
				      const struct ks_token *fn, size_t *n)
{
	struct ks_token **v = NULL, *t;
	size_t cap = 0;

	*n = 0;
	advance(p);	/* ( */
	if (fn && cur(p)->kind == KS_TOK_RPAREN) {
		advance(p);
		return ks_xmalloc(sizeof(*v));
	}
	for (;;) {
		t = parse_value(p);
		if (!t)
			goto fail;
		if (*n == KS_MAX_LIST) {
			eql_syn(p, t, "list has more than %u values (limit "
				"KS_MAX_LIST)", KS_MAX_LIST);
			goto fail;
		}
		ks_grow(&v, &cap, *n, sizeof(*v));
		v[(*n)++] = t;
		t = cur(p);
		if (t->kind == KS_TOK_RPAREN) {
			advance(p);
			return v;
		}
		if (t->kind != KS_TOK_COMMA) {
			eql_syn(p, t, "expected \",\" or \")\" in %s%s, got %s",
				fn ? "the arguments of " : "the list",
				fn ? fn->s : "", DESC(t));
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
	} else if (is_kw(t, "regex") || is_kw(t, "regex~")) {
		op->kind = OP_REGEX;
		op->ci = t->s[5] == '~';
	} else {
		eql_syn(p, t, "expected an operator after \"%s\", got %s", ft->s,
		    DESC(t));
		return false;
	}
	advance(p);
	return true;
}

/*
 * A comparison of an optional field the schema does not know: the field
 * is null, so "== null" is true and every other comparison false, "!="
 * and "not in" included (the null semantics above).
 */
static struct ks_node *absent_cmp(struct parser *p, const struct ks_token *ft,
				  const struct cmp_op *op,
				  struct ks_token **vals, size_t n)
{
	bool is_null = n == 1 && is_kw(vals[0], "null");

	if (is_null && op->kind != OP_EQ) {
		eql_serr(p, vals[0], "null can only be compared with == or !=");
		return NULL;
	}
	if (op->kind == OP_REGEX &&
	    !regex_check(p, regex_what(ft, KS_SO_EQLRE, op->ci), KS_SO_EQLRE,
			 op->ci, vals, n))
		return NULL;
	return ks_node_bool(p->rs, eql_tok_loc(p, ft), is_null && !op->negate);
}

/*
 * process.entry_leader.entry_meta.type, Elastic Defend's kind of the
 * session's entry leader: "container" when the process runs in a
 * container (its entry leader is the container's init), else how the
 * host session began (ECS lists init, sshd, ssm, kubelet, teleport,
 * terminal, console; Defend also writes unknown). Kestrel tells the first
 * apart from the others by the pid namespace the kernel fills: a process
 * whose pid namespace is not the host's initial one (PROC_PID_INIT_INO,
 * the same inode number on every kernel) is in a container. Which of the
 * host kinds a session is, it cannot say, so a test must give every host
 * kind the same answer; else it is an error naming the value.
 */
static const char *const entry_host_types[] = {
	"init", "sshd", "ssm", "kubelet", "teleport", "terminal", "console",
	"unknown",
};

static bool entry_value(void *arg, const struct ks_field_info *f,
			const struct ks_event *ev, const char **s, size_t *len)
{
	(void)f;
	(void)ev;
	if (!arg)
		return false;
	*s = arg;
	*len = strlen(arg);
	return true;
}

/* n (a test of entry_meta.type) on an event whose type is v (NULL: null) */
static bool entry_test(const struct ks_node *n, const char *v)
{
	static const struct ks_event ev = { .present = ~0u };
	const struct ks_interp_ctx ctx = { .user_str = entry_value,
					   .arg = (void *)v };

	return ks_interp_node_ctx(n, &ev, &ctx);
}

/*
 * The test n of entry_meta.type as the equal test of the pid namespace:
 * true on a container's process if n("container"), on a host process if
 * n holds for the host kinds, on a process whose namespace is unknown (0:
 * old recordings; null) if n(null).
 */
static struct ks_node *entry_meta_fold(struct parser *p, const struct ks_token *ft,
				       struct ks_node *n)
{
	const struct ks_field_info *ns = ks_field_lookup("kestrel.process.pid_ns");
	static const int64_t host = KS_PID_NS_HOST, unknown[] = { 0, KS_PID_NS_HOST };
	struct ks_nodevec vec = { 0 }, un = { 0 }, cont = { 0 };
	bool on_host = entry_test(n, entry_host_types[0]);
	size_t i;

	for (i = 1; i < ARRAY_SIZE(entry_host_types); i++) {
		if (entry_test(n, entry_host_types[i]) != on_host) {
			eql_serr(p, ft, "process.entry_leader.entry_meta.type: Kestrel "
				 "tells \"container\" (a pid namespace other than the "
				 "host's) from the host's sessions, not \"%s\" from "
				 "\"%s\"", entry_host_types[i], entry_host_types[0]);
			return NULL;
		}
	}
	if (entry_test(n, "container")) {	/* != is false on null */
		ks_nodevec_push(&cont, ks_node_num(p->rs, n->loc, ns, KS_CMP_NE,
						   &unknown[0], 1));
		ks_nodevec_push(&cont, ks_node_num(p->rs, n->loc, ns, KS_CMP_NE,
						   &host, 1));
		ks_nodevec_push(&vec, ks_node_join(p->rs, KS_N_AND, n->loc, &cont));
	}
	if (on_host)
		ks_nodevec_push(&vec, ks_node_num(p->rs, n->loc, ns, KS_CMP_EQ,
						  &host, 1));
	if (entry_test(n, NULL)) {
		ks_nodevec_push(&un, ks_node_null(p->rs, n->loc, ns));
		ks_nodevec_push(&un, ks_node_num(p->rs, n->loc, ns, KS_CMP_EQ,
						 unknown, 1));
		ks_nodevec_push(&vec, ks_node_join(p->rs, KS_N_OR, n->loc, &un));
	}
	p->entry_meta = true;
	return ks_node_join(p->rs, KS_N_OR, n->loc, &vec);
}

static bool is_entry_meta(const struct ks_field_info *f)
{
	return f && !strcmp(f->name, "process.entry_leader.entry_meta.type");
}

/*
 * A function of entry_meta.type (startsWith, length, ...) folds as a
 * comparison does; compared with another field it cannot (the other
 * field's value is not known when compiling).
 */
static struct ks_node *entry_meta_fn(struct parser *p, const struct ks_token *nt,
				     struct ks_node *n)
{
	if (n->kind == KS_N_FIELDS && (is_entry_meta(n->field) || is_entry_meta(n->field2))) {
		eql_serr(p, nt, "%s: process.entry_leader.entry_meta.type cannot be "
			 "compared with another field", nt->s);
		return NULL;
	}
	return is_entry_meta(n->field) ? entry_meta_fold(p, nt, n) : n;
}

/* Does n test file.target_path? */
static bool tests_target(const struct ks_node *n)
{
	size_t i;

	if (ks_field_target_alias(n->field) || ks_field_target_alias(n->field2))
		return true;
	for (i = 0; i < n->n_kids; i++)
		if (tests_target(n->kids[i]))
			return true;
	return false;
}

/* Every test of file.target_path in n made a test of `path`. */
static void retarget(struct ks_node *n, const struct ks_field_info *path)
{
	size_t i;

	if (ks_field_target_alias(n->field))
		n->field = path;
	if (ks_field_target_alias(n->field2))
		n->field2 = path;
	for (i = 0; i < n->n_kids; i++)
		retarget(n->kids[i], path);
}

/*
 * A test n of file.target_path (fields.c), a rename's file.path and null
 * on other events, as the test of file.path it is: true on a rename if
 * n(file.path), on any other event if n(null), a constant found by
 * evaluating n on an event whose file.path is null.
 */
static struct ks_node *target_path_fold(struct parser *p, struct ks_node *n)
{
	static const struct ks_event no_file;
	static const int64_t rename = KS_ACT_RENAME;
	const struct ks_field_info *act = ks_field_lookup("event.action");
	struct ks_nodevec on = { 0 }, alt = { 0 };
	struct ks_loc loc = n->loc;
	bool on_null;

	retarget(n, ks_field_lookup("file.path"));
	on_null = ks_interp_node(n, &no_file);
	ks_nodevec_push(&on, ks_node_num(p->rs, loc, act, KS_CMP_EQ, &rename, 1));
	ks_nodevec_push(&on, n);
	n = ks_node_join(p->rs, KS_N_AND, loc, &on);
	if (!on_null)
		return n;
	ks_nodevec_push(&alt, n);
	ks_nodevec_push(&alt, ks_node_num(p->rs, loc, act, KS_CMP_NE, &rename, 1));
	return ks_node_join(p->rs, KS_N_OR, loc, &alt);
}

struct ks_node *eql_parse_comparison(struct parser *p)
{
	struct ks_token *ft = advance(p), *t, **vals, *one;
	const struct ks_field_info *f = eql_field_of(p, ft);
	struct ks_node *n = NULL;
	struct cmp_op op;
	size_t nv = 1;

	if (!parse_op(p, ft, &op))
		return NULL;
	t = cur(p);
	if (op.kind == OP_IN && t->kind != KS_TOK_LPAREN)
		return eql_syn(p, t, "expected \"(\" after \"%s\", got %s", op.text,
			   DESC(t));
	if (t->kind == KS_TOK_LPAREN &&
	    (op.kind == OP_IN || op.kind == OP_COLON || op.kind == OP_LIKE ||
	     op.kind == OP_REGEX)) {
		vals = parse_values(p, NULL, &nv);
		if (!vals)
			return NULL;
	} else {
		one = parse_value(p);
		if (!one)
			return NULL;
		vals = ks_xmalloc(sizeof(*vals));
		vals[0] = one;
	}
	if (f)	/* host.os.type decided now; the query marked for --explain */
		n = ks_node_fold_host(p->rs, build_cmp(p, &(struct cmp){ ft, f, &op, vals, nv }),
				      f, &p->host_os);
	if (n && is_entry_meta(f))
		n = entry_meta_fold(p, ft, n);
	else if (n && ks_field_target_alias(f))
		n = target_path_fold(p, n);
	else if (eql_field_absent(ft))
		n = absent_cmp(p, ft, &op, vals, nv);
	free(vals);
	return n ? n : eql_placeholder(p, ft);
}

/* ---- functions ---- */

enum fn_kind { FN_STARTS, FN_ENDS, FN_CONTAINS, FN_CIDR, FN_REGEX, FN_LENGTH,
	       FN_MODULO };

/* EQL function names. Deliberate twin of logsource's cats[] in sigma.c:
 * both name -> two enums tables, of different things; only the shape. */
static const struct {
	const char *name;
	enum fn_kind kind;
	enum ks_strop op;
} functions[] = {
	{ "startsWith", FN_STARTS, KS_SO_PREFIX },
	{ "endsWith", FN_ENDS, KS_SO_SUFFIX },
	{ "stringContains", FN_CONTAINS, KS_SO_CONTAINS },
	{ "cidrMatch", FN_CIDR, KS_SO_EQ },
	/* Kestrel's: what Sigma's |re prints as (see printer.c) */
	{ "regex", FN_REGEX, KS_SO_REGEX },
	{ "length", FN_LENGTH, KS_SO_EQ },
	{ "modulo", FN_MODULO, KS_SO_EQ },
};

static struct ks_node *fn_cidr(struct parser *p, const struct ks_token *nt,
			       const struct ks_token *ft,
			       const struct ks_field_info *f,
			       struct ks_token **args, size_t n)
{
	struct ks_ipnet *nets;
	struct ks_node *node = NULL;
	size_t i;

	if (f->type != KS_T_IP) {
		eql_serr(p, ft, "%s needs an IP field; %s is a %s", nt->s, f->name,
		     ks_ftype_name(f->type));
		return NULL;
	}
	nets = ks_xmalloc(n * sizeof(*nets));
	for (i = 1; i < n; i++) {
		if (ks_parse_ipnet(args[i]->s, &nets[i - 1], true)) {
			eql_serr(p, args[i], "invalid CIDR \"%s\"", args[i]->s);
			goto out;
		}
	}
	node = ks_node_ip(p->rs, eql_tok_loc(p, nt), f, nets, n - 1);
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

	if (f->type == KS_T_NUM || f->type == KS_T_IP || f->boolean) {
		eql_serr(p, ft, "%s needs a string field; %s is a %s", nt->s,
		     f->name, f->boolean ? "boolean" : ks_ftype_name(f->type));
		return NULL;
	}
	if (f->type != KS_T_ENUM)
		return ks_node_str(p->rs, eql_tok_loc(p, nt), f, so, false, ci, &pat, 1);
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
	n = cmp_enum(p, &(struct cmp){ nt, f, &op, vals, 1 });
	free(tmp.s);
	free(tmp.lit);
	return n;
}

/* Index of the function nt names (a trailing '~' sets *ci), or -1. */
static int fn_find(const struct ks_token *nt, bool *ci)
{
	size_t i, base = strlen(nt->s);

	*ci = base && nt->s[base - 1] == '~';
	base -= *ci;
	for (i = 0; i < ARRAY_SIZE(functions); i++)
		if (strlen(functions[i].name) == base &&
		    !strncasecmp(functions[i].name, nt->s, base) &&
		    !(*ci && (functions[i].kind == FN_CIDR ||
			      functions[i].kind >= FN_LENGTH)))
			return i;
	return -1;
}

/*
 * Fields whose value is one string, as the interpreter reads it: what a
 * function comparing two values or counting characters can take.
 */
static bool fn_one_string(struct parser *p, const struct ks_token *nt,
			  const struct ks_token *ft, const struct ks_field_info *f)
{
	if ((f->type == KS_T_STR || f->type == KS_T_USER_STR ||
	     f->type == KS_T_ENTITY) && !f->array && !f->boolean)
		return true;
	/* a userspace array (process.parent.args) is a string array too */
	eql_serr(p, ft, "%s needs a string field here; %s is a%s %s", nt->s,
		 f->name, f->type == KS_T_IP ? "n" : "",
		 f->array ? "string array" : f->boolean ? "boolean" :
		 ks_ftype_name(f->type));
	return false;
}

/*
 * startsWith/endsWith/stringContains(field, field): Elastic tests one
 * value of the event by another. No kernel table holds two values, so
 * the test is finished in userspace (lower_cond.c says so). An absent
 * optional field reads as null: the test is false, as on a null value.
 */
static struct ks_node *fn_fields(struct parser *p, const struct ks_token *nt,
				 enum ks_strop so, bool ci, struct ks_token **args)
{
	const struct ks_field_info *f = eql_field_of(p, args[0]);
	const struct ks_field_info *g = eql_field_of(p, args[1]);
	struct ks_node *n;

	if ((f && !fn_one_string(p, nt, args[0], f)) ||
	    (g && !fn_one_string(p, nt, args[1], g)))
		return NULL;
	if (!f || !g)
		return NULL;
	n = ks_node_new(p->rs, KS_N_FIELDS, eql_tok_loc(p, nt));
	n->field = f;
	n->field2 = g;
	n->strop = so;
	n->ci = ci;
	return n;
}

/* modulo's arguments: a numeric field and a divisor other than 0 */
static const struct ks_field_info *mod_args(struct parser *p,
					    const struct ks_token *nt,
					    struct ks_token **args, size_t na)
{
	const struct ks_field_info *f;

	if (na != 2 || !eql_is_field_tok(args[0]) ||
	    args[1]->kind != KS_TOK_NUMBER) {
		eql_serr(p, nt, "modulo expects 2 arguments, a field and a number");
		return NULL;
	}
	if (!args[1]->num) {
		eql_serr(p, args[1], "modulo by 0");
		return NULL;
	}
	f = eql_field_of(p, args[0]);
	if (f && f->type != KS_T_NUM) {
		eql_serr(p, args[0], "modulo needs a numeric field; %s is a%s %s",
			 f->name, f->type == KS_T_IP ? "n" : "",
			 ks_ftype_name(f->type));
		return NULL;
	}
	return f;
}

static const struct ks_field_info *len_args(struct parser *p,
					    const struct ks_token *nt,
					    struct ks_token **args, size_t na)
{
	const struct ks_field_info *f;

	if (na != 1 || !eql_is_field_tok(args[0])) {
		eql_serr(p, nt, "length expects 1 argument, a field");
		return NULL;
	}
	f = eql_field_of(p, args[0]);
	return f && fn_one_string(p, nt, args[0], f) ? f : NULL;
}

/*
 * length(field) or modulo(field, n), OP number: the comparison's tokens
 * are next. NULL after an error, with *syntax set for a syntax error.
 */
static struct ks_node *fn_number(struct parser *p, const struct ks_token *nt,
				 enum fn_kind kind, struct ks_token **args,
				 size_t na, bool *syntax)
{
	const struct ks_token *ot = advance(p), *vt = parse_value(p);
	const struct ks_field_info *f;

	*syntax = !vt;
	if (!vt)
		return NULL;
	f = kind == FN_LENGTH ? len_args(p, nt, args, na) : mod_args(p, nt, args, na);
	if (vt->kind != KS_TOK_NUMBER) {
		eql_serr(p, vt, "%s(...) is compared with a number, got %s",
			 nt->s, DESC(vt));
		return NULL;
	}
	if (!f)
		return NULL;
	/* KS_TOK_EQ..GE are in enum ks_cmp's order */
	return ks_node_numfn(p->rs, eql_tok_loc(p, nt),
			     kind == FN_LENGTH ? KS_N_LEN : KS_N_MOD, f,
			     (enum ks_cmp)(ot->kind - KS_TOK_EQ), vt->num,
			     kind == FN_MODULO ? args[1]->num : 0);
}

/* "f(...) == x": report the function, not the "=="; false after a
 * syntax error. */
static bool fn_compared(struct parser *p, const struct ks_token *nt)
{
	bool ci;

	advance(p);
	if (!parse_value(p))
		return false;
	if (fn_find(nt, &ci) < 0)
		eql_serr(p, nt, "unknown function \"%s\"", nt->s);
	else
		eql_serr(p, nt, "comparing the result of %s is not supported",
			 nt->s);
	return true;
}

/* The arguments of function fi: a field, then strings. */
static const struct ks_field_info *fn_check_args(struct parser *p, int fi,
						 const struct ks_token *nt,
						 struct ks_token **args,
						 size_t na)
{
	size_t i;

	if (functions[fi].kind == FN_CIDR ? na < 2 : na != 2) {
		eql_serr(p, nt, "%s expects %s2 arguments, got %zu", nt->s,
			 functions[fi].kind == FN_CIDR ? "at least " : "", na);
		return NULL;
	}
	if (!eql_is_field_tok(args[0])) {
		eql_serr(p, args[0], "the first argument of %s must be a field",
			 nt->s);
		return NULL;
	}
	for (i = 1; i < na; i++) {
		if (args[i]->kind != KS_TOK_STRING) {
			eql_field_of(p, args[0]);
			eql_serr(p, args[i], "the arguments of %s after the field "
				 "must be strings", nt->s);
			return NULL;
		}
	}
	return eql_field_of(p, args[0]);
}

struct ks_node *eql_parse_function(struct parser *p)
{
	struct ks_token *nt = advance(p), **args;
	const struct ks_field_info *f;
	struct ks_node *n = NULL;
	bool ci, syntax = false;
	size_t na;
	int fi;

	args = parse_values(p, nt, &na);
	if (!args)
		return NULL;
	fi = fn_find(nt, &ci);
	if (cur(p)->kind >= KS_TOK_EQ && cur(p)->kind <= KS_TOK_GE) {
		if (fi >= 0 && functions[fi].kind >= FN_LENGTH)
			n = fn_number(p, nt, functions[fi].kind, args, na,
				      &syntax);
		else
			syntax = !fn_compared(p, nt);
		if (syntax) {
			free(args);
			return NULL;
		}
		goto out;
	}
	if (fi < 0) {
		eql_serr(p, nt, "unknown function \"%s\"", nt->s);
		goto out;
	}
	if (functions[fi].kind >= FN_LENGTH) {
		eql_serr(p, nt, "%s(...) is a number: compare it with one",
			 nt->s);
		goto out;
	}
	if (functions[fi].kind <= FN_CONTAINS && na == 2 &&
	    eql_is_field_tok(args[0]) && eql_is_field_tok(args[1])) {
		n = fn_fields(p, nt, functions[fi].op, ci, args);
		goto out;
	}
	f = fn_check_args(p, fi, nt, args, na);
	if (!f)
		goto out;
	if (functions[fi].kind == FN_CIDR)
		n = fn_cidr(p, nt, args[0], f, args, na);
	else if (functions[fi].kind == FN_REGEX)
		n = regex_node(p, nt, args[0], f, KS_SO_REGEX, ci, args + 1, 1);
	else
		n = fn_string(p, nt, args[0], f, functions[fi].op, ci, args);
	/* decided as the operators are (parse_cmp): a function of host.os.type
	 * prints as an operator, which must parse back to the same query */
	n = ks_node_fold_host(p->rs, n, f, &p->host_os);
out:
	free(args);
	if (n)
		n = entry_meta_fn(p, nt, n);
	if (n && tests_target(n))
		n = target_path_fold(p, n);
	return n ? n : eql_placeholder(p, nt);
}
