/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The DFA image: the string automaton laid out for the fastest walk the
 * verifier accepts (issue 11). Plain data, shared by the compiler
 * (rules-compiler/dfa_image.c), its C model (ks_dfa_img_walk) and the BPF
 * walk (bpf/ks_dfa.bpf.h).
 *
 * Cells. The table is an array of __u32 cells: struct ks_tables.dfa in
 * production (KS_DFA_CELLS cells, masked with their size - 4; tab_bytes,
 * a power of two, bounds the rows in use), one map value of tab_bytes
 * in the lab (set at load; 6.1 and later accept array values of 64 MiB).
 * A state is named by its cell value:
 *
 *   cell = KS_DFA_ACC (the state accepts) | byte offset of its row
 *
 * and the next state is one load, with no multiply and no branch:
 *
 *   s = *(__u32 *)(tab + ((s + col[byte]) & (tab_bytes - 4)))
 *
 * col[byte] = class * 4 is the column's byte offset; the mask drops
 * KS_DFA_ACC and bounds the load for the verifier. A row is n_classes
 * cells and one more, cell[n_classes] = (first << 8) | count of the
 * state's atoms in acc_list (0 for states that do not accept), so an
 * accepting state's atoms are found from its cell value alone.
 *
 * The dead state is row 0 (cell 0): every cell of it is 0, so a walk
 * that dies stays dead without a test per byte; interleaved walks check
 * for 0 once per chunk, a walk alone (a short value, or an automaton
 * whose patterns are all anchored) after every byte, so it stops where
 * it dies. States are in BFS order, the hot shallow ones first.
 *
 * Walks restarted mid-value. A value can be cut into segments scanned by
 * interleaved walks (independent load chains): the walk of a later
 * segment starts in the automaton's mid cell (its root: nothing matched
 * yet) overlap = longest pattern - 1 bytes before its segment, so it sees
 * every match ending in its segment. mid 0 means every pattern of the
 * automaton is anchored ("\x01..."): only the first walk can match.
 */
#ifndef KS_DFA_H
#define KS_DFA_H

#include "maps/ks_abi.h"

#define KS_DFA_ACC		(1u << 31)
#define KS_DFA_MAX_STATES	(1u << 24)
#define KS_DFA_MAX_TAB_BYTES	(1u << 26)	/* 64 MiB of cells */
#define KS_DFA_MIN_TAB_BYTES	(1u << 16)
#define KS_DFA_MAX_WALKS	4
/*
 * Interleaving plan of a value of n bytes for W walks and overlap ov:
 * W = 1 unless mid != 0 and n >= W * (ov + KS_DFA_MIN_SEG); then every
 * segment is T = ceil((n + (W - 1) * ov) / W) bytes, walk k starts at
 * k * (T - ov), all walks step together for the last walk's n - (W - 1) *
 * (T - ov) bytes (hits recorded walk 0 first at each step), then walks
 * 0 .. W - 2 finish their segments one after the other, and the last
 * walk takes the end sentinel. Walk 0 alone takes the begin sentinel.
 */
#define KS_DFA_MIN_SEG		64

/* The frame sentinels a walk feeds: a path cut in two (maps/ks_abi.h,
 * KS_F_PATH_MASK) is a head with the begin sentinel only and a tail with
 * the end sentinel only. */
#define KS_DFA_FR_BEGIN		1
#define KS_DFA_FR_END		2

/*
 * Walks of the production scan (bpf/ks_eval.bpf.h) and of its C model
 * (tablewalk.c) over a value scanned as one frame; measured in
 * bench/profile/dfa-kernel-walks.txt.
 */
#define KS_DFA_SCAN_WALKS	4

/* Column maps: byte -> column offset, per case mode and NUL handling. */
enum ks_dfa_col {
	KS_DFA_COL_EXACT = 0,		/* cls[] */
	KS_DFA_COL_FOLD = 1,		/* cls_fold[] */
	KS_DFA_COL_EXACT_JOIN = 2,	/* cls[], NUL read as ' ' (command line) */
	KS_DFA_COL_FOLD_JOIN = 3,
	KS_DFA_COL_N = 4,
};

struct ks_dfa_auto {
	__u32 start;		/* cell before the begin sentinel; 0: no patterns */
	__u32 mid;		/* cell of the root; 0: dead (all anchored) */
	__u16 overlap;		/* longest pattern - 1 (KS_DFA_MAX_OVERLAP) */
	__u16 flags;		/* KS_DFA_AU_*: the prefilter in front of the walk */
	/*
	 * The cell after the begin sentinel from start, when it does not
	 * accept; 0: feed the sentinel. A walk that starts with a frame
	 * starts here, one dependent load (a cold row after fork/exec) less
	 * per scan. Was padding, 0 in older tables: they still walk the same.
	 */
	__u32 begun;
	/*
	 * The need filter (rules-compiler/dfa_image.c, ks_dfa_image_need):
	 * the compiler picks one byte class of every pattern; a byte is
	 * needed when the column map the kernel walks this field with sends
	 * it to a picked class (bytes from 128 on always count as needed).
	 * Bit b of skip[] (b < 128) set: byte b is not needed. A walk that
	 * accepts a pattern was fed its picked class, so a range holding no
	 * needed byte cannot make it accept: the scan skips that range
	 * without loading a column map line or a row (issue 11: cold lines
	 * after fork/exec; bench/profile/exec7-*.txt). All 0 (the lab's
	 * images): every byte needed, no filter. A field's two case modes
	 * share one cache line.
	 */
	__u8 skip[16];
};

/* flags: the payload's automaton whose scan runs the prefilter of
 * struct ks_tables.fdr in front (maps/ks_fdr.h; in the kernel, slot
 * ks_tables_hdr.fdr_slot of ks_fdr_gen) */
#define KS_DFA_AU_FDR		1u
/* the longest pattern an automaton holds is at most this + 1 bytes */
#define KS_DFA_MAX_OVERLAP	0xffffu

_Static_assert(sizeof(struct ks_dfa_auto) == 32, "a field's two case modes on one line");

struct ks_dfa_hdr {
	__u32 n_states;
	__u32 n_classes;
	__u32 row_bytes;	/* (n_classes + 1) * 4 */
	__u32 tab_bytes;	/* power of two >= n_states * row_bytes */
	__u32 n_acc_list;
	__u16 col_begin;	/* the sentinels' column offsets */
	__u16 col_end;
	/* autos line-aligned in ks_tables: 104 bytes of ks_tables_hdr, 24 here */
	struct ks_dfa_auto autos[KS_F_STR_N][KS_CASE_N];
	__u16 col[KS_DFA_COL_N][256];
};

/* Does byte b count for the need filter skip[] (maps/ks_dfa.h)? One byte load. */
static inline __attribute__((always_inline)) int ks_dfa_needed(const __u8 *skip, __u8 b)
{
	return b >= 128 || !((skip[(b >> 3) & 15] >> (b & 7)) & 1);
}

#define KS_DFA_Q	256	/* accept queue of a walk */

/* Walk state, in map memory: the verifier tracks no value stored here
 * (bpf/ks_dfa.bpf.h). */
struct ks_dfa_scan {
	__u32 s[KS_DFA_MAX_WALKS];
	__u32 pos[KS_DFA_MAX_WALKS];
	__u32 steps;		/* lockstep steps left */
	__u32 walks;
	__u32 nq;		/* queued cells (the drain skips those that do not accept) */
	__u32 any;		/* OR of a chunk's cells so far (bpf/ks_dfa.bpf.h) */
	__u32 fin[KS_DFA_MAX_WALKS];	/* states and positions after the lockstep */
	__u32 fpos[KS_DFA_MAX_WALKS];
	__u32 q[KS_DFA_Q];
};

/*
 * The lab program (bpf/ks_dfa_lab.bpf.c): the walk alone, for bench_dfa
 * and the dfa_walk selftest. Not used by kload.
 */
#define KS_DFA_LAB_BUF	2048

struct ks_dfa_meta {
	struct ks_dfa_hdr hdr;
	/*
	 * Walks (1, 2, 4), from map memory rather than rodata: the verifier
	 * would prune the callbacks of the other counts as dead code, which
	 * 6.18 then refuses to JIT ("No program to jit").
	 */
	__u32 walks;
	__u32 pad;
	__u16 acc_list[KS_MAX_ACC_LIST];
};

struct ks_dfa_lab {
	__u8 buf[KS_DFA_LAB_BUF];
	struct ks_dfa_scan scan;
	__u32 seq;		/* packet stamp for hit[] */
	__u32 n_hits;
	__u32 bytes;
	__u32 pad;
	__u32 hit[KS_MAX_ATOMS];	/* == seq: atom hit by this packet */
	__u16 hits[KS_MAX_ATOMS];	/* atoms in hit order */
};

#endif /* KS_DFA_H */
