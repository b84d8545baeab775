/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The evaluator: one event in per-CPU scratch -> DFA scan of its string
 * fields -> candidate steps from the trigger index -> step programs in
 * three-valued logic -> sequence state -> verdict, counters, forwarding.
 *
 * Every hook, the XDP program and the replay program call ks_evaluate(),
 * so `kload replay` runs the very bytecode that runs live.
 *
 * The heavy loops live in global (noinline, non-static) functions: the
 * verifier checks each of them once instead of once per call site, which
 * keeps every program far below the instruction limit on 6.1 and later.
 * Values the loops carry (DFA state, program stack) go through map memory
 * so the verifier sees one state per loop iteration, not one per path.
 *
 * About 1,150 lines in one header: the stages share the per-CPU scratch
 * layout and are inlined into one another under the verifier's eye, so
 * splitting them would only spread one scratch contract over headers.
 */
#ifndef KS_EVAL_BPF_H
#define KS_EVAL_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "ks_maps.bpf.h"
#include "maps/ks_fields.h"

/* vmlinux.h has no errno values: the one a denying LSM hook returns */
#ifndef EPERM
#define EPERM 1
#endif

#define KS_SCAN_MAX	(KS_PAYLOAD_MAX + 8)

/*
 * The value of a new ks_entity entry: 136 bytes the call chain's stack
 * cannot spare on 6.1, which also wants a map value (not a function
 * argument's memory) for bpf_map_update_elem().
 */
const volatile struct ks_entity_val ks_entity_zero;

/* Written by kload between open and load; disabled code is removed. */
const volatile struct ks_config ks_cfg = {
	.enforce_mode = KS_MODE_OBSERVE,
	.payload_depth = KS_PAYLOAD_DEFAULT,
	.rb_wakeup_bytes = 256 << 10,
};

/* Map value ceilings the verifier needs as constants. */
_Static_assert((KS_DFA_CELLS & (KS_DFA_CELLS - 1)) == 0, "cells pow2");
_Static_assert((KS_MAX_ATOMS & (KS_MAX_ATOMS - 1)) == 0, "atoms pow2");
_Static_assert((KS_MAX_STEPS & (KS_MAX_STEPS - 1)) == 0, "steps pow2");
_Static_assert((KS_MAX_ACC_LIST & (KS_MAX_ACC_LIST - 1)) == 0, "acc pow2");
_Static_assert((KS_MAX_TRIG_LIST & (KS_MAX_TRIG_LIST - 1)) == 0, "trig pow2");
_Static_assert((KS_MAX_INSNS & (KS_MAX_INSNS - 1)) == 0, "insns pow2");
_Static_assert((KS_MAX_RULES & (KS_MAX_RULES - 1)) == 0, "rules pow2");
_Static_assert((KS_MAX_CIDRS & (KS_MAX_CIDRS - 1)) == 0, "cidrs pow2");

/*
 * Clamp an index the verifier must see bounded. The barrier stops clang
 * from dropping the mask as redundant after a range check and then
 * folding base + index into an unbounded pointer.
 */
static __always_inline __u32 ks_bound(__u32 v, __u32 mask)
{
	barrier_var(v);
	return v & mask;
}

/* ---------------------------------------------------------------- */
/* scratch and counters                                             */

static __always_inline struct ks_stats *ks_stats_get(__u32 ctx)
{
	return bpf_map_lookup_elem(&ks_stats, &ctx);
}

/*
 * Claim this CPU's scratch slot for the context. A nested program on the
 * same CPU and context (preemption between two task-context hooks) finds
 * it busy and is counted as dropped instead of corrupting the event.
 */
static __always_inline struct ks_scratch *ks_scratch_get(__u32 ctx)
{
	__u32 key = bpf_get_smp_processor_id() * KS_CTX_N + ctx;
	struct ks_scratch *sc;

	sc = bpf_map_lookup_elem(&ks_scratch, &key);
	if (!sc)
		return NULL;
	if (__sync_lock_test_and_set(&sc->busy, 1))
		return NULL;
	sc->seq++;
	if (!sc->seq)	/* 0 would match never-written stamps */
		sc->seq = 1;
	sc->n_cand = 0;
	sc->relevant = 0;
	sc->scanned = 0;
	__builtin_memset(&sc->ev, 0, offsetof(struct ks_event, exe));
	return sc;
}

static __always_inline void ks_scratch_put(struct ks_scratch *sc)
{
	/* xchg: BPF has no release store, and the slot must not look free early */
	__sync_lock_test_and_set(&sc->busy, 0);
}

static __always_inline void ks_count(__u64 *c)
{
	__sync_fetch_and_add(c, 1);
}

/*
 * Whether some rule step can match an event of this action. When none
 * can, the hook counts the event as filtered and builds nothing. (No
 * tables: evaluate, which counts the event as dropped for that reason.)
 */
static __always_inline int ks_action_wanted(__u32 act)
{
	__u32 zero = 0;
	struct ks_tables *t;
	void *inner;

	inner = bpf_map_lookup_elem(&ks_gen, &zero);
	t = inner ? bpf_map_lookup_elem(inner, &zero) : NULL;
	if (!t || t->hdr.magic != KS_TABLES_MAGIC)
		return 1;
	return !!(t->hdr.action_mask & (1u << (act & 15)));
}

static __always_inline void ks_count_filtered(__u32 ctx, __u32 src)
{
	struct ks_stats *st = ks_stats_get(ctx);

	if (!st || src >= KS_SRC_N)
		return;
	ks_count(&st->events[src]);
	ks_count(&st->filtered[src]);
}

/* Count an event that never reached evaluation. */
static __always_inline void ks_count_drop(__u32 ctx, __u32 src, __u32 reason)
{
	struct ks_stats *st = ks_stats_get(ctx);

	if (!st || src >= KS_SRC_N || reason >= KS_DROP_N)
		return;
	ks_count(&st->events[src]);
	ks_count(&st->dropped[src][reason]);
}

/* ---------------------------------------------------------------- */
/* field access                                                     */

/*
 * Numeric fields and the presence of string fields are read through the
 * one list of kernel-filled fields (maps/ks_fields.h: ks_event_num,
 * ks_str_present_bit), which the compiler, its interpreter and kload use
 * too.
 */

/* Deliberate twin of cmp_s64 in rules-compiler/tablewalk.c, the C model
 * of this evaluator that the tests hold it to. */
static __always_inline int ks_cmp(__s64 a, __u32 op, __s64 b)
{
	switch (op) {
	case KS_CMP_EQ:
		return a == b;
	case KS_CMP_NE:
		return a != b;
	case KS_CMP_LT:
		return a < b;
	case KS_CMP_LE:
		return a <= b;
	case KS_CMP_GT:
		return a > b;
	case KS_CMP_GE:
		return a >= b;
	case KS_CMP_ANY:
		return (a & b) != 0;
	case KS_CMP_NONE:
		return (a & b) == 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* DFA scan and trigger index                                       */

static __always_inline void ks_cand_add(struct ks_scratch *sc, __u32 step)
{
	__u32 n;

	step &= KS_MAX_STEPS - 1;
	if (sc->cand_mark[step] == sc->seq)
		return;
	sc->cand_mark[step] = sc->seq;
	n = sc->n_cand;
	if (n >= KS_MAX_CANDS) {
		sc->ev.verdict.flags |= KS_V_CAND_OVERFLOW;
		return;
	}
	sc->cand[n] = step;
	sc->n_cand = n + 1;
}

/* Atom `atom` is true for this event: stamp it, queue its steps. */
__noinline int ks_atom_hit(struct ks_tables *t, struct ks_scratch *sc, __u32 atom)
{
	__u32 tr, first, cnt, j;

	if (!t || !sc)
		return 0;
	atom &= KS_MAX_ATOMS - 1;
	if (sc->hits[atom] == sc->seq)
		return 0;
	sc->hits[atom] = sc->seq;
	tr = t->atom_trig[atom];
	first = tr >> 16;
	cnt = tr & 0xffff;
	if (cnt > KS_MAX_CANDS)		/* userspace judges every step */
		sc->ev.verdict.flags |= KS_V_CAND_OVERFLOW;
	for (j = 0; j < KS_MAX_CANDS; j++) {	/* more would overflow the list */
		if (j >= cnt)
			break;
		ks_cand_add(sc, t->trig_list[(first + j) & (KS_MAX_TRIG_LIST - 1)]);
	}
	return 0;
}

/* Cell offsets are masked with the table's size - 4 (maps/ks_abi.h). */
#define KS_TAB_MASK	(KS_DFA_CELLS * 4 - 4)

/* The cell at byte offset s + col of the table: the next state. */
static __always_inline __u32 ks_next(struct ks_tables *t, __u32 s, __u32 col)
{
	return *(__u32 *)((__u8 *)t->dfa + ((s + col) & KS_TAB_MASK));
}

/*
 * Accepting cell: every atom in its output list is true. The list is
 * named by the spare cell of the state's row (maps/ks_dfa.h).
 */
__noinline int ks_accept(struct ks_tables *t, struct ks_scratch *sc, __u32 cell)
{
	__u32 a, first, cnt, j;

	if (!t || !sc)
		return 0;
	a = ks_next(t, cell & ~KS_DFA_ACC, t->dfa_hdr.row_bytes - 4);
	first = a >> 8;
	cnt = a & 0xff;
	for (j = 0; j < KS_MAX_ACC_PER_STATE; j++) {
		if (j >= cnt)
			break;
		ks_atom_hit(t, sc, t->acc_list[(first + j) & (KS_MAX_ACC_LIST - 1)]);
	}
	return 0;
}

/*
 * A field is scanned in chunks of KS_SCAN_CHUNK bytes, one bpf_loop()
 * callback per chunk: the verifier checks one chunk instead of every
 * iteration of a 1.5 KiB loop (whose jump history it cannot hold), and
 * the per-chunk call costs little next to the per-byte work.
 */
#define KS_SCAN_CHUNK	64

struct ks_scan_ctx {
	struct ks_tables *t;
	struct ks_scratch *sc;
	const __u16 *col;	/* byte -> column offset */
	__u32 s;
	__u32 pos;
	__u32 end;
};

/*
 * One step, the accept flag tested through a value the verifier does not
 * link to the cell (see ks_dfa_any_acc in ks_dfa.bpf.h): a branch on the
 * cell itself splits every step into states it cannot prune.
 */
static __always_inline __u32 ks_feed(struct ks_scan_ctx *c, __u32 s, __u32 col)
{
	__u32 acc;

	s = ks_next(c->t, s, col);
	acc = s >> 31;
	barrier_var(acc);
	if (acc)
		ks_accept(c->t, c->sc, s);
	return s;
}

static long ks_scan_chunk(__u32 idx, struct ks_scan_ctx *c)
{
	struct ks_tables *t = c->t;
	__u8 *base = (__u8 *)&c->sc->ev;
	const __u16 *col = c->col;
	__u32 s = c->s, pos = c->pos, i;
	long stop = 0;

	for (i = 0; i < KS_SCAN_CHUNK; i++) {
		__u8 ch;

		if (pos >= c->end || !s || pos >= sizeof(struct ks_event)) {
			stop = 1;
			break;
		}
		/* the mask is a no-op after the check, but it survives the
		 * compiler hoisting base + pos above it */
		ch = base[ks_bound(pos, 0xfff)];
		pos++;
		if (!ch) {	/* process.args: NUL ends an element */
			s = ks_feed(c, s, t->dfa_hdr.col_end);
			s = ks_feed(c, s, t->dfa_hdr.col_begin);
			continue;
		}
		s = ks_feed(c, s, col[ch]);
	}
	c->s = s;
	c->pos = pos;
	return stop;
}

/* Every accepting cell the walks queued in sc->dscan: verified once. */
__noinline int ks_dfa_drain_q(struct ks_tables *t, struct ks_scratch *sc)
{
	__u32 i, n;

	if (!t || !sc)
		return 0;
	n = sc->dscan.nq;
	for (i = 0; i < KS_DFA_Q; i++) {
		if (i >= n)
			break;
		ks_accept(t, sc, sc->dscan.q[i]);
	}
	sc->dscan.nq = 0;
	return 0;
}

/*
 * Plain frames (every field but process.args) go through the walk of
 * ks_dfa.bpf.h: KS_DFA_SCAN_WALKS interleaved walks, no per-byte test but
 * the accept flag. The bytes are read as event bytes [pos & 0xfff]: the
 * scratch value runs on for more than 4 KiB after the event.
 */
#define KS_DFA_TAB_MASK		KS_TAB_MASK
#define KS_DFA_BUF_MASK		0xfff
#define ks_dfa_drain(cb)						\
	ks_dfa_drain_q((struct ks_tables *)(cb)->h,			\
		       container_of((cb)->sc, struct ks_scratch, dscan))
#include "ks_dfa.bpf.h"

_Static_assert(sizeof(struct ks_scratch) - __builtin_offsetof(struct ks_scratch, ev) > KS_DFA_BUF_MASK,
	       "event bytes read under the mask stay in the scratch value");

/* Which frame sentinels a scanned range gets. */
#define KS_FR_BEGIN	KS_DFA_FR_BEGIN
#define KS_FR_END	KS_DFA_FR_END
/* ks_scan_range()'s `how`: field, case mode and frame in one argument */
#define KS_SCAN_HOW(f, fold, frame)	((f) | (fold) << 8 | (frame) << 16)

/*
 * One frame of a plain field (not process.args) through the walk of
 * ks_dfa.bpf.h. Global: verified once, and a frame of its own in the
 * call chain, apart from ks_scan_elems' (6.1 allows 512 bytes of stack
 * over the whole chain, each frame rounded up to 32).
 */
__noinline int ks_scan_frame(struct ks_tables *t, struct ks_scratch *sc, __u32 how, __u32 off,
			     __u32 len)
{
	__u32 f = how & 0xff, fold = (how >> 8) & 0xff, frame = how >> 16;
	struct ks_dfa_cb cb = {};

	if (!t || !sc || f >= KS_F_STR_N || fold >= KS_CASE_N)
		return 0;
	cb.buf = (const __u8 *)&sc->ev;
	cb.tab = (const __u8 *)t->dfa;
	/* the command line reads NUL as ' ' through its own column map */
	cb.col = t->dfa_hdr.col[ks_bound(fold + (f == KS_F_PROCESS_COMMAND_LINE ? 2 : 0), 3)];
	cb.sc = &sc->dscan;
	cb.h = t;
	return ks_dfa_scan_value(&cb, &t->dfa_hdr, &t->dfa_hdr.autos[f][fold], off, len,
				 KS_DFA_SCAN_WALKS, frame);
}

/*
 * process.args: NUL-separated elements, each framed, in one walk with a
 * test per byte. Global, so the verifier checks the chunk loop once.
 */
__noinline int ks_scan_elems(struct ks_tables *t, struct ks_scratch *sc, __u32 how, __u32 off,
			     __u32 len)
{
	struct ks_scan_ctx c = {};
	__u32 f = how & 0xff, fold = (how >> 8) & 0xff, frame = how >> 16;

	if (!t || !sc || f >= KS_F_STR_N || fold >= KS_CASE_N)
		return 0;
	c.s = t->dfa_hdr.autos[f][fold].start;
	if (!c.s)
		return 0;
	c.t = t;
	c.sc = sc;
	c.col = t->dfa_hdr.col[ks_bound(fold, 1)];
	c.pos = off;
	if (len > KS_SCAN_MAX)
		len = KS_SCAN_MAX;
	c.end = c.pos + len;

	if (frame & KS_FR_BEGIN)
		c.s = ks_feed(&c, c.s, t->dfa_hdr.col_begin);
	bpf_loop((len + KS_SCAN_CHUNK - 1) / KS_SCAN_CHUNK, ks_scan_chunk, &c, 0);
	if (c.s && (frame & KS_FR_END))
		ks_feed(&c, c.s, t->dfa_hdr.col_end);
	return len;
}

/*
 * Walk event bytes [off, off + len) of a field through its automaton,
 * `how` saying which field, case mode and frame sentinels. Returns the
 * bytes scanned.
 */
static __always_inline int ks_scan_range(struct ks_tables *t, struct ks_scratch *sc, __u32 how,
					 __u32 off, __u32 len)
{
	if (off >= sizeof(struct ks_event))
		return 0;
	if (len > sizeof(struct ks_event) - off)
		len = sizeof(struct ks_event) - off;
	if ((how & 0xff) == KS_F_PROCESS_ARGS)
		return ks_scan_elems(t, sc, how, off, len);
	return ks_scan_frame(t, sc, how, off, len);
}

/*
 * Scan field `f` as "\x01" value "\x02". A cut path (ks_task.bpf.h) is
 * two walks that nothing joins: "\x01" head, then tail "\x02" (the
 * tail is right-aligned in its slot, the head at the slot's start), so a
 * hit is always true of the real path; ks_insn_tv() decides the misses.
 */
__noinline int ks_scan(struct ks_tables *t, struct ks_scratch *sc, __u32 f, __u32 fold)
{
	__u32 off, len, slot;

	if (!t || !sc || f >= KS_F_STR_N || fold >= KS_CASE_N ||
	    !t->dfa_hdr.autos[f][fold].start)
		return 0;
	off = sc->ev.str[f].off;
	len = sc->ev.str[f].len;
	if (!(sc->ev.truncated & KS_F_PATH_MASK & (1u << f)))
		return ks_scan_range(t, sc, KS_SCAN_HOW(f, fold, KS_FR_BEGIN | KS_FR_END), off,
				     len);
	slot = off + len - KS_PATH_MAX;
	return ks_scan_range(t, sc, KS_SCAN_HOW(f, fold, KS_FR_END), off, len) +
	       ks_scan_range(t, sc, KS_SCAN_HOW(f, fold, KS_FR_BEGIN), slot,
			     sc->ev.cut_head[KS_PATH_IDX(f) & (KS_PATH_SLOTS - 1)]);
}

/*
 * Scan every string field that has an automaton in either case mode,
 * but those in `skip` (scanned already).
 */
static __always_inline __u64 ks_scan_fields(struct ks_tables *t, struct ks_scratch *sc,
					    __u32 skip)
{
	struct ks_event *ev = &sc->ev;
	__u64 bytes = 0;
	__u32 f, m;

	for (f = 1; f < KS_F_STR_N; f++) {
		if (!(ev->present & ks_str_present_bit(f)) || (skip & (1u << f)))
			continue;
		for (m = 0; m < KS_CASE_N; m++)
			bytes += ks_scan(t, sc, f, m);
	}
	return bytes;
}

/*
 * The early decision of a file event whose process is not filled yet
 * (maps/ks_tables.h, hdr.trig_fields; modelled by ks_walk_early() in
 * rules-compiler/tablewalk.c). When every trigger of every step that can
 * match the action lies in the file fields and the path is whole, scan
 * those fields: no candidate means no step can be true, and the event is
 * counted filtered here, exactly once. Otherwise the hits and candidates
 * stay for ks_evaluate(), which scans only the other fields. Returns 1
 * when the event was counted.
 */
static __always_inline int ks_early_filtered(struct ks_scratch *sc, __u32 src)
{
	struct ks_event *ev = &sc->ev;
	struct ks_tables *t;
	struct ks_stats *st;
	__u32 zero = 0;
	void *inner;

	inner = bpf_map_lookup_elem(&ks_gen, &zero);
	t = inner ? bpf_map_lookup_elem(inner, &zero) : NULL;
	if (!t || t->hdr.magic != KS_TABLES_MAGIC ||
	    (t->hdr.trig_fields[ev->action & 15] & ~KS_EARLY_FIELDS) ||
	    (ev->truncated & KS_F_PATH_MASK))
		return 0;
	st = ks_stats_get(KS_CTX_TASK);
	if (!st || src >= KS_SRC_N)
		return 0;
	sc->scanned = KS_EARLY_FIELDS;
	st->dfa_bytes += ks_scan_fields(t, sc, ~KS_EARLY_FIELDS);
	if (sc->n_cand || (ev->verdict.flags & KS_V_CAND_OVERFLOW))
		return 0;
	ks_count(&st->events[src]);
	ks_count(&st->filtered[src]);
	return 1;
}

/* Steps with no string atom are candidates for every event of their category. */
static __always_inline void ks_cat_cands(struct ks_tables *t, struct ks_scratch *sc,
					 __u32 cat)
{
	__u32 c, first, cnt, j;

	if (cat >= KS_CAT_N)
		return;
	c = t->cat_first[cat];
	first = c >> 16;
	cnt = c & 0xffff;
	for (j = 0; j < KS_MAX_CANDS; j++) {
		if (j >= cnt)
			break;
		ks_cand_add(sc, t->cat_list[(first + j) & (KS_MAX_STEPS - 1)]);
	}
}

struct ks_cut_ctx {
	struct ks_tables *t;
	struct ks_scratch *sc;
	__u32 cut;	/* truncated path field bits */
	__u32 k, j;	/* path slot, index in its cut_list range */
};

/* One bpf_loop() step: the next cut_list entry, or on to the next slot. */
static long ks_cut_cand(__u32 i, struct ks_cut_ctx *c)
{
	__u32 k = c->k, j = c->j, v;

	if (k >= KS_PATH_SLOTS)
		return 1;
	v = c->t->cut_first[k];
	if (!(c->cut & (1u << KS_PATH_FIELD(k))) || j >= (v & 0xffff)) {
		c->k = k + 1;
		c->j = 0;
		return 0;
	}
	ks_cand_add(c->sc, c->t->cut_list[((v >> 16) + j) & (KS_PATH_SLOTS * KS_MAX_STEPS - 1)]);
	c->j = j + 1;
	return 0;
}

/*
 * A cut path may hide the trigger atom of a step (an undecided miss):
 * its cut_list steps are candidates too, block/kill rules first.
 */
static __always_inline void ks_cut_cands(struct ks_tables *t, struct ks_scratch *sc)
{
	struct ks_cut_ctx c = { .t = t, .sc = sc, .cut = sc->ev.truncated & KS_F_PATH_MASK };

	bpf_loop(KS_MAX_CANDS + KS_PATH_SLOTS, ks_cut_cand, &c, 0);
}

/* ---------------------------------------------------------------- */
/* step programs: postfix, three-valued, stack as two bit vectors   */

__noinline int ks_cidr_match(struct ks_tables *t, struct ks_scratch *sc, __u32 field,
			     __u32 idx)
{
	const struct ks_cidr *c;
	const __u8 *ip;
	__u32 i, bits;

	if (!t || !sc)
		return 0;
	c = &t->cidrs[idx & (KS_MAX_CIDRS - 1)];
	ip = field == KS_F_SOURCE_IP ? sc->ev.saddr : sc->ev.daddr;
	bits = c->prefix;

	for (i = 0; i < 16; i++) {
		__u8 mask;

		if (bits >= 8)
			mask = 0xff;
		else if (bits)
			mask = (__u8)(0xff << (8 - bits));
		else
			break;
		if ((ip[i] ^ c->addr[i]) & mask)
			return 0;
		bits = bits >= 8 ? bits - 8 : 0;
	}
	return 1;
}

/*
 * A miss of an atom on a cut path is decided only when every pattern of
 * it fits what was scanned: a prefix within the head, a suffix within the
 * tail. An equality cannot hold (the real path is longer than any pattern
 * that fits a slot) unless the walk never reached the root (no head), and
 * a substring could lie in the cut middle (KS_ATOM_MIDDLE).
 */
static __always_inline int ks_cut_undecided(const struct ks_event *ev, const struct ks_insn *in)
{
	__u32 f = in->field & 15, head;

	if (!(ev->truncated & KS_F_PATH_MASK & (1u << f)))
		return 0;
	head = ev->cut_head[KS_PATH_IDX(f) & (KS_PATH_SLOTS - 1)];
	return !head || (in->imm & KS_ATOM_MIDDLE) || KS_ATOM_PREFIX(in->imm) > head ||
	       KS_ATOM_SUFFIX(in->imm) > ev->str[f].len;
}

/* Value of one leaf instruction (not AND/OR/NOT). */
__noinline int ks_insn_tv(struct ks_tables *t, struct ks_scratch *sc, __u32 idx)
{
	const struct ks_insn *in;
	struct ks_event *ev;
	__s64 v = 0;

	if (!t || !sc)
		return KS_TV_FALSE;
	in = &t->insns[idx & (KS_MAX_INSNS - 1)];
	ev = &sc->ev;

	switch (in->op) {
	case KS_OP_TRUE:
		return KS_TV_TRUE;
	case KS_OP_ATOM:
		if (sc->hits[in->arg & (KS_MAX_ATOMS - 1)] == sc->seq)
			return KS_TV_TRUE;
		return ks_cut_undecided(ev, in) ? KS_TV_UNKNOWN : KS_TV_FALSE;
	case KS_OP_CMP:
		if (!ks_event_num(ev, in->field, &v))
			return KS_TV_FALSE;
		return ks_cmp(v, in->cmp, (__s64)in->imm);
	case KS_OP_CIDR:
		if (!(ev->present & KS_P_NET))
			return KS_TV_FALSE;
		return ks_cidr_match(t, sc, in->field, in->arg);
	case KS_OP_PRESENT:
		if (KS_F_IS_STR(in->field))
			return !!(ev->present & ks_str_present_bit(in->field));
		if (in->field == KS_F_SOURCE_IP || in->field == KS_F_DEST_IP)
			return !!(ev->present & KS_P_NET);
		return !!ks_event_num(ev, in->field, &v);
	case KS_OP_STRLEN:
		if (!KS_F_IS_STR(in->field) ||
		    !(ev->present & ks_str_present_bit(in->field)))
			return KS_TV_FALSE;
		return ks_cmp(ev->str[in->field & 15].len, in->cmp, (__s64)in->imm);
	case KS_OP_USER:
		return KS_TV_UNKNOWN;
	}
	return KS_TV_FALSE;
}

/* Combine two three-valued operands (a on top of the stack, b below). */
static __always_inline __u32 ks_tv_bin(__u32 op, __u32 a, __u32 b)
{
	if (op == KS_OP_AND) {
		if (a == KS_TV_FALSE || b == KS_TV_FALSE)
			return KS_TV_FALSE;
		if (a == KS_TV_UNKNOWN || b == KS_TV_UNKNOWN)
			return KS_TV_UNKNOWN;
		return KS_TV_TRUE;
	}
	if (a == KS_TV_TRUE || b == KS_TV_TRUE)
		return KS_TV_TRUE;
	if (a == KS_TV_UNKNOWN || b == KS_TV_UNKNOWN)
		return KS_TV_UNKNOWN;
	return KS_TV_FALSE;
}

/* The stack: bit 0 of stk_val/stk_unk is the top (true / unknown). */
static __always_inline __u32 ks_pop(struct ks_scratch *sc)
{
	__u32 tv = (sc->stk_unk & 1) ? KS_TV_UNKNOWN : (__u32)(sc->stk_val & 1);

	sc->stk_val >>= 1;
	sc->stk_unk >>= 1;
	return tv;
}

static __always_inline void ks_push(struct ks_scratch *sc, __u32 tv)
{
	sc->stk_val = (sc->stk_val << 1) | (tv == KS_TV_TRUE);
	sc->stk_unk = (sc->stk_unk << 1) | (tv == KS_TV_UNKNOWN);
}

struct ks_prog_ctx {
	struct ks_tables *t;
	struct ks_scratch *sc;
	__u32 pc;
	__u32 len;
};

/* One instruction per bpf_loop() iteration: verified once, whatever the length. */
static long ks_prog_insn(__u32 i, struct ks_prog_ctx *c)
{
	struct ks_scratch *sc = c->sc;
	__u32 idx, op, a, b;

	if (i >= c->len)
		return 1;
	idx = (c->pc + i) & (KS_MAX_INSNS - 1);
	op = c->t->insns[idx].op;
	switch (op) {
	case KS_OP_AND:
	case KS_OP_OR:
		a = ks_pop(sc);
		b = ks_pop(sc);
		ks_push(sc, ks_tv_bin(op, a, b));
		break;
	case KS_OP_NOT:
		a = ks_pop(sc);
		ks_push(sc, a == KS_TV_UNKNOWN ? a : !a);
		break;
	default:
		ks_push(sc, ks_insn_tv(c->t, sc, idx));
	}
	return 0;
}

/* Run the program of `step`: KS_TV_FALSE, KS_TV_TRUE or KS_TV_UNKNOWN. */
__noinline int ks_eval_step(struct ks_tables *t, struct ks_scratch *sc, __u32 step)
{
	struct ks_prog_ctx c = {};
	const struct ks_step *s;

	if (!t || !sc)
		return KS_TV_FALSE;
	s = &t->steps[step & (KS_MAX_STEPS - 1)];
	if (s->category != KS_CAT_ANY && s->category != sc->ev.category)
		return KS_TV_FALSE;
	if (!s->prog_len)	/* "where true" */
		return KS_TV_TRUE;
	c.t = t;
	c.sc = sc;
	c.pc = s->prog;
	c.len = s->prog_len < KS_MAX_PROG_LEN ? s->prog_len : KS_MAX_PROG_LEN;
	sc->stk_val = 0;
	sc->stk_unk = 0;
	bpf_loop(c.len, ks_prog_insn, &c, 0);
	return ks_pop(sc);
}

/* ---------------------------------------------------------------- */
/* sequences                                                        */

/*
 * Join keys: SipHash-2-4 under ks_cfg.hash_key (random per load) over the
 * word encoding described at struct ks_entity_key, whole values only. The
 * state lives in sc->hash; string bytes go in eight words per bpf_loop()
 * callback.
 */
#define KS_HASH_CHUNK	8

struct ks_hash_ctx {
	struct ks_scratch *sc;
};

static long ks_hash_chunk(__u32 idx, struct ks_hash_ctx *c)
{
	struct ks_scratch *sc = c->sc;
	__u8 *base = (__u8 *)&sc->ev;
	struct ks_sip h = sc->hash;	/* in registers for the chunk */
	__u32 i, pos = sc->hash_pos, end = sc->hash_end;
	long stop = 0;

	for (i = 0; i < KS_HASH_CHUNK; i++) {
		__u64 m;

		if (pos >= end || pos >= sizeof(struct ks_event)) {
			stop = 1;
			break;
		}
		/* a whole word, bytes past the value masked off below */
		m = *(__u64 *)(base + ks_bound(pos, 0xfff));
		if (sc->hash_spaces)
			m = ks_sip_nul_to_space(m);
		ks_sip_word(&h, ks_sip_keep(m, end - pos));
		pos += 8;
	}
	sc->hash = h;
	sc->hash_pos = pos;
	return stop;
}

/* One join field into sc->hash: its header word, then its value. */
__noinline int ks_hash_field(struct ks_scratch *sc, __u32 f)
{
	struct ks_hash_ctx c = { .sc = sc };
	struct ks_event *ev;
	__u64 w0 = 0, w1 = 0;
	__u32 present, len;
	__s64 v = 0;

	if (!sc)
		return 0;
	ev = &sc->ev;
	if (KS_F_IS_STR(f)) {
		struct ks_strref r = ev->str[ks_bound(f, 15)];

		present = !!(ev->present & ks_str_present_bit(f));
		/* a value reaching past the event (a malformed replay) reads as empty */
		len = present && r.off + r.len <= sizeof(struct ks_event) ? r.len : 0;
		ks_sip_word(&sc->hash, KS_JOIN_HDR(present, len));
		sc->hash_pos = r.off;
		sc->hash_end = r.off + len;
		sc->hash_spaces = f == KS_F_PROCESS_COMMAND_LINE;
		bpf_loop((len + 8 * KS_HASH_CHUNK - 1) / (8 * KS_HASH_CHUNK), ks_hash_chunk, &c, 0);
		return 0;
	}
	len = 8;
	if (f == KS_F_ENTITY_ID || f == KS_F_PARENT_ENTITY_ID) {
		w0 = f == KS_F_ENTITY_ID ? ev->entity : ev->parent_entity;
		present = w0 != 0;
	} else if (f == KS_F_SOURCE_IP || f == KS_F_DEST_IP) {
		__u64 *a = (__u64 *)(f == KS_F_SOURCE_IP ? ev->saddr : ev->daddr);

		w0 = a[0];
		w1 = a[1];
		present = (w0 | w1) != 0;
		len = 16;
	} else {
		present = !!ks_event_num(ev, f, &v);
		w0 = v;
	}
	ks_sip_word(&sc->hash, KS_JOIN_HDR(present, len));
	ks_sip_word(&sc->hash, w0);
	if (len == 16)
		ks_sip_word(&sc->hash, w1);
	return 0;
}

static __always_inline __u64 ks_join_hash(struct ks_scratch *sc, const struct ks_step *s)
{
	__u32 j;

	ks_sip_init(&sc->hash, ks_cfg.hash_key[0], ks_cfg.hash_key[1]);
	for (j = 0; j < KS_MAX_JOIN; j++) {
		if (j >= s->n_join)
			break;
		ks_hash_field(sc, s->join[j]);
	}
	return ks_sip_final(&sc->hash);
}

/* Does the event hold only part of some join value of step s? */
static __always_inline int ks_join_cut(const struct ks_event *ev, const struct ks_step *s)
{
	__u32 j, bits = 0;

	for (j = 0; j < KS_MAX_JOIN; j++) {
		if (j >= s->n_join)
			break;
		bits |= ks_field_cut_bits(s->join[j]);
	}
	return !!(ev->truncated & bits);
}

static __always_inline int ks_entity_empty(const struct ks_entity_val *v, __u32 n)
{
	__u32 k;

	for (k = 0; k < KS_MAX_KSTEPS; k++)
		if (k < n && v->start[k])
			return 0;
	return 1;
}

/* ks_seq_step() results */
#define KS_SEQ_NOOP	(-2)	/* nothing pending for this step: irrelevant */
#define KS_SEQ_FAIL	(-1)	/* state could not be stored */
#define KS_SEQ_MOVED	0	/* started, advanced, expired or cut by until */
#define KS_SEQ_DONE	1	/* completed the rule */

/*
 * A new entry for key. NULL when the LRU map cannot take one (counted:
 * the event goes to kload all the same, whose NFA then holds the
 * sequence, so nothing is lost but the kernel's enforcement of it).
 */
static __always_inline struct ks_entity_val *ks_entity_new(struct ks_entity_key *key,
							   struct ks_stats *st)
{
	struct ks_entity_val *v;

	/* -EEXIST: another CPU inserted the key since our lookup */
	if (!bpf_map_update_elem(&ks_entity, key, (void *)&ks_entity_zero, BPF_NOEXIST))
		ks_count(&st->entity_inserts);
	v = bpf_map_lookup_elem(&ks_entity, key);
	if (!v)
		ks_count(&st->entity_insert_failures);
	return v;
}

/*
 * Advance the kernel-kept sequence state of a rule for a true step.
 * Returns KS_SEQ_*: an event that changes no state of a kernel-tracked
 * sequence need not reach userspace, whose NFA sees the same stream.
 *
 * The state is found by a 64-bit keyed hash, not by the whole join value:
 * two values share an entry only if SipHash collides under a key nobody
 * outside the kernel and kload knows, about 2^-64 per pair of values. If
 * it happened, one value's sequence could finish on the other's event.
 */
__noinline int ks_seq_step(struct ks_tables *t, struct ks_scratch *sc, __u32 step,
			   struct ks_stats *st)
{
	struct ks_entity_key key = {};
	struct ks_entity_val *v;
	const struct ks_step *s;
	const struct ks_rule *r;
	__u64 now, start;
	__u32 k, n;

	if (!t || !sc || !st)
		return 0;
	s = &t->steps[step & (KS_MAX_STEPS - 1)];
	r = &t->rules[s->rule & (KS_MAX_RULES - 1)];
	n = r->n_steps;
	now = sc->ev.ts_ns;
	key.rule_uid = r->uid;
	key.join_hash = ks_join_hash(sc, s);
	v = bpf_map_lookup_elem(&ks_entity, &key);

	if (s->flags & KS_S_UNTIL) {
		if (!v)
			return KS_SEQ_NOOP;
		if (bpf_map_delete_elem(&ks_entity, &key) == 0)
			ks_count(&st->entity_deletes);
		return KS_SEQ_MOVED;
	}
	k = s->index;
	if (k == 0) {
		if (!v)
			v = ks_entity_new(&key, st);
		if (!v)
			return KS_SEQ_FAIL;
		v->start[1] = now;	/* newest overwrites */
		v->updated_ns = now;
		ks_count(&st->seq_started);
		return KS_SEQ_MOVED;
	}
	if (!v || k >= KS_MAX_KSTEPS)
		return KS_SEQ_NOOP;
	start = v->start[k];
	if (!start)
		return KS_SEQ_NOOP;
	v->start[k] = 0;
	if (r->maxspan_ns && now - start > r->maxspan_ns) {
		ks_count(&st->expired);
		goto out;
	}
	if (k + 1 >= n) {
		ks_count(&st->seq_completed);
		/* consumed: the completed sequence leaves no state */
		if (ks_entity_empty(v, n) && bpf_map_delete_elem(&ks_entity, &key) == 0)
			ks_count(&st->entity_deletes);
		return KS_SEQ_DONE;
	}
	v->start[(k + 1) & (KS_MAX_KSTEPS - 1)] = start;
out:
	v->updated_ns = now;
	if (ks_entity_empty(v, n) && bpf_map_delete_elem(&ks_entity, &key) == 0)
		ks_count(&st->entity_deletes);
	return KS_SEQ_MOVED;
}

/* ---------------------------------------------------------------- */
/* matches, enforcement, forwarding                                  */

/* Keep matches sorted by descending step id: a rule's later steps first. */
__noinline int ks_match_add(struct ks_scratch *sc, __u32 step, __u32 flags)
{
	struct ks_verdict *vd;
	__u32 n, i;

	if (!sc)
		return 0;
	vd = &sc->ev.verdict;
	n = vd->n_match;
	if (n >= KS_MAX_MATCH) {
		vd->flags |= KS_V_MATCH_OVERFLOW;
		return 0;
	}
	for (i = KS_MAX_MATCH - 1; i > 0; i--) {
		if (i > n)
			continue;
		if (vd->match[i - 1].step >= step)
			break;
		vd->match[i] = vd->match[i - 1];
	}
	if (i >= KS_MAX_MATCH)
		return 0;
	vd->match[i].step = step;
	vd->match[i].flags = flags;
	vd->n_match = n + 1;
	return 0;
}

static __always_inline struct ks_rule_stats *ks_rule_stats_get(__u32 uid)
{
	struct ks_rule_stats *rs, zero = {};

	rs = bpf_map_lookup_elem(&ks_rule_stats, &uid);
	if (rs)
		return rs;
	bpf_map_update_elem(&ks_rule_stats, &uid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ks_rule_stats, &uid);
}

__noinline int ks_rule_count(__u32 uid, __u32 completed)
{
	struct ks_rule_stats *rs = ks_rule_stats_get(uid);

	if (!rs)
		return 0;
	rs->matches++;
	if (completed)
		rs->completions++;
	return 0;
}

/*
 * The verdict's rule blocked or killed. When its event could not be
 * forwarded (lost), keep it in ks_lost for kload, or count it there too.
 */
__noinline int ks_rule_enforced(struct ks_tables *t, struct ks_scratch *sc, struct ks_stats *st,
				__u32 lost)
{
	struct ks_verdict *vd;
	struct ks_rule_stats *rs;
	const struct ks_rule *r;

	if (!t || !sc || !st)
		return 0;
	vd = &sc->ev.verdict;
	r = &t->rules[vd->enforced_rule & (KS_MAX_RULES - 1)];
	rs = ks_rule_stats_get(r->uid);
	if (!rs)
		return 0;
	if (r->action == KS_RA_KILL)
		rs->kills++;
	else
		rs->blocks++;
	if (!lost)
		return 0;
	rs->unreported++;
	ks_count(&st->enforce_lost);
	vd->flags = (vd->flags & ~KS_V_FORWARD) | KS_V_LOST;
	if (bpf_ringbuf_output(&ks_lost, &sc->ev, sizeof(sc->ev), BPF_RB_NO_WAKEUP)) {
		rs->unqueued++;
		ks_count(&st->enforce_unqueued);
	}
	return 0;
}

/*
 * Act on match i: advance kernel-kept sequences, note completions and the
 * strongest action, count. Results go to sc->relevant and sc->best in map
 * memory, so the caller's loop carries no values the verifier must track
 * per path (6.1's verifier cannot prune such loops within its budget).
 */
__noinline int ks_apply_match(struct ks_tables *t, struct ks_scratch *sc, struct ks_stats *st,
			      __u32 i)
{
	const struct ks_step *s;
	const struct ks_rule *r;
	struct ks_match *m;
	int done = 0;

	if (!t || !sc || !st)
		return 0;
	m = &sc->ev.verdict.match[i & (KS_MAX_MATCH - 1)];
	s = &t->steps[m->step & (KS_MAX_STEPS - 1)];
	r = &t->rules[s->rule & (KS_MAX_RULES - 1)];
	if (!(m->flags & KS_M_EXACT) || !(r->flags & KS_R_EXACT)) {
		sc->relevant++;		/* userspace decides */
		return 0;
	}
	if (!(r->flags & KS_R_SEQUENCE)) {
		done = 1;
	} else if ((r->flags & KS_R_KSTATE) && ks_join_cut(&sc->ev, s)) {
		/* a cut value cannot be joined exactly: kload's NFA does it */
		m->flags &= ~KS_M_EXACT;
		ks_count(&st->join_cut);
	} else if (r->flags & KS_R_KSTATE) {
		int res = ks_seq_step(t, sc, m->step, st);

		if (res == KS_SEQ_NOOP)
			return 0;	/* changes nothing anywhere */
		done = res == KS_SEQ_DONE;
	}
	sc->relevant++;
	if (done) {
		m->flags |= KS_M_COMPLETED;
		if (r->action + 1 > sc->best) {
			sc->best = r->action + 1;
			sc->ev.verdict.enforced_rule = s->rule;
			sc->ev.verdict.enforced_uid = r->uid;
		}
	}
	ks_rule_count(r->uid, done);
	return 0;
}

/*
 * Match flags for a step that is not false. A step whose program the
 * kernel decides entirely (KS_S_EXACT) is unknown only where a cut path
 * left an atom undecided: it is taken as true (KS_M_CUT), so a block or
 * kill rule fails closed, and an alert rule alerts, on a path too long
 * to see whole; kestrel_field_truncations_total counts every cut.
 */
static __always_inline __u32 ks_match_flags(struct ks_tables *t, __u32 step, __u32 tv)
{
	if (tv == KS_TV_TRUE)
		return KS_M_EXACT;
	if (t->steps[step & (KS_MAX_STEPS - 1)].flags & KS_S_EXACT)
		return KS_M_EXACT | KS_M_CUT;
	return 0;
}

/*
 * Evaluate all candidates; returns the strongest completed action + 1, or
 * 0. Sets sc->relevant to the number of matches userspace must see.
 */
__noinline int ks_decide(struct ks_tables *t, struct ks_scratch *sc, struct ks_stats *st)
{
	__u32 i;

	if (!t || !sc || !st)
		return 0;
	for (i = 0; i < KS_MAX_CANDS; i++) {
		__u32 step, tv;

		if (i >= sc->n_cand)
			break;
		step = sc->cand[i] & (KS_MAX_STEPS - 1);
		tv = ks_eval_step(t, sc, step);
		if (tv == KS_TV_FALSE)
			continue;
		ks_match_add(sc, step, ks_match_flags(t, step, tv));
	}
	sc->relevant = 0;
	sc->best = 0;
	/* descending step order: a sequence never advances twice on one event */
	for (i = 0; i < KS_MAX_MATCH; i++) {
		if (i >= sc->ev.verdict.n_match)
			break;
		ks_apply_match(t, sc, st, i);
	}
	return sc->best;
}

/* kestrel_field_truncations_total{field}: one count per cut string field. */
static __always_inline void ks_count_truncations(struct ks_stats *st, __u32 bits)
{
	__u32 f;

	for (f = 1; f < KS_F_STR_N; f++)
		if (bits & (1u << f))
			st->truncations[f]++;
}

/* Batch wakeups: kload polls with a timeout, so latency stays bounded. */
static __always_inline __u64 ks_rb_wakeup_flags(void)
{
	if (bpf_ringbuf_query(&ks_events, BPF_RB_AVAIL_DATA) >= ks_cfg.rb_wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Returns 0, or 1 when the ring buffer had no room (counted as dropped). */
static __always_inline int ks_forward(struct ks_scratch *sc, struct ks_stats *st, __u32 src)
{
	__u64 flags = ks_rb_wakeup_flags();

	sc->ev.verdict.flags |= KS_V_FORWARD;
	if (bpf_ringbuf_output(&ks_events, &sc->ev, sizeof(sc->ev), flags)) {
		ks_count(&st->dropped[src][KS_DROP_RINGBUF_FULL]);
		return 1;
	}
	ks_count(&st->forwarded[src]);
	return 0;
}

/* What the caller may do to enforce a block/kill verdict. */
#define KS_CAN_DENY	(1u << 0)	/* LSM hook or XDP: refuse the operation */
#define KS_CAN_SIGNAL	(1u << 1)	/* task context: bpf_send_signal() */
#define KS_SIMULATE	(1u << 2)	/* replay: record what live would do */

/*
 * Evaluate the event in sc->ev (source `src`) and account for it exactly
 * once: filtered, forwarded or dropped. Returns KS_RA_* of the enforced
 * action, after setting KS_V_DENIED/KS_V_KILLED; the caller turns
 * KS_V_DENIED into -EPERM or XDP_DROP.
 */
static __always_inline __u32 ks_evaluate(struct ks_scratch *sc, __u32 ctx, __u32 src,
					 __u32 caps)
{
	struct ks_verdict *vd = &sc->ev.verdict;
	struct ks_tables *t;
	struct ks_stats *st;
	__u32 zero = 0, action = KS_RA_ALERT;
	__u64 t0 = bpf_ktime_get_ns(), dt;
	struct ks_ctl *ctl;
	void *inner;
	int best, lost = 0;

	st = ks_stats_get(ctx);
	if (!st || src >= KS_SRC_N)
		return KS_RA_ALERT;
	ks_count(&st->events[src]);
	/* kload's own file and socket activity (alert files!) is never judged */
	if (ks_cfg.self_tgid && ctx == KS_CTX_TASK && src != KS_SRC_REPLAY &&
	    (bpf_get_current_pid_tgid() >> 32) == ks_cfg.self_tgid) {
		ks_count(&st->filtered[src]);
		return KS_RA_ALERT;
	}

	inner = bpf_map_lookup_elem(&ks_gen, &zero);
	t = inner ? bpf_map_lookup_elem(inner, &zero) : NULL;
	if (!t || t->hdr.magic != KS_TABLES_MAGIC) {
		ks_count(&st->dropped[src][KS_DROP_NO_TABLES]);
		return KS_RA_ALERT;
	}
	ctl = bpf_map_lookup_elem(&ks_ctl, &zero);
	vd->generation = t->hdr.generation;
	if (sc->ev.truncated)
		ks_count_truncations(st, sc->ev.truncated);

	st->dfa_bytes += ks_scan_fields(t, sc, sc->scanned);
	ks_cat_cands(t, sc, KS_CAT_ANY);
	ks_cat_cands(t, sc, sc->ev.category);
	if (sc->ev.truncated & KS_F_PATH_MASK)
		ks_cut_cands(t, sc);
	best = ks_decide(t, sc, st);

	if (best > KS_RA_ALERT + 1 && ks_cfg.enforce_mode != KS_MODE_OBSERVE &&
	    !(ctl && ctl->observe_only)) {
		action = best - 1;
		vd->action = action;
		if (caps & KS_SIMULATE) {
			if (ks_cfg.enforce_mode == KS_MODE_LSM && action == KS_RA_BLOCK)
				vd->flags |= KS_V_DENIED;
			else
				vd->flags |= KS_V_KILLED;
		} else {
			if ((caps & KS_CAN_DENY) && (action == KS_RA_BLOCK || !(caps & KS_CAN_SIGNAL)))
				vd->flags |= KS_V_DENIED;
			if ((caps & KS_CAN_SIGNAL) &&
			    (action == KS_RA_KILL || !(caps & KS_CAN_DENY))) {
				bpf_send_signal(9 /* SIGKILL */);
				vd->flags |= KS_V_KILLED;
			}
		}
	}

	if (sc->relevant || (vd->flags & (KS_V_CAND_OVERFLOW | KS_V_MATCH_OVERFLOW)))
		lost = ks_forward(sc, st, src);
	else
		ks_count(&st->filtered[src]);
	if (vd->flags & (KS_V_DENIED | KS_V_KILLED))
		ks_rule_enforced(t, sc, st, lost);

	dt = bpf_ktime_get_ns() - t0;
	st->eval_ns_sum += dt;
	st->eval_ns_hist[ks_hist_bucket(dt) & (KS_HIST_BUCKETS - 1)]++;
	return action;
}

#endif /* KS_EVAL_BPF_H */
