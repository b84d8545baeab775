// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * struct ks_dfa -> the DFA image of maps/ks_dfa.h: premultiplied 32-bit
 * cells with the accept flag, one spare cell per row for the atom list,
 * column maps per case mode (and the command line's NUL-as-space), the
 * start, mid and overlap of every (field, case) automaton.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfa.h"

static uint32_t tab_size(uint64_t need)
{
	uint64_t sz = KS_DFA_MIN_TAB_BYTES;

	while (sz < need)
		sz <<= 1;
	return sz > KS_DFA_MAX_TAB_BYTES ? 0 : (uint32_t)sz;
}

static uint32_t cell_of(const struct ks_dfa *d, uint32_t row_bytes, uint32_t s)
{
	return ks_dfa_cell(d->acc_base, row_bytes, s);
}

static void fill_cols(const struct ks_dfa *d, struct ks_dfa_hdr *h)
{
	int b;

	for (b = 0; b < 256; b++) {
		h->col[KS_DFA_COL_EXACT][b] = d->cls[b] * 4;
		h->col[KS_DFA_COL_FOLD][b] = d->cls_fold[b] * 4;
	}
	memcpy(h->col[KS_DFA_COL_EXACT_JOIN], h->col[KS_DFA_COL_EXACT], 512);
	memcpy(h->col[KS_DFA_COL_FOLD_JOIN], h->col[KS_DFA_COL_FOLD], 512);
	h->col[KS_DFA_COL_EXACT_JOIN][0] = h->col[KS_DFA_COL_EXACT][' '];
	h->col[KS_DFA_COL_FOLD_JOIN][0] = h->col[KS_DFA_COL_FOLD][' '];
	h->col_begin = d->cls_begin * 4;
	h->col_end = d->cls_end * 4;
}

int ks_dfa_image_hdr(const struct ks_dfa *d, struct ks_dfa_hdr *h, char *err, size_t errlen)
{
	uint32_t nc = d->n_classes, rb = (nc + 1) * 4, a;
	uint64_t need = (uint64_t)d->n_states * rb;

	memset(h, 0, sizeof(*h));
	h->tab_bytes = tab_size(need);
	if (!h->tab_bytes) {
		snprintf(err, errlen, "DFA image needs %llu bytes (%u states x %u byte classes), limit KS_DFA_MAX_TAB_BYTES is %u",
			 (unsigned long long)need, d->n_states, nc, KS_DFA_MAX_TAB_BYTES);
		return -1;
	}
	if (d->n_automata > KS_F_STR_N * KS_CASE_N) {
		snprintf(err, errlen, "DFA image: %u automata, at most %u", d->n_automata,
			 KS_F_STR_N * KS_CASE_N);
		return -1;
	}
	h->n_states = d->n_states;
	h->n_classes = nc;
	h->row_bytes = rb;
	h->n_acc_list = d->n_acc_list;
	fill_cols(d, h);
	for (a = 0; a < d->n_automata; a++) {
		struct ks_dfa_auto *au = &h->autos[a / KS_CASE_N][a % KS_CASE_N];

		if (d->max_len[a] > KS_DFA_MAX_OVERLAP + 1) {
			snprintf(err, errlen, "DFA image: a literal of %u bytes, at most %u",
				 d->max_len[a], KS_DFA_MAX_OVERLAP + 1);
			return -1;
		}
		au->start = cell_of(d, rb, d->start[a]);
		au->mid = cell_of(d, rb, d->mid[a]);
		au->overlap = d->max_len[a] ? d->max_len[a] - 1 : 0;
	}
	return 0;
}

/*
 * Every automaton's begun cell (maps/ks_dfa.h): start's cell in the begin
 * sentinel's column, kept only when it does not accept (an accepting one
 * must be fed, so its atoms are recorded). tab holds the rows.
 */
void ks_dfa_image_begun(struct ks_dfa_hdr *h, const uint32_t *tab)
{
	uint32_t f, m, c;

	for (f = 0; f < KS_F_STR_N; f++)
		for (m = 0; m < KS_CASE_N; m++) {
			struct ks_dfa_auto *au = &h->autos[f][m];

			if (!au->start)
				continue;
			c = tab[((au->start & ~KS_DFA_ACC) + h->col_begin) / 4];
			au->begun = c & KS_DFA_ACC ? 0 : c;
		}
}

/*
 * How common a byte is in the values the host scans (paths, names,
 * command lines): its rank in this list, most common first; bytes not in
 * it are rarer than any that is. The need filter picks each pattern's
 * rarest byte, so a value is least likely to hold one.
 */
static uint32_t byte_weight(uint8_t b)
{
	static const char common[] = "/etaoinsrlcudhpmbgfy.-_ 0123456789wkv=,:xjqz"
				     "ETAOINSRLCUDHPMBGFYWKVXJQZ";
	const char *q = b ? strchr(common, b) : NULL;

	return q ? (uint32_t)(q - common) : 255;
}

static bool cls_has(const uint8_t *set, uint32_t c)
{
	return (set[c >> 3] >> (c & 7)) & 1;
}

/*
 * Pattern p's needed class into set: none to add when a class the set
 * holds is p's already; false when p has no byte a value feeds (only
 * sentinels: every value can match it).
 */
static bool need_pattern(const struct ks_dfa_hdr *h, uint32_t m, const struct ks_dfa_pattern *p,
			 uint8_t *set)
{
	uint32_t j, c, best = 0, w, best_w = ~0u;

	for (j = 0; j < p->len; j++) {
		if (p->bytes[j] == KS_SENT_BEGIN || p->bytes[j] == KS_SENT_END)
			continue;	/* sentinel classes: fed by no value byte */
		c = h->col[m][p->bytes[j]] / 4;
		if (cls_has(set, c))
			return true;
		w = byte_weight(p->bytes[j]);
		if (best_w == ~0u || w > best_w) {	/* the rarest byte */
			best_w = w;
			best = c;
		}
	}
	if (best_w == ~0u)
		return false;
	set[best >> 3] |= 1u << (best & 7);
	return true;
}

/*
 * Every automaton's need filter (maps/ks_dfa.h): a class of each pattern,
 * its rarest byte's; the bytes below 128 that the kernel's column map for
 * the field sends to none of those classes are marked in skip[]. Exact
 * whatever classes are picked: a walk that accepts a pattern was fed each
 * of its classes. An automaton with a pattern of sentinels only (every
 * value matches it) keeps skip[] 0: no filter.
 */
void ks_dfa_image_need(struct ks_dfa_hdr *h, const struct ks_dfa_pattern *pats, size_t n)
{
	uint8_t set[KS_F_STR_N * KS_CASE_N][32], ok[KS_F_STR_N * KS_CASE_N];
	uint32_t a, f, m, b, cm;
	size_t i;

	memset(set, 0, sizeof(set));
	memset(ok, 1, sizeof(ok));
	for (i = 0; i < n; i++) {
		a = pats[i].automaton;
		if (a < KS_F_STR_N * KS_CASE_N && ok[a] &&
		    !need_pattern(h, a % KS_CASE_N, &pats[i], set[a]))
			ok[a] = 0;
	}
	for (a = 0; a < KS_F_STR_N * KS_CASE_N; a++) {
		struct ks_dfa_auto *au = &h->autos[a / KS_CASE_N][a % KS_CASE_N];

		f = a / KS_CASE_N;
		m = a % KS_CASE_N;
		cm = ks_dfa_scan_col(f, m);
		memset(au->skip, 0, sizeof(au->skip));
		if (!au->start || !ok[a])
			continue;
		for (b = 0; b < 128; b++)
			if (!cls_has(set[a], h->col[cm][b] / 4))
				au->skip[b >> 3] |= 1u << (b & 7);
	}
}

static void image_rows(const struct ks_dfa *d, const struct ks_dfa_hdr *h, uint32_t *tab)
{
	uint32_t nc = d->n_classes, rb = h->row_bytes, s, c, *row;
	const uint32_t *next;

	memset(tab, 0, rb);	/* state 0, dead: every cell 0 */
	for (s = 1; s < d->n_states; s++) {
		row = tab + (size_t)s * (nc + 1);
		next = d->next + (size_t)s * nc;
		for (c = 0; c < nc; c++)
			row[c] = cell_of(d, rb, next[c]);
		row[nc] = s >= d->acc_base ? d->acc[s - d->acc_base] : 0;
	}
}

int ks_dfa_image_build(const struct ks_dfa *d, struct ks_dfa_image *img,
		       char *err, size_t errlen)
{
	memset(img, 0, sizeof(*img));
	if (ks_dfa_image_hdr(d, &img->hdr, err, errlen))
		return -1;
	img->tab = calloc(img->hdr.tab_bytes / 4, sizeof(*img->tab));
	img->acc_list = calloc(d->n_acc_list + 1, sizeof(*img->acc_list));
	if (!img->tab || !img->acc_list) {
		ks_dfa_image_free(img);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	image_rows(d, &img->hdr, img->tab);
	ks_dfa_image_begun(&img->hdr, img->tab);
	memcpy(img->acc_list, d->acc_list, d->n_acc_list * sizeof(*img->acc_list));
	return 0;
}

void ks_dfa_image_free(struct ks_dfa_image *img)
{
	free(img->tab);
	free(img->acc_list);
	img->tab = NULL;
	img->acc_list = NULL;
}

/*
 * The image of one automaton (field, mode) over literals (contains tests:
 * unanchored), literal i reported as atom i. For benchmarks and tests that
 * measure the walk on pattern sets of any size, without rules around them.
 */
int ks_dfa_image_literals(const uint8_t *const *lits, const uint32_t *lens, size_t n,
			  uint32_t field, uint32_t mode, struct ks_dfa_image *img,
			  char *err, size_t errlen)
{
	struct ks_dfa_automaton au[KS_F_STR_N * KS_CASE_N];
	struct ks_dfa_limits lim = { .max_states = KS_DFA_MAX_STATES,
				     .max_cells = 0xffffffffu };
	struct ks_dfa_pattern *pats;
	struct ks_dfa d;
	size_t i;
	int ret;

	if (n > KS_MAX_ATOMS || field >= KS_F_STR_N || mode >= KS_CASE_N) {
		snprintf(err, errlen, "%zu literals: at most %u, one automaton", n, KS_MAX_ATOMS);
		return -1;
	}
	for (i = 0; i < KS_F_STR_N * KS_CASE_N; i++) {
		au[i].mode = i % KS_CASE_N;
		au[i].single_start = i / KS_CASE_N != KS_F_PROCESS_ARGS;
	}
	pats = calloc(n + 1, sizeof(*pats));
	if (!pats) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		pats[i].bytes = lits[i];
		pats[i].len = lens[i];
		pats[i].automaton = field * KS_CASE_N + mode;
		pats[i].atom = i;
	}
	ret = ks_dfa_build(pats, n, au, KS_F_STR_N * KS_CASE_N, &lim, &d, err, errlen);
	free(pats);
	if (ret)
		return -1;
	ret = ks_dfa_image_build(&d, img, err, errlen);
	ks_dfa_free(&d);
	return ret;
}
