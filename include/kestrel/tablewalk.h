/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Table walk: the userspace model of the kernel evaluator. It reads a
 * struct ks_event through a struct ks_tables exactly as bpf/ does, so the
 * tests can compare the tables with the reference interpreter and the
 * benchmarks can measure the tables without a kernel. The BPF code mirrors
 * these functions; a change of semantics here is a change of the ABI.
 *
 * 1. Scan. For every string field f (KS_F_PROCESS_EXECUTABLE ..
 *    KS_F_IFACE_NAME) and case mode m with dfa_hdr.autos[f][m].start != 0
 *    and a non-empty value, walk the DFA image (maps/ks_dfa.h) from that
 *    cell:
 *      - a plain field is fed as 0x01 value 0x02;
 *      - process.args: the value holds NUL-separated elements (a final NUL
 *        terminates the last element, it does not start an empty one);
 *        each element is fed as 0x01 elem 0x02, one after the other in one
 *        walk;
 *      - process.command_line: the same bytes without trailing NULs,
 *        every other NUL fed as ' ', all in one frame.
 *    A frame of any field but process.args is walked as the kernel walks
 *    it: KS_DFA_SCAN_WALKS interleaved walks over overlapping segments by
 *    the plan of maps/ks_dfa.h (ks_dfa_walk_frame, dfawalk.h), so hits
 *    come in the kernel's order; process.args is one walk per value.
 *    Bytes go through column map col[KS_DFA_COL_EXACT] or
 *    col[KS_DFA_COL_FOLD]; the next cell is the one at byte offset
 *    (s + col) & (sizeof(dfa) - 4). The walk stops on cell 0. In a cell
 *    with KS_DFA_ACC every atom of acc_list[v >> 8 ..][.. & 0xff] is hit,
 *    v the spare cell of its row (once per event: hit[atom] = event
 *    epoch).
 *    A path cut on the left (truncated bit in KS_F_PATH_MASK) is two
 *    walks: tail 0x02, then 0x01 head (ks_event.cut_head bytes at the
 *    start of the slot whose end the tail reaches).
 *    A cut argument vector (truncated bit KS_F_PROCESS_ARGS) gets no
 *    final 0x02 on either field: its kept bytes do not end it. (The kernel
 *    may also walk the rest of the area from the process's memory,
 *    ks_scan_args_rest; the event does not hold it, so this model sees
 *    the kept bytes only, as replay does.)
 *    Empty and null values are not scanned: no pattern can match the empty
 *    frame of a plain field (equality with "" is KS_OP_STRLEN).
 * 2. Candidates. cat_list of the event's category, then cat_list of
 *    KS_CAT_ANY, then, per hit atom in hit order, its trig_list steps whose
 *    category is KS_CAT_ANY or the event's, then, per cut slot (a path
 *    field, the argument vector: KS_CUT_BIT), its cut_list steps. Each
 *    step once; beyond
 *    KS_MAX_CANDS the event is marked overflowed (the kernel forwards it).
 * 3. Programs. Each candidate's program runs on a stack of ks_tv values
 *    (Kleene logic: AND is F if any F, else U if any U; OR dually; NOT U
 *    is U). Operands:
 *      TRUE, FALSE, USER (unknown: userspace decides)
 *      ATOM    arg = atom id: hit or not; a miss on a cut path is U when
 *              the head/tail cannot decide it (KS_ATOM_* of imm); on a
 *              cut argument vector in a block/kill rule (KS_ATOM_ARGS_CLOSED),
 *              always on process.args, and on process.command_line unless
 *              a prefix or equality fits the head
 *      CMP     field cmp imm: (s64)value <cmp> (s64)imm; F if null
 *      STRLEN  field cmp imm: value length <cmp> imm; F if null
 *      CIDR    field arg = index into cidrs: the address is in the network;
 *              F if null
 *      PRESENT field: not null
 *    For CMP, STRLEN and PRESENT the insn's arg, for CIDR its imm, holds the
 *    KS_P_* bit that makes the field present (0: always present); a field is
 *    null when that bit is clear in ev->present, and, for strings, only if
 *    its length is 0 as well. A malformed program (bad op or field, stack
 *    under- or overflow, not exactly one result) evaluates to UNKNOWN: the
 *    evaluator fails open towards userspace.
 */
#ifndef KESTREL_TABLEWALK_H
#define KESTREL_TABLEWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps/ks_abi.h"
#include "maps/ks_event.h"
#include "maps/ks_tables.h"

/* Per-CPU scratch of the kernel evaluator. Zero it once (ks_walk_init);
 * every event bumps the epoch instead of clearing the arrays. */
struct ks_walk {
	uint32_t epoch;
	uint32_t hit[KS_MAX_ATOMS];	/* == epoch: atom hit by this event */
	uint32_t seen[KS_MAX_STEPS];	/* == epoch: step is a candidate */
	uint32_t n_hits;
	uint16_t hits[KS_MAX_ATOMS];	/* atom ids in hit order */
	uint32_t n_cands;
	uint16_t cands[KS_MAX_CANDS];	/* step ids */
	uint8_t tv[KS_MAX_CANDS];	/* enum ks_tv per candidate */
	bool cand_overflow;
	uint64_t bytes_scanned;		/* DFA transitions taken */
};

void ks_walk_init(struct ks_walk *w);
/* Start a new event: no atom hit, no candidate. */
void ks_walk_begin(struct ks_walk *w);
void ks_walk_set_hit(struct ks_walk *w, uint32_t atom);
bool ks_walk_is_hit(const struct ks_walk *w, uint32_t atom);

/*
 * Feed n bytes to the DFA from cell state, recording hits. Returns the
 * cell reached (0 if the walk died). fold selects col[KS_DFA_COL_FOLD].
 */
uint32_t ks_walk_bytes(const struct ks_tables *t, uint32_t state, bool fold,
		       const uint8_t *p, size_t n, struct ks_walk *w);

/* Step 1 for every string field of ev. */
void ks_walk_scan(const struct ks_tables *t, const struct ks_event *ev,
		  struct ks_walk *w);
/* Step 2 (after ks_walk_scan). */
void ks_walk_candidates(const struct ks_tables *t, const struct ks_event *ev,
			struct ks_walk *w);
/* Step 3 for one program / one step, with the atom hits in w. */
enum ks_tv ks_walk_prog(const struct ks_tables *t, const struct ks_insn *prog,
			uint32_t len, const struct ks_event *ev,
			const struct ks_walk *w);
enum ks_tv ks_walk_step(const struct ks_tables *t, uint32_t step,
			const struct ks_event *ev, const struct ks_walk *w);
/*
 * The file hooks' early decision (bpf/ks_file.bpf.h, ks_early_filtered):
 * a file event whose action's trigger fields (hdr.trig_fields) are all
 * file fields, whose path is whole, and whose file fields hit no atom
 * that indexes a step, is counted filtered before its process is filled;
 * and ks_xdp_main's: a packet whose protocol and ports the tables' packet
 * filter (struct ks_net_filter) does not admit is counted filtered before
 * its payload is copied. Begins the walk; true when the event stops there.
 */
bool ks_walk_early(const struct ks_tables *t, const struct ks_event *ev, struct ks_walk *w);
/*
 * Steps 1-3: begin, (the early decision,) scan, candidates, evaluate every
 * candidate. As the evaluator, the fields of the action's trigger atoms
 * (hdr.trig_fields) are scanned first: when they, the category lists and
 * the cut-path lists queue no step, the walk stops there (no candidate,
 * no overflow); otherwise every field is scanned.
 */
void ks_walk_event(const struct ks_tables *t, const struct ks_event *ev,
		   struct ks_walk *w);
/* After ks_walk_event: the step's verdict, FALSE if it was no candidate. */
enum ks_tv ks_walk_verdict(const struct ks_walk *w, uint32_t step);

/* Field access as the evaluator sees it. */
/* String value (bounds-clamped to the event); false if its length is 0. */
bool ks_ev_str(const struct ks_event *ev, enum ks_field f, const uint8_t **p,
	       uint32_t *len);
/* Numeric values: ks_event_num() and ks_field_is_num() (maps/ks_fields.h). */
/* 16-byte address of an IP field, NULL for other fields. */
const uint8_t *ks_ev_ip(const struct ks_event *ev, enum ks_field f);
/* Null test with the KS_P_* bit of the field (see above). */
bool ks_ev_null(const struct ks_event *ev, enum ks_field f, uint32_t pbit);

/*
 * ks_entity_key.join_hash the kernel computes for ev at step s under the
 * SipHash key (k0, k1): the encoding at struct ks_entity_key (maps/).
 */
uint64_t ks_walk_join_hash(const struct ks_event *ev, const struct ks_step *s, uint64_t k0,
			   uint64_t k1);

#endif /* KESTREL_TABLEWALK_H */
