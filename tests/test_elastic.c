// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Elastic detection-rules TOML files as Kestrel rules (rules-compiler/
 * elastic.c): the [rule] metadata and [[rule.threat]] read, the query
 * parsed with positions in the .toml file, every rejection (language,
 * type, unknown key, types, ranges, TOML syntax) at its FILE:LINE:COL,
 * and ATT&CK threats derived from attack.* tags for YAML rules
 * (rules-compiler/attack.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <kestrel/rules.h>

#include "testlib.h"

/* An Elastic rule whose [rule] table is `head` then `tail` (after the
 * query), followed by one threat. Line numbers: head starts at line 7. */
static char *elastic(const char *head, const char *query, const char *tail)
{
	char *s;

	if (asprintf(&s,
		     "[metadata]\n"				/* 1 */
		     "creation_date = \"2026/01/02\"\n"	/* 2 */
		     "maturity = \"production\"\n"		/* 3 */
		     "\n"					/* 4 */
		     "[rule]\n"					/* 5 */
		     "author = [\"Kestrel\"]\n"			/* 6 */
		     "%s"
		     "query = '''\n%s'''\n"
		     "%s", head, query, tail) < 0)
		fail();
	return s;
}

#define HEAD_OK \
	"description = \"\"\"\nA curl.\"\"\"\n"	/* 7, 8 */ \
	"language = \"eql\"\n"				/* 9 */ \
	"name = \"Curl Run\"\n"				/* 10 */ \
	"references = [\"https://example.org/1\"]\n"	/* 11 */ \
	"risk_score = 21\n"				/* 12 */ \
	"rule_id = \"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9\"\n"	/* 13 */ \
	"severity = \"low\"\n"				/* 14 */ \
	"tags = [\"OS: Linux\", \"Tactic: Execution\"]\n"	/* 15 */ \
	"type = \"eql\"\n"				/* 16 */

#define THREAT \
	"\n[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n" \
	"[[rule.threat.technique]]\nid = \"T1059\"\nname = \"Command and Scripting Interpreter\"\n" \
	"reference = \"https://attack.mitre.org/techniques/T1059/\"\n" \
	"[[rule.threat.technique.subtechnique]]\nid = \"T1059.004\"\nname = \"Unix Shell\"\n" \
	"reference = \"https://attack.mitre.org/techniques/T1059/004/\"\n" \
	"[rule.threat.tactic]\nid = \"TA0002\"\nname = \"Execution\"\n" \
	"reference = \"https://attack.mitre.org/tactics/TA0002/\"\n"

/* Load text as `file`; check the return code and all diagnostics. */
static struct ks_ruleset *load(const char *text, const char *file, int rc,
			       const char *want)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *d;

	assert_int_equal(ks_ruleset_load_string(rs, text, file), rc);
	d = ks_test_diag_text(&rs->diags);
	if (strcmp(d, want))
		fail_msg(" got: %s\nwant: %s", d, want);
	free(d);
	return rs;
}

static void rejects(const char *head, const char *query, const char *tail,
		    const char *want)
{
	char *text = elastic(head, query, tail);
	struct ks_ruleset *rs = load(text, "r.toml", -1, want);

	assert_int_equal(rs->n_rules, 0);
	ks_ruleset_free(rs);
	free(text);
}

static void test_metadata(void **state)
{
	char *text = elastic(HEAD_OK, "process where process.name == \"curl\"\n", THREAT);
	struct ks_ruleset *rs = load(text, "dir/curl_run.toml", 0, "");
	const struct ks_rule_src *r = &rs->rules[0];
	const struct ks_threat *t;

	assert_int_equal(rs->n_rules, 1);
	assert_true(r->elastic);
	assert_string_equal(r->id, "curl_run");
	assert_string_equal(r->uuid, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
	assert_string_equal(r->name, "Curl Run");
	assert_string_equal(r->description, "A curl.");
	assert_int_equal(r->severity, KS_SEV_LOW);
	assert_int_equal(r->risk_score, 21);
	assert_int_equal(ks_rule_risk_score(r), 21);
	assert_int_equal(r->action, KS_RA_ALERT);
	assert_int_equal(r->n_tags, 2);
	assert_string_equal(r->tags[1], "Tactic: Execution");
	assert_int_equal(r->n_references, 1);
	assert_string_equal(r->references[0], "https://example.org/1");
	assert_string_equal(r->query_text, "process where process.name == \"curl\"\n");
	assert_non_null(r->q);
	assert_int_equal(r->loc.line, 5);
	assert_int_equal(r->n_threats, 1);
	t = &r->threats[0];
	assert_string_equal(t->framework, "MITRE ATT&CK");
	assert_string_equal(t->tactic.id, "TA0002");
	assert_string_equal(t->tactic.name, "Execution");
	assert_string_equal(t->tactic.reference, "https://attack.mitre.org/tactics/TA0002/");
	assert_int_equal(t->n_techniques, 1);
	assert_string_equal(t->techniques[0].ref.id, "T1059");
	assert_int_equal(t->techniques[0].n_subs, 1);
	assert_string_equal(t->techniques[0].subs[0].name, "Unix Shell");
	ks_ruleset_free(rs);
	free(text);
}

/* The id is the file name, or the rule_id when the name is no id. */
static void test_ids(void **state)
{
	char *text = elastic(HEAD_OK, "process where true\n", "");
	struct ks_ruleset *rs = load(text, "Curl Run.toml", 0, "");

	assert_string_equal(rs->rules[0].id, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
	ks_ruleset_free(rs);
	/* two files, one rule_id: two rules (the ids are the file names) */
	rs = load(text, "a.toml", 0, "");
	assert_int_equal(ks_ruleset_load_string(rs, text, "b.toml"), 0);
	assert_int_equal(rs->n_rules, 2);
	/* the same name twice is a duplicate id */
	assert_int_equal(ks_ruleset_load_string(rs, text, "x/a.toml"), -1);
	free(text);
	ks_ruleset_free(rs);
}

/* A rule whose query has an error: the rule is read, its query is not. */
static void bad_query(const char *query, const char *want)
{
	char *text = elastic(HEAD_OK, query, "");
	struct ks_ruleset *rs = load(text, "r.toml", -1, want);

	assert_int_equal(rs->n_rules, 1);
	assert_null(rs->rules[0].q);
	ks_ruleset_free(rs);
	free(text);
}

/* A rule whose query compiles: its condition as the printer writes it. */
static char *good_query(const char *query)
{
	char *text = elastic(HEAD_OK, query, "");
	struct ks_ruleset *rs = load(text, "r.toml", 0, "");
	char *printed;

	assert_int_equal(rs->n_rules, 1);
	assert_non_null(rs->rules[0].q);
	printed = ks_node_format(rs->rules[0].q->steps[0].cond);
	ks_ruleset_free(rs);
	free(text);
	return printed;
}

/* A query error is reported where it is in the .toml file. */
static void test_query_position(void **state)
{
	bad_query("sequence by process.entity_id\n"
		  "  [process where process.nam == \"x\"]\n"
		  "  [process where true]\n",
		  "r.toml:19:18: error: unknown field \"process.nam\" "
		  "(did you mean \"process.name\"?)");
}

/*
 * Elastic Defend's process.parent.args_count and process.env_vars, as
 * the corpus writes them (userspace-enriched fields: no join on them).
 */
static void test_enriched_fields(void **state)
{
	char *printed = good_query("process where event.type == \"start\" and\n"
				   "  process.parent.args_count <= 4 and\n"
				   "  process.env_vars : \"*GLIBC_TUNABLES=glibc.*=glibc.*=*\"\n");

	assert_non_null(strstr(printed, "process.parent.args_count <= 4"));
	free(printed);
	bad_query("sequence by process.env_vars\n"
		  "  [process where true]\n  [process where true]\n",
		  "r.toml:18:13: error: cannot join on process.env_vars: only fields "
		  "the kernel fills, host.*, agent.id and the strings of one value kload "
		  "reads (user.name, the working directories, process.parent.command_line, "
		  "the leaders' names) can be join keys");
}

/* The capability sets as the corpus tests them, kernel-decided. */
static void test_capabilities(void **state)
{
	char *printed = good_query("process where process.name != null and\n"
				   "  (process.thread.capabilities.effective : \"CAP_SET?ID\" or\n"
				   "   process.thread.capabilities.permitted : (\"CAP_CHOWN\", "
				   "\"CAP_FOWNER\"))\n");

	assert_string_equal(printed, "process.name != null and "
			    "(process.thread.capabilities.effective in (\"CAP_SETGID\", \"CAP_SETUID\") or "
			    "process.thread.capabilities.permitted in (\"CAP_CHOWN\", \"CAP_FOWNER\"))");
	free(printed);
	bad_query("process where process.thread.capabilities.effective : \"CAP_SYS_ADMN\"\n",
		  "r.toml:18:55: error: unknown value \"CAP_SYS_ADMN\" for "
		  "process.thread.capabilities.effective (expected one of: a capability "
		  "name, CAP_CHOWN to CAP_CHECKPOINT_RESTORE)");
}

static void test_language(void **state)
{
	rejects("language = \"kuery\"\nname = \"n\"\nrule_id = \"x\"\ntype = \"query\"\n",
		"process.name : curl\n", "",
		"r.toml:7:12: error: rule language \"kuery\" is not supported: "
		"Kestrel runs EQL rules (language = \"eql\")");
	rejects("language = \"eql\"\nname = \"n\"\nrule_id = \"x\"\ntype = \"threshold\"\n",
		"process where true\n", "",
		"r.toml:10:8: error: rule type \"threshold\" is not supported: "
		"Kestrel runs EQL rules (type = \"eql\")");
	rejects("name = \"n\"\nrule_id = \"x\"\n", "process where true\n", "",
		"r.toml:5:1: error: [rule] has no language\n"
		"r.toml:5:1: error: [rule] has no type");
}

static void test_rejections(void **state)
{
	rejects(HEAD_OK "filters = [\"x\"]\n", "process where true\n", "",
		"r.toml:17:1: error: unsupported key \"rule.filters\": Kestrel "
		"cannot apply it, and ignoring it could change what the rule "
		"alerts on");
	rejects("language = \"eql\"\nrisk_score = \"high\"\nrule_id = \"x\"\n"
		"type = \"eql\"\nname = 1\nseverity = \"severe\"\n"
		"tags = \"a\"\n", "process where true\n", "",
		"r.toml:11:8: error: name must be a string, not an integer\n"
		"r.toml:12:12: error: unknown severity \"severe\" (expected low, medium, high or critical)\n"
		"r.toml:8:14: error: risk_score must be an integer, not a string\n"
		"r.toml:13:8: error: tags must be an array, not a string");
	rejects("language = \"eql\"\nrisk_score = 101\nrule_id = \"x\"\n"
		"type = \"eql\"\nname = \"n\"\nreferences = [\"a\", 2]\n",
		"process where true\n", "",
		"r.toml:8:14: error: risk_score 101 is not within 0..100\n"
		"r.toml:12:20: error: references must be a list of strings");
	rejects(HEAD_OK, "process where true\n",
		"[[rule.threat]]\n[[rule.threat.technique]]\nname = \"x\"\n",
		"r.toml:20:1: error: [[rule.threat]] has no framework\n"
		"r.toml:20:1: error: [[rule.threat]] has no tactic\n"
		"r.toml:21:1: error: [[rule.threat.technique]] has no id");
	rejects(HEAD_OK, "process where true\n", "threat = [1]\n",
		"r.toml:20:11: error: threat must be a list of tables");
	rejects("language = \"eql\"\ntype = \"eql\"\nname = \"n\"\n",
		"process where true\n", "",
		"r.toml:5:1: error: [rule] has no rule_id");
}

static void test_not_a_rule(void **state)
{
	struct ks_ruleset *rs;

	rs = load("[metadata]\nmaturity = \"production\"\n", "m.toml", -1,
		  "m.toml:1:1: error: no [rule] table: not an Elastic detection rule");
	ks_ruleset_free(rs);
	rs = load("rule = 1\n", "m.toml", -1,
		  "m.toml:1:1: error: no [rule] table: not an Elastic detection rule");
	ks_ruleset_free(rs);
	rs = load("[rule\nname = 1\n", "m.toml", -1,
		  "m.toml:1:6: error: expected ']' to close the header, found end of line");
	ks_ruleset_free(rs);
}

/* YAML rules: threats from attack.* tags. */
static void test_attack_tags(void **state)
{
	struct ks_ruleset *rs = load(
		"- rule: t\n  name: t\n"
		"  tags: [attack.t1059.004, attack.execution, attack.T1105, "
		"attack.defense-evasion, attack.t1059, other, attack.g0032]\n"
		"  query: process where true\n"
		"- rule: u\n  name: u\n  severity: critical\n  tags: [attack.t1105]\n"
		"  query: process where true\n", "r.yml", 0, "");
	const struct ks_rule_src *r = &rs->rules[0];
	const struct ks_threat *t = r->threats;

	assert_int_equal(r->n_threats, 2);
	assert_string_equal(t[0].framework, "MITRE ATT&CK");
	assert_string_equal(t[0].tactic.id, "TA0002");
	assert_string_equal(t[0].tactic.reference, "https://attack.mitre.org/tactics/TA0002/");
	assert_string_equal(t[1].tactic.id, "TA0005");
	assert_string_equal(t[1].tactic.name, "Defense Evasion");
	assert_int_equal(t[0].n_techniques, 2);
	assert_string_equal(t[0].techniques[0].ref.id, "T1059");
	assert_null(t[0].techniques[0].ref.name);
	assert_int_equal(t[0].techniques[0].n_subs, 1);
	assert_string_equal(t[0].techniques[0].subs[0].id, "T1059.004");
	assert_string_equal(t[0].techniques[0].subs[0].reference,
			    "https://attack.mitre.org/techniques/T1059/004/");
	assert_string_equal(t[0].techniques[1].ref.id, "T1105");
	assert_int_equal(t[1].n_techniques, 0);
	assert_int_equal(ks_rule_risk_score(r), 47);	/* medium */
	/* techniques only: one threat without a tactic */
	r = &rs->rules[1];
	assert_int_equal(r->n_threats, 1);
	assert_null(r->threats[0].tactic.id);
	assert_string_equal(r->threats[0].techniques[0].ref.id, "T1105");
	assert_int_equal(ks_rule_risk_score(r), 99);	/* critical */
	ks_ruleset_free(rs);
}

/* YAML rules may say what Elastic rules say (and .kbin files do). */
static void test_yaml_metadata(void **state)
{
	struct ks_ruleset *rs = load(
		"- rule: m\n  name: m\n  uuid: 0f1e2d3c\n  description: d\n"
		"  risk_score: 5\n  references: [https://example.org/x]\n"
		"  tags: [attack.impact]\n"
		"  threat:\n"
		"    - framework: MITRE ATT&CK\n"
		"      tactic: {id: TA0002, name: Execution}\n"
		"      technique:\n"
		"        - id: T1059\n"
		"          subtechnique: [{id: T1059.004, name: Unix Shell}]\n"
		"  query: process where true\n", "r.yml", 0, "");
	const struct ks_rule_src *r = &rs->rules[0];

	assert_string_equal(r->uuid, "0f1e2d3c");
	assert_string_equal(r->description, "d");
	assert_int_equal(r->risk_score, 5);
	assert_string_equal(r->references[0], "https://example.org/x");
	/* given threats win over attack.* tags */
	assert_int_equal(r->n_threats, 1);
	assert_string_equal(r->threats[0].tactic.id, "TA0002");
	assert_null(r->threats[0].tactic.reference);
	assert_string_equal(r->threats[0].techniques[0].subs[0].name, "Unix Shell");
	ks_ruleset_free(rs);
	rs = load("- rule: m\n  name: m\n  risk_score: 101\n  references: x\n"
		  "  threat: y\n  query: process where true\n", "r.yml", -1,
		  "r.yml:3:15: error: risk_score \"101\" is not an integer within 0..100\n"
		  "r.yml:4:15: error: \"references\" must be a list of strings\n"
		  "r.yml:5:11: error: \"threat\" must be a list");
	assert_int_equal(rs->n_rules, 0);
	ks_ruleset_free(rs);
	rs = load("- rule: m\n  name: m\n  risk_score: 100\n  references: []\n"
		  "  threat:\n    - tactic: {name: x}\n      technique: 1\n"
		  "    - 2\n  query: process where true\n", "r.yml", -1,
		  "r.yml:6:7: error: threat: \"framework\" must be a string\n"
		  "r.yml:6:15: error: threat: \"id\" must be a string\n"
		  "r.yml:7:18: error: threat: expected a list\n"
		  "r.yml:8:7: error: threat: expected a mapping with framework, tactic, technique");
	ks_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_query_position),
		cmocka_unit_test(test_enriched_fields),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_language),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_not_a_rule),
		cmocka_unit_test(test_attack_tags),
		cmocka_unit_test(test_yaml_metadata),
	};

	return cmocka_run_group_tests_name("elastic", tests, NULL, NULL);
}
