/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The FDR-style prefilter of maps/ks_fdr.h in front of the DFA walk of
 * ks_dfa.bpf.h: the shift-or over byte pairs in chunks of KS_FDR_CHUNK
 * pairs, then the DFA confirm of every candidate. Its C model is
 * rules-compiler/fdr.c (same candidates, same windows, same hits in the
 * same order). Used by the lab (bpf/ks_dfa_lab.bpf.c, ks_fdr_lab_xdp) and
 * by the production payload scan (bpf/eval.bpf.c, ks_scan_fdr).
 *
 * The including file includes ks_dfa.bpf.h first and defines:
 *   KS_FDR_Q_MAX   the largest buffer offset a chunk starts at: the last
 *                  key it reads ends at KS_FDR_Q_MAX + KS_FDR_CHUNK (a
 *                  triple's u32 one byte past it), still inside the
 *                  buffer's map value
 */
#ifndef KS_FDR_BPF_H
#define KS_FDR_BPF_H

#include "ks_dfa.bpf.h"
#include "maps/ks_fdr.h"

_Static_assert(KS_FDR_CHUNK % KS_FDR_STRIDE == 0, "whole strides per chunk");
_Static_assert(KS_FDR_ABORT_PAIRS % KS_FDR_CHUNK == 0, "the abort test ends a chunk");

/*
 * What the shift-or's and the confirm's callbacks need; on the caller's
 * stack, one struct for both (6.1's 512 bytes of stack for the chain).
 */
struct ks_fdr_ccb {
	struct ks_dfa_cb *cb;
	const struct ks_dfa_hdr *hdr;
	const struct ks_dfa_auto *au;
	struct ks_fdr_run *fr;
	const __u16 *ov;	/* confirm windows per bucket mask */
	const __u8 *tab;	/* the shift-or's table, 0 bytes before it (maps/ks_fdr.h) */
};

/* A bucket fired at buffer offset e: queue it, unless past the end
 * sentinel (the last chunk scans whole, into stale bytes). */
static __always_inline void ks_fdr_cand(struct ks_fdr_run *fr, __u32 e, __u32 lane)
{
	__u32 k;

	if (e > fr->end)
		return;
	k = fr->n_cand;
	fr->cand[k & (KS_FDR_CAND_MAX - 1)] = e;
	fr->cmask[k & (KS_FDR_CAND_MAX - 1)] = ~lane;
	fr->n_cand = k + 1;
}

/* The pairs of the stride ending at e with a bucket fired, first to last. */
static __noinline void ks_fdr_cands(struct ks_fdr_run *fr, __u64 d, __u32 e)
{
	__u32 j, lane;

	if (!fr)
		return;
	for (j = KS_FDR_STRIDE; j-- > 0;) {
		lane = (d >> (8 * (KS_FDR_LANES - 1 + j))) & 0xff;
		if (lane != 0xff)
			ks_fdr_cand(fr, e - j, lane);
	}
}

/*
 * Key k's mask shifted left by j lanes, the shift folded into the load:
 * the u64 read j bytes before the mask holds the mask's low 8 - j bytes
 * over the top j bytes of the mask before it, which are 0 (lanes
 * KS_FDR_LANES .. 7 are unused, maps/ks_fdr.h; before the first mask,
 * the table's map value has bytes of 0).
 */
#define KS_FDR_T2(k, j)	(*(const __u64 *)(tab - (j) + ((__u64)*(const __u16 *)(b + i + (k)) << 3)))
#define KS_FDR_T3(k, j)							\
	(*(const __u64 *)(tab - (j) +					\
			  ((__u64)KS_FDR_HASH3(*(const __u32 *)(b + i + (k))) << 3)))
#define KS_FDR_T(k, j)	(key == KS_FDR_KEY_TRIPLE ? KS_FDR_T3(k, j) : KS_FDR_T2(k, j))

/*
 * 64 keys of the shift-or, unrolled: per key a u16 load (pairs; triples:
 * a u32 load, a multiply and a shift) and the table load it indexes,
 * its mask already shifted to the key's place in the stride
 * (neither depends on the state, so the CPU runs them ahead), combined
 * per stride beside the state's chain (one shift and one or per stride,
 * one compare). The chunk is scanned whole (no test of the length per
 * byte); candidates are queued out of line and confirmed after the scan.
 * b is the first byte of the chunk's first key: q, q - 1 for triples.
 */
static __always_inline long ks_fdr_chunk(__u32 idx, struct ks_fdr_ccb *c, const int key)
{
	const __u8 *tab = c->tab, *b;
	struct ks_fdr_run *fr = c->fr;
	__u64 d = fr->d, x;
	__u32 q = fr->q, i, s = q - (key == KS_FDR_KEY_TRIPLE);

	/* s on its own register: clang would fold the - 1 into the loads'
	 * offset, below what 6.1's verifier knows of the buffer's start */
	barrier_var(s);
	if (s > KS_FDR_Q_MAX - (key == KS_FDR_KEY_TRIPLE))
		return 1;
	b = c->cb->buf + s;
#pragma unroll
	for (i = 0; i < KS_FDR_CHUNK; i += KS_FDR_STRIDE) {
#if KS_FDR_STRIDE == 4
		x = KS_FDR_T(0, 3) | KS_FDR_T(1, 2) | KS_FDR_T(2, 1) | KS_FDR_T(3, 0);
#elif KS_FDR_STRIDE == 2
		x = KS_FDR_T(0, 1) | KS_FDR_T(1, 0);
#else
		x = KS_FDR_T(0, 0);
#endif
		barrier_var(x);	/* or clang puts the ors on the state's chain */
		d = d << (8 * KS_FDR_STRIDE) | x;
		if (__builtin_expect(d < KS_FDR_HI, 0))
			ks_fdr_cands(fr, d, q + i + KS_FDR_STRIDE);
	}
	fr->d = d;
	fr->q = q + KS_FDR_CHUNK;
	if (idx == KS_FDR_ABORT_PAIRS / KS_FDR_CHUNK - 1 && fr->n_cand > KS_FDR_ABORT_CANDS) {
		fr->aborted = 1;
		return 1;
	}
	return q + KS_FDR_CHUNK >= fr->end;
}

/* The chunk callbacks of bpf_loop, one per key: the key folds in. */
static long ks_fdr_chunk2(__u32 idx, struct ks_fdr_ccb *c)
{
	return ks_fdr_chunk(idx, c, KS_FDR_KEY_PAIR);
}

static long ks_fdr_chunk3(__u32 idx, struct ks_fdr_ccb *c)
{
	return ks_fdr_chunk(idx, c, KS_FDR_KEY_TRIPLE);
}

/*
 * Candidate k's window: the DFA over the ov + 1 bytes ending at it (ov of
 * the buckets that fired, maps/ks_fdr.h), from the root (from the start
 * and the begin sentinel when the window reaches it), or on from where
 * the last window's walk stopped when the window starts inside that
 * walk's span (windows differ in length: one that starts before the walk
 * did needs a walk of its own). Sets the walk's state, position and
 * steps; the end sentinel is fed after its last step (feed_end).
 */
static __always_inline void ks_fdr_window(struct ks_fdr_ccb *c, __u32 k)
{
	struct ks_fdr_run *fr = c->fr;
	struct ks_dfa_cb *cb = c->cb;
	struct ks_dfa_scan *sc = cb->sc;
	__u32 e = fr->cand[k & (KS_FDR_CAND_MAX - 1)], end = fr->end, base = fr->base;
	__u32 ov = c->ov[fr->cmask[k & (KS_FDR_CAND_MAX - 1)]];
	__u32 lo = e > base + ov ? e - ov : base, to = e < end ? e : end - 1, from;

	if (fr->walked && lo >= fr->wstart && lo <= fr->walked) {
		from = fr->walked;
	} else if ((fr->wstart = lo) == base) {
		ks_dfa_begin(cb, c->hdr, c->au, KS_DFA_FR_BEGIN);
		from = base + 1;
	} else {
		sc->s[0] = c->au->mid;
		from = lo;
	}
	sc->pos[0] = from;
	sc->steps = to >= from ? to + 1 - from : 0;
	fr->confirm_bytes += sc->steps;
	fr->feed_end = e == end;
	fr->walked = to + 1;
}

/*
 * One step of the confirm: the next candidate's window set up, or the
 * next KS_DFA_CHUNK bytes of the window walked (ks_dfa_walk1, inline).
 * Stops after the last window.
 */
static long ks_fdr_confirm(__u32 idx, struct ks_fdr_ccb *c)
{
	struct ks_fdr_run *fr = c->fr;
	struct ks_dfa_scan *sc = c->cb->sc;

	if (!sc->steps) {
		if (fr->feed_end && sc->s[0])
			ks_dfa_feed(c->cb, 0, c->hdr->col_end);
		fr->feed_end = 0;
		if (fr->k >= fr->n_cand)
			return 1;
		ks_fdr_window(c, fr->k++);
		return 0;
	}
	if (ks_dfa_walk1(c->cb))	/* done, or dead (a dead walk stays dead) */
		sc->steps = 0;
	return 0;
}

/*
 * Steps of the confirm, more than it can take: per candidate one to set
 * its window up and one per chunk of its window, a window at most the
 * whole stream.
 */
#define KS_FDR_CONFIRM_LOOPS	(1u << 22)
_Static_assert(KS_FDR_CAND_MAX * (2 + (KS_FDR_CAND_MAX + KS_DFA_CHUNK - 1) / KS_DFA_CHUNK) <
	       KS_FDR_CONFIRM_LOOPS, "the confirm's bpf_loop ends by its callback");

/* Before a scan: no candidate, no confirm walk yet. */
static __always_inline void ks_fdr_reset(struct ks_fdr_run *fr)
{
	fr->n_cand = 0;
	fr->confirm_bytes = 0;
	fr->walked = 0;
	fr->aborted = 0;
	fr->k = 0;
	fr->feed_end = 0;
}

/*
 * The shift-or over the keys (KS_FDR_KEY_*) of "\x01" value "\x02" in
 * ccb->cb->buf, the begin sentinel at base, value n bytes: the
 * candidates into ccb->fr (reset before). The sentinels must be in the
 * buffer while this runs; triples read the byte before base - 1.
 */
static __always_inline void ks_fdr_filter(struct ks_fdr_ccb *ccb, __u32 base, __u32 n, __u32 key)
{
	struct ks_fdr_run *fr = ccb->fr;
	__u32 chunks = (n + 2 + KS_FDR_CHUNK - 1) / KS_FDR_CHUNK;

	fr->base = base;
	fr->end = base + n + 1;
	fr->d = 0;	/* lanes before the stream: anything */
	fr->q = base - 1;
	/*
	 * Two calls, each with its own callback: clang would make them one
	 * call with the callback selected, which the verifier does not
	 * inline (one callback per call site), and bpf_loop's indirect call
	 * per chunk made the scan ~20% slower. The barrier after one of
	 * them keeps them apart.
	 */
	if (key == KS_FDR_KEY_TRIPLE) {
		bpf_loop(chunks, ks_fdr_chunk3, ccb, 0);
		barrier();
	} else {
		bpf_loop(chunks, ks_fdr_chunk2, ccb, 0);
	}
}

/*
 * After ks_fdr_filter: every candidate confirmed by the DFA. The
 * sentinels need not be in the buffer any more: the walks read the
 * value's bytes only. Returns 1 when the prefilter gave up: the caller
 * walks the value with KS_DFA_MAX_WALKS walks instead.
 */
static __always_inline int ks_fdr_confirm_all(struct ks_fdr_ccb *ccb)
{
	struct ks_fdr_run *fr = ccb->fr;

	if (fr->aborted)
		return 1;
	if (fr->n_cand) {
		ccb->cb->sc->steps = 0;
		bpf_loop(KS_FDR_CONFIRM_LOOPS, ks_fdr_confirm, ccb, 0);
	}
	return 0;
}

#endif /* KS_FDR_BPF_H */
