// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_dfa's userspace engines besides the table walk: Hyperscan on the
 * same literals, and the kernel's inner loop written in plain C over the
 * production image (what the hardware gives for the layout).
 */
#include <stdio.h>
#include <stdlib.h>

#include <hs/hs.h>

#include "dfa_cloops.h"
#include "dfa_sets.h"

static int on_hs_match(unsigned int id, unsigned long long from, unsigned long long to,
		       unsigned int flags, void *ctx)
{
	(*(unsigned long *)ctx)++;
	return 0;
}

int hs_build(struct hs *h, const struct litset *ls)
{
	size_t n = ls->n;
	unsigned int *flags = calloc(n, sizeof(*flags)), *ids = calloc(n, sizeof(*ids));
	size_t *lens = calloc(n, sizeof(*lens)), i;
	hs_compile_error_t *cerr = NULL;
	int ret = 0;

	for (i = 0; i < n; i++) {
		flags[i] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
		ids[i] = i;
		lens[i] = ls->len[i];
	}
	if (hs_compile_lit_multi((const char *const *)ls->v, flags, ids, lens, n, HS_MODE_BLOCK,
				 NULL, &h->db, &cerr) != HS_SUCCESS) {
		snprintf(h->why, sizeof(h->why), "hs_compile_lit_multi: %s",
			 cerr ? cerr->message : "failed");
		hs_free_compile_error(cerr);
		ret = -1;
	} else if (hs_alloc_scratch(h->db, &h->scratch) != HS_SUCCESS) {
		snprintf(h->why, sizeof(h->why), "hs_alloc_scratch failed");
		ret = -1;
	}
	free(flags);
	free(ids);
	free(lens);
	return ret;
}

unsigned long hs_once(struct hs *h, const uint8_t *p, size_t len)
{
	unsigned long m = 0;

	hs_scan(h->db, (const char *)p, len, 0, h->scratch, on_hs_match, &m);
	return m;
}

/*
 * The kernel's inner loop alone, in C, over the production table (the
 * premultiplied image of maps/ks_dfa.h in struct ks_tables): one
 * dependent load per byte at (s + col[byte]) masked as the kernel masks
 * it, the accept flag counted. What the hardware gives for this layout,
 * without the evaluator around it.
 */
#define CELL(tab, s, c)	(*(const uint32_t *)((tab) + (((s) + (c)) & mask)))
#define CELL_NOMASK(tab, s, c)	(*(const uint32_t *)((tab) + (s) + (c)))

uint32_t cmin_scan(const struct ks_tables *t, const uint8_t *p, size_t len)
{
	const uint8_t *tab = (const uint8_t *)t->dfa;
	const uint16_t *col = t->dfa_hdr.col[KS_DFA_COL_FOLD];
	uint32_t s = t->dfa_hdr.autos[KS_F_PAYLOAD][KS_CASE_FOLD].start, hits = 0;
	/* the kernel's mask is the size class's; here the rule set's own */
	const uint32_t mask = t->dfa_hdr.tab_bytes - 4;
	size_t i;

	if (!s || !len)
		return 0;
	s = CELL(tab, s, t->dfa_hdr.col_begin);
	for (i = 0; i < len && s; i++) {
		s = CELL(tab, s, col[p[i]]);
		hits += s >> 31;
	}
	if (s)
		hits += CELL(tab, s, t->dfa_hdr.col_end) >> 31;
	return hits;
}

/* The same loop without the mask (what userspace may skip, the kernel
 * may not) and without the dead-state test. */
uint32_t cpre_scan(const struct ks_tables *t, const uint8_t *p, size_t len)
{
	const uint8_t *tab = (const uint8_t *)t->dfa;
	const uint16_t *col = t->dfa_hdr.col[KS_DFA_COL_FOLD];
	uint32_t s = t->dfa_hdr.autos[KS_F_PAYLOAD][KS_CASE_FOLD].start, hits = 0;
	size_t i;

	if (!s || !len)
		return 0;
	s = CELL_NOMASK(tab, s & ~KS_DFA_ACC, t->dfa_hdr.col_begin);
	for (i = 0; i < len; i++) {
		s = CELL_NOMASK(tab, s & ~KS_DFA_ACC, col[p[i]]);
		hits += s >> 31;
	}
	return hits + (CELL_NOMASK(tab, s & ~KS_DFA_ACC, t->dfa_hdr.col_end) >> 31);
}

/*
 * Two independent walks in one loop (the halves of the payload, the first
 * running on for pre_maxlen, the longest pattern - 1, bytes past the middle), so the
 * CPU overlaps two load chains. Valid as is only for unanchored patterns
 * (the second walk starts from the state after the begin sentinel), which
 * is what this benchmark generates.
 */
uint32_t cpre2_scan(const struct ks_tables *t, const uint8_t *p, size_t len, uint32_t pre_maxlen)
{
	const uint8_t *tab = (const uint8_t *)t->dfa;
	const uint16_t *col = t->dfa_hdr.col[KS_DFA_COL_FOLD];
	uint32_t a = t->dfa_hdr.autos[KS_F_PAYLOAD][KS_CASE_FOLD].start, b, hits = 0;
	const uint32_t mask = t->dfa_hdr.tab_bytes - 4;
	size_t mid = len / 2, ea = mid + pre_maxlen, i, j;

	if (!a || !len)
		return 0;
	if (len < 64)
		return cpre_scan(t, p, len);
	if (ea > len)
		ea = len;
	a = CELL(tab, a, t->dfa_hdr.col_begin);
	b = a;
	for (i = 0, j = mid; j < len; i++, j++) {
		a = CELL(tab, a, col[p[i]]);
		b = CELL(tab, b, col[p[j]]);
		hits += (a >> 31) + (b >> 31);
	}
	for (; i < ea; i++) {
		a = CELL(tab, a, col[p[i]]);
		hits += a >> 31;
	}
	return hits + (CELL(tab, b, t->dfa_hdr.col_end) >> 31);
}
