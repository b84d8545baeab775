// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Alert outputs (loader/sink*.c) without servers: URI parsing, and the
 * accounting identity sent = delivered + lost + queued for outputs that
 * work (a file), fail every write (/dev/full) and cannot connect (a closed
 * port), with their own threads running. The real servers are in
 * selftests/outputs.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kestrel/json.h"
#include "kestrel/sink.h"

static void send_alerts(struct ks_sinks *set, int n)
{
	static const struct ks_line_info info = { .rule_id = "r1", .severity = "critical" };
	struct ks_output *o = ks_sinks_output(set);
	struct ks_jw *w;
	int i;

	for (i = 0; i < n; i++) {
		w = ks_output_begin(o);
		ks_jw_obj(w, NULL);
		ks_jw_int(w, "n", i);
		ks_jw_obj(w, "rule");
		ks_jw_cstr(w, "id", info.rule_id);
		ks_jw_cstr(w, "severity", info.severity);
		ks_jw_end(w, '}');
		ks_jw_end(w, '}');
		assert_int_equal(ks_output_end(o, true, &info), 0);
	}
}

static uint64_t lost(const struct ks_output_stat *st)
{
	uint64_t n = 0;
	int r;

	for (r = 0; r < KS_LOST_N; r++)
		n += st->lost[r];
	return n;
}

static void test_uris(void **state)
{
	static const char *const good[] = {
		"-", "file:/tmp/a", "syslog:", "syslog:/run/x.sock", "syslog+udp://127.0.0.1:514",
		"syslog+tcp://[::1]:6514?facility=local3", "journald:",
		"nats://h1:4222,h2:4222/kestrel.alerts?queue=5", "nats://u:p@h:4222/a.b",
	};
	static const char *const bad[] = {
		"", "file:", "syslog:relative", "syslog+udp://host", "syslog+tcp://h:0",
		"syslog+tcp://h:99999", "syslog+tcp://h:1?facility=nope", "journald:x",
		"nats://h:1", "nats://h:1/a.*", "nats://h:1/a..b", "nats:///a", "kafka://h:1/t",
		"-?queue=0", "-?queue=x", "-?bogus=1", "-?queue",
	};
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(ks_sinks_check(good[i], why, sizeof(why)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		assert_int_not_equal(ks_sinks_check(bad[i], why, sizeof(why)), 0);
		assert_true(why[0]);	/* every refusal says why */
	}
}

/* Names in metrics carry no credentials and no query. */
static void test_names(void **state)
{
	struct ks_sinks *set = ks_sinks_new();
	struct ks_output_stat st;
	char why[256];

	assert_int_equal(ks_sinks_add(set, "nats://user:secret@127.0.0.1:1/a.b?queue=3", why,
				      sizeof(why)), 0);
	assert_int_equal(ks_sinks_add(set, "nats://127.0.0.1:1/a.b", why, sizeof(why)), -EEXIST);
	ks_sinks_stat(set, 0, &st);
	assert_string_equal(st.name, "nats://127.0.0.1:1/a.b");
	ks_sinks_free(set);
}

static void test_accounting(void **state)
{
	char path[] = "/tmp/ks-test-sink.XXXXXX", uri[64], why[256];
	struct ks_output_stats os;
	struct ks_output_stat st[3];
	struct ks_sinks *set = ks_sinks_new();
	int fd = mkstemp(path), i;

	assert_true(fd >= 0);
	close(fd);
	snprintf(uri, sizeof(uri), "file:%s", path);
	assert_int_equal(ks_sinks_add(set, uri, why, sizeof(why)), 0);
	assert_int_equal(ks_sinks_add(set, "file:/dev/full", why, sizeof(why)), 0);
	/* nothing listens on port 1: connects fail, 10 wait, the rest is queue_full */
	assert_int_equal(ks_sinks_add(set, "syslog+tcp://127.0.0.1:1?queue=10", why,
				      sizeof(why)), 0);
	send_alerts(set, 100);
	ks_sinks_stop(set, 200);
	for (i = 0; i < 3; i++) {
		ks_sinks_stat(set, i, &st[i]);
		assert_int_equal(st[i].sent, 100);
		assert_int_equal(st[i].queued, 0);
		assert_int_equal(st[i].sent, st[i].delivered + lost(&st[i]));
	}
	assert_int_equal(st[0].delivered, 100);
	assert_int_equal(st[1].lost[KS_LOST_WRITE], 100);
	assert_int_equal(st[2].delivered, 0);
	assert_int_equal(st[2].lost[KS_LOST_QUEUE_FULL] + st[2].lost[KS_LOST_SHUTDOWN], 100);
	assert_true(st[2].lost[KS_LOST_SHUTDOWN] >= 9);	/* the queue, less one in hand */
	assert_true(st[2].errors[KS_SERR_CONNECT] >= 1);
	/* the alert output reports every output's losses, by reason */
	ks_output_stats(ks_sinks_output(set), &os);
	assert_int_equal(os.lost[KS_LOST_WRITE], 100);
	assert_int_equal(os.lost[KS_LOST_QUEUE_FULL] + os.lost[KS_LOST_SHUTDOWN], 100);
	ks_sinks_free(set);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_accounting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
