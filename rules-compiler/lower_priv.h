/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the files of the lowering share: the lowering state, trigger
 * sets, programs under construction and pattern sets, and the functions
 * one file provides to the next (atoms.c <- lower_cond.c <- lower.c).
 */
#ifndef KS_COMP_LOWER_PRIV_H
#define KS_COMP_LOWER_PRIV_H

#include "ast.h"
#include "lower.h"

#define NOTE_MAX	160

/* A trigger set: none (no atom is necessary) or sorted atom ids. */
struct trig {
	bool none;
	uint32_t n;
	uint32_t *v;
};

struct prog {
	struct ks_insn *v;
	char **note;		/* per insn: what a USER leaves to userspace */
	uint32_t n, cap;
};

struct lower {
	const struct ks_ruleset *rs;
	struct ks_diags *diags;
	struct ks_tables *t;
	struct ks_compile_info *info;
	struct ks_lowered *lw;
	int errors;

	struct ks_atom_desc *atoms;
	uint32_t n_atoms, cap_atoms, n_patterns;
	uint32_t *ahash;	/* atom id + 1, open addressing */
	uint32_t ahash_cap;	/* a power of two, at least 2 * n_atoms */
	uint32_t rule_atoms;	/* atoms of the current rule (info) */
	uint32_t need_refuted;	/* need filters the proof dropped (info) */
	uint8_t *atom_rule;	/* atom seen in the current rule */

	struct trig *strig;	/* per table step */
	size_t cap_strig;
	uint32_t *sact;		/* per table step: the actions it can match */
	size_t cap_sact;
	char **notes;		/* per table insn */
	size_t cap_notes;

	const struct ks_rule_src *rule;	/* being lowered */
	bool args_warned;		/* its args_cut warning given */
	bool in_exc;			/* lowering a step's exceptions */
	struct ks_loc loc;		/* for limit errors */
	char why[NOTE_MAX];		/* first reason it is not exact */
};

struct pset {
	struct ks_atom_pat *v;
	uint32_t n, cap;
};

/* An OR under construction: one pattern set per (field, case). */
struct orset {
	struct pset s[KS_F_STR_N * KS_CASE_N];
};


/*
 * Does a miss the kept bytes of a cut argument vector cannot decide fail
 * closed in rule r (args_cut, default by action)?
 */
static inline bool rule_args_closed(const struct ks_rule_src *r)
{
	if (r->args_cut != KS_ARGS_CUT_DEFAULT)
		return r->args_cut == KS_ARGS_CUT_CLOSED;
	return r->action != KS_RA_ALERT;
}

/* ---- atoms.c ---- */
void lower_error(struct lower *L, struct ks_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct trig trig_none(void);
struct trig trig_empty(void);
struct trig trig_atom(uint32_t a);
void trig_free(struct trig *t);
struct trig trig_dup(const struct trig *t);
/* Union of two sets (consumed); none if either is none. */
struct trig trig_union(struct trig a, struct trig b);
/* For a conjunction: the better of two sets (both consumed). */
struct trig trig_pick(const struct lower *L, struct trig a, struct trig b);

void pset_add(struct pset *ps, bool ci, bool begin, const char *s,
	      size_t len, bool end);
/* Atom id of the set (consumed), interned; -1 past KS_MAX_ATOMS. */
int atom_get(struct lower *L, uint8_t field, uint8_t mode, struct pset *ps);
/* A one-pattern atom. */
int atom_framed(struct lower *L, const struct ks_field_info *f, bool ci,
		bool begin, const char *s, size_t len, bool end);
void orset_free(struct orset *os);
/* Index of the network in the table's cidrs; -1 past KS_MAX_CIDRS. */
int cidr_get(struct lower *L, const struct ks_ipnet *net);

/* ---- lower_cond.c ---- */
struct step_out {
	uint32_t prog, len;
	bool exact;
	struct trig trig;
};

/* The program of one step, placed in the table; -1 on a limit. */
int lower_step_prog(struct lower *L, const struct ks_step_ast *s,
		    struct step_out *o);

/* net_filter.c: a step that can match a packet, into the packet filter */
void ks_net_filter_add(struct ks_net_filter *nf, const struct ks_node *cond);

#endif /* KS_COMP_LOWER_PRIV_H */
