// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `kload stats --prometheus` and GET /metrics, checked against a strict
 * reading of the Prometheus text exposition format 0.0.4: every line is
 * HELP, TYPE or a sample; names and labels are well-formed; a family's
 * TYPE comes before its samples and only once; no series repeats;
 * histogram buckets are cumulative, end in +Inf and equal _count; and
 * the accounting identity holds per source.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kestrel/sink.h"
#include "kestrel/stats.h"

#define MAXL 4096

static bool name_ok(const char *s, size_t n, bool metric)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (isalpha((unsigned char)c) || c == '_' || (metric && c == ':'))
			continue;
		if (i && isdigit((unsigned char)c))
			continue;
		return false;
	}
	return true;
}

struct fam {
	char name[128];
	char type[16];
};

struct seen {
	struct fam fams[64];
	int n_fams;
	char *series[1024];
	int n_series;
};

static struct fam *fam_of(struct seen *s, const char *metric)
{
	int i;

	for (i = 0; i < s->n_fams; i++) {
		size_t l = strlen(s->fams[i].name);

		if (!strncmp(metric, s->fams[i].name, l) &&
		    (!metric[l] || !strcmp(metric + l, "_bucket") || !strcmp(metric + l, "_sum") ||
		     !strcmp(metric + l, "_count")))
			return &s->fams[i];
	}
	return NULL;
}

/* Parse one sample line strictly; fill metric name and value. */
static void parse_sample(struct seen *s, const char *line, char *metric, double *val)
{
	const char *p = line, *q;
	char *end;
	int i;

	while (*p && *p != '{' && *p != ' ')
		p++;
	assert_true(name_ok(line, p - line, true));
	memcpy(metric, line, p - line);
	metric[p - line] = 0;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			q = p;
			while (*p && *p != '=')
				p++;
			assert_true(name_ok(q, p - q, false));
			assert_int_equal(*p++, '=');
			assert_int_equal(*p++, '"');
			while (*p && *p != '"') {
				if (*p == '\\') {
					p++;
					assert_non_null(strchr("\\\"n", *p));
				}
				assert_true(*p != '\n');
				p++;
			}
			assert_int_equal(*p++, '"');
			if (*p == ',')
				p++;
			else
				assert_int_equal(*p, '}');
		}
		p++;
	}
	assert_int_equal(*p++, ' ');
	*val = strtod(p, &end);
	assert_true(end != p && *end == 0);
	/* no repeated series */
	{
		size_t n = (size_t)(p - 1 - line);
		char *k = strndup(line, n);

		for (i = 0; i < s->n_series; i++)
			assert_string_not_equal(s->series[i], k);
		assert_true(s->n_series < 1024);
		s->series[s->n_series++] = k;
	}
}

static void check_text(char *text, struct ks_snapshot *snap)
{
	struct seen s = {};
	double bucket_prev = -1, inf = -1, count = -1, v;
	double tot[KS_SRC_N] = {}, parts[KS_SRC_N] = {};
	char *line, *save, metric[256];
	int i, samples = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct fam *f;

		assert_true(strlen(line) < MAXL);
		if (!strncmp(line, "# HELP ", 7)) {
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char name[128], type[16];

			assert_int_equal(sscanf(line + 7, "%127s %15s", name, type), 2);
			assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge") ||
				    !strcmp(type, "histogram"));
			for (i = 0; i < s.n_fams; i++)
				assert_string_not_equal(s.fams[i].name, name);
			snprintf(s.fams[s.n_fams].name, 128, "%s", name);
			snprintf(s.fams[s.n_fams].type, 16, "%s", type);
			s.n_fams++;
			continue;
		}
		assert_true(line[0] != '#');
		parse_sample(&s, line, metric, &v);
		samples++;
		f = fam_of(&s, metric);
		assert_non_null(f);	/* TYPE before samples */
		if (!strcmp(f->type, "counter"))
			assert_true(v >= 0);
		if (!strcmp(metric, "kestrel_kernel_eval_seconds_bucket")) {
			assert_true(v >= bucket_prev);	/* cumulative */
			bucket_prev = v;
			if (strstr(line, "le=\"+Inf\""))
				inf = v;
		}
		if (!strcmp(metric, "kestrel_kernel_eval_seconds_count"))
			count = v;
		for (i = 0; i < KS_SRC_N; i++) {
			char lab[64];

			snprintf(lab, sizeof(lab), "source=\"%s\"", ks_source_name(i));
			if (!strstr(line, lab))
				continue;
			if (!strcmp(metric, "kestrel_events_total"))
				tot[i] += v;
			else
				parts[i] += v;
		}
	}
	assert_true(samples > 50);
	assert_true(inf >= 0 && inf == count);
	for (i = 0; i < KS_SRC_N; i++)
		assert_true(tot[i] == parts[i]);	/* total = filtered + forwarded + dropped */
	for (i = 0; i < s.n_series; i++)
		free(s.series[i]);
}

static void fill(struct ks_snapshot *snap)
{
	static struct ks_snap_rule rules[2] = {
		{ .id = "exec_from_tmp", .action = KS_RA_ALERT, .matches = 5, .alerts = 4 },
		{ .id = "odd\"id\\x", .action = KS_RA_BLOCK, .matches = 2, .alerts = 2, .blocks = 2,
		  .unreported = 1 },
	};
	int s;

	memset(snap, 0, sizeof(*snap));
	for (s = 0; s < KS_SRC_N; s++) {
		snap->k.filtered[s] = 100 + s;
		snap->k.forwarded[s] = 10 + s;
		snap->k.dropped[s][KS_DROP_RINGBUF_FULL] = s;
		snap->k.dropped[s][KS_DROP_PARSE] = 1;
		snap->k.events[s] = 100 + s + 10 + s + s + 1;
	}
	snap->k.eval_ns_hist[ks_hist_bucket(10)] = 7;	/* [10, 12) */
	snap->k.eval_ns_hist[ks_hist_bucket(600)] = 2;	/* [512, 640) */
	snap->k.eval_ns_sum = 1234;
	snap->rules = rules;
	snap->n_rules = 2;
	snap->ctl.generation = 3;
	snap->ctl.user_evictions = 4;
	snap->ctl.user_evict_memory = 5;
	snap->ctl.user_bytes = 4096;
	snap->k.entity_insert_failures = 6;
	snap->k.join_cut = 7;
	snap->kernel_evictions = 1;
	snprintf(snap->outputs[0].name, KS_OUTPUT_NAME_MAX, "nats://127.0.0.1:4222/kestrel.alerts");
	snap->outputs[0].sent = 10;
	snap->outputs[0].delivered = 6;
	snap->outputs[0].queued = 1;
	snap->outputs[0].lost[KS_LOST_QUEUE_FULL] = 3;
	snap->outputs[0].errors[KS_SERR_ACK] = 2;
	snprintf(snap->outputs[1].name, KS_OUTPUT_NAME_MAX, "file:/var/log/a\"b");
	snap->n_outputs = 2;
}

static void test_prometheus_strict(void **state)
{
	static const char *const want[] = {
		"kestrel_table_generation 3\n",
		"kestrel_enforcements_total{rule=\"odd\\\"id\\\\x\",action=\"block\"} 2\n",
		"kestrel_enforcements_unreported_total{rule=\"odd\\\"id\\\\x\",action=\"block\"} 1\n",
		"kestrel_nfa_evictions_total{reason=\"entries\"} 4\n",
		"kestrel_nfa_evictions_total{reason=\"memory\"} 5\n",
		"kestrel_nfa_memory_bytes 4096\n",
		"kestrel_entity_state_insert_failures_total 6\n",
		"kestrel_join_value_cuts_total 7\n",
		"kestrel_entity_state_evictions_total 10\n",
	};
	struct ks_snapshot snap;
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	fill(&snap);
	ks_snapshot_prometheus(&snap, f);
	fclose(f);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(text, want[i]))
			fail_msg("missing: %s", want[i]);
	assert_non_null(strstr(text, "kestrel_table_generation 3\n"));
	assert_non_null(strstr(text, "kestrel_enforcements_total{rule=\"odd\\\"id\\\\x\",action=\"block\"} 2\n"));
	/* per output: sent 10 = delivered 6 + lost 3 + queued 1 */
	assert_non_null(strstr(text, "kestrel_output_alerts_total{output=\"nats://127.0.0.1:4222/kestrel.alerts\"} 6\n"));
	assert_non_null(strstr(text, "kestrel_output_lost_total{output=\"nats://127.0.0.1:4222/kestrel.alerts\",reason=\"queue_full\"} 3\n"));
	assert_non_null(strstr(text, "kestrel_output_errors_total{output=\"nats://127.0.0.1:4222/kestrel.alerts\",reason=\"ack\"} 2\n"));
	assert_non_null(strstr(text, "kestrel_output_queue_depth{output=\"file:/var/log/a\\\"b\"} 0\n"));
	check_text(text, &snap);
	free(text);
}

static void test_median(void **state)
{
	struct ks_snapshot snap;

	fill(&snap);
	/*
	 * 7 events in [10,12), 2 in [512,640), spread evenly in each: the
	 * median is 10 + 2 * 4.5/7 = 11.3, the 99th percentile 512 + 128 *
	 * (8.91 - 7)/2 = 634.2.
	 */
	assert_int_equal(ks_snapshot_eval_median_ns(&snap), 11);
	assert_int_equal(ks_snapshot_eval_p99_ns(&snap), 634);
}

/* Every value lands in the bucket whose bounds hold it. */
static void test_hist_buckets(void **state)
{
	__u64 v, lo, hi;
	__u32 b;

	for (v = 0; v < (1u << 20); v += 1 + v / 64) {
		b = ks_hist_bucket(v);
		lo = ks_hist_lo(b);
		hi = ks_hist_lo(b + 1);
		assert_true(lo <= v && v < hi);
		/* no wider than a quarter of an octave */
		assert_true(v < KS_HIST_SUB || (hi - lo) * KS_HIST_SUB <= lo);
	}
	assert_int_equal(ks_hist_bucket(~0ull), KS_HIST_BUCKETS - 1);
	assert_int_equal(ks_hist_lo(KS_HIST_BUCKETS), 1ull << 33);
}

/* Prometheus keeps power-of-two buckets: the sub-buckets are summed. */
static void test_prom_octaves(void **state)
{
	struct ks_snapshot snap;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fill(&snap);
	ks_snapshot_prometheus(&snap, f);
	fclose(f);
	assert_non_null(strstr(text, "kestrel_kernel_eval_seconds_bucket{le=\"8e-09\"} 0\n"));
	assert_non_null(strstr(text, "kestrel_kernel_eval_seconds_bucket{le=\"1.6e-08\"} 7\n"));
	assert_non_null(strstr(text, "kestrel_kernel_eval_seconds_bucket{le=\"5.12e-07\"} 7\n"));
	assert_non_null(strstr(text, "kestrel_kernel_eval_seconds_bucket{le=\"1.024e-06\"} 9\n"));
	assert_non_null(strstr(text, "kestrel_kernel_eval_seconds_count 9\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prometheus_strict),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_prom_octaves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
