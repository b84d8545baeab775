// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The evaluator's global subprograms, declared in ks_eval.bpf.h: the
 * verifier checks each once, on its own, rather than inline in every
 * program that calls it. bpftool gen object links this object with the
 * hook objects into kestrel.bpf.o (Makefile, KS_BPF_PARTS).
 */
#include "ks_eval.bpf.h"

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
 * Every accepting cell the walks queued in sc->dscan (the interleaved
 * chunks queue every cell of a chunk with one: ks_dfa_queue_steps):
 * verified once.
 */
__noinline int ks_dfa_drain_q(struct ks_tables *t, struct ks_scratch *sc)
{
	__u32 i, n, cell;

	if (!t || !sc)
		return 0;
	n = sc->dscan.nq;
	for (i = 0; i < KS_DFA_Q; i++) {
		if (i >= n)
			break;
		cell = sc->dscan.q[i];
		if (cell & KS_DFA_ACC)
			ks_accept(t, sc, cell);
	}
	sc->dscan.nq = 0;
	return 0;
}

/* The walk's callback context for field f in case mode fold. */
static __always_inline void ks_scan_cb(struct ks_dfa_cb *cb, struct ks_tables *t,
				       struct ks_scratch *sc, __u32 f, __u32 fold)
{
	cb->buf = (const __u8 *)&sc->ev;
	cb->tab = (const __u8 *)t->dfa;
	/* the command line reads NUL as ' ' through its own column map */
	cb->col = t->dfa_hdr.col[ks_bound(fold + (f == KS_F_PROCESS_COMMAND_LINE ? 2 : 0), 3)];
	cb->sc = &sc->dscan;
	cb->h = t;
}

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
	ks_scan_cb(&cb, t, sc, f, fold);
	return ks_dfa_scan_value(&cb, &t->dfa_hdr, &t->dfa_hdr.autos[f][fold], off, len,
				 KS_DFA_SCAN_WALKS, frame);
}

/* The need filter's pass: its pointers; its scalars are in sc->need_*. */
struct ks_need_ctx {
	const __u8 *buf;	/* the event's bytes */
	const __u8 *skip[KS_CASE_N];	/* each case mode's automaton's skip[] */
	struct ks_scratch *sc;
};

/*
 * ks_dfa_needed() of both modes' skip[] for byte b as bits 0 and 1,
 * without a branch: the chunk loop branches once per byte.
 */
static __always_inline __u32 ks_need_bits(const struct ks_need_ctx *c, __u8 b)
{
	__u32 hi = b >> 7, i = (b >> 3) & 15, s = b & 7;
	__u32 n0 = ((c->skip[0][i] >> s) & 1) ^ 1, n1 = ((c->skip[1][i] >> s) & 1) ^ 1;

	return (n0 | hi) | ((n1 | hi) << 1);
}

static long ks_need_chunk(__u32 idx, struct ks_need_ctx *c)
{
	struct ks_scratch *sc = c->sc;
	__u32 i, p = sc->need_pos;

	for (i = 0; i < KS_SCAN_CHUNK; i++) {
		if (p >= sc->need_end)
			return 1;
		sc->need_found |= ks_need_bits(c, c->buf[p & KS_DFA_BUF_MASK]) & sc->need_want;
		if (sc->need_found == sc->need_want)
			return 1;
		p++;
	}
	sc->need_pos = p;
	return 0;
}

/*
 * The needed bytes of the modes in sc->need_want over event bytes [off,
 * off + len), len > 0: the modes a byte was needed in. The first chunk
 * is called directly, the rest (values over KS_SCAN_CHUNK bytes) through
 * bpf_loop(), whose call and indirect callback a short value (most names
 * and paths) does without.
 */
static __always_inline __u32 ks_need_pass(struct ks_need_ctx *c, __u32 off, __u32 len)
{
	struct ks_scratch *sc = c->sc;

	c->buf = (const __u8 *)&sc->ev;
	sc->need_pos = off;
	sc->need_end = off + len;
	sc->need_found = 0;
	if (!ks_need_chunk(0, c))
		bpf_loop((len - 1) / KS_SCAN_CHUNK, ks_need_chunk, c, 0);
	return sc->need_found;
}

/*
 * The need filter (maps/ks_dfa.h): 0 when event bytes [off, off + len)
 * hold none of the needed bytes of the automaton of `how`, so no walk of
 * them can accept. Reads the event (hot: just built) and the automaton's
 * line; a scan it rules out loads no column map line and no row, the
 * cold lines of an event after fork/exec.
 */
__noinline int ks_need_scan(struct ks_tables *t, struct ks_scratch *sc, __u32 how, __u32 off,
			    __u32 len)
{
	__u32 f = how & 0xff, fold = (how >> 8) & 0xff;
	struct ks_need_ctx c = { .sc = sc };

	/* an empty value is walked: its sentinels alone may match */
	if (!t || !sc || f >= KS_F_STR_N || fold >= KS_CASE_N || !len)
		return 1;
	c.skip[0] = c.skip[1] = t->dfa_hdr.autos[f][fold].skip;
	sc->need_want = 1;
	return ks_need_pass(&c, off, len);
}

/*
 * The need filter of both case modes of field f over its whole value,
 * in one pass (ks_scan_fields): KS_NEED_WALK << m for each mode m whose
 * automaton a byte of the value may feed, and from bit KS_NEED_BYTES
 * on, the bytes of the modes it cannot (counted as scanned), with
 * KS_NEED_TESTED when the value was tested. A cut path (two ranges) and
 * the payload behind its prefilter are left to ks_scan(), which tests
 * each range it walks: every mode with an automaton is returned to walk,
 * untested. The same decision per range as ks_need_scan(), so the C
 * model (ks_dfa_need_any) holds for both.
 */
__noinline int ks_need_modes(struct ks_tables *t, struct ks_scratch *sc, __u32 f)
{
	const struct ks_dfa_auto *au;
	struct ks_need_ctx c = { .sc = sc };
	__u32 want = 0, found, off, len;

	if (!t || !sc || f >= KS_F_STR_N)
		return 0;
	au = t->dfa_hdr.autos[f];
	if (au[0].start)
		want |= 1;
	if (au[1].start)
		want |= 2;
	if (!want)
		return 0;
	if ((sc->ev.truncated & KS_F_PATH_MASK & (1u << f)) ||
	    (f == KS_F_PAYLOAD && ((au[0].flags | au[1].flags) & KS_DFA_AU_FDR)))
		return want * KS_NEED_WALK;
	off = sc->ev.str[f].off;
	if (off >= sizeof(struct ks_event))
		return 0;	/* ks_scan() takes no byte either */
	len = ks_scan_len(f, off, sc->ev.str[f].len);
	if (!len)	/* an empty value is walked: its sentinels alone may match */
		return want * KS_NEED_WALK | KS_NEED_TESTED;
	c.skip[0] = au[0].skip;
	c.skip[1] = au[1].skip;
	sc->need_want = want;
	found = ks_need_pass(&c, off, len) & want;
	return found * KS_NEED_WALK | KS_NEED_TESTED |
	       (__builtin_popcount(want & ~found) * len) << KS_NEED_BYTES;
}

/*
 * The prefilter reads event bytes as pairs from the begin sentinel's
 * offset - 1 on (triples: - 2), whole chunks (ks_fdr.bpf.h): the payload's last chunk
 * ends inside the scratch value, which runs on past the event.
 */
#define KS_FDR_Q_MAX	(KS_DFA_BUF_MASK - KS_FDR_CHUNK - 2)
#include "ks_fdr.bpf.h"

_Static_assert(__builtin_offsetof(struct ks_event, payload) + KS_PAYLOAD_MAX + 2 <= KS_FDR_Q_MAX,
	       "the payload's pairs are all scanned");
_Static_assert(sizeof(struct ks_scratch) - __builtin_offsetof(struct ks_scratch, ev) >
	       KS_FDR_Q_MAX + KS_FDR_CHUNK + 2, "a chunk's pairs stay in the scratch value");

/*
 * The prefilter of t's generation: slot t->hdr.fdr_slot of ks_fdr_gen
 * when kload wrote it for t (maps/ks_fdr.h), else NULL. The slot's
 * generation is the tables' own, so an event never pairs the prefilter
 * of one generation with the DFA of another.
 */
static __always_inline const struct ks_fdr_tab *ks_fdr_of(const struct ks_tables *t)
{
	__u32 slot = t->hdr.fdr_slot, zero = 0;
	const struct ks_fdr_slot *v;
	void *inner;

	inner = bpf_map_lookup_elem(&ks_fdr_gen, &slot);
	v = inner ? bpf_map_lookup_elem(inner, &zero) : NULL;
	return v && v->generation == t->hdr.generation ? &v->fdr : NULL;
}

/*
 * The payload (a whole frame) behind the prefilter of t's generation
 * (maps/ks_fdr.h, ks_fdr_of), case mode fold, whose automaton the
 * compiler flagged KS_DFA_AU_FDR (ks_scan_payload). The sentinels are written
 * around the value in the event while the shift-or reads its pairs, and
 * the two bytes they cover put back before anything else reads the
 * event; the confirm walks read the value alone. Returns the bytes
 * scanned, or -1: a value the prefilter cannot take (not where the
 * payload slot is) or gave up on, or no prefilter of this generation,
 * which the caller walks with ks_scan_frame. Global, a sibling of
 * ks_scan_frame in the call chain, its frame at most 128 bytes like
 * that one's (6.1's 512 bytes of stack for the chain).
 */
__noinline int ks_scan_fdr(struct ks_tables *t, struct ks_scratch *sc, __u32 fold)
{
	const __u32 f = KS_F_PAYLOAD;
	struct ks_dfa_cb cb = {};
	struct ks_fdr_ccb ccb = { .cb = &cb };
	const struct ks_fdr_tab *ft;
	struct ks_fdr_run *fr;
	__u32 off, len;
	__u8 *buf;

	if (!t || !sc || fold >= KS_CASE_N)
		return -1;
	ccb.au = &t->dfa_hdr.autos[f][fold];
	off = sc->ev.str[f].off;
	len = sc->ev.str[f].len;
	/* triples read from off - 3 on */
	if (!ccb.au->start || !ccb.au->mid || off < 3 || !len || len > KS_PAYLOAD_MAX ||
	    off + len + 2 > KS_FDR_Q_MAX)
		return -1;
	ft = ks_fdr_of(t);
	if (!ft)
		return -1;
	ks_scan_cb(&cb, t, sc, f, fold);
	ccb.hdr = &t->dfa_hdr;
	ccb.fr = fr = &sc->fdr;
	ccb.ov = ft->ov;
	ccb.tab = (const __u8 *)ft->tab;
	buf = (__u8 *)&sc->ev;
	/* the two bytes under the sentinels, in map memory: not live in
	 * registers across the scan (this frame's size) */
	fr->save[0] = buf[(off - 1) & KS_DFA_BUF_MASK];
	fr->save[1] = buf[(off + len) & KS_DFA_BUF_MASK];
	buf[(off - 1) & KS_DFA_BUF_MASK] = KS_SENT_BEGIN;
	buf[(off + len) & KS_DFA_BUF_MASK] = KS_SENT_END;
	ks_fdr_reset(fr);
	ks_fdr_filter(&ccb, off - 1, len, ft->key);
	buf[(fr->base) & KS_DFA_BUF_MASK] = fr->save[0];
	buf[(fr->end) & KS_DFA_BUF_MASK] = fr->save[1];
	return ks_fdr_confirm_all(&ccb) ? -1 : (int)len;
}

/*
 * process.args: NUL-separated elements, each framed, in one walk with a
 * test per byte. Global, so the verifier checks the chunk loop once.
 */
__noinline int ks_scan_elems(struct ks_tables *t, struct ks_scratch *sc, __u32 how, __u32 off,
			     __u32 len)
{
	struct ks_scan_ctx c = {};
	__u32 f = how & 0xff, fold = (how >> 8) & 0xff, frame = how >> 16, s;

	if (!t || !sc || f >= KS_F_STR_N || fold >= KS_CASE_N)
		return 0;
	s = t->dfa_hdr.autos[f][fold].start;
	if (!s)
		return 0;
	c.t = t;
	c.sc = sc;
	c.col = t->dfa_hdr.col[ks_bound(fold, 1)];
	if (len > KS_SCAN_MAX)
		len = KS_SCAN_MAX;
	/* in memory before the begin sentinel's call: not spilled across it */
	sc->elem_pos = off;
	sc->elem_end = off + len;

	if ((frame & KS_FR_BEGIN) && t->dfa_hdr.autos[f][fold].begun)
		s = t->dfa_hdr.autos[f][fold].begun;	/* maps/ks_dfa.h */
	else if (frame & KS_FR_BEGIN)
		s = ks_feed(&c, s, t->dfa_hdr.col_begin);
	sc->elem_s = s;
	bpf_loop((len + KS_SCAN_CHUNK - 1) / KS_SCAN_CHUNK, ks_scan_chunk, &c, 0);
	s = sc->elem_s;
	if (s && (frame & KS_FR_END))
		ks_feed(&c, s, t->dfa_hdr.col_end);
	return len;
}

/*
 * Scan field `f` as "\x01" value "\x02". A cut path (ks_task.bpf.h) is
 * two walks that nothing joins: "\x01" head, then tail "\x02" (the
 * tail is right-aligned in its slot, the head at the slot's start), so a
 * hit is always true of the real path; ks_insn_tv() decides the misses.
 * With `fdr`, the payload behind its prefilter when the compiler flagged
 * the automaton (ks_scan_fdr; -1: not taken or gave up, the walk alone).
 */
static __always_inline int ks_scan_in(struct ks_tables *t, struct ks_scratch *sc, __u32 f,
				      __u32 fold, bool fdr)
{
	__u32 off, len, slot, needed = fold & KS_SCAN_NEEDED;

	fold &= ~KS_SCAN_NEEDED;
	if (!t || !sc || f >= KS_F_STR_N || fold >= KS_CASE_N ||
	    !t->dfa_hdr.autos[f][fold].start)
		return 0;
	if (fdr && f == KS_F_PAYLOAD && (t->dfa_hdr.autos[f][fold].flags & KS_DFA_AU_FDR)) {
		int n = ks_scan_fdr(t, sc, fold);

		if (n >= 0)
			return n;
	}
	off = sc->ev.str[f].off;
	len = sc->ev.str[f].len;
	if (!(sc->ev.truncated & KS_F_PATH_MASK & (1u << f)))
		return ks_scan_range(t, sc, KS_SCAN_HOW(f, fold, ks_args_frame(sc, f)), off,
				     len, needed);
	/*
	 * The tail's bytes kept in the scratch over the head's walk, and
	 * the head's slot read from the event after the tail's: fewer
	 * values live across the calls keep this frame within 6.1's
	 * 512-byte chain (ks_scan_frame).
	 */
	sc->cut_n = ks_scan_range(t, sc, KS_SCAN_HOW(f, fold, KS_FR_END), off, len, 0);
	/* no address of the event computed before the call kept over it */
	barrier_var(sc);
	slot = sc->ev.str[f].off + sc->ev.str[f].len - KS_PATH_MAX;
	len = sc->ev.cut_head[KS_PATH_IDX(f) & (KS_PATH_SLOTS - 1)];
	return sc->cut_n + ks_scan_range(t, sc, KS_SCAN_HOW(f, fold, KS_FR_BEGIN), slot, len, 0);
}

/* Walk the window in the payload slot with automaton (f, m), if any. */
static __always_inline void ks_args_walk(struct ks_tables *t, struct ks_scratch *sc, __u32 f,
					 __u32 m)
{
	if (t->dfa_hdr.autos[f][m].start)
		sc->scan_bytes += ks_scan_range(t, sc, KS_SCAN_HOW(f, m, sc->args_fr),
						offsetof(struct ks_event, payload), sc->args_n, 0);
}

/* Walk the window with the fields' four automata: 1 when it ends the area. */
static __always_inline int ks_args_walk_window(struct ks_tables *t, struct ks_scratch *sc)
{
	ks_args_walk(t, sc, KS_F_PROCESS_ARGS, KS_CASE_EXACT);
	ks_args_walk(t, sc, KS_F_PROCESS_ARGS, KS_CASE_FOLD);
	ks_args_walk(t, sc, KS_F_PROCESS_COMMAND_LINE, KS_CASE_EXACT);
	ks_args_walk(t, sc, KS_F_PROCESS_COMMAND_LINE, KS_CASE_FOLD);
	if (!sc->args_fr)
		return 0;
	sc->args_rest = KS_REST_WHOLE;
	return 1;
}

/*
 * One window of ks_scan_args_rest(): 1 when there is no next one. What
 * lives across the walks' calls is in the scratch, not in registers that
 * would spill (6.1's call chain: this frame stays ks_scan()'s size).
 */
static __always_inline int ks_args_window(struct ks_tables *t, struct ks_scratch *sc)
{
	__u32 pos = sc->args_pos, n;

	if (pos >= sc->args_total || sc->args_total > KS_REST_AREA_MAX)
		return 1;
	n = sc->args_total - pos;
	sc->args_fr = n <= KS_PAYLOAD_MAX ? KS_FR_END : 0;
	if (n > KS_PAYLOAD_MAX)
		n = KS_PAYLOAD_MAX;
	sc->args_n = n;
	if (bpf_probe_read_user(sc->ev.payload, n, (void *)(sc->args_ua + pos)))
		return 1;
	if (ks_args_walk_window(t, sc))
		return 1;
	sc->args_pos = sc->args_pos + sc->args_n - sc->args_ov;
	return 0;
}

/*
 * One bpf_loop() step of ks_argv_window(): the next element of the
 * caller's argv (from sc->args_off in it) appended to the window with its
 * NUL. Stops when the window is full (the element goes on in the next
 * one), at argv's end (args_fr = KS_FR_END) or on an unreadable element
 * (args_stop).
 */
struct ks_argv_ctx {
	struct ks_scratch *sc;	/* bpf_loop()'s context must be on the stack */
};

static long ks_argv_fill(__u32 idx, struct ks_argv_ctx *c)
{
	struct ks_scratch *sc = c->sc;
	__u32 fill = sc->args_fill, i = sc->args_i, room;
	const char *p = NULL;
	long n;

	if (fill > KS_PAYLOAD_MAX - 2)
		return 1;
	if (i >= sc->args_argc) {
		sc->args_fr = KS_FR_END;
		return 1;
	}
	if (bpf_probe_read_user(&p, sizeof(p), (void *)(sc->args_ua + (__u64)i * sizeof(p))) ||
	    !p) {
		sc->args_stop = 1;
		return 1;
	}
	room = KS_PAYLOAD_MAX - fill;
	n = bpf_probe_read_user_str(&sc->ev.payload[fill], room, p + sc->args_off);
	if (n <= 0) {
		sc->args_stop = 1;
		return 1;
	}
	if (n >= room) {	/* full: the element goes on, over the NUL written */
		sc->args_off += n - 1;
		sc->args_fill = fill + n - 1;
		return 1;
	}
	sc->args_fill = fill + n;
	sc->args_i = i + 1;
	sc->args_off = 0;
	return 0;
}

/*
 * One window of the caller's argv (LSM mode, ks_fill_args_regs): its
 * first args_ov bytes are the last ones before it, the rest elements
 * read by ks_argv_fill. 1 when there is no next one.
 */
static __always_inline int ks_argv_window(struct ks_tables *t, struct ks_scratch *sc)
{
	struct ks_argv_ctx c = { .sc = sc };
	__u32 fill, ov = sc->args_ov;

	sc->args_fr = 0;
	bpf_loop(KS_REST_FILL_STEPS, ks_argv_fill, &c, 0);
	fill = sc->args_fill;
	if (sc->args_stop || fill > KS_PAYLOAD_MAX ||
	    (!sc->args_fr && fill <= KS_PAYLOAD_MAX - 2))
		return 1;	/* unreadable, or too many elements for one window */
	/* argv's last NUL only ends the last element */
	sc->args_n = sc->args_fr && fill ? fill - 1 : fill;
	if (ks_args_walk_window(t, sc))
		return 1;
	/* the bytes of argv read so far (args_pos): at most, as from the area */
	sc->args_pos += sc->args_fill - sc->args_ov;
	if (sc->args_pos > KS_REST_AREA_MAX)
		return 1;
	/* read again and masked: 6.1 forgets the bounds of a spilled u32 */
	fill = sc->args_fill;
	ov = sc->args_ov;
	if (fill > KS_PAYLOAD_MAX || fill < ov || ov > KS_REST_OV_MAX ||
	    bpf_probe_read_kernel(sc->ev.payload, ov & (2 * KS_REST_OV_MAX - 1),
				  &sc->ev.payload[(fill - ov) & (2048 - 1)]))
		return 1;
	sc->args_fill = ov;
	return 0;
}

/*
 * The first window of the caller's argv starts with the event's last
 * args_ov bytes (all of them when it kept fewer).
 */
static __always_inline int ks_argv_begin(struct ks_scratch *sc)
{
	__u32 end = sc->args_pos, c = sc->args_ov;

	if (end > KS_ARGS_MAX || c > KS_REST_OV_MAX)
		return -1;
	if (c > end)
		c = end;
	sc->args_stop = 0;
	sc->args_fill = c;
	sc->args_pos = end;
	if (!c)
		return 0;
	return bpf_probe_read_kernel(sc->ev.payload, c & (2 * KS_REST_OV_MAX - 1),
				     &sc->ev.args[(end - c) & (KS_ARGS_MAX - 1)]) ? -1 : 0;
}

/*
 * process.args and process.command_line past the KS_ARGS_MAX bytes the
 * event keeps, when the argument area is in the current mm
 * (ks_fill_args_mm: exec in signal mode, fork, credentials). Window by
 * window into the event's payload slot (these events have no payload),
 * each walked by the two fields' automata; a window starts the longest
 * pattern's length before the last one ended, so every pattern lies
 * whole in one window, and only the area's end gets the end sentinel.
 * Only a walk of the whole area (KS_REST_WHOLE, at most KS_REST_AREA_MAX
 * bytes) decides a miss (ks_cut_undecided); hits count whatever. A
 * global, so it is verified once; its state is in the scratch (6.1's
 * 512-byte call chain: as deep as ks_scan()'s). Returns the bytes walked.
 * In LSM mode the argument area is not in this mm yet: the windows are
 * made of the caller's argv, element by element, from where the event's
 * bytes stop (ks_argv_window), up to KS_REST_WINDOWS of them.
 */
__noinline int ks_scan_args_rest(struct ks_tables *t, struct ks_scratch *sc)
{
	__u32 ov = 0, f, m, k;

	if (!t || !sc)
		return 0;
	sc->args_rest = KS_REST_PART;
	for (f = KS_F_PROCESS_ARGS; f <= KS_F_PROCESS_COMMAND_LINE; f++)
		for (m = 0; m < KS_CASE_N; m++)
			if (t->dfa_hdr.autos[f][m].start && t->dfa_hdr.autos[f][m].overlap > ov)
				ov = t->dfa_hdr.autos[f][m].overlap;
	/* and the sentinels a pattern may hold */
	ov += 2;
	if (ov > KS_REST_OV_MAX)
		return 0;
	sc->args_ov = ov;
	sc->scan_bytes = 0;
	if (sc->args_argc) {	/* the caller's argv, element by element */
		if (ks_argv_begin(sc))
			return 0;
		for (k = 0; k < KS_REST_WINDOWS; k++)
			if (ks_argv_window(t, sc))
				break;
		return sc->scan_bytes;
	}
	sc->args_pos = KS_ARGS_MAX - ov;
	for (k = 0; k < KS_REST_WINDOWS; k++)
		if (ks_args_window(t, sc))
			break;
	return sc->scan_bytes;
}

__noinline int ks_scan(struct ks_tables *t, struct ks_scratch *sc, __u32 f, __u32 fold)
{
	return ks_scan_in(t, sc, f, fold, false);
}

__noinline int ks_scan_payload(struct ks_tables *t, struct ks_scratch *sc, __u32 f, __u32 fold)
{
	return ks_scan_in(t, sc, f, fold, true);
}

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
		return ks_cut_undecided(ev, in, sc->args_rest == KS_REST_WHOLE) ? KS_TV_UNKNOWN :
										  KS_TV_FALSE;
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
	present = ks_join_present(ev, f);
	if (KS_F_IS_STR(f)) {
		struct ks_strref r = ev->str[ks_bound(f, 15)];

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
	if (ks_field_is_entity(f)) {
		w0 = ks_event_entity(ev, f);
	} else if (f == KS_F_SOURCE_IP || f == KS_F_DEST_IP) {
		__u64 *a = (__u64 *)(f == KS_F_SOURCE_IP ? ev->saddr : ev->daddr);

		w0 = a[0];
		w1 = a[1];
		len = 16;
	} else {
		ks_event_num(ev, f, &v);
		w0 = v;
	}
	if (!present)	/* every null is one key: what a stale member holds is no value */
		w0 = w1 = 0;
	ks_sip_word(&sc->hash, KS_JOIN_HDR(present, len));
	ks_sip_word(&sc->hash, w0);
	if (len == 16)
		ks_sip_word(&sc->hash, w1);
	return 0;
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
	now = ks_event_time(sc);
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
		v->start[0] = now;	/* state 1; the newest overwrites */
		v->updated_ns = now;
		ks_count(&st->seq_started);
		return KS_SEQ_MOVED;
	}
	/* start[k - 1] is state k's; k == 0 was handled above (wraps past) */
	if (!v || k - 1 >= KS_MAX_KSTEPS - 1)
		return KS_SEQ_NOOP;
	start = v->start[k - 1];
	if (!start)
		return KS_SEQ_NOOP;
	v->start[k - 1] = 0;
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
	/* state k + 1; the compiler keeps n <= KS_MAX_KSTEPS, so k fits */
	if (k < KS_MAX_KSTEPS - 1)
		v->start[k] = start;
out:
	v->updated_ns = now;
	if (ks_entity_empty(v, n) && bpf_map_delete_elem(&ks_entity, &key) == 0)
		ks_count(&st->entity_deletes);
	return KS_SEQ_MOVED;
}

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
	ks_event_time(sc);
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
	/* a null join key that is not ?optional: the event is not in the step */
	if (ks_join_null(&sc->ev, s->join, s->n_join, s->join_opt))
		return 0;
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
