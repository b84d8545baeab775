/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Lowering: parsed rules into struct ks_tables (ks_compile in rules.h is
 * ks_lower without side tables). The side tables (ks_lowered) are what
 * ks_explain needs to name atoms and userspace-only tests: the kernel
 * tables only hold atom ids, not the patterns behind them.
 *
 *   atoms.c       pattern sets, interned atoms, trigger sets, networks
 *   lower_cond.c  a step's condition into a postfix program
 *   lower.c       steps, rules, the DFA and the trigger index
 */
#ifndef KS_COMP_LOWER_H
#define KS_COMP_LOWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kestrel/rules.h>

#include "source.h"

struct ks_atom_pat {
	uint8_t *bytes;		/* incl. sentinels, lowercased if FOLD */
	uint32_t len;
};

/*
 * An atom is hit when any of its patterns occurs in its (field, case)
 * walk: a disjunction of string tests on one field costs one atom, one
 * ATOM insn and one trigger entry however long the list is.
 */
struct ks_atom_desc {
	uint8_t field;		/* enum ks_field */
	uint8_t mode;		/* enum ks_case */
	uint32_t n_pats;
	struct ks_atom_pat *pats;	/* sorted, unique */
	uint32_t min_len;	/* shortest pattern */
};

struct ks_lowered {
	struct ks_atom_desc *atoms;
	uint32_t n_atoms;
	uint32_t n_patterns;
	/* user_note[i]: what insns[i] (a KS_OP_USER) leaves to userspace */
	char **user_note;
	uint32_t n_insns;
};

/*
 * Lower rs into *out like ks_compile, keeping the side tables in *lw.
 * With diags NULL no diagnostic is recorded (ks_explain on a ruleset it
 * must not modify); errors still make it return -1.
 */
int ks_lower(const struct ks_ruleset *rs, struct ks_diags *diags,
	     struct ks_tables *out, struct ks_compile_info *info,
	     struct ks_lowered *lw);
void ks_lowered_free(struct ks_lowered *lw);
/*
 * Does a step of q (or its until) read a name the host's DNS answers
 * give (destination.domain)? The tables then carry KS_NEED_DNS.
 */
bool ks_query_needs_dns(const struct ks_query *q);


#endif /* KS_COMP_LOWER_H */
