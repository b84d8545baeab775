// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Batched replay gives what one event per BPF_PROG_TEST_RUN gives: the
 * same events, packed (struct ks_replay_ctx) many to a run, go through
 * ks_replay once one at a time and once in batches, each in a fresh
 * load, and every forwarded event (its fields and its verdict: matches,
 * completed sequences, the simulated enforcement) and the counters must
 * be equal. The input mixes short events with events whose strings fill
 * or overflow their slots, so batches end on the context's 64 KiB as
 * well as on KS_REPLAY_BATCH.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/replay.h"
#include "testutil.h"
#include "test_progs.h"

#define N_EVENTS	900

static const char rb_rules[] =
	"- rule: rb_tmp\n"
	"  name: exec from /tmp\n"
	"  severity: low\n"
	"  query: |\n"
	"    process where event.action == \"exec\" and process.executable : \"/tmp/*\"\n"
	"- rule: rb_args\n"
	"  name: an argument\n"
	"  severity: low\n"
	"  query: process where event.action == \"exec\" and process.args == \"--evil\"\n"
	"- rule: rb_kill\n"
	"  name: killed\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: process where event.action == \"exec\" and process.executable == \"/tmp/killme\"\n"
	"- rule: rb_seq\n"
	"  name: stage1 then a read under /etc\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: |\n"
	"    sequence by process.entity_id with maxspan=1h\n"
	"      [process where event.action == \"exec\" and process.name == \"stage1\"]\n"
	"      [file where event.action == \"open\" and file.path : \"/etc/*\"]\n";

/* A deterministic pseudo-random stream (xorshift). */
static unsigned int rnd(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (unsigned int)(*s >> 11);
}

/* "x" repeated n times after prefix, in buf (cap bytes). */
static const char *longstr(char *buf, size_t cap, const char *prefix, size_t n)
{
	size_t p = strlen(prefix);

	if (p + n + 1 > cap)
		n = cap - p - 1;
	memcpy(buf, prefix, p);
	memset(buf + p, 'x', n);
	buf[p + n] = 0;
	return buf;
}

static int make_event(unsigned int i, unsigned long long *s, struct ks_event *ev)
{
	static const char *const exes[] = { "/usr/bin/ls", "/tmp/a", "/tmp/killme",
					    "/opt/stage1", "/usr/sbin/sshd" };
	unsigned int pid = 100 + rnd(s) % 40, k = rnd(s) % 8;
	char js[4096], big[1200], exe[400];
	const char *path = exes[rnd(s) % 5];

	if (k == 7)	/* a cut executable and arguments past the slot */
		path = longstr(exe, sizeof(exe), "/tmp/deep/", 280 + rnd(s) % 40);
	if (i % 3 == 2)
		snprintf(js, sizeof(js), "{\"@timestamp\":\"2026-01-01T00:00:%02u.%06uZ\","
			 "\"event\":{\"category\":\"file\",\"action\":\"open\"},\"file\":{\"path\":"
			 "\"%s\"},\"process\":{\"pid\":%u,\"entity_id\":\"%u-5\"},\"user\":"
			 "{\"id\":%u}}", i / 60 % 60, i, k < 4 ? "/etc/passwd" : k == 7 ?
			 longstr(big, sizeof(big), "/var/", 300) : "/home/u/notes.txt", pid, pid, i);
	else
		snprintf(js, sizeof(js), "{\"@timestamp\":\"2026-01-01T00:00:%02u.%06uZ\","
			 "\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":"
			 "{\"pid\":%u,\"entity_id\":\"%u-5\",\"executable\":\"%s\",\"args\":[\"a\","
			 "\"%s\"],\"parent\":{\"pid\":1,\"entity_id\":\"1-1\",\"executable\":"
			 "\"/bin/bash\"}},\"user\":{\"id\":%u}}", i / 60 % 60, i, pid, pid, path,
			 k == 3 ? "--evil" : k >= 2 ? longstr(big, sizeof(big), "-", 100 * k)
			 : "-v", i);
	return ks_tenv_event(js, ev);
}

/*
 * a and b hold the same event: its bytes from `from` to `to` and every
 * string field's value. Forwarded events are compared from seq on: the
 * test sessions read ts_ns as boot time and move it to the epoch by an
 * offset measured at load, so the caller checks one offset for all.
 */
static bool same_event(const struct ks_event *a, const struct ks_event *b, size_t from,
		       size_t to)
{
	unsigned int f;

	if (memcmp((const char *)a + from, (const char *)b + from, to - from))
		return false;
	for (f = 1; f < KS_F_STR_N; f++)
		if (a->str[f].off && memcmp((const char *)a + a->str[f].off,
					    (const char *)b + b->str[f].off, a->str[f].len))
			return false;
	return true;
}

/* Forwarded events against each other (verdicts too) and against their input (user.id: index). */
static unsigned int differences(const struct ks_tenv *one, const struct ks_tenv *batch,
				const struct ks_event *in)
{
	size_t seq = offsetof(struct ks_event, seq), verdict = offsetof(struct ks_event, verdict);
	const struct ks_event *a, *b;
	unsigned int i, bad = 0;

	for (i = 0; i < one->n; i++) {
		a = &one->evs[i];
		b = &batch->evs[i];
		bad += !same_event(a, b, seq, KS_REPLAY_HEAD) ||
		       a->ts_ns - b->ts_ns != one->evs[0].ts_ns - batch->evs[0].ts_ns ||
		       b->uid >= N_EVENTS || !same_event(&in[b->uid], b, seq, verdict);
	}
	return bad;
}

static bool run(const struct ks_event *evs, unsigned int per_run, struct ks_tenv *te,
		struct ks_stats *st)
{
	struct ks_engine_opts o = { .replay = true, .mode = KS_MODE_SIGNAL };

	return ASSERT_OK(ks_tenv_compile(te, rb_rules), "compile") &&
	       ASSERT_OK(ks_tenv_load(te, &o), "load") &&
	       ASSERT_OK(ks_tenv_replay_n(te, evs, N_EVENTS, per_run), "replay") &&
	       ASSERT_OK(ks_tenv_stats(te, st), "stats");
}

/* What the per-event results say: matches, completions, kills. */
static void tally(const struct ks_tenv *te, unsigned int *match, unsigned int *done,
		  unsigned int *kill)
{
	size_t i, m;

	*match = *done = *kill = 0;
	for (i = 0; i < te->n; i++) {
		const struct ks_verdict *v = &te->evs[i].verdict;

		*match += v->n_match;
		*kill += v->action == KS_RA_KILL;
		for (m = 0; m < v->n_match && m < KS_MAX_MATCH; m++)
			*done += !!(v->match[m].flags & KS_M_COMPLETED);
	}
}

void test_replay_batch(void)
{
	struct ks_event *evs = calloc(N_EVENTS, sizeof(*evs));
	struct ks_tenv one = {}, batch = {};
	struct ks_stats s1, s2;
	unsigned long long seed = 0x9e3779b97f4a7c15ull;
	unsigned int i, match, done, kill;

	if (!ASSERT_OK_PTR(evs, "memory"))
		return;
	for (i = 0; i < N_EVENTS; i++)
		if (!ASSERT_OK(make_event(i, &seed, &evs[i]), "event"))
			goto out;
	if (!run(evs, 1, &one, &s1) || !run(evs, KS_REPLAY_BATCH, &batch, &s2))
		goto out;
	test__log("%u events: %lu test runs one at a time, %lu batched (%lu ended by the "
		  "context's size); %zu forwarded\n", N_EVENTS, one.test_runs, batch.test_runs,
		  batch.bytes_full, batch.n);
	ASSERT_EQ(one.test_runs, N_EVENTS, "one event per run");
	ASSERT_LT(batch.test_runs, N_EVENTS / 10, "many events per run");
	/* big events end batches before KS_REPLAY_BATCH does */
	ASSERT_GT(batch.bytes_full, 2, "some batches full by bytes");
	ASSERT_EQ(s2.events[KS_SRC_REPLAY], N_EVENTS, "every event evaluated");
	ASSERT_EQ(s2.events[KS_SRC_REPLAY], s1.events[KS_SRC_REPLAY], "events");
	ASSERT_EQ(s2.filtered[KS_SRC_REPLAY], s1.filtered[KS_SRC_REPLAY], "filtered");
	ASSERT_EQ(s2.forwarded[KS_SRC_REPLAY], s1.forwarded[KS_SRC_REPLAY], "forwarded");
	ASSERT_EQ(ks_stats_dropped(&s2, KS_SRC_REPLAY), 0, "nothing dropped");
	ASSERT_EQ(ks_stats_dropped(&s1, KS_SRC_REPLAY), 0, "nothing dropped, one at a time");
	ASSERT_EQ(s2.seq_completed, s1.seq_completed, "sequences completed");
	if (!ASSERT_EQ(batch.n, one.n, "as many forwarded events"))
		goto out;
	ASSERT_EQ(differences(&one, &batch, evs), 0,
		  "each forwarded event and its verdict equal, and equal to its input");
	tally(&batch, &match, &done, &kill);
	test__log("batched: %u matches, %u completed sequences, %u kills\n", match, done, kill);
	ASSERT_GT(batch.n, N_EVENTS / 4, "a good part forwarded");
	ASSERT_GT(done, 10, "kernel sequences completed");
	ASSERT_GT(kill, 10, "enforcements simulated");
out:
	ks_tenv_close(&one);
	ks_tenv_close(&batch);
	free(evs);
}
