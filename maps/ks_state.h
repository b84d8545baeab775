/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel-side state shared with kload: sequence state per (rule, join
 * key), per-CPU counters, and the rodata configuration.
 */
#ifndef KS_STATE_H
#define KS_STATE_H

#include "maps/ks_abi.h"

/*
 * ks_entity: one entry per (rule, join key value) with a pending sequence.
 * Following EQL, a sequence that has matched steps 0..k-1 waits in state k;
 * there is at most one per state (the newest overwrites) and start[k - 1]
 * holds the time of its first event (maxspan is measured from it);
 * start[k - 1] == 0 means state k is empty. State 0 (nothing matched yet)
 * needs no slot. updated_ns is the time of the last change, for a reader
 * of the pinned map.
 */
struct ks_entity_key {
	__u32 rule_uid;
	__u32 pad;
	__u64 join_hash;	/* keyed hash of the join field values */
};

/*
 * join_hash is SipHash-2-4 (maps/ks_siphash.h) under ks_config.hash_key of
 * 64-bit words, per join field in step order: KS_JOIN_HDR(present, bytes)
 * then the value: entity keys and numbers one word, addresses two, strings
 * their bytes zero-padded to whole words (process.command_line with each
 * NUL as ' ', as the field reads); a null value (ks_join_present(),
 * maps/ks_fields.h: only an ?optional key can be null here) is its header
 * and zero words. No value is cut short: a field the
 * event holds only in part (ks_event.truncated) makes the step not
 * kernel-exact for that event instead (see bpf/ks_eval.bpf.h).
 */
#define KS_JOIN_HDR(present, bytes)	((__u64)!!(present) | (__u64)(bytes) << 8)

struct ks_entity_val {
	__u64 start[KS_MAX_KSTEPS - 1];
	__u64 updated_ns;
};

/*
 * The evaluator's time per event, a log-linear histogram of ns: each
 * power of two split in KS_HIST_SUB buckets of equal width, so a quantile
 * read off it is within 1/KS_HIST_SUB of an octave (25%: a median of 700
 * ns is told from one of 900, which log2 buckets could not). Bucket b
 * holds [ks_hist_lo(b), ks_hist_lo(b + 1)); values 0..3 have a bucket
 * each; the last bucket also holds everything from 2^33 ns (8.6 s) on.
 * The kernel fills it (bpf/ks_eval.bpf.h), kload and the bench read it.
 */
#define KS_HIST_SUB_BITS	2
#define KS_HIST_SUB		(1 << KS_HIST_SUB_BITS)
#define KS_HIST_OCTAVES		32
#define KS_HIST_BUCKETS		(KS_HIST_OCTAVES * KS_HIST_SUB)

static inline __attribute__((always_inline)) __u32 ks_hist_bucket(__u64 v)
{
	__u32 e = 0, b;
	__u64 x = v;

	if (v < KS_HIST_SUB)
		return (__u32)v;
	/* e = floor(log2(v)), branch-light for the verifier */
	if (x >> 32) { x >>= 32; e += 32; }
	if (x >> 16) { x >>= 16; e += 16; }
	if (x >> 8) { x >>= 8; e += 8; }
	if (x >> 4) { x >>= 4; e += 4; }
	if (x >> 2) { x >>= 2; e += 2; }
	if (x >> 1) e += 1;
	b = (e - KS_HIST_SUB_BITS + 1) * KS_HIST_SUB +
	    (__u32)((v >> (e - KS_HIST_SUB_BITS)) & (KS_HIST_SUB - 1));
	return b < KS_HIST_BUCKETS ? b : KS_HIST_BUCKETS - 1;
}

/* The smallest value of bucket b (b <= KS_HIST_BUCKETS: the end of the last). */
static inline __attribute__((always_inline)) __u64 ks_hist_lo(__u32 b)
{
	__u32 e, sub;

	if (b < KS_HIST_SUB)
		return b;
	e = b / KS_HIST_SUB + KS_HIST_SUB_BITS - 1;
	sub = b % KS_HIST_SUB;
	return (__u64)(KS_HIST_SUB + sub) << (e - KS_HIST_SUB_BITS);
}

/*
 * ks_credsave (syscall tracepoints, kernels without kprobes): the ids a
 * thread had when it entered set*id() or execve(), by pid_tgid, which its
 * exit compares with the ids it has then (uid_change, gid_change).
 */
#define KS_CREDSAVE_MAX		4096
struct ks_cred_ids {
	__u32 uid, euid, suid, fsuid;
	__u32 gid, egid, sgid, fsgid;
};

/* Per-CPU counters, one struct per CPU in ks_stats (summed by kload). */

struct ks_stats {
	__u64 events[KS_SRC_N];
	__u64 filtered[KS_SRC_N];
	__u64 forwarded[KS_SRC_N];
	__u64 dropped[KS_SRC_N][KS_DROP_N];
	__u64 dfa_bytes;
	__u64 truncations[KS_F_STR_N];
	/*
	 * An LRU map evicts silently, so the kernel counts what it inserts
	 * and deletes; kload derives evictions = inserts - deletes - live.
	 */
	__u64 entity_inserts;
	__u64 entity_deletes;
	__u64 expired;		/* pending sequence past maxspan */
	__u64 seq_started;
	__u64 seq_completed;
	/*
	 * A new sequence whose state could not be stored (LRU insert failed):
	 * the event still goes to kload, whose NFA tracks it (alert only).
	 * Not a drop: the event itself is counted once, as forwarded.
	 */
	__u64 entity_insert_failures;
	/* steps of kernel-tracked sequences left to kload: a join value was cut */
	__u64 join_cut;
	/* enforcements whose event was lost, and of those not kept in ks_lost */
	__u64 enforce_lost;
	__u64 enforce_unqueued;
	/* the events timed: one in 2^ks_config.time_shift (ks_evaluate_in) */
	__u64 eval_ns_hist[KS_HIST_BUCKETS];
	__u64 eval_ns_sum;
	__u64 packets_pass;
	__u64 packets_drop;
	/* DNS answers for destination.domain (bpf/hook_dns.bpf.c): sent, ring buffer full */
	__u64 dns_forwarded;
	__u64 dns_dropped;
};

/* Per-rule counters, PERCPU_HASH keyed by ks_rule.uid. */
struct ks_rule_stats {
	__u64 matches;		/* events that made a step true */
	__u64 completions;	/* rule completed in the kernel */
	__u64 blocks;		/* enforced: the rule's action was block ... */
	__u64 kills;		/* ... or kill */
	/*
	 * Enforcements whose event was lost (ring buffer full). Each also
	 * went to ks_lost for kload's "enforced, event lost" alert, except
	 * `unqueued` of them (ks_lost full): kload reports those by count.
	 */
	__u64 unreported;
	__u64 unqueued;
};

/* rodata, written by kload between skeleton open and load. */
struct ks_config {
	__u32 enforce_mode;	/* enum ks_enforce_mode */
	__u32 payload_depth;	/* bytes of payload scanned, <= KS_PAYLOAD_MAX */
	__u64 hash_key[2];	/* SipHash key of join keys, random per load */
	__u32 self_tgid;	/* kload itself: never judged */
	__u32 rb_wakeup_bytes;	/* force a wakeup when this much is queued */
	/*
	 * The DFA size class the tables map was created for, less 4: every
	 * cell offset is masked with it, and the verifier, which reads
	 * frozen rodata as constants, proves the load inside the value
	 * (maps/ks_tables.h, KS_TABLES_VALUE_SIZE).
	 */
	__u32 dfa_mask;
	/*
	 * Time one event in 2^time_shift per CPU, context and source for
	 * ks_stats.eval_ns_*: the two clock reads were ~80 ns of a 1,500-byte
	 * packet's ~800 in a VM (kvm-clock; bench/profile/eval-timing.txt).
	 */
	__u32 time_shift;
};

/*
 * ks_ctl array entry 0: what `kload attach` set up and how it is doing.
 * The kernel reads observe_only; kload writes the rest so that `kload
 * status` and `kload stats` (other processes) can report it.
 */
#define KS_CTL_MAX_XDP	8
#define KS_CTL_LOST_N	4	/* alert loss reasons (kload's enum ks_lost_reason) */
#define KS_MAX_OUTPUTS	16	/* kload attach --output, --alerts included */
#define KS_OUTPUT_NAME_MAX	96
#define KS_OUT_ERR_N	4	/* output error reasons (kload's enum ks_sink_err) */
#define KS_CTL_CGROUP_N	3	/* cgroup lookup results (kload's enum ks_cgroup_result) */

struct ks_ctl {
	__u32 enabled;		/* reserved */
	__u32 observe_only;	/* 1: evaluate and alert, never enforce */
	__u32 enforce_mode;	/* enum ks_enforce_mode in use */
	__u32 kload_pid;	/* the attach process, 0 when none */
	__u32 generation;	/* current table generation */
	__u32 n_rules;
	__u32 n_xdp;
	__u32 host_hooks;	/* KS_HOOKS_ON | loaded actions (engine.h), 0: none */
	__u32 xdp_ifindex[KS_CTL_MAX_XDP];
	__u64 started_ns;	/* CLOCK_REALTIME of attach */
	__u64 last_reload_ns;	/* CLOCK_REALTIME of the last table swap */
	__u64 reloads;
	__u64 tables_bytes;	/* the tables map's value size (DFA size class included) */
	/* userspace NFA, refreshed by the attach process every second */
	__u64 user_pending;
	__u64 user_evictions;	/* pending sequences evicted: --nfa-entries */
	__u64 user_evict_memory;	/* ... and --nfa-memory */
	__u64 user_bytes;	/* bytes the NFA holds */
	__u64 user_expired;
	__u64 user_alerts;
	__u64 user_events;	/* forwarded events consumed */
	/* what userspace lost, by reason: kestrel_alerts_lost_total{reason} */
	__u64 user_alerts_lost[KS_CTL_LOST_N];
	__u64 user_short_records;	/* ring buffer records too short to be events */
	__u64 user_nfa_nomem;		/* sequence steps lost: NFA out of memory */
	/* cgroups looked up for container.id: a container's, none, gone */
	__u64 user_cgroup_lookups[KS_CTL_CGROUP_N];
	/* DNS answers kload read (loader/dns.c): answers, not answers, addresses named, evictions */
	__u64 user_dns_answers;
	__u64 user_dns_malformed;
	__u64 user_dns_names;
	__u64 user_dns_evictions;
	/* values a regex gave up on (PCRE2's match limit), read as a match */
	__u64 user_regex_undecided;
};

/*
 * ks_rules (created and pinned by kload, not by the BPF object): rule
 * index -> id and metadata, so bpftool and `kload stats` can name rules.
 */
#define KS_RULE_ID_MAX	64

struct ks_rule_name {
	__u32 uid;
	__u8 action;		/* enum ks_rule_action */
	__u8 severity;
	__u8 exact;
	__u8 pad;
	__u64 alerts;		/* alerts written by kload */
	char id[KS_RULE_ID_MAX];
};

/*
 * ks_outputs (no program reads it; in the object for BTF): one entry per
 * alert output of the running attach, refreshed every second. For each
 * output sent = delivered + lost + queued, exactly.
 */
struct ks_output_stat {
	char name[KS_OUTPUT_NAME_MAX];	/* the URI without credentials; "" = unused */
	__u64 sent;			/* alerts handed to the output */
	__u64 delivered;		/* written, or acknowledged by the server */
	__u64 queued;			/* waiting in the output's queue now */
	__u64 lost[KS_CTL_LOST_N];	/* never to be delivered, by reason */
	__u64 errors[KS_OUT_ERR_N];	/* failed operations (retried), by reason */
};

#endif /* KS_STATE_H */
