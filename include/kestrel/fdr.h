/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The FDR-style prefilter of maps/ks_fdr.h: its builder over literals and
 * its C model (rules-compiler/fdr.c), the prefilter with the DFA image
 * walk (dfawalk.h) as the exact confirm (issue 11); the compiler's
 * production prefilter of the payload (ks_fdr_tables).
 */
#ifndef KESTREL_FDR_H
#define KESTREL_FDR_H

#include <stddef.h>
#include <stdint.h>

#include "dfawalk.h"
#include "maps/ks_fdr.h"

struct ks_fdr {
	uint64_t *tab;				/* KS_FDR_DOMAIN masks */
	uint32_t n_pats;
	uint32_t bucket_n[KS_FDR_BUCKETS];	/* patterns per bucket */
	uint32_t bucket_min[KS_FDR_BUCKETS];	/* shortest pattern per bucket */
	uint32_t bucket_max[KS_FDR_BUCKETS];	/* longest */
	uint16_t ov[256];			/* struct ks_fdr_lab's */
	uint32_t key;				/* KS_FDR_KEY_* */
};

/* What a scan did: positions some bucket fired at (up to where it gave
 * up), confirm walks started afresh (windows not continued), bytes the
 * confirm walked, scans given up for the DFA's walks alone (maps/ks_fdr.h). */
struct ks_fdr_stats {
	uint64_t cands;
	uint64_t aborts;
	uint64_t restarts;
	uint64_t confirm_bytes;
	uint64_t bytes;
};

/*
 * The prefilter of literals (case mode: enum ks_case), its key
 * (KS_FDR_KEY_*) and its split of the literals into buckets picked on a
 * sample of random and printable payloads (pairs unless triples let far
 * fewer candidates through; the split that lets fewest through); 0, or
 * -1 with err. ks_fdr_build_key: with the given key, split 0;
 * ks_fdr_build_split: with the given key and split (< KS_FDR_SPLITS).
 */
#define KS_FDR_SPLITS	3
int ks_fdr_build_key(const uint8_t *const *lits, const uint32_t *lens, size_t n, uint32_t mode,
		     uint32_t key, struct ks_fdr *f, char *err, size_t errlen);
int ks_fdr_build_split(const uint8_t *const *lits, const uint32_t *lens, size_t n, uint32_t mode,
		       uint32_t key, uint32_t split, struct ks_fdr *f, char *err, size_t errlen);
int ks_fdr_build(const uint8_t *const *lits, const uint32_t *lens, size_t n, uint32_t mode,
		 struct ks_fdr *f, char *err, size_t errlen);
void ks_fdr_free(struct ks_fdr *f);

/*
 * Hits of "\x01" p[0..n) "\x02" in automaton (field, mode) of v, column
 * map col, through the prefilter and the DFA confirm (at most
 * KS_PAYLOAD_MAX bytes of p, as the lab program). The same set as
 * ks_dfa_walk_plain's; the same hits in the same order as the lab's.
 * Adds to *st when not NULL. Returns the bytes scanned.
 */
uint32_t ks_fdr_walk(const struct ks_fdr *f, const struct ks_dfa_view *v, uint32_t field,
		     uint32_t mode, uint32_t col, const uint8_t *p, uint32_t n, struct ks_walk *w,
		     struct ks_fdr_stats *st);

struct ks_tables;

/*
 * The production prefilter of automaton (field, mode) of t, built over
 * its literals: into t->fdr, the automaton flagged KS_DFA_AU_FDR, unless
 * it has no unanchored pattern or the scan of a sample of random and
 * printable payloads gives up on half of them or more (maps/ks_fdr.h:
 * then every payload would pay the shift-or and the DFA's walks after
 * it). The DFA confirms every candidate, so the hits are the same with
 * and without it. 0, or -1 when the builder fails (out of memory).
 */
int ks_fdr_tables(struct ks_tables *t, uint32_t field, uint32_t mode,
		  const uint8_t *const *lits, const uint32_t *lens, size_t n);

#endif /* KESTREL_FDR_H */
