// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Atoms: a set of DFA patterns on one (field, case), interned so equal
 * sets share one id whatever the order they were written in; trigger sets
 * (atoms at least one of which is hit whenever a step is true); the
 * table's networks; and the lowering's error reporting.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lower_priv.h"

void lower_error(struct lower *L, struct ks_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void lower_error(struct lower *L, struct ks_loc loc, const char *fmt, ...)
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

/* ---- trigger sets ---- */

struct trig trig_none(void)
{
	return (struct trig){ .none = true };
}

struct trig trig_empty(void)
{
	return (struct trig){ .none = false };
}

struct trig trig_atom(uint32_t a)
{
	struct trig t = { .n = 1, .v = ks_xmalloc(sizeof(uint32_t)) };

	t.v[0] = a;
	return t;
}

void trig_free(struct trig *t)
{
	free(t->v);
	*t = trig_none();
}

struct trig trig_dup(const struct trig *t)
{
	struct trig d = *t;

	/* an empty set may still own a buffer (a union's): never share it */
	d.v = NULL;
	if (t->n) {
		d.v = ks_xmalloc(t->n * sizeof(*d.v));
		memcpy(d.v, t->v, t->n * sizeof(*d.v));
	}
	return d;
}

/* Union of two sets (consumed); none if either is none. */
struct trig trig_union(struct trig a, struct trig b)
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
struct trig trig_pick(const struct lower *L, struct trig a,
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

/* ---- atoms: sets of patterns on one (field, case) ---- */

void pset_add(struct pset *ps, bool ci, bool begin, const char *s,
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

/* Deliberate twin of tab_free in loader/ecs.c: the same
 * free-each-then-the-array shape over another element type and layer. */
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

static uint32_t pset_hash(uint8_t field, uint8_t mode,
			  const struct ks_atom_pat *v, uint32_t n)
{
	uint64_t h = KS_FNV64_INIT;
	uint32_t i;

	h = ks_fnv1a64(&field, 1, h);
	h = ks_fnv1a64(&mode, 1, h);
	for (i = 0; i < n; i++) {
		h = ks_fnv1a64(&v[i].len, sizeof(v[i].len), h);
		h = ks_fnv1a64(v[i].bytes, v[i].len, h);
	}
	return (uint32_t)(h ^ h >> 32);
}

/* Keep the atom hash at most half full: double it and put every atom
 * back (a compile of ten rules does not pay for 16,384 atoms). */
static void ahash_reserve(struct lower *L)
{
	struct ks_atom_desc *a;
	uint32_t id, i;

	if (2 * (L->n_atoms + 1) <= L->ahash_cap)
		return;
	free(L->ahash);
	L->ahash_cap = L->ahash_cap ? 2 * L->ahash_cap : 64;
	L->ahash = ks_xmalloc(L->ahash_cap * sizeof(*L->ahash));
	for (id = 0; id < L->n_atoms; id++) {
		a = &L->atoms[id];
		for (i = pset_hash(a->field, a->mode, a->pats, a->n_pats);
		     L->ahash[i & (L->ahash_cap - 1)]; i++)
			;
		L->ahash[i & (L->ahash_cap - 1)] = id + 1;
	}
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
int atom_get(struct lower *L, uint8_t field, uint8_t mode,
		    struct pset *ps)
{
	struct ks_atom_desc *a;
	uint32_t i, id, k;

	pset_canon(ps);
	ahash_reserve(L);
	for (i = pset_hash(field, mode, ps->v, ps->n) & (L->ahash_cap - 1);
	     L->ahash[i]; i = (i + 1) & (L->ahash_cap - 1)) {
		id = L->ahash[i] - 1;
		if (pset_equal(&L->atoms[id], field, mode, ps)) {
			pset_free(ps);
			atom_mark(L, id);
			return id;
		}
	}
	if (L->n_atoms >= KS_MAX_ATOMS) {
		lower_error(L, L->loc, "rules need more than %u string atoms, limit KS_MAX_ATOMS is %u",
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
int atom_framed(struct lower *L, const struct ks_field_info *f, bool ci,
		       bool begin, const char *s, size_t len, bool end)
{
	struct pset ps = { 0 };

	pset_add(&ps, ci, begin, s, len, end);
	return atom_get(L, f->id, ci ? KS_CASE_FOLD : KS_CASE_EXACT, &ps);
}

void orset_free(struct orset *os)
{
	uint32_t k;

	for (k = 0; k < KS_F_STR_N * KS_CASE_N; k++)
		pset_free(&os->s[k]);
}

int cidr_get(struct lower *L, const struct ks_ipnet *net)
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
		lower_error(L, L->loc, "rules need more than %u networks, limit KS_MAX_CIDRS is %u",
		       KS_MAX_CIDRS, KS_MAX_CIDRS);
		return -1;
	}
	t->cidrs[t->hdr.n_cidrs] = c;
	return t->hdr.n_cidrs++;
}
