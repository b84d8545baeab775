// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The string DFA: every (field, case) sub-automaton of every rule set is an
 * Aho-Corasick automaton; all of them share one byte-class map and live in
 * one transition table, exactly as struct ks_tables lays them out.
 *
 * Build, in time linear in the output size:
 *  1. byte classes: a byte that occurs in some pattern gets a class of its
 *     own, every other byte shares one "other" class. Every automaton's
 *     transitions are then a function of the class (an AC automaton treats
 *     all bytes absent from its patterns alike). FOLD automata see
 *     cls_fold[b] = cls[tolower(b)], so their patterns are lowercased and
 *     only lowercase and non-letter bytes count as used.
 *  2. a trie over class ids per automaton (edge hash + sorted sibling
 *     lists, so the traversal order does not depend on insertion order);
 *  3. failure links and output sets (own atoms plus the failure chain) in
 *     BFS order;
 *  4. state numbering: 0 dead, then non-accepting, then accepting states,
 *     so the kernel tests "accepts" with one comparison;
 *  5. rows in BFS order: row(t) = row(fail(t)) with t's trie edges on top.
 *
 * single_start automata (the value is framed "\x01" value "\x02" and the
 * walk feeds 0x01 only as the first byte) get a separate start state S
 * whose 0x01 edge enters the anchored patterns; the root R, where a walk
 * falls back to mid-value, maps 0x01 to itself. When all patterns are
 * anchored R can reach no accepting state: it is dead (0), and so every
 * transition that falls back to it stops the walk.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfa.h"
#include "source.h"

struct dfa_build {
	const struct ks_dfa_pattern *pats;
	size_t n_pats;
	const struct ks_dfa_automaton *autos;
	size_t n_autos;
	struct ks_dfa_limits lim;
	struct ks_dfa *out;
	char *err;
	size_t errlen;

	/* trie; node 0 is unused so 0 means "none" */
	uint32_t n_nodes, cap_nodes;
	uint32_t *fail;
	uint32_t *child;	/* first child, siblings sorted by class */
	uint32_t *sib;
	uint32_t *own;		/* first own pattern + 1 */
	uint8_t *edge;		/* class of the edge into the node */
	uint32_t *own_next;	/* per pattern: next own pattern + 1 */
	uint32_t *root;		/* per automaton, 0: no patterns */
	uint32_t *sroot;	/* per automaton: separate start S, or 0 */
	bool *root_dead;	/* per automaton */

	/* edge hash: (parent << 8 | class) -> child */
	uint64_t *hkey;
	uint32_t *hval;
	size_t hcap, hn;

	uint32_t *order;	/* BFS order, automata one after another */
	uint32_t *order_end;	/* per automaton: end index in order */
	uint32_t *id;		/* node -> state */

	/*
	 * Rows: d->next (stride n_classes, state ids), or when img is set the
	 * image's rows in img (stride n_classes + 1, cells of maps/ks_dfa.h:
	 * ks_dfa_build_image), so no state-id table is built and converted.
	 */
	uint32_t *img;
	size_t img_cap;		/* bytes */
	uint32_t *rows;
	uint32_t stride;

	/* output sets per node, in a pool of atom ids */
	uint32_t *out_first, *out_count;
	uint16_t *pool;
	size_t pool_n, pool_cap;
};

static int fail_msg(struct dfa_build *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail_msg(struct dfa_build *b, const char *fmt, ...)
{
	va_list ap;

	if (b->err && b->errlen) {
		va_start(ap, fmt);
		vsnprintf(b->err, b->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		ks_oom();
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		ks_oom();
	return p;
}

static uint8_t fold(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static uint8_t pat_byte(const struct dfa_build *b, const struct ks_dfa_pattern *p,
			uint32_t i)
{
	return b->autos[p->automaton].mode == KS_CASE_FOLD ? fold(p->bytes[i]) :
							     p->bytes[i];
}

static void set_limits(struct ks_dfa_limits *l, const struct ks_dfa_limits *in)
{
	memset(l, 0, sizeof(*l));
	if (in)
		*l = *in;
	if (!l->max_states)
		l->max_states = KS_MAX_STATES;
	if (l->max_states > KS_DFA_MAX_STATES)
		l->max_states = KS_DFA_MAX_STATES;
	if (!l->max_cells)
		l->max_cells = KS_DFA_CELLS;
	if (!l->max_classes || l->max_classes > KS_MAX_CLASSES)
		l->max_classes = KS_MAX_CLASSES;
	if (!l->max_acc_per_state || l->max_acc_per_state > KS_MAX_ACC_PER_STATE)
		l->max_acc_per_state = KS_MAX_ACC_PER_STATE;
	if (!l->max_acc_list || l->max_acc_list > (1u << 24))
		l->max_acc_list = KS_MAX_ACC_LIST;
}

static int check_input(struct dfa_build *b)
{
	const struct ks_dfa_pattern *p;
	size_t i;
	uint32_t j;

	for (i = 0; i < b->n_autos; i++)
		if (b->autos[i].mode != KS_CASE_EXACT &&
		    b->autos[i].mode != KS_CASE_FOLD)
			return fail_msg(b, "automaton %zu: bad case mode %d", i,
					b->autos[i].mode);
	for (i = 0; i < b->n_pats; i++) {
		p = &b->pats[i];
		if (!p->len || !p->bytes)
			return fail_msg(b, "pattern %zu is empty", i);
		if (p->automaton >= b->n_autos)
			return fail_msg(b, "pattern %zu: automaton %u out of range",
					i, p->automaton);
		if (p->atom > 0xffff)
			return fail_msg(b, "pattern %zu: atom id %u does not fit 16 bits",
					i, p->atom);
		if (!b->autos[p->automaton].single_start)
			continue;
		for (j = 1; j < p->len; j++)
			if (p->bytes[j] == KS_SENT_BEGIN)
				return fail_msg(b, "pattern %zu: byte 0x01 after the start of a single-start pattern",
						i);
	}
	return 0;
}

/*
 * Last step: patterns use 0x01/0x02 only as frame sentinels, so their
 * classes become sentinel-only. Raw 0x01/0x02 bytes of an input value
 * then map to the class of bytes no pattern uses, whose transitions never
 * enter a sentinel edge: a value cannot end its own frame early.
 */
static void seal_sentinels(struct ks_dfa *d)
{
	int c;

	d->cls_begin = d->cls[KS_SENT_BEGIN];
	d->cls_end = d->cls[KS_SENT_END];
	d->cls[KS_SENT_BEGIN] = d->other_class;
	d->cls[KS_SENT_END] = d->other_class;
	for (c = 0; c < 256; c++)
		d->cls_fold[c] = d->cls[fold(c)];
}

/* Step 1: a class per used byte, one shared class for the others. */
static int build_classes(struct dfa_build *b)
{
	struct ks_dfa *d = b->out;
	bool used[256] = { false };
	int other = -1;
	uint32_t n = 0, j;
	size_t i;
	int c;

	for (i = 0; i < b->n_pats; i++)
		for (j = 0; j < b->pats[i].len; j++)
			used[pat_byte(b, &b->pats[i], j)] = true;
	/* sentinels always get classes of their own (see seal_sentinels) */
	used[KS_SENT_BEGIN] = used[KS_SENT_END] = true;
	for (c = 0; c < 256; c++) {
		if (used[c]) {
			d->cls[c] = n++;
			continue;
		}
		if (other < 0)
			other = n++;
		d->cls[c] = other;
	}
	if (other < 0)	/* every byte used: an input-only class is still needed */
		other = n++;
	d->other_class = other;
	for (c = 0; c < 256; c++)
		d->cls_fold[c] = d->cls[fold(c)];
	d->n_classes = n;
	if (n > b->lim.max_classes)
		return fail_msg(b, "DFA needs %u byte classes, limit KS_MAX_CLASSES is %u",
				n, b->lim.max_classes);
	return 0;
}

static size_t hslot(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return key & mask;
}

static uint32_t hget(const struct dfa_build *b, uint32_t node, uint8_t c)
{
	uint64_t key = (uint64_t)node << 8 | c;
	size_t mask = b->hcap - 1, i;

	for (i = hslot(key, mask); b->hval[i]; i = (i + 1) & mask)
		if (b->hkey[i] == key)
			return b->hval[i];
	return 0;
}

static void hput_raw(struct dfa_build *b, uint64_t key, uint32_t val)
{
	size_t mask = b->hcap - 1, i;

	for (i = hslot(key, mask); b->hval[i]; i = (i + 1) & mask)
		;
	b->hkey[i] = key;
	b->hval[i] = val;
}

static void hput(struct dfa_build *b, uint32_t node, uint8_t c, uint32_t val)
{
	uint64_t *okey = b->hkey;
	uint32_t *oval = b->hval;
	size_t ocap = b->hcap, i;

	if (2 * (b->hn + 1) > b->hcap) {
		b->hcap *= 2;
		b->hkey = xcalloc(b->hcap, sizeof(*b->hkey));
		b->hval = xcalloc(b->hcap, sizeof(*b->hval));
		for (i = 0; i < ocap; i++)
			if (oval[i])
				hput_raw(b, okey[i], oval[i]);
		free(okey);
		free(oval);
	}
	hput_raw(b, (uint64_t)node << 8 | c, val);
	b->hn++;
}

static uint32_t new_node(struct dfa_build *b, uint8_t edge)
{
	uint32_t n = b->n_nodes++;

	if (n >= b->cap_nodes) {
		b->cap_nodes = b->cap_nodes ? 2 * b->cap_nodes : 1024;
		b->fail = xrealloc(b->fail, b->cap_nodes * sizeof(*b->fail));
		b->child = xrealloc(b->child, b->cap_nodes * sizeof(*b->child));
		b->sib = xrealloc(b->sib, b->cap_nodes * sizeof(*b->sib));
		b->own = xrealloc(b->own, b->cap_nodes * sizeof(*b->own));
		b->edge = xrealloc(b->edge, b->cap_nodes * sizeof(*b->edge));
	}
	b->fail[n] = 0;
	b->child[n] = 0;
	b->sib[n] = 0;
	b->own[n] = 0;
	b->edge[n] = edge;
	return n;
}

/* Link child into parent's sibling list, kept sorted by class. */
static void link_child(struct dfa_build *b, uint32_t parent, uint32_t kid)
{
	uint32_t *pp = &b->child[parent];

	while (*pp && b->edge[*pp] < b->edge[kid])
		pp = &b->sib[*pp];
	b->sib[kid] = *pp;
	*pp = kid;
}

/*
 * The trie has at most one node per pattern byte, a root and a start
 * node per automaton and node 0 (and no more than cap): the node arrays
 * and the edge hash (at most half full) are sized for that at once, rather than grown by
 * doubling, rehashed and faulted in afresh at each step (build_trie was
 * 12% of a compile's page faults, bench/profile/compile2-before.txt).
 */
static void trie_reserve(struct dfa_build *b, uint64_t cap)
{
	uint64_t n = 2 * (uint64_t)b->n_autos + 1;
	size_t i;

	for (i = 0; i < b->n_pats; i++)
		n += b->pats[i].len;
	if (n > cap)
		n = cap;
	b->cap_nodes = n;
	b->fail = xrealloc(NULL, n * sizeof(*b->fail));
	b->child = xrealloc(NULL, n * sizeof(*b->child));
	b->sib = xrealloc(NULL, n * sizeof(*b->sib));
	b->own = xrealloc(NULL, n * sizeof(*b->own));
	b->edge = xrealloc(NULL, n * sizeof(*b->edge));
	for (b->hcap = 1024; b->hcap < 2 * n; b->hcap *= 2)
		;
	b->hkey = xcalloc(b->hcap, sizeof(*b->hkey));
	b->hval = xcalloc(b->hcap, sizeof(*b->hval));
}

/*
 * Step 2. At most one node per automaton (its root) disappears later, so
 * a trie larger than max_states + n_autos cannot fit: stop growing it.
 */
static int build_trie(struct dfa_build *b)
{
	const struct ks_dfa_pattern *p;
	uint64_t cap = (uint64_t)b->lim.max_states + b->n_autos + 1;
	uint32_t cur, nxt, j;
	uint8_t c;
	size_t i;

	trie_reserve(b, cap);
	new_node(b, 0);	/* node 0: "none" */
	for (i = 0; i < b->n_pats; i++) {
		p = &b->pats[i];
		if (!b->root[p->automaton])
			b->root[p->automaton] = new_node(b, 0);
		cur = b->root[p->automaton];
		for (j = 0; j < p->len; j++) {
			c = b->out->cls[pat_byte(b, p, j)];
			nxt = hget(b, cur, c);
			if (!nxt) {
				if (b->n_nodes >= cap)
					return fail_msg(b, "DFA needs more than %u states, limit KS_MAX_STATES is %u",
							b->lim.max_states,
							b->lim.max_states);
				nxt = new_node(b, c);
				link_child(b, cur, nxt);
				hput(b, cur, c, nxt);
			}
			cur = nxt;
		}
		b->own_next[i] = b->own[cur];
		b->own[cur] = i + 1;
	}
	b->out->n_trie_nodes = b->n_nodes - 1;
	return 0;
}

/* Step 3a: BFS order and failure links, automaton after automaton. */
static void build_fail(struct dfa_build *b)
{
	uint32_t head = 0, tail = 0, r, s, t, f, g;
	size_t a;

	b->order = xcalloc(b->n_nodes, sizeof(*b->order));
	for (a = 0; a < b->n_autos; a++) {
		r = b->root[a];
		if (r) {
			b->fail[r] = r;
			b->order[tail++] = r;
		}
		while (head < tail) {
			s = b->order[head++];
			for (t = b->child[s]; t; t = b->sib[t]) {
				b->order[tail++] = t;
				if (s == r) {
					b->fail[t] = r;
					continue;
				}
				for (f = b->fail[s];; f = b->fail[f]) {
					g = hget(b, f, b->edge[t]);
					if (g) {
						b->fail[t] = g;
						break;
					}
					if (f == r) {
						b->fail[t] = r;
						break;
					}
				}
			}
		}
		b->order_end[a] = tail;
	}
}

static int cmp_u16(const void *x, const void *y)
{
	return (int)*(const uint16_t *)x - (int)*(const uint16_t *)y;
}

static void pool_reserve(struct dfa_build *b, size_t n)
{
	if (b->pool_n + n <= b->pool_cap)
		return;
	while (b->pool_n + n > b->pool_cap)
		b->pool_cap = b->pool_cap ? 2 * b->pool_cap : 4096;
	b->pool = xrealloc(b->pool, b->pool_cap * sizeof(*b->pool));
}

/*
 * Step 3b: out(t) = own(t) + out(fail(t)), sorted and unique. Parents come
 * before children in BFS order and fail(t) is shallower than t, so out of
 * the failure target is always ready.
 */
static int build_outputs(struct dfa_build *b)
{
	uint32_t i, t, f, k, n, w, first;
	uint16_t *v;

	b->out_first = xcalloc(b->n_nodes, sizeof(*b->out_first));
	b->out_count = xcalloc(b->n_nodes, sizeof(*b->out_count));
	for (i = 0; i < b->order_end[b->n_autos - 1]; i++) {
		t = b->order[i];
		f = b->fail[t];
		n = 0;
		for (k = b->own[t]; k; k = b->own_next[k - 1])
			n++;
		if (f != t)
			n += b->out_count[f];
		if (!n)
			continue;
		pool_reserve(b, n);
		first = b->pool_n;
		v = b->pool + first;
		n = 0;
		for (k = b->own[t]; k; k = b->own_next[k - 1])
			v[n++] = b->pats[k - 1].atom;
		if (f != t) {
			memcpy(v + n, b->pool + b->out_first[f],
			       b->out_count[f] * sizeof(*v));
			n += b->out_count[f];
		}
		qsort(v, n, sizeof(*v), cmp_u16);
		for (k = 1, w = 1; k < n; k++)
			if (v[k] != v[w - 1])
				v[w++] = v[k];
		n = w;
		if (n > b->lim.max_acc_per_state)
			return fail_msg(b, "a DFA state matches %u atoms at once, limit KS_MAX_ACC_PER_STATE is %u",
					n, b->lim.max_acc_per_state);
		b->out_first[t] = first;
		b->out_count[t] = n;
		b->pool_n += n;
	}
	return 0;
}

/*
 * single_start: a separate start state S is needed when some pattern is
 * anchored (starts with 0x01); the root is dead when every pattern is.
 */
static void mark_starts(struct dfa_build *b)
{
	uint8_t c01 = b->out->cls[KS_SENT_BEGIN];
	uint32_t r, t;
	size_t a;

	for (a = 0; a < b->n_autos; a++) {
		r = b->root[a];
		if (!r || !b->autos[a].single_start || !hget(b, r, c01))
			continue;
		b->root_dead[a] = true;
		for (t = b->child[r]; t; t = b->sib[t])
			if (b->edge[t] != c01)
				b->root_dead[a] = false;
		b->sroot[a] = new_node(b, 0);
	}
}

/* Step 4: 0 dead, then non-accepting, then accepting states. */
static int number_states(struct dfa_build *b)
{
	struct ks_dfa *d = b->out;
	uint32_t next = 1, i, t, lo;
	uint64_t cells;
	size_t a;
	int pass;

	b->id = xcalloc(b->n_nodes, sizeof(*b->id));
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			d->acc_base = next;
		lo = 0;
		for (a = 0; a < b->n_autos; a++) {
			if (pass == 0 && b->sroot[a])
				b->id[b->sroot[a]] = next++;
			for (i = lo; i < b->order_end[a]; i++) {
				t = b->order[i];
				if (t == b->root[a] && b->root_dead[a])
					continue;
				if ((b->out_count[t] != 0) == (pass == 1))
					b->id[t] = next++;
			}
			lo = b->order_end[a];
		}
	}
	d->n_states = next;
	if (next > b->lim.max_states)
		return fail_msg(b, "DFA needs %u states, limit KS_MAX_STATES is %u",
				next, b->lim.max_states);
	/* the image's rows have one spare cell each (maps/ks_dfa.h) */
	cells = (uint64_t)next * (d->n_classes + 1);
	if (cells > b->lim.max_cells)
		return fail_msg(b, "DFA needs %llu cells (%u states x (%u byte classes + 1)), limit KS_DFA_CELLS is %u",
				(unsigned long long)cells, next, d->n_classes,
				b->lim.max_cells);
	if (b->img && cells * 4 > b->img_cap)
		return fail_msg(b, "DFA image needs %llu bytes, the table holds %zu",
				(unsigned long long)cells * 4, b->img_cap);
	return 0;
}

/* What a row holds for a transition to state s: s, or its image cell. */
static uint32_t row_val(const struct dfa_build *b, uint32_t s)
{
	return b->img ? ks_dfa_cell(b->out->acc_base, b->stride * 4, s) : s;
}

static uint32_t *row_of(const struct dfa_build *b, uint32_t s, uint32_t *scratch)
{
	return s ? b->rows + (size_t)s * b->stride : scratch;
}

/* Step 5: rows in BFS order; a dead root's row lives in scratch. */
static void build_rows(struct dfa_build *b)
{
	struct ks_dfa *d = b->out;
	uint32_t nc = d->n_classes, i, t, r, lo = 0, c, k;
	uint8_t c01 = d->cls[KS_SENT_BEGIN];
	uint32_t *scratch, *row, *src;
	size_t a;

	b->stride = b->img ? nc + 1 : nc;
	if (b->img) {
		b->rows = b->img;
		memset(b->rows, 0, b->stride * sizeof(*b->rows));	/* state 0 */
	} else {
		b->rows = d->next = xcalloc((size_t)d->n_states * nc, sizeof(*d->next));
	}
	scratch = xcalloc(b->stride, sizeof(*scratch));
	for (a = 0; a < b->n_autos; a++) {
		r = b->root[a];
		for (i = lo; i < b->order_end[a]; i++) {
			t = b->order[i];
			row = row_of(b, b->id[t], scratch);
			if (t == r) {
				for (c = 0; c < nc; c++)
					row[c] = row_val(b, b->id[r]);
			} else {
				src = row_of(b, b->id[b->fail[t]], scratch);
				memcpy(row, src, nc * sizeof(*row));
			}
			for (k = b->child[t]; k; k = b->sib[k])
				row[b->edge[k]] = row_val(b, b->id[k]);
			if (t == r && b->sroot[a]) {
				src = row;
				row = row_of(b, b->id[b->sroot[a]], scratch);
				memcpy(row, src, nc * sizeof(*row));
				/* mid-value 0x01 anchors nothing */
				src[c01] = row_val(b, b->id[r]);
			}
		}
		lo = b->order_end[a];
	}
	free(scratch);
}

/* Image rows: each one's spare cell, its accept list (0: it accepts nothing). */
static void fill_spare(struct dfa_build *b)
{
	struct ks_dfa *d = b->out;
	uint32_t s;

	for (s = 1; s < d->n_states; s++)
		b->rows[(size_t)s * b->stride + d->n_classes] =
			s >= d->acc_base ? d->acc[s - d->acc_base] : 0;
}

struct list_slot {
	uint32_t first, count;
};

static uint64_t list_hash(const uint16_t *v, uint32_t n)
{
	return ks_fnv1a64(v, (size_t)n * sizeof(*v), KS_FNV64_INIT);
}

/* Accept lists, identical lists shared (common with failure chains). */
static int build_acc(struct dfa_build *b)
{
	struct ks_dfa *d = b->out;
	uint32_t n_acc = d->n_states - d->acc_base, i, t, n, s;
	struct list_slot *tab, *e;
	const uint16_t *v;
	size_t cap = 16, mask, k;

	while (cap < 2 * (size_t)n_acc)
		cap *= 2;
	mask = cap - 1;
	tab = xcalloc(cap, sizeof(*tab));
	d->acc = xcalloc(n_acc, sizeof(*d->acc));
	d->acc_list = xcalloc(b->pool_n, sizeof(*d->acc_list));
	for (i = 0; i < b->order_end[b->n_autos - 1]; i++) {
		t = b->order[i];
		n = b->out_count[t];
		s = b->id[t];
		if (!n || !s)
			continue;
		v = b->pool + b->out_first[t];
		for (k = hslot(list_hash(v, n), mask); (e = &tab[k])->count;
		     k = (k + 1) & mask)
			if (e->count == n &&
			    !memcmp(d->acc_list + e->first, v, n * sizeof(*v)))
				break;
		if (!e->count) {
			if (d->n_acc_list + n > b->lim.max_acc_list) {
				free(tab);
				return fail_msg(b, "DFA accept lists need more than %u atom ids, limit KS_MAX_ACC_LIST is %u",
						b->lim.max_acc_list,
						b->lim.max_acc_list);
			}
			e->first = d->n_acc_list;
			e->count = n;
			memcpy(d->acc_list + e->first, v, n * sizeof(*v));
			d->n_acc_list += n;
		}
		d->acc[s - d->acc_base] = e->first << 8 | n;
	}
	free(tab);
	return 0;
}

static void build_free(struct dfa_build *b)
{
	free(b->fail);
	free(b->child);
	free(b->sib);
	free(b->own);
	free(b->edge);
	free(b->own_next);
	free(b->root);
	free(b->sroot);
	free(b->root_dead);
	free(b->hkey);
	free(b->hval);
	free(b->order);
	free(b->order_end);
	free(b->id);
	free(b->out_first);
	free(b->out_count);
	free(b->pool);
}

static int build_all(const struct ks_dfa_pattern *pats, size_t n_pats,
		     const struct ks_dfa_automaton *autos, size_t n_autos,
		     const struct ks_dfa_limits *lim, struct ks_dfa *out,
		     uint32_t *img, size_t img_cap, char *err, size_t errlen)
{
	struct dfa_build b = {
		.pats = pats, .n_pats = n_pats,
		.autos = autos, .n_autos = n_autos,
		.out = out, .err = err, .errlen = errlen,
		.img = img, .img_cap = img_cap,
	};
	size_t a;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	set_limits(&b.lim, lim);
	if (check_input(&b) || build_classes(&b))
		goto out;
	out->n_automata = n_autos;
	out->start = xcalloc(n_autos, sizeof(*out->start));
	out->mid = xcalloc(n_autos, sizeof(*out->mid));
	out->max_len = xcalloc(n_autos, sizeof(*out->max_len));
	for (a = 0; a < n_pats; a++)
		if (pats[a].len > out->max_len[pats[a].automaton])
			out->max_len[pats[a].automaton] = pats[a].len;
	b.root = xcalloc(n_autos, sizeof(*b.root));
	b.sroot = xcalloc(n_autos, sizeof(*b.sroot));
	b.root_dead = xcalloc(n_autos, sizeof(*b.root_dead));
	b.order_end = xcalloc(n_autos + 1, sizeof(*b.order_end));
	b.own_next = xcalloc(n_pats, sizeof(*b.own_next));
	if (build_trie(&b))
		goto out;
	if (!n_autos) {
		out->n_states = out->acc_base = 1;
		out->next = xcalloc(out->n_classes, sizeof(*out->next));
		if (img)	/* state 0's row, if the table has room */
			memset(img, 0, img_cap < (out->n_classes + 1) * 4 ? img_cap :
				       (out->n_classes + 1) * 4);
		ret = 0;
		goto out;
	}
	build_fail(&b);
	if (build_outputs(&b))
		goto out;
	mark_starts(&b);
	if (number_states(&b))
		goto out;
	build_rows(&b);
	if (build_acc(&b))
		goto out;
	if (img)
		fill_spare(&b);
	for (a = 0; a < n_autos; a++) {
		out->start[a] = b.sroot[a] ? b.id[b.sroot[a]] :
			       b.root[a] ? b.id[b.root[a]] : 0;
		out->mid[a] = b.root[a] ? b.id[b.root[a]] : 0;
	}
	seal_sentinels(out);
	ret = 0;
out:
	build_free(&b);
	if (ret)
		ks_dfa_free(out);
	return ret;
}

int ks_dfa_build(const struct ks_dfa_pattern *pats, size_t n_pats,
		 const struct ks_dfa_automaton *autos, size_t n_autos,
		 const struct ks_dfa_limits *lim, struct ks_dfa *out,
		 char *err, size_t errlen)
{
	return build_all(pats, n_pats, autos, n_autos, lim, out, NULL, 0, err, errlen);
}

int ks_dfa_build_image(const struct ks_dfa_pattern *pats, size_t n_pats,
		       const struct ks_dfa_automaton *autos, size_t n_autos,
		       const struct ks_dfa_limits *lim, struct ks_dfa *out,
		       uint32_t *tab, size_t tab_cap, char *err, size_t errlen)
{
	return build_all(pats, n_pats, autos, n_autos, lim, out, tab, tab_cap, err, errlen);
}

void ks_dfa_free(struct ks_dfa *d)
{
	if (!d)
		return;
	free(d->next);
	free(d->start);
	free(d->mid);
	free(d->max_len);
	free(d->acc);
	free(d->acc_list);
	d->next = NULL;
	d->start = NULL;
	d->mid = NULL;
	d->max_len = NULL;
	d->acc = NULL;
	d->acc_list = NULL;
}
