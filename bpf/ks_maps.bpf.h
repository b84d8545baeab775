/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Map definitions (BPF side only). The layouts of keys and values are the
 * ABI in maps/; the README lists every pinned map and what it holds.
 */
#ifndef KS_MAPS_BPF_H
#define KS_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "maps/ks_abi.h"
#include "maps/ks_event.h"
#include "maps/ks_tables.h"
#include "maps/ks_state.h"
#include "maps/ks_siphash.h"

/*
 * kestrel.bpf.o is linked from several objects (bpftool gen object; the
 * Makefile's KS_BPF_PARTS). Each map is defined in the one object that
 * defines KS_MAPS_DEFINE (kestrel.bpf.c); the others see it extern and
 * the linker resolves them to that definition.
 */
#ifdef KS_MAPS_DEFINE
#define KS_MAP
#else
#define KS_MAP	extern
#endif

/*
 * Rule tables, one generation per inner map. Every event looks up the
 * outer slot once and uses only that inner map, so a reload (kload creates
 * a new inner map, fills it, then replaces the slot) can never mix two
 * generations inside one evaluation.
 *
 * The inner maps' value is struct ks_tables cut after the DFA size class
 * of the load (KS_TABLES_VALUE_SIZE, maps/ks_tables.h): a value size and
 * no BTF value type, which would have to be the whole struct. kload gives
 * ks_gen an inner map template of that size before load
 * (bpf_map__set_inner_map_fd); no tables map exists until the first
 * install, so the template's value is never kept.
 */
struct ks_tables_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__uint(value_size, KS_TABLES_VALUE_SIZE(KS_DFA_MIN_TAB_BYTES));
};

KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ks_tables_map);
} ks_gen SEC(".maps");

/*
 * The payload prefilter's tables (maps/ks_fdr.h, struct ks_fdr_slot): a
 * slot per live generation that has one, named by its tables
 * (ks_tables_hdr.fdr_slot). Empty until kload installs a rule set with a
 * flagged automaton: the others pay no memory for it.
 */
struct ks_fdr_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	/*
	 * Sizes, no BTF types: the object link cannot size the inner value
	 * type, and a BTF key without a BTF value is refused (libbpf then
	 * retried without BTF, and said so on every attach).
	 */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct ks_fdr_slot));
};

KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, KS_FDR_SLOTS);
	__type(key, __u32);
	__array(values, struct ks_fdr_map);
} ks_fdr_gen SEC(".maps");

/*
 * Evaluation scratch: the event under construction, atom hit stamps and
 * the candidate step list. Far larger than a per-CPU value may be (32 KiB),
 * so it is a plain array with one slot per (CPU, context): softirq (XDP)
 * can interrupt a task-context hook on the same CPU, and each needs its own.
 */
#define KS_PATH_TOP	8	/*
 * The argument area past the event's KS_ARGS_MAX bytes (ks_scan_args_rest
 * in eval.bpf.c): read up to KS_REST_AREA_MAX bytes of it, in windows of
 * the payload slot's size that overlap by the longest pattern of the
 * fields' automata, at most KS_REST_OV_MAX.
 */
#define KS_REST_AREA_MAX	32768u
#define KS_REST_OV_MAX		512u
#define KS_REST_WINDOWS		((KS_REST_AREA_MAX - KS_ARGS_MAX) / (KS_PAYLOAD_MAX - KS_REST_OV_MAX) + 1)
#define KS_REST_WHOLE		1u	/* args_rest: every byte of the area was walked */
#define KS_REST_PART		2u	/* ... not every one: misses stay undecided */
/* the caller's argv: elements read into one window (bpf_loop steps) */
#define KS_REST_FILL_STEPS	1024u

/* top-most path components kept for a cut path's head */

struct ks_scratch {
	__u32 busy;		/* set while a program uses the slot */
	__u32 seq;		/* event stamp for hits[] / cand_mark[] */
	__u32 n_cand;
	__u32 relevant;		/* matches userspace must see (ks_decide) */
	__u32 best;		/* strongest completed action + 1 (ks_decide) */
	__u32 scanned;		/* string fields already scanned (ks_early_filtered) */
	/*
	 * Step program stack, kept in map memory on purpose: the verifier
	 * does not track values stored here, so the program loop has one
	 * state per iteration instead of one per combination of results.
	 */
	volatile __u64 stk_val;
	volatile __u64 stk_unk;
	/*
	 * The join key being hashed (ks_join_hash): in map memory for the
	 * same reason, and to keep the call chain's stack small on 6.1.
	 */
	struct ks_sip hash;
	__u32 hash_pos;		/* next byte of the string value being hashed */
	__u32 hash_end;
	__u32 hash_spaces;	/* read NUL as ' ' (process.command_line) */
	__u32 stamp_due;	/* 1: ev.ts_ns is read when first needed (ks_event_time) */
	/*
	 * The need filter's pass (ks_need_chunk, eval.bpf.c): in map memory
	 * for the same reason, so its byte loop is one state per byte
	 * whatever the case modes it tests.
	 */
	__u32 need_pos, need_end;
	__u32 need_want;	/* the case modes tested, bit m */
	__u32 need_found;	/* the case modes a byte was needed in */
	volatile __u32 scan_bytes;	/* ks_scan_fields()' sum, in memory for the same reason */
	__u32 cut_n;	/* ks_scan() of a cut path: the tail's bytes, over the head's walk */
	/*
	 * The process.args walk (ks_scan_chunk): in map memory, so every
	 * path of ks_scan_elems() into its bpf_loop() meets one callback
	 * state, whatever it knew of the start state, position or end.
	 */
	__u32 elem_s, elem_pos, elem_end;
	/*
	 * The argument area past the KS_ARGS_MAX bytes the event keeps, when
	 * it is in the current mm (ks_fill_args_mm; 0: whole, or not
	 * readable here): its length and address, the next window of
	 * ks_scan_args_rest() and how far that got (KS_REST_*).
	 */
	__u32 args_total;
	__u64 args_ua;
	__u32 args_pos, args_rest;
	__u32 args_n, args_fr, args_ov;	/* the window: bytes, frame, overlap */
	__u32 args_argc;	/* argv's length (caller's argv: args_ua is argv) */
	/* the caller's argv (ks_fill_args_regs): the next element and offset */
	__u32 args_i, args_off, args_fill, args_stop;
	struct ks_event ev;
	/* the top-most dentries a path walk met (ks_task.bpf.h) */
	__u64 walk_top[KS_PATH_TOP];
	__u16 cand[KS_MAX_CANDS];
	__u32 hits[KS_MAX_ATOMS];
	__u32 cand_mark[KS_MAX_STEPS];
	/* the interleaved DFA walks' state and accept queue (ks_dfa.bpf.h) */
	struct ks_dfa_scan dscan;
	/* the payload prefilter's scan and candidates (bpf/ks_fdr.bpf.h) */
	struct ks_fdr_run fdr;
};

/*
 * What one cached executable path is valid for (ks_exe_cached): the task
 * it belongs to, that task's exec and executable file, and the root its
 * path is relative to. All zero: nothing cached.
 */
struct ks_exe_tag {
	__u64 task;		/* task_struct of the process (or its parent) */
	__u64 start;		/* its start_time: a new task at a reused address differs */
	__u64 exec_id;		/* its self_exec_id: +1 on every exec */
	__u64 exe_file;		/* its mm->exe_file (exec, PR_SET_MM_EXE_FILE) */
	__u64 root_d, root_m;	/* its fs->root (chroot, pivot_root, setns) */
};

/* One cached executable path: its slot, as the path walk left it. */
struct ks_exe_entry {
	struct ks_exe_tag tag;
	struct ks_strref exe, name;	/* process.executable / .name (or parent's) */
	__u16 truncated;		/* the two fields' ks_event.truncated bits */
	__u8 cut_head;
	__u8 pad[5];
	char slot[KS_PATH_MAX];
};

/* e[0] the task itself, e[1] its real parent; now: the tag being checked */
struct ks_task_cache {
	struct ks_exe_entry e[2];
	struct ks_exe_tag now;
};

#define KS_CTX_TASK	0
#define KS_CTX_SOFTIRQ	1
#define KS_CTX_N	2

KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KS_MAX_CPUS * KS_CTX_N);	/* resized at load */
	__type(key, __u32);
	__type(value, struct ks_scratch);
} ks_scratch SEC(".maps");

/* Counters: per CPU, one struct per context (see ks_scratch). */
KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KS_CTX_N);
	__type(key, __u32);
	__type(value, struct ks_stats);
} ks_stats SEC(".maps");

KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KS_MAX_RULES * 2);
	__type(key, __u32);		/* ks_rule.uid */
	__type(value, struct ks_rule_stats);
} ks_rule_stats SEC(".maps");

/* Pending sequences per (rule, join key): EQL state, LRU-evicted. */
KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);	/* kload --entities */
	__type(key, struct ks_entity_key);
	__type(value, struct ks_entity_val);
} ks_entity SEC(".maps");

/*
 * Per-task cache of the executable paths of a task and of its parent
 * (ks_task.bpf.h, ks_exe_cached): task storage, so an entry lives and dies
 * with its task_struct and only that task, running, ever reads or writes
 * it. Not pinned: a program set loaded later has its own, equally valid.
 */
KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ks_task_cache);
} ks_task_cache SEC(".maps");

/* Events for kload: matched or candidate events only. */
KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);	/* kload --ringbuf-size */
} ks_events SEC(".maps");

/*
 * Enforced events ks_events had no room for (KS_V_LOST set): kload drains
 * them and writes "enforced, event lost" alerts. A ring buffer of its own
 * (76 events): the one map type every program type here may use, the
 * sleepable replay program included. When it is full too,
 * ks_rule_stats.unqueued counts what did not fit.
 */
KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} ks_lost SEC(".maps");

KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ks_ctl);
} ks_ctl SEC(".maps");

/*
 * Rule index -> id, action and alert count. No program reads it: it lives
 * in the object so it is created with BTF and `bpftool map dump` names
 * the rules; kload fills it at every table swap.
 */
KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KS_MAX_RULES);
	__type(key, __u32);
	__type(value, struct ks_rule_name);
} ks_rules SEC(".maps");

/* Per alert output counters, written by kload (like ks_rules). */
KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KS_MAX_OUTPUTS);
	__type(key, __u32);
	__type(value, struct ks_output_stat);
} ks_outputs SEC(".maps");

KS_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KS_CREDSAVE_MAX);
	__type(key, __u64);
	__type(value, struct ks_cred_ids);
} ks_credsave SEC(".maps");

#endif /* KS_MAPS_BPF_H */
