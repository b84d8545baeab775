// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Selftest runner: runs every test (or those matching -t NAME[/SUB]),
 * prints one line per test and subtest, and ends with
 * "N passed, N failed, N skipped". Exit status 1 if anything failed.
 */
#include <fnmatch.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "kestrel/log.h"
#include "test_progs.h"

struct ks_test_env env;

#define DEFINE_TEST(name) void test_##name(void);
#include "ks_tests.h"
#undef DEFINE_TEST

struct test_def {
	const char *name;
	void (*fn)(void);
};

static const struct test_def tests[] = {
#define DEFINE_TEST(name) { #name, test_##name },
#include "ks_tests.h"
#undef DEFINE_TEST
};

static const char *cur_test;
static const char *cur_sub;
static bool cur_failed, cur_skipped, sub_failed, sub_skipped, in_sub;
static char skip_why[256];
static int n_pass, n_fail, n_skip;

void test__fail(void)
{
	if (in_sub)
		sub_failed = true;
	cur_failed = true;
}

bool test__failed(void)
{
	return in_sub ? sub_failed : cur_failed;
}

void test__skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skip_why, sizeof(skip_why), fmt, ap);
	va_end(ap);
	if (in_sub)
		sub_skipped = true;
	else
		cur_skipped = true;
}

void test__log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("    ");
	vprintf(fmt, ap);
	va_end(ap);
}

static void end_subtest(void)
{
	if (!in_sub)
		return;
	if (sub_failed) {
		n_fail++;
		printf("  #%s/%s: FAIL\n", cur_test, cur_sub);
	} else if (sub_skipped) {
		n_skip++;
		printf("  #%s/%s: SKIP (%s)\n", cur_test, cur_sub, skip_why);
	} else {
		n_pass++;
		printf("  #%s/%s: OK\n", cur_test, cur_sub);
	}
	in_sub = false;
	fflush(stdout);
}

/* -t accepts NAME or NAME/SUB, each a shell pattern. */
static bool match_filter(const char *test, const char *sub)
{
	char pat[256], *slash;

	if (!env.filter)
		return true;
	snprintf(pat, sizeof(pat), "%s", env.filter);
	slash = strchr(pat, '/');
	if (slash)
		*slash++ = 0;
	if (fnmatch(pat, test, 0))
		return false;
	return !sub || !slash || !fnmatch(slash, sub, 0);
}

bool test__start_subtest(const char *name)
{
	end_subtest();
	if (!match_filter(cur_test, name))
		return false;
	cur_sub = name;
	in_sub = true;
	sub_failed = sub_skipped = false;
	return true;
}

static void run_test(const struct test_def *t)
{
	int subs_before = n_pass + n_fail + n_skip;

	cur_test = t->name;
	cur_failed = cur_skipped = false;
	t->fn();
	end_subtest();
	if (n_pass + n_fail + n_skip != subs_before && !cur_skipped) {
		/* subtests were counted one by one */
		printf("#%s: %s\n", t->name, cur_failed ? "FAIL" : "done");
		return;
	}
	if (cur_failed) {
		n_fail++;
		printf("#%s: FAIL\n", t->name);
	} else if (cur_skipped) {
		n_skip++;
		printf("#%s: SKIP (%s)\n", t->name, skip_why);
	} else {
		n_pass++;
		printf("#%s: OK\n", t->name);
	}
	fflush(stdout);
}

static void usage(const char *prog)
{
	printf("usage: %s [-v] [-l] [-t NAME[/SUB]]\n"
	       "  -t  run tests matching the pattern (shell glob)\n"
	       "  -l  list tests\n"
	       "  -v  verbose: print every passing assertion and libbpf output\n",
	       prog);
}

int main(int argc, char **argv)
{
	struct utsname u;
	size_t i;
	int c;

	while ((c = getopt(argc, argv, "vlt:h")) != -1) {
		switch (c) {
		case 'v':
			env.verbose++;
			break;
		case 't':
			env.filter = optarg;
			break;
		case 'l':
			for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
				printf("%s\n", tests[i].name);
			return 0;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ks_log_level = env.verbose ? KS_LOG_DEBUG : KS_LOG_WARN;
	ks_log_setup_libbpf();
	env.in_vm = getenv("KS_IN_VM") != NULL;
	uname(&u);
	printf("selftests on Linux %s%s\n", u.release, env.in_vm ? " (VM)" : "");
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!match_filter(tests[i].name, NULL))
			continue;
		run_test(&tests[i]);
	}
	printf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	return n_fail ? 1 : 0;
}
