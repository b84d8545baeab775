// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Overload: a burst of at least ten times what the ring buffer holds,
 * with nobody consuming, then kload's consumer (the production pipeline
 * and loader/session.c's drain of ks_lost) once there is room again:
 *
 *  exec_signal, exec_lsm   live execs (tp_btf / BPF LSM) of programs
 *                          that rules kill, block, sequence-kill or
 *                          only alert on
 *  replay                  the replay program, same rules, recorded events
 *
 * Checked exactly, per source: total = filtered + forwarded + dropped.
 * And every enforcement is accounted for: the kernel's per-rule count of
 * blocks and kills equals the operations that were refused or killed,
 * and equals the alerts (events forwarded, events kept in ks_lost, and
 * the counted rest) that say so.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"
#include "test_progs.h"

#define P_KILL	"/tmp/ks_st_ov_kill"
#define P_BLOCK	"/tmp/ks_st_ov_block"
#define P_ALERT	"/tmp/ks_st_ov_alert"
#define P_A	"/tmp/ks_st_ov_a"
#define P_B	"/tmp/ks_st_ov_b"

#define RINGBUF	(16u << 10)
#define ROUNDS	30	/* each: 3 kills, 1 block, 1 alert, a then b */

static const char ov_rules[] =
	"- rule: ov_kill\n"
	"  name: killed on exec\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: process where event.action == \"exec\" and process.executable == \"" P_KILL "\"\n"
	"- rule: ov_block\n"
	"  name: blocked on exec\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: process where event.action == \"exec\" and process.executable == \"" P_BLOCK "\"\n"
	"- rule: ov_alert\n"
	"  name: alert only\n"
	"  severity: low\n"
	"  query: process where event.action == \"exec\" and process.executable == \"" P_ALERT "\"\n"
	"- rule: ov_seq\n"
	"  name: a then b, b killed\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: |\n"
	"    sequence by process.parent.entity_id with maxspan=1h\n"
	"      [process where event.action == \"exec\" and process.executable == \"" P_A "\"]\n"
	"      [process where event.action == \"exec\" and process.executable == \"" P_B "\"]\n";

static const char *const enforcing[] = { "ov_kill", "ov_block", "ov_seq" };
#define N_ENF	3

/* Records the ring buffer holds: each is the event plus an 8-byte header. */
static unsigned int ring_capacity(void)
{
	return RINGBUF / (sizeof(struct ks_event) + 8);
}

static bool identity(const struct ks_stats *st, int src, const char *name)
{
	test__log("%s: %llu events = %llu filtered + %llu forwarded + %llu dropped "
		  "(%llu ring buffer full)\n", name, st->events[src], st->filtered[src],
		  st->forwarded[src], ks_stats_dropped(st, src),
		  st->dropped[src][KS_DROP_RINGBUF_FULL]);
	return ASSERT_TRUE(ks_stats_identity(st, src), name);
}

/*
 * Enforcements the alerts report for rule id: one per alert that blocked
 * or killed, lost_events for an alert that only counts them.
 */
static long long alerted(const char *alerts, const char *id, long long *lost)
{
	const char *line = alerts;
	long long n = 0;

	*lost = 0;
	while (line && *line) {
		json_t *a = json_loadb(line, strcspn(line, "\n"), 0, NULL);
		const char *rid = json_string_value(json_object_get(json_object_get(a, "rule"), "id"));
		const char *out = json_string_value(json_object_get(json_object_get(a, "event"),
								    "outcome"));
		json_t *k = json_object_get(a, "kestrel");
		long long cnt = json_integer_value(json_object_get(k, "lost_events"));

		if (rid && !strcmp(rid, id) && out &&
		    (!strcmp(out, "killed") || !strcmp(out, "blocked"))) {
			n += cnt ? cnt : 1;
			if (json_is_true(json_object_get(k, "event_lost")))
				*lost += cnt ? cnt : 1;
		}
		json_decref(a);
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return n;
}

/* The kernel's enforcements per rule against the alerts' (and expected). */
static void check_enforcements(struct ks_tenv *te, const char *alerts, const long long *expect)
{
	long long total_lost = 0, unqueued = 0;
	int i;

	for (i = 0; i < N_ENF; i++) {
		struct ks_rule_stats rs;
		long long n, lost;

		if (!ASSERT_OK(ks_tenv_rule_stats(te, enforcing[i], &rs), "rule stats"))
			return;
		n = alerted(alerts, enforcing[i], &lost);
		test__log("%s: %llu enforced in the kernel (%llu with the event lost, %llu of "
			  "those not kept); alerts report %lld (%lld as enforced, event lost)\n",
			  enforcing[i], rs.blocks + rs.kills, rs.unreported, rs.unqueued, n, lost);
		if (expect)
			ASSERT_EQ(rs.blocks + rs.kills, expect[i], "kernel count = operations stopped");
		ASSERT_EQ(n, rs.blocks + rs.kills, "every enforcement alerted");
		ASSERT_EQ(lost, rs.unreported, "lost ones alerted as such");
		total_lost += lost;
		unqueued += rs.unqueued;
	}
	ASSERT_GT(total_lost, 0, "the burst lost enforced events");
	ASSERT_GT(unqueued, 0, "and more than ks_lost could keep");
}

/* Exit status of an exec that the kernel stopped: killed, or refused. */
static bool stopped(int status)
{
	return (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
	       (WIFEXITED(status) && WEXITSTATUS(status) == 100 + EPERM);
}

static void burst_exec(int mode)
{
	struct ks_engine_opts o = { .mode = mode, .ringbuf_bytes = RINGBUF };
	long long expect[N_ENF] = {};
	struct ks_tenv te = {};
	struct ks_stats st;
	char *alerts = NULL;
	int i, j, execs = 0;

	if (!ks_tenv_mode_available(mode))
		return;
	if (!ASSERT_OK(ks_tenv_compile(&te, ov_rules), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	/* nobody reads the ring buffer until the burst is over */
	for (i = 0; i < ROUNDS; i++) {
		for (j = 0; j < 3; j++)
			expect[0] += stopped(ks_run_exe(P_KILL, "true", NULL));
		expect[1] += stopped(ks_run_exe(P_BLOCK, "true", NULL));
		ks_run_exe(P_ALERT, "true", NULL);
		ks_run_exe(P_A, "true", NULL);
		expect[2] += stopped(ks_run_exe(P_B, "true", NULL));
		execs += 7;
	}
	ks_tenv_detach(&te);
	ASSERT_EQ(expect[0] + expect[1] + expect[2], 5 * ROUNDS, "every enforcing exec stopped");
	test__log("%d execs, each matching a rule, into a ring buffer of %u records\n", execs,
		  ring_capacity());
	ASSERT_GE(execs, 10 * ring_capacity(), "a burst of ten times the ring buffer");
	ks_tenv_stats(&te, &st);
	identity(&st, KS_SRC_EXEC, "exec");
	identity(&st, KS_SRC_FORK, "fork");
	identity(&st, KS_SRC_EXIT, "exit");
	ASSERT_GE(st.dropped[KS_SRC_EXEC][KS_DROP_RINGBUF_FULL], execs - ring_capacity(),
		  "what did not fit was dropped, counted");
	/* room again: what kload does next */
	ks_tenv_drain(&te, 10);
	ASSERT_EQ(te.n, st.forwarded[KS_SRC_EXEC] + st.forwarded[KS_SRC_FORK] +
		  st.forwarded[KS_SRC_EXIT], "every forwarded event arrived");
	alerts = ks_tenv_alerts(&te, ov_rules);
	if (ASSERT_OK_PTR(alerts, "alerts"))
		check_enforcements(&te, alerts, expect);
out:
	free(alerts);
	ks_tenv_close(&te);
}

static int replay_event(const char *exe, struct ks_event *ev)
{
	char js[512];

	snprintf(js, sizeof(js), "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"event\":"
		 "{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"pid\":7,"
		 "\"entity_id\":\"7-1\",\"executable\":\"%s\",\"parent\":{\"pid\":1,"
		 "\"entity_id\":\"1-1\"}}}", exe);
	return ks_tenv_event(js, ev);
}

static void burst_replay(void)
{
	struct ks_engine_opts o = { .replay = true, .mode = KS_MODE_SIGNAL,
				    .ringbuf_bytes = RINGBUF };
	static const char *const exes[7] = { P_KILL, P_KILL, P_KILL, P_BLOCK, P_ALERT, P_A, P_B };
	struct ks_event *evs = calloc(7 * ROUNDS, sizeof(*evs));
	struct ks_tenv te = {};
	struct ks_stats st;
	char *alerts = NULL;
	int i;

	if (!ASSERT_OK_PTR(evs, "memory") || !ASSERT_OK(ks_tenv_compile(&te, ov_rules), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load"))
		goto out;
	for (i = 0; i < 7 * ROUNDS; i++)
		if (!ASSERT_OK(replay_event(exes[i % 7], &evs[i]), "event"))
			goto out;
	/* test runs of up to KS_REPLAY_BATCH events, each over 4x what the ring holds */
	if (!ASSERT_OK(ks_tenv_replay(&te, evs, 7 * ROUNDS), "replay"))
		goto out;
	ASSERT_GE(KS_REPLAY_BATCH, 4 * ring_capacity(), "each batch overflows");
	ASSERT_GE(7 * ROUNDS, 10 * ring_capacity(), "a burst of ten times the ring buffer");
	ks_tenv_stats(&te, &st);
	identity(&st, KS_SRC_REPLAY, "replay");
	ASSERT_EQ(st.events[KS_SRC_REPLAY], 7 * ROUNDS, "every event counted");
	ASSERT_EQ(te.n, st.forwarded[KS_SRC_REPLAY], "every forwarded event arrived");
	alerts = ks_tenv_alerts(&te, ov_rules);
	if (ASSERT_OK_PTR(alerts, "alerts"))
		check_enforcements(&te, alerts, (const long long[N_ENF]){ 3 * ROUNDS, ROUNDS,
									  ROUNDS });
out:
	free(alerts);
	free(evs);
	ks_tenv_close(&te);
}

void test_overload(void)
{
	const char *paths[] = { P_KILL, P_BLOCK, P_ALERT, P_A, P_B };
	char buf[64];
	const char *src = ks_bin("true", buf, sizeof(buf));
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!ASSERT_OK(ks_copy_exe(src, paths[i]), "copy"))
			return;
	if (test__start_subtest("exec_signal"))
		burst_exec(KS_MODE_SIGNAL);
	if (test__start_subtest("exec_lsm"))
		burst_exec(KS_MODE_LSM);
	if (test__start_subtest("replay"))
		burst_replay();
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		unlink(paths[i]);
}
