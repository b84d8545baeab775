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

#define KS_NFA_ENTRIES_DEFAULT	100000
#define KS_NFA_MEMORY_DEFAULT	(64ull << 20)
#define KS_NFA_MEMORY_MIN	(64ull << 10)	/* room for a few full events */
#define KS_NFA_MEMORY_MAX	(1ull << 40)

struct ks_pipeline_opts {
	struct ks_output *alerts;	/* Alert JSONL goes here */
	size_t max_entries;	/* pending sequences kept, 0 = KS_NFA_ENTRIES_DEFAULT */
	/*
	 * Bytes the pending sequences may hold (entries, join keys, the
	 * matched events; each allocation counted with malloc's overhead),
	 * 0 = KS_NFA_MEMORY_DEFAULT. Past it the least recently used
	 * sequences are evicted; one event can overshoot it until then.
	 */
	uint64_t max_bytes;
};

struct ks_pipeline_stats {
	uint64_t events;	/* forwarded events seen */
	uint64_t alerts;
	uint64_t step_matches;	/* steps found true (kernel or userspace) */
	uint64_t user_decided;	/* steps the interpreter decided */
	uint64_t evictions;	/* pending sequences dropped: max_entries */
	uint64_t evict_memory;	/* ... and max_bytes */
	uint64_t expired;	/* pending sequences past maxspan */
	uint64_t pending;	/* pending sequences now */
	uint64_t bytes;		/* what they hold now (see max_bytes) */
	uint64_t stale;		/* events of a generation no longer known */
	uint64_t nomem;		/* steps lost to the NFA: out of memory */
	uint64_t join_null;	/* sequence steps left out: a join key that
				 * is not ?optional was null */
	uint64_t lost_alerts;	/* "enforced, event lost" alerts written */
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
/*
 * One forwarded event (ts_ns in epoch ns). Returns alerts written. A
 * sequence the kernel says it completed (KS_M_COMPLETED) is alerted even
 * when the NFA missed its earlier events (lost to a full ring buffer).
 */
int ks_pipeline_event(struct ks_pipeline *p, const struct ks_event *ev);
/*
 * A hint for a stream of events: ev comes KS_PIPELINE_AHEAD events after
 * the event about to be given to ks_pipeline_event() (a stream holds that
 * many events hinted and not processed yet). The pending-sequence slots
 * its steps name are fetched into the cache meanwhile, and what the move
 * of the event processed next touches; nothing else changes.
 */
void ks_pipeline_prefetch(struct ks_pipeline *p, const struct ks_event *ev);
/*
 * Events between a hint and its event: one event's time was not enough
 * for the slot's lines to arrive before the hint of the next one looked
 * the key up (bench/profile/nfa9-ahead.txt).
 */
#define KS_PIPELINE_AHEAD	2
/*
 * An event the kernel never saw (already_running, from /proc at attach
 * or an event file): the current rules' steps that name its action
 * (KS_S_RUNNING) are decided here, by the interpreter, as a step the
 * kernel left unknown; sets ev's verdict generation. Returns alerts
 * written.
 */
int ks_pipeline_user_event(struct ks_pipeline *p, struct ks_event *ev);
/* Does the current rule set have a step on already_running events? */
bool ks_pipeline_wants_running(const struct ks_pipeline *p);
/*
 * An event the kernel enforced on but could not forward (KS_V_LOST, from
 * ks_lost; ts_ns in epoch ns): write the enforcing rule's alert with
 * "message": "enforced, event lost", with the earlier steps' events when
 * the NFA holds them. Returns 1 when written, 0 if the rule is unknown.
 */
int ks_pipeline_lost_event(struct ks_pipeline *p, const struct ks_event *ev);
/*
 * n enforcements of the rule with this uid whose events did not fit in
 * ks_lost either: one alert with "message": "enforced, event lost" and
 * kestrel.lost_events n, no event, at now_ns; its outcome follows from
 * the enforcement mode. Returns 1 when written.
 */
int ks_pipeline_lost_count(struct ks_pipeline *p, uint32_t rule_uid, uint64_t n,
			   uint64_t now_ns, int enforce_mode);
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
