/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sigma front end: the entry point the rule loader calls, and what its two
 * files share. sigma.c reads the rule (log source, metadata, detection)
 * and parses the condition; sigma_sel.c turns selections (field entries
 * with modifiers and values, keywords) into AST.
 */
#ifndef KS_COMP_SIGMA_H
#define KS_COMP_SIGMA_H

#include "ast.h"

/* Sigma import of one YAML document; root is the top-level mapping. */
int ks_sigma_import(struct ks_ruleset *rs, const struct ks_src *src,
		    yaml_document_t *doc, yaml_node_t *root);

/* ---- shared by sigma.c and sigma_sel.c ---- */

struct sel {
	const char *name;
	yaml_node_t *key, *val;
	struct ks_node *ast;
	bool built, building;
};

struct sigma {
	struct ks_ruleset *rs;
	const struct ks_src *src;
	yaml_document_t *doc;
	enum ks_category cat;
	enum ks_action action;
	struct sel *sels;
	size_t n_sels;
	size_t errors;
};

void sg_err_loc(struct sigma *sg, struct ks_loc l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define sg_err(sg, node, ...) \
	sg_err_loc(sg, ks_yaml_loc((sg)->src, (node)->start_mark), __VA_ARGS__)

static inline struct ks_loc sg_loc(struct sigma *sg, yaml_node_t *n)
{
	return ks_yaml_loc(sg->src, n->start_mark);
}

/* The AST of a selection, built on first use; NULL after an error. */
struct ks_node *sg_sel_get(struct sigma *sg, struct sel *s);

#endif /* KS_COMP_SIGMA_H */
