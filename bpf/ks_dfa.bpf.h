/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The walk over the DFA image (maps/ks_dfa.h), with its C model in
 * rules-compiler/dfawalk.c: same plan, same order of hits.
 *
 * Per byte and walk: a byte load, a column load, an add, a mask and the
 * cell load; every cell is stored to a queue in map memory without a
 * branch on the accept flag (ks_dfa_qput, ks_dfa_queue_steps), drained
 * once per chunk. No multiply, no mode test; no dead-state test per byte when
 * walks interleave (the dead row maps to itself; they check for it once
 * per chunk), one when a walk is alone (ks_dfa_chunk1).
 *
 * 1, 2 or 4 walks step together over overlapping segments, so the CPU
 * runs independent load chains side by side (the walk is bound by the
 * latency of the cell load, not by the instructions).
 *
 * The including file defines, before including this header:
 *   KS_DFA_TAB_MASK   the table mask (a const volatile rodata value, so
 *                     the verifier knows it and the map value size fits;
 *                     read once per chunk: volatile, it would be a load
 *                     per byte and walk)
 *   KS_DFA_BUF_MASK   bytes are read as buf[pos & KS_DFA_BUF_MASK], buf a
 *                     map value of at least KS_DFA_BUF_MASK + 1 bytes
 *   ks_dfa_drain(cb)  a function that records the atoms of every cell
 *                     queued in cb->sc->q[0 .. nq) and sets nq to 0
 */
#ifndef KS_DFA_BPF_H
#define KS_DFA_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "maps/ks_dfa.h"

#define KS_DFA_CHUNK	64
_Static_assert(KS_DFA_Q >= KS_DFA_CHUNK * KS_DFA_MAX_WALKS, "one chunk fits the queue");

/* What a chunk callback needs; on the caller's stack. */
struct ks_dfa_cb {
	const __u8 *buf;
	const __u8 *tab;
	const __u16 *col;
	struct ks_dfa_scan *sc;
	void *h;
};

static __always_inline __u32 ks_dfa_cell(const __u8 *tab, __u32 s, __u32 col, __u32 mask)
{
	return *(const __u32 *)(tab + ((s + col) & mask));
}

static __always_inline __u32 ks_dfa_next(const __u8 *tab, __u32 s, __u32 col)
{
	return ks_dfa_cell(tab, s, col, KS_DFA_TAB_MASK);
}

/*
 * Queue cell s after nq queued ones and return the new count, without a
 * branch: the slot is written every step, the count moves only for an
 * accepting cell. A branch on the accept bit would split every step into
 * two verifier states that do not meet again before the end of the chunk
 * (bench/profile/attach9-verifier.txt).
 */
static __always_inline __u32 ks_dfa_qput(struct ks_dfa_scan *sc, __u32 nq, __u32 s)
{
	sc->q[nq & (KS_DFA_Q - 1)] = s;
	return nq + (s >> 31);
}

/* One step of every walk at lockstep index i of the chunk. */
#define KS_DFA_STEP_M(k, m)						\
	s##k = ks_dfa_cell(tab, s##k, col[buf[(p##k + i) & KS_DFA_BUF_MASK]], m)
#define KS_DFA_STEP(k)	KS_DFA_STEP_M(k, mask)

/*
 * The interleaved chunks (2 and 4 walks) store every step's cells at the
 * step's own slots, q[i * walks + k], and OR them into sc->any (memory,
 * not a register: 6.1's stack, see ks_dfa_chunk4): no count to move per
 * cell. At the chunk's end the queue is all of them if any accepted (the
 * drain skips the cells that do not), else empty. A store and an OR per
 * cell, where ks_dfa_qput's count adds a shift, an add and a mask, on a
 * loop bound by its instructions (bench/profile/c4-step-slots.txt). The
 * queue is empty when a chunk starts: every chunk, sentinel and rest
 * drains it.
 */
static __always_inline void ks_dfa_queue_steps(struct ks_dfa_scan *sc, __u32 cells)
{
	sc->nq = cells & -(sc->any >> 31);
	sc->any = 0;
}

/* Walk k's state and position back to the scan after i lockstep steps. */
#define KS_DFA_SAVE(k)							\
	do {								\
		sc->s[k] = s##k;					\
		sc->pos[k] = p##k + i;					\
	} while (0)

/*
 * The end of every chunk callback (1, 2 or 4 walks): the steps left, the
 * queued accepts drained; stop when every walk is dead (`live` 0) or the
 * segment is done.
 */
static __always_inline long ks_dfa_chunk_end(struct ks_dfa_cb *c, __u32 n, __u32 i, __u32 live)
{
	struct ks_dfa_scan *sc = c->sc;

	sc->steps = n - i;
	if (sc->nq)
		ks_dfa_drain(c);
	return !live || n <= KS_DFA_CHUNK;
}

/*
 * Twin of ks_dfa_chunk2 with one walk (see there why they are written
 * out); inline, so the prefilter's confirm (ks_fdr.bpf.h) walks its
 * windows in its own callback, not in a bpf_loop nested in it (a call
 * frame more: 8 is the verifier's limit, and the evaluator's chain
 * from ks_replay to ks_atom_hit is 8 deep).
 */
static __always_inline long ks_dfa_walk1(struct ks_dfa_cb *c)
{
	const __u8 *buf = c->buf, *tab = c->tab;
	const __u16 *col = c->col;
	const __u32 mask = KS_DFA_TAB_MASK;
	struct ks_dfa_scan *sc = c->sc;
	__u32 s0 = sc->s[0], p0 = sc->pos[0], n = sc->steps, nq = sc->nq, i;

	for (i = 0; i < KS_DFA_CHUNK; i++) {
		if (i >= n)
			break;
		KS_DFA_STEP(0);
		nq = ks_dfa_qput(sc, nq, s0);
		/*
		 * One walk is a short value or an anchored automaton: it
		 * stops where it dies, not at the end of the chunk (file
		 * paths die after a byte or two under anchored patterns).
		 */
		if (!s0) {
			i++;
			break;
		}
	}
	KS_DFA_SAVE(0);
	sc->nq = nq;
	return ks_dfa_chunk_end(c, n, i, s0);
}

static long ks_dfa_chunk1(__u32 idx, struct ks_dfa_cb *c)
{
	return ks_dfa_walk1(c);
}

/*
 * Deliberate twins: ks_dfa_chunk1, ks_dfa_chunk2 and ks_dfa_chunk4 are one
 * loop written out for 1, 2 and 4 walks. Each walk's state and position
 * stay in their own registers (an array indexed by walk would be stack
 * loads and stores on the critical path); what they share is in
 * KS_DFA_STEP, KS_DFA_SAVE and ks_dfa_chunk_end.
 */
static long ks_dfa_chunk2(__u32 idx, struct ks_dfa_cb *c)
{
	const __u8 *buf = c->buf, *tab = c->tab;
	const __u16 *col = c->col;
	const __u32 mask = KS_DFA_TAB_MASK;
	struct ks_dfa_scan *sc = c->sc;
	__u32 s0 = sc->s[0], s1 = sc->s[1], p0 = sc->pos[0], p1 = sc->pos[1];
	__u32 n = sc->steps, i;
	__u32 *q;

	for (i = 0; i < KS_DFA_CHUNK; i++) {
		if (i >= n)
			break;
		KS_DFA_STEP(0);
		KS_DFA_STEP(1);
		q = &sc->q[(i * 2) & (KS_DFA_Q - 2)];
		q[0] = s0;
		q[1] = s1;
		sc->any |= s0 | s1;
	}
	KS_DFA_SAVE(0);
	KS_DFA_SAVE(1);
	ks_dfa_queue_steps(sc, i * 2);
	return ks_dfa_chunk_end(c, n, i, s0 | s1);
}

/* Twin of ks_dfa_chunk2 with four walks (see there why they are written out). */
static long ks_dfa_chunk4(__u32 idx, struct ks_dfa_cb *c)
{
	const __u8 *buf = c->buf, *tab = c->tab;
	const __u16 *col = c->col;
	struct ks_dfa_scan *sc = c->sc;
	__u32 s0 = sc->s[0], s1 = sc->s[1], s2 = sc->s[2], s3 = sc->s[3];
	__u32 p0 = sc->pos[0], p1 = sc->pos[1], p2 = sc->pos[2], p3 = sc->pos[3];
	__u32 i;
	__u32 *q;

	/*
	 * The mask and the steps left are read per step here: as locals
	 * they would cost this frame 32 bytes of stack, past the 512 that
	 * 6.1 allows the chain (neither load is on the cells' chain).
	 */
	for (i = 0; i < KS_DFA_CHUNK; i++) {
		if (i >= sc->steps)
			break;
		KS_DFA_STEP_M(0, KS_DFA_TAB_MASK);
		KS_DFA_STEP_M(1, KS_DFA_TAB_MASK);
		KS_DFA_STEP_M(2, KS_DFA_TAB_MASK);
		KS_DFA_STEP_M(3, KS_DFA_TAB_MASK);
		q = &sc->q[(i * 4) & (KS_DFA_Q - 4)];
		/* from i, not a pointer carried over the loop: a register
		 * less (the frame's 96 bytes) */
		barrier_var(q);
		q[0] = s0;
		q[1] = s1;
		q[2] = s2;
		q[3] = s3;
		sc->any |= s0 | s1 | s2 | s3;
	}
	KS_DFA_SAVE(0);
	KS_DFA_SAVE(1);
	KS_DFA_SAVE(2);
	KS_DFA_SAVE(3);
	ks_dfa_queue_steps(sc, i * 4);
	return ks_dfa_chunk_end(c, sc->steps, i, s0 | s1 | s2 | s3);
}

/* Run the lockstep part: one callback per chunk, accepts drained in it. */
static __always_inline void ks_dfa_run(struct ks_dfa_cb *cb, __u32 walks)
{
	__u32 chunks = (cb->sc->steps + KS_DFA_CHUNK - 1) / KS_DFA_CHUNK;

	if (!chunks)
		return;
	if (walks == 4)
		bpf_loop(chunks, ks_dfa_chunk4, cb, 0);
	else if (walks == 2)
		bpf_loop(chunks, ks_dfa_chunk2, cb, 0);
	else
		bpf_loop(chunks, ks_dfa_chunk1, cb, 0);
}

/* The last (at most KS_DFA_MAX_WALKS - 1) bytes of walk 0, one by one. */
static __always_inline void ks_dfa_rest(struct ks_dfa_cb *cb, __u32 rest)
{
	struct ks_dfa_scan *sc = cb->sc;
	const __u8 *buf = cb->buf, *tab = cb->tab;
	const __u16 *col = cb->col;
	const __u32 mask = KS_DFA_TAB_MASK;
	__u32 s0 = sc->s[0], p0 = sc->pos[0], i;

	for (i = 0; i < KS_DFA_MAX_WALKS - 1; i++) {
		if (i >= rest)
			break;
		KS_DFA_STEP(0);
		sc->nq = ks_dfa_qput(sc, sc->nq, s0);
	}
	sc->s[0] = s0;
	if (sc->nq)
		ks_dfa_drain(cb);
}

/* Walk k (not the last) finishes its segment: `rest` more bytes. */
static __always_inline void ks_dfa_finish(struct ks_dfa_cb *cb, __u32 k, __u32 rest)
{
	struct ks_dfa_scan *sc = cb->sc;

	sc->s[0] = sc->fin[k];
	sc->pos[0] = sc->fpos[k];
	ks_dfa_rest(cb, rest);
	sc->fin[k] = sc->s[0];
}

/* One sentinel (column col) into walk k. */
static __always_inline void ks_dfa_feed(struct ks_dfa_cb *cb, __u32 k, __u32 col)
{
	struct ks_dfa_scan *sc = cb->sc;
	__u32 s = ks_dfa_next(cb->tab, sc->s[k & 3], col);

	sc->s[k & 3] = s;
	sc->nq = ks_dfa_qput(sc, sc->nq, s);
	if (sc->nq)
		ks_dfa_drain(cb);
}

/*
 * Walk 0 from start, past the begin sentinel: at begun when the compiler
 * read that cell (maps/ks_dfa.h), one dependent load less.
 */
static __always_inline void ks_dfa_begin(struct ks_dfa_cb *cb, const struct ks_dfa_hdr *hdr,
					 const struct ks_dfa_auto *au, __u32 frame)
{
	struct ks_dfa_scan *sc = cb->sc;

	sc->nq = 0;
	sc->any = 0;
	sc->s[0] = frame & KS_DFA_FR_BEGIN && au->begun ? au->begun : au->start;
	if (frame & KS_DFA_FR_BEGIN && !au->begun)
		ks_dfa_feed(cb, 0, hdr->col_begin);
}

/*
 * The plan with one walk (a short value, or an automaton whose patterns
 * are all anchored): the walk and its sentinels, without the lockstep
 * bookkeeping of the other walks. A file event's early decision scans
 * three short values per open (bench/profile/hostopen5-lean.txt).
 */
static __always_inline __u32 ks_dfa_scan_one(struct ks_dfa_cb *cb, const struct ks_dfa_hdr *hdr,
					     const struct ks_dfa_auto *au, __u32 off, __u32 n,
					     __u32 frame)
{
	struct ks_dfa_scan *sc = cb->sc;

	ks_dfa_begin(cb, hdr, au, frame);
	sc->pos[0] = off;
	sc->steps = n;
	if (sc->s[0])	/* the begin sentinel can kill an anchored walk */
		ks_dfa_run(cb, 1);
	if (sc->s[0] && (frame & KS_DFA_FR_END))
		ks_dfa_feed(cb, 0, hdr->col_end);
	return n;
}

/*
 * Walk "\x01" buf[off, off + n) "\x02" through automaton au with up to
 * `walks` walks, by the plan of maps/ks_dfa.h; `frame` (KS_DFA_FR_*) says
 * which sentinels are fed. Returns the bytes scanned. Walk 0's begin is
 * in each plan's branch: before the branch, more stays live across its
 * feed, and ks_scan_frame's frame grew from 120 to 184 bytes, taking the
 * call chains of ks_ksig_open, ks_kall_creds and others past 6.1's 512
 * bytes of stack (llvm-objdump -d build/bpf/kestrel.bpf.o, deepest r10).
 */
static __always_inline __u32 ks_dfa_scan_value(struct ks_dfa_cb *cb, const struct ks_dfa_hdr *hdr,
					       const struct ks_dfa_auto *au, __u32 off, __u32 n,
					       __u32 walks, __u32 frame)
{
	struct ks_dfa_scan *sc = cb->sc;
	__u32 ov = au->overlap, seg, k, last, lock;

	if (!au->start || !n)
		return 0;
	if (walks != 4 && walks != 2)
		walks = 1;
	if (!au->mid || n < walks * (ov + KS_DFA_MIN_SEG))
		walks = 1;
	if (walks == 1)
		return ks_dfa_scan_one(cb, hdr, au, off, n, frame);
	seg = (n + (walks - 1) * ov + walks - 1) / walks;
	last = walks - 1;
	for (k = 0; k < KS_DFA_MAX_WALKS; k++) {
		if (k)
			sc->s[k] = k < walks ? au->mid : 0;
		sc->pos[k] = off + k * (seg - ov);
	}
	ks_dfa_begin(cb, hdr, au, frame);
	lock = n - last * (seg - ov);
	sc->steps = lock;
	ks_dfa_run(cb, walks);
	/* walks 0 .. last - 1 finish their segments one by one, then the
	 * last walk takes the end sentinel */
	for (k = 0; k < KS_DFA_MAX_WALKS; k++) {
		sc->fin[k] = sc->s[k];
		sc->fpos[k] = sc->pos[k];
	}
	/* no loop: 6.1's CFG check refuses this one as a back-edge */
	if (last > 0)
		ks_dfa_finish(cb, 0, seg - lock);
	if (last > 1)
		ks_dfa_finish(cb, 1, seg - lock);
	if (last > 2)
		ks_dfa_finish(cb, 2, seg - lock);
	sc->s[0] = sc->fin[last & 3];
	if (sc->s[0] && (frame & KS_DFA_FR_END))
		ks_dfa_feed(cb, 0, hdr->col_end);
	return n;
}

#endif /* KS_DFA_BPF_H */
