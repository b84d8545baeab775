// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * MITRE ATT&CK references of a rule (struct ks_threat), which alerts carry
 * as ECS threat.*: given by an Elastic rule's [[rule.threat]] (elastic.c),
 * by a YAML rule's threat: list (also how .kbin files keep them), or
 * derived here from attack.* tags (Sigma's convention: attack.execution,
 * attack.t1059, attack.t1059.004, attack.ta0002) when a rule gives none.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "elastic.h"

#define ATTACK_URL	"https://attack.mitre.org/"

/* The enterprise tactics: tag spelling (Sigma's), id, name. */
static const struct tactic {
	const char *tag, *id, *name;
} tactics[] = {
	{ "reconnaissance", "TA0043", "Reconnaissance" },
	{ "resource_development", "TA0042", "Resource Development" },
	{ "initial_access", "TA0001", "Initial Access" },
	{ "execution", "TA0002", "Execution" },
	{ "persistence", "TA0003", "Persistence" },
	{ "privilege_escalation", "TA0004", "Privilege Escalation" },
	{ "defense_evasion", "TA0005", "Defense Evasion" },
	{ "credential_access", "TA0006", "Credential Access" },
	{ "discovery", "TA0007", "Discovery" },
	{ "lateral_movement", "TA0008", "Lateral Movement" },
	{ "collection", "TA0009", "Collection" },
	{ "command_and_control", "TA0011", "Command and Control" },
	{ "exfiltration", "TA0010", "Exfiltration" },
	{ "impact", "TA0040", "Impact" },
};

int ks_rule_risk_score(const struct ks_rule_src *r)
{
	static const int by_severity[] = {
		[KS_SEV_LOW] = 21, [KS_SEV_MEDIUM] = 47,
		[KS_SEV_HIGH] = 73, [KS_SEV_CRITICAL] = 99,
	};

	if (r->risk_score >= 0)
		return r->risk_score;
	return (unsigned int)r->severity < ARRAY_SIZE(by_severity) ?
	       by_severity[r->severity] : 47;
}

/* Arena arrays grow by copying (the old block stays in the arena until
 * the ruleset goes: these lists are a handful of entries). The new entry
 * is zeroed: arena memory is never reused. */
static void *arena_push(struct ks_ruleset *rs, void *v, size_t *n, size_t sz)
{
	void *nv = ks_alloc(rs, (*n + 1) * sz);

	if (*n)
		memcpy(nv, v, *n * sz);
	(*n)++;
	return nv;
}

struct ks_threat *ks_threat_add(struct ks_ruleset *rs, struct ks_rule_src *r)
{
	r->threats = arena_push(rs, r->threats, &r->n_threats, sizeof(*r->threats));
	return &r->threats[r->n_threats - 1];
}

struct ks_technique *ks_technique_add(struct ks_ruleset *rs, struct ks_threat *t)
{
	t->techniques = arena_push(rs, t->techniques, &t->n_techniques,
				   sizeof(*t->techniques));
	return &t->techniques[t->n_techniques - 1];
}

struct ks_attack_ref *ks_subtechnique_add(struct ks_ruleset *rs,
					  struct ks_technique *t)
{
	t->subs = arena_push(rs, t->subs, &t->n_subs, sizeof(*t->subs));
	return &t->subs[t->n_subs - 1];
}

/* ---- attack.* tags ---- */

/* "T1059", "T1059.004" or ATTACK_URL "techniques/T1059/004/", in the
 * arena: tid is four digits, sub three or "" (tags are checked first). */
static char *technique_text(struct ks_ruleset *rs, const char *tid,
			    const char *sub, bool url)
{
	char buf[64];

	if (url)
		snprintf(buf, sizeof(buf), ATTACK_URL "techniques/T%s/%s%s", tid,
			 sub, *sub ? "/" : "");
	else
		snprintf(buf, sizeof(buf), "T%s%s%s", tid, *sub ? "." : "", sub);
	return ks_strdup(rs, buf);
}

static const struct tactic *tactic_of(const char *s)
{
	char norm[32];
	size_t i;

	for (i = 0; s[i] && i + 1 < sizeof(norm); i++)
		norm[i] = s[i] == '-' ? '_' : tolower((unsigned char)s[i]);
	norm[i] = 0;
	for (i = 0; i < ARRAY_SIZE(tactics); i++)
		if (!strcmp(norm, tactics[i].tag) ||
		    !strcasecmp(s, tactics[i].id))
			return &tactics[i];
	return NULL;
}

/* "t1059" or "t1059.004": the technique and subtechnique numbers. */
static bool technique_of(const char *s, char tid[6], char sub[4])
{
	size_t i;

	if (tolower((unsigned char)s[0]) != 't')
		return false;
	for (i = 1; i <= 4; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	memcpy(tid, s + 1, 4);
	tid[4] = 0;
	sub[0] = 0;
	if (!s[5])
		return true;
	if (s[5] != '.' || !isdigit((unsigned char)s[6]) ||
	    !isdigit((unsigned char)s[7]) || !isdigit((unsigned char)s[8]) || s[9])
		return false;
	memcpy(sub, s + 6, 3);
	sub[3] = 0;
	return true;
}

static struct ks_technique *technique_find(struct ks_ruleset *rs,
					   struct ks_threat *t, const char *tid)
{
	struct ks_technique *te;
	size_t i;

	for (i = 0; i < t->n_techniques; i++)
		if (!strcmp(t->techniques[i].ref.id + 1, tid))
			return &t->techniques[i];
	te = ks_technique_add(rs, t);
	te->ref.id = technique_text(rs, tid, "", false);
	te->ref.reference = technique_text(rs, tid, "", true);
	return te;
}

static void tag_technique(struct ks_ruleset *rs, struct ks_threat *t,
			  const char *tid, const char *sub)
{
	struct ks_technique *te = technique_find(rs, t, tid);
	struct ks_attack_ref *s;
	size_t i;

	if (!*sub)
		return;
	for (i = 0; i < te->n_subs; i++)
		if (!strcmp(te->subs[i].id + 6, sub))
			return;
	s = ks_subtechnique_add(rs, te);
	s->id = technique_text(rs, tid, sub, false);
	s->reference = technique_text(rs, tid, sub, true);
}

static void tag_tactic(struct ks_ruleset *rs, struct ks_rule_src *r,
		       const struct tactic *ta)
{
	struct ks_threat *t;
	char url[64];
	size_t i;

	for (i = 0; i < r->n_threats; i++)
		if (r->threats[i].tactic.id && !strcmp(r->threats[i].tactic.id, ta->id))
			return;
	/* a threat made for techniques before any tactic is taken over */
	t = r->n_threats && !r->threats[0].tactic.id ? &r->threats[0] :
	    ks_threat_add(rs, r);
	t->framework = ks_strdup(rs, "MITRE ATT&CK");
	t->tactic.id = ks_strdup(rs, ta->id);
	t->tactic.name = ks_strdup(rs, ta->name);
	snprintf(url, sizeof(url), ATTACK_URL "tactics/%s/", ta->id);
	t->tactic.reference = ks_strdup(rs, url);
}

/*
 * Tactics each make a threat entry; techniques go to the first one (tags
 * do not say which tactic a technique serves, and alerts list tactics and
 * techniques side by side anyway).
 */
void ks_attack_from_tags(struct ks_ruleset *rs, struct ks_rule_src *r)
{
	const struct tactic *ta;
	char tid[6], sub[4];
	size_t i;

	if (r->n_threats)
		return;
	for (i = 0; i < r->n_tags; i++) {
		if (strncasecmp(r->tags[i], "attack.", 7))
			continue;
		ta = tactic_of(r->tags[i] + 7);
		if (ta) {
			tag_tactic(rs, r, ta);
		} else if (technique_of(r->tags[i] + 7, tid, sub)) {
			if (!r->n_threats)
				ks_threat_add(rs, r)->framework =
					ks_strdup(rs, "MITRE ATT&CK");
			tag_technique(rs, &r->threats[0], tid, sub);
		}
	}
}

/* ---- threat: in YAML rules (and the metadata of .kbin files) ---- */

struct yctx {
	struct ks_ruleset *rs;
	const struct ks_src *src;
	yaml_document_t *doc;
	int errors;
};

static void yerr(struct yctx *y, yaml_node_t *at, const char *msg)
{
	ks_diag_add(&y->rs->diags, KS_DIAG_ERROR, ks_yaml_loc(y->src, at->start_mark),
		    "%s", msg);
	y->errors++;
}

/* String `key` of mapping m into the arena; NULL if absent (an error when
 * required) or not a string. */
static char *ystr(struct yctx *y, yaml_node_t *m, const char *key, bool required)
{
	yaml_node_t *n = ks_ymap_get(y->doc, m, key);
	char *msg;

	if (n && ks_yscalar(n) && !ks_yis_null(n) &&
	    strlen(ks_yscalar(n)) == n->data.scalar.length)
		return ks_strdup(y->rs, ks_yscalar(n));
	if (n || required) {
		msg = ks_xasprintf("threat: \"%s\" must be a string", key);
		yerr(y, n ? n : m, msg);
		free(msg);
	}
	return NULL;
}

static void yref(struct yctx *y, yaml_node_t *m, struct ks_attack_ref *ref)
{
	if (m->type != YAML_MAPPING_NODE) {
		yerr(y, m, "threat: expected a mapping with id, name, reference");
		return;
	}
	ref->id = ystr(y, m, "id", true);
	ref->name = ystr(y, m, "name", false);
	ref->reference = ystr(y, m, "reference", false);
}

/* Each item of sequence `key` of m (absent: none), through fn. */
static void yeach(struct yctx *y, yaml_node_t *m, const char *key,
		  void (*fn)(struct yctx *, yaml_node_t *, void *), void *arg)
{
	yaml_node_t *s = ks_ymap_get(y->doc, m, key);
	yaml_node_item_t *it;

	if (!s)
		return;
	if (s->type != YAML_SEQUENCE_NODE) {
		yerr(y, s, "threat: expected a list");
		return;
	}
	for (it = s->data.sequence.items.start; it < s->data.sequence.items.top; it++)
		fn(y, yaml_document_get_node(y->doc, *it), arg);
}

static void ysub(struct yctx *y, yaml_node_t *m, void *te)
{
	yref(y, m, ks_subtechnique_add(y->rs, te));
}

static void ytechnique(struct yctx *y, yaml_node_t *m, void *th)
{
	struct ks_technique *te = ks_technique_add(y->rs, th);

	yref(y, m, &te->ref);
	if (m->type == YAML_MAPPING_NODE)
		yeach(y, m, "subtechnique", ysub, te);
}

static void ythreat(struct yctx *y, yaml_node_t *m, void *r)
{
	struct ks_threat *th = ks_threat_add(y->rs, r);
	yaml_node_t *tac;

	if (m->type != YAML_MAPPING_NODE) {
		yerr(y, m, "threat: expected a mapping with framework, tactic, technique");
		return;
	}
	th->framework = ystr(y, m, "framework", true);
	tac = ks_ymap_get(y->doc, m, "tactic");
	if (tac)
		yref(y, tac, &th->tactic);
	yeach(y, m, "technique", ytechnique, th);
}

int ks_attack_from_yaml(struct ks_ruleset *rs, const struct ks_src *src,
			yaml_document_t *doc, yaml_node_t *rule,
			struct ks_rule_src *r)
{
	struct yctx y = { rs, src, doc, 0 };

	yeach(&y, rule, "threat", ythreat, r);
	return y.errors;
}
