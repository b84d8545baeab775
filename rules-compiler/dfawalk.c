// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The C model of the kernel's DFA image walk; the contract is in
 * include/kestrel/dfawalk.h and maps/ks_dfa.h.
 */
#include <string.h>

#include <kestrel/dfawalk.h>

/* The hit record both walks write (contract in tablewalk.h). */
void ks_walk_init(struct ks_walk *w)
{
	memset(w, 0, sizeof(*w));
}

void ks_walk_begin(struct ks_walk *w)
{
	/* epoch 0 is what a zeroed array holds: skip it on wrap-around */
	if (++w->epoch == 0) {
		memset(w->hit, 0, sizeof(w->hit));
		memset(w->seen, 0, sizeof(w->seen));
		w->epoch = 1;
	}
	w->n_hits = 0;
	w->n_cands = 0;
	w->cand_overflow = false;
}

void ks_walk_set_hit(struct ks_walk *w, uint32_t atom)
{
	if (atom >= KS_MAX_ATOMS || w->hit[atom] == w->epoch)
		return;
	w->hit[atom] = w->epoch;
	w->hits[w->n_hits++] = atom;
}

bool ks_walk_is_hit(const struct ks_walk *w, uint32_t atom)
{
	return atom < KS_MAX_ATOMS && w->hit[atom] == w->epoch;
}

void ks_dfa_plan(uint32_t n, uint32_t overlap, uint32_t mid, uint32_t walks,
		 struct ks_dfa_plan *pl)
{
	uint32_t k;

	if (walks > KS_DFA_MAX_WALKS)
		walks = KS_DFA_MAX_WALKS;
	if (walks < 1 || !mid || n < walks * (overlap + KS_DFA_MIN_SEG))
		walks = 1;
	pl->walks = walks;
	pl->seg = (n + (walks - 1) * overlap + walks - 1) / walks;
	for (k = 0; k < walks; k++)
		pl->start[k] = k * (pl->seg - overlap);
	pl->lock = n - pl->start[walks - 1];
}

uint32_t ks_dfa_step(const struct ks_dfa_view *v, uint32_t s, uint32_t col, struct ks_walk *w)
{
	uint32_t d, i;

	s = v->tab[((s + col) & (v->hdr->tab_bytes - 4)) / 4];
	w->bytes_scanned++;
	if (!(s & KS_DFA_ACC))
		return s;
	d = v->tab[((s & ~KS_DFA_ACC) + v->hdr->n_classes * 4) / 4];
	for (i = 0; i < (d & 0xff) && (d >> 8) + i < v->hdr->n_acc_list; i++)
		ks_walk_set_hit(w, v->acc_list[(d >> 8) + i]);
	return s;
}

bool ks_dfa_need_any(const struct ks_dfa_auto *au, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	if (!n)		/* an empty value is walked: its sentinels alone may match */
		return true;
	for (i = 0; i < n; i++)
		if (ks_dfa_needed(au->skip, p[i]))
			return true;
	return false;
}

uint32_t ks_dfa_walk_frame(const struct ks_dfa_view *v, uint32_t field, uint32_t mode,
			   uint32_t col, const uint8_t *p, uint32_t n, uint32_t walks,
			   uint32_t frame, struct ks_walk *w)
{
	const struct ks_dfa_auto *au;
	const uint16_t *cm;
	uint32_t s[KS_DFA_MAX_WALKS], i, k;
	struct ks_dfa_plan pl;

	if (field >= KS_F_STR_N || mode >= KS_CASE_N || col >= KS_DFA_COL_N || !n)
		return 0;
	au = &v->hdr->autos[field][mode];
	if (!au->start)
		return 0;
	if (!ks_dfa_need_any(au, p, n))
		return n;	/* as the kernel: counted, not walked */
	cm = v->hdr->col[col];
	ks_dfa_plan(n, au->overlap, au->mid, walks, &pl);
	s[0] = au->start;
	if (frame & KS_DFA_FR_BEGIN)
		s[0] = ks_dfa_step(v, s[0], v->hdr->col_begin, w);
	for (k = 1; k < pl.walks; k++)
		s[k] = au->mid;
	for (i = 0; i < pl.lock; i++)
		for (k = 0; k < pl.walks; k++)
			s[k] = ks_dfa_step(v, s[k], cm[p[pl.start[k] + i]], w);
	for (k = 0; k + 1 < pl.walks; k++)
		for (i = pl.lock; i < pl.seg; i++)
			s[k] = ks_dfa_step(v, s[k], cm[p[pl.start[k] + i]], w);
	if (s[pl.walks - 1] && (frame & KS_DFA_FR_END))
		ks_dfa_step(v, s[pl.walks - 1], v->hdr->col_end, w);
	return n;
}

uint32_t ks_dfa_walk_plain(const struct ks_dfa_view *v, uint32_t field, uint32_t mode,
			   uint32_t col, const uint8_t *p, uint32_t n, uint32_t walks,
			   struct ks_walk *w)
{
	return ks_dfa_walk_frame(v, field, mode, col, p, n, walks,
				 KS_DFA_FR_BEGIN | KS_DFA_FR_END, w);
}
