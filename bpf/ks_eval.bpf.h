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
 * Defined in kestrel.bpf.c. ks_cfg is written by kload between open and
 * load: rodata, which the verifier reads as constants, so disabled code
 * is removed.
 */
extern const volatile struct ks_entity_val ks_entity_zero;
extern const volatile struct ks_config ks_cfg;

/* Map value ceilings the verifier needs as constants. */
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
	sc->stamp_due = 0;
	sc->args_total = 0;
	sc->args_rest = 0;
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
 * The current generation's tables, or NULL when none is installed. A host
 * event looks the generation up once, in ks_event_begin(), and hands that
 * pointer to every later stage (ks_early_filtered, ks_evaluate_in): the
 * action filter and the evaluation see one generation, and the outer and
 * inner map lookups are paid once.
 */
static __always_inline struct ks_tables *ks_tables_current(void)
{
	__u32 zero = 0;
	struct ks_tables *t;
	void *inner;

	inner = bpf_map_lookup_elem(&ks_gen, &zero);
	t = inner ? bpf_map_lookup_elem(inner, &zero) : NULL;
	return t && t->hdr.magic == KS_TABLES_MAGIC ? t : NULL;
}

/*
 * Whether some rule step can match an event of this action. When none
 * can, the hook counts the event as filtered and builds nothing. (No
 * tables: evaluate, which counts the event as dropped for that reason.)
 */
static __always_inline int ks_tables_want(const struct ks_tables *t, __u32 act)
{
	return !t || (t->hdr.action_mask & (1u << (act & 15)));
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

int ks_atom_hit(struct ks_tables *t, struct ks_scratch *sc, __u32 atom);

/*
 * Cell offsets are masked with the loaded size class - 4 (maps/ks_tables.h):
 * a rodata constant, so the verifier bounds the load by the map value.
 */
#define KS_TAB_MASK	(ks_cfg.dfa_mask)

/* The cell at byte offset s + col of the table: the next state. */
static __always_inline __u32 ks_next(struct ks_tables *t, __u32 s, __u32 col)
{
	return *(__u32 *)((__u8 *)t->dfa + ((s + col) & KS_TAB_MASK));
}

int ks_accept(struct ks_tables *t, struct ks_scratch *sc, __u32 cell);

/*
 * A field is scanned in chunks of KS_SCAN_CHUNK bytes, one bpf_loop()
 * callback per chunk: the verifier checks one chunk instead of every
 * iteration of a 1.5 KiB loop (whose jump history it cannot hold), and
 * the per-chunk call costs little next to the per-byte work.
 */
#define KS_SCAN_CHUNK	64

/* Its pointers; the walk's state, position and end are in sc->elem_*. */
struct ks_scan_ctx {
	struct ks_tables *t;
	struct ks_scratch *sc;
	const __u16 *col;	/* byte -> column offset */
};

/*
 * One step outside the chunk loop (the sentinels), the accept flag tested
 * through a value the verifier does not link to the cell: a branch on the
 * cell itself would leave two states (its accept bit known 0 and 1).
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

int ks_dfa_drain_q(struct ks_tables *t, struct ks_scratch *sc);

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

/* One step inside a chunk: the cell queued (ks_dfa_qput), drained once per chunk. */
static __always_inline __u32 ks_feed_q(struct ks_scan_ctx *c, __u32 s, __u32 col, __u32 *nq)
{
	s = ks_next(c->t, s, col);
	*nq = ks_dfa_qput(&c->sc->dscan, *nq, s);
	return s;
}

_Static_assert(KS_DFA_Q >= 2 * KS_SCAN_CHUNK, "a chunk's accepts fit the queue");

static long ks_scan_chunk(__u32 idx, struct ks_scan_ctx *c)
{
	struct ks_tables *t = c->t;
	struct ks_scratch *sc = c->sc;
	const __u16 *col = c->col;
	__u32 s = sc->elem_s, pos = sc->elem_pos, nq = 0, i;
	long stop = 0;

	/* the end is read per byte: as a local it would cost this frame 32
	 * bytes of stack, past the 512 that 6.1 allows the chain */
	for (i = 0; i < KS_SCAN_CHUNK; i++) {
		__u8 ch;

		if (pos >= sc->elem_end || !s || pos >= sizeof(struct ks_event)) {
			stop = 1;
			break;
		}
		/* the mask is a no-op after the check, but it survives the
		 * compiler hoisting the address above it */
		ch = ((__u8 *)&sc->ev)[ks_bound(pos, 0xfff)];
		pos++;
		if (!ch) {	/* process.args: NUL ends an element */
			s = ks_feed_q(c, s, t->dfa_hdr.col_end, &nq);
			s = ks_feed_q(c, s, t->dfa_hdr.col_begin, &nq);
			continue;
		}
		s = ks_feed_q(c, s, col[ch], &nq);
	}
	sc->elem_s = s;
	sc->elem_pos = pos;
	sc->dscan.nq = nq;
	if (nq)
		ks_dfa_drain_q(t, sc);
	return stop;
}

_Static_assert(sizeof(struct ks_scratch) - __builtin_offsetof(struct ks_scratch, ev) > KS_DFA_BUF_MASK,
	       "event bytes read under the mask stay in the scratch value");

/* Which frame sentinels a scanned range gets. */
#define KS_FR_BEGIN	KS_DFA_FR_BEGIN
#define KS_FR_END	KS_DFA_FR_END
/* ks_scan_range()'s `how`: field, case mode and frame in one argument */
#define KS_SCAN_HOW(f, fold, frame)	((f) | (fold) << 8 | (frame) << 16)

int ks_scan_frame(struct ks_tables *t, struct ks_scratch *sc, __u32 how, __u32 off, __u32 len);

int ks_scan_elems(struct ks_tables *t, struct ks_scratch *sc, __u32 how, __u32 off, __u32 len);

int ks_scan_fdr(struct ks_tables *t, struct ks_scratch *sc, __u32 fold);
int ks_need_scan(struct ks_tables *t, struct ks_scratch *sc, __u32 how, __u32 off, __u32 len);

/*
 * ks_scan()'s fold argument: the need filter has passed the whole value
 * in this case mode already (ks_need_modes), do not test it again.
 */
#define KS_SCAN_NEEDED	0x100u

/*
 * The bytes of [off, off + len) a scan takes: none past the event, and
 * no more of process.args than ks_scan_elems walks. 0 for an off past
 * the event, whatever len.
 */
static __always_inline __u32 ks_scan_len(__u32 f, __u32 off, __u32 len)
{
	if (off >= sizeof(struct ks_event))
		return 0;
	if (len > sizeof(struct ks_event) - off)
		len = sizeof(struct ks_event) - off;
	if (f == KS_F_PROCESS_ARGS && len > KS_SCAN_MAX)
		len = KS_SCAN_MAX;
	return len;
}

/*
 * Walk event bytes [off, off + len) of a field through its automaton,
 * `how` saying which field, case mode and frame sentinels, unless the
 * automaton's need filter rules the range out (`needed`: the caller
 * tested it). Returns the bytes scanned (a range ruled out counts as
 * scanned, as the C model counts it).
 */
static __always_inline int ks_scan_range(struct ks_tables *t, struct ks_scratch *sc, __u32 how,
					 __u32 off, __u32 len, __u32 needed)
{
	if (off >= sizeof(struct ks_event))
		return 0;
	len = ks_scan_len(how & 0xff, off, len);
	if (!needed && !ks_need_scan(t, sc, how, off, len))
		return len;
	if ((how & 0xff) == KS_F_PROCESS_ARGS)
		return ks_scan_elems(t, sc, how, off, len);
	return ks_scan_frame(t, sc, how, off, len);
}

int ks_scan(struct ks_tables *t, struct ks_scratch *sc, __u32 f, __u32 fold);

int ks_scan_args_rest(struct ks_tables *t, struct ks_scratch *sc);

/*
 * The frame of a whole field's walk: both sentinels, but no end sentinel
 * on a cut argument vector (its kept bytes do not end the value: a suffix
 * or an equality there would be a false hit).
 */
static __always_inline __u32 ks_args_frame(const struct ks_scratch *sc, __u32 f)
{
	if ((KS_F_ARGS_MASK & (1u << f)) && (sc->ev.truncated & (1u << KS_F_PROCESS_ARGS)))
		return KS_FR_BEGIN;
	return KS_FR_BEGIN | KS_FR_END;
}

/* The programs that can see a payload (KS_F_PAYLOAD). */
#define KS_SRC_PAYLOAD(src)	((src) == KS_SRC_XDP || (src) == KS_SRC_REPLAY)

int ks_scan_payload(struct ks_tables *t, struct ks_scratch *sc, __u32 f, __u32 fold);

/* ks_scan(), or in the programs that can see a payload ks_scan_payload(). */
static __always_inline __u32 ks_scan_value(struct ks_tables *t, struct ks_scratch *sc, __u32 f,
					   __u32 fold, __u32 src)
{
	if (KS_SRC_PAYLOAD(src))
		return ks_scan_payload(t, sc, f, fold);
	return ks_scan(t, sc, f, fold);
}

/* ks_need_modes(): bits 0 and 1 as KS_NEED_WALK << m, per case mode m */
#define KS_NEED_WALK	0x1u	/* walk the field in mode m */
#define KS_NEED_TESTED	0x10u	/* the walk bits come from the test of the whole value */
#define KS_NEED_BYTES	8	/* bits from 8 on: the bytes of the modes ruled out */

_Static_assert(KS_NEED_TESTED << 4 == KS_SCAN_NEEDED, "ks_scan_fields() shifts one into the other");

int ks_need_modes(struct ks_tables *t, struct ks_scratch *sc, __u32 f);

/*
 * Scan every string field that has an automaton in either case mode,
 * but those in `skip` (scanned already). ks_need_modes() tests both case
 * modes of a field in one pass over its value: a field that no automaton
 * of it can match (the usual exec: bench/profile/exec8-stages.txt) costs
 * one call, no ks_scan() and no bpf_loop(). A mode it rules out counts
 * its bytes as scanned, as ks_scan() would. The sum is kept in the
 * scratch, not a register: the verifier then has one state per field
 * whichever modes were walked.
 */
static __always_inline void ks_scan_field(struct ks_tables *t, struct ks_scratch *sc, __u32 f,
					  __u32 skip, __u32 src)
{
	__u32 m;
	int need;

	if (!(sc->ev.present & ks_str_present_bit(f)) || (skip & (1u << f)))
		return;
	need = ks_need_modes(t, sc, f);
	sc->scan_bytes += (__u32)need >> KS_NEED_BYTES;
	for (m = 0; m < KS_CASE_N; m++)
		if (need & (KS_NEED_WALK << m))
			sc->scan_bytes += ks_scan_value(t, sc, f, m | ((need & KS_NEED_TESTED) << 4),
							src);
}

/*
 * The exec program's field loop is unrolled: ks_str_present_bit(f) folds
 * to one constant test per field. As a loop it is a chain of compares
 * per field, each field taking another path through it, mispredicted
 * after fork/exec: ~100 ns of the exec event's median
 * (bench/profile/exec9-stages.txt). Only there: unrolled in every
 * program it made the BPF object 37 % larger and kload's RSS 1.3 MiB
 * more, for hooks that do not follow a fork/exec.
 */
static __always_inline __u64 ks_scan_fields(struct ks_tables *t, struct ks_scratch *sc,
					    __u32 skip, __u32 src)
{
	__u32 f;

	sc->scan_bytes = 0;
	if (src == KS_SRC_EXEC) {
#pragma unroll
		for (f = 1; f < KS_F_STR_N; f++)
			ks_scan_field(t, sc, f, skip, src);
	} else {
		for (f = 1; f < KS_F_STR_N; f++)
			ks_scan_field(t, sc, f, skip, src);
	}
	return sc->scan_bytes;
}

/*
 * The early fields of a file event, each scanned as one whole frame (the
 * early decision runs only on paths that were not cut): only the fields
 * the event holds and the case modes that have an automaton cost a call.
 */
static __always_inline __u64 ks_scan_early(struct ks_tables *t, struct ks_scratch *sc)
{
	struct ks_event *ev = &sc->ev;
	const __u32 frame = KS_FR_BEGIN | KS_FR_END;
	__u64 bytes = 0;
	__u32 f, m;

	/* constant bounds: unrolled, the mask and present bits fold */
	for (f = KS_F_FILE_PATH; f <= KS_F_FILE_ORIG_EXT; f++) {
		if (!(KS_EARLY_FIELDS & (1u << f)) || !(ev->present & ks_str_present_bit(f)))
			continue;
		for (m = 0; m < KS_CASE_N; m++)
			if (t->dfa_hdr.autos[f][m].start)
				bytes += ks_scan_range(t, sc, KS_SCAN_HOW(f, m, frame),
						       ev->str[f].off, ev->str[f].len, 0);
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
static __always_inline int ks_early_filtered(struct ks_tables *t, struct ks_scratch *sc,
					     __u32 src)
{
	struct ks_event *ev = &sc->ev;
	struct ks_stats *st;

	if (!t || (t->hdr.trig_fields[ev->action & 15] & ~KS_EARLY_FIELDS) ||
	    (ev->truncated & KS_F_PATH_MASK))
		return 0;
	st = ks_stats_get(KS_CTX_TASK);
	if (!st || src >= KS_SRC_N)
		return 0;
	sc->scanned = KS_EARLY_FIELDS;
	st->dfa_bytes += ks_scan_early(t, sc);
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
	__u32 cut;	/* truncated bits of the cut slots (KS_CUT_MASK) */
	__u32 k, j;	/* cut slot, index in its cut_list range */
};

/* One bpf_loop() step: the next cut_list entry, or on to the next slot. */
static long ks_cut_cand(__u32 i, struct ks_cut_ctx *c)
{
	__u32 k = c->k, j = c->j, v;

	if (k >= KS_CUT_SLOTS)
		return 1;
	v = c->t->cut_first[k];
	if (!(c->cut & KS_CUT_BIT(k)) || j >= (v & 0xffff)) {
		c->k = k + 1;
		c->j = 0;
		return 0;
	}
	ks_cand_add(c->sc, c->t->cut_list[((v >> 16) + j) & (KS_CUT_LIST_MAX - 1)]);
	c->j = j + 1;
	return 0;
}

/*
 * A cut field (a path, the argument vector) may hide the trigger atom of
 * a step (an undecided miss): its cut_list steps are candidates too,
 * block/kill rules first.
 */
static __always_inline void ks_cut_cands(struct ks_tables *t, struct ks_scratch *sc)
{
	struct ks_cut_ctx c = { .t = t, .sc = sc, .cut = sc->ev.truncated & KS_CUT_MASK };

	bpf_loop(KS_MAX_CANDS + KS_CUT_SLOTS, ks_cut_cand, &c, 0);
}

/*
 * The string fields an event of this action must have scanned before its
 * candidates are known: those of hdr.trig_fields (the trigger atoms of
 * every step that can match the action). Every field for an action past
 * the table (kload's userspace-only ones): no step matches it anyway.
 */
static __always_inline __u32 ks_trig_fields(const struct ks_tables *t, __u32 act)
{
	return act < KS_ACT_N ? t->hdr.trig_fields[act & 15] : ~0u;
}

/*
 * Scan, then collect the candidates: first the trigger fields of the
 * event's action, then the category lists (when a step indexed by
 * category can match the action: bit KS_F_NONE) and the cut-field
 * lists. Only when some
 * step is a candidate are the other fields scanned, for the atoms the
 * candidates' programs test beside their trigger (a step can match the
 * action only through a trigger in those fields or a category list, so
 * with no candidate every step is false; hdr.trig_fields is exact about
 * that: see build_trig_fields in rules-compiler/lower.c). An exec with
 * no candidate skips e.g. process.name when no exec step triggers on it:
 * each scan of a field is several cold table and column-map lines after
 * fork/exec (bench/profile/exec5-*.txt). Modelled by ks_walk_event() in
 * rules-compiler/tablewalk.c.
 */
static __always_inline void ks_scan_triggers(struct ks_tables *t, struct ks_scratch *sc,
					     struct ks_stats *st, __u32 src)
{
	__u32 done = sc->scanned;

	/* through the scratch, not a register: 6.1's stack (see ks_scan_frame) */
	sc->scanned = done | ks_trig_fields(t, sc->ev.action);
	st->dfa_bytes += ks_scan_fields(t, sc, done | ~sc->scanned, src);
	/* the argument area past the kept bytes, once per event */
	if ((src == KS_SRC_EXEC || src == KS_SRC_FORK || src == KS_SRC_CRED) && sc->args_total &&
	    !sc->args_rest)
		st->dfa_bytes += ks_scan_args_rest(t, sc);
	/* no step indexed by category can match the action: no list read */
	if (ks_trig_fields(t, sc->ev.action) & (1u << KS_F_NONE)) {
		ks_cat_cands(t, sc, KS_CAT_ANY);
		ks_cat_cands(t, sc, sc->ev.category);
	}
	if (sc->ev.truncated & KS_CUT_MASK)
		ks_cut_cands(t, sc);
	if (sc->n_cand || (sc->ev.verdict.flags & KS_V_CAND_OVERFLOW))
		st->dfa_bytes += ks_scan_fields(t, sc, sc->scanned, src);
}

/* ---------------------------------------------------------------- */
/* step programs: postfix, three-valued, stack as two bit vectors   */

int ks_cidr_match(struct ks_tables *t, struct ks_scratch *sc, __u32 field, __u32 idx);

/*
 * A miss of an atom on a cut path is decided only when every pattern of
 * it fits what was scanned: a prefix within the head, a suffix within the
 * tail. An equality cannot hold (the real path is longer than any pattern
 * that fits a slot) unless the walk never reached the root (no head), and
 * a substring could lie in the cut middle (KS_ATOM_MIDDLE).
 * A cut argument vector keeps its head only, unless ks_scan_args_rest()
 * walked the rest of it (args_whole: then a miss is a miss); in a block/kill rule
 * (KS_ATOM_ARGS_CLOSED; an alert rule's miss is a miss) a miss on
 * process.command_line is decided for prefixes and equalities within it
 * (KS_ATOM_PREFIX), never on process.args, whose unseen elements could
 * hold any pattern.
 */
static __always_inline int ks_cut_undecided(const struct ks_event *ev, const struct ks_insn *in,
					    int args_whole)
{
	__u32 f = in->field & 15, head;

	if (KS_F_ARGS_MASK & (1u << f))
		return !args_whole && (ev->truncated & (1u << KS_F_PROCESS_ARGS)) &&
		       (in->imm & KS_ATOM_ARGS_CLOSED) &&
		       (f == KS_F_PROCESS_ARGS || (in->imm & KS_ATOM_MIDDLE) ||
			KS_ATOM_SUFFIX(in->imm) || KS_ATOM_PREFIX(in->imm) > ev->str[f].len);
	if (!(ev->truncated & KS_F_PATH_MASK & (1u << f)))
		return 0;
	head = ev->cut_head[KS_PATH_IDX(f) & (KS_PATH_SLOTS - 1)];
	return !head || (in->imm & KS_ATOM_MIDDLE) || KS_ATOM_PREFIX(in->imm) > head ||
	       KS_ATOM_SUFFIX(in->imm) > ev->str[f].len;
}

int ks_insn_tv(struct ks_tables *t, struct ks_scratch *sc, __u32 idx);

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

int ks_eval_step(struct ks_tables *t, struct ks_scratch *sc, __u32 step);

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

int ks_hash_field(struct ks_scratch *sc, __u32 f);

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

	for (k = 0; k < KS_MAX_KSTEPS - 1; k++)
		if (k + 1 < n && v->start[k])
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

int ks_seq_step(struct ks_tables *t, struct ks_scratch *sc, __u32 step, struct ks_stats *st);

/* ---------------------------------------------------------------- */
/* matches, enforcement, forwarding                                  */

int ks_match_add(struct ks_scratch *sc, __u32 step, __u32 flags);

static __always_inline struct ks_rule_stats *ks_rule_stats_get(__u32 uid)
{
	struct ks_rule_stats *rs, zero = {};

	rs = bpf_map_lookup_elem(&ks_rule_stats, &uid);
	if (rs)
		return rs;
	bpf_map_update_elem(&ks_rule_stats, &uid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ks_rule_stats, &uid);
}

int ks_rule_count(__u32 uid, __u32 completed);

int ks_rule_enforced(struct ks_tables *t, struct ks_scratch *sc, struct ks_stats *st, __u32 lost);

int ks_apply_match(struct ks_tables *t, struct ks_scratch *sc, struct ks_stats *st, __u32 i);

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

int ks_decide(struct ks_tables *t, struct ks_scratch *sc, struct ks_stats *st);

/*
 * ks_decide() unless no step is a candidate and nothing matched (most
 * events): then it would only clear relevant and best, and its code is
 * cold after fork/exec (bench/profile/exec8-stages.txt).
 */
static __always_inline int ks_decide_in(struct ks_tables *t, struct ks_scratch *sc,
					struct ks_stats *st)
{
	if (sc->n_cand || sc->ev.verdict.n_match)
		return ks_decide(t, sc, st);
	sc->relevant = 0;
	sc->best = 0;
	return 0;
}

/* kestrel_field_truncations_total{field}: one count per cut string field. */
static __always_inline void ks_count_truncations(struct ks_stats *st, __u32 bits)
{
	__u32 f;

	for (f = 1; f < KS_F_STR_N; f++)
		if (bits & (1u << f))
			st->truncations[f]++;
}

/*
 * The event's @timestamp (boot ns), read from the clock the first time
 * something needs it: the copy to kload and a kernel sequence's step. A
 * live hook asks for it (ks_event_due) instead of reading the clock up
 * front: most events are judged and dropped without it, and a clock read
 * was ~40 ns of a 1,500-byte packet's ~750 in a VM (kvm-clock;
 * bench/profile/lazy-stamp.txt). Replayed events bring theirs.
 */
static __always_inline __u64 ks_event_time(struct ks_scratch *sc)
{
	if (sc->stamp_due) {
		sc->ev.ts_ns = bpf_ktime_get_boot_ns();
		sc->stamp_due = 0;
	}
	return sc->ev.ts_ns;
}

static __always_inline void ks_event_due(struct ks_scratch *sc)
{
	sc->stamp_due = 1;
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
	ks_event_time(sc);
	if (bpf_ringbuf_output(&ks_events, &sc->ev, sizeof(sc->ev), flags)) {
		ks_count(&st->dropped[src][KS_DROP_RINGBUF_FULL]);
		return 1;
	}
	ks_count(&st->forwarded[src]);
	return 0;
}

/*
 * kload's switch to observe-only (struct ks_ctl), read only when a rule
 * would enforce: the lookup is one more cold line for every other event.
 */
static __always_inline int ks_observe_only(void)
{
	__u32 zero = 0;
	struct ks_ctl *ctl = bpf_map_lookup_elem(&ks_ctl, &zero);

	return ctl && ctl->observe_only;
}

/* What the caller may do to enforce a block/kill verdict. */
#define KS_CAN_DENY	(1u << 0)	/* LSM hook or XDP: refuse the operation */
#define KS_CAN_SIGNAL	(1u << 1)	/* task context: bpf_send_signal() */
#define KS_SIMULATE	(1u << 2)	/* replay: record what live would do */

/*
 * Evaluate the event in sc->ev (source `src`) against tables t (the
 * generation the caller looked up; NULL: none installed) and account for
 * it exactly once: filtered, forwarded or dropped. Returns KS_RA_* of the
 * enforced action, after setting KS_V_DENIED/KS_V_KILLED; the caller
 * turns KS_V_DENIED into -EPERM or XDP_DROP.
 */
static __always_inline __u32 ks_evaluate_in(struct ks_tables *t, struct ks_scratch *sc,
					    __u32 ctx, __u32 src, __u32 caps)
{
	struct ks_verdict *vd = &sc->ev.verdict;
	struct ks_stats *st;
	__u32 action = KS_RA_ALERT;
	__u64 t0 = 0, dt;
	bool timed;
	int best, lost = 0;

	st = ks_stats_get(ctx);
	if (!st || src >= KS_SRC_N)
		return KS_RA_ALERT;
	/*
	 * One event in 2^time_shift is timed (maps/ks_state.h), and replay
	 * never: nothing reads its engine's histogram, and two clock reads
	 * were 8 % of a replayed event's kernel time in a VM (kvm-clock;
	 * bench/profile/replay-cli-before.txt). The count is read racily:
	 * it only picks the sample.
	 */
	timed = src != KS_SRC_REPLAY &&
		!(st->events[src] & ((1ull << (ks_cfg.time_shift & 31)) - 1));
	if (timed)
		t0 = bpf_ktime_get_ns();
	ks_count(&st->events[src]);
	/* kload's own file and socket activity (alert files!) is never judged */
	if (ks_cfg.self_tgid && ctx == KS_CTX_TASK && src != KS_SRC_REPLAY &&
	    (bpf_get_current_pid_tgid() >> 32) == ks_cfg.self_tgid) {
		ks_count(&st->filtered[src]);
		return KS_RA_ALERT;
	}

	if (!t) {
		ks_count(&st->dropped[src][KS_DROP_NO_TABLES]);
		return KS_RA_ALERT;
	}
	vd->generation = t->hdr.generation;
	if (sc->ev.truncated)
		ks_count_truncations(st, sc->ev.truncated);

	ks_scan_triggers(t, sc, st, src);
	best = ks_decide_in(t, sc, st);

	if (best > KS_RA_ALERT + 1 && ks_cfg.enforce_mode != KS_MODE_OBSERVE &&
	    !ks_observe_only()) {
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

	if (!timed)
		return action;
	dt = bpf_ktime_get_ns() - t0;
	st->eval_ns_sum += dt;
	st->eval_ns_hist[ks_hist_bucket(dt) & (KS_HIST_BUCKETS - 1)]++;
	return action;
}

/* ks_evaluate_in() with the current generation, for events that filter nothing before. */
static __always_inline __u32 ks_evaluate(struct ks_scratch *sc, __u32 ctx, __u32 src,
					 __u32 caps)
{
	return ks_evaluate_in(ks_tables_current(), sc, ctx, src, caps);
}

#endif /* KS_EVAL_BPF_H */
