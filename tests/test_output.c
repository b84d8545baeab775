// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * JSON-lines output (loader/output.c): a failed write loses exactly the
 * lines not written, counts them by reason and says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kestrel/json.h"
#include "kestrel/output.h"

static void put_lines(struct ks_output *o, int n)
{
	struct ks_jw *w;
	int i;

	for (i = 0; i < n; i++) {
		w = ks_output_begin(o);
		ks_jw_obj(w, NULL);
		ks_jw_int(w, "n", i);
		ks_jw_cstr(w, "pad", "0123456789");
		ks_jw_end(w, '}');
		ks_output_end(o, true, NULL);
	}
}

/* A line given up half-written is taken back whole and counted. */
static void test_taken_back(void **state)
{
	struct ks_output *o = ks_output_memory();
	struct ks_output_stats st;
	struct ks_jw *w;

	put_lines(o, 1);
	w = ks_output_begin(o);
	ks_jw_obj(w, NULL);
	ks_jw_int(w, "half", 1);
	assert_int_equal(ks_output_end(o, false, NULL), -EINVAL);
	put_lines(o, 1);
	ks_output_stats(o, &st);
	assert_int_equal(st.lines, 2);
	assert_int_equal(st.lost[KS_LOST_ENCODE], 1);
	assert_string_equal(ks_output_text(o, NULL),
			    "{\"n\":0,\"pad\":\"0123456789\"}\n{\"n\":0,\"pad\":\"0123456789\"}\n");
	assert_int_equal(ks_output_line(o, "x\n", 2), 0);
	assert_null(ks_output_begin(NULL));
	assert_int_equal(ks_output_end(NULL, true, NULL), 0);
	assert_int_equal(ks_output_close(o), 0);
}

static void test_memory(void **state)
{
	struct ks_output *o = ks_output_memory();
	struct ks_output_stats st;
	size_t len;

	put_lines(o, 2);
	ks_output_stats(o, &st);
	assert_int_equal(st.lines, 2);
	assert_string_equal(ks_output_text(o, &len),
			    "{\"n\":0,\"pad\":\"0123456789\"}\n{\"n\":1,\"pad\":\"0123456789\"}\n");
	assert_int_equal(ks_output_close(o), 0);
}

/* /dev/full: every buffered line is lost to the failed flush, and counted. */
static void test_full(void **state)
{
	int fd = open("/dev/full", O_WRONLY);
	struct ks_output *o;
	struct ks_output_stats st;

	if (fd < 0)
		skip();
	o = ks_output_fd(fd, "/dev/full", true);
	put_lines(o, 3);
	assert_int_equal(ks_output_flush(o), -ENOSPC);
	ks_output_stats(o, &st);
	assert_int_equal(st.lost[KS_LOST_WRITE], 3);
	assert_int_equal(st.lines, 0);
	assert_int_equal(st.last_err, ENOSPC);
	assert_int_equal(ks_output_lost_total(o), 3);
	put_lines(o, 1);	/* and it goes on counting */
	assert_int_equal(ks_output_close(o), -ENOSPC);
}

/* A reader that went away: EPIPE (SIGPIPE is ignored by kload), counted. */
static void test_closed_pipe(void **state)
{
	struct ks_output *o;
	struct ks_output_stats st;
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	o = ks_output_fd(p[1], "pipe", true);
	put_lines(o, 2);
	assert_int_equal(ks_output_flush(o), -EPIPE);
	ks_output_stats(o, &st);
	assert_int_equal(st.lost[KS_LOST_WRITE], 2);
	ks_output_lost(o, KS_LOST_ENCODE);
	assert_int_equal(ks_output_lost_total(o), 3);
	ks_output_close(o);
}

/* Lines written before the failure are not counted lost. */
static void test_partial(void **state)
{
	struct ks_output *o;
	struct ks_output_stats st;
	char buf[256];
	ssize_t n;
	int p[2];

	assert_int_equal(pipe(p), 0);
	o = ks_output_fd(p[1], "pipe", false);
	put_lines(o, 2);
	assert_int_equal(ks_output_flush(o), 0);
	n = read(p[0], buf, sizeof(buf));
	assert_true(n > 0);
	close(p[0]);
	put_lines(o, 1);
	assert_int_equal(ks_output_flush(o), -EPIPE);
	ks_output_stats(o, &st);
	assert_int_equal(st.lines, 2);
	assert_int_equal(st.lost[KS_LOST_WRITE], 1);
	ks_output_close(o);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_taken_back),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_closed_pipe),
		cmocka_unit_test(test_partial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
