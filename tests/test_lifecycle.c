// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rule lifecycle: enabled: false, selection by id and tag, exceptions (a
 * rule's own and an exceptions file's) lowered into the step's program as
 * `cond and not (exc ...)`: what the tables decide (the userspace walk of
 * the kernel's program), what the interpreter decides, what is exact,
 * what survives a .kbin, and the diagnostics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kestrel/ecs.h"
#include "kestrel/kbin.h"
#include "kestrel/rules.h"
#include "kestrel/tablewalk.h"
#include "testlib.h"

static struct ks_tables *T, *T2;
static struct ks_walk *W;
static struct ks_ecs_ctx E;

static int setup(void **state)
{
	T = calloc(1, sizeof(*T));
	T2 = calloc(1, sizeof(*T2));
	W = calloc(1, sizeof(*W));
	ks_ecs_init(&E, "h");
	return T && T2 && W ? 0 : -1;
}

static int teardown(void **state)
{
	free(T);
	free(T2);
	free(W);
	ks_ecs_free(&E);
	return 0;
}

/* The diagnostics as text, valid until the next call. */
static const char *diag_text(const struct ks_ruleset *rs)
{
	static char *last;

	free(last);
	last = ks_test_diag_text(&rs->diags);
	return last;
}

static struct ks_ruleset *load(const char *yaml, const char *exceptions)
{
	struct ks_ruleset *rs = ks_ruleset_new();

	if (ks_ruleset_load_string(rs, yaml, "t.yml") ||
	    (exceptions && ks_ruleset_load_exceptions_string(rs, exceptions, "exc.yml")) ||
	    ks_compile(rs, T, NULL))
		fail_msg("rules do not compile:\n%s", diag_text(rs));
	return rs;
}

static void event(struct ks_event *ev, const char *json)
{
	char err[256];

	if (ks_ecs_decode_line(&E, json, strlen(json), ev, err, sizeof(err)))
		fail_msg("%s: %s", json, err);
}

#define EXEC(name, parent, uid) \
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\"," \
	"\"action\":\"exec\"},\"process\":{\"pid\":9,\"executable\":\"/usr/bin/" name "\"," \
	"\"parent\":{\"pid\":1,\"executable\":\"/usr/bin/" parent "\"}},\"user\":{\"id\":" uid "}}"

/* What the kernel's program says of table step s, and the interpreter. */
static enum ks_tv kernel(const struct ks_event *ev, uint32_t s)
{
	ks_walk_event(T, ev, W);
	return ks_walk_verdict(W, s);
}

static bool interp(const struct ks_ruleset *rs, uint32_t s, const struct ks_event *ev)
{
	const struct ks_rule_src *r = &rs->rules[T->steps[s].rule];

	return ks_interp_step(ks_query_step(r->q, &T->steps[s]), ev);
}

static const char one_rule[] =
	"- rule: nc\n"
	"  name: nc\n"
	"  tags: [attack.t1059, net]\n"
	"  query: process where process.name == \"nc\"\n"
	"  exceptions:\n"
	"    - process.parent.name == \"apt\"\n"
	"    - condition: user.id == 0\n"
	"      description: root may\n";

/* The exception is in the step's own program, decided in the kernel. */
static void test_exception_kernel(void **state)
{
	struct ks_ruleset *rs = load(one_rule, NULL);
	struct ks_event ev;

	assert_true(T->rules[0].flags & KS_R_EXACT);
	event(&ev, EXEC("nc", "bash", "1000"));
	assert_int_equal(kernel(&ev, 0), KS_TV_TRUE);
	assert_true(interp(rs, 0, &ev));
	event(&ev, EXEC("nc", "apt", "1000"));
	assert_int_equal(kernel(&ev, 0), KS_TV_FALSE);
	assert_false(interp(rs, 0, &ev));
	event(&ev, EXEC("nc", "bash", "0"));
	assert_int_equal(kernel(&ev, 0), KS_TV_FALSE);
	assert_false(interp(rs, 0, &ev));
	/* an exception never adds events: not nc is still nothing */
	event(&ev, EXEC("ls", "bash", "1000"));
	assert_int_equal(kernel(&ev, 0), KS_TV_FALSE);
	assert_string_equal(rs->rules[0].exceptions[1].description, "root may");
	ks_ruleset_free(rs);
}

/* Without its exceptions the same rule fires on what they silence. */
static void test_exception_is_what_silences(void **state)
{
	struct ks_ruleset *rs = load("- rule: nc\n  name: nc\n"
				     "  query: process where process.name == \"nc\"\n", NULL);
	struct ks_event ev;
	uint32_t uid = T->rules[0].uid;

	event(&ev, EXEC("nc", "apt", "0"));
	assert_int_equal(kernel(&ev, 0), KS_TV_TRUE);
	ks_ruleset_free(rs);
	rs = load(one_rule, NULL);
	assert_int_not_equal(T->rules[0].uid, uid);	/* another rule */
	ks_ruleset_free(rs);
}

/* An exception only userspace can decide: the rule is not exact, says why. */
static void test_exception_userspace(void **state)
{
	static const char yaml[] =
		"- rule: nc\n  name: nc\n  query: process where process.name == \"nc\"\n"
		"  exceptions: ['container.id == \"abc\"']\n";
	struct ks_compile_info info;
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_event ev;

	assert_int_equal(ks_ruleset_load_string(rs, yaml, "t.yml"), 0);
	assert_int_equal(ks_compile(rs, T, &info), 0);
	assert_false(T->rules[0].flags & KS_R_EXACT);
	assert_non_null(strstr(info.rules[0].why_not_exact, "exception: "));
	assert_non_null(strstr(info.rules[0].why_not_exact, "container.id"));
	event(&ev, EXEC("nc", "bash", "1000"));
	assert_int_equal(kernel(&ev, 0), KS_TV_UNKNOWN);	/* forwarded */
	assert_true(interp(rs, 0, &ev));			/* no container here */
	event(&ev, EXEC("ls", "bash", "1000"));
	assert_int_equal(kernel(&ev, 0), KS_TV_FALSE);		/* filtered */
	ks_compile_info_free(&info);
	ks_ruleset_free(rs);
	/* ... so a block rule cannot have it */
	rs = ks_ruleset_new();
	assert_int_equal(ks_ruleset_load_string(rs, "- rule: nc\n  name: nc\n  action: block\n"
		"  query: process where process.name == \"nc\"\n"
		"  exceptions: ['container.id != null']\n", "t.yml"), 0);
	assert_int_equal(ks_compile(rs, T, NULL), -1);
	assert_non_null(strstr(diag_text(rs), "action block needs a kernel-exact rule: exception: "));
	ks_ruleset_free(rs);
}

#define OPEN(path) \
	"{\"@timestamp\":\"2026-01-02T03:04:06Z\",\"event\":{\"category\":\"file\"," \
	"\"action\":\"open\"},\"process\":{\"pid\":9,\"executable\":\"/usr/bin/cat\"}," \
	"\"file\":{\"path\":\"" path "\"}}"

/* Sequences: every step (until included) or one step by step:. */
static void test_exception_sequence(void **state)
{
	static const char yaml[] =
		"- rule: s\n  name: s\n"
		"  query: |\n"
		"    sequence by process.entity_id\n"
		"      [process where process.name : \"*\"]\n"
		"      [file where file.path : \"/etc/*\"]\n"
		"    until [file where file.path == \"/stop\"]\n"
		"  exceptions:\n"
		"    - process.parent.name == \"apt\"\n"
		"    - condition: file.name == \"hosts\"\n"
		"      step: 2\n";
	struct ks_ruleset *rs = load(yaml, NULL);
	struct ks_event ev;
	uint32_t until = T->rules[0].until_step;

	assert_int_equal(T->rules[0].n_steps, 2);
	event(&ev, EXEC("cat", "apt", "1"));
	assert_int_equal(kernel(&ev, 0), KS_TV_FALSE);		/* every step */
	event(&ev, EXEC("cat", "bash", "1"));
	assert_int_equal(kernel(&ev, 0), KS_TV_TRUE);
	event(&ev, OPEN("/etc/hosts"));
	assert_int_equal(kernel(&ev, 1), KS_TV_FALSE);		/* step 2 only */
	assert_false(interp(rs, 1, &ev));
	event(&ev, OPEN("/etc/passwd"));
	assert_int_equal(kernel(&ev, 1), KS_TV_TRUE);
	event(&ev, OPEN("/stop"));
	assert_int_equal(kernel(&ev, until), KS_TV_TRUE);
	/* the step 2 exception is not the until's */
	assert_null(rs->rules[0].q->steps[0].exc->kids);	/* one condition: no OR */
	assert_non_null(rs->rules[0].q->until->exc);
	ks_ruleset_free(rs);
	/* a step the rule does not have */
	rs = ks_ruleset_new();
	assert_int_equal(ks_ruleset_load_string(rs, "- rule: e\n  name: e\n"
		"  query: process where true\n"
		"  exceptions: [{condition: user.id == 0, step: 2}]\n", "t.yml"), -1);
	assert_non_null(strstr(diag_text(rs), "t.yml:4:48: error: exception applies to step 2, "
					      "but rule e has 1 step"));
	ks_ruleset_free(rs);
}

static void test_disabled(void **state)
{
	static const char yaml[] =
		"- rule: off\n  name: off\n  enabled: false\n"
		"  query: process where no.such.field == 1\n"	/* not compiled */
		"- rule: on\n  name: on\n  enabled: true\n  query: process where true\n";
	struct ks_ruleset *rs = load(yaml, NULL);

	assert_int_equal(rs->n_rules, 1);
	assert_string_equal(rs->rules[0].id, "on");
	assert_int_equal(T->hdr.n_rules, 1);
	assert_int_equal(rs->n_skipped, 1);
	assert_string_equal(rs->skipped[0].id, "off");
	assert_string_equal(rs->skipped[0].why, "enabled: false");
	assert_int_equal(rs->skipped[0].loc.line, 1);
	/* its id stays taken, whichever file comes first */
	assert_int_equal(ks_ruleset_load_string(rs, "- rule: off\n  name: x\n"
						"  query: process where true\n", "u.yml"), -1);
	assert_non_null(strstr(diag_text(rs), "u.yml:1:3: error: duplicate rule id \"off\"\n"));
	assert_non_null(strstr(diag_text(rs), "t.yml:1:3: note: \"off\" first defined here"));
	ks_ruleset_free(rs);
	rs = ks_ruleset_new();
	assert_int_equal(ks_ruleset_load_string(rs, "- rule: x\n  name: x\n  enabled: maybe\n"
						"  query: process where true\n", "t.yml"), -1);
	assert_non_null(strstr(diag_text(rs), "t.yml:3:12: error: \"enabled\" must be true or false"));
	ks_ruleset_free(rs);
}

static const char three[] =
	"- rule: sigma_a\n  name: a\n  tags: [attack.t1059.004, linux]\n"
	"  query: process where process.name == \"a\"\n"
	"- rule: sigma_b\n  name: b\n  tags: [attack.t1105]\n"
	"  query: process where process.name == \"b\"\n"
	"- rule: own_c\n  name: c\n  tags: [linux]\n"
	"  query: process where process.name == \"c\"\n";

static void test_select(void **state)
{
	const char *inc_tags[] = { "attack.t1059*", "linux" }, *exc_ids[] = { "own_*", "none" };
	size_t hits_inc[2] = {}, hits_exc[2] = {};
	struct ks_rule_select sel = {
		.pat = { [KS_SEL_INCLUDE_TAGS] = inc_tags, [KS_SEL_EXCLUDE_IDS] = exc_ids },
		.n = { [KS_SEL_INCLUDE_TAGS] = 2, [KS_SEL_EXCLUDE_IDS] = 2 },
		.hits = { [KS_SEL_INCLUDE_TAGS] = hits_inc, [KS_SEL_EXCLUDE_IDS] = hits_exc },
	};
	struct ks_ruleset *rs = ks_ruleset_new();

	assert_int_equal(ks_ruleset_load_string(rs, three, "t.yml"), 0);
	assert_int_equal(ks_ruleset_select(rs, &sel), 0);
	assert_int_equal(rs->n_rules, 1);
	assert_string_equal(rs->rules[0].id, "sigma_a");
	assert_int_equal(rs->n_skipped, 2);
	assert_string_equal(rs->skipped[0].id, "sigma_b");
	assert_string_equal(rs->skipped[0].why, "matches neither include_ids nor include_tags");
	assert_string_equal(rs->skipped[1].id, "own_c");
	assert_string_equal(rs->skipped[1].why, "exclude_ids own_*");
	assert_int_equal(hits_inc[0], 1);
	assert_int_equal(hits_inc[1], 2);	/* own_c carries linux, excluded anyway */
	assert_int_equal(hits_exc[0], 1);
	assert_int_equal(hits_exc[1], 0);	/* kload warns about it */
	assert_int_equal(ks_compile(rs, T, NULL), 0);
	assert_int_equal(T->hdr.n_rules, 1);
	ks_ruleset_free(rs);
}

static void test_exceptions_file(void **state)
{
	static const char exc[] =
		"- tags: [\"attack.t1*\"]\n"
		"  condition: process.parent.name == \"apt\"\n"
		"- rules: own_c\n"
		"  condition: user.id == 0\n"
		"- rules: [nothing]\n"
		"  condition: user.id == 1\n";
	struct ks_ruleset *rs = load(three, exc);
	struct ks_event ev;
	uint32_t s;

	assert_int_equal(rs->rules[0].n_exceptions, 1);
	assert_int_equal(rs->rules[1].n_exceptions, 1);
	assert_int_equal(rs->rules[2].n_exceptions, 1);
	assert_true(rs->rules[0].exceptions[0].from_file);
	assert_non_null(strstr(diag_text(rs), "exc.yml:5:3: warning: exception applies to no rule"));
	event(&ev, EXEC("b", "apt", "1000"));
	s = T->rules[1].first_step;
	assert_int_equal(kernel(&ev, s), KS_TV_FALSE);
	event(&ev, EXEC("c", "apt", "1000"));
	assert_int_equal(kernel(&ev, T->rules[2].first_step), KS_TV_TRUE);
	event(&ev, EXEC("c", "apt", "0"));
	assert_int_equal(kernel(&ev, T->rules[2].first_step), KS_TV_FALSE);
	ks_ruleset_free(rs);
}

static void bad_exceptions(const char *text, const char *want)
{
	struct ks_ruleset *rs = ks_ruleset_new();

	assert_int_equal(ks_ruleset_load_string(rs, three, "t.yml"), 0);
	assert_int_equal(ks_ruleset_load_exceptions_string(rs, text, "exc.yml"), -1);
	if (!strstr(diag_text(rs), want))
		fail_msg("want \"%s\" in:\n%s", want, diag_text(rs));
	ks_ruleset_free(rs);
}

static void test_exceptions_file_errors(void **state)
{
	bad_exceptions("- condition: user.id == 0\n",
		       "exc.yml:1:3: error: exception names no rule");
	bad_exceptions("- rules: [own_c]\n  condition: user.id == 0\n  colour: red\n",
		       "exc.yml:3:3: error: unknown key \"colour\" in exception");
	bad_exceptions("- rules: [own_c]\n  condition: user.id ==\n",
		       "exc.yml:2:24: error: expected a value");
	bad_exceptions("- rules: [own_c]\n  condition: no.such == 1\n",
		       "exc.yml:2:14: error: unknown field \"no.such\"");
	bad_exceptions("- rules: [own_c]\n  condition: user.id == 0\n  step: first\n",
		       "exc.yml:3:9: error: exception step \"first\" is not a step number");
	bad_exceptions("- rules: []\n  condition: user.id == 0\n",
		       "exc.yml:1:10: error: exception \"rules\" must be a name");
	bad_exceptions("rules: x\n", "exc.yml:1:1: error: expected a list of exceptions");
	bad_exceptions("- user.id == 0\n", "exc.yml:1:3: error: expected an exception");
	bad_exceptions("- rules: [own_c]\n  condition: process where true\n",
		       "exc.yml:2:14: error:");
}

/* A .kbin keeps the exceptions (a file's too): the same rules, the same uids. */
static void test_kbin(void **state)
{
	static const char exc[] = "- rules: [\"sigma_*\"]\n  condition: user.id == 0\n  step: 1\n";
	struct ks_ruleset *rs = load(three, exc), *back = ks_ruleset_new();
	char path[] = "/tmp/test_lifecycle_XXXXXX", err[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ks_kbin_write(path, rs, T, err, sizeof(err)), 0);
	if (ks_kbin_read(path, back, T2, err, sizeof(err)))
		fail_msg("%s\n%s", err, diag_text(back));
	unlink(path);
	assert_int_equal(KS_TABLES_USED(T), KS_TABLES_USED(T2));
	assert_memory_equal(T, T2, KS_TABLES_USED(T));
	assert_int_equal(back->rules[0].n_exceptions, 1);
	assert_int_equal(back->rules[0].exceptions[0].step, 1);
	assert_string_equal(back->rules[0].exceptions[0].text, "user.id == 0");
	assert_int_equal(back->rules[2].n_exceptions, 0);
	/* and compiles to the same tables */
	assert_int_equal(ks_compile(back, T2, NULL), 0);
	assert_int_equal(KS_TABLES_USED(T), KS_TABLES_USED(T2));
	assert_memory_equal(T, T2, KS_TABLES_USED(T));
	ks_ruleset_free(back);
	ks_ruleset_free(rs);
}

/* enabled = false in an Elastic rule, and container.id as a join key. */
static void test_toml_and_joins(void **state)
{
	static const char toml[] =
		"[rule]\nrule_id = \"x\"\nname = \"x\"\nlanguage = \"eql\"\ntype = \"eql\"\n"
		"query = \"process where no.field == 1\"\nenabled = false\n";
	struct ks_ruleset *rs = ks_ruleset_new();

	assert_int_equal(ks_ruleset_load_string(rs, toml, "x.toml"), 0);
	assert_int_equal(rs->n_rules, 0);
	assert_int_equal(rs->n_skipped, 1);
	assert_int_equal(ks_ruleset_load_string(rs, "[rule]\nrule_id = \"y\"\nname = \"y\"\n"
		"language = \"eql\"\ntype = \"eql\"\nquery = \"process where true\"\n"
		"enabled = \"no\"\n", "y.toml"), -1);
	assert_non_null(strstr(diag_text(rs), "y.toml:7:11: error: enabled must be a boolean"));
	assert_int_equal(ks_ruleset_load_string(rs, "- rule: j\n  name: j\n  query: sequence by "
		"container.id [process where true] [file where true]\n", "t.yml"), -1);
	assert_non_null(strstr(diag_text(rs), "t.yml:3:22: error: cannot join on container.id"));
	ks_ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exception_kernel),
		cmocka_unit_test(test_exception_is_what_silences),
		cmocka_unit_test(test_exception_userspace),
		cmocka_unit_test(test_exception_sequence),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_exceptions_file),
		cmocka_unit_test(test_exceptions_file_errors),
		cmocka_unit_test(test_kbin),
		cmocka_unit_test(test_toml_and_joins),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
