// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The streaming encoder (loader/ecs_encode.c) against the jansson encoder
 * it replaced (tests/ecs_ref.h, the oracle): byte-identical events and
 * alerts
 *   - for every event of every fixture: rules/tests/NAME.jsonl and the fuzz
 *     seed corpora tests/fuzz/corpus/{events,alert} (odd events: cut
 *     paths, ill-formed UTF-8, payloads, addresses);
 *   - for alerts made of each two consecutive events of a fixture, with
 *     join values from ks_field_text() and all a rule can say (rule.uuid,
 *     description, reference, threat.*, event.risk_score), and alerts of
 *     enforcements whose events were lost (kestrel.event_lost,
 *     kestrel.lost_events) of a rule that says no more than its name;
 *   - for 20,000 events derived from the fixtures with random bytes
 *     changed (flags, truncation bits, offsets, lengths, slot bytes), as
 *     the ring buffer could hand them over.
 * KS_SRC_DIR names the source tree (default: the current directory).
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

#include "kestrel/json.h"
#include "ecs_ref.h"

struct evvec {
	struct ks_event *v;
	size_t n, cap;
};

static struct ks_ecs_ctx ctx;
static struct evvec all;
static size_t n_files;

static int collect(void *arg, struct ks_event *ev, unsigned long line)
{
	struct evvec *vec = arg;

	if (vec->n == vec->cap) {
		vec->cap = vec->cap ? vec->cap * 2 : 256;
		vec->v = realloc(vec->v, vec->cap * sizeof(*vec->v));
		if (!vec->v)
			return -1;
	}
	vec->v[vec->n++] = *ev;
	return 0;
}

/* Outside of any test: failures are printed, and main fails. */
static int load_dir(const char *src, const char *sub, const char *suffix)
{
	char path[1024];
	struct dirent *de;
	DIR *d;
	FILE *f;
	size_t sl = strlen(suffix);

	snprintf(path, sizeof(path), "%s/%s", src, sub);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "%s: cannot open (set KS_SRC_DIR to the source tree)\n", path);
		return -1;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' || l < sl || strcmp(de->d_name + l - sl, suffix))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", src, sub, de->d_name);
		f = fopen(path, "r");
		if (!f || ks_ecs_read_jsonl(f, path, collect, &all, &ctx, NULL, NULL)) {
			fprintf(stderr, "%s: cannot read\n", path);
			return -1;
		}
		fclose(f);
		n_files++;
	}
	closedir(d);
	return 0;
}

static void same_event(struct ks_jw *w, const struct ks_event *ev)
{
	json_t *j = ref_event(&ctx, ev);
	char *want = ref_dump(j);

	w->len = 0;
	w->oom = false;
	ks_ecs_event_json(&ctx, w, ev);
	assert_false(w->oom);
	assert_non_null(want);
	if (w->len != strlen(want) || memcmp(w->p, want, w->len))
		fail_msg("event differs:\n  jansson:   %s\n  streaming: %.*s", want, (int)w->len,
			 w->p);
	free(want);
	json_decref(j);
}

/*
 * What a rule may say beyond id, name, severity and tags: a tactic named
 * twice (listed once), a technique without a name (no technique.name),
 * a subtechnique, strings to escape and repair.
 */
static struct ks_attack_ref subs[] = {
	{ "T1059.004", "Unix Shell", "https://attack.mitre.org/techniques/T1059/004/" },
	{ "T1059.004", "again", NULL },
};
static struct ks_technique techs[] = {
	{ { "T1059", "Command and Scripting Interpreter",
	    "https://attack.mitre.org/techniques/T1059/" }, subs, 2 },
	{ { "T1105", NULL, "https://attack.mitre.org/techniques/T1105/" }, NULL, 0 },
	{ { NULL, "no id", NULL }, subs, 1 },
};
static const struct ks_threat threats[] = {
	{ NULL, { "TA0002", "Execution", "https://attack.mitre.org/tactics/TA0002/" }, techs, 1 },
	{ "MITRE ATT&CK", { "TA0011", "Command \"and\" Control", NULL }, techs + 1, 2 },
	{ "other", { "TA0002", NULL, NULL }, NULL, 0 },
};
static const char *const refs[] = { "https://example.org/a?b=\"c\"", "bad \xff utf-8" };

/* lost: 0, or an enforcement whose event was lost (1), n of them (2);
 * the first kind with all a rule can say (threats th), the others with
 * none of it. */
static void same_alert(struct ks_jw *w, const struct ks_event *const *evs, size_t n, int lost,
		       const struct ks_threat *th, size_t n_th)
{
	static const char *const tags[] = { "attack.t1059", "attack.execution", "x\"\\\n" };
	const struct ks_alert_meta meta = { .id = "golden", .name = "Golden \xe2\x80\x94 rule",
					    .severity = "high", .action = "block",
					    .tags = tags, .n_tags = 3, .event_lost = lost > 0,
					    .lost_events = lost == 2 ? 7 : 0,
					    .ts_ns = 1767323045123456789ull,
					    .outcome = lost == 2 ? "killed" : NULL,
					    .uuid = lost ? NULL : "0b1d6a2e-37a5-4c3b-bd0b-4f5a3ce5a1f0",
					    .description = lost ? NULL : "Runs \"sh\"\n\xc3\xa9\xc3",
					    .references = refs, .n_references = lost ? 0 : 2,
					    .threats = th, .n_threats = lost ? 0 : n_th,
					    .risk_score = lost ? -1 : 73 };
	static const unsigned int fields[] = { KS_F_ENTITY_ID, KS_F_PROCESS_COMMAND_LINE,
					       KS_F_FILE_PATH, KS_F_DEST_IP, KS_F_USER_ID,
					       KS_F_ENTITY_ID };
	const char *names[6], *values[6];
	char vbuf[6][512];
	size_t k, n_join = 0;
	json_t *j;
	char *want;

	for (k = 0; k < 6 && n; k++) {
		if (ks_field_text(&ctx, evs[n - 1], fields[k], vbuf[n_join], 512) < 0)
			continue;
		names[n_join] = ks_field_by_id(fields[k])->name;
		values[n_join] = vbuf[n_join];
		n_join++;
	}
	j = ref_alert(&ctx, &meta, evs, n, names, values, n_join);
	want = ref_dump(j);
	json_decref(j);
	w->len = 0;
	w->oom = false;
	assert_int_equal(ks_ecs_alert_json(&ctx, w, &meta, evs, n, names, values, n_join), 0);
	assert_non_null(want);
	if (w->len != strlen(want) || memcmp(w->p, want, w->len))
		fail_msg("alert differs:\n  jansson:   %s\n  streaming: %.*s", want, (int)w->len,
			 w->p);
	free(want);
}

static void test_fixture_events(void **state)
{
	struct ks_jw w = {};
	size_t i;

	assert_true(n_files >= 90);
	for (i = 0; i < all.n; i++)
		same_event(&w, &all.v[i]);
	ks_jw_free(&w);
	print_message("%zu events of %zu files\n", all.n, n_files);
}

static void test_fixture_alerts(void **state)
{
	const struct ks_event *evs[2];
	struct ks_jw w = {};
	size_t i;

	for (i = 0; i < all.n; i++) {
		evs[0] = &all.v[i ? i - 1 : 0];
		evs[1] = &all.v[i];
		same_alert(&w, evs + 1, 1, 0, threats, ARRAY_SIZE(threats));
		same_alert(&w, evs, 2, 0, threats, ARRAY_SIZE(threats));
		/* a kernel completion whose event was lost */
		same_alert(&w, evs + 1, 1, 1, NULL, 0);
	}
	same_alert(&w, NULL, 0, 2, NULL, 0);	/* enforcements counted, no event at all */
	ks_jw_free(&w);
}

/*
 * More ATT&CK entries than the encoder has room for on its stack (it
 * allocates then), every second technique and subtechnique a repeat.
 */
static void test_many_threats(void **state)
{
	static char ids[3][200][16];
	static struct ks_attack_ref sub[200];
	static struct ks_technique tech[200];
	static struct ks_threat th[20];
	const struct ks_event *evs[] = { &all.v[0] };
	struct ks_jw w = {};
	size_t i;

	for (i = 0; i < 200; i++) {
		snprintf(ids[0][i], 16, "TA%04zu", i % 7);
		snprintf(ids[1][i], 16, "T%04zu", i / 2);
		snprintf(ids[2][i], 16, "T%04zu.%03zu", i / 4, i % 2);
		sub[i] = (struct ks_attack_ref){ ids[2][i], ids[2][i], NULL };
		tech[i] = (struct ks_technique){ { ids[1][i], "t", ids[1][i] }, sub + i, 1 };
	}
	for (i = 0; i < 20; i++)
		th[i] = (struct ks_threat){ "MITRE ATT&CK", { ids[0][i], NULL, ids[0][i] },
					    tech + i * 10, 10 };
	same_alert(&w, evs, 1, 0, th, 20);
	/* the last technique is there, once */
	assert_non_null(memmem(w.p, w.len, "\"T0099\"]", 8));
	assert_null(memmem(w.p, w.len, "\"T0099\",", 8));
	ks_jw_free(&w);
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Fixture events with bytes changed where the encoder looks. */
static void test_mutated(void **state)
{
	static const size_t hot[] = {
		offsetof(struct ks_event, present), offsetof(struct ks_event, truncated),
		offsetof(struct ks_event, cut_head), offsetof(struct ks_event, str),
		offsetof(struct ks_event, family), offsetof(struct ks_event, transport),
		offsetof(struct ks_event, direction), offsetof(struct ks_event, verdict),
	};
	struct ks_event ev;
	struct ks_jw w = {};
	uint64_t s = 0x6b657374726c;
	size_t i, k, n;

	for (i = 0; i < 20000; i++) {
		ev = all.v[rng(&s) % all.n];
		n = 1 + rng(&s) % 6;
		for (k = 0; k < n; k++) {
			size_t off = rng(&s) % 3 ? hot[rng(&s) % 8] + rng(&s) % 48
						 : rng(&s) % sizeof(ev);

			((uint8_t *)&ev)[off % sizeof(ev)] = (uint8_t)rng(&s);
		}
		same_event(&w, &ev);
	}
	ks_jw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_events),
		cmocka_unit_test(test_fixture_alerts),
		cmocka_unit_test(test_many_threats),
		cmocka_unit_test(test_mutated),
	};
	const char *src = getenv("KS_SRC_DIR");
	int ret;

	ks_ecs_init(&ctx, "golden-host");
	src = src ? src : ".";
	if (load_dir(src, "rules/tests", ".jsonl") ||
	    load_dir(src, "tests/fuzz/corpus/events", "") ||
	    load_dir(src, "tests/fuzz/corpus/alert", "") || !all.n)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	ks_ecs_free(&ctx);
	free(all.v);
	return ret;
}
