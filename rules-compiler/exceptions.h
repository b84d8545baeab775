/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Exceptions (exceptions.c): reading one from YAML, adding it to a rule,
 * and folding a rule's exceptions into its steps' exc nodes; and the id
 * and tag globs that rule selection and exceptions files match rules by.
 * Above the EQL parser, below the rule file loader (ruleset.c).
 */
#ifndef KS_COMP_EXCEPTIONS_H
#define KS_COMP_EXCEPTIONS_H

#include "ast.h"

/* The YAML nodes of one exception's keys (NULL: not given). */
struct ks_exc_nodes {
	yaml_node_t *condition, *step, *description;
	yaml_node_t *rules, *tags;	/* exceptions files only */
};

/*
 * One exception at node n: a rule's list takes an EQL condition or a
 * mapping {condition, step, description}; an exceptions file (in_file)
 * a mapping that also has rules: and tags:, left in x for the caller.
 * 0, or -1 with diagnostics.
 */
int ks_exc_read(struct ks_ruleset *rs, const struct ks_src *src,
		yaml_document_t *doc, yaml_node_t *n, bool in_file,
		struct ks_exception *e, struct ks_exc_nodes *x);
/* Append e to r (a step past r's steps is an error): 0 or -1. */
int ks_rule_add_exception(struct ks_ruleset *rs, struct ks_rule_src *r,
			  const struct ks_exception *e);
/* (Re)build the exc node of each of r's steps from its exceptions. */
void ks_rule_apply_exceptions(struct ks_ruleset *rs, struct ks_rule_src *r);

/* fnmatch(3) globs on the rule's id, on any of its tags. */
bool ks_rule_match_id(const struct ks_rule_src *r, const char *pat);
bool ks_rule_match_tag(const struct ks_rule_src *r, const char *pat);

#endif /* KS_COMP_EXCEPTIONS_H */
