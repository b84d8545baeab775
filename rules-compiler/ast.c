// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * AST construction: nodes in the ruleset arena, string tests reduced from
 * the wildcard encoding to their most specific operation, IP networks, and
 * the rules of a ruleset (unique ids). The EQL parser and the Sigma
 * importer build every condition through these.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

/* ---- AST construction ---- */

/*
 * Drop repeated values, keeping the first of each in its place: sorting
 * (value, position) pairs costs O(n log n), so a list of 60,000 values
 * is no quadratic trap. cmp orders two values; ties keep the position.
 */
struct dedupe_ref {
	const void *v;
	size_t i;
};

static int dedupe_ref_cmp(const void *x, const void *y, void *arg)
{
	int (*cmp)(const void *, const void *) = arg;
	const struct dedupe_ref *a = x, *b = y;
	int c = cmp(a->v, b->v);

	if (c)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

static size_t dedupe(void *base, size_t n, size_t size,
		     int (*cmp)(const void *, const void *))
{
	struct dedupe_ref *r;
	bool *drop;
	size_t i, k;

	if (n < 2)
		return n;
	r = ks_xmalloc(n * sizeof(*r));
	drop = ks_xmalloc(n);
	for (i = 0; i < n; i++)
		r[i] = (struct dedupe_ref){ (char *)base + i * size, i };
	qsort_r(r, n, sizeof(*r), dedupe_ref_cmp, cmp);
	for (i = 1; i < n; i++)
		drop[r[i].i] = !cmp(r[i - 1].v, r[i].v);
	for (i = k = 0; i < n; i++)
		if (!drop[i])
			memmove((char *)base + k++ * size,
				(char *)base + i * size, size);
	free(r);
	free(drop);
	return k;
}

static int strpat_cmp(const void *x, const void *y)
{
	const struct ks_strpat *a = x, *b = y;
	int c;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->ci != b->ci)
		return a->ci ? 1 : -1;
	c = memcmp(a->s, b->s, a->len);
	return c;
}

static int int64_cmp(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

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

/*
 * n, a comparison of field f, or the constant it always is. host.os.type
 * is decided when compiling: the comparison's own semantics (interpreted,
 * the field reading KS_HOST_OS_TYPE as it does in kload) become a
 * constant, so a rule's `host.os.type == "linux"` costs the kernel
 * nothing. Both front ends fold it here, so a Sigma rule prints as EQL
 * that parses back to the same query. *decided is set when it folds.
 */
struct ks_node *ks_node_fold_host(struct ks_ruleset *rs, struct ks_node *n,
				  const struct ks_field_info *f, bool *decided)
{
	static const struct ks_event none;

	if (!n || !f || strcmp(f->name, "host.os.type"))
		return n;
	*decided = true;
	return ks_node_bool(rs, n->loc, ks_interp_node(n, &none));
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

	n->field = f;
	n->cmp = cmp;
	n->nums = ks_alloc(rs, (cnt ? cnt : 1) * sizeof(*n->nums));
	memcpy(n->nums, nums, cnt * sizeof(*nums));
	n->n_nums = dedupe(n->nums, cnt, sizeof(*n->nums), int64_cmp);
	return n;
}

struct ks_node *ks_node_numfn(struct ks_ruleset *rs, struct ks_loc loc,
			      enum ks_node_kind kind,
			      const struct ks_field_info *f, enum ks_cmp cmp,
			      int64_t v, int64_t div)
{
	struct ks_node *n = ks_node_num(rs, loc, f, cmp, &v, 1);

	n->kind = kind;
	if (kind == KS_N_MOD)
		n->num = div;
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
	if (op == KS_SO_REGEX || op == KS_SO_EQLRE) {
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
	struct ks_node *groups[KS_SO_EQLRE + 1] = { 0 };
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
			/* ending with or containing "" is having a value, as
			 * "*" says: one form, so the printed query parses
			 * back to the same node */
			if (!len && (o == KS_SO_SUFFIX || o == KS_SO_CONTAINS))
				o = KS_SO_PREFIX;
		}
		if (!groups[o])
			groups[o] = str_group(rs, loc, f, o, cnt);
		str_group_add(rs, groups[o], s, len, ci);
		if (wild)
			free(s);
	}
	/* fixed order, most specific first: deterministic output */
	for (i = 0; i < ARRAY_SIZE(groups); i++) {
		if (!groups[i])
			continue;
		groups[i]->n_pats = dedupe(groups[i]->pats, groups[i]->n_pats,
					   sizeof(*groups[i]->pats), strpat_cmp);
		ks_nodevec_push(&vec, groups[i]);
	}
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

/* ---- rules ---- */

bool ks_rule_id_valid(const char *id)
{
	const char *p;

	if (!*id)
		return false;
	for (p = id; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
		      *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

struct ks_rule_src *ks_rule_append(struct ks_ruleset *rs, const char *id,
				   struct ks_loc loc)
{
	struct ks_strmap *ids = &ks_priv(rs)->rule_ids;
	struct ks_strmap_slot *first = ks_strmap_find(ids, id);
	struct ks_rule_src *r;

	if (first) {
		ks_diag_add(&rs->diags, KS_DIAG_ERROR, loc,
			    "duplicate rule id \"%s\"", id);
		ks_diag_add(&rs->diags, KS_DIAG_NOTE, first->val >= KS_SKIPPED_BASE ?
			    rs->skipped[first->val - KS_SKIPPED_BASE].loc :
			    rs->rules[first->val].loc,
			    "\"%s\" first defined here", id);
		return NULL;
	}
	if (rs->n_rules >= KS_MAX_LOADED_RULES) {
		/* said once; the rules after it are not read */
		if (!ks_priv(rs)->rules_capped)
			ks_diag_add(&rs->diags, KS_DIAG_ERROR, loc, "more than %u "
				    "rules (limit KS_MAX_LOADED_RULES)",
				    KS_MAX_LOADED_RULES);
		ks_priv(rs)->rules_capped = true;
		return NULL;
	}
	ks_grow(&rs->rules, &rs->cap, rs->n_rules, sizeof(*rs->rules));
	r = &rs->rules[rs->n_rules];
	memset(r, 0, sizeof(*r));
	r->id = ks_strdup(rs, id);
	r->loc = loc;
	r->severity = KS_SEV_MEDIUM;
	r->action = KS_RA_ALERT;
	r->risk_score = -1;
	ks_strmap_add(ids, r->id, rs->n_rules++);
	return r;
}

void ks_rules_drop(struct ks_ruleset *rs, const bool *keep,
		   const char *const *why)
{
	struct ks_strmap *ids = &ks_priv(rs)->rule_ids;
	size_t i, n = 0;

	for (i = 0; i < rs->n_rules; i++) {
		if (keep[i]) {
			rs->rules[n++] = rs->rules[i];
			continue;
		}
		ks_grow(&rs->skipped, &rs->cap_skipped, rs->n_skipped,
			sizeof(*rs->skipped));
		rs->skipped[rs->n_skipped++] = (struct ks_rule_skipped){
			.id = rs->rules[i].id, .loc = rs->rules[i].loc,
			.why = ks_strdup(rs, why[i]),
		};
	}
	rs->n_rules = n;
	/* the ids stay taken, now naming their new places */
	ks_strmap_free(ids);
	for (i = 0; i < rs->n_rules; i++)
		ks_strmap_add(ids, rs->rules[i].id, i);
	for (i = 0; i < rs->n_skipped; i++)
		ks_strmap_add(ids, rs->skipped[i].id, KS_SKIPPED_BASE + i);
}
