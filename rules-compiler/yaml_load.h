/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The documents of a YAML rule file, composed in the pass that checks the
 * rule files' limits (yaml_load.c).
 */
#ifndef KS_COMP_YAML_LOAD_H
#define KS_COMP_YAML_LOAD_H

#include "source.h"

typedef void (*ks_ydoc_fn)(struct ks_ruleset *rs, const struct ks_src *src,
			   yaml_document_t *doc, yaml_node_t *root);

/*
 * Each document of src through fn, as yaml_parser_load() composes it.
 * A file nested deeper than KS_MAX_YAML_DEPTH or with an alias (before
 * its first syntax error) is reported and no document of it loaded;
 * otherwise the documents before its first syntax or composer error are,
 * then that error is reported.
 */
void ks_yaml_load(struct ks_ruleset *rs, const struct ks_src *src, ks_ydoc_fn fn);

#endif
