/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The userspace half of detection. Events the kernel forwards carry the
 * steps they matched (exact, or unknown = userspace decides). The pipeline
 * finishes undecided steps with the reference interpreter, runs every
 * sequence through an NFA with the kernel's EQL semantics (one pending
 * sequence per state per join key, newest overwrites, maxspan from the
 * first event, until, consumption), and writes Alert JSONL.
 */
#ifndef KESTREL_PIPELINE_H
#define KESTREL_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "kestrel/ecs.h"
#include "kestrel/output.h"
#include "kestrel/rules.h"

struct ks_pipeline;

struct ks_pipeline_opts {
	struct ks_output *alerts;	/* Alert JSONL goes here */
	size_t max_entries;	/* pending sequences kept, 0 = 100000 */
};

struct ks_pipeline_stats {
	uint64_t events;	/* forwarded events seen */
	uint64_t alerts;
	uint64_t step_matches;	/* steps found true (kernel or userspace) */
	uint64_t user_decided;	/* steps the interpreter decided */
	uint64_t evictions;	/* pending sequences dropped for room */
	uint64_t expired;	/* pending sequences past maxspan */
	uint64_t pending;	/* pending sequences now */
	uint64_t stale;		/* events of a generation no longer known */
	uint64_t nomem;		/* steps lost to the NFA: out of memory */
};

/* rs and t must outlive their generation in the pipeline. */
struct ks_pipeline *ks_pipeline_new(const struct ks_pipeline_opts *o, struct ks_ecs_ctx *ecs);
void ks_pipeline_free(struct ks_pipeline *p);
/*
 * Make (rs, t) the current generation; the previous one stays known so
 * events evaluated before the switch still resolve. Pending sequences of
 * rules whose uid is unchanged survive. On error (-ENOMEM, or -EINVAL
 * when t has more rules than rs) nothing changed and rs is still the
 * caller's.
 */
int ks_pipeline_set_rules(struct ks_pipeline *p, struct ks_ruleset *rs,
			  const struct ks_tables *t);
/* One forwarded event (ts_ns in epoch ns). Returns alerts written. */
int ks_pipeline_event(struct ks_pipeline *p, const struct ks_event *ev);
/* Expire pending sequences older than their maxspan at `now_ns`. */
void ks_pipeline_tick(struct ks_pipeline *p, uint64_t now_ns);
/* Forget every pending sequence (counters stay). */
void ks_pipeline_reset(struct ks_pipeline *p);
/* Write alerts to `out` from now on. */
void ks_pipeline_set_output(struct ks_pipeline *p, struct ks_output *out);
void ks_pipeline_stats(const struct ks_pipeline *p, struct ks_pipeline_stats *st);
/* Alerts written per rule id (for kestrel_alerts_total{rule}). */
uint64_t ks_pipeline_rule_alerts(const struct ks_pipeline *p, size_t rule_idx);

#endif /* KESTREL_PIPELINE_H */
