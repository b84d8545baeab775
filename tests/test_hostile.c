// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rule input written by an attacker (issue 16): every input below once
 * crashed the compiler, exhausted its memory or time, or was accepted with
 * its meaning changed. Each must now be an error naming what is wrong (or
 * the limit it hit), within bounded time and memory; nothing is accepted
 * with a different meaning.
 *
 * Inputs that cost time or memory run in a child process (so a regression
 * fails the test instead of taking the machine down), with an address
 * space limit and a time limit, and the child's time and peak RSS are
 * checked against the bounds the issue sets.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <kestrel/rules.h>

#include "testlib.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED	1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED	0
#endif

/* ---- helpers ---- */

/* A growing text buffer. */
struct text {
	char *s;
	size_t len;
	FILE *f;
};

static void text_open(struct text *t)
{
	t->s = NULL;
	t->f = open_memstream(&t->s, &t->len);
	assert_non_null(t->f);
}

static char *text_close(struct text *t)
{
	fclose(t->f);
	return t->s;
}

static char *repeat(const char *s, size_t n)
{
	size_t len = strlen(s), i;
	char *o = malloc(len * n + 1);

	assert_non_null(o);
	for (i = 0; i < n; i++)
		memcpy(o + i * len, s, len);
	o[len * n] = 0;
	return o;
}

/* Load text as a rule file; the diagnostics (NULL if none), malloc'd. */
static char *load_diags(const char *text, int *ret)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *d;

	*ret = ks_ruleset_load_string(rs, text, "h.yml");
	d = rs->diags.n ? ks_test_diag_text(&rs->diags) : NULL;
	ks_ruleset_free(rs);
	return d;
}

/* Loading text fails with a diagnostic holding want. */
static void rejected(const char *text, const char *want)
{
	int ret;
	char *d = load_diags(text, &ret);

	if (ret != -1 || !d || !strstr(d, want))
		fail_msg("expected an error with \"%s\", got %d:\n%s", want, ret,
			 d ? d : "(no diagnostics)");
	free(d);
}

/* An inline query fails with a diagnostic holding want. */
static void query_rejected(const char *q, const char *want)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	int ret = ks_ruleset_add_query(rs, q, "q");
	char *d = ks_test_diag_text(&rs->diags);

	if (ret != -1 || !strstr(d, want))
		fail_msg("expected an error with \"%s\", got %d:\n%s", want, ret, d);
	free(d);
	ks_ruleset_free(rs);
}

static const char *const sigma_head =
	"title: t\n"
	"id: hostile\n"
	"logsource:\n"
	"    category: process_creation\n"
	"    product: linux\n"
	"detection:\n";

/* A Sigma rule: sigma_head, then the detection's lines. */
static char *sigma(const char *detection)
{
	char *s;

	if (asprintf(&s, "%s%s", sigma_head, detection) < 0)
		fail();
	return s;
}

static void sigma_rejected(const char *detection, const char *want)
{
	char *s = sigma(detection);

	rejected(s, want);
	free(s);
}

/*
 * Run fn(arg) in a child with at most max_s seconds of CPU (user + system)
 * and max_mb of peak RSS; fn returns 0 when its result is right. CPU time,
 * not wall time: on a shared, loaded machine the wall clock measures the
 * other tenants (a 0.5 s load took 1.07 s of wall time there); a child
 * that hangs still dies by alarm() at ten times the bound. Time and memory
 * are printed. Under ASan (shadow memory, quarantine, slower code) the RSS
 * bound is not checked and the time bound is ten times wider.
 */
static void bounded(const char *what, int (*fn)(void *), void *arg,
		    double max_s, long max_mb)
{
	struct timespec t0, t1;
	struct rusage ru;
	double secs;
	pid_t pid;
	int st;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct rlimit as = { 2ul << 30, 2ul << 30 };

		/* a regression must fail here, not take the machine */
		if (!SANITIZED)
			setrlimit(RLIMIT_AS, &as);
		alarm((unsigned int)(max_s * 10) + 10);
		_exit(fn(arg) ? 1 : 0);
	}
	assert_int_equal(wait4(pid, &st, 0, &ru), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("    %s: %.3f s CPU (%.3f s wall), %ld MiB peak RSS%s\n", what, secs,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       ru.ru_maxrss / 1024, SANITIZED ? " (ASan: RSS not bounded)" : "");
	if (WIFSIGNALED(st))
		fail_msg("%s: killed by signal %d", what, WTERMSIG(st));
	if (WEXITSTATUS(st))
		fail_msg("%s: wrong result", what);
	if (secs > (SANITIZED ? 10 * max_s : max_s))
		fail_msg("%s: %.3f s of CPU, bound %.1f s", what, secs, max_s);
	if (!SANITIZED && ru.ru_maxrss / 1024 > max_mb)
		fail_msg("%s: %ld MiB, bound %ld MiB", what, ru.ru_maxrss / 1024,
			 max_mb);
}

/* In a child: loading text gives an error holding want (NULL: no error). */
struct load_case {
	char *text;
	const char *want;
};

static int load_expect(void *arg)
{
	struct load_case *c = arg;
	int ret;
	char *d = load_diags(c->text, &ret);
	int bad = c->want ? ret != -1 || !d || !strstr(d, c->want) : ret != 0;

	if (bad)
		fprintf(stderr, "got %d: %.400s\n", ret, d ? d : "(none)");
	free(d);
	return bad;
}

static void bounded_load(const char *what, char *text, const char *want,
			 double max_s, long max_mb)
{
	struct load_case c = { text, want };

	bounded(what, load_expect, &c, max_s, max_mb);
	free(text);
}

/* ---- recursion: depth limits ---- */

static void test_eql_nesting(void **state)
{
	char *open = repeat("(", 20000), *close = repeat(")", 20000), *q;
	char *nots = repeat("not ", 20000);

	/* was SIGSEGV: parse_not/parse_bin/parse_primary recursion */
	if (asprintf(&q, "process where %strue%s", open, close) < 0)
		fail();
	query_rejected(q, "condition nested more than 128 levels deep (limit "
		       "KS_MAX_NESTING)");
	free(q);
	if (asprintf(&q, "process where %strue", nots) < 0)
		fail();
	query_rejected(q, "limit KS_MAX_NESTING");
	free(q);
	free(open);
	free(close);
	free(nots);
	/* at the limit it still parses */
	open = repeat("(", KS_MAX_NESTING);
	close = repeat(")", KS_MAX_NESTING);
	if (asprintf(&q, "process where %sprocess.pid == 1%s", open, close) < 0)
		fail();
	{
		struct ks_ruleset *rs = ks_ruleset_new();

		assert_int_equal(ks_ruleset_add_query(rs, q, "q"), 0);
		ks_ruleset_free(rs);
	}
	free(q);
	free(open);
	free(close);
}

/*
 * Whatever condition Sigma takes still prints as EQL that parses (what a
 * .kbin stores), though selections add levels: "not (a or not (a or ...
 * not b))" nests 2k + 1 deep, and prints with two levels more (b is an OR
 * of ANDs, one of them with an OR of null and a value). Each depth up to
 * the EQL limit is either imported and printable, or refused.
 */
static bool sigma_nested_prints(int k)
{
	struct ks_ruleset *rs = ks_ruleset_new(), *back = ks_ruleset_new();
	struct text t;
	char *det;
	bool ok;
	int i;

	text_open(&t);
	for (i = 0; i < k; i++)
		fputs("not (a or ", t.f);
	fputs("not b", t.f);
	for (i = 0; i < k; i++)
		fputc(')', t.f);
	text_close(&t);
	if (asprintf(&det, "%s    a:\n        Image: x\n"
		     "    b:\n        - Image: z\n          CommandLine: [null, q]\n"
		     "        - CommandLine|contains|all: [u, v]\n"
		     "    condition: %s\n", sigma_head, t.s) < 0)
		fail();
	ok = !ks_ruleset_load_string(rs, det, "h.yml");
	if (ok && !ks_parse_query(back, rs->rules[0].query_text,
				  (struct ks_loc){ "printed", 1, 1 }))
		fail_msg("depth %d: imported, but its EQL does not parse",
			 2 * k + 1);
	free(det);
	free(t.s);
	ks_ruleset_free(back);
	ks_ruleset_free(rs);
	return ok;
}

static void sigma_deepest_prints(void)
{
	int k;

	assert_true(sigma_nested_prints((KS_MAX_NESTING - 8 - 1) / 2));
	for (k = (KS_MAX_NESTING - 8) / 2; 2 * k + 1 <= (int)KS_MAX_NESTING; k++)
		sigma_nested_prints(k);
}

static void test_sigma_condition_nesting(void **state)
{
	char *open = repeat("(", 100000), *close = repeat(")", 100000), *det;

	/* was SIGSEGV: recursion in sigma.c's condition parser */
	if (asprintf(&det, "    sel:\n        Image: /bin/sh\n"
		     "    condition: %ssel%s\n", open, close) < 0)
		fail();
	sigma_rejected(det, "limit KS_MAX_NESTING");
	free(det);
	free(open);
	free(close);
	open = repeat("not ", 100000);
	if (asprintf(&det, "    sel:\n        Image: /bin/sh\n"
		     "    condition: %ssel\n", open) < 0)
		fail();
	sigma_rejected(det, "limit KS_MAX_NESTING");
	free(det);
	free(open);
	sigma_deepest_prints();
}

static void test_yaml_nesting(void **state)
{
	char *open = repeat("[", 40000), *close = repeat("]", 40000), *t;

	/* was 5.4 s: libyaml's scanner is quadratic in the nesting */
	if (asprintf(&t, "- rule: a\n  name: a\n  query: %s%s\n", open, close) < 0)
		fail();
	bounded_load("[ nested 40,000 deep", t, "YAML nested more than 32 "
		     "levels deep (limit KS_MAX_YAML_DEPTH)", 1, 100);
	free(open);
	free(close);
	open = repeat("{a: ", 40000);
	close = repeat("}", 40000);
	if (asprintf(&t, "%sb%s\n", open, close) < 0)
		fail();
	bounded_load("{ nested 40,000 deep", t, "limit KS_MAX_YAML_DEPTH", 1, 100);
	free(open);
	free(close);
}

static void test_yaml_alias(void **state)
{
	/* one alias can stand for a list of any size, many times over */
	rejected("- &r\n  rule: a\n  name: a\n  query: process where true\n"
		 "- *r\n", "YAML aliases (*r) are not supported in rule files");
	sigma_rejected("    sel:\n        Image: &v [a, b]\n"
		       "        CommandLine: *v\n    condition: sel\n",
		       "YAML aliases (*v) are not supported");
}

/* ---- memory and time linear in the input ---- */

static char *in_list_rule(size_t n)
{
	struct text t;
	size_t i;

	text_open(&t);
	fputs("- rule: big\n  name: big\n  query: |\n"
	      "    process where process.name in (", t.f);
	for (i = 0; i < n; i++)
		fprintf(t.f, "%s\"n%zu\"", i ? ", " : "", i);
	fputs(")\n", t.f);
	return text_close(&t);
}

static void test_in_list(void **state)
{
	/* was 1.6 GB at 20,000 strings: every string literal copied the
	 * rest of the query; then a quadratic duplicate check */
	bounded_load("in (...) 60,000 strings", in_list_rule(60000), NULL,
		     1, 100);
	bounded_load("in (...) 100,000 strings", in_list_rule(100000),
		     "list has more than 65536 values (limit KS_MAX_LIST)",
		     1, 100);
}

static int compile_10k(void *arg)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_tables *t = malloc(sizeof(*t));
	int bad;
	char *d;

	bad = !t || ks_ruleset_load_string(rs, arg, "h.yml") ||
	      rs->n_rules != 10000 || !ks_compile(rs, t, NULL);
	d = ks_test_diag_text(&rs->diags);
	/* all 10,000 parse; the tables hold KS_MAX_RULES */
	bad |= !strstr(d, "rule set has 10000 rules, limit KS_MAX_RULES is 2048");
	if (bad)
		fprintf(stderr, "%.400s\n", d);
	free(d);
	free(t);
	ks_ruleset_free(rs);
	return bad;
}

static void test_many_rules(void **state)
{
	struct text t;
	size_t i;

	/* was 7.8 s: every rule's location walked the file from its start */
	text_open(&t);
	for (i = 0; i < 10000; i++)
		fprintf(t.f, "- rule: r%zu\n  name: rule %zu\n  query: |\n"
			"    process where process.name == \"n%zu\" and "
			"process.pid > %zu\n", i, i, i, i);
	text_close(&t);
	bounded("10,000 rules in one file", compile_10k, t.s, 2, 100);
	free(t.s);
}

/* ---- caps ---- */

/* In a child: a sparse 1 GiB .yml is refused without reading it all. */
static int load_big_file(void *arg)
{
	char path[] = "/tmp/ks-hostile-XXXXXX.yml";
	struct ks_ruleset *rs = ks_ruleset_new();
	int fd = mkstemps(path, 4), bad;
	char *d;

	if (fd < 0 || ftruncate(fd, 1ul << 30))
		return 1;
	close(fd);
	bad = ks_ruleset_load_path(rs, path) != -1;
	d = ks_test_diag_text(&rs->diags);
	bad |= !strstr(d, "larger than 16777216 bytes (limit KS_MAX_FILE_BYTES)");
	free(d);
	unlink(path);
	ks_ruleset_free(rs);
	return bad;
}

/* In a child: what a ruleset reads is bounded too (its AST is several
 * times its text): the fifth 15 MiB file is refused. */
static int load_five_files(void *arg)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	size_t n = (15u << 20) - 100, i;
	char *text = malloc(n + 1);
	int bad = 0;
	char *d;

	if (!text)
		return 1;
	memset(text, '#', n);
	memcpy(text + n - 60, "\n- {rule: r, name: r, query: process where true}\n",
	       50);
	text[n] = 0;
	for (i = 0; i < 5; i++) {
		text[n - 60 + 10] = '0' + i;	/* rule 0 .. 4 */
		bad |= ks_ruleset_load_string(rs, text, "big.yml") != (i < 4 ? 0 : -1);
	}
	d = ks_test_diag_text(&rs->diags);
	bad |= rs->n_rules != 4 ||
	       !strstr(d, "more than 67108864 bytes (limit KS_MAX_RULESET_BYTES)");
	if (bad)
		fprintf(stderr, "%zu rules: %.300s\n", rs->n_rules, d);
	free(d);
	free(text);
	ks_ruleset_free(rs);
	return bad;
}

static void test_caps(void **state)
{
	struct text t;
	char *big;
	size_t i;

	big = malloc(KS_MAX_FILE_BYTES + 2);
	assert_non_null(big);
	memset(big, '#', KS_MAX_FILE_BYTES + 1);
	big[KS_MAX_FILE_BYTES + 1] = 0;
	rejected(big, "rule file is larger than 16777216 bytes (limit "
		 "KS_MAX_FILE_BYTES)");
	free(big);
	bounded("a 1 GiB rule file", load_big_file, NULL, 1, 100);
	bounded("five 15 MiB rule files", load_five_files, NULL, 5, 300);

	text_open(&t);
	for (i = 0; i <= KS_MAX_LOADED_RULES; i++)
		fprintf(t.f, "- {rule: r%zu, name: r, query: process where true}\n",
			i);
	bounded_load("65,537 rules", text_close(&t),
		     "more than 65536 rules (limit KS_MAX_LOADED_RULES)", 3, 200);

	/* one selection of 1,000 values, referred to 300 times */
	text_open(&t);
	fprintf(t.f, "%s    sel:\n        CommandLine|contains:\n", sigma_head);
	for (i = 0; i < 1000; i++)
		fprintf(t.f, "            - v%zu\n", i);
	fputs("    condition: sel", t.f);
	for (i = 1; i < 300; i++)
		fputs(" and sel", t.f);
	fputs("\n", t.f);
	bounded_load("Sigma selection referred to 300 times", text_close(&t),
		     "the condition expands to more than 262144 tests (limit "
		     "KS_MAX_EXPANSION)", 1, 100);
}

/* ---- rule directories ---- */

static int load_dir_expect(void *arg)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	int ret = ks_ruleset_load_path(rs, arg);
	char *d = ks_test_diag_text(&rs->diags);
	int bad = ret != -1 || !strstr(d, "a symbolic link loop") ||
		  rs->n_rules != 1;

	if (bad)
		fprintf(stderr, "%d rules: %.400s\n", (int)rs->n_rules, d);
	free(d);
	ks_ruleset_free(rs);
	return bad;
}

static void test_symlink_loop(void **state)
{
	char dir[] = "/tmp/ks-hostile-XXXXXX", *p;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	if (asprintf(&p, "%s/r.yml", dir) < 0)
		fail();
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("- {rule: r, name: r, query: process where true}\n", f);
	fclose(f);
	free(p);
	/* two links back to the directory: 2^32 paths without detection */
	if (asprintf(&p, "%s/a", dir) < 0 || symlink(".", p))
		fail();
	free(p);
	if (asprintf(&p, "%s/b", dir) < 0 || symlink(dir, p))
		fail();
	free(p);
	bounded("directory with symbolic link loops", load_dir_expect, dir, 1,
		100);
	/* a rule file that is a dangling link is not skipped silently */
	if (asprintf(&p, "%s/gone.yml", dir) < 0 || symlink("nowhere.yml", p))
		fail();
	{
		struct ks_ruleset *rs = ks_ruleset_new();
		char *d;

		assert_int_equal(ks_ruleset_load_path(rs, dir), -1);
		d = ks_test_diag_text(&rs->diags);
		assert_non_null(strstr(d, "gone.yml:1:1: error: cannot read: No "
				       "such file or directory"));
		free(d);
		ks_ruleset_free(rs);
	}
	unlink(p);
	free(p);
	if (asprintf(&p, "rm -rf '%s'", dir) < 0 || system(p))
		fail();
	free(p);
}

/* ---- no silent change of meaning ---- */

static void test_sigma_meaning(void **state)
{
	/* |windash with 4 dashes: the variants were dropped */
	sigma_rejected("    sel:\n        CommandLine|windash|contains: "
		       "'-a -b -c -d'\n    condition: sel\n",
		       "|windash expands at most 3 dashes that start an option "
		       "(5 variants each); \"-a -b -c -d\" has more");
	/* clamped to INT64_MAX; and a pid the event cannot hold */
	sigma_rejected("    sel:\n        ProcessId: 99999999999999999999999\n"
		       "    condition: sel\n",
		       "h.yml:8:20: error: 99999999999999999999999 is out of range "
		       "for \"ProcessId\" (process.pid: 0..4294967295)");
	sigma_rejected("    sel:\n        ProcessId: 4294967296\n"
		       "    condition: sel\n",
		       "4294967296 is out of range for \"ProcessId\"");
	/* an empty selection was `true` */
	sigma_rejected("    sel: {}\n    condition: sel\n",
		       "h.yml:7:10: error: empty selection (it would match every "
		       "event)");
	sigma_rejected("    sel:\n        - {}\n    condition: sel\n",
		       "empty selection");
	/* "||" was read as "|" */
	sigma_rejected("    sel:\n        Image||contains: x\n    condition: sel\n",
		       "h.yml:8:9: error: empty Sigma modifier in "
		       "\"Image||contains\"");
	sigma_rejected("    sel:\n        Image|: x\n    condition: sel\n",
		       "empty Sigma modifier in \"Image|\"");
	sigma_rejected("    sel:\n        '|contains': x\n    condition: sel\n",
		       "empty field name in \"|contains\"");
	/* modifiers that were ignored */
	sigma_rejected("    sel:\n        Image|exists|windash: true\n"
		       "    condition: sel\n",
		       "conflicting Sigma modifiers in \"Image|exists|windash\": "
		       "|exists and another modifier");
	sigma_rejected("    sel:\n        CommandLine|re|windash: 'a.b'\n"
		       "    condition: sel\n", "|windash and |re");
	sigma_rejected("    sel:\n        Image|contains:\n            - null\n"
		       "            - x\n    condition: sel\n",
		       "a null value cannot take Sigma modifiers");
	/* which one wins depends on the YAML reader */
	sigma_rejected("    sel:\n        Image: a\n        Image: b\n"
		       "    condition: sel\n", "duplicate key \"Image\"");
	sigma_rejected("    sel:\n        Image: a\n    sel:\n        Image: b\n"
		       "    condition: sel\n", "duplicate selection \"sel\"");
	/* a value C code would cut at its NUL byte */
	sigma_rejected("    sel:\n        Image: \"/bin/a\\0b\"\n"
		       "    condition: sel\n", "value holds a NUL byte");
}

static void test_eql_meaning(void **state)
{
	/* compared as 0 (u32 truncation): never matched */
	query_rejected("process where process.pid == 4294967296",
		       "q:1:30: error: 4294967296 is out of range for "
		       "process.pid (0..4294967295)");
	query_rejected("process where user.id == -1",
		       "-1 is out of range for user.id (0..4294967295)");
	query_rejected("network where destination.port in (22, 65536)",
		       "65536 is out of range for destination.port (0..65535)");
	query_rejected("network where network.transport == 256",
		       "256 is out of range for network.transport (0..255)");
	query_rejected("process where process.exit_code < 2147483648",
		       "2147483648 is out of range for process.exit_code");
	rejected("- rule: a\n  name: a\n  query: \"process where "
		 "process.name == \\\"a\\0b\\\"\"\n", "\"query\" holds a NUL byte");
}

/* ---- regular expressions: glibc's regcomp is not linear ---- */

static void test_regex_blowup(void **state)
{
	char *plus = repeat("+", 20), *q;

	/* 20 stacked '+': 700 MB in regcomp; 10 stacked '*' corrupt its heap */
	if (asprintf(&q, "    sel:\n        CommandLine|re: 'a%s'\n"
		     "    condition: sel\n", plus) < 0)
		fail();
	sigma_rejected(q, "stacked quantifiers");
	free(q);
	free(plus);
	query_rejected("process where regex(process.name, \"(a*)**********\")",
		       "stacked quantifiers");
	/* 3.4 GB in regcomp */
	query_rejected("process where regex(process.name, "
		       "\"((a{255}){255}){255}\")",
		       "it expands to more than 32768 positions");
	query_rejected("process where regex(process.name, \"a{1000}\")",
		       "a repetition bound above 255");
	/* regcomp's epsilon closures: 5^21 paths, it never returns */
	sigma_rejected("    sel:\n        CommandLine|re|i: '(?:a|||||){20,}'\n"
		       "    condition: sel\n", "matches the empty string in "
		       "too many ways");
	query_rejected("process where regex(process.name, \"((a||){14})+\")",
		       "matches the empty string in too many ways");
	query_rejected("process where regex(process.name, "
		       "\"(((a||){10}){10})*\")", "too many ways");
	/* what real rules write still compiles */
	{
		struct ks_ruleset *rs = ks_ruleset_new();

		assert_int_equal(ks_ruleset_add_query(rs, "process where regex("
			"process.command_line, \"(.){200,}|[[:alnum:]]{2,8}"
			"(x|y)?[]a-]+|(a||){12,}|(a?b?|c*)+|(x|)*\")", "q"), 0);
		ks_ruleset_free(rs);
	}
}

/* ---- memory safety ---- */

static void test_sigma_slug(void **state)
{
	struct ks_ruleset *rs = ks_ruleset_new();

	/* "sigma.unnamed" was written into strlen("!") + 7 bytes (ASan
	 * reports it in the sanitized run of this test) */
	assert_int_equal(ks_ruleset_load_string(rs,
		"title: \"!\"\nlogsource:\n    category: process_creation\n"
		"detection:\n    sel:\n        Image: /bin/sh\n"
		"    condition: sel\n", "h.yml"), 0);
	assert_int_equal(rs->n_rules, 1);
	assert_string_equal(rs->rules[0].id, "sigma.unnamed");
	ks_ruleset_free(rs);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eql_nesting),
		cmocka_unit_test(test_sigma_condition_nesting),
		cmocka_unit_test(test_yaml_nesting),
		cmocka_unit_test(test_yaml_alias),
		cmocka_unit_test(test_in_list),
		cmocka_unit_test(test_many_rules),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_symlink_loop),
		cmocka_unit_test(test_sigma_meaning),
		cmocka_unit_test(test_eql_meaning),
		cmocka_unit_test(test_regex_blowup),
		cmocka_unit_test(test_sigma_slug),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);	/* one test: NAME */
	return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
