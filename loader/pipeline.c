// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Userspace half of detection, one event at a time (include/kestrel/
 * pipeline.h): the kernel's verdict names the steps the event made true
 * (exact) or may have (decided here with the interpreter); each true step
 * of a plain rule is an alert (loader/alert.c), of a sequence or sample
 * rule a move of the NFA (loader/nfa.c, its keys loader/nfa_join.c, its
 * pending state loader/nfa_store.c). Also here: the rule generations
 * (the current one and the one before a reload, for events still in the
 * ring buffer), events the kernel enforced on but could not forward, and
 * ks_pipeline_tick(), which expires sequences past their maxspan even
 * when no new event arrives.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kestrel/tablewalk.h"
#include "pipeline_int.h"

/* ---- generations ---- */

static void gen_free(struct ks_gen *g)
{
	if (g->rs)
		ks_ruleset_free(g->rs);
	free(g->t);
	free(g->alerts);
	memset(g, 0, sizeof(*g));
}

static struct ks_gen *gen_find(struct ks_pipeline *p, uint32_t generation)
{
	int i;

	for (i = 0; i < KS_GENS; i++)
		if (p->gen[i].t && p->gen[i].t->hdr.generation == generation)
			return &p->gen[i];
	return NULL;
}

struct ks_pipeline *ks_pipeline_new(const struct ks_pipeline_opts *o, struct ks_ecs_ctx *ecs)
{
	struct ks_pipeline *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->o = *o;
	if (!p->o.max_entries)
		p->o.max_entries = KS_NFA_ENTRIES_DEFAULT;
	if (!p->o.max_bytes)
		p->o.max_bytes = KS_NFA_MEMORY_DEFAULT;
	if (ks_store_init(p) ||
	    getrandom(p->sip_key, sizeof(p->sip_key), 0) != sizeof(p->sip_key)) {
		free(p->slots);
		free(p);
		return NULL;
	}
	p->ecs = ecs;
	p->ictx = (struct ks_interp_ctx){ .user_str = ks_join_user_str, .arg = p };
	return p;
}

void ks_pipeline_free(struct ks_pipeline *p)
{
	int i;

	if (!p)
		return;
	ks_store_fini(p);
	for (i = 0; i < KS_GENS; i++)
		gen_free(&p->gen[i]);
	free(p->scratch);
	free(p);
}

static bool gen_has_uid(const struct ks_gen *g, uint32_t uid)
{
	uint32_t i;

	for (i = 0; i < g->t->hdr.n_rules; i++)
		if (g->t->rules[i].uid == uid)
			return true;
	return false;
}

static bool rule_gone(struct ks_pipeline *p, struct ks_entry *e, void *arg)
{
	(void)arg;
	return !gen_has_uid(&p->gen[0], e->rule_uid);
}

int ks_pipeline_set_rules(struct ks_pipeline *p, struct ks_ruleset *rs,
			  const struct ks_tables *t)
{
	struct ks_tables *copy = calloc(1, sizeof(*copy));
	uint64_t *alerts = calloc(t->hdr.n_rules ?: 1, sizeof(uint64_t));

	/* nothing changes unless everything is in hand */
	if (!copy || !alerts || t->hdr.n_rules > rs->n_rules) {
		free(copy);
		free(alerts);
		return !copy || !alerts ? -ENOMEM : -EINVAL;
	}
	/*
	 * The pipeline reads only the header, rules and steps: copy those.
	 * The rest of the 3.4 MiB stays untouched zero pages, not resident.
	 */
	copy->hdr = t->hdr;
	copy->hdr.n_rules = t->hdr.n_rules < KS_MAX_RULES ? t->hdr.n_rules : KS_MAX_RULES;
	copy->hdr.n_steps = t->hdr.n_steps < KS_MAX_STEPS ? t->hdr.n_steps : KS_MAX_STEPS;
	memcpy(copy->rules, t->rules, copy->hdr.n_rules * sizeof(t->rules[0]));
	memcpy(copy->steps, t->steps, copy->hdr.n_steps * sizeof(t->steps[0]));
	gen_free(&p->gen[1]);
	p->gen[1] = p->gen[0];
	p->gen[0].rs = rs;
	p->gen[0].t = copy;
	p->gen[0].alerts = alerts;
	/* a changed rule has a new uid: its old pending sequences go */
	ks_store_sweep(p, rule_gone, NULL);
	return 0;
}

/* ---- one event ---- */

/* The AST step behind table step s (runs=N steps were expanded N times). */
static const struct ks_step_ast *ast_step(const struct ks_gen *g, const struct ks_step *s)
{
	const struct ks_rule_src *r;
	unsigned int k, j;

	if (s->rule >= g->rs->n_rules)
		return NULL;
	r = &g->rs->rules[s->rule];
	if (!r->q)
		return NULL;
	if (s->flags & KS_S_UNTIL)
		return r->q->until;
	k = s->index;
	for (j = 0; j < r->q->n_steps; j++) {
		unsigned int runs = r->q->steps[j].runs ?: 1;

		if (k < runs)
			return &r->q->steps[j];
		k -= runs;
	}
	return NULL;
}

struct ks_hit {
	uint16_t step;
	uint8_t exact;
	uint8_t done;		/* the kernel completed the rule on this event */
};

/* Kernel candidates overflowed: judge every step here, latest first. */
static uint32_t all_steps(const struct ks_gen *g, struct ks_hit *hits, uint32_t max)
{
	uint32_t n = 0, i = g->t->hdr.n_steps;

	while (i-- > 0 && n < max) {
		hits[n].step = i;
		hits[n].exact = 0;
		hits[n].done = 0;
		n++;
	}
	return n;
}

/* One true step of ev; returns alerts written (a sample's: noted in sh). */
static int on_step(struct ks_pipeline *p, struct ks_gen *g, const struct ks_hit *h,
		   const struct ks_event *ev, struct ks_sample_hits *sh)
{
	const struct ks_step *s = &g->t->steps[h->step];
	const struct ks_step_ast *ast;
	int a;

	if (!h->exact) {
		ast = ast_step(g, s);
		if (!ast)
			return 0;
		p->st.user_decided++;
		if (!ks_interp_step_ctx(ast, ev, &p->ictx))
			return 0;
	}
	p->st.step_matches++;
	if (g->t->rules[s->rule].flags & KS_R_SAMPLE) {
		ks_nfa_sample_note(g, sh, h->step);
		return 0;
	}
	if (!(g->t->rules[s->rule].flags & KS_R_SEQUENCE))
		return ks_alert_emit(p, g, s->rule, s, NULL, ev, false) == 0;
	a = ks_nfa_seq_step(p, g, s, ev, h->done ? KS_SEQ_KERNEL_DONE : 0);
	if (a == -ENOMEM)
		p->st.nomem++;	/* the step is lost to the NFA */
	return a > 0 ? a : 0;
}

/* The true steps hits[0..n) of ev; returns alerts written. */
static int on_hits(struct ks_pipeline *p, struct ks_gen *g, const struct ks_hit *hits,
		   uint32_t n, const struct ks_event *ev)
{
	struct ks_sample_hits *sh = &p->samples;
	uint32_t i;
	int alerts = 0;

	sh->n = 0;
	for (i = 0; i < n; i++)
		if (hits[i].step < g->t->hdr.n_steps)
			alerts += on_step(p, g, &hits[i], ev, sh);
	/* a sample's filters after all of ev's hits: ev is one event for them */
	for (i = 0; i < sh->n; i++) {
		const struct ks_step *s = &g->t->steps[sh->hit[i].step];
		int a = ks_nfa_sample_event(p, g, s, sh->hit[i].mask, ev);

		if (a == -ENOMEM)
			p->st.nomem++;
		alerts += a > 0 ? a : 0;
	}
	return alerts;
}

int ks_pipeline_event(struct ks_pipeline *p, const struct ks_event *ev)
{
	const struct ks_verdict *vd = &ev->verdict;
	struct ks_hit hits[KS_MAX_STEPS];
	struct ks_gen *g;
	uint32_t n = 0, i;

	p->st.events++;
	g = gen_find(p, vd->generation);
	if (!g) {
		p->st.stale++;
		return 0;
	}
	if (vd->flags & (KS_V_CAND_OVERFLOW | KS_V_MATCH_OVERFLOW)) {
		n = all_steps(g, hits, KS_MAX_STEPS);
	} else {
		for (i = 0; i < vd->n_match && i < KS_MAX_MATCH; i++) {
			hits[n].step = vd->match[i].step;
			hits[n].exact = !!(vd->match[i].flags & KS_M_EXACT);
			hits[n].done = !!(vd->match[i].flags & KS_M_COMPLETED);
			n++;
		}
	}
	return on_hits(p, g, hits, n, ev);
}

int ks_pipeline_user_event(struct ks_pipeline *p, struct ks_event *ev)
{
	struct ks_gen *g = &p->gen[0];
	struct ks_hit hits[KS_MAX_STEPS];
	uint32_t i, n = 0;

	p->st.events++;
	if (!g->t)
		return 0;
	memset(&ev->verdict, 0, sizeof(ev->verdict));
	ev->verdict.generation = g->t->hdr.generation;
	/* latest first, as all_steps(): one event advances a sequence once */
	for (i = g->t->hdr.n_steps; i-- > 0 && n < KS_MAX_STEPS;) {
		if (!(g->t->steps[i].flags & KS_S_RUNNING))
			continue;
		hits[n] = (struct ks_hit){ .step = (uint16_t)i };
		n++;
	}
	return on_hits(p, g, hits, n, ev);
}

bool ks_pipeline_wants_running(const struct ks_pipeline *p)
{
	const struct ks_tables *t = p->gen[0].t;
	uint32_t i;

	for (i = 0; t && i < t->hdr.n_steps; i++)
		if (t->steps[i].flags & KS_S_RUNNING)
			return true;
	return false;
}

/* Index of the rule with this uid in g, -1 if none. */
static int rule_by_uid(const struct ks_gen *g, uint32_t uid)
{
	uint32_t i;

	for (i = 0; g->t && i < g->t->hdr.n_rules; i++)
		if (g->t->rules[i].uid == uid)
			return i;
	return -1;
}

/* The generation and rule index of a rule uid: ev's generation first. */
static struct ks_gen *gen_of_rule(struct ks_pipeline *p, uint32_t generation, uint32_t uid,
				  int *rule)
{
	struct ks_gen *g = gen_find(p, generation);
	int i;

	if (g && (*rule = rule_by_uid(g, uid)) >= 0)
		return g;
	for (i = 0; i < KS_GENS; i++)
		if ((*rule = rule_by_uid(&p->gen[i], uid)) >= 0)
			return &p->gen[i];
	p->st.stale++;
	return NULL;
}

int ks_pipeline_lost_event(struct ks_pipeline *p, const struct ks_event *ev)
{
	const struct ks_rule *r;
	const struct ks_step *s;
	struct ks_gen *g;
	int rule, a;

	g = gen_of_rule(p, ev->verdict.generation, ev->verdict.enforced_uid, &rule);
	if (!g)
		return 0;
	r = &g->t->rules[rule];
	if (!r->n_steps || r->first_step + r->n_steps > g->t->hdr.n_steps)
		return 0;
	/* a rule completes on its last step only */
	s = &g->t->steps[r->first_step + r->n_steps - 1];
	if (!(r->flags & KS_R_SEQUENCE))
		return ks_alert_emit(p, g, rule, s, NULL, ev, true) == 0;
	a = ks_nfa_seq_step(p, g, s, ev, KS_SEQ_KERNEL_DONE | KS_SEQ_LOST);
	return a > 0 ? a : 0;
}

int ks_pipeline_lost_count(struct ks_pipeline *p, uint32_t rule_uid, uint64_t n,
			   uint64_t now_ns, int enforce_mode)
{
	struct ks_alert_meta meta;
	struct ks_gen *g;
	int rule;

	g = gen_of_rule(p, 0, rule_uid, &rule);
	if (!g || !n)
		return 0;
	ks_alert_rule_meta(g, rule, &meta);
	meta.event_lost = true;
	meta.lost_events = n;
	meta.ts_ns = now_ns;
	/* signal mode enforces a block by SIGKILL, like a kill */
	meta.outcome = enforce_mode == KS_MODE_LSM && g->t->rules[rule].action == KS_RA_BLOCK ?
		       "blocked" : "killed";
	return ks_alert_write(p, g, rule, &meta, NULL, 0, NULL, NULL, 0) == 0;
}

/* Clear e's states past its maxspan at *now; true when none is left. */
static bool expire(struct ks_pipeline *p, struct ks_entry *e, void *now)
{
	uint64_t now_ns = *(const uint64_t *)now;
	struct ks_pend *st = entry_states(e);
	bool live = false;
	uint32_t k;

	if (!e->maxspan)
		return false;
	for (k = 0; k < e->n_states; k++) {
		if (!st[k].start)
			continue;
		if (now_ns > st[k].start && now_ns - st[k].start > e->maxspan) {
			ks_store_pend_clear(p, &st[k]);
			p->st.expired++;
		} else {
			live = true;
		}
	}
	return !live;
}

void ks_pipeline_tick(struct ks_pipeline *p, uint64_t now_ns)
{
	ks_store_sweep(p, expire, &now_ns);
}

void ks_pipeline_reset(struct ks_pipeline *p)
{
	while (p->lru_head != KS_NONE)
		ks_store_entry_free(p, &p->slots[p->lru_head]);
}

void ks_pipeline_set_output(struct ks_pipeline *p, struct ks_output *out)
{
	p->o.alerts = out;
}

void ks_pipeline_stats(const struct ks_pipeline *p, struct ks_pipeline_stats *st)
{
	*st = p->st;
}

uint64_t ks_pipeline_rule_alerts(const struct ks_pipeline *p, size_t rule_idx)
{
	const struct ks_gen *g = &p->gen[0];

	if (!g->t || rule_idx >= g->t->hdr.n_rules)
		return 0;
	return g->alerts[rule_idx];
}
