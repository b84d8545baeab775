/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The FDR-style prefilter in front of the DFA (issue 11): a shift-or over
 * pairs (or hashed triples) of input bytes whose table loads depend only
 * on the input, so the CPU runs them ahead of each other, unlike the
 * DFA's one dependent load per byte. Built by rules-compiler/fdr.c, walked by its C
 * model there, by the lab program (bpf/ks_dfa_lab.bpf.c, ks_fdr_lab_xdp)
 * and, in production, by the payload scan (bpf/ks_fdr.bpf.h): the
 * compiler puts one table, for one case mode of the payload's automata,
 * in struct ks_tables (fdr, past what the tables map holds) and flags
 * that automaton KS_DFA_AU_FDR (maps/ks_dfa.h), unless a sample scan says
 * the prefilter would give up; kload installs the table into a slot of
 * ks_fdr_gen (struct ks_fdr_slot below), not into the tables value.
 *
 * Stream. The value is scanned as the DFA sees it: "\x01" value "\x02",
 * laid out in a buffer at `base` (the begin sentinel: KS_FDR_PAD in the
 * lab and the model; the byte before the payload in production, which
 * holds the sentinels only while the shift-or runs). The bytes before
 * base are any bytes: the key ending at base only ever stands for a
 * pattern's first byte or two (the lanes with any byte before).
 *
 * Key. The table is indexed by a key of the bytes ending at offset e:
 * KS_FDR_KEY_PAIR, the pair, h = buf[e - 1] | buf[e] << 8 (the
 * little-endian u16 at e - 1); or KS_FDR_KEY_TRIPLE, the three bytes
 * e - 2 .. e hashed to 16 bits, h = KS_FDR_HASH3(the little-endian u32
 * at e - 2) (its fourth byte, buf[e + 1], drops out of the product).
 * Pairs cost two BPF instructions a byte less; at 10,000 literals over
 * a 41-byte alphabet every pair is some literal's, and the pair filter
 * passes most bytes, while a triple of a bucket's 1,700 literals fills
 * a few percent of the domain (rules-compiler/fdr.c picks the key on a
 * sample).
 *
 * Table. KS_FDR_DOMAIN 64-bit masks: 8 lanes of 8 buckets, L =
 * KS_FDR_LANES of them used. Bit 8 * (L - 1 - d) + b of tab[h] is 0 when
 * key h can be the key that ends d bytes before the end of some pattern
 * of bucket b (d = 0 .. L - 1); lanes L .. 7 are 0. Pairs: the full
 * pair for d <= len - 2, any first byte with the pattern's first byte for
 * d = len - 1, anything for d >= len. Triples: the full triple for
 * d <= len - 3, any first byte with the pattern's first two for
 * d = len - 2, anything for d >= len - 1. So a bucket is as selective as
 * its shortest pattern: buckets hold patterns of close lengths.
 * Lanes L .. 7 must be 0 (tables_check.c refuses others): the scan
 * reads a mask shifted left by j < KS_FDR_STRIDE lanes as the u64 that
 * starts j bytes before it, whose low j bytes are then the top bytes of
 * the mask before (of 8 bytes of 0 before the table for the first).
 *
 * Scan. d = 0 (keys before the stream match anything); per key:
 * d = (d << 8) | tab[h]. Lane L - 1 of d is then the OR over the last
 * L pairs, each at its distance: a 0 bit b means a pattern of bucket b
 * may end here; lane L - 1 + j is that of the pair j before, so one
 * compare (d < KS_FDR_HI) tests the last KS_FDR_STRIDE pairs.
 * Every such candidate is confirmed by the DFA walked over the window of
 * the longest pattern of the buckets that fired ending there (from the root, or from the start with
 * the begin sentinel when the window reaches it; a window that starts
 * inside the span of the last walk continues it), so the hits are the
 * DFA's, as a set.
 */
#ifndef KS_FDR_H
#define KS_FDR_H

#include "maps/ks_abi.h"

#define KS_FDR_DOMAIN		65536u
#define KS_FDR_KEY_PAIR		0
#define KS_FDR_KEY_TRIPLE	1
/*
 * The triple's hash: the top 16 bits of the u32 product. The
 * multiplier's low byte is 0, so the u32's top byte (buf[e + 1]) is
 * shifted out of it; as uniform on the literals' triples as a 64-bit
 * Fibonacci hash of the three bytes (measured: the share of random
 * text's triples that hit a set of 200..5,000 literal triples is the
 * same within 2%), one multiply and one shift.
 */
#define KS_FDR_HMUL		0x3779b100u
#define KS_FDR_HASH3(x)		((__u32)((__u32)(x) * KS_FDR_HMUL) >> 16)
#define KS_FDR_TAB_BYTES	(KS_FDR_DOMAIN * 8)
#define KS_FDR_BUCKETS		8
/*
 * Stride: the state is tested once per KS_FDR_STRIDE pairs, so the lanes
 * above the patterns' carry the results of the pairs before; the chain
 * of the state is one shift and one or per stride, the pairs of a stride
 * combined beside it.
 */
#define KS_FDR_STRIDE		4
#define KS_FDR_LANES		(9 - KS_FDR_STRIDE)
/* the lanes of a table mask that patterns use (the rest is 0) */
#define KS_FDR_LANE_MASK	(~0ull >> (64 - 8 * KS_FDR_LANES))
/* d >= KS_FDR_HI: no candidate in the last KS_FDR_STRIDE pairs */
#define KS_FDR_HI		(~0ull << (64 - 8 * KS_FDR_STRIDE))
#define KS_FDR_PAD		8

_Static_assert(KS_FDR_LANES + KS_FDR_STRIDE - 1 <= 8, "a shifted load's low bytes are unused lanes");
/*
 * A value whose first KS_FDR_ABORT_PAIRS pairs give more than
 * KS_FDR_ABORT_CANDS candidates is walked by the DFA alone
 * (KS_DFA_MAX_WALKS interleaved walks) instead: the prefilter of a set
 * that fires on most bytes (10,000 random literals of 4..16 bytes) would
 * run one confirm walk, a load chain, over nearly every byte. The test is
 * made once, at the end of the lab's 4th chunk of 64 pairs, when the
 * value is long enough for the lab to scan that chunk.
 */
#define KS_FDR_CHUNK		64	/* pairs per bpf_loop step of the lab */
#define KS_FDR_ABORT_PAIRS	256
#define KS_FDR_ABORT_CANDS	16
#define KS_FDR_CAND_MAX		2048	/* > KS_FDR_PAD + KS_PAYLOAD_MAX + 2 */

_Static_assert(KS_FDR_CAND_MAX > KS_FDR_PAD + KS_PAYLOAD_MAX + 2, "a candidate per byte fits");

/*
 * One scan: candidates of the last value and what the confirm walked, in
 * map memory (the lab's map; production: the evaluation scratch), which
 * the verifier does not track (bpf/ks_dfa.bpf.h): a bpf_loop callback is
 * verified once.
 */
struct ks_fdr_run {
	__u64 d;		/* the shift-or state */
	__u32 q;		/* buffer offset of the next pair's first byte */
	__u32 end;		/* buffer offset of the end sentinel */
	__u32 base;		/* buffer offset of the begin sentinel */
	__u32 wstart;		/* where the confirm walk started */
	__u32 walked;		/* next buffer offset of the confirm walk; 0: none */
	__u32 n_cand;		/* positions where some bucket fired */
	__u32 confirm_bytes;	/* bytes the DFA confirm walked */
	__u32 aborted;		/* KS_FDR_ABORT_*: the DFA walked alone */
	__u32 k;		/* the confirm's next candidate */
	__u32 feed_end;		/* the window being walked ends at the end sentinel */
	__u8 save[2];		/* production: the bytes under the sentinels */
	__u8 pad[6];
	__u16 cand[KS_FDR_CAND_MAX];	/* buffer offsets, ascending */
	__u8 cmask[KS_FDR_CAND_MAX];	/* the buckets that fired there */
};

/*
 * One prefilter: the table and, per mask of buckets that fired, the
 * confirm window: ov[mask] + 1 bytes, ov[mask] the longest pattern of
 * those buckets - 1 (a pattern of another bucket does not end there).
 * In struct ks_tables past the DFA (userspace and .kbin files only; all 0
 * when no automaton is flagged KS_DFA_AU_FDR, and a .kbin stores it only
 * when one is), and in the kernel in a struct ks_fdr_slot.
 */
struct ks_fdr_tab {
	__u64 tab[KS_FDR_DOMAIN];
	__u16 ov[256];
	__u32 key;		/* KS_FDR_KEY_* */
	__u32 pad;
};

/*
 * The kernel's copies of the prefilter: ks_fdr_gen, an array of maps with
 * KS_FDR_SLOTS slots, each (once kload has needed it) an array map of one
 * struct ks_fdr_slot. Not in the tables value: a rule set without a
 * flagged automaton copies, clears and holds none of its 513 KiB (issue
 * 12). The tables of a flagged rule set name the slot (ks_tables_hdr.
 * fdr_slot) and the slot names the generation it was written for: the
 * payload scan uses it only when that is the generation of the tables
 * the event looked up, else it walks the DFA alone (same hits). kload
 * writes a slot only when no program can read it: never the slot of the
 * current generation or of the one a rollback returns to, and only after
 * the switch that retired its generation has settled (loader/engine_fdr.c).
 * Three slots: the new generation, the current one, the rollback target.
 */
#define KS_FDR_SLOTS		3

struct ks_fdr_slot {
	__u32 generation;	/* of the tables it was written for; 0: none */
	__u32 pad;		/* 0: the lanes before the first mask (Table, above) */
	struct ks_fdr_tab fdr;
};

_Static_assert(__builtin_offsetof(struct ks_fdr_slot, fdr) - __builtin_offsetof(struct ks_fdr_slot, pad) >=
	       KS_FDR_STRIDE - 1, "the first mask's shifted loads read pad");

/*
 * The lab program's table map value: this many bytes of 0, then the
 * masks, the lanes before the first mask as a slot's pad is in
 * production.
 */
#define KS_FDR_LAB_LEAD		8u
_Static_assert(KS_FDR_LAB_LEAD >= KS_FDR_STRIDE - 1, "the first mask's shifted loads read the lead");

/* Lab state of the FDR program. */
struct ks_fdr_lab {
	struct ks_fdr_run run;
	__u16 ov[256];		/* set at load */
	__u32 key;		/* KS_FDR_KEY_*, set at load */
	__u32 pad;
};

#endif /* KS_FDR_H */
