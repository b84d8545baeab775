// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Elastic detection-rules files (elastic/detection-rules, rules/ *.toml):
 * the [rule] table of an EQL rule becomes a Kestrel rule.
 *
 *   rule_id      rule.uuid of its alerts
 *   name, description, severity, risk_score, tags, references
 *   language, type   must both be "eql": anything else is rejected
 *   query        the EQL, parsed with positions in the .toml file
 *   [[rule.threat]]  framework, tactic, technique, subtechnique
 *
 * The Kestrel rule id is the file name without .toml (readable in
 * --explain and alerts, unique in a directory), or the rule_id when the
 * name is not a valid id. Keys that only steer Kibana (author, from,
 * index, note, setup, ...) are read and ignored; any other key is
 * rejected, since ignoring one that filters or throttles alerts would
 * change what the rule means. [metadata] and [transform] are ignored.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <kestrel/names.h>
#include <kestrel/toml.h>

#include "elastic.h"

/* [rule] keys that describe the rule for Kibana and not what it matches */
static const char *const ignored_keys[] = {
	"author", "from", "index", "interval", "license", "note", "setup",
	"timestamp_override", "false_positives", "max_signals", "version",
	"building_block_type", "related_integrations", "required_fields",
	"investigation_fields", "rule_name_override", "output_index", "meta",
};

struct imp {
	struct ks_ruleset *rs;
	const struct ks_src *src;
	const struct ks_toml *rule;
	size_t errors;
};

static void imp_error(struct imp *im, struct ks_loc at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void imp_error(struct imp *im, struct ks_loc at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ks_diag_vadd(&im->rs->diags, KS_DIAG_ERROR, at, fmt, ap);
	va_end(ap);
	im->errors++;
}

/* Entry `key` of table t if it has type `type`; reports a wrong type, or
 * a missing entry when required (`what` names t in messages). */
static const struct ks_toml *want(struct imp *im, const struct ks_toml *t,
				  const char *what, const char *key,
				  enum ks_toml_type type, bool required)
{
	const struct ks_toml *v = ks_toml_get(t, key);

	if (!v) {
		if (required)
			imp_error(im, t->loc, "%s has no %s", what, key);
		return NULL;
	}
	if (v->type != type) {
		imp_error(im, v->loc, "%s must be %s %s, not %s %s", key,
			  type == KS_TOML_INT || type == KS_TOML_ARRAY ? "an" : "a",
			  ks_toml_type_name(type),
			  v->type == KS_TOML_INT || v->type == KS_TOML_ARRAY ? "an" : "a",
			  ks_toml_type_name(v->type));
		return NULL;
	}
	return v;
}

/* A string entry copied into the arena, or NULL. */
static char *want_str(struct imp *im, const struct ks_toml *t, const char *what,
		      const char *key, bool required)
{
	const struct ks_toml *v = want(im, t, what, key, KS_TOML_STRING, required);

	if (!v)
		return NULL;
	if (memchr(v->str, 0, v->len)) {
		imp_error(im, v->loc, "%s must not contain NUL", key);
		return NULL;
	}
	return ks_strndup(im->rs, v->str, v->len);
}

/* An array of strings into *out (arena). */
static void want_strs(struct imp *im, const char *key, char ***out, size_t *n)
{
	const struct ks_toml *a = want(im, im->rule, "[rule]", key,
				       KS_TOML_ARRAY, false);
	size_t i;

	if (!a)
		return;
	*out = ks_alloc(im->rs, (a->n ? a->n : 1) * sizeof(**out));
	for (i = 0; i < a->n; i++) {
		if (a->v[i]->type != KS_TOML_STRING ||
		    memchr(a->v[i]->str, 0, a->v[i]->len)) {
			imp_error(im, a->v[i]->loc, "%s must be a list of strings", key);
			continue;
		}
		(*out)[(*n)++] = ks_strndup(im->rs, a->v[i]->str, a->v[i]->len);
	}
}

static bool is_ignored(const char *key)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ignored_keys); i++)
		if (!strcmp(key, ignored_keys[i]))
			return true;
	return false;
}

static void check_keys(struct imp *im)
{
	static const char *const used[] = {
		"rule_id", "name", "description", "severity", "risk_score",
		"tags", "references", "language", "type", "query", "threat",
		"enabled",
	};
	const struct ks_toml *e;
	size_t i, k;

	for (i = 0; i < im->rule->n; i++) {
		e = im->rule->v[i];
		for (k = 0; k < ARRAY_SIZE(used); k++)
			if (!strcmp(e->key, used[k]))
				break;
		if (k < ARRAY_SIZE(used) || is_ignored(e->key))
			continue;
		imp_error(im, e->key_loc, "unsupported key \"rule.%s\": Kestrel "
			  "cannot apply it, and ignoring it could change what "
			  "the rule alerts on", e->key);
	}
}

/* language and type: "eql" and "eql", or the rule is not for Kestrel. */
static void check_language(struct imp *im)
{
	const struct ks_toml *l = want(im, im->rule, "[rule]", "language",
				       KS_TOML_STRING, true);
	const struct ks_toml *t = want(im, im->rule, "[rule]", "type",
				       KS_TOML_STRING, true);

	if (l && strcmp(l->str, "eql"))
		imp_error(im, l->loc, "rule language \"%s\" is not supported: "
			  "Kestrel runs EQL rules (language = \"eql\")", l->str);
	else if (t && strcmp(t->str, "eql"))
		imp_error(im, t->loc, "rule type \"%s\" is not supported: "
			  "Kestrel runs EQL rules (type = \"eql\")", t->str);
}

static void read_ref(struct imp *im, const struct ks_toml *t, const char *what,
		     struct ks_attack_ref *ref)
{
	ref->id = want_str(im, t, what, "id", true);
	ref->name = want_str(im, t, what, "name", false);
	ref->reference = want_str(im, t, what, "reference", false);
}

/* Each table of array `key` of t, through fn. */
static const struct ks_toml *table_list(struct imp *im, const struct ks_toml *t,
					const char *what, const char *key)
{
	const struct ks_toml *a = want(im, t, what, key, KS_TOML_ARRAY, false);
	size_t i;

	for (i = 0; a && i < a->n; i++)
		if (a->v[i]->type != KS_TOML_TABLE) {
			imp_error(im, a->v[i]->loc, "%s must be a list of tables", key);
			return NULL;
		}
	return a;
}

static void read_technique(struct imp *im, struct ks_threat *th,
			   const struct ks_toml *t)
{
	struct ks_technique *te = ks_technique_add(im->rs, th);
	const struct ks_toml *subs;
	size_t i;

	read_ref(im, t, "[[rule.threat.technique]]", &te->ref);
	subs = table_list(im, t, "[[rule.threat.technique]]", "subtechnique");
	for (i = 0; subs && i < subs->n; i++)
		read_ref(im, subs->v[i], "[[rule.threat.technique.subtechnique]]",
			 ks_subtechnique_add(im->rs, te));
}

static void read_threats(struct imp *im, struct ks_rule_src *r)
{
	const struct ks_toml *a = table_list(im, im->rule, "[rule]", "threat");
	const struct ks_toml *t, *tac, *techs;
	struct ks_threat *th;
	size_t i, k;

	for (i = 0; a && i < a->n; i++) {
		t = a->v[i];
		th = ks_threat_add(im->rs, r);
		th->framework = want_str(im, t, "[[rule.threat]]", "framework", true);
		tac = want(im, t, "[[rule.threat]]", "tactic", KS_TOML_TABLE, true);
		if (tac)
			read_ref(im, tac, "[rule.threat.tactic]", &th->tactic);
		techs = table_list(im, t, "[[rule.threat]]", "technique");
		for (k = 0; techs && k < techs->n; k++)
			read_technique(im, th, techs->v[k]);
	}
}

/* The Kestrel id: the file name without .toml when valid, or rule_id. */
static const char *rule_id(struct imp *im, const char *uuid)
{
	const char *base = strrchr(im->src->file, '/');
	size_t n;
	char *id;

	base = base ? base + 1 : im->src->file;
	n = strlen(base);
	if (n > 5 && !strcmp(base + n - 5, ".toml")) {
		id = ks_strndup(im->rs, base, n - 5);
		if (ks_rule_id_valid(id))
			return id;
	}
	if (!ks_rule_id_valid(uuid)) {
		imp_error(im, ks_toml_get(im->rule, "rule_id")->loc,
			  "invalid rule_id \"%s\" (and the file name is no rule id "
			  "either): use lowercase letters, digits, '_', '.' and '-'",
			  uuid);
		return NULL;
	}
	return uuid;
}

static void parse_query(struct imp *im, struct ks_rule_src *r)
{
	const struct ks_toml *q = ks_toml_get(im->rule, "query");
	struct ks_posmap pm = { .file = im->src->file, .text = r->query_text,
				.len = q->len };
	size_t i;

	for (i = 0; i < q->n_segs; i++) {
		ks_grow(&pm.v, &pm.cap, pm.n, sizeof(*pm.v));
		pm.v[pm.n++] = (struct ks_seg){ q->segs[i].off, q->segs[i].line,
						q->segs[i].col };
	}
	r->q = ks_parse_query_map(im->rs, &pm);
	ks_posmap_free(&pm);
}

static int severity(struct imp *im)
{
	const struct ks_toml *v = want(im, im->rule, "[rule]", "severity",
				       KS_TOML_STRING, false);
	int sev;

	if (!v)
		return KS_SEV_MEDIUM;
	sev = ks_severity_parse(v->str);
	if (sev < 0) {
		imp_error(im, v->loc, "unknown severity \"%s\" (expected low, "
			  "medium, high or critical)", v->str);
		return KS_SEV_MEDIUM;
	}
	return sev;
}

static int risk_score(struct imp *im)
{
	const struct ks_toml *v = want(im, im->rule, "[rule]", "risk_score",
				       KS_TOML_INT, false);

	if (!v)
		return -1;
	if (v->i < 0 || v->i > 100) {
		imp_error(im, v->loc, "risk_score %lld is not within 0..100",
			  (long long)v->i);
		return -1;
	}
	return (int)v->i;
}

/* Everything of [rule] into r, once it is known to be an EQL rule. */
static void read_rule(struct imp *im, struct ks_rule_src *r)
{
	const struct ks_toml *e;

	r->elastic = true;
	r->name = want_str(im, im->rule, "[rule]", "name", true);
	r->description = want_str(im, im->rule, "[rule]", "description", false);
	r->severity = severity(im);
	r->risk_score = risk_score(im);
	want_strs(im, "tags", &r->tags, &r->n_tags);
	want_strs(im, "references", &r->references, &r->n_references);
	read_threats(im, r);
	r->query_text = want_str(im, im->rule, "[rule]", "query", true);
	/* enabled = false: read, not compiled (ruleset.c drops it) */
	e = want(im, im->rule, "[rule]", "enabled", KS_TOML_BOOL, false);
	r->disabled = e && !e->b;
}

static void import_rule(struct imp *im)
{
	struct ks_rule_src *r, tmp = { .risk_score = -1 };
	char *uuid;
	const char *id;

	check_keys(im);
	check_language(im);
	uuid = want_str(im, im->rule, "[rule]", "rule_id", true);
	if (im->errors)
		return;
	read_rule(im, &tmp);
	id = rule_id(im, uuid);
	if (im->errors)
		return;
	r = ks_rule_append(im->rs, id, im->rule->loc);
	if (!r)
		return;
	tmp.id = r->id;
	tmp.loc = r->loc;
	tmp.action = r->action;
	tmp.uuid = uuid;
	*r = tmp;
	if (!r->disabled)
		parse_query(im, r);
}

int ks_elastic_import(struct ks_ruleset *rs, const struct ks_src *src)
{
	struct imp im = { .rs = rs, .src = src };
	struct ks_toml *doc;

	doc = ks_toml_parse(src->text, src->len, src->file, &rs->diags);
	if (!doc)
		return -1;
	im.rule = ks_toml_get(doc, "rule");
	if (!im.rule || im.rule->type != KS_TOML_TABLE)
		imp_error(&im, doc->loc, "no [rule] table: not an Elastic "
			  "detection rule");
	else
		import_rule(&im);
	ks_toml_free(doc);
	return im.errors ? -1 : 0;
}
