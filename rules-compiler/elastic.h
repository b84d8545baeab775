/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Elastic's rule formats, on top of the EQL front end (parser.h): its
 * detection-rules TOML files (elastic.c, reading them with toml.c) and
 * the MITRE ATT&CK references alerts carry (attack.c: from
 * [[rule.threat]], a YAML rule's threat: list, or attack.* tags).
 */
#ifndef KS_COMP_ELASTIC_H
#define KS_COMP_ELASTIC_H

#include "parser.h"

/* Import an Elastic detection-rules .toml file; 0, or -1 with
 * diagnostics added. */
int ks_elastic_import(struct ks_ruleset *rs, const struct ks_src *src);

/* Entries added zeroed, in the ruleset's arena. */
struct ks_threat *ks_threat_add(struct ks_ruleset *rs, struct ks_rule_src *r);
struct ks_technique *ks_technique_add(struct ks_ruleset *rs, struct ks_threat *t);
struct ks_attack_ref *ks_subtechnique_add(struct ks_ruleset *rs,
					  struct ks_technique *t);
/* Threats from r's attack.* tags, when r gives none. */
void ks_attack_from_tags(struct ks_ruleset *rs, struct ks_rule_src *r);
/* The threat: list of a YAML rule mapping (Elastic's [[rule.threat]]
 * shape) into r; returns the number of errors reported. */
int ks_attack_from_yaml(struct ks_ruleset *rs, const struct ks_src *src,
			yaml_document_t *doc, yaml_node_t *rule,
			struct ks_rule_src *r);

#endif /* KS_COMP_ELASTIC_H */
