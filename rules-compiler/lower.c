// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lowering: parsed rules into struct ks_tables.
 *
 * Every string test becomes patterns of the one DFA: equality "\x01s\x02",
 * prefix "\x01s", suffix "s\x02", substring "s". An atom is a set of such
 * patterns on one (field, case): the string tests of one disjunction
 * share an atom, so a list of 300 names is one ATOM insn.
 * Everything else a step tests becomes a postfix program (enum ks_op) in
 * three-valued logic; what only userspace can decide is KS_OP_USER, so the
 * kernel's answer is FALSE when the decidable part fails and UNKNOWN (the
 * event is forwarded) otherwise.
 *
 * Each step also gets a trigger set: atoms at least one of which is hit
 * whenever the step is true. Steps are indexed by their trigger atoms
 * (atom_trig/trig_list) or, without a trigger set, by category (cat_list),
 * so the kernel evaluates only steps an event can make true.
 *
 * The output is a function of the rules alone: tables are zeroed first,
 * atoms, cidrs and steps are numbered in rule order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <kestrel/names.h>
#include <kestrel/tablewalk.h>

#include "dfa.h"
#include "internal.h"

#define ATOM_HASH	(2 * KS_MAX_ATOMS)	/* power of two */
#define NOTE_MAX	160
#define TRIG_PER_ATOM	65535u	/* atom_trig count is 16 bits */

/* A trigger set: none (no atom is necessary) or sorted atom ids. */
struct trig {
	bool none;
	uint32_t n;
	uint32_t *v;
};

struct prog {
	struct ks_insn *v;
	char **note;		/* per insn: what a USER leaves to userspace */
	uint32_t n, cap;
};

struct lower {
	const struct ks_ruleset *rs;
	struct ks_diags *diags;
	struct ks_tables *t;
	struct ks_compile_info *info;
	struct ks_lowered *lw;
	int errors;

	struct ks_atom_desc *atoms;
	uint32_t n_atoms, cap_atoms, n_patterns;
	uint32_t *ahash;	/* atom id + 1, open addressing */
	uint32_t rule_atoms;	/* atoms of the current rule (info) */
	uint8_t *atom_rule;	/* atom seen in the current rule */

	struct trig *strig;	/* per table step */
	char **notes;		/* per table insn */

	const struct ks_rule_src *rule;	/* being lowered */
	struct ks_loc loc;		/* for limit errors */
	char why[NOTE_MAX];		/* first reason it is not exact */
};

/* ---- small helpers ---- */

uint64_t ks_fnv1a64(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t fnv1a32(const void *p, size_t n, uint32_t h)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x01000193u;
	}
	return h;
}

uint32_t ks_rule_uid(const struct ks_rule_src *r)
{
	uint32_t h = 0x811c9dc5u;
	const char *id = r->id ? r->id : "";
	const char *q = r->query_text ? r->query_text : "";

	h = fnv1a32(id, strlen(id) + 1, h);	/* with its '\0' */
	return fnv1a32(q, strlen(q), h);
}

static void lerror(struct lower *L, struct ks_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lerror(struct lower *L, struct ks_loc loc, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	L->errors++;
	if (!L->diags)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	ks_diag_add(L->diags, KS_DIAG_ERROR, loc, "%s", msg ? msg : fmt);
	free(msg);
}

static const char *field_name(const struct ks_field_info *f)
{
	return f && f->name ? f->name : "?";
}

static const char *strop_name(enum ks_strop op)
{
	static const char *const names[] = {
		[KS_SO_EQ] = "equality", [KS_SO_PREFIX] = "prefix",
		[KS_SO_SUFFIX] = "suffix", [KS_SO_CONTAINS] = "substring",
		[KS_SO_WILDCARD] = "wildcard", [KS_SO_REGEX] = "regex",
	};

	return op <= KS_SO_REGEX ? names[op] : "string test";
}

/* ---- trigger sets ---- */

static struct trig trig_none(void)
{
	return (struct trig){ .none = true };
}

static struct trig trig_empty(void)
{
	return (struct trig){ .none = false };
}

static struct trig trig_atom(uint32_t a)
{
	struct trig t = { .n = 1, .v = ks_xmalloc(sizeof(uint32_t)) };

	t.v[0] = a;
	return t;
}

static void trig_free(struct trig *t)
{
	free(t->v);
	*t = trig_none();
}

static struct trig trig_dup(const struct trig *t)
{
	struct trig d = *t;

	if (t->n) {
		d.v = ks_xmalloc(t->n * sizeof(*d.v));
		memcpy(d.v, t->v, t->n * sizeof(*d.v));
	}
	return d;
}

/* Union of two sets (consumed); none if either is none. */
static struct trig trig_union(struct trig a, struct trig b)
{
	struct trig u = { .none = false };
	uint32_t i = 0, j = 0;

	if (a.none || b.none) {
		trig_free(&a);
		trig_free(&b);
		return trig_none();
	}
	u.v = ks_xmalloc((a.n + b.n + 1) * sizeof(*u.v));
	while (i < a.n || j < b.n) {
		if (j == b.n || (i < a.n && a.v[i] < b.v[j]))
			u.v[u.n++] = a.v[i++];
		else if (i == a.n || b.v[j] < a.v[i])
			u.v[u.n++] = b.v[j++];
		else
			u.v[u.n++] = a.v[i++], j++;
	}
	trig_free(&a);
	trig_free(&b);
	return u;
}

static uint32_t trig_shortest(const struct lower *L, const struct trig *t)
{
	uint32_t i, m = UINT32_MAX;

	for (i = 0; i < t->n; i++)
		if (L->atoms[t->v[i]].min_len < m)
			m = L->atoms[t->v[i]].min_len;
	return m;
}

/*
 * For a conjunction any child's set will do: keep the one with the fewest
 * atoms (fewest candidate lookups), the longest shortest pattern on ties
 * (a longer pattern hits less often).
 */
static struct trig trig_pick(const struct lower *L, struct trig a,
			     struct trig b)
{
	bool keep_a;

	if (a.none || b.none) {
		keep_a = b.none;
	} else if (a.n != b.n) {
		keep_a = a.n < b.n;
	} else {
		keep_a = trig_shortest(L, &a) >= trig_shortest(L, &b);
	}
	if (keep_a) {
		trig_free(&b);
		return a;
	}
	trig_free(&a);
	return b;
}

/* ---- programs ---- */

static struct ks_insn *emit(struct prog *p, uint8_t op)
{
	struct ks_insn *in;

	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 32;
		p->v = ks_xrealloc(p->v, p->cap * sizeof(*p->v));
		p->note = ks_xrealloc(p->note, p->cap * sizeof(*p->note));
	}
	in = &p->v[p->n];
	memset(in, 0, sizeof(*in));
	in->op = op;
	p->note[p->n++] = NULL;
	return in;
}

static void emit_user(struct lower *L, struct prog *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void emit_user(struct lower *L, struct prog *p, const char *fmt, ...)
{
	char note[NOTE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	emit(p, KS_OP_USER);
	p->note[p->n - 1] = ks_xstrdup(note);
	if (!L->why[0])
		snprintf(L->why, sizeof(L->why), "%s", note);
}

static void emit_field(struct prog *p, uint8_t op, const struct ks_field_info *f,
		       uint8_t cmp, int64_t imm)
{
	struct ks_insn *in = emit(p, op);

	in->field = f->id;
	in->cmp = cmp;
	in->imm = (uint64_t)imm;
	in->arg = f->present;
}

/* NOT NOT x is x: negated null tests produce such pairs. */
static void emit_not(struct prog *p)
{
	if (p->n && p->v[p->n - 1].op == KS_OP_NOT) {
		p->n--;
		return;
	}
	emit(p, KS_OP_NOT);
}

static void prog_free(struct prog *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		free(p->note[i]);
	free(p->v);
	free(p->note);
	memset(p, 0, sizeof(*p));
}

/* ---- atoms: sets of patterns on one (field, case) ---- */

struct pset {
	struct ks_atom_pat *v;
	uint32_t n, cap;
};

/* An OR under construction: one pattern set per (field, case). */
struct orset {
	struct pset s[KS_F_STR_N * KS_CASE_N];
};

static void pset_add(struct pset *ps, bool ci, bool begin, const char *s,
		     size_t len, bool end)
{
	struct ks_atom_pat *pt;
	uint32_t n = 0;
	size_t i;

	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 4;
		ps->v = ks_xrealloc(ps->v, ps->cap * sizeof(*ps->v));
	}
	pt = &ps->v[ps->n++];
	pt->bytes = ks_xmalloc(len + 2);
	if (begin)
		pt->bytes[n++] = KS_SENT_BEGIN;
	for (i = 0; i < len; i++) {
		uint8_t c = s[i];

		pt->bytes[n++] = ci && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	}
	if (end)
		pt->bytes[n++] = KS_SENT_END;
	pt->len = n;
}

static void pset_free(struct pset *ps)
{
	uint32_t i;

	for (i = 0; i < ps->n; i++)
		free(ps->v[i].bytes);
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

static int pat_cmp(const void *x, const void *y)
{
	const struct ks_atom_pat *a = x, *b = y;
	uint32_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->bytes, b->bytes, n);

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Sorted and unique: equal sets get equal atoms whatever the order. */
static void pset_canon(struct pset *ps)
{
	uint32_t i, w = 0;

	qsort(ps->v, ps->n, sizeof(*ps->v), pat_cmp);
	for (i = 0; i < ps->n; i++) {
		if (w && !pat_cmp(&ps->v[w - 1], &ps->v[i])) {
			free(ps->v[i].bytes);
			continue;
		}
		ps->v[w++] = ps->v[i];
	}
	ps->n = w;
}

static uint32_t pset_hash(uint8_t field, uint8_t mode, const struct pset *ps)
{
	uint64_t h = KS_FNV64_INIT;
	uint32_t i;

	h = ks_fnv1a64(&field, 1, h);
	h = ks_fnv1a64(&mode, 1, h);
	for (i = 0; i < ps->n; i++) {
		h = ks_fnv1a64(&ps->v[i].len, sizeof(ps->v[i].len), h);
		h = ks_fnv1a64(ps->v[i].bytes, ps->v[i].len, h);
	}
	return (uint32_t)(h ^ h >> 32) & (ATOM_HASH - 1);
}

static bool pset_equal(const struct ks_atom_desc *a, uint8_t field,
		       uint8_t mode, const struct pset *ps)
{
	uint32_t i;

	if (a->field != field || a->mode != mode || a->n_pats != ps->n)
		return false;
	for (i = 0; i < ps->n; i++)
		if (pat_cmp(&a->pats[i], &ps->v[i]))
			return false;
	return true;
}

static void atom_mark(struct lower *L, uint32_t id)
{
	if (!L->atom_rule[id]) {
		L->atom_rule[id] = 1;
		L->rule_atoms++;
	}
}

/* Atom id of the set (consumed), interned; -1 past KS_MAX_ATOMS. */
static int atom_get(struct lower *L, uint8_t field, uint8_t mode,
		    struct pset *ps)
{
	struct ks_atom_desc *a;
	uint32_t i, id, k;

	pset_canon(ps);
	for (i = pset_hash(field, mode, ps); L->ahash[i];
	     i = (i + 1) & (ATOM_HASH - 1)) {
		id = L->ahash[i] - 1;
		if (pset_equal(&L->atoms[id], field, mode, ps)) {
			pset_free(ps);
			atom_mark(L, id);
			return id;
		}
	}
	if (L->n_atoms >= KS_MAX_ATOMS) {
		lerror(L, L->loc, "rules need more than %u string atoms, limit KS_MAX_ATOMS is %u",
		       KS_MAX_ATOMS, KS_MAX_ATOMS);
		pset_free(ps);
		return -1;
	}
	if (L->n_atoms == L->cap_atoms) {
		L->cap_atoms = L->cap_atoms ? 2 * L->cap_atoms : 64;
		L->atoms = ks_xrealloc(L->atoms, L->cap_atoms * sizeof(*L->atoms));
		L->atom_rule = ks_xrealloc(L->atom_rule, L->cap_atoms);
	}
	id = L->n_atoms++;
	a = &L->atoms[id];
	a->field = field;
	a->mode = mode;
	a->n_pats = ps->n;
	a->pats = ps->v;
	a->min_len = UINT32_MAX;
	for (k = 0; k < ps->n; k++)
		if (ps->v[k].len < a->min_len)
			a->min_len = ps->v[k].len;
	L->n_patterns += ps->n;
	memset(ps, 0, sizeof(*ps));
	L->atom_rule[id] = 0;
	L->ahash[i] = id + 1;
	atom_mark(L, id);
	return id;
}

/* A one-pattern atom. */
static int atom_framed(struct lower *L, const struct ks_field_info *f, bool ci,
		       bool begin, const char *s, size_t len, bool end)
{
	struct pset ps = { 0 };

	pset_add(&ps, ci, begin, s, len, end);
	return atom_get(L, f->id, ci ? KS_CASE_FOLD : KS_CASE_EXACT, &ps);
}

/*
 * ATOM a, with the atom's field and what a miss leaves undecided on a
 * path cut on the left (KS_ATOM_* in maps/ks_tables.h).
 */
static void emit_atom(struct lower *L, struct prog *p, uint32_t a)
{
	const struct ks_atom_desc *d = &L->atoms[a];
	struct ks_insn *in = emit(p, KS_OP_ATOM);
	uint64_t pre = 0, suf = 0, mid = 0;
	uint32_t i;

	in->arg = a;
	in->field = d->field;
	for (i = 0; i < d->n_pats; i++) {
		const struct ks_atom_pat *pt = &d->pats[i];
		bool b = pt->len && pt->bytes[0] == KS_SENT_BEGIN;
		bool e = pt->len && pt->bytes[pt->len - 1] == KS_SENT_END;
		uint64_t core = pt->len - b - e;

		if (b && e)
			mid |= core >= KS_PATH_MAX;
		else if (b)
			pre = core > pre ? core : pre;
		else if (e)
			suf = core > suf ? core : suf;
		else
			mid = 1;
	}
	if (pre > 0xffff || suf > 0xffff)
		mid = 1;
	in->imm = (pre & 0xffff) | (suf & 0xffff) << 16 | (mid ? KS_ATOM_MIDDLE : 0);
}

/* Emit an ATOM per pattern set of the OR, as further OR operands. */
static struct trig orset_flush(struct lower *L, struct prog *p,
			       struct orset *os, uint32_t *emitted)
{
	struct trig tr = trig_empty();
	uint32_t k;
	int a;

	for (k = 0; k < KS_F_STR_N * KS_CASE_N; k++) {
		if (!os->s[k].n)
			continue;
		a = atom_get(L, k / KS_CASE_N, k % KS_CASE_N, &os->s[k]);
		if (a < 0)
			continue;
		emit_atom(L, p, a);
		if (++*emitted > 1)
			emit(p, KS_OP_OR);
		tr = trig_union(tr, trig_atom(a));
	}
	return tr;
}

static void orset_free(struct orset *os)
{
	uint32_t k;

	for (k = 0; k < KS_F_STR_N * KS_CASE_N; k++)
		pset_free(&os->s[k]);
}

static int cidr_get(struct lower *L, const struct ks_ipnet *net)
{
	struct ks_tables *t = L->t;
	struct ks_cidr c;
	uint32_t i;

	memset(&c, 0, sizeof(c));
	memcpy(c.addr, net->addr, 16);
	c.prefix = net->prefix;
	for (i = 0; i < t->hdr.n_cidrs; i++)
		if (!memcmp(&t->cidrs[i], &c, sizeof(c)))
			return i;
	if (t->hdr.n_cidrs >= KS_MAX_CIDRS) {
		lerror(L, L->loc, "rules need more than %u networks, limit KS_MAX_CIDRS is %u",
		       KS_MAX_CIDRS, KS_MAX_CIDRS);
		return -1;
	}
	t->cidrs[t->hdr.n_cidrs] = c;
	return t->hdr.n_cidrs++;
}

/* ---- string tests ---- */

static bool has_ctl(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((uint8_t)s[i] <= KS_SENT_END)
			return true;
	return false;
}

/* "bytes" escaped for a message, shortened with ... to fit size (>= 8). */
static void quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t need, w;

	buf[0] = '"';
	need = ks_escape_bytes(buf + 1, size - 5, (const uint8_t *)s, len);
	w = strlen(buf + 1);
	strcpy(buf + 1 + w, need > w ? "...\"" : "\"");
}

/*
 * The exact string tests are patterns of the OR's pattern set for their
 * (field, case); they become one atom when the OR is complete. Only tests
 * on empty strings need an instruction of their own.
 */
static struct trig lower_exact(struct lower *L, struct prog *p,
			       struct orset *os, uint32_t *emitted,
			       const struct ks_field_info *f, enum ks_strop op,
			       const char *s, size_t len, bool ci)
{
	bool begin = op == KS_SO_EQ || op == KS_SO_PREFIX;
	bool end = op == KS_SO_EQ || op == KS_SO_SUFFIX;
	bool array = f->type == KS_T_STR_ARRAY;
	uint8_t mode = ci ? KS_CASE_FOLD : KS_CASE_EXACT;

	if (!len && !array) {
		/* "\x01\x02" would mean scanning empty values: test the
		 * length, or, for "starts with nothing", presence */
		if (op == KS_SO_EQ)
			emit_field(p, KS_OP_STRLEN, f, KS_CMP_EQ, 0);
		else
			emit_field(p, KS_OP_PRESENT, f, 0, 0);
		if (++*emitted > 1)
			emit(p, KS_OP_OR);
		return trig_none();
	}
	/* an empty operand on an array: some element exists, "\x01" */
	if (!len)
		begin = true;
	pset_add(&os->s[f->id * KS_CASE_N + mode], ci, begin, s, len, end);
	return trig_empty();
}

/*
 * A wildcard that is none of the four exact shapes: each literal segment
 * must occur (the first anchored at the start unless the pattern starts
 * with a wildcard, the last at the end likewise), which the kernel checks;
 * the order and the '?' positions are left to userspace.
 */
static struct trig lower_wild(struct lower *L, struct prog *p,
			      const struct ks_field_info *f, const char *w,
			      size_t wlen, bool ci)
{
	struct trig best = trig_none(), one;
	char *seg = ks_xmalloc(wlen + 1), q[80];
	size_t i = 0, n, start;
	bool first = true, any = false, begin;
	int a;

	while (i < wlen) {
		if (w[i] == '*' || w[i] == '?') {
			i++;
			continue;
		}
		start = i;
		for (n = 0; i < wlen && w[i] != '*' && w[i] != '?'; i++) {
			if (w[i] == '\\' && i + 1 < wlen)
				i++;
			seg[n++] = w[i];
		}
		begin = start == 0;
		a = atom_framed(L, f, ci, begin, seg, n, i == wlen);
		if (a < 0)
			break;
		emit_atom(L, p, a);
		if (!first)
			emit(p, KS_OP_AND);
		first = false;
		any = true;
		one = trig_atom(a);
		best = trig_pick(L, best, one);
	}
	free(seg);
	quote(q, sizeof(q), w, wlen);
	emit_user(L, p, "wildcard %s on %s is decided in userspace", q,
		  f->name);
	if (any)
		emit(p, KS_OP_AND);
	return best;
}

/*
 * A literal every match of a POSIX ERE must contain: the longest run of
 * plain characters at the top level. Conservative: no alternation at all,
 * bracket expressions and groups are skipped, and a character followed by
 * a quantifier that allows zero repetitions is dropped.
 */
static size_t regex_literal(const char *re, size_t len, char *out)
{
	size_t i, n = 0, best = 0, depth = 0;
	char *cur = out + len + 1;	/* scratch after the result area */

	for (i = 0; i < len; i++)
		if (re[i] == '|')
			return 0;
	for (i = 0; i < len; i++) {
		char c = re[i];
		bool lit = false;

		if (c == '\\' && i + 1 < len) {
			c = re[++i];
			lit = !strchr("dDwWsSbBnrtfv0123456789", c);
		} else if (c == '[') {
			/* skip the bracket expression, "[]...]" included */
			i++;
			if (i < len && re[i] == '^')
				i++;
			if (i < len && re[i] == ']')
				i++;
			while (i < len && re[i] != ']')
				i++;
		} else if (c == '{') {
			while (i < len && re[i] != '}')
				i++;	/* a bound: "{0,2}" is no literal */
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (depth)
				depth--;
		} else if (!depth && !strchr(".^$*+?{}", c)) {
			lit = true;
		}
		if (lit && !depth && i + 1 < len &&
		    strchr("*?{", re[i + 1]))
			lit = false;	/* may occur zero times */
		if (lit && !depth) {
			cur[n++] = c;
			if (i + 1 < len && re[i + 1] == '+')
				lit = false;	/* ends the run after c */
		}
		if (!lit || depth) {
			if (n > best) {
				best = n;
				memcpy(out, cur, n);
			}
			n = 0;
		}
	}
	if (n > best) {
		best = n;
		memcpy(out, cur, n);
	}
	return best;
}

static struct trig lower_regex(struct lower *L, struct prog *p,
			       const struct ks_field_info *f,
			       const struct ks_strpat *pat)
{
	char *lit = ks_xmalloc(2 * pat->len + 2), q[80];
	struct trig tr = trig_none();
	size_t n = regex_literal(pat->s, pat->len, lit);
	int a = -1;

	if (n && !has_ctl(lit, n))
		a = atom_framed(L, f, pat->ci, false, lit, n, false);
	if (a >= 0) {
		emit_atom(L, p, a);
		tr = trig_atom(a);
	}
	free(lit);
	quote(q, sizeof(q), pat->s, pat->len);
	emit_user(L, p, "regex %s on %s is decided in userspace", q, f->name);
	if (a >= 0)
		emit(p, KS_OP_AND);
	return tr;
}

/* One operand of an OR emitted on its own. */
static void or_operand(struct prog *p, uint32_t *emitted)
{
	if (++*emitted > 1)
		emit(p, KS_OP_OR);
}

static struct trig lower_pat(struct lower *L, struct prog *p, struct orset *os,
			     uint32_t *emitted, const struct ks_field_info *f,
			     enum ks_strop op, const struct ks_strpat *pat)
{
	struct trig tr;
	enum ks_strop rop;
	size_t rlen;
	char *r, q[80];

	if (op == KS_SO_REGEX) {
		tr = lower_regex(L, p, f, pat);
		or_operand(p, emitted);
		return tr;
	}
	if (op == KS_SO_WILDCARD) {
		/* hand-built ASTs may hold reducible wildcards */
		rop = ks_wild_reduce(pat->s, pat->len, &r, &rlen);
	} else {
		rop = op;
		rlen = pat->len;
		r = ks_xmalloc(rlen + 1);
		memcpy(r, pat->s, rlen);
	}
	if (has_ctl(r, rlen)) {
		quote(q, sizeof(q), pat->s, pat->len);
		emit_user(L, p, "%s %s on %s holds a byte the kernel uses as a separator (0x00-0x02); decided in userspace",
			  strop_name(op), q, f->name);
		or_operand(p, emitted);
		tr = trig_none();
	} else if (rop == KS_SO_WILDCARD) {
		tr = lower_wild(L, p, f, r, rlen, pat->ci);
		or_operand(p, emitted);
	} else {
		tr = lower_exact(L, p, os, emitted, f, rop, r, rlen, pat->ci);
	}
	free(r);
	return tr;
}

/* The patterns of a string test, as operands of an enclosing OR. */
static struct trig lower_str_or(struct lower *L, struct prog *p,
				struct orset *os, uint32_t *emitted,
				const struct ks_node *n)
{
	const struct ks_field_info *f = n->field;
	struct trig tr = trig_empty();
	size_t i;

	if (!n->n_pats)
		return trig_empty();	/* "any of nothing": adds nothing */
	if (!f || f->id == KS_F_NONE || !KS_F_IS_STR(f->id)) {
		emit_user(L, p, "%s test on %s is decided in userspace (the kernel does not see its value)",
			  strop_name(n->strop), field_name(f));
		or_operand(p, emitted);
		return trig_none();
	}
	for (i = 0; i < n->n_pats; i++)
		tr = trig_union(tr, lower_pat(L, p, os, emitted, f, n->strop,
					      &n->pats[i]));
	return tr;
}

/*
 * A disjunction: string tests are pooled per (field, case) into one atom
 * each, everything else is an operand of its own. OR is commutative in
 * Kleene logic, so moving the atoms to the end changes no result.
 */
static struct trig lower_node(struct lower *L, struct prog *p,
			      const struct ks_node *n);

static struct trig lower_or(struct lower *L, struct prog *p,
			    const struct ks_node *const *kids, size_t n_kids)
{
	struct trig tr = trig_empty();
	struct orset os;
	uint32_t emitted = 0;
	size_t i;

	memset(&os, 0, sizeof(os));
	for (i = 0; i < n_kids; i++) {
		if (kids[i]->kind == KS_N_STR) {
			tr = trig_union(tr, lower_str_or(L, p, &os, &emitted,
							 kids[i]));
			continue;
		}
		tr = trig_union(tr, lower_node(L, p, kids[i]));
		or_operand(p, &emitted);
	}
	tr = trig_union(tr, orset_flush(L, p, &os, &emitted));
	orset_free(&os);
	if (!emitted)
		emit(p, KS_OP_FALSE);	/* nothing can be true */
	return tr;
}

/* ---- numbers, addresses, null ---- */

/* Numeric and enum fields the kernel reads from struct ks_event. */
static bool kernel_num(const struct ks_field_info *f)
{
	static const struct ks_event ev;
	int64_t v;

	return f && f->id != KS_F_NONE && ks_ev_num(&ev, f->id, &v);
}

static struct trig lower_num(struct lower *L, struct prog *p,
			     const struct ks_node *n)
{
	size_t i, n_nums = n->n_nums;

	if (!kernel_num(n->field)) {
		emit_user(L, p, "comparison on %s is decided in userspace",
			  field_name(n->field));
		return trig_none();
	}
	if (!n->n_nums) {
		emit(p, KS_OP_FALSE);
		return trig_empty();
	}
	/* EQ over a list is IN, NE over a list NOT IN; order: nums[0] */
	if (n->cmp != KS_CMP_EQ && n->cmp != KS_CMP_NE)
		n_nums = 1;
	for (i = 0; i < n_nums; i++) {
		emit_field(p, KS_OP_CMP, n->field, n->cmp, n->nums[i]);
		if (i)
			emit(p, n->cmp == KS_CMP_NE ? KS_OP_AND : KS_OP_OR);
	}
	return trig_none();
}

static struct trig lower_ip(struct lower *L, struct prog *p,
			    const struct ks_node *n)
{
	const struct ks_field_info *f = n->field;
	struct ks_insn *in;
	size_t i;
	int c;

	if (!f || (f->id != KS_F_SOURCE_IP && f->id != KS_F_DEST_IP)) {
		emit_user(L, p, "address test on %s is decided in userspace",
			  field_name(f));
		return trig_none();
	}
	if (!n->n_nets) {
		emit(p, KS_OP_FALSE);
		return trig_empty();
	}
	for (i = 0; i < n->n_nets; i++) {
		c = cidr_get(L, &n->nets[i]);
		in = emit(p, KS_OP_CIDR);
		in->field = f->id;
		in->arg = c < 0 ? 0 : c;
		in->imm = f->present;
		if (i)
			emit(p, KS_OP_OR);
	}
	return trig_none();
}

static struct trig lower_null(struct lower *L, struct prog *p,
			      const struct ks_node *n)
{
	if (!n->field || n->field->id == KS_F_NONE) {
		emit_user(L, p, "null test on %s is decided in userspace",
			  field_name(n->field));
		return trig_none();
	}
	emit_field(p, KS_OP_PRESENT, n->field, 0, 0);
	emit_not(p);
	return trig_none();
}

static struct trig lower_and(struct lower *L, struct prog *p,
			     const struct ks_node *n)
{
	struct trig tr, kid;
	size_t i;

	if (!n->n_kids) {
		emit(p, KS_OP_TRUE);
		return trig_none();
	}
	tr = lower_node(L, p, n->kids[0]);
	for (i = 1; i < n->n_kids; i++) {
		kid = lower_node(L, p, n->kids[i]);
		emit(p, KS_OP_AND);
		tr = trig_pick(L, tr, kid);
	}
	return tr;
}

static struct trig lower_node(struct lower *L, struct prog *p,
			      const struct ks_node *n)
{
	struct trig tr;

	switch (n->kind) {
	case KS_N_AND:
		return lower_and(L, p, n);
	case KS_N_OR:
		return lower_or(L, p, (const struct ks_node *const *)n->kids,
				n->n_kids);
	case KS_N_NOT:
		if (n->n_kids != 1)
			break;
		tr = lower_node(L, p, n->kids[0]);
		trig_free(&tr);
		emit_not(p);
		return trig_none();
	case KS_N_BOOL:
		emit(p, n->num ? KS_OP_TRUE : KS_OP_FALSE);
		/* a step that cannot be true needs no index entry at all */
		return n->num ? trig_none() : trig_empty();
	case KS_N_STR:
		return lower_or(L, p, &n, 1);
	case KS_N_NUM:
		return lower_num(L, p, n);
	case KS_N_IP:
		return lower_ip(L, p, n);
	case KS_N_NULL:
		return lower_null(L, p, n);
	}
	emit_user(L, p, "an unsupported condition is decided in userspace");
	return trig_none();
}

/* ---- steps and rules ---- */

static uint32_t stack_depth(const struct prog *p)
{
	uint32_t i, sp = 0, max = 0;

	for (i = 0; i < p->n; i++) {
		switch (p->v[i].op) {
		case KS_OP_AND:
		case KS_OP_OR:
			sp--;
			break;
		case KS_OP_NOT:
			break;
		default:
			if (++sp > max)
				max = sp;
		}
	}
	return max;
}

static bool prog_exact(const struct prog *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].op == KS_OP_USER)
			return false;
	return true;
}

/* Append a step program to the table; -1 on a limit. */
static int place_prog(struct lower *L, struct prog *p, struct ks_loc loc,
		      uint32_t *first)
{
	struct ks_tables *t = L->t;
	uint32_t depth = stack_depth(p);

	if (p->n > KS_MAX_PROG_LEN) {
		lerror(L, loc, "step program has %u instructions, limit KS_MAX_PROG_LEN is %u",
		       p->n, KS_MAX_PROG_LEN);
		return -1;
	}
	if (depth > KS_MAX_STACK) {
		lerror(L, loc, "step program needs a stack of %u, limit KS_MAX_STACK is %u",
		       depth, KS_MAX_STACK);
		return -1;
	}
	if (t->hdr.n_insns + p->n > KS_MAX_INSNS) {
		lerror(L, loc, "rules need more than %u program instructions, limit KS_MAX_INSNS is %u",
		       KS_MAX_INSNS, KS_MAX_INSNS);
		return -1;
	}
	*first = t->hdr.n_insns;
	memcpy(&t->insns[*first], p->v, p->n * sizeof(*p->v));
	memcpy(&L->notes[*first], p->note, p->n * sizeof(*p->note));
	memset(p->note, 0, p->n * sizeof(*p->note));	/* moved */
	t->hdr.n_insns += p->n;
	return 0;
}

struct step_out {
	uint32_t prog, len;
	bool exact;
	struct trig trig;
};

static int lower_step_prog(struct lower *L, const struct ks_step_ast *s,
			   struct step_out *o)
{
	struct prog p = { 0 };
	int ret;

	L->loc = s->loc;
	if (s->cond) {
		o->trig = lower_node(L, &p, s->cond);
	} else {
		emit(&p, KS_OP_TRUE);
		o->trig = trig_none();
	}
	o->exact = prog_exact(&p);
	o->len = p.n;
	ret = place_prog(L, &p, s->loc, &o->prog);
	prog_free(&p);
	return ret;
}

static bool join_visible(const struct ks_field_info *f)
{
	return f && f->id != KS_F_NONE && f->id != KS_F_PROCESS_ARGS;
}

/* Emit one table step; copies of a `runs` step share the program. */
#define ACT(a)		(1u << (a))
#define ACT_ALL		((ACT(KS_ACT_N) - 1) & ~ACT(KS_ACT_NONE))

static uint32_t category_actions(enum ks_category c)
{
	switch (c) {
	case KS_CAT_PROCESS:
		return ACT(KS_ACT_EXEC) | ACT(KS_ACT_EXIT) | ACT(KS_ACT_FORK);
	case KS_CAT_FILE:
		return ACT(KS_ACT_OPEN) | ACT(KS_ACT_CREATION) | ACT(KS_ACT_DELETION) |
		       ACT(KS_ACT_RENAME) | ACT(KS_ACT_MODIFICATION);
	case KS_CAT_NETWORK:
		return ACT(KS_ACT_CONNECT) | ACT(KS_ACT_ACCEPT) | ACT(KS_ACT_PACKET);
	default:
		return ACT_ALL;
	}
}

/*
 * The event actions for which n can be true: a superset, read off
 * `event.action == ...` / `in (...)` conjuncts; anything else allows all.
 */
static uint32_t node_actions(const struct ks_node *n)
{
	uint32_t m;
	size_t i;

	if (!n)
		return ACT_ALL;
	switch (n->kind) {
	case KS_N_AND:
		for (m = ACT_ALL, i = 0; i < n->n_kids; i++)
			m &= node_actions(n->kids[i]);
		return m;
	case KS_N_OR:
		for (m = 0, i = 0; i < n->n_kids; i++)
			m |= node_actions(n->kids[i]);
		return m;
	case KS_N_BOOL:
		return n->num ? ACT_ALL : 0;
	case KS_N_NUM:
		if (!n->field || n->field->id != KS_F_ACTION || n->cmp != KS_CMP_EQ)
			return ACT_ALL;
		for (m = 0, i = 0; i < n->n_nums; i++)
			if (n->nums[i] > KS_ACT_NONE && n->nums[i] < KS_ACT_N)
				m |= ACT(n->nums[i]);
		return m;
	default:
		return ACT_ALL;
	}
}

static int add_step(struct lower *L, uint32_t rule, uint32_t index,
		    uint8_t flags, const struct ks_query *q,
		    const struct ks_step_ast *s, const struct step_out *o)
{
	struct ks_tables *t = L->t;
	struct ks_step *st;
	size_t j;

	if (t->hdr.n_steps >= KS_MAX_STEPS) {
		lerror(L, s->loc, "rules need more than %u steps, limit KS_MAX_STEPS is %u",
		       KS_MAX_STEPS, KS_MAX_STEPS);
		return -1;
	}
	st = &t->steps[t->hdr.n_steps];
	st->rule = rule;
	st->index = index;
	st->flags = flags | (o->exact ? KS_S_EXACT : 0);
	st->category = s->category;
	t->hdr.action_mask |= node_actions(s->cond) & category_actions(s->category);
	st->prog = o->prog;
	st->prog_len = o->len;
	for (j = 0; j < q->n_join; j++)
		st->join[st->n_join++] = q->join[j] ? q->join[j]->id : 0;
	for (j = 0; j < s->n_join; j++)
		st->join[st->n_join++] = s->join[j] ? s->join[j]->id : 0;
	L->strig[t->hdr.n_steps++] = trig_dup(&o->trig);
	return 0;
}

static int check_joins(struct lower *L, const struct ks_rule_src *r,
		       const struct ks_query *q, bool *visible)
{
	size_t i, n, want = q->n_join + q->steps[0].n_join;
	const struct ks_step_ast *s;

	*visible = true;
	for (i = 0; i < q->n_join; i++)
		*visible &= join_visible(q->join[i]);
	for (i = 0; i <= q->n_steps; i++) {
		s = i < q->n_steps ? &q->steps[i] : q->until;
		if (!s)
			continue;
		n = q->n_join + s->n_join;
		if (n != want) {
			lerror(L, s->loc, "step joins on %zu fields, the first step on %zu: every step needs the same number of join fields",
			       n, want);
			return -1;
		}
		if (n > KS_MAX_JOIN) {
			lerror(L, s->loc, "step joins on %zu fields, limit KS_MAX_JOIN is %u",
			       n, KS_MAX_JOIN);
			return -1;
		}
		for (n = 0; n < s->n_join; n++)
			*visible &= join_visible(s->join[n]);
	}
	return 0;
}

/*
 * Can the step match an XDP packet (which has no process to kill)? Only
 * if its category admits network events and its condition does not rule
 * packets out: a positive test on event.action without "packet", or on a
 * field packets never carry (process, file and user fields).
 */
static bool excludes_packets(const struct ks_node *n)
{
	size_t i;

	if (!n)
		return false;
	switch (n->kind) {
	case KS_N_AND:
		for (i = 0; i < n->n_kids; i++)
			if (excludes_packets(n->kids[i]))
				return true;
		return false;
	case KS_N_OR:
		for (i = 0; i < n->n_kids; i++)
			if (!excludes_packets(n->kids[i]))
				return false;
		return n->n_kids > 0;
	case KS_N_BOOL:
		return !n->num;
	case KS_N_NUM:
		if (n->field && n->field->id == KS_F_ACTION &&
		    (n->cmp == KS_CMP_EQ || n->cmp == KS_CMP_NE)) {
			/* EQ is IN, NE is NOT IN */
			for (i = 0; i < n->n_nums; i++)
				if (n->nums[i] == KS_ACT_PACKET)
					return n->cmp == KS_CMP_NE;
			return n->cmp == KS_CMP_EQ;
		}
		if (n->field && n->field->id == KS_F_CATEGORY &&
		    n->cmp == KS_CMP_EQ) {
			for (i = 0; i < n->n_nums; i++)
				if (n->nums[i] == KS_CAT_NETWORK)
					return false;
			return true;
		}
		/* fall through */
	case KS_N_STR:
	case KS_N_IP:
		return n->field && (n->field->present &
				    (KS_P_PROCESS | KS_P_PARENT | KS_P_FILE |
				     KS_P_TARGET | KS_P_EXIT_CODE | KS_P_USER));
	default:
		return false;
	}
}

static bool may_be_packet(const struct ks_step_ast *s)
{
	if (s->category != KS_CAT_ANY && s->category != KS_CAT_NETWORK)
		return false;
	return !excludes_packets(s->cond);
}

static void check_action(struct lower *L, const struct ks_rule_src *r,
			 const struct ks_query *q, bool exact)
{
	if (r->action == KS_RA_ALERT)
		return;
	if (!exact) {
		lerror(L, r->loc, "action %s needs a kernel-exact rule: %s",
		       ks_rule_action_name(r->action), L->why);
		return;
	}
	if (r->action == KS_RA_KILL && may_be_packet(&q->steps[q->n_steps - 1]))
		lerror(L, r->loc, "action kill needs a process to kill, but the completing step can match network packets (XDP), which have none: require event.action != \"packet\" or a process field, or use block");
}

static int lower_query(struct lower *L, uint32_t ri, const struct ks_rule_src *r,
		       const struct ks_query *q)
{
	struct ks_rule *kr = &L->t->rules[ri];
	struct step_out o;
	uint32_t total = 0, idx = 0, k, run;
	bool exact = true, joins_ok;
	int ret = 0;

	for (k = 0; k < q->n_steps; k++)
		total += q->steps[k].runs ? q->steps[k].runs : 1;
	if (!q->n_steps || total > 255) {
		lerror(L, q->loc, "sequence expands to %u steps (runs included), at most 255 are supported",
		       total);
		return -1;
	}
	if (check_joins(L, r, q, &joins_ok))
		return -1;
	kr->first_step = L->t->hdr.n_steps;
	kr->n_steps = total;
	for (k = 0; k < q->n_steps && !ret; k++) {
		const struct ks_step_ast *s = &q->steps[k];
		unsigned int runs = s->runs ? s->runs : 1;

		memset(&o, 0, sizeof(o));
		ret = lower_step_prog(L, s, &o);
		exact &= o.exact;
		for (run = 0; run < runs && !ret; run++, idx++)
			ret = add_step(L, ri, idx, idx + 1 == total ? KS_S_LAST : 0,
				       q, s, &o);
		trig_free(&o.trig);
	}
	if (!ret && q->until) {
		memset(&o, 0, sizeof(o));
		ret = lower_step_prog(L, q->until, &o);
		exact &= o.exact;
		kr->until_step = L->t->hdr.n_steps;
		kr->flags |= KS_R_UNTIL;
		if (!ret)
			ret = add_step(L, ri, total, KS_S_UNTIL, q, q->until, &o);
		trig_free(&o.trig);
	}
	if (ret)
		return ret;
	if (exact && q->sequence && total > KS_MAX_KSTEPS) {
		snprintf(L->why, sizeof(L->why), "the sequence expands to %u steps, the kernel tracks at most KS_MAX_KSTEPS (%u)",
			 total, KS_MAX_KSTEPS);
		exact = false;
	}
	if (exact && q->sequence && !joins_ok) {
		snprintf(L->why, sizeof(L->why), "a join field is not visible to the kernel");
		exact = false;
	}
	if (q->sequence)
		kr->flags |= KS_R_SEQUENCE | (exact ? KS_R_KSTATE : 0);
	kr->flags |= exact ? KS_R_EXACT : 0;
	kr->maxspan_ns = q->maxspan_ns;
	check_action(L, r, q, exact);
	return 0;
}

static int lower_rule(struct lower *L, uint32_t ri)
{
	const struct ks_rule_src *r = &L->rs->rules[ri];
	struct ks_rule *kr = &L->t->rules[ri];
	struct ks_rule_info *ri_info = L->info ? &L->info->rules[ri] : NULL;
	uint32_t first, i;
	int ret;

	L->rule = r;
	L->loc = r->loc;
	L->why[0] = 0;
	L->rule_atoms = 0;
	if (L->n_atoms)
		memset(L->atom_rule, 0, L->n_atoms);
	kr->uid = ks_rule_uid(r);
	kr->action = r->action;
	kr->severity = r->severity;
	if (!r->q) {
		/* its parse error is already reported; keep indices aligned */
		L->errors++;
		return 0;
	}
	first = L->t->hdr.n_steps;
	ret = lower_query(L, ri, r, r->q);
	if (!ri_info)
		return ret;
	ri_info->exact = kr->flags & KS_R_EXACT;
	snprintf(ri_info->why_not_exact, sizeof(ri_info->why_not_exact), "%s",
		 ri_info->exact ? "" : L->why);
	for (i = first; i < L->t->hdr.n_steps; i++)
		ri_info->n_kernel_steps += !!(L->t->steps[i].flags & KS_S_EXACT);
	ri_info->n_atoms = L->rule_atoms;
	return ret;
}

/* ---- DFA and indexes ---- */

static int build_dfa(struct lower *L)
{
	struct ks_dfa_automaton au[KS_F_STR_N * KS_CASE_N];
	struct ks_tables *t = L->t;
	struct ks_dfa_pattern *pats;
	struct ks_loc none = { 0 };
	struct ks_dfa d;
	char err[200];
	uint32_t i, k, n, f, m;
	int ret;

	for (f = 0; f < KS_F_STR_N; f++)
		for (m = 0; m < KS_CASE_N; m++) {
			au[f * KS_CASE_N + m].mode = m;
			/* args are several frames in one walk */
			au[f * KS_CASE_N + m].single_start = f != KS_F_PROCESS_ARGS;
		}
	pats = ks_xmalloc((L->n_patterns + 1) * sizeof(*pats));
	for (i = 0, n = 0; i < L->n_atoms; i++) {
		for (k = 0; k < L->atoms[i].n_pats; k++, n++) {
			pats[n].bytes = L->atoms[i].pats[k].bytes;
			pats[n].len = L->atoms[i].pats[k].len;
			pats[n].automaton = L->atoms[i].field * KS_CASE_N +
					    L->atoms[i].mode;
			pats[n].atom = i;
		}
	}
	ret = ks_dfa_build(pats, n, au, KS_F_STR_N * KS_CASE_N, NULL,
			   &d, err, sizeof(err));
	free(pats);
	if (ret) {
		lerror(L, L->rs->n_rules ? L->rs->rules[0].loc : none,
		       "rule set does not fit the kernel tables: %s", err);
		return -1;
	}
	memcpy(t->cls, d.cls, sizeof(t->cls));
	memcpy(t->cls_fold, d.cls_fold, sizeof(t->cls_fold));
	for (f = 0; f < KS_F_STR_N; f++)
		for (m = 0; m < KS_CASE_N; m++)
			t->start[f][m] = d.start[f * KS_CASE_N + m];
	for (i = 0; i < d.n_states * d.n_classes; i++)
		t->dfa[i] = d.next[i];	/* n_states <= KS_MAX_STATES: fits u16 */
	memcpy(t->acc, d.acc, (d.n_states - d.acc_base) * sizeof(*t->acc));
	memcpy(t->acc_list, d.acc_list, d.n_acc_list * sizeof(*t->acc_list));
	t->hdr.n_states = d.n_states;
	t->hdr.n_classes = d.n_classes;
	t->hdr.acc_base = d.acc_base;
	t->hdr.cls_begin = d.cls_begin;
	t->hdr.cls_end = d.cls_end;
	t->hdr.n_acc_list = d.n_acc_list;
	ks_dfa_free(&d);
	return 0;
}

static bool step_enforces(const struct ks_tables *t, uint32_t s)
{
	return t->rules[t->steps[s].rule].action != KS_RA_ALERT;
}

/* Does step s have a trigger atom on `field`? */
static bool trig_on(const struct lower *L, uint32_t s, uint32_t field)
{
	const struct trig *tr = &L->strig[s];
	uint32_t i;

	for (i = 0; i < tr->n; i++)
		if (L->atoms[tr->v[i]].field == field)
			return true;
	return false;
}

/*
 * cut_list: per path field, the steps indexed by a trigger atom on it
 * (not by category), block/kill rules first.
 */
static void build_cut_index(struct lower *L, const bool *by_cat)
{
	struct ks_tables *t = L->t;
	uint32_t k, s, n = 0, first, pass;

	for (k = 0; k < KS_PATH_SLOTS; k++) {
		first = n;
		for (pass = 0; pass < 2; pass++)
			for (s = 0; s < t->hdr.n_steps; s++)
				if (!by_cat[s] && step_enforces(t, s) == !pass &&
				    trig_on(L, s, KS_PATH_FIELD(k)))
					t->cut_list[n++] = s;
		t->cut_first[k] = first << 16 | (n - first);
	}
}

/*
 * Steps by trigger atom, the rest by category. An atom names at most 255
 * steps (acc count is 8 bits); a step that would overflow one of its
 * atoms is indexed by category instead, which is slower but still exact.
 */
static int build_index(struct lower *L)
{
	struct ks_tables *t = L->t;
	uint32_t *cnt = ks_xmalloc((L->n_atoms + 1) * sizeof(*cnt));
	uint32_t *pos = ks_xmalloc((L->n_atoms + 1) * sizeof(*pos));
	bool *by_cat = ks_xmalloc((t->hdr.n_steps + 1) * sizeof(*by_cat));
	uint32_t s, i, a, c, total = 0, n;
	const struct trig *tr;
	int ret = -1;

	for (s = 0; s < t->hdr.n_steps; s++) {
		tr = &L->strig[s];
		by_cat[s] = tr->none;
		for (i = 0; i < tr->n && !by_cat[s]; i++)
			by_cat[s] = cnt[tr->v[i]] >= TRIG_PER_ATOM;
		if (by_cat[s])
			continue;
		for (i = 0; i < tr->n; i++)
			cnt[tr->v[i]]++;
		total += tr->n;
	}
	if (total > KS_MAX_TRIG_LIST) {
		lerror(L, L->rs->rules[0].loc, "trigger lists need %u step ids, limit KS_MAX_TRIG_LIST is %u",
		       total, KS_MAX_TRIG_LIST);
		goto out;
	}
	for (a = 0, total = 0; a < L->n_atoms; a++) {
		pos[a] = total;
		t->atom_trig[a] = total << 16 | cnt[a];
		total += cnt[a];
	}
	t->hdr.n_trig_list = total;
	for (s = 0; s < t->hdr.n_steps; s++) {
		tr = &L->strig[s];
		for (i = 0; i < tr->n && !by_cat[s]; i++)
			t->trig_list[pos[tr->v[i]]++] = s;
	}
	for (c = 0, n = 0; c < KS_CAT_N; c++) {
		total = n;
		for (s = 0; s < t->hdr.n_steps; s++)
			if (by_cat[s] && t->steps[s].category == c)
				t->cat_list[n++] = s;
		t->cat_first[c] = total << 16 | (n - total);
	}
	build_cut_index(L, by_cat);
	ret = 0;
out:
	free(cnt);
	free(pos);
	free(by_cat);
	return ret;
}

static void fill_header(struct lower *L)
{
	struct ks_tables *t = L->t;

	t->hdr.magic = KS_TABLES_MAGIC;
	t->hdr.abi_version = KS_ABI_VERSION;
	t->hdr.n_rules = L->rs->n_rules;
	t->hdr.n_atoms = L->n_atoms;
	t->hdr.content_hash = ks_fnv1a64((const uint8_t *)t + sizeof(t->hdr),
					 sizeof(*t) - sizeof(t->hdr),
					 KS_FNV64_INIT);
}

static void fill_info(struct lower *L)
{
	struct ks_compile_info *info = L->info;
	const struct ks_tables *t = L->t;

	info->n_states = t->hdr.n_states;
	info->n_classes = t->hdr.n_classes;
	info->n_atoms = t->hdr.n_atoms;
	info->n_steps = t->hdr.n_steps;
	info->n_insns = t->hdr.n_insns;
	info->n_patterns = L->n_patterns;
	info->dfa_bytes = (size_t)t->hdr.n_states * t->hdr.n_classes *
			  sizeof(t->dfa[0]);
	info->table_bytes = sizeof(*t);
}

static void atoms_free(struct ks_atom_desc *atoms, uint32_t n)
{
	uint32_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < atoms[i].n_pats; k++)
			free(atoms[i].pats[k].bytes);
		free(atoms[i].pats);
	}
	free(atoms);
}

static void lower_free(struct lower *L, bool keep)
{
	uint32_t i;

	for (i = 0; i < KS_MAX_STEPS; i++)
		trig_free(&L->strig[i]);
	free(L->strig);
	free(L->ahash);
	free(L->atom_rule);
	if (keep)
		return;
	atoms_free(L->atoms, L->n_atoms);
	for (i = 0; i < KS_MAX_INSNS; i++)
		free(L->notes[i]);
	free(L->notes);
}

int ks_lower(const struct ks_ruleset *rs, struct ks_diags *diags,
	     struct ks_tables *out, struct ks_compile_info *info,
	     struct ks_lowered *lw)
{
	struct lower L = {
		.rs = rs, .diags = diags, .t = out, .info = info, .lw = lw,
	};
	uint32_t i;

	memset(out, 0, sizeof(*out));
	if (info) {
		memset(info, 0, sizeof(*info));
		info->n_rules = rs->n_rules;
		info->rules = ks_xmalloc((rs->n_rules + 1) * sizeof(*info->rules));
	}
	L.ahash = ks_xmalloc(ATOM_HASH * sizeof(*L.ahash));
	L.strig = ks_xmalloc(KS_MAX_STEPS * sizeof(*L.strig));
	L.notes = ks_xmalloc(KS_MAX_INSNS * sizeof(*L.notes));
	for (i = 0; i < KS_MAX_STEPS; i++)
		L.strig[i] = trig_none();
	if (rs->n_rules > KS_MAX_RULES) {
		lerror(&L, rs->rules[KS_MAX_RULES].loc, "rule set has %zu rules, limit KS_MAX_RULES is %u",
		       rs->n_rules, KS_MAX_RULES);
		goto out;
	}
	for (i = 0; i < rs->n_rules; i++)
		lower_rule(&L, i);
	if (L.errors || build_dfa(&L) || build_index(&L))
		goto out;
	fill_header(&L);
	if (info)
		fill_info(&L);
out:
	if (lw) {
		lw->atoms = L.atoms;
		lw->n_atoms = L.n_atoms;
		lw->n_patterns = L.n_patterns;
		lw->user_note = L.notes;
		lw->n_insns = out->hdr.n_insns;
	}
	lower_free(&L, lw != NULL);
	return L.errors ? -1 : 0;
}

void ks_lowered_free(struct ks_lowered *lw)
{
	uint32_t i;

	if (!lw)
		return;
	atoms_free(lw->atoms, lw->n_atoms);
	if (lw->user_note)
		for (i = 0; i < KS_MAX_INSNS; i++)
			free(lw->user_note[i]);
	free(lw->user_note);
	memset(lw, 0, sizeof(*lw));
}

int ks_compile(struct ks_ruleset *rs, struct ks_tables *out,
	       struct ks_compile_info *info)
{
	return ks_lower(rs, &rs->diags, out, info, NULL);
}

void ks_compile_info_free(struct ks_compile_info *info)
{
	if (!info)
		return;
	free(info->rules);
	info->rules = NULL;
	info->n_rules = 0;
}
