// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Replay through the production BPF evaluator (BPF_PROG_TEST_RUN of
 * ks_replay) and pipeline:
 *
 *  fixtures       every shipped rule's positive fixture alerts for that
 *                 rule, its negative fixture does not
 *  deterministic  the same input gives byte-identical alerts twice
 *  malformed      bad lines are counted and skipped, good ones still run
 *  threads        with a runner thread making the test runs (--threads 2)
 *                 and without, the same alerts, the same diagnostics (same
 *                 lines, same order) and the same counts, over every
 *                 fixture three times with bad lines among them (batches
 *                 of 128 and the 64 KiB context: many runs)
 *  elastic_toml   an Elastic detection-rules .toml rule alerts with what a
 *                 SIEM reads: rule.uuid, description, reference, threat.*,
 *                 event.risk_score, ecs.version
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kestrel/replay.h"
#include "testutil.h"
#include "test_progs.h"

/* The shipped rules: ./rules from the repository, /rules in the VM image. */
static const char *rules_dir(void)
{
	const char *d = getenv("KS_RULES_DIR");

	if (d)
		return d;
	return access("rules/tests", F_OK) && !access("/rules/tests", F_OK) ? "/rules" : "rules";
}

/* A replayer over rs, which it takes over (freed here on failure). */
static struct ks_replay *open_ruleset_with(struct ks_ruleset *rs, int threads, FILE *errout)
{
	struct ks_replay_opts o = { .mode = KS_MODE_SIGNAL, .errout = errout,
				    .threads = threads };
	struct ks_compile_info info = {};
	struct ks_tables *t = calloc(1, sizeof(*t));

	if (ks_diags_errors(&rs->diags) || ks_compile(rs, t, &info)) {
		ks_diags_print(&rs->diags, stderr);
		ks_ruleset_free(rs);
		free(t);
		return NULL;
	}
	ks_compile_info_free(&info);
	return ks_replay_open(rs, t, &o);
}

static struct ks_replay *open_ruleset(struct ks_ruleset *rs)
{
	return open_ruleset_with(rs, 0, stderr);
}

static struct ks_replay *open_rules_with(int threads, FILE *errout)
{
	struct ks_ruleset *rs = ks_ruleset_new();

	ks_ruleset_load_path(rs, rules_dir());
	return open_ruleset_with(rs, threads, errout);
}

static struct ks_replay *open_rules(void)
{
	return open_rules_with(0, stderr);
}

/* Alerts of replaying path, as text (malloc'd). */
static char *replay(struct ks_replay *r, const char *path, struct ks_replay_result *res)
{
	struct ks_output *out = ks_output_memory();
	char *text = NULL;

	ks_replay_reset(r);
	if (out && !ks_replay_events(r, path, out, res))
		text = strdup(ks_output_text(out, NULL));
	ks_output_close(out);
	return text;
}

static void fixtures(struct ks_replay *r)
{
	struct dirent **names;
	char path[512];
	int n, i, checked = 0;

	snprintf(path, sizeof(path), "%s/tests", rules_dir());
	n = scandir(path, &names, NULL, alphasort);
	if (!ASSERT_GT(n, 0, "fixtures found"))
		return;
	for (i = 0; i < n; i++) {
		const char *f = names[i]->d_name;
		size_t l = strlen(f);
		struct ks_replay_result res;
		char id[256], needle[300], *alerts;
		bool pos;

		if (l < 10 || strcmp(f + l - 6, ".jsonl"))
			goto next;
		pos = l > 10 && !strcmp(f + l - 10, ".pos.jsonl");
		if (!pos && (l < 10 || strcmp(f + l - 10, ".neg.jsonl")))
			goto next;
		snprintf(id, sizeof(id), "%.*s", (int)(l - 10), f);
		snprintf(path, sizeof(path), "%s/tests/%s", rules_dir(), f);
		snprintf(needle, sizeof(needle), "\"rule\":{\"id\":\"%s\"", id);
		alerts = replay(r, path, &res);
		if (!ASSERT_OK_PTR(alerts, path))
			goto next;
		if (pos && !strstr(alerts, needle)) {
			test__fail();
			fprintf(stderr, "%s: no alert for %s through the kernel evaluator\n", path, id);
		} else if (!pos && strstr(alerts, needle)) {
			test__fail();
			fprintf(stderr, "%s: unexpected alert for %s\n", path, id);
		}
		ASSERT_EQ(res.skipped, 0, "no malformed line");
		checked++;
		free(alerts);
next:
		free(names[i]);
	}
	free(names);
	test__log("%d fixture files replayed through ks_replay\n", checked);
	ASSERT_GE(checked, 60, "fixtures checked");
}

static void deterministic(struct ks_replay *r)
{
	struct ks_replay_result a, b;
	char *x, *y;

	char path[512];

	snprintf(path, sizeof(path), "%s/tests/tmp_download_then_exec.pos.jsonl", rules_dir());
	x = replay(r, path, &a);
	y = replay(r, path, &b);
	if (ASSERT_OK_PTR(x, "first") && ASSERT_OK_PTR(y, "second")) {
		ASSERT_GT(strlen(x), 10, "alerts written");
		ASSERT_STREQ(x, y, "byte-identical");
		ASSERT_EQ(a.test_runs, b.test_runs, "same test runs");
	}
	free(x);
	free(y);
}

static void malformed(struct ks_replay *r)
{
	char path[] = "/tmp/ks_st_replayXXXXXX";
	struct ks_replay_result res;
	FILE *f;
	char *out;
	int fd = mkstemp(path);

	f = fdopen(fd, "w");
	fputs("{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\","
	      "\"action\":\"exec\"},\"process\":{\"pid\":1,\"executable\":\"/dev/shm/x\"}}\n"
	      "{not json\n"
	      "{\"event\":{\"category\":\"nope\"}}\n", f);
	fclose(f);
	out = replay(r, path, &res);
	if (ASSERT_OK_PTR(out, "replay")) {
		ASSERT_EQ(res.skipped, 2, "two malformed lines skipped");
		ASSERT_EQ(res.events, 1, "the good line evaluated");
		ASSERT_HAS_STR(out, "\"exec_from_dev_shm\"", "good line alerted");
	}
	free(out);
	unlink(path);
}

/* Every fixture's lines, three times, a bad line after every 40th: into f. */
static int fixtures_file(FILE *f)
{
	char path[512], *line = NULL;
	struct dirent **names;
	size_t cap = 0;
	int n, i, pass, lines = 0;
	FILE *in;

	snprintf(path, sizeof(path), "%s/tests", rules_dir());
	n = scandir(path, &names, NULL, alphasort);
	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < n; i++) {
			if (!strstr(names[i]->d_name, ".jsonl"))
				continue;
			snprintf(path, sizeof(path), "%s/tests/%s", rules_dir(), names[i]->d_name);
			in = fopen(path, "r");
			while (in && getline(&line, &cap, in) > 0) {
				fputs(line, f);
				if (!(++lines % 40))
					fputs(lines % 80 ? "{not json\n" : "{\"event\":{}}\n", f);
			}
			if (in)
				fclose(in);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(line);
	return lines;
}

/* Alerts and diagnostics of path replayed with threads (malloc'd, or NULL). */
static char *replay_threads(const char *path, int threads, struct ks_replay_result *res,
			    char **diags)
{
	size_t dlen = 0;
	FILE *err = open_memstream(diags, &dlen);
	struct ks_replay *r = open_rules_with(threads, err);
	char *alerts = NULL;

	if (r) {
		alerts = replay(r, path, res);
		ks_replay_close(r);
	}
	fclose(err);
	return alerts;
}

static void threads(void)
{
	char path[] = "/tmp/ks_st_threadsXXXXXX";
	struct ks_replay_result one = {}, two = {};
	char *a1, *a2, *d1 = NULL, *d2 = NULL;
	int fd = mkstemp(path), lines;
	FILE *f = fdopen(fd, "w");

	lines = fixtures_file(f);
	fclose(f);
	a1 = replay_threads(path, 1, &one, &d1);
	a2 = replay_threads(path, 2, &two, &d2);
	if (ASSERT_OK_PTR(a1, "threads 1") && ASSERT_OK_PTR(a2, "threads 2")) {
		ASSERT_FALSE(one.runner, "threads 1: no runner");
		ASSERT_TRUE(two.runner, "threads 2: a runner thread");
		ASSERT_EQ(one.inline_runs, one.test_runs, "threads 1: every run in turn");
		ASSERT_LT(two.inline_runs, two.test_runs, "threads 2: runs handed over");
		ASSERT_GT(strlen(a1), 1000, "alerts written");
		ASSERT_STREQ(a1, a2, "byte-identical alerts");
		ASSERT_STREQ(d1, d2, "the same diagnostics");
		ASSERT_HAS_STR(d1, ":82: error: @timestamp: missing\n", "a bad line by its number");
		ASSERT_EQ(one.skipped, (unsigned long)(lines / 40), "bad lines skipped");
		ASSERT_EQ(two.skipped, one.skipped, "same skipped");
		ASSERT_EQ(two.events, one.events, "same events");
		ASSERT_EQ(two.test_runs, one.test_runs, "same test runs");
		ASSERT_GT(one.test_runs, 3, "several batches");
		ASSERT_EQ(two.alerts, one.alerts, "same alert count");
	}
	free(a1);
	free(a2);
	free(d1);
	free(d2);
	unlink(path);
}

#define WEB_SHELL_TOML \
	"[rule]\n" \
	"description = \"A shell started by a web server.\"\n" \
	"language = \"eql\"\n" \
	"name = \"Web Server Spawned a Shell\"\n" \
	"references = [\"https://example.org/web-shells\"]\n" \
	"risk_score = 73\n" \
	"rule_id = \"5d1c9a52-7a0e-4c1b-9f4e-2b6f3c8d1e07\"\n" \
	"severity = \"high\"\n" \
	"type = \"eql\"\n" \
	"query = '''\nprocess where event.action == \"exec\" and\n" \
	"  process.parent.name == \"nginx\" and process.name == \"sh\"\n'''\n" \
	"[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n" \
	"[[rule.threat.technique]]\nid = \"T1505\"\nname = \"Server Software Component\"\n" \
	"reference = \"https://attack.mitre.org/techniques/T1505/\"\n" \
	"[rule.threat.tactic]\nid = \"TA0003\"\nname = \"Persistence\"\n" \
	"reference = \"https://attack.mitre.org/tactics/TA0003/\"\n"

static void elastic_toml(void)
{
	char path[] = "/tmp/ks_st_tomlXXXXXX";
	struct ks_ruleset *rs = ks_ruleset_new();
	struct ks_replay_result res;
	struct ks_replay *r;
	char *out = NULL;
	FILE *f;
	int fd;

	ks_ruleset_load_string(rs, WEB_SHELL_TOML, "web_shell.toml");
	r = open_ruleset(rs);
	if (!ASSERT_OK_PTR(r, "replayer with a .toml rule"))
		return;
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs("{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\","
	      "\"action\":\"exec\"},\"process\":{\"pid\":7,\"executable\":\"/bin/sh\","
	      "\"parent\":{\"pid\":1,\"executable\":\"/usr/sbin/nginx\"}}}\n", f);
	fclose(f);
	out = replay(r, path, &res);
	if (ASSERT_OK_PTR(out, "replay")) {
		ASSERT_HAS_STR(out, "\"id\":\"web_shell\"", "rule.id: the file name");
		ASSERT_HAS_STR(out, "\"uuid\":\"5d1c9a52-7a0e-4c1b-9f4e-2b6f3c8d1e07\"",
			       "rule.uuid: the rule_id");
		ASSERT_HAS_STR(out, "\"description\":\"A shell started by a web server.\"",
			       "rule.description");
		ASSERT_HAS_STR(out, "\"reference\":[\"https://example.org/web-shells\"]",
			       "rule.reference");
		ASSERT_HAS_STR(out, "\"tactic\":{\"id\":[\"TA0003\"],\"name\":[\"Persistence\"]",
			       "threat.tactic");
		ASSERT_HAS_STR(out, "\"technique\":{\"id\":[\"T1505\"]", "threat.technique");
		ASSERT_HAS_STR(out, "\"risk_score\":73", "event.risk_score");
		ASSERT_HAS_STR(out, "\"ecs\":{\"version\":", "ecs.version");
	}
	free(out);
	unlink(path);
	ks_replay_close(r);
}

void test_replay(void)
{
	struct ks_replay *r = open_rules();

	if (!ASSERT_OK_PTR(r, "replayer with rules/"))
		return;
	if (test__start_subtest("fixtures"))
		fixtures(r);
	if (test__start_subtest("deterministic"))
		deterministic(r);
	if (test__start_subtest("malformed"))
		malformed(r);
	ks_replay_close(r);
	if (test__start_subtest("threads"))
		threads();
	if (test__start_subtest("elastic_toml"))
		elastic_toml();
}
