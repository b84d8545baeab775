// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/PID readers and parsers (loader/procfs.c): stat with hostile
 * process names (the name is "(...)" and may hold ')', spaces and
 * newlines: the fields count from the last ')'), including one the
 * kernel itself prints for this process after prctl(PR_SET_NAME); status;
 * the string, text and link readers on a fake proc tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "kestrel/procfs.h"
#include "fake_proc.h"

/* pid (comm) state ppid pgrp session tty_nr tpgid ... starttime(22) vsize rss */
#define STAT_FMT "%u (%s) S %u %d %d %u -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 %llu 1000 10\n"

static int stat_of(const char *comm, struct ks_proc_stat *st)
{
	char buf[512];

	snprintf(buf, sizeof(buf), STAT_FMT, 42u, comm, 17u, 23, 29, 34817u, 123456ull);
	memset(st, 0xa5, sizeof(*st));
	return ks_proc_parse_stat(buf, st);
}

static void test_stat_hostile_comm(void **state)
{
	/* what a process may name itself (15 bytes at most, any but NUL) */
	static const char *const comms[] = {
		"x", "", "a) 7 (b", "two words", ")", "))", "(", "()", ") S 9 8 7 6",
		"a\nb", "\n) 1 2 3\n", ") )) (", "1 2 3 4 5 6 7 8", "x) Z 0 0 0 0",
	};
	struct ks_proc_stat st;
	size_t i;

	for (i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		assert_int_equal(stat_of(comms[i], &st), 0);
		assert_int_equal(st.ppid, 17);
		assert_int_equal(st.pgrp, 23);
		assert_int_equal(st.session, 29);
		assert_int_equal(st.tty_nr, 34817);
		assert_int_equal(st.start_ticks, 123456);
	}
}

static void test_stat_malformed(void **state)
{
	struct ks_proc_stat st;
	char buf[512];

	assert_int_equal(ks_proc_parse_stat("", &st), -1);
	assert_int_equal(ks_proc_parse_stat("42 (x) S 1 2", &st), -1);	/* cut short */
	assert_int_equal(ks_proc_parse_stat("42 x S 1", &st), -1);	/* no name */
	assert_int_equal(ks_proc_parse_stat("42 (x)S 1 2 3 4", &st), -1);
	/* a name that ends in ')' with nothing after: not the name's end */
	assert_int_equal(ks_proc_parse_stat("42 (x) S 1 2 3 4 (y)", &st), -1);
	snprintf(buf, sizeof(buf), STAT_FMT, 42u, "x", 17u, 23, 29, 0u, 5ull);
	buf[strlen(buf) - 12] = 'z';	/* a letter in a number field */
	assert_int_equal(ks_proc_parse_stat(buf, &st), -1);
}

/* What the kernel prints for this process under a hostile name. */
static void test_stat_self(void **state)
{
	static const char hostile[] = ") 1 2 (\n) x";	/* 11 bytes: within TASK_COMM_LEN */
	char old[16] = "", raw[1024];
	struct ks_proc_stat st;

	assert_int_equal(prctl(PR_GET_NAME, old), 0);
	assert_int_equal(prctl(PR_SET_NAME, hostile), 0);
	assert_true(ks_proc_read(KS_PROC_ROOT, getpid(), "stat", raw, sizeof(raw)) > 0);
	assert_non_null(strstr(raw, hostile));	/* the kernel prints the name as it is */
	assert_int_equal(ks_proc_stat(KS_PROC_ROOT, getpid(), &st), 0);
	prctl(PR_SET_NAME, old);
	assert_int_equal(st.ppid, getppid());
	assert_int_equal(st.pgrp, getpgrp());
	assert_int_equal(st.session, getsid(0));
	assert_true(st.start_ticks > 0);
}

static void test_parse_status(void **state)
{
	struct ks_proc_ids ids;

	assert_int_equal(ks_proc_parse_status("Name:\tx\nUid:\t1000\t0\t0\t0\n"
					      "Gid:\t100\t5\t5\t5\nCapEff:\t00000000000000ff\n",
					      &ids), 0);
	assert_int_equal(ids.uid, 1000);
	assert_int_equal(ids.euid, 0);
	assert_int_equal(ids.gid, 100);
	assert_int_equal(ids.egid, 5);
	assert_int_equal(ids.cap_eff, 0xff);
	assert_int_equal(ids.cap_prm, 0);	/* absent: none */
	/* a "Uid" inside another name is not the Uid line */
	assert_int_equal(ks_proc_parse_status("XUid:\t1\t1\nGid:\t1\t1\n", &ids), -1);
	assert_int_equal(ks_proc_parse_status("Uid:\t1\t1\n", &ids), -1);
}

static void test_read_strings(void **state)
{
	static const char env[] = "A=1\0BB=22\0CCC=333";	/* and the final NUL */
	struct fake *f = *state;
	char buf[64];
	size_t len = 0;

	put_file(f, 7, "environ", env, sizeof(env));
	assert_true(ks_proc_read_strings(f->fd, 7, "environ", buf, sizeof(buf), &len));
	assert_int_equal(len, sizeof(env) - 1);
	assert_memory_equal(buf, env, len);
	/* cut at 8 bytes ("A=1\0BB=2"): BB=2 is not a value it holds */
	assert_true(ks_proc_read_strings(f->fd, 7, "environ", buf, 8, &len));
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "A=1", 3);
	/* exactly the file: nothing cut */
	assert_true(ks_proc_read_strings(f->fd, 7, "environ", buf, sizeof(env), &len));
	assert_int_equal(len, sizeof(env) - 1);
	/* no whole string fits, an empty file (a kernel thread), no file */
	assert_false(ks_proc_read_strings(f->fd, 7, "environ", buf, 2, &len));
	put_file(f, 7, "cmdline", "", 0);
	assert_false(ks_proc_read_strings(f->fd, 7, "cmdline", buf, sizeof(buf), &len));
	assert_false(ks_proc_read_strings(f->fd, 8, "environ", buf, sizeof(buf), &len));
}

static void test_read_text_and_link(void **state)
{
	struct fake *f = *state;
	char buf[64], path[256], self[256];
	ssize_t n;

	put_file(f, 7, "status", "Uid:\t1\t2\n", 9);
	assert_int_equal(ks_proc_read(f->fd, 7, "status", buf, sizeof(buf)), 9);
	assert_string_equal(buf, "Uid:\t1\t2\n");
	assert_int_equal(ks_proc_read(f->fd, 7, "status", buf, 5), 4);	/* NUL-terminated */
	assert_string_equal(buf, "Uid:");
	assert_int_equal(ks_proc_read(f->fd, 8, "status", buf, sizeof(buf)), -1);
	snprintf(path, sizeof(path), "%s/7/cwd", f->dir);
	assert_int_equal(symlink("/some/where", path), 0);
	assert_int_equal(ks_proc_readlink(f->fd, 7, "cwd", buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "/some/where", 11);
	assert_int_equal(ks_proc_readlink(f->fd, 7, "exe", buf, sizeof(buf)), -1);
	/* /proc itself */
	n = readlink("/proc/self/exe", self, sizeof(self));
	assert_true(n > 0);
	assert_int_equal(ks_proc_readlink(KS_PROC_ROOT, getpid(), "exe", path, sizeof(path)), n);
	assert_memory_equal(path, self, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_hostile_comm),
		cmocka_unit_test(test_stat_malformed),
		cmocka_unit_test(test_stat_self),
		cmocka_unit_test(test_parse_status),
		cmocka_unit_test_setup_teardown(test_read_strings, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_read_text_and_link, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
