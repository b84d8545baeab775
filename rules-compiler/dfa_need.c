// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A proof of the need filter (maps/ks_dfa.h, skip[]) over the DFA image.
 *
 * The filter decides what the kernel does not scan: a value with no needed
 * byte is counted and not walked. It is sound when no walk over such a
 * value can accept. ks_dfa_image_need argues it from the patterns; this
 * checks it on the image itself, exhaustively rather than on samples:
 * from every cell a walk of the automaton can start in (start, start after
 * the begin sentinel, mid), the cells reachable through the columns of the
 * skipped bytes and the two sentinels' (fed anywhere: a superset of the
 * frames, cut paths and argument lists the scans make) hold no accepting
 * one. A needed byte's column is never followed, so the proof fails
 * exactly when some skipped byte could still take a walk to an accept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfa.h"

struct need_proof {
	const struct ks_dfa_hdr *h;
	const uint32_t *tab;
	uint8_t *seen;		/* one bit per state */
	uint32_t *stack;	/* states to expand, at most n_states */
	uint32_t depth;
	uint16_t cols[128 + 2];	/* the columns a ruled-out value can feed */
	uint32_t n_cols;
};

static void proof_add_col(struct need_proof *p, uint16_t col)
{
	uint32_t i;

	for (i = 0; i < p->n_cols; i++)
		if (p->cols[i] == col)
			return;
	p->cols[p->n_cols++] = col;
}

/* Cell c reached: false when it accepts; queued once when it is live. */
static bool proof_reach(struct need_proof *p, uint32_t c)
{
	uint32_t s;

	if (c & KS_DFA_ACC)
		return false;
	if (!c)
		return true;	/* dead: nothing follows */
	s = c / p->h->row_bytes;
	if (s >= p->h->n_states || ((p->seen[s >> 3] >> (s & 7)) & 1))
		return true;
	p->seen[s >> 3] |= 1u << (s & 7);
	p->stack[p->depth++] = c;
	return true;
}

static bool proof_closure(struct need_proof *p)
{
	uint32_t c, i, mask = p->h->tab_bytes - 4;

	while (p->depth) {
		c = p->stack[--p->depth];
		for (i = 0; i < p->n_cols; i++)
			if (!proof_reach(p, p->tab[((c + p->cols[i]) & mask) / 4]))
				return false;
	}
	return true;
}

static bool proof_auto(struct need_proof *p, uint32_t f, uint32_t m)
{
	const struct ks_dfa_auto *au = &p->h->autos[f][m];
	const uint16_t *cm = p->h->col[ks_dfa_scan_col(f, m)];
	uint32_t b;

	p->n_cols = 0;
	for (b = 0; b < 128; b++)
		if (!ks_dfa_needed(au->skip, (uint8_t)b))
			proof_add_col(p, cm[b]);
	if (!p->n_cols)
		return true;	/* every byte needed: no filter to prove */
	proof_add_col(p, p->h->col_begin);
	proof_add_col(p, p->h->col_end);
	memset(p->seen, 0, (p->h->n_states + 7) / 8);
	p->depth = 0;
	return proof_reach(p, au->start) && proof_reach(p, au->mid) && proof_closure(p);
}

int ks_dfa_need_prove(const struct ks_dfa_hdr *h, const uint32_t *tab,
		      uint32_t *bad, char *err, size_t errlen)
{
	struct need_proof p = { .h = h, .tab = tab };
	uint32_t a;
	int ret = 0;

	p.seen = malloc((h->n_states + 7) / 8 + 1);
	p.stack = malloc((h->n_states + 1) * sizeof(*p.stack));
	if (!p.seen || !p.stack) {
		snprintf(err, errlen, "out of memory");
		ret = -1;
		goto out;
	}
	for (a = 0; a < KS_F_STR_N * KS_CASE_N; a++) {
		if (!h->autos[a / KS_CASE_N][a % KS_CASE_N].start ||
		    proof_auto(&p, a / KS_CASE_N, a % KS_CASE_N))
			continue;
		*bad = a;
		snprintf(err, errlen, "need filter of automaton %u (field %u, case %u) lets a value with no needed byte reach an accept",
			 a, a / KS_CASE_N, a % KS_CASE_N);
		ret = 1;
		break;
	}
out:
	free(p.seen);
	free(p.stack);
	return ret;
}
