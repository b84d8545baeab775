/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The C model of the kernel's walk over the DFA image (maps/ks_dfa.h,
 * bpf/ks_dfa.bpf.h): same plan, same interleaving, same hit order. Hits go
 * to a struct ks_walk like the table walk's (tablewalk.h).
 */
#ifndef KESTREL_DFAWALK_H
#define KESTREL_DFAWALK_H

#include <stdint.h>

#include "maps/ks_dfa.h"
#include "tablewalk.h"

struct ks_dfa_view {
	const struct ks_dfa_hdr *hdr;
	const uint32_t *tab;		/* hdr->tab_bytes bytes */
	const uint16_t *acc_list;	/* hdr->n_acc_list ids */
};

struct ks_dfa_plan {
	uint32_t walks;
	uint32_t seg;			/* T: bytes per segment */
	uint32_t lock;			/* steps all walks take together */
	uint32_t start[KS_DFA_MAX_WALKS];
};

/* The interleaving plan of maps/ks_dfa.h for n bytes. */
void ks_dfa_plan(uint32_t n, uint32_t overlap, uint32_t mid, uint32_t walks,
		 struct ks_dfa_plan *pl);

/*
 * Walk "\x01" p[0..n) "\x02" through automaton (field, mode) with up to
 * `walks` interleaved walks, the bytes read through column map col (enum
 * ks_dfa_col). Returns the bytes scanned (0: no automaton or empty value).
 */
uint32_t ks_dfa_walk_plain(const struct ks_dfa_view *v, uint32_t field, uint32_t mode,
			   uint32_t col, const uint8_t *p, uint32_t n, uint32_t walks,
			   struct ks_walk *w);
/*
 * The need filter of maps/ks_dfa.h: false when p[0 .. n) holds none of
 * automaton au's needed bytes (no walk of it can accept).
 */
bool ks_dfa_need_any(const struct ks_dfa_auto *au, const uint8_t *p, uint32_t n);
/* The same with only the sentinels of `frame` (KS_DFA_FR_*) fed; a range
 * the need filter rules out is not walked. */
uint32_t ks_dfa_walk_frame(const struct ks_dfa_view *v, uint32_t field, uint32_t mode,
			   uint32_t col, const uint8_t *p, uint32_t n, uint32_t walks,
			   uint32_t frame, struct ks_walk *w);

/* One step from cell s through column offset col, the hits of the cell
 * reached recorded; returns it. */
uint32_t ks_dfa_step(const struct ks_dfa_view *v, uint32_t s, uint32_t col, struct ks_walk *w);

#endif /* KESTREL_DFAWALK_H */
