// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Conformance of the userspace NFA (loader/pipeline.c, nfa.c) with EQL sequence
 * semantics: ordering, maxspan boundaries, entity isolation, interleaving,
 * newest-overwrites, until between and outside steps, runs, consumption,
 * and many entities; and with Elastic's sample semantics: filters in any
 * order, one event per filter, shared join keys, the window, the bound. Each event gets the verdict the kernel would give it
 * from the userspace model of the kernel's table walk (tablewalk.c), so
 * these tests exercise exactly what kload sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kestrel/ecs.h"
#include "kestrel/pipeline.h"
#include "kestrel/rules.h"
#include "kestrel/tablewalk.h"

struct nfa {
	struct ks_tables *t;
	struct ks_pipeline *p;
	struct ks_ecs_ctx ecs;
	struct ks_walk *w;
	struct ks_output *out;
};

static size_t nfa_max_entries;	/* 0: the pipeline's default */
static uint64_t nfa_max_bytes;	/* 0: the pipeline's default */

static void nfa_open(struct nfa *n, const char *query)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_compile_info info = {};
	struct ks_pipeline_opts po = {};
	char yaml[2048];

	snprintf(yaml, sizeof(yaml),
		 "- rule: seq\n  name: seq\n  severity: low\n  query: |\n    %s\n", query);
	assert_int_equal(ks_ruleset_load_string(rs, yaml, "<nfa>"), 0);
	n->t = calloc(1, sizeof(*n->t));
	n->w = calloc(1, sizeof(*n->w));
	assert_non_null(n->t);
	if (ks_diags_errors(&rs->diags))
		ks_diags_print(&rs->diags, stderr);
	assert_int_equal(ks_compile(rs, n->t, &info), 0);
	ks_compile_info_free(&info);
	n->t->hdr.generation = 1;
	ks_walk_init(n->w);
	ks_ecs_init(&n->ecs, "h1");
	n->out = ks_output_memory();
	po.alerts = n->out;
	po.max_entries = nfa_max_entries;
	po.max_bytes = nfa_max_bytes;
	n->p = ks_pipeline_new(&po, &n->ecs);
	assert_non_null(n->p);
	assert_int_equal(ks_pipeline_set_rules(n->p, rs, n->t), 0);
}

static void nfa_close(struct nfa *n)
{
	ks_pipeline_free(n->p);
	ks_ecs_free(&n->ecs);
	ks_output_close(n->out);
	free(n->t);
	free(n->w);
}

/* The verdict the kernel would attach: matched steps, latest step first. */
static void kernel_verdict(struct nfa *n, struct ks_event *ev)
{
	struct ks_verdict *vd = &ev->verdict;
	uint32_t i, j;

	memset(vd, 0, sizeof(*vd));
	vd->generation = n->t->hdr.generation;
	ks_walk_event(n->t, ev, n->w);
	for (i = 0; i < n->w->n_cands && vd->n_match < KS_MAX_MATCH; i++) {
		struct ks_match m = { .step = n->w->cands[i] };

		if (n->w->tv[i] == KS_TV_FALSE)
			continue;
		m.flags = n->w->tv[i] == KS_TV_TRUE ? KS_M_EXACT : 0;
		for (j = vd->n_match; j > 0 && vd->match[j - 1].step < m.step; j--)
			vd->match[j] = vd->match[j - 1];
		vd->match[j] = m;
		vd->n_match++;
	}
}

/* An event from JSON at base time + secs, with the kernel's verdict. */
static void decode(struct nfa *n, const char *js, double secs, struct ks_event *ev)
{
	char err[128];

	assert_int_equal(ks_ecs_decode_line(&n->ecs, js, strlen(js), ev, err, sizeof(err)), 0);
	ev->ts_ns += (uint64_t)(secs * 1e9);
	kernel_verdict(n, ev);
}

static int feed_json(struct nfa *n, const char *js, double secs)
{
	struct ks_event ev;
	int alerts;

	decode(n, js, secs, &ev);
	alerts = ks_pipeline_event(n->p, &ev);
	return alerts;
}

/* One process exec event as JSON: name, pid (entity "<pid>-1"). */
static void exec_json(char js[512], const char *name, int pid)
{
	snprintf(js, 512,
		 "{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"event\":{\"category\":\"process\","
		 "\"action\":\"exec\"},\"process\":{\"pid\":%d,\"entity_id\":\"%d-1\","
		 "\"name\":\"%s\",\"executable\":\"/usr/bin/%s\"}}", pid, pid, name, name);
}

/* One process exec event: name, pid (entity "<pid>-1"), time in seconds. */
static int feed(struct nfa *n, const char *name, int pid, double secs)
{
	char js[512];

	exec_json(js, name, pid);
	return feed_json(n, js, secs);
}

/* Feed the events of script, "name pid secs; ...": the alerts they raised. */
static int feed_script(struct nfa *n, const char *script)
{
	char name[32];
	int pid, total = 0, k;
	double t;
	const char *p = script;

	while (sscanf(p, " %31[^ ] %d %lf%n", name, &pid, &t, &k) == 3) {
		total += feed(n, name, pid, t);
		p += k;
		while (*p == ' ' || *p == ';')
			p++;
	}
	return total;
}

static int run(const char *query, const char *script)
{
	struct nfa n = {};
	int total;

	nfa_open(&n, query);
	total = feed_script(&n, script);
	nfa_close(&n);
	return total;
}

#define AB "sequence by process.entity_id with maxspan=10s " \
	"[process where process.name == \"a\"] [process where process.name == \"b\"]"

static void test_ordering(void **state)
{
	assert_int_equal(run(AB, "b 1 0; a 1 1"), 0);
	assert_int_equal(run(AB, "a 1 0; b 1 1"), 1);
	assert_int_equal(run(AB, "a 1 0; c 1 1; b 1 2"), 1);
}

static void test_maxspan_boundaries(void **state)
{
	assert_int_equal(run(AB, "a 1 0; b 1 10"), 1);		/* exactly maxspan */
	assert_int_equal(run(AB, "a 1 0; b 1 10.000001"), 0);	/* just past it */
	assert_int_equal(run(AB, "a 1 0; b 1 9.999"), 1);
}

static void test_entity_isolation(void **state)
{
	assert_int_equal(run(AB, "a 1 0; b 2 1"), 0);
	assert_int_equal(run(AB, "a 1 0; a 2 0; b 2 1"), 1);
}

static void test_interleaved(void **state)
{
	assert_int_equal(run(AB, "a 1 0; a 2 1; b 2 2; b 1 3"), 2);
	assert_int_equal(run(AB, "a 1 0; a 2 1; a 3 2; b 3 3; b 1 4; b 2 5"), 3);
}

static void test_newest_overwrites(void **state)
{
	struct nfa n = {};

	/* the second a replaces the first: its start time counts for maxspan */
	assert_int_equal(run(AB, "a 1 0; a 1 5; b 1 12"), 1);
	/* and the alert carries the newest a */
	nfa_open(&n, AB);
	feed(&n, "a", 7, 0);
	feed(&n, "a", 7, 5);
	assert_int_equal(feed(&n, "b", 7, 6), 1);
	assert_non_null(strstr(ks_output_text(n.out, NULL),
			       "\"@timestamp\":\"2026-01-01T00:00:05.000000000Z\""));
	assert_null(strstr(ks_output_text(n.out, NULL),
			   "\"@timestamp\":\"2026-01-01T00:00:00.000000000Z\""));
	nfa_close(&n);
}

#define UNTIL "sequence by process.entity_id " \
	"[process where process.name == \"a\"] [process where process.name == \"b\"] " \
	"until [process where process.name == \"c\"]"

static void test_until(void **state)
{
	assert_int_equal(run(UNTIL, "a 1 0; c 1 1; b 1 2"), 0);	/* between steps */
	assert_int_equal(run(UNTIL, "a 1 0; b 1 1; c 1 2"), 1);	/* after completion */
	assert_int_equal(run(UNTIL, "c 1 0; a 1 1; b 1 2"), 1);	/* before the first */
	assert_int_equal(run(UNTIL, "a 1 0; c 2 1; b 1 2"), 1);	/* other entity */
}

#define RUNS "sequence by process.entity_id " \
	"[process where process.name == \"a\"] with runs=3 [process where process.name == \"b\"]"

static void test_runs(void **state)
{
	assert_int_equal(run(RUNS, "a 1 0; a 1 1; b 1 2"), 0);
	assert_int_equal(run(RUNS, "a 1 0; a 1 1; a 1 2; b 1 3"), 1);
	assert_int_equal(run(RUNS, "a 1 0; a 1 1; a 2 2; b 1 3"), 0);
}

static void test_consumption(void **state)
{
	assert_int_equal(run(AB, "a 1 0; b 1 1; b 1 2"), 1);	/* A B B alerts once */
	assert_int_equal(run(AB, "a 1 0; b 1 1; a 1 2; b 1 3"), 2);
}

static void test_many_entities(void **state)
{
	struct nfa n = {};
	int i, alerts = 0;

	nfa_open(&n, AB);
	for (i = 1; i <= 5000; i++)
		feed(&n, "a", i, 0);
	for (i = 5000; i >= 1; i--)
		alerts += feed(&n, "b", i, 1);
	assert_int_equal(alerts, 5000);
	nfa_close(&n);
}

#define STREAM_N	3000

/*
 * The events of a stream over 200 entities: a, b or c (until) of a random
 * one, 0.25 s apart (maxspan 10 s: some pending sequences expire).
 */
static struct ks_event *stream_events(struct nfa *n)
{
	static const char *const names[] = { "a", "a", "b", "c" };
	struct ks_event *evs = calloc(STREAM_N, sizeof(*evs));
	uint32_t x = 12345, i;
	char js[512];

	assert_non_null(evs);
	for (i = 0; i < STREAM_N; i++) {
		x = x * 1103515245 + 12345;
		exec_json(js, names[(x >> 8) % 4], 1 + (x >> 12) % 200);
		decode(n, js, i * 0.25, &evs[i]);
	}
	return evs;
}

/*
 * The stream through a fresh pipeline: hint_ahead 0 gives no hints, 1 the
 * next event's (as kload's consumer does), more a misleading one. The
 * alerts' text and the stats into *text and *st.
 */
static void run_stream(const char *query, uint32_t hint_ahead, char **text,
		       struct ks_pipeline_stats *st)
{
	struct ks_event *evs;
	struct nfa n = {};
	const char *out;
	size_t len;
	uint32_t i;

	nfa_open(&n, query);
	evs = stream_events(&n);
	for (i = 0; i < STREAM_N; i++) {
		if (hint_ahead && i + hint_ahead < STREAM_N)
			ks_pipeline_prefetch(n.p, &evs[i + hint_ahead]);
		ks_pipeline_event(n.p, &evs[i]);
	}
	ks_pipeline_stats(n.p, st);
	out = ks_output_text(n.out, &len);
	*text = strndup(out, len);
	nfa_close(&n);
	free(evs);
}

/*
 * ks_pipeline_prefetch() is a hint: with it (the next event's, or another
 * one's) the alerts are byte for byte those without it, and so are the
 * counts (it keeps a key's hash for the event's own step: never another
 * key's).
 */
static void test_prefetch_hint(void **state)
{
	static const char *const queries[] = {
		AB " until [process where process.name == \"c\"]",
		"sequence with maxspan=10s [process where process.name == \"a\"] by process.pid "
		"[process where process.name == \"b\"] by process.pid",
	};
	struct ks_pipeline_stats st0, st;
	char *t0, *t;
	uint32_t q, ahead;

	for (q = 0; q < 2; q++) {
		run_stream(queries[q], 0, &t0, &st0);
		assert_true(st0.alerts > 20 && st0.expired > 0);
		for (ahead = 1; ahead <= 7; ahead += 6) {
			run_stream(queries[q], ahead, &t, &st);
			assert_string_equal(t, t0);
			assert_int_equal(st.alerts, st0.alerts);
			assert_int_equal(st.pending, st0.pending);
			assert_int_equal(st.expired, st0.expired);
			assert_int_equal(st.step_matches, st0.step_matches);
			free(t);
		}
		free(t0);
	}
}

/*
 * With room for 100 keys, the first events of 150 evict the 50 least
 * recently used, counted; the second events complete the other 100.
 * Those come newest first: in a sample, where any filter starts a key,
 * an evicted key's event starts a new one and would evict in turn.
 */
static void check_evictions(const char *query, const char *first, const char *second)
{
	struct ks_pipeline_stats st;
	struct nfa n = {};
	int i, alerts = 0;

	nfa_max_entries = 100;
	nfa_open(&n, query);
	for (i = 1; i <= 150; i++)
		feed(&n, first, i, 0);
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.pending, 100);
	assert_int_equal(st.evictions, 50);
	for (i = 150; i >= 1; i--)
		alerts += feed(&n, second, i, 1);
	assert_int_equal(alerts, 100);		/* the 50 oldest were evicted */
	nfa_close(&n);
	nfa_max_entries = 0;
}

/* The NFA is bounded: the least recently used pending sequence goes, counted. */
static void test_bounded_evictions(void **state)
{
	check_evictions(AB, "a", "b");
}

/*
 * Evictions after the table doubled (in place, in the room mapped for
 * it: the LRU links follow the entries): of 4,000 keys with room for
 * 3,000, the 1,000 first are the ones evicted.
 */
static void test_grown_evictions(void **state)
{
	struct ks_pipeline_stats st;
	struct nfa n = {};
	int i, old = 0, kept = 0;

	nfa_max_entries = 3000;
	nfa_open(&n, AB);
	for (i = 1; i <= 4000; i++)
		feed(&n, "a", i, 0);
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.pending, 3000);
	assert_int_equal(st.evictions, 1000);
	for (i = 1; i <= 4000; i++) {
		if (i <= 1000)
			old += feed(&n, "b", i, 1);
		else
			kept += feed(&n, "b", i, 1);
	}
	assert_int_equal(old, 0);
	assert_int_equal(kept, 3000);
	nfa_close(&n);
	nfa_max_entries = 0;
}

/* Expiry runs on a timer: pending sequences past maxspan go without new events. */
static void test_tick_expiry(void **state)
{
	struct ks_pipeline_stats st;
	struct nfa n = {};

	nfa_open(&n, AB);
	feed(&n, "a", 1, 0);
	feed(&n, "a", 2, 8);
	/* 1767225600 = 2026-01-01T00:00:00Z, the events' base time */
	ks_pipeline_tick(n.p, 1767225600ull * 1000000000ull + 15000000000ull);
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.expired, 1);	/* entity 1 started at 0 s, maxspan 10 s */
	assert_int_equal(st.pending, 1);
	nfa_close(&n);
}

static void test_single_event_query(void **state)
{
	assert_int_equal(run("process where process.name : \"A*\"", "a 1 0; b 1 1; abc 2 2"), 2);
}

/*
 * Join keys are whole values compared whole. Here the values together are
 * longer than a 512-byte key buffer and differ only at their end; and
 * values that a separator byte could shift from one field into the next.
 */
#define BY3 "sequence by process.executable, process.parent.executable, " \
	"process.command_line with maxspan=10s " \
	"[process where user.id == 1] [process where user.id == 2]"

static int feed_exe(struct nfa *n, int uid, const char *exe, const char *pexe,
		    const char *args, double secs)
{
	char js[2048];

	snprintf(js, sizeof(js),
		 "{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"event\":{\"category\":\"process\","
		 "\"action\":\"exec\"},\"user\":{\"id\":%d},\"process\":{\"pid\":9,"
		 "\"executable\":\"%s\",\"args\":[%s],\"parent\":{\"pid\":1,"
		 "\"executable\":\"%s\"}}}", uid, exe, args, pexe);
	return feed_json(n, js, secs);
}

static void test_whole_join_keys(void **state)
{
	char exe[256], pexe[256], a1[300], a2[300];
	struct nfa n = {};

	memset(exe, 'e', sizeof(exe));
	memset(pexe, 'p', sizeof(pexe));
	exe[0] = pexe[0] = '/';
	exe[250] = pexe[250] = 0;
	snprintf(a1, sizeof(a1), "\"%0200d1\"", 0);
	snprintf(a2, sizeof(a2), "\"%0200d2\"", 0);
	nfa_open(&n, BY3);
	feed_exe(&n, 1, exe, pexe, a1, 0);
	assert_int_equal(feed_exe(&n, 2, exe, pexe, a2, 1), 0);	/* the last byte differs */
	assert_int_equal(feed_exe(&n, 2, exe, pexe, a1, 2), 1);
	nfa_close(&n);

	/* "/x\x1f/y" + "/z" is not "/x" + "/y\x1f/z" */
	nfa_open(&n, "sequence by process.parent.executable, process.executable with maxspan=10s "
		 "[process where user.id == 1] [process where user.id == 2]");
	feed_exe(&n, 1, "/z", "/x\\u001f/y", "\"z\"", 0);
	assert_int_equal(feed_exe(&n, 2, "/y\\u001f/z", "/x", "\"z\"", 1), 0);
	nfa_close(&n);

	/* the command line reads arguments joined by spaces: ["a b"] is ["a", "b"] */
	nfa_open(&n, "sequence by process.command_line with maxspan=10s "
		 "[process where user.id == 1] [process where user.id == 2]");
	feed_exe(&n, 1, "/a", "/p", "\"a b\"", 0);
	assert_int_equal(feed_exe(&n, 2, "/b", "/p", "\"a\",\"b\"", 1), 1);
	nfa_close(&n);
}

/* Event JSONL through the decoder, which keeps the enriched values of each record. */
struct jsonl_run {
	struct nfa *n;
	int alerts;
};

static int jsonl_event(void *arg, struct ks_event *ev, unsigned long line)
{
	struct jsonl_run *r = arg;

	kernel_verdict(r->n, ev);
	r->alerts += ks_pipeline_event(r->n->p, ev);
	return 0;
}

/*
 * One exec of name at second secs by user (a passwd name, NULL: none) in
 * directory cwd (NULL: none), child of pid 1 ("/sbin/init" unless
 * orphan). Returns the alerts it raised.
 */
static int feed_user(struct nfa *n, int secs, const char *name, const char *user,
		     const char *cwd, bool orphan)
{
	struct jsonl_run r = { .n = n };
	unsigned long skipped = 0;
	char js[16384], u[64] = "", d[10240] = "";
	FILE *f;

	if (user)
		snprintf(u, sizeof(u), ",\"name\":\"%s\"", user);
	if (cwd)
		snprintf(d, sizeof(d), ",\"working_directory\":\"%s\"", cwd);
	snprintf(js, sizeof(js),
		 "{\"@timestamp\":\"2026-01-01T00:00:%02dZ\",\"event\":{\"category\":\"process\","
		 "\"action\":\"exec\"},\"user\":{\"id\":1000%s},\"process\":{\"pid\":%d,"
		 "\"entity_id\":\"%d-1\",\"name\":\"%s\",\"executable\":\"/usr/bin/%s\"%s%s}}\n",
		 secs, u, 100 + secs, 100 + secs, name, name, d,
		 orphan ? "" : ",\"parent\":{\"pid\":1,\"executable\":\"/sbin/init\"}");
	f = fmemopen(js, strlen(js), "r");
	assert_non_null(f);
	assert_int_equal(ks_ecs_read_jsonl(f, "<nfa>", jsonl_event, &r, &n->ecs, &skipped,
					   stderr), 0);
	fclose(f);
	assert_int_equal(skipped, 0);
	return r.alerts;
}

#define BY_USER "sequence by user.name, process.working_directory with maxspan=10s " \
	"[process where process.name == \"a\"] [process where process.name == \"b\"]"

/*
 * Fields only kload reads (user.name, process.working_directory) join as
 * kernel fields do: on the value a test reads (here the record's); an
 * event whose key is null takes no part in the step, as one whose
 * process.parent.executable is null (test_null_join_keys).
 */
static void test_userspace_join_keys(void **state)
{
	static char longdir[KS_ECS_UBUF + 1000];
	struct nfa n = {};

	nfa_open(&n, BY_USER);
	assert_int_equal(feed_user(&n, 0, "a", "alice", "/x", false), 0);
	assert_int_equal(feed_user(&n, 1, "b", "bob", "/x", false), 0);	/* another user */
	assert_int_equal(feed_user(&n, 2, "b", "alice", "/y", false), 0);	/* another cwd */
	assert_int_equal(feed_user(&n, 3, "b", "alice", "/x", false), 1);
	assert_non_null(strstr(ks_output_text(n.out, NULL),
			       "\"join\":{\"process.working_directory\":\"/x\","
			       "\"user.name\":\"alice\"}"));
	/* the state was consumed: a second b has nothing to complete */
	assert_int_equal(feed_user(&n, 4, "b", "alice", "/x", false), 0);

	/* null (was: joins a null; Elastic joins no null key that is not ?optional) */
	assert_int_equal(feed_user(&n, 5, "a", "alice", NULL, false), 0);
	assert_int_equal(feed_user(&n, 6, "b", "alice", "/x", false), 0);
	assert_int_equal(feed_user(&n, 7, "b", "alice", NULL, false), 0);
	assert_int_equal(feed_user(&n, 8, "a", NULL, "/x", false), 0);
	assert_int_equal(feed_user(&n, 9, "b", "root", "/x", false), 0);
	assert_int_equal(feed_user(&n, 10, "b", NULL, "/x", false), 0);
	nfa_close(&n);

	/*
	 * Values longer than kload reads live (a replayed record's): keyed on
	 * their first KS_ECS_UBUF bytes, within the key's bounds (ASan checks).
	 */
	nfa_open(&n, BY_USER);
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = 0;
	assert_int_equal(feed_user(&n, 0, "a", "alice", longdir, false), 0);
	assert_int_equal(feed_user(&n, 1, "b", "alice", "/x", false), 0);
	assert_int_equal(feed_user(&n, 2, "b", "alice", longdir, false), 1);
	nfa_close(&n);

	/* per-step keys: the table's order, the query's `by` then the step's */
	nfa_open(&n, "sequence by user.name with maxspan=10s "
		 "[process where process.name == \"a\"] by process.working_directory "
		 "[process where process.name == \"b\"] by process.working_directory");
	assert_int_equal(feed_user(&n, 0, "a", "alice", "/x", false), 0);
	assert_int_equal(feed_user(&n, 1, "b", "alice", "/y", false), 0);
	assert_int_equal(feed_user(&n, 2, "b", "alice", "/x", false), 1);
	nfa_close(&n);
}

/* An exec of name by pid in the session (and entry) whose leader is leader. */
static int feed_session(struct nfa *n, const char *name, int pid, const char *leader,
			double secs)
{
	char js[640];

	snprintf(js, sizeof(js),
		 "{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"event\":{\"category\":\"process\","
		 "\"action\":\"exec\"},\"process\":{\"pid\":%d,\"entity_id\":\"%d-1\","
		 "\"name\":\"%s\",\"session_leader\":{\"entity_id\":\"%s\"},"
		 "\"entry_leader\":{\"entity_id\":\"%s\"}}}", pid, pid, name, leader, leader);
	return feed_json(n, js, secs);
}

/*
 * Elastic's joins by a leader's entity id: two processes of one session
 * (one leader, the kernel's pid-start key of it, or a record's opaque id)
 * join; a process of another session does not, nor one whose session id
 * was reused by a later leader (same pid, another start).
 */
static void test_leader_joins(void **state)
{
	static const char *const by[] = { "process.session_leader.entity_id",
					  "process.entry_leader.entity_id" };
	char q[512];
	struct nfa n = {};
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(q, sizeof(q), "sequence by %s with maxspan=10s "
			 "[process where process.name == \"gdb\"] "
			 "[process where process.name == \"sudo\"]", by[i]);
		nfa_open(&n, q);
		feed_session(&n, "gdb", 20, "5-100", 0);
		assert_int_equal(feed_session(&n, "sudo", 21, "6-100", 1), 0);
		assert_int_equal(feed_session(&n, "sudo", 22, "5-200", 2), 0);
		assert_int_equal(feed_session(&n, "sudo", 23, "5-100", 3), 1);
		feed_session(&n, "gdb", 24, "c2Vzc2lvbg==", 4);
		assert_int_equal(feed_session(&n, "sudo", 25, "c2Vzc2lvbh==", 5), 0);
		assert_int_equal(feed_session(&n, "sudo", 26, "c2Vzc2lvbg==", 6), 1);
		nfa_close(&n);
	}
}

/* Steps the NFA left out for a null join key. */
static uint64_t null_steps(struct nfa *n)
{
	struct ks_pipeline_stats st;

	ks_pipeline_stats(n->p, &st);
	return st.join_null;
}

#define PARENT_AB(by) "sequence by " by " with maxspan=10s " \
	"[process where process.name == \"a\"] [process where process.name == \"b\"]"

/* One feed_user() event of a script and the alerts it must raise. */
struct user_ev {
	const char *name, *user, *cwd;
	bool orphan;
	int alerts;
};

/* The events of script (at seconds 0, 1, ...) under query; then the null steps. */
static uint64_t run_user(const char *query, const struct user_ev *script, int n)
{
	struct nfa nf = {};
	uint64_t nulls;
	int i;

	nfa_open(&nf, query);
	for (i = 0; i < n; i++)
		assert_int_equal(feed_user(&nf, i, script[i].name, script[i].user,
					   script[i].cwd, script[i].orphan), script[i].alerts);
	nulls = null_steps(&nf);
	nfa_close(&nf);
	return nulls;
}

/*
 * Elastic EQL (elastic/elasticsearch#79677): an event whose join key is
 * null takes no part in the step (it neither starts nor advances a
 * sequence, nor cuts one as `until`) unless the key is written ?name,
 * which may be null and then joins null. Orphans (feed_user's last
 * argument) have a null process.parent.executable, a kernel field.
 */
static void test_null_join_keys(void **state)
{
	/* non-optional: null never joins null (it did before: a meaning change);
	 * present keys as before, and a null b between does not consume the a */
	static const struct user_ev plain[] = {
		{ "a", "alice", "/x", true, 0 }, { "b", "alice", "/x", true, 0 },
		{ "a", "alice", "/x", false, 0 }, { "b", "alice", "/x", true, 0 },
		{ "b", "alice", "/x", false, 1 },
	};
	/* ?optional: null joins null, not a value */
	static const struct user_ev opt[] = {
		{ "a", "alice", "/x", true, 0 }, { "b", "alice", "/x", false, 0 },
		{ "b", "alice", "/x", true, 1 }, { "a", "alice", "/x", false, 0 },
		{ "b", "alice", "/x", false, 1 },
	};
	/* per key: a null ?user.name joins, a null working directory does not */
	static const struct user_ev mixed[] = {
		{ "a", NULL, "/x", false, 0 }, { "b", NULL, "/x", false, 1 },
		{ "a", NULL, NULL, false, 0 }, { "b", NULL, NULL, false, 0 },
	};
	static const struct user_ev orphans[] = {
		{ "a", "alice", "/x", true, 0 }, { "b", "alice", "/x", true, 1 },
	};
	/* a step's own `by`: the bit of the step's key, after the query's */
	static const struct user_ev step[] = {
		{ "a", "alice", "/x", true, 0 }, { "b", "alice", "/x", true, 1 },
		{ "a", NULL, "/x", true, 0 }, { "b", NULL, "/x", true, 0 },
	};

	assert_int_equal(run_user(PARENT_AB("process.parent.executable"), plain, 5), 3);
	assert_int_equal(run_user(PARENT_AB("?process.parent.executable"), opt, 5), 0);
	assert_int_equal(run_user(PARENT_AB("?user.name, process.working_directory"),
				  mixed, 4), 2);
	assert_int_equal(run_user("sequence by user.name with maxspan=10s "
				  "[process where process.name == \"a\"] by "
				  "?process.parent.executable [process where process.name == "
				  "\"b\"] by ?process.parent.executable", step, 4), 2);
	/* samples alike: orphans' a and b fill one only by a ?key */
	assert_int_equal(run_user("sample by process.parent.executable "
				  "[process where process.name == \"a\"] "
				  "[process where process.name == \"b\"]", plain, 2), 2);
	assert_int_equal(run_user("sample by ?process.parent.executable "
				  "[process where process.name == \"a\"] "
				  "[process where process.name == \"b\"]", orphans, 2), 0);
}

#define UNTIL_PARENT(by) "sequence by " by " [process where process.name == \"a\"] " \
	"[process where process.name == \"b\"] until [process where process.name == \"c\"]"

/*
 * `until` whose key is null cuts nothing; with a ?optional key it cuts
 * the null one (the last a and b then complete only without it).
 */
static void test_null_join_until(void **state)
{
	struct user_ev ev[] = {
		{ "a", "alice", "/x", false, 0 }, { "a", "alice", "/x", true, 0 },
		{ "c", "alice", "/x", true, 0 }, { "b", "alice", "/x", true, 0 },
		{ "b", "alice", "/x", false, 1 }, { "a", "alice", "/x", true, 0 },
		{ "b", "alice", "/x", true, 0 },
	};

	assert_int_equal(run_user(UNTIL_PARENT("process.parent.executable"), ev, 7), 5);
	ev[6].alerts = 1;	/* the null ?key's a and b, c having cut the first a */
	assert_int_equal(run_user(UNTIL_PARENT("?process.parent.executable"), ev, 7), 0);
}

/* --nfa-memory: the NFA stays within its bytes, evicting the oldest, counted. */
static void test_memory_bound(void **state)
{
	struct ks_pipeline_stats st;
	struct nfa n = {};
	int i, alerts = 0;

	nfa_max_bytes = 64 << 10;
	nfa_open(&n, AB);
	for (i = 1; i <= 1000; i++) {
		feed(&n, "a", i, 0);
		ks_pipeline_stats(n.p, &st);
		assert_true(st.bytes <= nfa_max_bytes);
	}
	assert_true(st.evict_memory > 0);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.pending + st.evict_memory, 1000);
	/* the newest survived and complete */
	for (i = 1000; i > 1000 - (int)st.pending; i--)
		alerts += feed(&n, "b", i, 1);
	assert_int_equal(alerts, st.pending);
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.bytes, 0);		/* every byte counted in is counted out */
	nfa_close(&n);
	nfa_max_bytes = 0;
}

/* The kernel says it completed the rule (and may have enforced): alert, even alone. */
static void test_kernel_completed(void **state)
{
	struct ks_event ev;
	struct nfa n = {};
	uint32_t i;

	nfa_open(&n, AB);
	decode(&n, "{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"event\":{\"category\":"
		   "\"process\",\"action\":\"exec\"},\"process\":{\"pid\":3,\"entity_id\":"
		   "\"3-1\",\"name\":\"b\",\"executable\":\"/usr/bin/b\"}}", 1, &ev);
	assert_int_equal(ks_pipeline_event(n.p, &ev), 0);	/* no a: nothing */
	for (i = 0; i < ev.verdict.n_match; i++)
		ev.verdict.match[i].flags |= KS_M_COMPLETED;
	ev.verdict.flags |= KS_V_KILLED;
	assert_int_equal(ks_pipeline_event(n.p, &ev), 1);
	assert_non_null(strstr(ks_output_text(n.out, NULL), "\"outcome\":\"killed\""));
	nfa_close(&n);
}

/* Events the ring buffer lost, with the kernel's verdict: alerts that say so. */
static void test_lost_enforcement(void **state)
{
	struct ks_pipeline_stats st;
	struct ks_event ev;
	struct nfa n = {};

	nfa_open(&n, AB);
	feed(&n, "a", 4, 0);
	decode(&n, "{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"event\":{\"category\":"
		   "\"process\",\"action\":\"exec\"},\"process\":{\"pid\":4,\"entity_id\":"
		   "\"4-1\",\"name\":\"b\",\"executable\":\"/usr/bin/b\"}}", 1, &ev);
	ev.verdict.flags |= KS_V_LOST | KS_V_KILLED;
	ev.verdict.enforced_uid = n.t->rules[0].uid;
	assert_int_equal(ks_pipeline_lost_event(n.p, &ev), 1);
	/* both steps' events: the NFA had the first */
	assert_non_null(strstr(ks_output_text(n.out, NULL), "\"message\":\"enforced, event lost\""));
	assert_non_null(strstr(ks_output_text(n.out, NULL), "\"name\":\"a\""));
	assert_non_null(strstr(ks_output_text(n.out, NULL), "\"event_lost\":true"));
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.pending, 0);	/* consumed, as in the kernel */
	/* a count of them, when not even the event was kept */
	assert_int_equal(ks_pipeline_lost_count(n.p, n.t->rules[0].uid, 3, ev.ts_ns,
						KS_MODE_SIGNAL), 1);
	assert_non_null(strstr(ks_output_text(n.out, NULL), "\"lost_events\":3"));
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.lost_alerts, 2);
	assert_int_equal(ks_pipeline_lost_count(n.p, 12345, 1, ev.ts_ns, KS_MODE_SIGNAL), 0);
	nfa_close(&n);
}

/*
 * already_running events (ks_pipeline_user_event): decided in userspace,
 * only by the steps that name them; a sequence begun on one finishes on
 * the kernel's later event of the same entity.
 */
static void test_already_running(void **state)
{
	static const char running[] =
		"{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"event\":{\"category\":\"process\","
		"\"action\":\"already_running\"},\"process\":{\"pid\":7,\"entity_id\":\"7-1\","
		"\"name\":\"a\",\"executable\":\"/usr/bin/a\"}}";
	struct nfa n = {};
	struct ks_event ev;
	char err[128];

	nfa_open(&n, "sequence by process.entity_id [process where event.type == \"info\" and "
		     "process.name == \"a\"] [process where process.name == \"b\"]");
	assert_true(ks_pipeline_wants_running(n.p));
	assert_int_equal(ks_ecs_decode_line(&n.ecs, running, strlen(running), &ev, err,
					    sizeof(err)), 0);
	ev.verdict.generation = 99;	/* the pipeline sets it: the kernel never saw it */
	assert_int_equal(ks_pipeline_user_event(n.p, &ev), 0);
	assert_int_equal(ev.verdict.generation, 1);
	assert_int_equal(feed(&n, "b", 7, 1), 1);
	nfa_close(&n);

	/* a rule that does not name already_running does not see them */
	nfa_open(&n, "process where process.name == \"a\"");
	assert_false(ks_pipeline_wants_running(n.p));
	assert_int_equal(ks_ecs_decode_line(&n.ecs, running, strlen(running), &ev, err,
					    sizeof(err)), 0);
	assert_int_equal(ks_pipeline_user_event(n.p, &ev), 0);
	nfa_close(&n);
	/* and one that does, alone, alerts on it */
	nfa_open(&n, "process where event.action == \"already_running\" and process.name == \"a\"");
	assert_int_equal(ks_ecs_decode_line(&n.ecs, running, strlen(running), &ev, err,
					    sizeof(err)), 0);
	assert_int_equal(ks_pipeline_user_event(n.p, &ev), 1);
	nfa_close(&n);
}

#define SAB "sample by process.pid " \
	"[process where process.name == \"a\"] [process where process.name == \"b\"]"
/* "ab" matches both filters: one event per filter, so it fills one */
#define SAB2 "sample by process.pid " \
	"[process where process.name : \"a*\"] [process where process.name : \"*b\"]"
#define SABC "sample by process.pid [process where process.name : \"a*\"] " \
	"[process where process.name : \"*b\"] [process where process.name == \"c\"]"

/* Event scripts ("name pid secs; ...") and the alerts a sample rule raises on them. */
static const struct {
	const char *query, *script;
	int alerts;
} sample_scripts[] = {
	/* the filters in any order, the events sharing the join key */
	{ SAB, "a 1 0; b 1 1", 1 },
	{ SAB, "b 1 0; a 1 1", 1 },
	{ SAB, "b 1 0; c 1 1; a 1 2", 1 },
	{ SAB, "a 1 0; a 1 1", 0 },		/* one filter twice */
	{ SAB, "a 1 0; a 2 1; b 2 2; b 1 3", 2 },
	/* key mismatch */
	{ SAB, "a 1 0; b 2 1", 0 },
	{ SAB, "b 2 0; a 1 1; a 3 2", 0 },
	{ SAB, "a 1 0; b 2 1; b 1 2", 1 },
	/*
	 * One event per filter, however many it matches. "ab" then "ax" is a
	 * sample (ax for the first filter, ab for the second) that giving ab
	 * the first filter, where it came first, would miss.
	 */
	{ SAB2, "ab 1 0", 0 },
	{ SAB2, "ab 1 0; ab 1 1", 1 },
	{ SAB2, "ab 1 0; ax 1 1", 1 },
	{ SAB2, "ab 1 0; xb 1 1", 1 },
	{ SAB2, "ax 1 0; ay 1 1; az 1 2", 0 },
	/* the older "ab"s are dropped (3 kept per filter): c still finds two */
	{ SABC, "ab 1 0; ab 1 1; ab 1 2; ab 1 3; ab 1 4; c 1 5", 1 },
	/* a completed sample frees its key: the next one needs new events */
	{ SAB, "a 1 0; b 1 1; b 1 2", 1 },
	{ SAB, "a 1 0; b 1 1; a 1 2; b 1 3", 2 },
	{ SAB, "a 1 0; a 1 1; b 1 2; b 1 3", 1 },
	/* the window: within KS_SAMPLE_WINDOW_NS (9 min) of each other */
	{ SAB, "a 1 0; b 1 540", 1 },
	{ SAB, "b 1 0; a 1 540", 1 },
	{ SAB, "a 1 0; b 1 540.001", 0 },
	{ SAB, "b 1 0; a 1 540.001", 0 },
	{ SAB, "a 1 0; a 1 300; b 1 600", 1 },	/* the newer a */
	{ SAB, "b 1 500; a 1 0", 1 },		/* out of order, within it */
	{ SAB, "b 1 600; a 1 0", 0 },		/* out of order, beyond it */
	{ SABC, "c 1 0; ab 1 300; ab 1 600", 0 },	/* 0 and 600 are 10 min apart */
	{ SABC, "c 1 100; ab 1 300; ab 1 600", 1 },
};

static void test_sample_scripts(void **state)
{
	size_t i;
	int got;

	for (i = 0; i < sizeof(sample_scripts) / sizeof(sample_scripts[0]); i++) {
		got = run(sample_scripts[i].query, sample_scripts[i].script);
		if (got != sample_scripts[i].alerts)
			fail_msg("%s\n  on \"%s\": %d alerts, want %d", sample_scripts[i].query,
				 sample_scripts[i].script, got, sample_scripts[i].alerts);
	}
}

/*
 * The events are listed in the order of the filters they match; the
 * alert's time is the completing event's.
 */
static void test_sample_filter_order(void **state)
{
	const char *head = "{\"@timestamp\":\"2026-01-01T00:00:01.000000000Z\"";
	struct nfa n = {};
	const char *text;

	nfa_open(&n, SAB);
	feed(&n, "b", 7, 0);
	assert_int_equal(feed(&n, "a", 7, 1), 1);
	text = ks_output_text(n.out, NULL);
	assert_memory_equal(text, head, strlen(head));
	assert_in_range(strstr(text, "\"executable\":\"/usr/bin/a\"") - text, 1,
			strstr(text, "\"executable\":\"/usr/bin/b\"") - text - 1);
	nfa_close(&n);
}

/* What a completed sample and an expired one leave: nothing, every byte counted out. */
static void test_sample_state(void **state)
{
	struct ks_pipeline_stats st;
	struct nfa n = {};

	nfa_open(&n, SAB);
	assert_int_equal(feed_script(&n, "a 1 0; a 1 1; b 1 2"), 1);
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.bytes, 0);
	/* the timer frees a key once its newest candidate is past the window */
	feed_script(&n, "a 1 0; a 2 0; a 2 500");
	ks_pipeline_tick(n.p, 1767225600ull * 1000000000ull + 600000000000ull);
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.pending, 1);
	/* key 2's a at 0 s goes with its next event; the one at 500 s completes */
	assert_int_equal(feed(&n, "b", 2, 600), 1);
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.expired, 2);
	assert_int_equal(st.bytes, 0);
	nfa_close(&n);
}

/*
 * The bound: a key keeps at most n events per filter (n filters), and
 * the keys are bounded like sequences, the least recently used evicted
 * and counted.
 */
static void test_sample_bounds(void **state)
{
	struct ks_pipeline_stats st;
	uint64_t bytes;
	struct nfa n = {};
	int i;

	nfa_open(&n, SAB);
	feed_script(&n, "a 1 0; a 1 1");
	ks_pipeline_stats(n.p, &st);
	bytes = st.bytes;
	for (i = 2; i < 50; i++)
		feed(&n, "a", 1, i);
	ks_pipeline_stats(n.p, &st);
	assert_int_equal(st.bytes, bytes);	/* two a's kept, no more */
	assert_int_equal(st.pending, 1);
	nfa_close(&n);
	check_evictions(SAB, "b", "a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ordering),
		cmocka_unit_test(test_maxspan_boundaries),
		cmocka_unit_test(test_entity_isolation),
		cmocka_unit_test(test_leader_joins),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_newest_overwrites),
		cmocka_unit_test(test_until),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_consumption),
		cmocka_unit_test(test_many_entities),
		cmocka_unit_test(test_prefetch_hint),
		cmocka_unit_test(test_single_event_query),
		cmocka_unit_test(test_bounded_evictions),
		cmocka_unit_test(test_grown_evictions),
		cmocka_unit_test(test_tick_expiry),
		cmocka_unit_test(test_whole_join_keys),
		cmocka_unit_test(test_userspace_join_keys),
		cmocka_unit_test(test_null_join_keys),
		cmocka_unit_test(test_null_join_until),
		cmocka_unit_test(test_memory_bound),
		cmocka_unit_test(test_kernel_completed),
		cmocka_unit_test(test_lost_enforcement),
		cmocka_unit_test(test_already_running),
		cmocka_unit_test(test_sample_scripts),
		cmocka_unit_test(test_sample_filter_order),
		cmocka_unit_test(test_sample_state),
		cmocka_unit_test(test_sample_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
