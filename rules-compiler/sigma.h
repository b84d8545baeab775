/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Sigma front end: the entry point the rule loader calls, and what its
 * files share: sigma_value.c (values as patterns, |windash, |re) <-
 * sigma_sel.c (selections: field entries with modifiers and values,
 * keywords, into AST) <- sigma.c (the rule: log source, metadata,
 * detection, condition).
 */
#ifndef KS_COMP_SIGMA_H
#define KS_COMP_SIGMA_H

#include "ast.h"

/* Sigma import of one YAML document; root is the top-level mapping. */
int ks_sigma_import(struct ks_ruleset *rs, const struct ks_src *src,
		    yaml_document_t *doc, yaml_node_t *root);

/* ---- sigma_value.c ---- */

/* Sigma value -> wildcard encoding (malloc'd). */
char *sg_wild(const char *s, size_t len, size_t *olen);
/* The |windash variants of s (malloc'd vector of malloc'd strings) and
 * their number; 0 if s has more than WINDASH_MAX option dashes. */
#define WINDASH_MAX	3
size_t sg_windash(const char *s, char ***out);
/* PCRE as Sigma writes it to a POSIX ERE (malloc'd), or NULL with why;
 * a leading (?i) sets *ci, dotall is the |s modifier. */
char *sg_re_translate(const char *s, bool *ci, bool dotall, const char **why);

/* ---- shared by sigma_sel.c and sigma.c ---- */

struct sel {
	const char *name;
	yaml_node_t *key, *val;
	struct ks_node *ast;
	size_t size;		/* tests in ast, once computed */
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
	struct ks_strmap sel_names;	/* name -> index in sels */
	size_t errors;
	bool host_os;			/* a host.os.type test was decided */
};

void sg_err_loc(struct sigma *sg, struct ks_loc l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define sg_err(sg, node, ...) \
	sg_err_loc(sg, ks_yaml_loc((sg)->src, (node)->start_mark), __VA_ARGS__)

static inline struct ks_loc sg_loc(struct sigma *sg, yaml_node_t *n)
{
	return ks_yaml_loc(sg->src, n->start_mark);
}

/* Report duplicate keys of a mapping; the number found. */
int sg_check_dups(struct sigma *sg, yaml_node_t *map);
/* The AST of a selection, built on first use; NULL after an error. */
struct ks_node *sg_sel_get(struct sigma *sg, struct sel *s);

#endif /* KS_COMP_SIGMA_H */
