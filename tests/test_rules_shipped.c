// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The shipped ruleset (rules/) against its fixtures (rules/tests/):
 * every rule X has X.pos.jsonl, which must raise exactly one alert for X,
 * and X.neg.jsonl (near misses), which must raise none.
 *
 * Steps are decided by the reference interpreter (ks_interp_step); the
 * sequence logic is a plain EQL evaluator written here so the fixtures are
 * checked independently of the kernel tables and of kload's NFA:
 * ordered steps (runs=N expanded to N steps), one pending sequence per
 * (state, join key) with the newest overwriting, events tried against the
 * last step first so one event never advances a sequence twice, maxspan
 * measured from the first event, `until` dropping the key's pending
 * sequences, and a completed sequence consumed. Join keys are the text of
 * the `by` fields (sequence-level then step-level) as alerts print them.
 *
 * KS_RULES_DIR overrides the ruleset directory (default "rules").
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kestrel/ecs.h"
#include "kestrel/rules.h"

#define MAX_FLAT_STEPS	256
#define KEY_MAX		1024

struct evvec {
	struct ks_event *v;
	size_t n, cap;
};

struct pending {
	size_t state;
	char key[KEY_MAX];
	size_t klen;
	uint64_t start;
};

struct pendvec {
	struct pending *v;
	size_t n, cap;
};

static struct ks_ruleset *rs;
static const char *rules_dir;

static int collect(void *arg, struct ks_event *ev, unsigned long line)
{
	struct evvec *vec = arg;

	if (vec->n == vec->cap) {
		vec->cap = vec->cap ? vec->cap * 2 : 16;
		vec->v = realloc(vec->v, vec->cap * sizeof(*vec->v));
		assert_non_null(vec->v);
	}
	vec->v[vec->n++] = *ev;
	return 0;
}

static void load_events(struct ks_ecs_ctx *ctx, const char *rule,
			const char *kind, struct evvec *out)
{
	unsigned long skipped = 0;
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/%s.%s.jsonl", rules_dir, rule,
		 kind);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: missing fixture", path);
	assert_int_equal(ks_ecs_read_jsonl(f, path, collect, out, ctx,
					   &skipped, stderr), 0);
	fclose(f);
	if (skipped)
		fail_msg("%s: %lu malformed lines", path, skipped);
	if (!out->n)
		fail_msg("%s: no events", path);
}

/*
 * Join key of ev for a step: the `by` values joined with \x1f. Fields only
 * userspace knows (host.name) are the same for every event of a fixture.
 * Returns the length, or -1 when a join field is null (no join).
 */
static int join_key(struct ks_ecs_ctx *ctx, const struct ks_query *q,
		    const struct ks_step_ast *s, const struct ks_event *ev,
		    char *key)
{
	const struct ks_field_info *f;
	size_t i, n = q->n_join + s->n_join, len = 0;
	int r;

	for (i = 0; i < n; i++) {
		f = i < q->n_join ? q->join[i] : s->join[i - q->n_join];
		if (f->id != KS_F_NONE) {
			r = ks_field_text(ctx, ev, f->id, key + len,
				  KEY_MAX - len - 1);
			if (r < 0)
				return -1;
			len += (size_t)r;
		}
		if (len + 1 >= KEY_MAX)
			return -1;
		key[len++] = '\x1f';
	}
	return (int)len;
}

static struct pending *pend_find(struct pendvec *p, size_t state,
				 const char *key, size_t klen)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].state == state && p->v[i].klen == klen &&
		    !memcmp(p->v[i].key, key, klen))
			return &p->v[i];
	return NULL;
}

static void pend_del(struct pendvec *p, struct pending *e)
{
	*e = p->v[--p->n];
}

/* One pending sequence per (state, key): the newest overwrites. */
static void pend_set(struct pendvec *p, size_t state, const char *key,
		     size_t klen, uint64_t start)
{
	struct pending *e = pend_find(p, state, key, klen);

	if (!e) {
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 16;
			p->v = realloc(p->v, p->cap * sizeof(*p->v));
			assert_non_null(p->v);
		}
		e = &p->v[p->n++];
	}
	e->state = state;
	memcpy(e->key, key, klen);
	e->klen = klen;
	e->start = start;
}

/* `until` matched: the key's pending sequences die, at every state. */
static void pend_kill(struct pendvec *p, const char *key, size_t klen)
{
	size_t i = 0;

	while (i < p->n) {
		if (p->v[i].klen == klen && !memcmp(p->v[i].key, key, klen))
			pend_del(p, &p->v[i]);
		else
			i++;
	}
}

static size_t flatten(const struct ks_query *q,
		      const struct ks_step_ast **steps)
{
	unsigned int r, runs;
	size_t i, n = 0;

	for (i = 0; i < q->n_steps; i++) {
		runs = q->steps[i].runs ? q->steps[i].runs : 1;
		for (r = 0; r < runs; r++) {
			assert_true(n < MAX_FLAT_STEPS);
			steps[n++] = &q->steps[i];
		}
	}
	return n;
}

/* Try ev against flat step k; returns true if it completed the rule. */
static bool advance(struct ks_ecs_ctx *ctx, const struct ks_query *q,
		    const struct ks_step_ast *s, size_t k, size_t n,
		    const struct ks_event *ev, struct pendvec *p)
{
	char key[KEY_MAX];
	struct pending *e;
	uint64_t start;
	int klen;

	if (!ks_interp_step(s, ev))
		return false;
	klen = join_key(ctx, q, s, ev, key);
	if (klen < 0)
		return false;
	if (k == 0) {
		if (n == 1)
			return true;
		pend_set(p, 1, key, (size_t)klen, ev->ts_ns);
		return false;
	}
	e = pend_find(p, k, key, (size_t)klen);
	if (!e)
		return false;
	start = e->start;
	pend_del(p, e);
	if (q->maxspan_ns && ev->ts_ns - start > q->maxspan_ns)
		return false;
	if (k + 1 == n)
		return true;
	pend_set(p, k + 1, key, (size_t)klen, start);
	return false;
}

static size_t count_alerts(struct ks_ecs_ctx *ctx, const struct ks_rule_src *r,
			   const struct evvec *evs)
{
	const struct ks_step_ast *steps[MAX_FLAT_STEPS];
	const struct ks_query *q = r->q;
	struct pendvec p = { 0 };
	size_t i, k, n, alerts = 0;
	char key[KEY_MAX];
	int klen;

	n = q->sequence ? flatten(q, steps) : 1;
	if (!q->sequence)
		steps[0] = &q->steps[0];
	for (i = 0; i < evs->n; i++) {
		const struct ks_event *ev = &evs->v[i];

		if (q->until && ks_interp_step(q->until, ev) &&
		    (klen = join_key(ctx, q, q->until, ev, key)) >= 0)
			pend_kill(&p, key, (size_t)klen);
		for (k = n; k-- > 0;)
			if (advance(ctx, q, steps[k], k, n, ev, &p))
				alerts++;
	}
	free(p.v);
	return alerts;
}

/* Which events match which steps: printed when a fixture fails. */
static void explain(const struct ks_rule_src *r, const struct evvec *evs)
{
	size_t i, k;

	for (i = 0; i < evs->n; i++) {
		fprintf(stderr, "    line %llu: steps matched:",
			(unsigned long long)evs->v[i].seq);
		for (k = 0; k < r->q->n_steps; k++)
			if (ks_interp_step(&r->q->steps[k], &evs->v[i]))
				fprintf(stderr, " %zu", k + 1);
		if (r->q->until && ks_interp_step(r->q->until, &evs->v[i]))
			fprintf(stderr, " until");
		fputc('\n', stderr);
	}
}

static void check_fixture(const struct ks_rule_src *r, const char *kind,
			  size_t want)
{
	struct ks_ecs_ctx ctx;
	struct evvec evs = { 0 };
	size_t got;

	ks_ecs_init(&ctx, NULL);
	load_events(&ctx, r->id, kind, &evs);
	got = count_alerts(&ctx, r, &evs);
	if (got != want) {
		fprintf(stderr, "  %s.%s.jsonl: %zu alerts, want %zu\n", r->id,
			kind, got, want);
		explain(r, &evs);
	}
	free(evs.v);
	ks_ecs_free(&ctx);
	assert_int_equal(got, want);
}

static void test_rule(void **state)
{
	const struct ks_rule_src *r = *state;

	assert_non_null(r->q);
	check_fixture(r, "pos", 1);
	check_fixture(r, "neg", 0);
}

/*
 * The rules that look at renames, on renames in Elastic Defend's shape
 * (file.path the new path, file.Ext.original.path the source), by root's
 * bash: each alerts as it did when a rename's file.path was its source and
 * file.target_path its new path. A fixture's pos file holds one alerting
 * event, so these are here.
 */
static const struct {
	const char *rule, *path, *orig;
	size_t alerts;
} renames[] = {
	{ "log_file_deleted", "/tmp/a", "/var/log/auth.log", 1 },
	{ "log_file_deleted", "/var/log/auth.log", "/tmp/a", 0 },
	{ "shell_history_file_removed", "/tmp/h", "/root/.bash_history", 1 },
	{ "shell_history_file_removed", "/root/.bash_history", "/tmp/h", 0 },
	{ "cron_job_written", "/etc/cron.d/job", "/tmp/job", 1 },
	{ "cron_job_written", "/tmp/job", "/var/spool/cron/root", 1 },
	{ "systemd_unit_created", "/etc/systemd/system/a.service", "/tmp/a", 1 },
	{ "systemd_unit_created", "/tmp/a", "/lib/systemd/system/a.service", 1 },
	{ "ld_so_preload_written", "/etc/ld.so.preload", "/tmp/p", 1 },
	{ "ld_so_preload_written", "/tmp/p", "/etc/ld.so.preload", 1 },
	{ "ssh_authorized_keys_written", "/root/.ssh/authorized_keys", "/tmp/k", 1 },
	{ "ssh_authorized_keys_written", "/tmp/k", "/root/.ssh/authorized_keys2", 1 },
	{ "ssh_authorized_keys_written", "/tmp/authorized_keys", "/tmp/k", 0 },
	{ "rc_script_written", "/etc/init.d/a", "/tmp/a", 1 },
	{ "rc_script_written", "/tmp/a", "/etc/rc.local", 1 },
	{ "shell_profile_modified", "/home/a/.bashrc", "/tmp/b", 1 },
	{ "shell_profile_modified", "/etc/profile.d/a.sh", "/tmp/a", 1 },
	{ "shell_profile_modified", "/tmp/z", "/home/a/.zshenv", 1 },
	{ "shell_profile_modified", "/home/a/.zshenv", "/tmp/z", 0 },
	{ "sudoers_modified", "/etc/sudoers.d/a", "/tmp/a", 1 },
	{ "sudoers_modified", "/tmp/a", "/etc/sudoers", 1 },
	{ "account_database_written", "/etc/shadow", "/tmp/s", 1 },
	{ "account_database_written", "/tmp/s", "/etc/passwd", 1 },
};

static const struct ks_rule_src *rule_by_id(const char *id, size_t len);

static void test_renames(void **state)
{
	const struct ks_rule_src *r;
	struct ks_ecs_ctx ctx;
	struct ks_event ev;
	struct evvec one = { .v = &ev, .n = 1 };
	char line[512], err[256];
	size_t i, got;

	(void)state;
	ks_ecs_init(&ctx, NULL);
	for (i = 0; i < sizeof(renames) / sizeof(renames[0]); i++) {
		snprintf(line, sizeof(line),
			 "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":"
			 "\"file\",\"action\":\"rename\"},\"file\":{\"path\":\"%s\",\"Ext\":"
			 "{\"original\":{\"path\":\"%s\"}}},\"process\":{\"pid\":7,\"name\":"
			 "\"bash\",\"executable\":\"/usr/bin/bash\"},\"user\":{\"id\":0}}",
			 renames[i].path, renames[i].orig);
		if (ks_ecs_decode_line(&ctx, line, strlen(line), &ev, err, sizeof(err)))
			fail_msg("%s: %s", line, err);
		r = rule_by_id(renames[i].rule, strlen(renames[i].rule));
		assert_non_null(r);
		got = count_alerts(&ctx, r, &one);
		if (got != renames[i].alerts)
			fail_msg("%s: rename %s -> %s: %zu alerts, want %zu", r->id,
				 renames[i].orig, renames[i].path, got, renames[i].alerts);
	}
	ks_ecs_free(&ctx);
}

static bool has_technique(const struct ks_rule_src *r)
{
	size_t i;

	for (i = 0; i < r->n_tags; i++)
		if (!strncmp(r->tags[i], "attack.t", 8) &&
		    r->tags[i][8] >= '0' && r->tags[i][8] <= '9')
			return true;
	return false;
}

static const struct ks_rule_src *rule_by_id(const char *id, size_t len)
{
	size_t i;

	for (i = 0; i < rs->n_rules; i++)
		if (strlen(rs->rules[i].id) == len &&
		    !strncmp(rs->rules[i].id, id, len))
			return &rs->rules[i];
	return NULL;
}

/* Every fixture file names a rule, as X.pos.jsonl or X.neg.jsonl. */
static void check_no_orphans(void)
{
	char dir[512];
	struct dirent *de;
	const char *sfx;
	size_t len;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests", rules_dir);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		len = strlen(de->d_name);
		sfx = len > 10 ? de->d_name + len - 10 : "";
		if ((!strcmp(sfx, ".pos.jsonl") || !strcmp(sfx, ".neg.jsonl")) &&
		    rule_by_id(de->d_name, len - 10))
			continue;
		closedir(d);
		fail_msg("%s/%s: not a fixture of any rule", dir, de->d_name);
	}
	closedir(d);
}

static void test_ruleset(void **state)
{
	size_t i, seqs = 0, enforcing = 0;

	(void)state;
	if (ks_diags_errors(&rs->diags))
		ks_diags_print(&rs->diags, stderr);
	assert_int_equal(ks_diags_errors(&rs->diags), 0);
	assert_true(rs->n_rules >= 32);
	for (i = 0; i < rs->n_rules; i++) {
		const struct ks_rule_src *r = &rs->rules[i];

		assert_non_null(r->q);
		if (!has_technique(r))
			fail_msg("%s: no attack.tNNNN tag", r->id);
		seqs += r->q->sequence;
		enforcing += r->action != KS_RA_ALERT;
	}
	assert_true(seqs >= 6);
	assert_true(enforcing >= 1);
	check_no_orphans();
}

int main(void)
{
	struct CMUnitTest *tests;
	size_t i, n;
	int ret;

	rules_dir = getenv("KS_RULES_DIR");
	if (!rules_dir)
		rules_dir = "rules";
	rs = ks_ruleset_new();
	if (!rs)
		return 1;
	ks_ruleset_load_path(rs, rules_dir);

	n = 2 + rs->n_rules;
	tests = calloc(n, sizeof(*tests));
	if (!tests)
		return 1;
	tests[0] = (struct CMUnitTest)cmocka_unit_test(test_ruleset);
	tests[1] = (struct CMUnitTest)cmocka_unit_test(test_renames);
	for (i = 0; i < rs->n_rules; i++) {
		tests[i + 2].name = rs->rules[i].id;
		tests[i + 2].test_func = test_rule;
		tests[i + 2].initial_state = &rs->rules[i];
	}
	ret = _cmocka_run_group_tests("rules_shipped", tests, n, NULL, NULL);
	free(tests);
	ks_ruleset_free(rs);
	return ret;
}
