// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Userspace model of the kernel evaluator; the contract is in
 * include/kestrel/tablewalk.h. Written the way the BPF code must be:
 * bounded loops, every table index checked, no allocation.
 */
#include <string.h>

#include <kestrel/dfawalk.h>
#include <kestrel/rules.h>
#include <kestrel/tablewalk.h>

#include "maps/ks_siphash.h"
#include "maps/ks_state.h"

/*
 * The kernel masks cell offsets with its size class - 4 (maps/ks_tables.h);
 * every class holding the rule set walks the same, so the model masks with
 * the smallest, the rule set's tab_bytes (bounded by the array for tables
 * that are not checked).
 */
static uint32_t dfa_mask(const struct ks_tables *t)
{
	return (t->dfa_hdr.tab_bytes - 4) & (KS_DFA_CELLS * 4 - 4);
}

/* The atoms of accepting cell s: its row's spare cell names them. */
static void record_accept(const struct ks_tables *t, uint32_t s,
			  struct ks_walk *w)
{
	uint32_t at = ((s & ~KS_DFA_ACC) & dfa_mask(t)) / 4 + t->dfa_hdr.n_classes, v, first, n, i;

	if (at >= KS_DFA_CELLS)
		return;
	v = t->dfa[at];
	first = v >> 8;
	n = v & 0xff;
	for (i = 0; i < n && first + i < KS_MAX_ACC_LIST; i++)
		ks_walk_set_hit(w, t->acc_list[first + i]);
}

/*
 * One DFA transition from cell s by column offset col, masked as the
 * kernel masks it (bpf/ks_eval.bpf.h): the cell after s's row offset.
 */
static uint32_t dfa_step(const struct ks_tables *t, uint32_t s, uint32_t col,
			 struct ks_walk *w)
{
	s = t->dfa[((s + col) & dfa_mask(t)) / 4];
	w->bytes_scanned++;
	if (s & KS_DFA_ACC)
		record_accept(t, s, w);
	return s;
}

uint32_t ks_walk_bytes(const struct ks_tables *t, uint32_t state, bool fold,
		       const uint8_t *p, size_t n, struct ks_walk *w)
{
	const uint16_t *col = t->dfa_hdr.col[fold ? KS_DFA_COL_FOLD : KS_DFA_COL_EXACT];
	size_t i;

	for (i = 0; i < n && state; i++)
		state = dfa_step(t, state, col[p[i]], w);
	return state;
}

/* A frame sentinel: fed by its column, which no input byte maps to. */
static uint32_t feed_class(const struct ks_tables *t, uint32_t state, uint32_t col,
			   struct ks_walk *w)
{
	return state ? dfa_step(t, state, col, w) : 0;
}

bool ks_ev_str(const struct ks_event *ev, enum ks_field f, const uint8_t **p,
	       uint32_t *len)
{
	uint32_t off, n;

	if (!KS_F_IS_STR(f))
		return false;
	off = ev->str[f].off;
	n = ev->str[f].len;
	if (off >= sizeof(*ev))
		return false;
	if (n > sizeof(*ev) - off)
		n = sizeof(*ev) - off;
	*p = (const uint8_t *)ev + off;
	*len = n;
	return n != 0;
}

/* Elements are NUL separated; a final NUL only terminates the last one. */
static uint32_t args_len(const uint8_t *p, uint32_t n)
{
	return n && p[n - 1] == 0 ? n - 1 : n;
}

static uint32_t scan_args(const struct ks_tables *t, uint32_t s, bool fold,
			  const uint8_t *p, uint32_t n, uint32_t frame, struct ks_walk *w)
{
	uint32_t i, elem = 0;

	n = args_len(p, n);
	s = feed_class(t, s, t->dfa_hdr.col_begin, w);
	for (i = 0; i < n && s; i++) {
		if (p[i])
			continue;
		s = ks_walk_bytes(t, s, fold, p + elem, i - elem, w);
		s = feed_class(t, s, t->dfa_hdr.col_end, w);
		s = feed_class(t, s, t->dfa_hdr.col_begin, w);
		elem = i + 1;
	}
	s = ks_walk_bytes(t, s, fold, p + elem, n - elem, w);
	return frame & KS_DFA_FR_END ? feed_class(t, s, t->dfa_hdr.col_end, w) : s;
}

/* Without trailing NULs: the joined line has no trailing separators. */
static uint32_t cmdline_len(const uint8_t *p, uint32_t n)
{
	while (n && !p[n - 1])
		n--;
	return n;
}

/*
 * One frame through automaton (f, m) as the kernel walks it: with
 * KS_DFA_SCAN_WALKS interleaved walks by the plan of maps/ks_dfa.h, so
 * the hits come in the kernel's order.
 */
static void scan_frame(const struct ks_tables *t, enum ks_field f, int m, uint32_t col,
		       const uint8_t *p, uint32_t n, uint32_t frame, struct ks_walk *w)
{
	const struct ks_dfa_view v = { &t->dfa_hdr, t->dfa, t->acc_list };

	ks_dfa_walk_frame(&v, f, m, col, p, n, KS_DFA_SCAN_WALKS, frame, w);
}

static void scan_field(const struct ks_tables *t, const struct ks_event *ev,
		       enum ks_field f, struct ks_walk *w)
{
	const uint32_t both = KS_DFA_FR_BEGIN | KS_DFA_FR_END;
	/* a cut argument vector: its kept bytes do not end it (ks_args_frame) */
	const uint32_t args = ev->truncated & (1u << KS_F_PROCESS_ARGS) ? KS_DFA_FR_BEGIN : both;
	const uint8_t *p;
	uint32_t n, s;
	int m;

	if (!ks_ev_str(ev, f, &p, &n))
		return;
	for (m = 0; m < KS_CASE_N; m++) {
		s = t->dfa_hdr.autos[f][m].start;
		if (!s)
			continue;
		if (f == KS_F_PROCESS_ARGS) {
			if (ks_dfa_need_any(&t->dfa_hdr.autos[f][m], p, n))
				scan_args(t, s, m == KS_CASE_FOLD, p, n, args, w);
		} else if (f == KS_F_PROCESS_COMMAND_LINE) {
			/* the column maps with NUL read as ' ' */
			scan_frame(t, f, m, m | KS_DFA_COL_EXACT_JOIN, p, cmdline_len(p, n), args,
				   w);
		} else if (ev->truncated & KS_F_PATH_MASK & (1u << f)) {
			/* a cut path: tail "\x02", then "\x01" head, apart */
			scan_frame(t, f, m, m, p, n, KS_DFA_FR_END, w);
			scan_frame(t, f, m, m, p + n - KS_PATH_MAX, ev->cut_head[KS_PATH_IDX(f)],
				   KS_DFA_FR_BEGIN, w);
		} else {
			scan_frame(t, f, m, m, p, n, both, w);
		}
	}
}

void ks_walk_scan(const struct ks_tables *t, const struct ks_event *ev,
		  struct ks_walk *w)
{
	int f;

	for (f = KS_F_NONE + 1; f < KS_F_STR_N; f++)
		scan_field(t, ev, f, w);
}

static void add_cand(const struct ks_tables *t, const struct ks_event *ev,
		     uint32_t step, struct ks_walk *w)
{
	uint8_t cat;

	if (step >= KS_MAX_STEPS || step >= t->hdr.n_steps ||
	    w->seen[step] == w->epoch)
		return;
	cat = t->steps[step].category;
	if (cat != KS_CAT_ANY && cat != ev->category)
		return;
	w->seen[step] = w->epoch;
	if (w->n_cands >= KS_MAX_CANDS) {
		w->cand_overflow = true;
		return;
	}
	w->cands[w->n_cands++] = step;
}

/* The steps of one (first << 16 | count) range of a step list of cap ids. */
static void add_range(const struct ks_tables *t, const struct ks_event *ev,
		      uint32_t v, const __u16 *list, uint32_t cap,
		      struct ks_walk *w)
{
	uint32_t first = v >> 16, n = v & 0xffff, i;

	for (i = 0; i < n && first + i < cap; i++)
		add_cand(t, ev, list[first + i], w);
}

static void add_cat(const struct ks_tables *t, const struct ks_event *ev,
		    uint32_t cat, struct ks_walk *w)
{
	if (cat < KS_CAT_N)
		add_range(t, ev, t->cat_first[cat], t->cat_list, KS_MAX_STEPS, w);
}

/* ks_trig_fields() of bpf/ks_eval.bpf.h */
static uint32_t walk_trig_fields(const struct ks_tables *t, const struct ks_event *ev)
{
	return ev->action < KS_ACT_N ? t->hdr.trig_fields[ev->action] : ~0u;
}

void ks_walk_candidates(const struct ks_tables *t, const struct ks_event *ev,
			struct ks_walk *w)
{
	uint32_t h, a, i;

	/* as bpf/: the lists only when a step by category can match the action */
	if (walk_trig_fields(t, ev) & (1u << KS_F_NONE)) {
		if (ev->category != KS_CAT_ANY)
			add_cat(t, ev, ev->category, w);
		add_cat(t, ev, KS_CAT_ANY, w);
	}
	for (h = 0; h < w->n_hits; h++) {
		a = w->hits[h];
		if (a >= t->hdr.n_atoms)
			continue;
		add_range(t, ev, t->atom_trig[a], t->trig_list, KS_MAX_TRIG_LIST, w);
	}
	/* a cut field: the steps it may hide the trigger of (after the hits, as bpf/) */
	for (i = 0; i < KS_CUT_SLOTS; i++) {
		if (!(ev->truncated & KS_CUT_BIT(i)))
			continue;
		add_range(t, ev, t->cut_first[i], t->cut_list, KS_CUT_LIST_MAX, w);
	}
}

const uint8_t *ks_ev_ip(const struct ks_event *ev, enum ks_field f)
{
	if (f == KS_F_SOURCE_IP)
		return ev->saddr;
	if (f == KS_F_DEST_IP)
		return ev->daddr;
	return NULL;
}

bool ks_ev_null(const struct ks_event *ev, enum ks_field f, uint32_t pbit)
{
	__s64 v;

	/* a number is null as the kernel reads it: a field null while 0
	 * (network.direction, the capability sets) whatever its bit says */
	if (ks_field_is_num(f))
		return !ks_event_num(ev, f, &v);
	if (!pbit || (ev->present & pbit))
		return false;
	return !KS_F_IS_STR(f) || ev->str[f].len == 0;
}

/* Deliberate twin of ks_cmp in bpf/ks_eval.bpf.h, which this walk models;
 * here an unknown op also says the tables are bad (*ok). */
static bool cmp_s64(int64_t a, uint8_t cmp, int64_t b, bool *ok)
{
	switch (cmp) {
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
	*ok = false;
	return false;
}

static bool cidr_match(const uint8_t *ip, const struct ks_cidr *c)
{
	uint32_t full = c->prefix / 8, rest = c->prefix % 8;
	uint8_t mask;

	if (c->prefix > 128)
		return false;
	if (memcmp(ip, c->addr, full))
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (ip[full] & mask) == (c->addr[full] & mask);
}

/*
 * A miss of an atom on a cut field that the scanned parts cannot decide
 * (ks_cut_undecided() in bpf/ks_eval.bpf.h).
 */
static bool cut_undecided(const struct ks_event *ev, const struct ks_insn *in)
{
	uint32_t head;

	if (in->field >= KS_F_STR_N)
		return false;
	if (KS_F_ARGS_MASK & (1u << in->field))
		return (ev->truncated & (1u << KS_F_PROCESS_ARGS)) &&
		       (in->imm & KS_ATOM_ARGS_CLOSED) &&
		       (in->field == KS_F_PROCESS_ARGS || (in->imm & KS_ATOM_MIDDLE) ||
			KS_ATOM_SUFFIX(in->imm) ||
			KS_ATOM_PREFIX(in->imm) > ev->str[in->field].len);
	if (!(ev->truncated & KS_F_PATH_MASK & (1u << in->field)))
		return false;
	head = ev->cut_head[KS_PATH_IDX(in->field)];
	return !head || (in->imm & KS_ATOM_MIDDLE) || KS_ATOM_PREFIX(in->imm) > head ||
	       KS_ATOM_SUFFIX(in->imm) > ev->str[in->field].len;
}

/* One operand insn: the value it pushes, *ok = false if malformed. */
static enum ks_tv operand(const struct ks_tables *t, const struct ks_insn *in,
			  const struct ks_event *ev, const struct ks_walk *w,
			  bool *ok)
{
	const uint8_t *ip;
	__s64 v;

	switch (in->op) {
	case KS_OP_TRUE:
		return KS_TV_TRUE;
	case KS_OP_FALSE:
		return KS_TV_FALSE;
	case KS_OP_USER:
		return KS_TV_UNKNOWN;
	case KS_OP_ATOM:
		if (ks_walk_is_hit(w, in->arg))
			return KS_TV_TRUE;
		return cut_undecided(ev, in) ? KS_TV_UNKNOWN : KS_TV_FALSE;
	case KS_OP_PRESENT:
		return ks_ev_null(ev, in->field, in->arg) ? KS_TV_FALSE :
							    KS_TV_TRUE;
	case KS_OP_CMP:
		if (!ks_field_is_num(in->field))
			break;
		if (!ks_event_num(ev, in->field, &v))
			return KS_TV_FALSE;
		return cmp_s64(v, in->cmp, (int64_t)in->imm, ok) ?
			KS_TV_TRUE : KS_TV_FALSE;
	case KS_OP_STRLEN:
		if (!KS_F_IS_STR(in->field))
			break;
		if (ks_ev_null(ev, in->field, in->arg))
			return KS_TV_FALSE;
		return cmp_s64(ev->str[in->field].len, in->cmp,
			       (int64_t)in->imm, ok) ? KS_TV_TRUE : KS_TV_FALSE;
	case KS_OP_CIDR:
		ip = ks_ev_ip(ev, in->field);
		if (!ip || in->arg >= t->hdr.n_cidrs || in->arg >= KS_MAX_CIDRS)
			break;
		if (ks_ev_null(ev, in->field, (uint32_t)in->imm))
			return KS_TV_FALSE;
		return cidr_match(ip, &t->cidrs[in->arg]) ? KS_TV_TRUE :
							     KS_TV_FALSE;
	}
	*ok = false;
	return KS_TV_UNKNOWN;
}

static enum ks_tv tv_not(enum ks_tv a)
{
	if (a == KS_TV_UNKNOWN)
		return a;
	return a == KS_TV_TRUE ? KS_TV_FALSE : KS_TV_TRUE;
}

static enum ks_tv tv_and(enum ks_tv a, enum ks_tv b)
{
	if (a == KS_TV_FALSE || b == KS_TV_FALSE)
		return KS_TV_FALSE;
	if (a == KS_TV_UNKNOWN || b == KS_TV_UNKNOWN)
		return KS_TV_UNKNOWN;
	return KS_TV_TRUE;
}

/* De Morgan: or is the and of the negations, negated (three-valued too). */
static enum ks_tv tv_or(enum ks_tv a, enum ks_tv b)
{
	return tv_not(tv_and(tv_not(a), tv_not(b)));
}


enum ks_tv ks_walk_prog(const struct ks_tables *t, const struct ks_insn *prog,
			uint32_t len, const struct ks_event *ev,
			const struct ks_walk *w)
{
	uint8_t st[KS_MAX_STACK];
	uint32_t sp = 0, i;
	bool ok = true;

	if (len > KS_MAX_PROG_LEN)
		return KS_TV_UNKNOWN;
	for (i = 0; i < len && ok; i++) {
		switch (prog[i].op) {
		case KS_OP_AND:
		case KS_OP_OR:
			if (sp < 2)
				return KS_TV_UNKNOWN;
			sp--;
			st[sp - 1] = prog[i].op == KS_OP_AND ?
				tv_and(st[sp - 1], st[sp]) :
				tv_or(st[sp - 1], st[sp]);
			break;
		case KS_OP_NOT:
			if (sp < 1)
				return KS_TV_UNKNOWN;
			st[sp - 1] = tv_not(st[sp - 1]);
			break;
		default:
			if (sp >= KS_MAX_STACK)
				return KS_TV_UNKNOWN;
			st[sp++] = operand(t, &prog[i], ev, w, &ok);
		}
	}
	if (!ok || sp != 1)
		return KS_TV_UNKNOWN;
	return st[0];
}

enum ks_tv ks_walk_step(const struct ks_tables *t, uint32_t step,
			const struct ks_event *ev, const struct ks_walk *w)
{
	const struct ks_step *s;

	if (step >= t->hdr.n_steps || step >= KS_MAX_STEPS)
		return KS_TV_UNKNOWN;
	s = &t->steps[step];
	if (s->prog >= KS_MAX_INSNS || s->prog_len > KS_MAX_INSNS - s->prog ||
	    s->prog + s->prog_len > t->hdr.n_insns)
		return KS_TV_UNKNOWN;
	return ks_walk_prog(t, &t->insns[s->prog], s->prog_len, ev, w);
}

/* Whether a hit atom so far queues a step: the kernel queues every step
 * of a hit atom, whatever its category. */
static bool hit_queues(const struct ks_tables *t, const struct ks_walk *w)
{
	uint32_t h;

	for (h = 0; h < w->n_hits; h++)
		if (w->hits[h] < t->hdr.n_atoms && (t->atom_trig[w->hits[h]] & 0xffff))
			return true;
	return false;
}

bool ks_walk_early(const struct ks_tables *t, const struct ks_event *ev, struct ks_walk *w)
{
	uint32_t f;

	ks_walk_begin(w);
	/* ks_xdp_main's packet filter: no step admits the protocol and ports */
	if (ev->category == KS_CAT_NETWORK && ev->action == KS_ACT_PACKET &&
	    (ev->present & KS_P_NET) &&
	    !ks_net_admits(&t->net, ev->transport, ev->sport, ev->dport))
		return true;
	if (ev->category != KS_CAT_FILE || ev->action >= 16 ||
	    (t->hdr.trig_fields[ev->action] & ~KS_EARLY_FIELDS) ||
	    (ev->truncated & KS_F_PATH_MASK))
		return false;
	for (f = KS_F_NONE + 1; f < KS_F_STR_N; f++)
		if (KS_EARLY_FIELDS & (1u << f))
			scan_field(t, ev, f, w);
	return !hit_queues(t, w);
}

/*
 * ks_scan_triggers() of bpf/ks_eval.bpf.h: the fields of the action's
 * trigger atoms scanned, no step queued by a hit, a category list or a
 * cut path: every step is false and the other fields are not scanned.
 */
static bool walk_no_candidate(const struct ks_tables *t, const struct ks_event *ev,
			      struct ks_walk *w)
{
	uint32_t trig = walk_trig_fields(t, ev), f, i;

	for (f = KS_F_NONE + 1; f < KS_F_STR_N; f++)
		if (trig & (1u << f))
			scan_field(t, ev, f, w);
	if (hit_queues(t, w))
		return false;
	if ((trig & (1u << KS_F_NONE)) &&
	    ((t->cat_first[KS_CAT_ANY] & 0xffff) ||
	     (ev->category < KS_CAT_N && (t->cat_first[ev->category] & 0xffff))))
		return false;
	for (i = 0; i < KS_CUT_SLOTS; i++)
		if ((ev->truncated & KS_CUT_BIT(i)) && (t->cut_first[i] & 0xffff))
			return false;
	return true;
}

void ks_walk_event(const struct ks_tables *t, const struct ks_event *ev,
		   struct ks_walk *w)
{
	uint32_t i;

	if (ks_walk_early(t, ev, w))
		return;		/* no candidate: every step false */
	ks_walk_begin(w);
	if (walk_no_candidate(t, ev, w))
		return;
	/* the kernel scans the other fields after; the hits are the same */
	ks_walk_begin(w);
	ks_walk_scan(t, ev, w);
	ks_walk_candidates(t, ev, w);
	for (i = 0; i < w->n_cands; i++)
		w->tv[i] = ks_walk_step(t, w->cands[i], ev, w);
}

enum ks_tv ks_walk_verdict(const struct ks_walk *w, uint32_t step)
{
	uint32_t i;

	if (step >= KS_MAX_STEPS || w->seen[step] != w->epoch)
		return KS_TV_FALSE;
	for (i = 0; i < w->n_cands; i++)
		if (w->cands[i] == step)
			return w->tv[i];
	/* a candidate lost to overflow: the kernel forwards the event */
	return KS_TV_UNKNOWN;
}

/* The kernel's ks_hash_field(): header word, then the value's words. */
static void join_field(struct ks_sip *h, const struct ks_event *ev, uint32_t f)
{
	uint64_t w[2] = { 0, 0 };
	uint32_t len = 8, i, present = ks_join_present(ev, f);
	__s64 v = 0;

	if (KS_F_IS_STR(f)) {
		const uint8_t *p = (const uint8_t *)ev + ev->str[f].off;

		len = present ? ev->str[f].len : 0;
		if (ev->str[f].off + (size_t)len > sizeof(*ev))
			len = 0;	/* past the event: empty, as in the kernel */
		ks_sip_word(h, KS_JOIN_HDR(present, len));
		for (i = 0; i < len; i += 8) {
			uint64_t m = ks_sip_load(p + i, len - i < 8 ? len - i : 8);

			if (f == KS_F_PROCESS_COMMAND_LINE)
				m = ks_sip_nul_to_space(m);
			ks_sip_word(h, ks_sip_keep(m, len - i));
		}
		return;
	}
	if (ks_field_is_entity(f)) {
		w[0] = ks_event_entity(ev, f);
	} else if (ks_ev_ip(ev, f)) {
		memcpy(w, ks_ev_ip(ev, f), 16);
		len = 16;
	} else {
		ks_event_num(ev, f, &v);
		w[0] = v;
	}
	if (!present)
		w[0] = w[1] = 0;
	ks_sip_word(h, KS_JOIN_HDR(present, len));
	ks_sip_word(h, w[0]);
	if (len == 16)
		ks_sip_word(h, w[1]);
}

uint64_t ks_walk_join_hash(const struct ks_event *ev, const struct ks_step *s, uint64_t k0,
			   uint64_t k1)
{
	struct ks_sip h;
	uint32_t j;

	ks_sip_init(&h, k0, k1);
	for (j = 0; j < s->n_join && j < KS_MAX_JOIN; j++)
		join_field(&h, ev, s->join[j]);
	return ks_sip_final(&h);
}
