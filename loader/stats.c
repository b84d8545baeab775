// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Metrics: read the pinned maps (per-CPU counters summed), and print them
 * as a table, JSON or the Prometheus text format (README "Metrics" lists
 * the families).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "kestrel/engine.h"
#include "kestrel/names.h"
#include "kestrel/output.h"
#include "kestrel/rules.h"
#include "kestrel/stats.h"

static const char *const src_names[KS_SRC_N] = {
	"exec", "exit", "fork", "file", "network", "xdp", "replay", "cred",
};

static const char *const drop_names[KS_DROP_N] = {
	"ringbuf_full", "map_full", "no_tables", "reentrant", "parse",
};

const char *ks_source_name(unsigned int s)
{
	return s < KS_SRC_N ? src_names[s] : "?";
}

const char *ks_drop_name(unsigned int r)
{
	return r < KS_DROP_N ? drop_names[r] : "?";
}

static int pin_open(const char *dir, const char *name)
{
	char path[KS_PIN_PATH_MAX];

	if (ks_pin_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	return bpf_obj_get(path);
}

/* Live entities and pending kernel sequences (non-empty state slots). */
static void count_entities(int fd, struct ks_snapshot *s)
{
	struct ks_entity_key key, next;
	struct ks_entity_val val;
	void *prev = NULL;
	int k;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		s->entities_live++;
		for (k = 0; k < (int)KS_MAX_KSTEPS - 1; k++)
			s->kernel_pending += val.start[k] != 0;
	}
}

static void read_rules(int names_fd, int rstats_fd, struct ks_snapshot *s)
{
	__u32 i;

	s->rules = calloc(s->ctl.n_rules ?: 1, sizeof(*s->rules));
	if (!s->rules)
		return;
	for (i = 0; i < s->ctl.n_rules && i < KS_MAX_RULES; i++) {
		struct ks_snap_rule *r = &s->rules[s->n_rules];
		struct ks_rule_stats rs;
		struct ks_rule_name nm;

		if (bpf_map_lookup_elem(names_fd, &i, &nm))
			continue;
		memcpy(r->id, nm.id, sizeof(r->id));
		r->id[sizeof(r->id) - 1] = 0;
		r->uid = nm.uid;
		r->action = nm.action;
		r->alerts = nm.alerts;
		if (rstats_fd >= 0 && !ks_rule_stats_sum(rstats_fd, nm.uid, &rs)) {
			r->matches = rs.matches;
			r->completions = rs.completions;
			r->blocks = rs.blocks;
			r->kills = rs.kills;
			r->unreported = rs.unreported;
		}
		s->n_rules++;
	}
}

/* ks_outputs: the alert outputs of the running (or last) attach. */
static void read_outputs(const char *dir, struct ks_snapshot *s)
{
	int fd = pin_open(dir, "ks_outputs");
	__u32 i;

	for (i = 0; fd >= 0 && i < KS_MAX_OUTPUTS; i++) {
		struct ks_output_stat *o = &s->outputs[s->n_outputs];

		if (!bpf_map_lookup_elem(fd, &i, o) && o->name[0]) {
			o->name[sizeof(o->name) - 1] = 0;
			s->n_outputs++;
		}
	}
	if (fd >= 0)
		close(fd);
}

int ks_snapshot_read(const char *dir, struct ks_snapshot *s)
{
	int stats_fd, ctl_fd, names_fd, rstats_fd, ent_fd, err = 0;
	__u32 zero = 0;

	memset(s, 0, sizeof(*s));
	stats_fd = pin_open(dir, "ks_stats");
	if (stats_fd < 0)
		return -ENOENT;
	ctl_fd = pin_open(dir, "ks_ctl");
	names_fd = pin_open(dir, "ks_rules");
	rstats_fd = pin_open(dir, "ks_rule_stats");
	ent_fd = pin_open(dir, "ks_entity");
	err = ks_stats_sum(stats_fd, &s->k);
	read_outputs(dir, s);
	if (ctl_fd >= 0)
		bpf_map_lookup_elem(ctl_fd, &zero, &s->ctl);
	if (ent_fd >= 0)
		count_entities(ent_fd, s);
	if (names_fd >= 0)
		read_rules(names_fd, rstats_fd, s);
	/* an LRU map evicts silently: what was inserted and is neither
	 * deleted nor present any more was evicted */
	if (s->k.entity_inserts > s->k.entity_deletes + s->entities_live)
		s->kernel_evictions = s->k.entity_inserts - s->k.entity_deletes - s->entities_live;
	close(stats_fd);
	if (ctl_fd >= 0)
		close(ctl_fd);
	if (names_fd >= 0)
		close(names_fd);
	if (rstats_fd >= 0)
		close(rstats_fd);
	if (ent_fd >= 0)
		close(ent_fd);
	return err;
}

void ks_snapshot_free(struct ks_snapshot *s)
{
	free(s->rules);
	s->rules = NULL;
}

static uint64_t dropped_total(const struct ks_stats *k, int src)
{
	uint64_t n = 0;
	int r;

	for (r = 0; r < KS_DROP_N; r++)
		n += k->dropped[src][r];
	return n;
}

static uint64_t hist_count(const struct ks_stats *k)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < KS_HIST_BUCKETS; i++)
		n += k->eval_ns_hist[i];
	return n;
}

double ks_hist_quantile(const __u64 *h, double q)
{
	double n = 0, cum = 0, rank, f;
	unsigned int b;

	for (b = 0; b < KS_HIST_BUCKETS; b++)
		n += (double)h[b];
	if (!n)
		return NAN;
	rank = q * n;
	for (b = 0; b < KS_HIST_BUCKETS; b++) {
		if (h[b] && cum + (double)h[b] >= rank) {
			/* evenly spread inside the bucket: within 1/KS_HIST_SUB octave */
			f = (rank - cum) / (double)h[b];
			f = f < 0 ? 0 : f > 1 ? 1 : f;
			return (double)ks_hist_lo(b) +
			       (double)(ks_hist_lo(b + 1) - ks_hist_lo(b)) * f;
		}
		cum += (double)h[b];
	}
	return NAN;
}

static uint64_t eval_quantile_ns(const struct ks_snapshot *s, double q)
{
	double v = ks_hist_quantile(s->k.eval_ns_hist, q);

	/*
	 * v >= 0: half up by hand, as llround() would; llround was kload's
	 * one libm symbol, and libm one more shared object mapped and
	 * relocated at every start (bench/profile/kbin6-start.txt)
	 */
	return isnan(v) ? 0 : (uint64_t)(v + 0.5);
}

uint64_t ks_snapshot_eval_median_ns(const struct ks_snapshot *s)
{
	return eval_quantile_ns(s, 0.5);
}

uint64_t ks_snapshot_eval_p99_ns(const struct ks_snapshot *s)
{
	return eval_quantile_ns(s, 0.99);
}

uint64_t ks_snapshot_evictions(const struct ks_snapshot *s)
{
	return s->kernel_evictions + s->ctl.user_evictions + s->ctl.user_evict_memory;
}

uint64_t ks_snapshot_pending(const struct ks_snapshot *s)
{
	return s->ctl.kload_pid ? s->ctl.user_pending : s->kernel_pending;
}

static void prom_head(FILE *o, const char *name, const char *type, const char *help)
{
	fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Rule ids are [a-z0-9_.-]: no label escaping is needed, but be safe. */
static void prom_label(FILE *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', o);
		if (*v == '\n') {
			fputs("\\n", o);
			continue;
		}
		fputc(*v, o);
	}
}

/* One counter family with a value per event source. */
static void prom_per_source(FILE *o, const char *name, const char *help, const __u64 *v)
{
	int src;

	prom_head(o, name, "counter", help);
	for (src = 0; src < KS_SRC_N; src++)
		fprintf(o, "%s{source=\"%s\"} %llu\n", name, src_names[src],
			(unsigned long long)v[src]);
}

static void prom_sources(const struct ks_stats *k, FILE *o)
{
	int src, r;

	prom_per_source(o, "kestrel_events_total", "Events seen by the kernel, per source.",
			k->events);
	prom_per_source(o, "kestrel_events_filtered_total",
			"Events decided irrelevant in the kernel.", k->filtered);
	prom_per_source(o, "kestrel_events_forwarded_total", "Events sent to userspace.",
			k->forwarded);
	prom_head(o, "kestrel_events_dropped_total", "counter",
		  "Events lost to detection, per source and reason.");
	for (src = 0; src < KS_SRC_N; src++)
		for (r = 0; r < KS_DROP_N; r++)
			fprintf(o, "kestrel_events_dropped_total{source=\"%s\",reason=\"%s\"} %llu\n",
				src_names[src], drop_names[r],
				(unsigned long long)k->dropped[src][r]);
	prom_head(o, "kestrel_dfa_bytes_scanned_total", "counter", "Bytes scanned by the DFA.");
	fprintf(o, "kestrel_dfa_bytes_scanned_total %llu\n", (unsigned long long)k->dfa_bytes);
	prom_head(o, "kestrel_field_truncations_total", "counter",
		  "String values cut at their slot size, per field.");
	for (r = 1; r < KS_F_STR_N; r++) {
		const struct ks_field_info *fi = ks_field_by_id(r);

		fprintf(o, "kestrel_field_truncations_total{field=\"%s\"} %llu\n",
			fi ? fi->name : "?", (unsigned long long)k->truncations[r]);
	}
}

enum rule_counter { RC_MATCHES, RC_ALERTS, RC_ENFORCEMENTS, RC_UNREPORTED };

static uint64_t rule_counter(const struct ks_snap_rule *r, enum rule_counter c)
{
	if (c == RC_MATCHES)
		return r->matches;
	if (c == RC_ALERTS)
		return r->alerts;
	if (c == RC_UNREPORTED)
		return r->unreported;
	return r->action == KS_RA_KILL ? r->kills : r->blocks;
}

/* One per-rule counter family; enforcements: enforcing rules only, by action. */
static void prom_rules(const struct ks_snapshot *s, FILE *o, const char *name,
		       const char *help, enum rule_counter c)
{
	bool action = c == RC_ENFORCEMENTS || c == RC_UNREPORTED;
	size_t i;

	prom_head(o, name, "counter", help);
	for (i = 0; i < s->n_rules; i++) {
		const struct ks_snap_rule *r = &s->rules[i];
		uint64_t v = rule_counter(r, c);

		if (action && r->action == KS_RA_ALERT)
			continue;
		fprintf(o, "%s{rule=\"", name);
		prom_label(o, r->id);
		if (action)
			fprintf(o, "\",action=\"%s", ks_rule_action_name(r->action));
		fprintf(o, "\"} %llu\n", (unsigned long long)v);
	}
}

static const char *const cgroup_results[KS_CTL_CGROUP_N] = { "container", "host", "failed" };

/* Cgroups looked up for container.id; "failed": gone before kload looked. */
static void prom_containers(const struct ks_snapshot *s, FILE *o)
{
	int r;

	prom_head(o, "kestrel_container_lookups_total", "counter",
		  "Cgroups kload looked up for container.id, by result (failed: its "
		  "events have no container.id).");
	for (r = 0; r < KS_CTL_CGROUP_N; r++)
		fprintf(o, "kestrel_container_lookups_total{result=\"%s\"} %llu\n",
			cgroup_results[r], (unsigned long long)s->ctl.user_cgroup_lookups[r]);
}

static void prom_scalar(FILE *o, const char *name, const char *type, const char *help,
			uint64_t v);

/*
 * DNS answers for destination.domain: forwarded by the kernel or lost
 * there (ring buffer full), read by kload or not DNS answers at all; the
 * addresses they named, and the names the bounded cache dropped.
 */
static void prom_dns(const struct ks_snapshot *s, FILE *o)
{
	const char *n = "kestrel_dns_answers_total";

	prom_head(o, n, "counter",
		  "DNS messages from port 53, by result (read: kload took its "
		  "addresses; malformed: not a DNS answer; dropped: ring buffer full).");
	fprintf(o, "%s{result=\"read\"} %llu\n", n,
		(unsigned long long)s->ctl.user_dns_answers);
	fprintf(o, "%s{result=\"malformed\"} %llu\n", n,
		(unsigned long long)s->ctl.user_dns_malformed);
	fprintf(o, "%s{result=\"dropped\"} %llu\n", n, (unsigned long long)s->k.dns_dropped);
	prom_scalar(o, "kestrel_dns_names_total", "counter",
		    "Addresses DNS answers named (destination.domain).", s->ctl.user_dns_names);
	prom_scalar(o, "kestrel_dns_cache_evictions_total", "counter",
		    "Named addresses dropped from the full DNS cache before their TTL "
		    "(their connections then have no destination.domain).",
		    s->ctl.user_dns_evictions);
}

/* What userspace lost: alerts it could not write, events it could not use. */
/* One sample of a family labelled by reason. */
static void prom_reason(FILE *o, const char *name, const char *reason, uint64_t v)
{
	fprintf(o, "%s{reason=\"%s\"} %llu\n", name, reason, (unsigned long long)v);
}

static void prom_userspace(const struct ks_snapshot *s, FILE *o)
{
	int r;

	prom_head(o, "kestrel_alerts_lost_total", "counter",
		  "Alerts produced but not delivered, per reason.");
	for (r = 0; r < KS_LOST_N; r++)
		prom_reason(o, "kestrel_alerts_lost_total", ks_lost_reason_name(r),
			    s->ctl.user_alerts_lost[r]);
	prom_head(o, "kestrel_userspace_events_lost_total", "counter",
		  "Forwarded events or sequence steps kload could not use, per reason.");
	prom_reason(o, "kestrel_userspace_events_lost_total", "short_record",
		    s->ctl.user_short_records);
	prom_reason(o, "kestrel_userspace_events_lost_total", "nfa_memory", s->ctl.user_nfa_nomem);
	prom_containers(s, o);
	prom_dns(s, o);
}

/* A family of one sample without labels. */
static void prom_scalar(FILE *o, const char *name, const char *type, const char *help,
			uint64_t v)
{
	prom_head(o, name, type, help);
	fprintf(o, "%s %llu\n", name, (unsigned long long)v);
}

/* Sequence state in the kernel and in the NFA. */
static void prom_sequences(const struct ks_snapshot *s, FILE *o)
{
	const struct ks_stats *k = &s->k;

	prom_scalar(o, "kestrel_entity_state_evictions_total", "counter",
		    "Pending sequence state evicted for room (kernel LRU and userspace NFA).",
		    ks_snapshot_evictions(s));
	prom_scalar(o, "kestrel_entity_state_insert_failures_total", "counter",
		    "New kernel sequence states the LRU map could not store (left to the NFA).",
		    k->entity_insert_failures);
	prom_scalar(o, "kestrel_join_value_cuts_total", "counter",
		    "Steps of kernel-tracked sequences left to the NFA: a join value was cut.",
		    k->join_cut);
	prom_scalar(o, "kestrel_regex_undecided_total", "counter",
		    "Values a rule's regex gave up on (PCRE2's match limit); each read as a match.",
		    s->ctl.user_regex_undecided);
	prom_head(o, "kestrel_nfa_evictions_total", "counter",
		  "Pending sequences the userspace NFA evicted, per bound reached.");
	prom_reason(o, "kestrel_nfa_evictions_total", "entries", s->ctl.user_evictions);
	prom_reason(o, "kestrel_nfa_evictions_total", "memory", s->ctl.user_evict_memory);
	prom_scalar(o, "kestrel_nfa_memory_bytes", "gauge",
		    "Bytes the userspace NFA's pending sequences hold (see --nfa-memory).",
		    s->ctl.user_bytes);
	prom_scalar(o, "kestrel_sequences_pending", "gauge",
		    "Sequences waiting for their next step.", ks_snapshot_pending(s));
	prom_scalar(o, "kestrel_sequences_expired_total", "counter",
		    "Pending sequences that outlived their maxspan.",
		    k->expired + s->ctl.user_expired);
}

enum out_counter { OC_SENT, OC_DELIVERED, OC_QUEUED };

static void prom_output_family(const struct ks_snapshot *s, FILE *o, const char *name,
			       const char *type, const char *help, enum out_counter c)
{
	size_t i;

	prom_head(o, name, type, help);
	for (i = 0; i < s->n_outputs; i++) {
		const struct ks_output_stat *os = &s->outputs[i];

		fprintf(o, "%s{output=\"", name);
		prom_label(o, os->name);
		fprintf(o, "\"} %llu\n", (unsigned long long)(c == OC_SENT ? os->sent :
			c == OC_DELIVERED ? os->delivered : os->queued));
	}
}

/* kestrel_output_lost_total or (errors) kestrel_output_errors_total */
static void prom_output_reasons(const struct ks_snapshot *s, FILE *o, const char *name,
				const char *help, bool errors)
{
	int r, n = errors ? KS_OUT_ERR_N : KS_LOST_N;
	size_t i;

	prom_head(o, name, "counter", help);
	for (i = 0; i < s->n_outputs; i++) {
		for (r = 0; r < n; r++) {
			fprintf(o, "%s{output=\"", name);
			prom_label(o, s->outputs[i].name);
			fprintf(o, "\",reason=\"%s\"} %llu\n",
				errors ? ks_output_err_name(r) : ks_lost_reason_name(r),
				(unsigned long long)(errors ? s->outputs[i].errors[r] :
							      s->outputs[i].lost[r]));
		}
	}
}

/* Alert outputs: for each, sent = alerts + lost + queue depth, exactly. */
static void prom_outputs(const struct ks_snapshot *s, FILE *o)
{
	prom_output_family(s, o, "kestrel_output_alerts_total", "counter",
			   "Alerts delivered by each output (written, or acknowledged).",
			   OC_DELIVERED);
	prom_output_family(s, o, "kestrel_output_sent_total", "counter",
			   "Alerts handed to each output.", OC_SENT);
	prom_output_family(s, o, "kestrel_output_queue_depth", "gauge",
			   "Alerts waiting in each output's queue.", OC_QUEUED);
	prom_output_reasons(s, o, "kestrel_output_lost_total",
			    "Alerts an output will never deliver, per reason.", false);
	prom_output_reasons(s, o, "kestrel_output_errors_total",
			    "Failed output operations (retried), per reason.", true);
}

static void prom_state(const struct ks_snapshot *s, FILE *o)
{
	const struct ks_stats *k = &s->k;
	uint64_t cum = 0;
	unsigned int r, b;

	prom_sequences(s, o);
	prom_scalar(o, "kestrel_reloads_total", "counter", "Rule table swaps.", s->ctl.reloads);
	prom_scalar(o, "kestrel_table_generation", "gauge",
		    "Generation of the active rule tables.", s->ctl.generation);
	/*
	 * Prometheus wants base units, and a bucket a power of two: the
	 * kernel's KS_HIST_SUB buckets per octave are summed into each.
	 */
	prom_head(o, "kestrel_kernel_eval_seconds", "histogram",
		  "Seconds spent per event in the kernel evaluator.");
	for (r = 0, b = 0; r < KS_HIST_OCTAVES; r++) {
		for (; b < KS_HIST_BUCKETS && ks_hist_lo(b + 1) <= 2ull << r; b++)
			cum += k->eval_ns_hist[b];
		fprintf(o, "kestrel_kernel_eval_seconds_bucket{le=\"%.9g\"} %llu\n",
			(double)(2ull << r) / 1e9, (unsigned long long)cum);
	}
	for (; b < KS_HIST_BUCKETS; b++)
		cum += k->eval_ns_hist[b];
	fprintf(o, "kestrel_kernel_eval_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)cum);
	fprintf(o, "kestrel_kernel_eval_seconds_sum %.9f\n", (double)k->eval_ns_sum / 1e9);
	fprintf(o, "kestrel_kernel_eval_seconds_count %llu\n", (unsigned long long)cum);
}

void ks_snapshot_prometheus(const struct ks_snapshot *s, FILE *o)
{
	prom_sources(&s->k, o);
	prom_rules(s, o, "kestrel_rule_matches_total", "Steps found true in the kernel.",
		   RC_MATCHES);
	prom_rules(s, o, "kestrel_alerts_total", "Alerts produced.", RC_ALERTS);
	prom_rules(s, o, "kestrel_enforcements_total", "Operations blocked or killed.",
		   RC_ENFORCEMENTS);
	prom_rules(s, o, "kestrel_enforcements_unreported_total",
		   "Enforcements whose event the ring buffer had no room for, each "
		   "reported by an alert saying: enforced, event lost.", RC_UNREPORTED);
	prom_userspace(s, o);
	prom_outputs(s, o);
	prom_state(s, o);
}

static uint64_t alerts_lost(const struct ks_snapshot *s)
{
	uint64_t n = 0;
	int r;

	for (r = 0; r < KS_LOST_N; r++)
		n += s->ctl.user_alerts_lost[r];
	return n;
}

static json_t *outputs_json(const struct ks_snapshot *s)
{
	json_t *a = json_array();
	size_t i;
	int r;

	for (i = 0; i < s->n_outputs; i++) {
		const struct ks_output_stat *os = &s->outputs[i];
		json_t *o = json_object(), *lost = json_object(), *err = json_object();

		json_object_set_new(o, "output", json_string(os->name));
		json_object_set_new(o, "sent", json_integer(os->sent));
		json_object_set_new(o, "delivered", json_integer(os->delivered));
		json_object_set_new(o, "queued", json_integer(os->queued));
		for (r = 0; r < KS_LOST_N; r++)
			json_object_set_new(lost, ks_lost_reason_name(r), json_integer(os->lost[r]));
		for (r = 0; r < KS_OUT_ERR_N; r++)
			json_object_set_new(err, ks_output_err_name(r), json_integer(os->errors[r]));
		json_object_set_new(o, "lost", lost);
		json_object_set_new(o, "errors", err);
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *dns_json(const struct ks_snapshot *s)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I}", "answers_read",
			 (json_int_t)s->ctl.user_dns_answers, "answers_malformed",
			 (json_int_t)s->ctl.user_dns_malformed, "answers_dropped",
			 (json_int_t)s->k.dns_dropped, "names",
			 (json_int_t)s->ctl.user_dns_names, "cache_evictions",
			 (json_int_t)s->ctl.user_dns_evictions);
}

static json_t *containers_json(const struct ks_snapshot *s)
{
	json_t *o = json_object();
	int r;

	for (r = 0; r < KS_CTL_CGROUP_N; r++)
		json_object_set_new(o, cgroup_results[r],
				    json_integer(s->ctl.user_cgroup_lookups[r]));
	return o;
}

void ks_snapshot_json(const struct ks_snapshot *s, FILE *o)
{
	const struct ks_stats *k = &s->k;
	json_t *root = json_object(), *srcs = json_object(), *rules = json_array();
	size_t i;
	int src, r;

	for (src = 0; src < KS_SRC_N; src++) {
		json_t *so = json_object(), *dr = json_object();

		json_object_set_new(so, "events", json_integer(k->events[src]));
		json_object_set_new(so, "filtered", json_integer(k->filtered[src]));
		json_object_set_new(so, "forwarded", json_integer(k->forwarded[src]));
		for (r = 0; r < KS_DROP_N; r++)
			json_object_set_new(dr, drop_names[r], json_integer(k->dropped[src][r]));
		json_object_set_new(so, "dropped", dr);
		json_object_set_new(srcs, src_names[src], so);
	}
	json_object_set_new(root, "sources", srcs);
	for (i = 0; i < s->n_rules; i++) {
		json_t *ro = json_object();

		json_object_set_new(ro, "id", json_string(s->rules[i].id));
		json_object_set_new(ro, "matches", json_integer(s->rules[i].matches));
		json_object_set_new(ro, "completions", json_integer(s->rules[i].completions));
		json_object_set_new(ro, "alerts", json_integer(s->rules[i].alerts));
		json_object_set_new(ro, "blocks", json_integer(s->rules[i].blocks));
		json_object_set_new(ro, "kills", json_integer(s->rules[i].kills));
		json_object_set_new(ro, "enforcements_unreported",
				    json_integer(s->rules[i].unreported));
		json_array_append_new(rules, ro);
	}
	json_object_set_new(root, "rules", rules);
	json_object_set_new(root, "dfa_bytes_scanned", json_integer(k->dfa_bytes));
	json_object_set_new(root, "entity_state_evictions",
			    json_integer(ks_snapshot_evictions(s)));
	json_object_set_new(root, "entity_state_insert_failures",
			    json_integer(k->entity_insert_failures));
	json_object_set_new(root, "join_value_cuts", json_integer(k->join_cut));
	json_object_set_new(root, "regex_undecided",
			    json_integer(s->ctl.user_regex_undecided));
	json_object_set_new(root, "nfa_evictions_entries", json_integer(s->ctl.user_evictions));
	json_object_set_new(root, "nfa_evictions_memory", json_integer(s->ctl.user_evict_memory));
	json_object_set_new(root, "nfa_memory_bytes", json_integer(s->ctl.user_bytes));
	json_object_set_new(root, "sequences_pending", json_integer(ks_snapshot_pending(s)));
	json_object_set_new(root, "sequences_expired",
			    json_integer(k->expired + s->ctl.user_expired));
	json_object_set_new(root, "reloads", json_integer(s->ctl.reloads));
	json_object_set_new(root, "alerts_lost", json_integer(alerts_lost(s)));
	json_object_set_new(root, "outputs", outputs_json(s));
	json_object_set_new(root, "userspace_events_lost",
			    json_integer(s->ctl.user_short_records + s->ctl.user_nfa_nomem));
	json_object_set_new(root, "container_lookups", containers_json(s));
	json_object_set_new(root, "dns", dns_json(s));
	json_object_set_new(root, "table_generation", json_integer(s->ctl.generation));
	json_object_set_new(root, "kernel_eval_ns_median",
			    json_integer(ks_snapshot_eval_median_ns(s)));
	json_object_set_new(root, "kernel_eval_ns_p99",
			    json_integer(ks_snapshot_eval_p99_ns(s)));
	json_object_set_new(root, "kernel_eval_ns_sum", json_integer(k->eval_ns_sum));
	json_object_set_new(root, "kernel_eval_count", json_integer(hist_count(k)));
	json_dumpf(root, o, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', o);
	json_decref(root);
}

void ks_snapshot_table(const struct ks_snapshot *s, FILE *o)
{
	const struct ks_stats *k = &s->k;
	size_t i;
	int src;

	fprintf(o, "%-8s %12s %12s %12s %12s\n", "source", "events", "filtered", "forwarded",
		"dropped");
	for (src = 0; src < KS_SRC_N; src++)
		fprintf(o, "%-8s %12llu %12llu %12llu %12llu\n", src_names[src],
			(unsigned long long)k->events[src], (unsigned long long)k->filtered[src],
			(unsigned long long)k->forwarded[src],
			(unsigned long long)dropped_total(k, src));
	fprintf(o, "\n%-40s %10s %10s %10s %10s %10s\n", "rule", "matches", "alerts", "blocks",
		"kills", "unreported");
	for (i = 0; i < s->n_rules; i++)
		fprintf(o, "%-40s %10llu %10llu %10llu %10llu %10llu\n", s->rules[i].id,
			(unsigned long long)s->rules[i].matches,
			(unsigned long long)s->rules[i].alerts,
			(unsigned long long)s->rules[i].blocks,
			(unsigned long long)s->rules[i].kills,
			(unsigned long long)s->rules[i].unreported);
	fprintf(o, "\nDFA bytes scanned %llu; kernel eval median %llu ns, p99 %llu ns "
		"over %llu events\n", (unsigned long long)k->dfa_bytes,
		(unsigned long long)ks_snapshot_eval_median_ns(s),
		(unsigned long long)ks_snapshot_eval_p99_ns(s),
		(unsigned long long)hist_count(k));
	fprintf(o, "sequences pending %llu, expired %llu, evicted %llu; generation %u, reloads %llu\n",
		(unsigned long long)ks_snapshot_pending(s),
		(unsigned long long)(k->expired + s->ctl.user_expired),
		(unsigned long long)ks_snapshot_evictions(s),
		s->ctl.generation, (unsigned long long)s->ctl.reloads);
	fprintf(o, "kernel state insert failures %llu, join values cut %llu; "
		"NFA %llu bytes; regex undecided %llu\n",
		(unsigned long long)k->entity_insert_failures,
		(unsigned long long)k->join_cut, (unsigned long long)s->ctl.user_bytes,
		(unsigned long long)s->ctl.user_regex_undecided);
	for (i = 0; i < s->n_outputs; i++)
		fprintf(o, "output %s: sent %llu, delivered %llu, queued %llu, lost %llu\n",
			s->outputs[i].name, (unsigned long long)s->outputs[i].sent,
			(unsigned long long)s->outputs[i].delivered,
			(unsigned long long)s->outputs[i].queued,
			(unsigned long long)(s->outputs[i].sent - s->outputs[i].delivered -
					     s->outputs[i].queued));
}
