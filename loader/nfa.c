// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The userspace NFA's moves: what a true step of a sequence rule (EQL
 * `sequence`) or a filter of a sample rule (`sample by`) does to the
 * pending state of its join key (loader/nfa_join.c), kept in the store
 * (loader/nfa_store.c); a completed one becomes an alert (loader/alert.c).
 * loader/pipeline.c calls these for each step an event made true.
 *
 * A pending sequence of n steps is an entry with a state per step k: the
 * chain of the k events matched so far, the newest first. A first step
 * starts (or restarts: the newest wins) state 1; step k takes state k's
 * chain, unless past the rule's maxspan, and moves it with the event to
 * state k + 1, or alerts on the last step; an `until` step drops the key.
 */
#include <errno.h>
#include <string.h>

#include "pipeline_int.h"

/* Step 0: ev, packed in pk, becomes the newest pending sequence of its key (state 1). */
static int seq_start(struct ks_pipeline *p, const struct ks_rule *r, struct ks_entry *e,
		     struct ks_packed *pk, const struct ks_event *ev)
{
	struct ks_pend *pd;

	if (!pk)
		return -ENOMEM;
	if (!e)
		e = ks_store_entry_new(p, r->uid, p->join_hash, p->join_key, p->join_len,
				       r->n_steps, r->maxspan_ns);
	if (!e) {
		pool_put(&p->pool, pk, packed_size(pk->len));
		return -ENOMEM;
	}
	pd = &entry_states(e)[1 % e->n_states];
	ks_store_pend_clear(p, pd);	/* newest overwrites */
	pend_push(p, pd, pk);
	pd->start = ev->ts_ns ?: 1;
	lru_touch(p, e);
	trim_memory(p);
	return 0;
}

/* Detach state k's pending sequence into *pend unless ev is past its maxspan. */
static void seq_take(struct ks_pipeline *p, struct ks_entry *e, uint32_t k,
		     const struct ks_event *ev, struct ks_pend *pend)
{
	struct ks_pend *st;

	if (!e || k >= e->n_states || !entry_states(e)[k].start)
		return;
	st = entry_states(e);
	*pend = st[k];
	memset(&st[k], 0, sizeof(st[k]));
	if (e->maxspan && ev->ts_ns - pend->start > e->maxspan) {
		p->st.expired++;
		ks_store_pend_clear(p, pend);
	}
}

/* The detached *pend plus ev become state next's pending sequence. */
static int seq_advance(struct ks_pipeline *p, struct ks_pend *next, struct ks_pend *pend,
		       const struct ks_event *ev)
{
	struct ks_packed *pk = ks_store_pack(&p->pool, ev);

	if (!pk)
		return -ENOMEM;
	ks_store_pend_clear(p, next);
	*next = *pend;
	pend_push(p, next, pk);
	memset(pend, 0, sizeof(*pend));
	return 0;
}

/*
 * Advance the NFA of a sequence rule for a true step. Returns alerts
 * written. When the kernel says it completed the rule on ev (it keeps
 * the rule's state and may have enforced), the alert is written even if
 * the NFA lost the earlier steps' events: then with ev alone.
 */
int ks_nfa_seq_step(struct ks_pipeline *p, struct ks_gen *g, const struct ks_step *s,
		    const struct ks_event *ev, unsigned int flags)
{
	const struct ks_rule *r = &g->t->rules[s->rule];
	uint32_t k = s->index, n = r->n_steps;
	struct ks_packed *pk;
	struct ks_pend pend = {};
	struct ks_entry *e;
	int ret = 0;

	if (!ks_join_seq_key(p, g, r, s, ev)) {
		p->st.join_null++;
		return 0;
	}
	e = entry_find(p, r->uid, p->join_hash, p->join_key, p->join_len);
	if (s->flags & KS_S_UNTIL) {
		if (e)
			ks_store_entry_free(p, e);
		return 0;
	}
	if (k == 0) {
		/* the event it replaces goes back to the pool: its line comes meanwhile */
		if (e && e->n_states > 1 && entry_states(e)[1].last)
			__builtin_prefetch(entry_states(e)[1].last, 1);
		pk = ks_store_pack(&p->pool, ev);
		return seq_start(p, r, e, pk, ev);
	}
	seq_take(p, e, k, ev, &pend);
	if (k + 1 == n && (pend.start || (flags & KS_SEQ_KERNEL_DONE)))
		ret = ks_alert_emit(p, g, s->rule, s, &pend, ev, flags & KS_SEQ_LOST) == 0;
	else if (pend.start && k + 1 < n)
		ret = seq_advance(p, &entry_states(e)[k + 1], &pend, ev);
	ks_store_pend_clear(p, &pend);	/* a completed sequence is consumed */
	if (e && entry_empty(e))
		ks_store_entry_free(p, e);
	else if (e)
		lru_touch(p, e);
	trim_memory(p);
	return ret;
}

/* ---- samples ---- */

/*
 * A sample (EQL `sample by`, KS_R_SAMPLE) is kept per (rule, join key)
 * in an entry like a sequence's, with one state: the chain of its
 * candidate events, newest first, each marked with the filters it
 * matched (ks_packed.filters). An event of the key completes the sample
 * when the candidates and it can be given one to each filter, no event
 * twice (Elastic: one event per filter, in any order); the alert lists
 * them in the filters' order, as Elastic returns them.
 *
 * Exact with a bounded chain: each filter keeps only its n newest
 * candidates (n filters), since an assignment that used an older one can
 * swap it for one of those n, of which the other n - 1 filters take at
 * most n - 1. So a key keeps at most n * n events. A candidate older than
 * the window (the rule's maxspan_ns: KS_SAMPLE_WINDOW_NS) at the time of
 * a newer event of the key is dropped and counted as expired; the
 * state's start is its newest candidate's time, so ks_pipeline_tick()
 * frees a key whose candidates are all past the window. A completed
 * sample frees its key: one sample per key (Elastic's
 * max_samples_per_key), the next one of new events.
 */

#define KS_SAMPLE_CANDS	(1 + KS_MAX_SAMPLE_FILTERS * KS_MAX_SAMPLE_FILTERS)

void ks_nfa_sample_note(const struct ks_gen *g, struct ks_sample_hits *sh, uint32_t step)
{
	const struct ks_step *s = &g->t->steps[step];
	uint32_t i;

	if (s->index >= KS_MAX_SAMPLE_FILTERS)
		return;
	for (i = 0; i < sh->n; i++)
		if (g->t->steps[sh->hit[i].step].rule == s->rule)
			break;
	if (i == sh->n) {
		if (sh->n >= KS_MAX_STEPS)
			return;
		sh->hit[sh->n].step = step;
		sh->hit[sh->n++].mask = 0;
	}
	sh->hit[i].mask |= 1u << s->index;
}

static uint64_t packed_ts(const struct ks_packed *pk)
{
	uint64_t ts;

	memcpy(&ts, pk->data + offsetof(struct ks_event, ts_ns), sizeof(ts));
	return ts;
}

/*
 * Drop from e's chain what is past the window at now and what no filter
 * keeps (each of the n keeps its n newest); start becomes the newest's time.
 */
static void sample_prune(struct ks_pipeline *p, struct ks_entry *e, uint32_t n, uint64_t now)
{
	struct ks_pend *pd = entry_states(e);
	struct ks_packed **link = &pd->last, *pk;
	uint32_t *link_len = &pd->last_len, kept[KS_MAX_SAMPLE_FILTERS] = { 0 };
	uint32_t i, k, count = pd->n;
	uint64_t ts, newest = 0;

	for (i = 0; i < count; i++) {
		pk = *link;
		ts = packed_ts(pk);
		if (e->maxspan && now > ts && now - ts > e->maxspan) {
			pk->filters = 0;
			p->st.expired++;
		}
		for (k = 0; k < n; k++) {
			if (!(pk->filters & 1u << k))
				continue;
			if (kept[k] < n)
				kept[k]++;
			else
				pk->filters &= ~(1u << k);
		}
		if (pk->filters) {
			newest = ts > newest ? ts : newest;
			link = &pk->prev;
			link_len = &pk->prev_len;
			continue;
		}
		*link = pk->prev;	/* the oldest's prev is NULL, prev_len 0 */
		*link_len = pk->prev_len;
		p->st.bytes -= cost(packed_size(pk->len));
		pool_put(&p->pool, pk, packed_size(pk->len));
		pd->n--;
	}
	pd->start = pd->n ? newest ?: 1 : 0;
}

/*
 * A search for a sample among the candidates: cand[c] the filters
 * candidate c matched (0 is the event at hand), ts[c] its time.
 */
struct ks_sample_search {
	uint32_t cand[KS_SAMPLE_CANDS];
	uint64_t ts[KS_SAMPLE_CANDS];
	uint32_t n_cand, n;	/* candidates, filters */
	uint64_t window;
	uint8_t pick[KS_MAX_SAMPLE_FILTERS];	/* filter k's candidate */
};

/*
 * Give filters k..n-1 a candidate each, none taken twice (bit c of used)
 * and all within the window of each other (lo..hi, the times taken so
 * far), even when events came out of order. Recursion at most
 * KS_MAX_SAMPLE_FILTERS deep over KS_SAMPLE_CANDS candidates.
 */
static bool sample_assign(struct ks_sample_search *ss, uint32_t k, uint32_t used,
			  uint64_t lo, uint64_t hi)
{
	uint64_t t, nlo, nhi;
	uint32_t c;

	if (k == ss->n)
		return true;
	for (c = 0; c < ss->n_cand; c++) {
		if ((used & 1u << c) || !(ss->cand[c] & 1u << k))
			continue;
		t = ss->ts[c];
		nlo = used && lo < t ? lo : t;
		nhi = used && hi > t ? hi : t;
		if (ss->window && nhi - nlo > ss->window)
			continue;
		ss->pick[k] = c;
		if (sample_assign(ss, k + 1, used | 1u << c, nlo, nhi))
			return true;
	}
	return false;
}

/* The alert: filter k's event is ev if pick[k] is 0, else nodes[pick[k]]. */
static int sample_emit(struct ks_pipeline *p, struct ks_gen *g, const struct ks_step *s,
		       const struct ks_event *ev, struct ks_packed *const *nodes,
		       const uint8_t *pick, uint32_t n)
{
	const struct ks_event *evs[KS_MAX_SAMPLE_FILTERS];
	struct ks_event *tmp = ks_alert_scratch(p, n);
	uint32_t k;

	if (!tmp) {
		ks_output_lost(p->o.alerts, KS_LOST_ENCODE);
		return -ENOMEM;
	}
	for (k = 0; k < n; k++) {
		evs[k] = ev;
		if (pick[k]) {
			ks_store_unpack(nodes[pick[k]], &tmp[k]);
			evs[k] = &tmp[k];
		}
	}
	return ks_alert_events(p, g, s->rule, s, evs, n, ev, false);
}

/*
 * ev matched the filters in mask of the sample rule of step s (whose
 * join fields every filter shares). Returns alerts written, or -ENOMEM.
 */
int ks_nfa_sample_event(struct ks_pipeline *p, struct ks_gen *g, const struct ks_step *s,
			uint32_t mask, const struct ks_event *ev)
{
	const struct ks_rule *r = &g->t->rules[s->rule];
	struct ks_packed *nodes[KS_SAMPLE_CANDS] = { NULL }, *pk;
	struct ks_sample_search ss = { .cand = { mask }, .ts = { ev->ts_ns }, .n_cand = 1,
				       .n = r->n_steps, .window = r->maxspan_ns };
	struct ks_entry *e;
	uint32_t i;
	int ret;

	if (ss.n > KS_MAX_SAMPLE_FILTERS)
		return 0;	/* no compiler makes one */
	if (!ks_join_seq_key(p, g, r, s, ev)) {
		p->st.join_null++;	/* as a sequence's step: no part in a sample */
		return 0;
	}
	e = entry_find(p, r->uid, p->join_hash, p->join_key, p->join_len);
	if (e) {
		sample_prune(p, e, ss.n, ev->ts_ns);
		pk = entry_states(e)->last;
		for (i = 0; i < entry_states(e)->n && ss.n_cand < KS_SAMPLE_CANDS; i++) {
			nodes[ss.n_cand] = pk;
			ss.ts[ss.n_cand] = packed_ts(pk);
			ss.cand[ss.n_cand++] = pk->filters;
			pk = pk->prev;
		}
	}
	if (sample_assign(&ss, 0, 0, 0, 0)) {
		ret = sample_emit(p, g, s, ev, nodes, ss.pick, ss.n);
		if (e)
			ks_store_entry_free(p, e);	/* one sample per key */
		return ret ? ret : 1;
	}
	if (!e)
		e = ks_store_entry_new(p, r->uid, p->join_hash, p->join_key, p->join_len, 1,
				       r->maxspan_ns);
	pk = e ? ks_store_pack(&p->pool, ev) : NULL;
	if (!pk) {
		if (e && entry_empty(e))
			ks_store_entry_free(p, e);
		return -ENOMEM;
	}
	pk->filters = mask;
	pend_push(p, entry_states(e), pk);
	sample_prune(p, e, ss.n, ev->ts_ns);
	lru_touch(p, e);
	trim_memory(p);
	return 0;
}
