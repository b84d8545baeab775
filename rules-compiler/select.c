// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rule selection (kestrel.yml's rules: {include_tags, exclude_ids, ...}
 * and kload's --include-tag, --exclude-id, ... flags) and the exceptions
 * files it names: the top of the front end, run once every rule file is
 * read and before anything is compiled. Left-out rules go to rs->skipped
 * with the reason, which --explain prints.
 */
#include <stdlib.h>
#include <string.h>

#include "exceptions.h"

const char *ks_sel_list_name(enum ks_sel_list k)
{
	static const char *const names[KS_SEL_N] = {
		[KS_SEL_INCLUDE_IDS] = "include_ids",
		[KS_SEL_INCLUDE_TAGS] = "include_tags",
		[KS_SEL_EXCLUDE_IDS] = "exclude_ids",
		[KS_SEL_EXCLUDE_TAGS] = "exclude_tags",
	};

	return k < KS_SEL_N ? names[k] : "?";
}

/* The first pattern of list k that r matches (counting every hit), or -1. */
static long sel_match(const struct ks_rule_select *sel, enum ks_sel_list k,
		      const struct ks_rule_src *r)
{
	bool tags = k == KS_SEL_INCLUDE_TAGS || k == KS_SEL_EXCLUDE_TAGS;
	long first = -1;
	size_t i;

	for (i = 0; i < sel->n[k]; i++) {
		if (!(tags ? ks_rule_match_tag(r, sel->pat[k][i]) :
			     ks_rule_match_id(r, sel->pat[k][i])))
			continue;
		if (sel->hits[k])
			sel->hits[k][i]++;
		if (first < 0)
			first = i;
	}
	return first;
}

static const char *sel_text(struct ks_ruleset *rs, const struct ks_rule_select *sel,
			    enum ks_sel_list k, long m)
{
	char *t = ks_xasprintf("%s %s", ks_sel_list_name(k), sel->pat[k][m]);
	const char *w = ks_strdup(rs, t);

	free(t);
	return w;
}

/* Why r is left out (arena text), or NULL to keep it. Every list is
 * matched, so hits[] count each pattern's rules. */
static const char *sel_why(struct ks_ruleset *rs, const struct ks_rule_select *sel,
			   const struct ks_rule_src *r)
{
	long m[KS_SEL_N];
	enum ks_sel_list k;

	for (k = 0; k < KS_SEL_N; k++)
		m[k] = sel_match(sel, k, r);
	for (k = KS_SEL_EXCLUDE_IDS; k <= KS_SEL_EXCLUDE_TAGS; k++)
		if (m[k] >= 0)
			return sel_text(rs, sel, k, m[k]);
	if ((sel->n[KS_SEL_INCLUDE_IDS] || sel->n[KS_SEL_INCLUDE_TAGS]) &&
	    m[KS_SEL_INCLUDE_IDS] < 0 && m[KS_SEL_INCLUDE_TAGS] < 0)
		return "matches neither include_ids nor include_tags";
	return NULL;
}

int ks_ruleset_select(struct ks_ruleset *rs, const struct ks_rule_select *sel)
{
	size_t before = ks_diags_errors(&rs->diags), i;
	const char **why = ks_xmalloc((rs->n_rules + 1) * sizeof(*why));
	bool *keep = ks_xmalloc((rs->n_rules + 1) * sizeof(*keep)), any = false;

	for (i = 0; i < rs->n_rules; i++) {
		why[i] = sel_why(rs, sel, &rs->rules[i]);
		keep[i] = !why[i];
		any |= !keep[i];
	}
	if (any)
		ks_rules_drop(rs, keep, why);
	free(keep);
	free(why);
	for (i = 0; i < sel->n_exceptions; i++)
		ks_ruleset_load_exceptions(rs, sel->exceptions[i]);
	return ks_diags_errors(&rs->diags) > before ? -1 : 0;
}
