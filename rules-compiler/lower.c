// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lowering: parsed rules into struct ks_tables.
 *
 * Every string test becomes patterns of the one DFA: equality "\x01s\x02",
 * prefix "\x01s", suffix "s\x02", substring "s". An atom is a set of such
 * patterns on one (field, case): the string tests of one disjunction
 * share an atom, so a list of 300 names is one ATOM insn.
 * Everything else a step tests becomes a postfix program (enum ks_op) in
 * three-valued logic; what only userspace can decide is KS_OP_USER, so the
 * kernel's answer is FALSE when the decidable part fails and UNKNOWN (the
 * event is forwarded) otherwise.
 *
 * Each step also gets a trigger set: atoms at least one of which is hit
 * whenever the step is true. Steps are indexed by their trigger atoms
 * (atom_trig/trig_list) or, without a trigger set, by category (cat_list),
 * so the kernel evaluates only steps an event can make true.
 *
 * The output is a function of the rules alone: tables are zeroed first,
 * atoms, cidrs and steps are numbered in rule order.
 *
 * This file places rules and steps and builds the DFA and the trigger
 * index; a step's condition becomes its program in lower_cond.c, atoms
 * and trigger sets live in atoms.c.
 */
#include <stdlib.h>
#include <string.h>

#include <kestrel/fdr.h>
#include <kestrel/names.h>

#include "dfa.h"
#include "lower_priv.h"
#include "maps/ks_dns.h"

#define TRIG_PER_ATOM	65535u	/* atom_trig count is 16 bits */

uint32_t ks_rule_uid(const struct ks_rule_src *r)
{
	uint32_t h = KS_FNV32_INIT;
	const char *id = r->id ? r->id : "";
	const char *q = r->query_text ? r->query_text : "";
	const struct ks_exception *e;
	char step[16];
	size_t i;

	h = ks_fnv1a32(id, strlen(id) + 1, h);	/* with its '\0' */
	h = ks_fnv1a32(q, strlen(q), h);
	/* a rule with exceptions is another rule (none: the same uid) */
	for (i = 0; i < r->n_exceptions; i++) {
		e = &r->exceptions[i];
		snprintf(step, sizeof(step), "\n%u\n", e->step);
		h = ks_fnv1a32(step, strlen(step), h);
		h = ks_fnv1a32(e->text, strlen(e->text), h);
	}
	return h;
}

/* ---- steps and rules ---- */

static bool join_visible(const struct ks_field_info *f)
{
	return f && f->id != KS_F_NONE && f->id != KS_F_PROCESS_ARGS;
}

/* Emit one table step; copies of a `runs` step share the program. */
#define ACT(a)		(1u << (a))
#define ACT_ALL		((ACT(KS_ACT_N) - 1) & ~ACT(KS_ACT_NONE))

static uint32_t category_actions(enum ks_category c)
{
	switch (c) {
	case KS_CAT_PROCESS:
		return ACT(KS_ACT_EXEC) | ACT(KS_ACT_EXIT) | ACT(KS_ACT_FORK) |
		       ACT(KS_ACT_UID_CHANGE) | ACT(KS_ACT_GID_CHANGE) |
		       ACT(KS_ACT_SESSION_ID_CHANGE);
	case KS_CAT_FILE:
		return ACT(KS_ACT_OPEN) | ACT(KS_ACT_CREATION) | ACT(KS_ACT_DELETION) |
		       ACT(KS_ACT_RENAME) | ACT(KS_ACT_MODIFICATION);
	case KS_CAT_NETWORK:
		return ACT(KS_ACT_CONNECT) | ACT(KS_ACT_ACCEPT) | ACT(KS_ACT_PACKET);
	default:
		return ACT_ALL;
	}
}

/*
 * The event actions for which n can be true: a superset, read off
 * `event.action == ...` / `in (...)` conjuncts; anything else allows all.
 */
static uint32_t node_actions(const struct ks_node *n)
{
	uint32_t m;
	size_t i;

	if (!n)
		return ACT_ALL;
	switch (n->kind) {
	case KS_N_AND:
		for (m = ACT_ALL, i = 0; i < n->n_kids; i++)
			m &= node_actions(n->kids[i]);
		return m;
	case KS_N_OR:
		for (m = 0, i = 0; i < n->n_kids; i++)
			m |= node_actions(n->kids[i]);
		return m;
	case KS_N_BOOL:
		return n->num ? ACT_ALL : 0;
	case KS_N_NUM:
		if (!n->field || n->field->id != KS_F_ACTION || n->cmp != KS_CMP_EQ)
			return ACT_ALL;
		for (m = 0, i = 0; i < n->n_nums; i++)
			if (n->nums[i] > KS_ACT_NONE && n->nums[i] < KS_ACT_N)
				m |= ACT(n->nums[i]);
		return m;
	default:
		return ACT_ALL;
	}
}

/*
 * How a condition stands to already_running events (KS_S_RUNNING): it
 * names them (a positive event.action / event.type test listing the
 * action, not excluded by a conjunct), rules them out, or says nothing.
 * Only a step that names them sees them: a rule written for live events
 * is not run against every process found at attach.
 */
enum running { RUN_ADMITS, RUN_NAMES, RUN_EXCLUDES };

static enum running node_running(const struct ks_node *n)
{
	enum running r, k;
	size_t i;

	if (!n)
		return RUN_ADMITS;
	switch (n->kind) {
	case KS_N_AND:
	case KS_N_OR:
		r = n->kind == KS_N_AND ? RUN_ADMITS : RUN_EXCLUDES;
		for (i = 0; i < n->n_kids; i++) {
			k = node_running(n->kids[i]);
			if (n->kind == KS_N_AND && (k == RUN_EXCLUDES || r == RUN_EXCLUDES))
				r = RUN_EXCLUDES;
			else if (k == RUN_NAMES || r == RUN_NAMES)
				r = RUN_NAMES;
			else if (k == RUN_ADMITS)
				r = RUN_ADMITS;
		}
		return r;
	case KS_N_BOOL:
		return n->num ? RUN_ADMITS : RUN_EXCLUDES;
	case KS_N_NUM:
		if (!n->field || n->field->id != KS_F_ACTION || n->cmp != KS_CMP_EQ)
			return RUN_ADMITS;
		for (i = 0; i < n->n_nums; i++)
			if (n->nums[i] == KS_ACT_ALREADY_RUNNING)
				return RUN_NAMES;
		return RUN_EXCLUDES;
	default:
		return RUN_ADMITS;
	}
}

static bool step_running(const struct ks_step_ast *s)
{
	return (s->category == KS_CAT_ANY || s->category == KS_CAT_PROCESS) &&
	       node_running(s->cond) == RUN_NAMES;
}

/* Does n (or a node under it) read field f? */
static bool node_reads(const struct ks_node *n, const struct ks_field_info *f)
{
	size_t i;

	if (!n)
		return false;
	if (n->field == f || n->field2 == f)
		return true;
	for (i = 0; i < n->n_kids; i++)
		if (node_reads(n->kids[i], f))
			return true;
	return false;
}

/*
 * KS_NEED_DNS when the step reads a name the host's DNS answers give
 * (destination.domain: in its condition, exceptions or join fields), so
 * that kload loads the DNS program and it forwards answers.
 */
static uint32_t step_needs(const struct ks_query *q, const struct ks_step_ast *s)
{
	const struct ks_field_info *dom = ks_field_lookup("destination.domain");
	size_t j;

	if (!dom)
		return 0;
	if (node_reads(s->cond, dom) || node_reads(s->exc, dom))
		return KS_NEED_DNS;
	for (j = 0; j < q->n_join; j++)
		if (q->join[j] == dom)
			return KS_NEED_DNS;
	for (j = 0; j < s->n_join; j++)
		if (s->join[j] == dom)
			return KS_NEED_DNS;
	return 0;
}

bool ks_query_needs_dns(const struct ks_query *q)
{
	size_t i;

	for (i = 0; i < q->n_steps; i++)
		if (step_needs(q, &q->steps[i]))
			return true;
	return q->until && step_needs(q, q->until);
}

static int add_step(struct lower *L, uint32_t rule, uint32_t index,
		    uint8_t flags, const struct ks_query *q,
		    const struct ks_step_ast *s, const struct step_out *o)
{
	struct ks_tables *t = L->t;
	struct ks_step *st;
	size_t j;

	if (t->hdr.n_steps >= KS_MAX_STEPS) {
		lower_error(L, s->loc, "rules need more than %u steps, limit KS_MAX_STEPS is %u",
		       KS_MAX_STEPS, KS_MAX_STEPS);
		return -1;
	}
	st = &t->steps[t->hdr.n_steps];
	st->rule = rule;
	st->index = index;
	st->flags = flags | (o->exact ? KS_S_EXACT : 0) | (step_running(s) ? KS_S_RUNNING : 0);
	st->category = s->category;
	ks_grow(&L->sact, &L->cap_sact, t->hdr.n_steps, sizeof(*L->sact));
	L->sact[t->hdr.n_steps] = node_actions(s->cond) & category_actions(s->category);
	/* kernel actions only: already_running is past KS_ACT_N (ACT_ALL) */
	t->hdr.action_mask |= (L->sact[t->hdr.n_steps] & ACT_ALL) | step_needs(q, s);
	if (L->sact[t->hdr.n_steps] & ACT(KS_ACT_PACKET))
		ks_net_filter_add(&t->net, s->cond);
	st->prog = o->prog;
	st->prog_len = o->len;
	for (j = 0; j < q->n_join; j++)
		st->join[st->n_join++] = q->join[j] ? q->join[j]->id : 0;
	for (j = 0; j < s->n_join; j++)
		st->join[st->n_join++] = s->join[j] ? s->join[j]->id : 0;
	st->join_opt = q->join_opt | (uint8_t)(s->join_opt << q->n_join);
	ks_grow(&L->strig, &L->cap_strig, t->hdr.n_steps, sizeof(*L->strig));
	L->strig[t->hdr.n_steps++] = trig_dup(&o->trig);
	return 0;
}

static int check_joins(struct lower *L, const struct ks_rule_src *r,
		       const struct ks_query *q, bool *visible)
{
	size_t i, n, want = q->n_join + q->steps[0].n_join;
	const struct ks_step_ast *s;

	*visible = true;
	for (i = 0; i < q->n_join; i++)
		*visible &= join_visible(q->join[i]);
	for (i = 0; i <= q->n_steps; i++) {
		s = i < q->n_steps ? &q->steps[i] : q->until;
		if (!s)
			continue;
		n = q->n_join + s->n_join;
		if (n != want) {
			lower_error(L, s->loc, "step joins on %zu fields, the first step on %zu: every step needs the same number of join fields",
			       n, want);
			return -1;
		}
		if (n > KS_MAX_JOIN) {
			lower_error(L, s->loc, "step joins on %zu fields, limit KS_MAX_JOIN is %u",
			       n, KS_MAX_JOIN);
			return -1;
		}
		for (n = 0; n < s->n_join; n++)
			*visible &= join_visible(s->join[n]);
	}
	return 0;
}

/*
 * Can the step match an XDP packet (which has no process to kill)? Only
 * if its category admits network events and its condition does not rule
 * packets out: a positive test on event.action without "packet", or on a
 * field packets never carry (process, file and user fields). The AND/OR
 * walk is a deliberate twin of ks_interp_node_ctx's in interp.c, which
 * evaluates the condition where this asks what it rules out.
 */
static bool excludes_packets(const struct ks_node *n)
{
	size_t i;

	if (!n)
		return false;
	switch (n->kind) {
	case KS_N_AND:
		for (i = 0; i < n->n_kids; i++)
			if (excludes_packets(n->kids[i]))
				return true;
		return false;
	case KS_N_OR:
		for (i = 0; i < n->n_kids; i++)
			if (!excludes_packets(n->kids[i]))
				return false;
		return n->n_kids > 0;
	case KS_N_BOOL:
		return !n->num;
	case KS_N_NUM:
		if (n->field && n->field->id == KS_F_ACTION &&
		    (n->cmp == KS_CMP_EQ || n->cmp == KS_CMP_NE)) {
			/* EQ is IN, NE is NOT IN */
			for (i = 0; i < n->n_nums; i++)
				if (n->nums[i] == KS_ACT_PACKET)
					return n->cmp == KS_CMP_NE;
			return n->cmp == KS_CMP_EQ;
		}
		if (n->field && n->field->id == KS_F_CATEGORY &&
		    n->cmp == KS_CMP_EQ) {
			for (i = 0; i < n->n_nums; i++)
				if (n->nums[i] == KS_CAT_NETWORK)
					return false;
			return true;
		}
		/* fall through */
	case KS_N_STR:
	case KS_N_IP:
		return n->field && (n->field->present &
				    (KS_P_PROCESS | KS_P_PARENT | KS_P_FILE |
				     KS_P_ORIG | KS_P_EXIT_CODE | KS_P_USER));
	default:
		return false;
	}
}

static bool may_be_packet(const struct ks_step_ast *s)
{
	if (s->category != KS_CAT_ANY && s->category != KS_CAT_NETWORK)
		return false;
	return !excludes_packets(s->cond);
}

/*
 * A rule with a step on already_running events is decided by kload: the
 * kernel never sees those events, so it can neither complete the rule
 * nor block or kill anything on them. Says so in L->why.
 */
static bool running_why(struct lower *L, const struct ks_rule *kr)
{
	uint32_t i;

	for (i = kr->first_step; i < L->t->hdr.n_steps; i++) {
		if (!(L->t->steps[i].flags & KS_S_RUNNING))
			continue;
		snprintf(L->why, sizeof(L->why), "step %u matches already_running events (read from /proc at attach): kload decides them in userspace, nothing can be blocked or killed",
			 L->t->steps[i].index + 1u);
		return true;
	}
	return false;
}

static void check_action(struct lower *L, const struct ks_rule_src *r,
			 const struct ks_query *q, bool exact)
{
	if (r->action == KS_RA_ALERT)
		return;
	if (!exact) {
		lower_error(L, r->loc, "action %s needs a kernel-exact rule: %s",
		       ks_rule_action_name(r->action), L->why);
		return;
	}
	if (r->action == KS_RA_KILL && may_be_packet(&q->steps[q->n_steps - 1]))
		lower_error(L, r->loc, "action kill needs a process to kill, but the completing step can match network packets (XDP), which have none: require event.action != \"packet\" or a process field, or use block");
}

static int lower_query(struct lower *L, uint32_t ri, const struct ks_rule_src *r,
		       const struct ks_query *q)
{
	struct ks_rule *kr = &L->t->rules[ri];
	struct step_out o;
	uint32_t total = 0, idx = 0, k, run;
	bool exact = true, joins_ok;
	int ret = 0;

	for (k = 0; k < q->n_steps; k++)
		total += q->steps[k].runs ? q->steps[k].runs : 1;
	if (!q->n_steps || total > 255) {
		lower_error(L, q->loc, "sequence expands to %u steps (runs included), at most 255 are supported",
		       total);
		return -1;
	}
	if (check_joins(L, r, q, &joins_ok))
		return -1;
	kr->first_step = L->t->hdr.n_steps;
	kr->n_steps = total;
	for (k = 0; k < q->n_steps && !ret; k++) {
		const struct ks_step_ast *s = &q->steps[k];
		unsigned int runs = s->runs ? s->runs : 1;

		memset(&o, 0, sizeof(o));
		ret = lower_step_prog(L, s, &o);
		exact &= o.exact;
		for (run = 0; run < runs && !ret; run++, idx++)
			ret = add_step(L, ri, idx, q->sample || idx + 1 == total ?
				       KS_S_LAST : 0, q, s, &o);
		trig_free(&o.trig);
	}
	if (!ret && q->until) {
		memset(&o, 0, sizeof(o));
		ret = lower_step_prog(L, q->until, &o);
		exact &= o.exact;
		kr->until_step = L->t->hdr.n_steps;
		kr->flags |= KS_R_UNTIL;
		if (!ret)
			ret = add_step(L, ri, total, KS_S_UNTIL, q, q->until, &o);
		trig_free(&o.trig);
	}
	if (ret)
		return ret;
	if (exact && q->sequence && total > KS_MAX_KSTEPS) {
		snprintf(L->why, sizeof(L->why), "the sequence expands to %u steps, the kernel tracks at most KS_MAX_KSTEPS (%u)",
			 total, KS_MAX_KSTEPS);
		exact = false;
	}
	if (exact && q->sequence && !joins_ok) {
		snprintf(L->why, sizeof(L->why), "a join field is not visible to the kernel");
		exact = false;
	}
	if (running_why(L, kr))	/* the reason that also refuses block and kill */
		exact = false;
	if (q->sample) {
		/* any filter may complete it (KS_S_LAST on each), in kload */
		snprintf(L->why, sizeof(L->why), "a sample's filters match in any order, joined in kload's userspace NFA");
		exact = false;
	}
	if (q->sequence)
		kr->flags |= KS_R_SEQUENCE | (exact ? KS_R_KSTATE : 0);
	kr->flags |= (exact ? KS_R_EXACT : 0) | (q->sample ? KS_R_SAMPLE : 0);
	kr->maxspan_ns = q->sample ? KS_SAMPLE_WINDOW_NS : q->maxspan_ns;
	check_action(L, r, q, exact);
	return 0;
}

static int lower_rule(struct lower *L, uint32_t ri)
{
	const struct ks_rule_src *r = &L->rs->rules[ri];
	struct ks_rule *kr = &L->t->rules[ri];
	struct ks_rule_info *ri_info = L->info ? &L->info->rules[ri] : NULL;
	uint32_t first, i;
	int ret;

	L->rule = r;
	L->args_warned = false;
	L->loc = r->loc;
	L->why[0] = 0;
	L->rule_atoms = 0;
	if (L->n_atoms)
		memset(L->atom_rule, 0, L->n_atoms);
	kr->uid = ks_rule_uid(r);
	kr->action = r->action;
	kr->severity = r->severity;
	if (!r->q) {
		/* its parse error is already reported; keep indices aligned */
		L->errors++;
		return 0;
	}
	first = L->t->hdr.n_steps;
	ret = lower_query(L, ri, r, r->q);
	if (!ri_info)
		return ret;
	ri_info->exact = kr->flags & KS_R_EXACT;
	snprintf(ri_info->why_not_exact, sizeof(ri_info->why_not_exact), "%s",
		 ri_info->exact ? "" : L->why);
	for (i = first; i < L->t->hdr.n_steps; i++)
		ri_info->n_kernel_steps += !!(L->t->steps[i].flags & KS_S_EXACT);
	ri_info->n_atoms = L->rule_atoms;
	return ret;
}

/* ---- DFA and indexes ---- */

/*
 * The payload's prefilter (maps/ks_fdr.h, rules-compiler/fdr.c): one
 * table, for the case mode with the most payload patterns that takes one
 * (ks_fdr_tables leaves it out when a sample scan says it would give up).
 */
static int build_fdr(struct ks_tables *t, const struct ks_dfa_pattern *pats, uint32_t n)
{
	const uint32_t base = KS_F_PAYLOAD * KS_CASE_N;
	uint32_t cnt[KS_CASE_N] = { 0 }, *lens, i, k, m, j;
	const uint8_t **lits;
	int ret = 0;

	for (i = 0; i < n; i++)
		if (pats[i].automaton - base < KS_CASE_N)
			cnt[pats[i].automaton - base]++;
	if (!cnt[0] && !cnt[1])
		return 0;
	lits = ks_xmalloc((n + 1) * sizeof(*lits));
	lens = ks_xmalloc((n + 1) * sizeof(*lens));
	for (j = 0; j < KS_CASE_N && !ret; j++) {
		m = (cnt[1] > cnt[0]) ^ j;
		for (i = 0, k = 0; i < n; i++)
			if (pats[i].automaton == base + m) {
				lits[k] = pats[i].bytes;
				lens[k++] = pats[i].len;
			}
		ret = ks_fdr_tables(t, KS_F_PAYLOAD, m, lits, lens, k);
		if (t->dfa_hdr.autos[KS_F_PAYLOAD][m].flags & KS_DFA_AU_FDR)
			break;
	}
	free(lits);
	free(lens);
	return ret;
}

/*
 * The need filters (maps/ks_dfa.h), each proved on the rows before the
 * kernel may skip a value by it (dfa_need.c). A filter the proof refutes
 * is dropped, so its automaton walks every value: the filter only saves
 * work and must never cost a match. A refutation is a compiler bug;
 * test_dfa and fuzz_eql assert there is none.
 */
static uint32_t need_filters(struct ks_dfa_hdr *h, const uint32_t *tab,
			     const struct ks_dfa_pattern *pats, uint32_t n)
{
	uint32_t bad, refuted = 0;
	char err[200];

	ks_dfa_image_need(h, pats, n);
	while (ks_dfa_need_prove(h, tab, &bad, err, sizeof(err)) == 1) {
		memset(h->autos[bad / KS_CASE_N][bad % KS_CASE_N].skip, 0,
		       sizeof(h->autos[0][0].skip));
		refuted++;
	}
	return refuted;
}

static int build_dfa(struct lower *L)
{
	struct ks_dfa_automaton au[KS_F_STR_N * KS_CASE_N];
	struct ks_tables *t = L->t;
	struct ks_dfa_pattern *pats;
	struct ks_loc none = { 0 };
	struct ks_dfa_hdr hdr;
	struct ks_dfa d;
	char err[200];
	uint32_t i, k, n, f, m;
	int ret;

	for (f = 0; f < KS_F_STR_N; f++)
		for (m = 0; m < KS_CASE_N; m++) {
			au[f * KS_CASE_N + m].mode = m;
			/* args are several frames in one walk */
			au[f * KS_CASE_N + m].single_start = f != KS_F_PROCESS_ARGS;
		}
	pats = ks_xmalloc((L->n_patterns + 1) * sizeof(*pats));
	for (i = 0, n = 0; i < L->n_atoms; i++) {
		for (k = 0; k < L->atoms[i].n_pats; k++, n++) {
			pats[n].bytes = L->atoms[i].pats[k].bytes;
			pats[n].len = L->atoms[i].pats[k].len;
			pats[n].automaton = L->atoms[i].field * KS_CASE_N +
					    L->atoms[i].mode;
			pats[n].atom = i;
		}
	}
	/* rows straight into dfa[]: no state-id table to fill, convert and copy */
	ret = ks_dfa_build_image(pats, n, au, KS_F_STR_N * KS_CASE_N, NULL,
				 &d, t->dfa, sizeof(t->dfa), err, sizeof(err));
	if (!ret && ks_dfa_image_hdr(&d, &hdr, err, sizeof(err))) {
		ks_dfa_free(&d);
		ret = -1;
	}
	if (!ret)
		L->need_refuted = need_filters(&hdr, t->dfa, pats, n);
	if (ret) {
		free(pats);
		lower_error(L, L->rs->n_rules ? L->rs->rules[0].loc : none,
			    "rule set does not fit the kernel tables: %s", err);
		return -1;
	}
	t->dfa_hdr = hdr;
	ret = build_fdr(t, pats, n);
	free(pats);
	if (ret) {
		lower_error(L, L->rs->n_rules ? L->rs->rules[0].loc : none,
			    "out of memory building the payload prefilter");
		ks_dfa_free(&d);
		return -1;
	}
	ks_dfa_image_begun(&t->dfa_hdr, t->dfa);
	memcpy(t->acc_list, d.acc_list, d.n_acc_list * sizeof(*t->acc_list));
	t->hdr.n_states = d.n_states;
	t->hdr.n_classes = d.n_classes;
	t->hdr.acc_base = d.acc_base;
	t->hdr.cls_begin = d.cls_begin;
	t->hdr.cls_end = d.cls_end;
	t->hdr.n_acc_list = d.n_acc_list;
	ks_dfa_free(&d);
	return 0;
}

static bool step_enforces(const struct ks_tables *t, uint32_t s)
{
	return t->rules[t->steps[s].rule].action != KS_RA_ALERT;
}

/* Does step s have a trigger atom on `field`? */
static bool trig_on(const struct lower *L, uint32_t s, uint32_t field)
{
	const struct trig *tr = &L->strig[s];
	uint32_t i;

	for (i = 0; i < tr->n; i++)
		if (L->atoms[tr->v[i]].field == field)
			return true;
	return false;
}

/* Does step s have a trigger atom on a field of cut slot k (KS_CUT_SLOTS)? */
static bool trig_on_cut(const struct lower *L, uint32_t s, uint32_t k)
{
	if (k < KS_PATH_SLOTS)
		return trig_on(L, s, KS_PATH_FIELD(k));
	return trig_on(L, s, KS_F_PROCESS_ARGS) || trig_on(L, s, KS_F_PROCESS_COMMAND_LINE);
}

/*
 * cut_list: per cut slot, the steps indexed by a trigger atom on its
 * fields (not by category), block/kill rules first; for the argument
 * vector only the rules that fail closed on it (rule_args_closed).
 */
static void build_cut_index(struct lower *L, const bool *by_cat)
{
	struct ks_tables *t = L->t;
	uint32_t k, s, n = 0, first, pass;

	for (k = 0; k < KS_CUT_SLOTS; k++) {
		first = n;
		for (pass = 0; pass < 2; pass++)
			for (s = 0; s < t->hdr.n_steps; s++) {
				if (by_cat[s] || step_enforces(t, s) != !pass || !trig_on_cut(L, s, k))
					continue;
				/* a miss on the argument vector decided by the head */
				if (k == KS_CUT_ARGS &&
				    !rule_args_closed(&L->rs->rules[t->steps[s].rule]))
					continue;
				if (n == KS_CUT_LIST_MAX) {
					lower_error(L, L->rs->rules[t->steps[s].rule].loc,
						    "rules need more than %u cut-list entries, limit KS_CUT_LIST_MAX is %u",
						    KS_CUT_LIST_MAX, KS_CUT_LIST_MAX);
					return;
				}
				t->cut_list[n++] = s;
			}
		t->cut_first[k] = first << 16 | (n - first);
	}
}

/*
 * hdr.trig_fields: per action, the fields of the trigger atoms of the
 * steps that can match it, KS_F_NONE for one indexed by category. A step
 * whose condition cannot hold for an action (node_actions: false, never
 * unknown, there) adds nothing to it.
 */
static void build_trig_fields(struct lower *L, const bool *by_cat)
{
	struct ks_tables *t = L->t;
	uint32_t s, i, a, fields;

	for (s = 0; s < t->hdr.n_steps; s++) {
		const struct trig *tr = &L->strig[s];

		fields = by_cat[s] ? 1u << KS_F_NONE : 0;
		for (i = 0; i < tr->n && !by_cat[s]; i++)
			fields |= 1u << (L->atoms[tr->v[i]].field & 15);
		for (a = 0; a < KS_ACT_N && a < 16; a++)
			if (L->sact[s] & ACT(a))
				t->hdr.trig_fields[a] |= fields;
	}
}

/*
 * Steps by trigger atom, the rest by category. An atom names at most 255
 * steps (acc count is 8 bits); a step that would overflow one of its
 * atoms is indexed by category instead, which is slower but still exact.
 */
static int build_index(struct lower *L)
{
	struct ks_tables *t = L->t;
	uint32_t *cnt = ks_xmalloc((L->n_atoms + 1) * sizeof(*cnt));
	uint32_t *pos = ks_xmalloc((L->n_atoms + 1) * sizeof(*pos));
	bool *by_cat = ks_xmalloc((t->hdr.n_steps + 1) * sizeof(*by_cat));
	uint32_t s, i, a, c, total = 0, n;
	const struct trig *tr;
	int ret = -1;

	for (s = 0; s < t->hdr.n_steps; s++) {
		tr = &L->strig[s];
		by_cat[s] = tr->none;
		for (i = 0; i < tr->n && !by_cat[s]; i++)
			by_cat[s] = cnt[tr->v[i]] >= TRIG_PER_ATOM;
		if (by_cat[s])
			continue;
		for (i = 0; i < tr->n; i++)
			cnt[tr->v[i]]++;
		total += tr->n;
	}
	if (total > KS_MAX_TRIG_LIST) {
		lower_error(L, L->rs->rules[0].loc,
			    "trigger lists need %u step ids, limit KS_MAX_TRIG_LIST is %u",
			    total, KS_MAX_TRIG_LIST);
		goto out;
	}
	for (a = 0, total = 0; a < L->n_atoms; a++) {
		pos[a] = total;
		t->atom_trig[a] = total << 16 | cnt[a];
		total += cnt[a];
	}
	t->hdr.n_trig_list = total;
	for (s = 0; s < t->hdr.n_steps; s++) {
		tr = &L->strig[s];
		for (i = 0; i < tr->n && !by_cat[s]; i++)
			t->trig_list[pos[tr->v[i]]++] = s;
	}
	for (c = 0, n = 0; c < KS_CAT_N; c++) {
		total = n;
		for (s = 0; s < t->hdr.n_steps; s++)
			if (by_cat[s] && t->steps[s].category == c)
				t->cat_list[n++] = s;
		t->cat_first[c] = total << 16 | (n - total);
	}
	build_cut_index(L, by_cat);
	build_trig_fields(L, by_cat);
	ret = 0;
out:
	free(cnt);
	free(pos);
	free(by_cat);
	return ret;
}

static void fill_header(struct lower *L)
{
	struct ks_tables *t = L->t;

	t->hdr.magic = KS_TABLES_MAGIC;
	t->hdr.abi_version = KS_ABI_VERSION;
	t->hdr.n_rules = L->rs->n_rules;
	t->hdr.n_atoms = L->n_atoms;
	t->hdr.content_hash = ks_tables_hash(t);
}

uint64_t ks_tables_hash(const struct ks_tables *t)
{
	uint64_t used = KS_TABLES_USED(t);

	uint64_t h;

	if (used > offsetof(struct ks_tables, fdr))	/* unchecked: their check refuses them */
		used = offsetof(struct ks_tables, fdr);
	h = ks_fnv1a64((const uint8_t *)t + sizeof(t->hdr), used - sizeof(t->hdr), KS_FNV64_INIT);
	/* the prefilter, past dfa[]: part of the rule set when flagged */
	return KS_TABLES_HAS_FDR(t) ? ks_fnv1a64((const uint8_t *)&t->fdr, sizeof(t->fdr), h) : h;
}

uint32_t ks_dfa_size_auto(const struct ks_tables *t)
{
	return t->dfa_hdr.tab_bytes > KS_DFA_AUTO_FLOOR ? t->dfa_hdr.tab_bytes : KS_DFA_AUTO_FLOOR;
}

static void fill_info(struct lower *L)
{
	struct ks_compile_info *info = L->info;
	const struct ks_tables *t = L->t;

	info->n_states = t->hdr.n_states;
	info->n_classes = t->hdr.n_classes;
	info->n_atoms = t->hdr.n_atoms;
	info->n_steps = t->hdr.n_steps;
	info->n_insns = t->hdr.n_insns;
	info->n_patterns = L->n_patterns;
	info->dfa_bytes = (size_t)t->hdr.n_states * t->dfa_hdr.row_bytes;
	info->table_bytes = KS_TABLES_USED(t);
	info->need_refuted = L->need_refuted;
}

static void atoms_free(struct ks_atom_desc *atoms, uint32_t n)
{
	uint32_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < atoms[i].n_pats; k++)
			free(atoms[i].pats[k].bytes);
		free(atoms[i].pats);
	}
	free(atoms);
}

static void lower_free(struct lower *L, bool keep)
{
	uint32_t i;

	for (i = 0; i < L->t->hdr.n_steps; i++)
		trig_free(&L->strig[i]);
	free(L->strig);
	free(L->sact);
	free(L->ahash);
	free(L->atom_rule);
	if (keep)
		return;
	atoms_free(L->atoms, L->n_atoms);
	for (i = 0; i < L->t->hdr.n_insns; i++)
		free(L->notes[i]);
	free(L->notes);
}

int ks_lower(const struct ks_ruleset *rs, struct ks_diags *diags,
	     struct ks_tables *out, struct ks_compile_info *info,
	     struct ks_lowered *lw)
{
	struct lower L = {
		.rs = rs, .diags = diags, .t = out, .info = info, .lw = lw,
	};
	uint32_t i;

	/* dfa[] is written as far as the rule set uses it (maps/ks_tables.h):
	 * the huge pages it never reaches are never faulted in */
	ks_hugepages(out, sizeof(*out), sizeof(*out));
	memset(out, 0, offsetof(struct ks_tables, dfa));
	if (info) {
		memset(info, 0, sizeof(*info));
		info->n_rules = rs->n_rules;
		info->rules = ks_xmalloc((rs->n_rules + 1) * sizeof(*info->rules));
	}
	if (rs->n_rules > KS_MAX_RULES) {
		lower_error(&L, rs->rules[KS_MAX_RULES].loc, "rule set has %zu rules, limit KS_MAX_RULES is %u",
		       rs->n_rules, KS_MAX_RULES);
		goto out;
	}
	for (i = 0; i < rs->n_rules; i++)
		lower_rule(&L, i);
	if (L.errors || build_dfa(&L) || build_index(&L))
		goto out;
	fill_header(&L);
	if (info)
		fill_info(&L);
out:
	if (lw) {
		lw->atoms = L.atoms;
		lw->n_atoms = L.n_atoms;
		lw->n_patterns = L.n_patterns;
		lw->user_note = L.notes;
		lw->n_insns = out->hdr.n_insns;
	}
	lower_free(&L, lw != NULL);
	return L.errors ? -1 : 0;
}

void ks_lowered_free(struct ks_lowered *lw)
{
	uint32_t i;

	if (!lw)
		return;
	atoms_free(lw->atoms, lw->n_atoms);
	if (lw->user_note)
		for (i = 0; i < lw->n_insns; i++)
			free(lw->user_note[i]);
	free(lw->user_note);
	memset(lw, 0, sizeof(*lw));
}

int ks_compile(struct ks_ruleset *rs, struct ks_tables *out,
	       struct ks_compile_info *info)
{
	return ks_lower(rs, &rs->diags, out, info, NULL);
}

void ks_compile_info_free(struct ks_compile_info *info)
{
	if (!info)
		return;
	free(info->rules);
	info->rules = NULL;
	info->n_rules = 0;
}

