/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The multi-automaton Aho-Corasick DFA builder (dfa.c): it turns the
 * patterns of every (field, case) sub-automaton into the byte classes,
 * transition table and accept lists of struct ks_tables. The bottom of
 * the back end: it knows patterns and automata, nothing of rules.
 */
#ifndef KS_COMP_DFA_H
#define KS_COMP_DFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kestrel/rules.h>

#include "maps/ks_dfa.h"

/* ---- DFA builder ---- */

struct ks_dfa_pattern {
	const uint8_t *bytes;
	uint32_t len;		/* >= 1 */
	uint32_t automaton;	/* index into the automata array */
	uint32_t atom;		/* reported on match; < 65536 */
};

struct ks_dfa_automaton {
	enum ks_case mode;	/* FOLD: patterns and input are ASCII-lowercased */
	/*
	 * The input holds KS_SENT_BEGIN only as its first byte: patterns
	 * starting with it are anchored, a later 0x01 restarts nothing, and
	 * states from which no pattern can match any more are dead (0), so
	 * the walk stops early on fields that only have anchored patterns.
	 * Patterns of such an automaton must not hold 0x01 after byte 0.
	 */
	bool single_start;
};

/* Limits; zero members take the ks_abi.h value. */
struct ks_dfa_limits {
	uint32_t max_states;		/* KS_MAX_STATES; at most KS_DFA_MAX_STATES */
	uint32_t max_cells;		/* KS_DFA_CELLS */
	uint32_t max_classes;		/* KS_MAX_CLASSES */
	uint32_t max_acc_per_state;	/* KS_MAX_ACC_PER_STATE */
	uint32_t max_acc_list;		/* KS_MAX_ACC_LIST */
};

struct ks_dfa {
	uint8_t cls[256];
	uint8_t cls_fold[256];		/* cls[tolower(b)] */
	uint8_t cls_begin, cls_end;	/* the sentinels' own classes */
	uint8_t other_class;		/* bytes no pattern uses */
	uint32_t n_classes;
	uint32_t n_states;		/* state 0 (dead) included */
	uint32_t *next;			/* [state * n_classes + class] */
	uint32_t *start;		/* per automaton; 0: no patterns */
	/*
	 * Per automaton: the root, where a walk restarted in the middle of a
	 * value begins (0: dead, every pattern is anchored), and the length
	 * of its longest pattern: a walk restarted at mid[a] max_len[a] - 1
	 * bytes before position p sees every match ending at p or later.
	 */
	uint32_t *mid;
	uint32_t *max_len;
	uint32_t n_automata;
	uint32_t acc_base;		/* s accepts iff s >= acc_base */
	uint32_t *acc;			/* [s - acc_base] = first << 8 | count */
	uint16_t *acc_list;		/* atom ids, sorted per state */
	uint32_t n_acc_list;
	uint32_t n_trie_nodes;		/* before dead-state removal */
};

/*
 * Build the joint DFA of all automata. The result is a function of the
 * inputs only (same patterns in the same order, same bytes). Returns 0,
 * or -1 with a message in err naming the limit and the value reached.
 */
int ks_dfa_build(const struct ks_dfa_pattern *pats, size_t n_pats,
		 const struct ks_dfa_automaton *autos, size_t n_autos,
		 const struct ks_dfa_limits *lim, struct ks_dfa *out,
		 char *err, size_t errlen);
void ks_dfa_free(struct ks_dfa *d);
/*
 * ks_dfa_build, the rows written as the image's (maps/ks_dfa.h) straight
 * into tab (tab_cap bytes; a DFA that needs more fails with a message):
 * out->next stays NULL. The compiler builds into struct ks_tables.dfa so,
 * with no state-id table to fill, convert and copy, a 1,000-rule set
 * touches 2.7 MB of fresh memory instead of 8 (page faults were a third of
 * a compile: bench/profile/compile-before.txt). ks_dfa_image_hdr(out)
 * gives the header.
 */
int ks_dfa_build_image(const struct ks_dfa_pattern *pats, size_t n_pats,
		       const struct ks_dfa_automaton *autos, size_t n_autos,
		       const struct ks_dfa_limits *lim, struct ks_dfa *out,
		       uint32_t *tab, size_t tab_cap, char *err, size_t errlen);

/* The image cell naming state s (0: dead): its row's offset, flagged if it accepts. */
static inline uint32_t ks_dfa_cell(uint32_t acc_base, uint32_t row_bytes, uint32_t s)
{
	if (!s)
		return 0;
	return s * row_bytes | (s >= acc_base ? KS_DFA_ACC : 0);
}

/* The DFA image of maps/ks_dfa.h (dfa_image.c); automaton a of d is
 * (field a / KS_CASE_N, case a % KS_CASE_N). */
struct ks_dfa_image {
	struct ks_dfa_hdr hdr;
	uint32_t *tab;		/* hdr.tab_bytes / 4 cells */
	uint16_t *acc_list;	/* hdr.n_acc_list atom ids */
};

int ks_dfa_image_build(const struct ks_dfa *d, struct ks_dfa_image *img,
		       char *err, size_t errlen);
/* The header of d's image (0, or -1 with err when it fits no size class):
 * with ks_dfa_build_image, the image's rows are already in place. */
int ks_dfa_image_hdr(const struct ks_dfa *d, struct ks_dfa_hdr *h, char *err, size_t errlen);
void ks_dfa_image_free(struct ks_dfa_image *img);
/* Fill the header's begun cells from the rows in tab (maps/ks_dfa.h). */
void ks_dfa_image_begun(struct ks_dfa_hdr *h, const uint32_t *tab);
/* The column map the kernel's ks_scan_frame walks field f in case mode m
 * with: the command line's reads NUL as ' '. */
static inline uint32_t ks_dfa_scan_col(uint32_t f, uint32_t m)
{
	return m | (f == KS_F_PROCESS_COMMAND_LINE ? KS_DFA_COL_EXACT_JOIN : 0);
}
/* Every automaton's need filter from its patterns (maps/ks_dfa.h); after ks_dfa_image_hdr. */
void ks_dfa_image_need(struct ks_dfa_hdr *h, const struct ks_dfa_pattern *pats, size_t n);
/*
 * Prove every automaton's need filter on the image rows in tab
 * (dfa_need.c): 0 when no value it rules out can make a walk accept; 1
 * with *bad the first automaton it fails for; -1 out of memory.
 */
int ks_dfa_need_prove(const struct ks_dfa_hdr *h, const uint32_t *tab,
		      uint32_t *bad, char *err, size_t errlen);
int ks_dfa_image_literals(const uint8_t *const *lits, const uint32_t *lens, size_t n,
			  uint32_t field, uint32_t mode, struct ks_dfa_image *img,
			  char *err, size_t errlen);

#endif /* KS_COMP_DFA_H */
