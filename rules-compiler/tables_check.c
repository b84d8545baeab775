// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ks_tables_check(): tables from outside the compiler (a .kbin file, a
 * reload hand-over) are checked before anything walks them: every count
 * within its limit, every index within its count, the DFA image's cells
 * and accept lists within the image. include/kestrel/kbin.h says what
 * is checked; loader and kernel then trust the indices as the compiler's.
 */
#include <stddef.h>
#include <stdint.h>

#include <kestrel/kbin.h>

#include "source.h"

#define TC_FAIL(...)	ks_err(err, errlen, "the tables are inconsistent: " \
			       __VA_ARGS__)

static int tc_counts(const struct ks_tables_hdr *h, char *err, size_t errlen)
{
	static const struct { size_t off; uint32_t max; const char *name; } c[] = {
		{ offsetof(struct ks_tables_hdr, n_rules), KS_MAX_RULES, "n_rules" },
		{ offsetof(struct ks_tables_hdr, n_steps), KS_MAX_STEPS, "n_steps" },
		{ offsetof(struct ks_tables_hdr, n_insns), KS_MAX_INSNS, "n_insns" },
		{ offsetof(struct ks_tables_hdr, n_atoms), KS_MAX_ATOMS, "n_atoms" },
		{ offsetof(struct ks_tables_hdr, n_cidrs), KS_MAX_CIDRS, "n_cidrs" },
		{ offsetof(struct ks_tables_hdr, n_states), KS_MAX_STATES, "n_states" },
		{ offsetof(struct ks_tables_hdr, n_classes), KS_MAX_CLASSES, "n_classes" },
		{ offsetof(struct ks_tables_hdr, n_acc_list), KS_MAX_ACC_LIST, "n_acc_list" },
		{ offsetof(struct ks_tables_hdr, n_trig_list), KS_MAX_TRIG_LIST, "n_trig_list" },
	};
	uint32_t v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		memcpy(&v, (const char *)h + c[i].off, sizeof(v));
		if (v > c[i].max)
			return TC_FAIL("%s is %u, at most %u", c[i].name, v,
				       c[i].max);
	}
	/* kload's to set at install (maps/ks_fdr.h); the kernel looks the slot up */
	if (h->fdr_slot >= KS_FDR_SLOTS || h->pad)
		return TC_FAIL("prefilter slot %u (pad %u): at most %u", h->fdr_slot, h->pad,
			       KS_FDR_SLOTS - 1);
	if ((uint64_t)h->n_states * (h->n_classes + 1) > KS_DFA_CELLS)
		return TC_FAIL("%u states x (%u classes + 1) exceed KS_DFA_CELLS",
			       h->n_states, h->n_classes);
	if (h->acc_base > h->n_states)
		return TC_FAIL("acc_base %u past %u states", h->acc_base,
			       h->n_states);
	if (h->n_states && (h->cls_begin >= h->n_classes ||
			    h->cls_end >= h->n_classes))
		return TC_FAIL("a sentinel class is past %u classes",
			       h->n_classes);
	return 0;
}

/* A (first << shift) | count slice of a list of n entries. */
static bool tc_slice(uint32_t v, unsigned int shift, uint32_t n)
{
	uint32_t first = v >> shift, cnt = v & ((1u << shift) - 1);

	return first <= n && cnt <= n - first;
}

/* A cell names state 0 (dead) or the row of a state, flagged or not. */
static bool tc_cell(const struct ks_dfa_hdr *d, uint32_t v)
{
	v &= ~KS_DFA_ACC;
	return v % d->row_bytes == 0 && v / d->row_bytes < d->n_states;
}

/* The column offsets: in a row, on a cell boundary, not the spare cell. */
static bool tc_col(const struct ks_dfa_hdr *d, uint32_t col)
{
	return col % 4 == 0 && col / 4 < d->n_classes;
}

/*
 * A begun cell is 0 or start's cell in the begin sentinel's column, not
 * accepting: the walks take it for that load (after tc_cell(start) and
 * tc_col(col_begin), so the cell read is in the rows).
 */
static bool tc_begun(const struct ks_tables *t, const struct ks_dfa_auto *au)
{
	uint32_t c;

	if (!au->begun)
		return true;
	if (!au->start)
		return false;
	c = t->dfa[((au->start & ~KS_DFA_ACC) + t->dfa_hdr.col_begin) / 4];
	return !(c & KS_DFA_ACC) && c == au->begun;
}

/* The image's header: agrees with the tables' header, every map and
 * start in range. */
static int tc_dfa_hdr(const struct ks_tables *t, char *err, size_t errlen)
{
	const struct ks_dfa_hdr *d = &t->dfa_hdr;
	uint32_t i, f, m;

	/* tab_bytes: the C model masks with it, the kernel with its size
	 * class (>= tab_bytes); both masks keep every row of a valid table
	 * whole */
	if (d->n_states != t->hdr.n_states || d->n_classes != t->hdr.n_classes ||
	    d->n_acc_list != t->hdr.n_acc_list || d->row_bytes != (d->n_classes + 1) * 4 ||
	    d->tab_bytes > sizeof(t->dfa) || (d->tab_bytes & (d->tab_bytes - 1)) ||
	    (uint64_t)d->n_states * d->row_bytes > d->tab_bytes)
		return TC_FAIL("the DFA image header does not match the tables");
	if (!d->n_states)
		return 0;
	for (i = 0; i < 256 * KS_DFA_COL_N; i++)
		if (!tc_col(d, d->col[i / 256][i % 256]))
			return TC_FAIL("byte %u maps past %u classes", i % 256, d->n_classes);
	if (!tc_col(d, d->col_begin) || !tc_col(d, d->col_end))
		return TC_FAIL("a sentinel class is past %u classes", d->n_classes);
	for (f = 0; f < KS_F_STR_N; f++)
		for (m = 0; m < KS_CASE_N; m++) {
			if (!tc_cell(d, d->autos[f][m].start) || !tc_cell(d, d->autos[f][m].mid))
				return TC_FAIL("a start state is past %u states", d->n_states);
			if (!tc_begun(t, &d->autos[f][m]))
				return TC_FAIL("a begun cell is not start's begin-sentinel cell");
			/* the kernel runs the prefilter on the payload only */
			if (d->autos[f][m].flags & ~(f == KS_F_PAYLOAD ? KS_DFA_AU_FDR : 0))
				return TC_FAIL("automaton flags 0x%x on field %u", d->autos[f][m].flags, f);
		}
	if ((d->autos[KS_F_PAYLOAD][0].flags & d->autos[KS_F_PAYLOAD][1].flags) & KS_DFA_AU_FDR)
		return TC_FAIL("both payload automata flagged for the one prefilter table");
	return 0;
}

/*
 * The prefilter's masks use lanes 0 .. KS_FDR_LANES - 1 only: the
 * kernel reads a mask shifted by up to KS_FDR_STRIDE - 1 lanes as the
 * u64 that many bytes before it, whose low bytes are the top bytes of
 * the mask before (bpf/ks_fdr.bpf.h). A bit set there would hide a
 * candidate.
 */
static int tc_fdr(const struct ks_tables *t, char *err, size_t errlen)
{
	uint32_t h;

	if (!KS_TABLES_HAS_FDR(t))
		return 0;
	if (t->fdr.key != KS_FDR_KEY_PAIR && t->fdr.key != KS_FDR_KEY_TRIPLE)
		return TC_FAIL("prefilter key %u", t->fdr.key);
	for (h = 0; h < KS_FDR_DOMAIN; h++)
		if (t->fdr.tab[h] & ~KS_FDR_LANE_MASK)
			return TC_FAIL("prefilter mask %u sets lanes past %u", h, KS_FDR_LANES);
	return 0;
}

/*
 * "A multiple of row_bytes below n_states rows" for every cell of the
 * image (a million at 1,000 rules) without a division each: row_bytes is
 * 2^k times an odd o, and y is a multiple of o exactly when y times o's
 * inverse modulo 2^32 is at most UINT32_MAX / o.
 */
struct tc_rows {
	uint32_t low_mask, shift, inv, lim, end;
};

static void tc_rows_init(struct tc_rows *r, const struct ks_dfa_hdr *d)
{
	uint32_t o = d->row_bytes, inv;
	int i;

	r->shift = __builtin_ctz(o);
	r->low_mask = (1u << r->shift) - 1;
	o >>= r->shift;
	inv = o;	/* Newton's iteration: each step doubles the correct bits */
	for (i = 0; i < 5; i++)
		inv *= 2 - o * inv;
	r->inv = inv;
	r->lim = UINT32_MAX / o;
	r->end = d->n_states * d->row_bytes;	/* <= tab_bytes: checked */
}

static bool tc_rows_cell(const struct tc_rows *r, uint32_t v)
{
	v &= ~KS_DFA_ACC;
	return !(v & r->low_mask) && (v >> r->shift) * r->inv <= r->lim && v < r->end;
}

/*
 * Is any of a row's n cells not a state (see tc_rows_cell)? Without a
 * branch per cell, so that the compiler can take several cells at once:
 * the cell loop was most of ks_tables_check(), which is on every .kbin
 * reload's way to the switch (bench/profile/kbin6-check.txt).
 */
#if defined(__GNUC__) && !defined(__clang__)
/* GCC's -O2 vectorizes only loops with nothing to finish after them */
__attribute__((optimize("vect-cost-model=dynamic")))
#endif
static uint32_t tc_row_bad(const struct tc_rows *r, const uint32_t *row, uint32_t n)
{
	uint32_t bad = 0, c, v;

	for (c = 0; c < n; c++) {
		v = row[c] & ~KS_DFA_ACC;
		bad |= (v & r->low_mask) | ((v >> r->shift) * r->inv > r->lim) | (v >= r->end);
	}
	return bad;
}

static int tc_dfa(const struct ks_tables *t, char *err, size_t errlen)
{
	const struct ks_tables_hdr *h = &t->hdr;
	uint32_t s, c, nc = h->n_classes;
	const uint32_t *row;
	struct tc_rows r;

	if (tc_dfa_hdr(t, err, errlen))
		return -1;
	if (!h->n_states)
		return 0;
	tc_rows_init(&r, &t->dfa_hdr);
	for (s = 0, row = t->dfa; s < h->n_states; s++, row += nc + 1) {
		/* the bad cell looked for only in a row that has one */
		for (c = 0; (!s || tc_row_bad(&r, row, nc)) && c < nc; c++)
			if (s ? !tc_rows_cell(&r, row[c]) : row[c] != 0)
				return TC_FAIL("DFA cell %u goes to %#x, not a state of %u",
					       s * (nc + 1) + c, row[c], h->n_states);
		/* the row's accept slice */
		if (!tc_slice(row[nc], 8, h->n_acc_list))
			return TC_FAIL("state %u accepts past the accept list", s);
	}
	for (s = 0; s < h->n_acc_list; s++)
		if (t->acc_list[s] >= h->n_atoms)
			return TC_FAIL("accept list entry %u names atom %u of %u",
				       s, t->acc_list[s], h->n_atoms);
	return 0;
}

/* Slices of a step list (category or cut path), each step < n_steps. */
static int tc_step_lists(const uint32_t *firsts, uint32_t n, const uint16_t *list,
			 uint32_t list_len, uint32_t n_steps, const char *what,
			 char *err, size_t errlen)
{
	uint32_t c, i;

	for (c = 0; c < n; c++) {
		if (!tc_slice(firsts[c], 16, list_len))
			return TC_FAIL("%s %u lists past its step list", what, c);
		for (i = 0; i < (firsts[c] & 0xffff); i++)
			if (list[(firsts[c] >> 16) + i] >= n_steps)
				return TC_FAIL("%s %u names a step past %u",
					       what, c, n_steps);
	}
	return 0;
}

static int tc_index(const struct ks_tables *t, char *err, size_t errlen)
{
	const struct ks_tables_hdr *h = &t->hdr;
	uint32_t i;

	for (i = 0; i < h->n_atoms; i++)
		if (!tc_slice(t->atom_trig[i], 16, h->n_trig_list))
			return TC_FAIL("atom %u triggers past the trigger list", i);
	for (i = 0; i < h->n_trig_list; i++)
		if (t->trig_list[i] >= h->n_steps)
			return TC_FAIL("trigger list entry %u names step %u of %u",
				       i, t->trig_list[i], h->n_steps);
	if (tc_step_lists(t->cat_first, KS_CAT_N, t->cat_list,
			  ARRAY_SIZE(t->cat_list), h->n_steps, "category",
			  err, errlen))
		return -1;
	return tc_step_lists(t->cut_first, KS_CUT_SLOTS, t->cut_list,
			     ARRAY_SIZE(t->cut_list), h->n_steps, "cut slot",
			     err, errlen);
}

static int tc_rules(const struct ks_tables *t, char *err, size_t errlen)
{
	const struct ks_tables_hdr *h = &t->hdr;
	const struct ks_rule *r;
	const struct ks_step *s;
	uint32_t i, j;

	for (i = 0; i < h->n_rules; i++) {
		r = &t->rules[i];
		if (r->first_step + r->n_steps > h->n_steps ||
		    ((r->flags & KS_R_UNTIL) && r->until_step >= h->n_steps) ||
		    r->action > KS_RA_KILL || r->severity > KS_SEV_CRITICAL)
			return TC_FAIL("rule %u: steps, action or severity out of "
				       "range", i);
	}
	for (i = 0; i < h->n_steps; i++) {
		s = &t->steps[i];
		if (s->rule >= h->n_rules || s->category >= KS_CAT_N ||
		    s->n_join > KS_MAX_JOIN || (s->join_opt >> s->n_join) ||
		    s->prog_len > KS_MAX_PROG_LEN ||
		    s->prog > h->n_insns || s->prog_len > h->n_insns - s->prog)
			return TC_FAIL("step %u: rule, category, joins or "
				       "program out of range", i);
		for (j = 0; j < s->n_join; j++)
			if (s->join[j] >= KS_F_N)
				return TC_FAIL("step %u joins on field %u", i,
					       s->join[j]);
	}
	return 0;
}

static int tc_insns(const struct ks_tables *t, char *err, size_t errlen)
{
	const struct ks_tables_hdr *h = &t->hdr;
	const struct ks_insn *in;
	uint32_t i;

	for (i = 0; i < h->n_insns; i++) {
		in = &t->insns[i];
		if (in->op >= KS_OP_N || in->field >= KS_F_N ||
		    in->cmp >= KS_CMP_N ||
		    (in->op == KS_OP_ATOM && in->arg >= h->n_atoms) ||
		    (in->op == KS_OP_CIDR && in->arg >= h->n_cidrs))
			return TC_FAIL("instruction %u: op, field, comparison or "
				       "operand out of range", i);
	}
	for (i = 0; i < h->n_cidrs; i++)
		if (t->cidrs[i].prefix > 128)
			return TC_FAIL("network %u has prefix /%u", i,
				       t->cidrs[i].prefix);
	return 0;
}

int ks_tables_check(const struct ks_tables *t, char *err, size_t errlen)
{
	if (tc_counts(&t->hdr, err, errlen) || tc_dfa(t, err, errlen) || tc_fdr(t, err, errlen) ||
	    tc_index(t, err, errlen) || tc_rules(t, err, errlen) ||
	    tc_insns(t, err, errlen))
		return -1;
	return 0;
}
