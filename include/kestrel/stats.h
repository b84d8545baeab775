/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Metrics snapshot from the pinned maps, and its three printed forms. */
#ifndef KESTREL_STATS_H
#define KESTREL_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "maps/ks_state.h"

struct ks_snap_rule {
	char id[KS_RULE_ID_MAX];
	uint32_t uid;
	uint8_t action;
	uint64_t matches, completions, blocks, kills, alerts;
	uint64_t unreported;	/* enforcements whose events were lost */
};

struct ks_snapshot {
	struct ks_stats k;		/* summed over CPUs and contexts */
	struct ks_ctl ctl;
	struct ks_snap_rule *rules;
	size_t n_rules;
	uint64_t entities_live;
	uint64_t kernel_pending;
	uint64_t kernel_evictions;
	struct ks_output_stat outputs[KS_MAX_OUTPUTS];	/* ks_outputs, in use */
	size_t n_outputs;
};

int ks_snapshot_read(const char *pin_dir, struct ks_snapshot *s);
void ks_snapshot_free(struct ks_snapshot *s);
void ks_snapshot_prometheus(const struct ks_snapshot *s, FILE *out);
void ks_snapshot_json(const struct ks_snapshot *s, FILE *out);
void ks_snapshot_table(const struct ks_snapshot *s, FILE *out);
/*
 * Quantile q (0..1) of a KS_HIST_BUCKETS histogram (ks_stats.eval_ns_hist),
 * interpolated inside its bucket; NAN when empty.
 */
double ks_hist_quantile(const __u64 *h, double q);
/* The kernel evaluator's median and 99th percentile ns per event (0: none). */
uint64_t ks_snapshot_eval_median_ns(const struct ks_snapshot *s);
uint64_t ks_snapshot_eval_p99_ns(const struct ks_snapshot *s);
uint64_t ks_snapshot_pending(const struct ks_snapshot *s);
/* Pending sequences evicted for room: kernel LRU and the NFA's two bounds. */
uint64_t ks_snapshot_evictions(const struct ks_snapshot *s);
const char *ks_source_name(unsigned int s);
const char *ks_drop_name(unsigned int r);

#endif /* KESTREL_STATS_H */
