/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small test_progs: each prog_tests/<name>.c defines test_<name>(),
 * registered in build/ks_tests.h, which the Makefile generates from the
 * file names. ASSERT_* print what differed and return
 * a bool so a test can stop early; test__skip() records a skip with its
 * reason (a kernel feature missing), never silently.
 */
#ifndef KS_TEST_PROGS_H
#define KS_TEST_PROGS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

struct ks_test_env {
	int verbose;
	const char *filter;
	bool in_vm;
};

extern struct ks_test_env env;

/* Start a subtest; false when filtered out. */
bool test__start_subtest(const char *name);
void test__fail(void);
void test__skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool test__failed(void);
void test__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define _CHECK(cond, tag, fmt, ...) ({						\
	bool ___ok = !(cond);							\
	if (!___ok) {								\
		test__fail();							\
		fprintf(stderr, "%s:%d: FAIL %s: " fmt "\n", __func__,	\
			__LINE__, tag, ##__VA_ARGS__);				\
	} else if (env.verbose) {						\
		fprintf(stderr, "%s:%d: ok %s\n", __func__, __LINE__, tag);	\
	}									\
	___ok;									\
})

#define ASSERT_TRUE(a, name) _CHECK(!(a), name, "unexpected false")
#define ASSERT_FALSE(a, name) _CHECK((a), name, "unexpected true")
#define ASSERT_EQ(a, b, name) ({ long long ___a = (a), ___b = (b);		\
	_CHECK(___a != ___b, name, "got %lld != expected %lld", ___a, ___b); })
#define ASSERT_NEQ(a, b, name) ({ long long ___a = (a), ___b = (b);		\
	_CHECK(___a == ___b, name, "got %lld == unexpected %lld", ___a, ___b); })
#define ASSERT_GE(a, b, name) ({ long long ___a = (a), ___b = (b);		\
	_CHECK(___a < ___b, name, "got %lld < expected >= %lld", ___a, ___b); })
#define ASSERT_GT(a, b, name) ({ long long ___a = (a), ___b = (b);		\
	_CHECK(___a <= ___b, name, "got %lld <= expected > %lld", ___a, ___b); })
#define ASSERT_LT(a, b, name) ({ long long ___a = (a), ___b = (b);		\
	_CHECK(___a >= ___b, name, "got %lld >= expected < %lld", ___a, ___b); })
#define ASSERT_OK(res, name) ({ long long ___r = (res);			\
	_CHECK(___r != 0, name, "unexpected error %lld (errno %d: %s)",	\
	       ___r, errno, strerror(errno)); })
#define ASSERT_OK_PTR(p, name) _CHECK(!(p), name, "unexpected NULL (errno %d: %s)", \
	errno, strerror(errno))
#define ASSERT_STREQ(a, b, name) ({ const char *___a = (a), *___b = (b);	\
	_CHECK(strcmp(___a, ___b), name, "got \"%s\" != expected \"%s\"", ___a, ___b); })
#define ASSERT_HAS_STR(hay, needle, name) ({ const char *___h = (hay), *___n = (needle); \
	_CHECK(!___h || !strstr(___h, ___n), name, "\"%s\" not in \"%.300s\"",	\
	       ___n, ___h ? ___h : "(null)"); })

#endif /* KS_TEST_PROGS_H */
