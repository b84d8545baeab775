// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rule files: metadata validation with exact diagnostics, YAML syntax
 * errors, query positions inside the YAML file, and directory loading.
 * Fixtures live in tests/fixtures/ (KS_FIXTURES overrides the path).
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


/* Load text as file "r.yml"; check the return code and the diagnostics. */
static struct ks_ruleset *load(const char *text, int rc, const char *want)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *d;

	assert_int_equal(ks_ruleset_load_string(rs, text, "r.yml"), rc);
	d = ks_test_diag_text(&rs->diags);
	if (strcmp(d, want))
		fprintf(stderr, " got: %s\nwant: %s\n", d, want);
	assert_string_equal(d, want);
	free(d);
	return rs;
}

static void test_valid(void **state)
{
	struct ks_ruleset *rs = load(
		"- rule: a.b_c-1\n"
		"  name: Rule A\n"
		"  severity: critical\n"
		"  action: kill\n"
		"  tags: [t1, t2]\n"
		"  query: process where process.name == \"x\"\n"
		"- rule: b\n"
		"  name: Rule B\n"
		"  tags:\n"
		"    - only\n"
		"  query: |\n"
		"    file where file.path : \"/etc/*\"\n", 0, "");
	const struct ks_rule_src *r = &rs->rules[0];

	assert_int_equal(rs->n_rules, 2);
	assert_string_equal(r->id, "a.b_c-1");
	assert_string_equal(r->name, "Rule A");
	assert_int_equal(r->severity, KS_SEV_CRITICAL);
	assert_int_equal(r->action, KS_RA_KILL);
	assert_int_equal(r->n_tags, 2);
	assert_string_equal(r->tags[1], "t2");
	assert_string_equal(r->query_text, "process where process.name == \"x\"");
	assert_int_equal(r->loc.line, 1);
	assert_int_equal(r->loc.col, 3);
	assert_false(r->sigma);
	assert_non_null(r->q);
	r = &rs->rules[1];
	assert_int_equal(r->severity, KS_SEV_MEDIUM);	/* default */
	assert_int_equal(r->action, KS_RA_ALERT);	/* default */
	assert_int_equal(r->n_tags, 1);
	assert_string_equal(r->query_text, "file where file.path : \"/etc/*\"\n");
	assert_int_equal(r->q->steps[0].category, KS_CAT_FILE);
	ks_ruleset_free(rs);
}

static void test_metadata_errors(void **state)
{
	struct ks_ruleset *rs = load(
		"- rule: Bad Id\n"
		"  name: x\n"
		"  query: process where true\n"
		"- rule: sev\n"
		"  name: x\n"
		"  severity: urgent\n"
		"  action: drop\n"
		"  query: process where true\n"
		"- name: no id\n"
		"  query: process where true\n"
		"- rule: noquery\n"
		"  name: x\n"
		"- rule: unknown\n"
		"  name: x\n"
		"  colour: red\n"
		"  query: process where true\n"
		"- rule: tags\n"
		"  name: x\n"
		"  tags: one\n"
		"  query: process where true\n"
		"- rule: emptyname\n"
		"  name: ''\n"
		"  query: process where true\n"
		"- rule: twice\n"
		"  name: x\n"
		"  name: y\n"
		"  query: process where true\n"
		"- just a string\n"
		"- rule: cut\n"
		"  name: x\n"
		"  args_cut: open\n"
		"  query: process where true\n", -1,
		"r.yml:1:9: error: invalid rule id \"Bad Id\": use lowercase letters, "
		"digits, '_', '.' and '-'\n"
		"r.yml:6:13: error: unknown severity \"urgent\" (expected low, medium, "
		"high or critical)\n"
		"r.yml:7:11: error: unknown action \"drop\" (expected alert, block or kill)\n"
		"r.yml:9:3: error: rule is missing \"rule\"\n"
		"r.yml:11:3: error: rule is missing \"query\"\n"
		"r.yml:15:3: error: unknown key \"colour\" in rule (expected rule, name, "
		"severity, action, tags, query, uuid, description, risk_score, "
		"references, threat, enabled, exceptions, args_cut)\n"
		"r.yml:19:9: error: \"tags\" must be a list of strings\n"
		"r.yml:22:9: error: \"name\" must not be empty\n"
		"r.yml:26:3: error: duplicate key \"name\"\n"
		"r.yml:28:3: error: expected a rule (a mapping with rule:, name: and query:)\n"
		"r.yml:31:13: error: unknown args_cut \"open\" (expected fail-closed or head)");

	assert_int_equal(rs->n_rules, 0);
	ks_ruleset_free(rs);
}

static void test_duplicates(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *d;

	assert_int_equal(ks_ruleset_load_string(rs,
		"- rule: dup\n  name: first\n  query: process where true\n",
		"one.yml"), 0);
	assert_int_equal(ks_ruleset_load_string(rs,
		"# another file\n"
		"- rule: other\n  name: other\n  query: process where true\n"
		"- rule: dup\n  name: second\n  query: process where true\n",
		"two.yml"), -1);
	d = ks_test_diag_text(&rs->diags);
	assert_string_equal(d,
		"two.yml:5:3: error: duplicate rule id \"dup\"\n"
		"one.yml:1:3: note: \"dup\" first defined here");
	free(d);
	assert_int_equal(rs->n_rules, 2);
	assert_string_equal(rs->rules[0].name, "first");
	ks_ruleset_free(rs);
}

static void test_yaml_errors(void **state)
{
	struct ks_ruleset *rs;

	rs = load("- rule: x\n  name: [a\n", -1,
		  "r.yml:3:1: error: invalid YAML: did not find expected ',' or ']' "
		  "while parsing a flow sequence at line 2");
	ks_ruleset_free(rs);
	rs = load("- rule: x\n  name: a\n query: b\n", -1,
		  "r.yml:3:2: error: invalid YAML: did not find expected '-' "
		  "indicator while parsing a block collection at line 1");
	ks_ruleset_free(rs);
	rs = load("- rule: x\n  name: \"abc\n", -1,
		  "r.yml:3:1: error: invalid YAML: found unexpected end of stream "
		  "while scanning a quoted scalar at line 2");
	ks_ruleset_free(rs);
	rs = load("rule: x\nname: y\n", -1,
		  "r.yml:1:1: error: expected a list of rules (or a Sigma rule with "
		  "title: and detection:)");
	ks_ruleset_free(rs);
	rs = load("", 0, "");
	assert_int_equal(rs->n_rules, 0);
	ks_ruleset_free(rs);
	rs = load("# only a comment\n", 0, "");
	ks_ruleset_free(rs);
}

/*
 * One pass over the events checks the limits and composes the documents
 * (rules-compiler/yaml_load.c): the documents before a syntax or
 * composer error load, a file over a limit loads nothing, whichever
 * document the limit is in, and libyaml's composer error is kept.
 */
static void test_yaml_documents(void **state)
{
	static const struct { const char *after; const char *diag; size_t n_rules; } c[] = {
		{ "- [b\n", "r.yml:6:1: error: invalid YAML: did not find expected ',' or ']' "
		  "while parsing a flow sequence at line 5", 1 },
		{ "- [b\n---\n- *x\n", "r.yml:6:1: error: invalid YAML: did not find expected "
		  "',' or ']' while parsing a flow sequence at line 5", 1 },
		{ "- *x\n", "r.yml:5:3: error: YAML aliases (*x) are not supported in rule files", 0 },
		{ "- &x\n  rule: b\n  name: &x b\n---\n- *y\n",
		  "r.yml:9:3: error: YAML aliases (*y) are not supported in rule files", 0 },
		{ "- &x\n  rule: b\n  name: &x b\n", "r.yml:7:9: error: invalid YAML: second "
		  "occurrence found duplicate anchor; first occurrence at line 5", 1 },
	};
	char text[256];
	struct ks_ruleset *rs;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(text, sizeof(text), "- rule: a\n  name: a\n  query: process where true\n"
			 "---\n%s", c[i].after);
		rs = load(text, -1, c[i].diag);
		assert_int_equal(rs->n_rules, c[i].n_rules);
		ks_ruleset_free(rs);
	}
}

/* Errors inside queries point into the YAML file, whatever the style. */
static void test_query_positions(void **state)
{
	struct ks_ruleset *rs = load(
		"- rule: literal\n"
		"  name: x\n"
		"  query: |\n"
		"    sequence\n"
		"      [process where process.nme == \"a\"]\n"
		"      [file where true]\n"
		"- rule: folded\n"
		"  name: x\n"
		"  query: >\n"
		"    process where\n"
		"      process.pid == \"x\"\n"
		"- rule: plain\n"
		"  name: x\n"
		"  query: process where process.name == \"a\" and\n"
		"    process.pid == \"y\"\n"
		"- rule: quoted\n"
		"  name: x\n"
		"  query: \"process where process.pid == 'z'\"\n"
		"- rule: flow\n"
		"  name: x\n"
		"  query: process where process.args_count > \"1\"   # comment\n",
		-1,
		"r.yml:5:22: error: unknown field \"process.nme\" (did you mean "
		"\"process.name\"?)\n"
		"r.yml:11:22: error: cannot compare numeric field process.pid with a "
		"string\n"
		"r.yml:15:20: error: cannot compare numeric field process.pid with a "
		"string\n"
		"r.yml:18:40: error: strings are written in double quotes\n"
		"r.yml:21:45: error: cannot compare numeric field process.args_count "
		"with a string");

	/* rules with a bad query are kept, without an AST */
	assert_int_equal(rs->n_rules, 5);
	assert_null(rs->rules[0].q);
	ks_ruleset_free(rs);
}

static void test_print_source(void **state)
{
	struct ks_ruleset *rs = load(
		"- rule: x\n"
		"  name: x\n"
		"  query: |\n"
		"    process where process.pid == \"1\"\n", -1,
		"r.yml:4:34: error: cannot compare numeric field process.pid with a "
		"string");
	char *buf = NULL;
	size_t len;
	FILE *o = open_memstream(&buf, &len);

	ks_diags_print(&rs->diags, o);
	fclose(o);
	assert_string_equal(buf,
		"r.yml:4:34: error: cannot compare numeric field process.pid with a "
		"string\n"
		"    process where process.pid == \"1\"\n"
		"                                 ^\n");
	free(buf);
	ks_ruleset_free(rs);
}

static char *fixture(const char *rel)
{
	const char *env = getenv("KS_FIXTURES");
	char *dir, *slash, *p;

	if (env)
		return asprintf(&p, "%s/%s", env, rel) < 0 ? NULL : p;
	/* tests/fixtures next to this source file (make runs from the top) */
	dir = strdup(__FILE__);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (asprintf(&p, "%s/fixtures/%s", slash ? dir : ".", rel) < 0)
		p = NULL;
	free(dir);
	return p;
}

static void test_directory(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *dir = fixture("rules");
	char *d;

	assert_int_equal(ks_ruleset_load_path(rs, dir), 0);
	d = ks_test_diag_text(&rs->diags);
	assert_string_equal(d, "");
	free(d);
	/* sorted walk: a_basic.yml, b_elastic.toml, c_sigma.yml, sub/b.yaml;
	 * .hidden and notes.txt skipped */
	assert_int_equal(rs->n_rules, 5);
	assert_string_equal(rs->rules[0].id, "tmp_payload_executed");
	assert_string_equal(rs->rules[1].id, "curl_exec");
	assert_string_equal(rs->rules[2].id, "b_elastic");
	assert_true(rs->rules[2].elastic);
	assert_string_equal(rs->rules[2].uuid, "5d1c9a52-7a0e-4c1b-9f4e-2b6f3c8d1e07");
	assert_int_equal(rs->rules[2].severity, KS_SEV_HIGH);
	assert_string_equal(rs->rules[3].id,
			    "sigma.11111111-2222-3333-4444-555555555555");
	assert_true(rs->rules[3].sigma);
	assert_int_equal(rs->rules[3].severity, KS_SEV_LOW);
	assert_string_equal(rs->rules[4].id, "sub.rule-1");
	assert_int_equal(rs->rules[4].action, KS_RA_KILL);
	assert_true(rs->rules[0].q->sequence);
	assert_int_equal(rs->rules[0].q->maxspan_ns, 30000000000ull);
	assert_int_equal(rs->rules[0].action, KS_RA_BLOCK);
	/* loading the same directory again: every id is a duplicate */
	assert_int_equal(ks_ruleset_load_path(rs, dir), -1);
	assert_int_equal(ks_diags_errors(&rs->diags), 5);
	assert_int_equal(rs->n_rules, 5);
	free(dir);
	ks_ruleset_free(rs);
}

static void test_missing_path(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *d;

	assert_int_equal(ks_ruleset_load_path(rs, "/nonexistent/rules.yml"), -1);
	d = ks_test_diag_text(&rs->diags);
	assert_string_equal(d, "/nonexistent/rules.yml:1:1: error: cannot read: "
			    "No such file or directory");
	free(d);
	ks_ruleset_free(rs);
}

/* Several files with errors: every error is reported, in input order. */
static void test_many_errors(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();

	ks_ruleset_load_string(rs, "- rule: a\n  name: a\n  query: proc where true\n",
			       "1.yml");
	ks_ruleset_load_string(rs, "- rule: b\n  name: b\n  query: process where x == 1\n",
			       "2.yml");
	ks_ruleset_add_query(rs, "process where process.pid == \"1\"", "<cmdline>");
	assert_int_equal(ks_diags_errors(&rs->diags), 3);
	assert_string_equal(rs->diags.v[0].loc.file, "1.yml");
	assert_string_equal(rs->diags.v[1].loc.file, "2.yml");
	assert_string_equal(rs->diags.v[2].loc.file, "<cmdline>");
	ks_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_metadata_errors),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_yaml_documents),
		cmocka_unit_test(test_query_positions),
		cmocka_unit_test(test_print_source),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_missing_path),
		cmocka_unit_test(test_many_errors),
	};

	return cmocka_run_group_tests_name("rulefile", tests, NULL, NULL);
}
