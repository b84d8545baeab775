// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Userspace half of detection: decide what the kernel left unknown, run
 * sequences through the NFA, write alerts. See include/kestrel/pipeline.h.
 *
 * Pending sequences live in a hash table keyed by (rule uid, join key
 * text) and on an LRU list; the table is bounded (evictions counted) and
 * ks_pipeline_tick() expires sequences past their maxspan even when no
 * new event arrives. Matched events are kept packed (header plus the used
 * bytes of each string slot) because a full struct ks_event is 3.4 KiB.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/names.h"
#include "kestrel/pipeline.h"

#define KS_GENS		2
#define KS_JOIN_TEXT	512

struct ks_gen {
	struct ks_ruleset *rs;
	struct ks_tables *t;
	uint64_t *alerts;	/* per rule */
};

struct ks_packed {
	uint32_t len;
	uint8_t data[];
};

struct ks_pend {
	uint64_t start;		/* first event's time; 0 = empty */
	struct ks_packed **evs;	/* the k matched events of state k */
	uint32_t n;
};

struct ks_entry {
	uint32_t rule_uid;
	uint32_t n_states;
	uint64_t hash;
	uint64_t maxspan;
	char *key;
	struct ks_pend *st;	/* [n_states] */
	struct ks_entry *hnext;
	struct ks_entry *prev, *next;	/* LRU: head = most recent */
};

struct ks_pipeline {
	struct ks_pipeline_opts o;
	struct ks_ecs_ctx *ecs;
	struct ks_gen gen[KS_GENS];	/* [0] current, [1] previous */
	struct ks_entry **buckets;
	size_t n_buckets;
	struct ks_entry *lru_head, *lru_tail;
	struct ks_pipeline_stats st;
};

/* ---- packed events ---- */

static const struct {
	uint16_t off;
	uint16_t size;
} ks_slots[] = {
	{ offsetof(struct ks_event, exe), KS_PATH_MAX },
	{ offsetof(struct ks_event, pexe), KS_PATH_MAX },
	{ offsetof(struct ks_event, path), KS_PATH_MAX },
	{ offsetof(struct ks_event, target), KS_PATH_MAX },
	{ offsetof(struct ks_event, args), KS_ARGS_MAX },
	{ offsetof(struct ks_event, comm), KS_COMM_MAX },
	{ offsetof(struct ks_event, pcomm), KS_COMM_MAX },
	{ offsetof(struct ks_event, iface), KS_IFNAME_MAX },
	{ offsetof(struct ks_event, payload), KS_PAYLOAD_MAX },
};
#define KS_N_SLOTS (sizeof(ks_slots) / sizeof(ks_slots[0]))
#define KS_HDR_BYTES offsetof(struct ks_event, exe)

/* Bytes of slot i that some field refers to (small slots: all of them). */
static uint32_t slot_used(const struct ks_event *ev, size_t i)
{
	uint32_t lo = ks_slots[i].off, hi = lo + ks_slots[i].size, used = 0;
	int f;

	if (ks_slots[i].size <= KS_COMM_MAX)
		return ks_slots[i].size;
	for (f = 1; f < KS_F_STR_N; f++) {
		uint32_t o = ev->str[f].off, end = o + ev->str[f].len;

		if (o >= lo && o < hi && end <= hi && end - lo > used)
			used = end - lo;
	}
	return used;
}

static struct ks_packed *ks_pack(const struct ks_event *ev)
{
	uint16_t used[KS_N_SLOTS];
	uint32_t len = KS_HDR_BYTES + sizeof(used);
	struct ks_packed *p;
	uint8_t *w;
	size_t i;

	for (i = 0; i < KS_N_SLOTS; i++) {
		used[i] = slot_used(ev, i);
		len += used[i];
	}
	p = malloc(sizeof(*p) + len);
	if (!p)
		return NULL;
	p->len = len;
	w = p->data;
	memcpy(w, ev, KS_HDR_BYTES);
	w += KS_HDR_BYTES;
	memcpy(w, used, sizeof(used));
	w += sizeof(used);
	for (i = 0; i < KS_N_SLOTS; i++) {
		memcpy(w, (const uint8_t *)ev + ks_slots[i].off, used[i]);
		w += used[i];
	}
	return p;
}

static void ks_unpack(const struct ks_packed *p, struct ks_event *ev)
{
	const uint8_t *r = p->data;
	uint16_t used[KS_N_SLOTS];
	size_t i;

	memset(ev, 0, sizeof(*ev));
	memcpy(ev, r, KS_HDR_BYTES);
	r += KS_HDR_BYTES;
	memcpy(used, r, sizeof(used));
	r += sizeof(used);
	for (i = 0; i < KS_N_SLOTS; i++) {
		memcpy((uint8_t *)ev + ks_slots[i].off, r, used[i]);
		r += used[i];
	}
}

/* ---- entries ---- */

static uint64_t fnv64(const void *data, size_t len, uint64_t h)
{
	const uint8_t *b = data;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static void pend_clear(struct ks_pend *pd)
{
	uint32_t i;

	for (i = 0; i < pd->n; i++)
		free(pd->evs[i]);
	free(pd->evs);
	memset(pd, 0, sizeof(*pd));
}

static bool entry_empty(const struct ks_entry *e)
{
	uint32_t k;

	for (k = 0; k < e->n_states; k++)
		if (e->st[k].start)
			return false;
	return true;
}

static void lru_unlink(struct ks_pipeline *p, struct ks_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		p->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		p->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct ks_pipeline *p, struct ks_entry *e)
{
	e->prev = NULL;
	e->next = p->lru_head;
	if (p->lru_head)
		p->lru_head->prev = e;
	p->lru_head = e;
	if (!p->lru_tail)
		p->lru_tail = e;
}

static void entry_free(struct ks_pipeline *p, struct ks_entry *e)
{
	struct ks_entry **pp = &p->buckets[e->hash & (p->n_buckets - 1)];
	uint32_t k;

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	lru_unlink(p, e);
	for (k = 0; k < e->n_states; k++)
		pend_clear(&e->st[k]);
	free(e->st);
	free(e->key);
	free(e);
	p->st.pending--;
}

static struct ks_entry *entry_find(struct ks_pipeline *p, uint32_t uid, uint64_t h,
				   const char *key)
{
	struct ks_entry *e;

	for (e = p->buckets[h & (p->n_buckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->rule_uid == uid && !strcmp(e->key, key))
			return e;
	return NULL;
}

static struct ks_entry *entry_new(struct ks_pipeline *p, uint32_t uid, uint64_t h,
				  const char *key, uint32_t n_states, uint64_t maxspan)
{
	struct ks_entry *e;

	if (p->st.pending >= p->o.max_entries && p->lru_tail) {
		entry_free(p, p->lru_tail);	/* the least recently used */
		p->st.evictions++;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->st = calloc(n_states, sizeof(*e->st));
	e->key = strdup(key);
	if (!e->st || !e->key) {
		free(e->st);
		free(e->key);
		free(e);
		return NULL;
	}
	e->rule_uid = uid;
	e->hash = h;
	e->n_states = n_states;
	e->maxspan = maxspan;
	e->hnext = p->buckets[h & (p->n_buckets - 1)];
	p->buckets[h & (p->n_buckets - 1)] = e;
	lru_push(p, e);
	p->st.pending++;
	return e;
}

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
	size_t nb = 1024;

	if (!p)
		return NULL;
	p->o = *o;
	if (!p->o.max_entries)
		p->o.max_entries = 100000;
	while (nb < p->o.max_entries)
		nb <<= 1;
	p->buckets = calloc(nb, sizeof(*p->buckets));
	if (!p->buckets) {
		free(p);
		return NULL;
	}
	p->n_buckets = nb;
	p->ecs = ecs;
	return p;
}

void ks_pipeline_free(struct ks_pipeline *p)
{
	int i;

	if (!p)
		return;
	while (p->lru_head)
		entry_free(p, p->lru_head);
	for (i = 0; i < KS_GENS; i++)
		gen_free(&p->gen[i]);
	free(p->buckets);
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

int ks_pipeline_set_rules(struct ks_pipeline *p, struct ks_ruleset *rs,
			  const struct ks_tables *t)
{
	struct ks_tables *copy = calloc(1, sizeof(*copy));
	uint64_t *alerts = calloc(t->hdr.n_rules ?: 1, sizeof(uint64_t));
	struct ks_entry *e, *next;

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
	for (e = p->lru_head; e; e = next) {
		next = e->next;
		if (!gen_has_uid(&p->gen[0], e->rule_uid))
			entry_free(p, e);
	}
	return 0;
}

/* ---- evaluation ---- */

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

/* Join key text of ev for step s: field values joined by 0x1f. */
static void join_text(struct ks_pipeline *p, const struct ks_event *ev,
		      const struct ks_step *s, char *buf, size_t len)
{
	size_t pos = 0;
	unsigned int j;

	buf[0] = 0;
	for (j = 0; j < s->n_join && j < KS_MAX_JOIN; j++) {
		int n;

		if (pos + 2 >= len)
			break;
		if (j)
			buf[pos++] = 0x1f;
		n = ks_ecs_field_text(p->ecs, ev, s->join[j], buf + pos, len - pos);
		pos += n > 0 ? (size_t)n : 0;
		buf[pos] = 0;
	}
}

static int emit(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		const struct ks_step *s, struct ks_packed *const *prev, uint32_t n_prev,
		const struct ks_event *last)
{
	const struct ks_rule_src *r = &g->rs->rules[rule];
	const struct ks_event **evs;
	const char *names[KS_MAX_JOIN], *values[KS_MAX_JOIN];
	char vbuf[KS_MAX_JOIN][KS_JOIN_TEXT];
	struct ks_alert_meta meta = {
		.id = r->id, .name = r->name,
		.severity = ks_severity_name(r->severity),
		.action = ks_rule_action_name(r->action),
		.tags = (const char *const *)r->tags, .n_tags = r->n_tags,
	};
	struct ks_event *tmp = NULL;
	size_t n_join = 0;
	uint32_t i;
	json_t *a;
	int err = -ENOMEM;

	evs = calloc(n_prev + 1, sizeof(*evs));
	if (n_prev)
		tmp = calloc(n_prev, sizeof(*tmp));
	if (!evs || (n_prev && !tmp)) {
		ks_output_lost(p->o.alerts, KS_LOST_ENCODE);
		goto out;
	}
	for (i = 0; i < n_prev; i++) {
		ks_unpack(prev[i], &tmp[i]);
		evs[i] = &tmp[i];
	}
	evs[n_prev] = last;
	for (i = 0; i < s->n_join && i < KS_MAX_JOIN; i++) {
		const struct ks_field_info *fi = ks_field_by_id(s->join[i]);

		if (!fi || ks_ecs_field_text(p->ecs, last, s->join[i], vbuf[n_join],
					     KS_JOIN_TEXT) < 0)
			continue;
		names[n_join] = fi->name;
		values[n_join] = vbuf[n_join];
		n_join++;
	}
	a = ks_ecs_alert(p->ecs, &meta, evs, n_prev + 1, names, values, n_join);
	if (!a) {
		ks_output_lost(p->o.alerts, KS_LOST_ENCODE);
		goto out;
	}
	/* a failed write is counted (and logged) by the output */
	err = ks_output_json(p->o.alerts, a) == -ENOMEM ? -ENOMEM : 0;
	json_decref(a);
	if (!err) {
		p->st.alerts++;
		g->alerts[rule]++;
	}
out:
	free(tmp);
	free(evs);
	return err;
}

/* Advance the NFA of a sequence rule for a true step. Returns alerts written. */
static int seq_step(struct ks_pipeline *p, struct ks_gen *g, const struct ks_step *s,
		    const struct ks_event *ev)
{
	const struct ks_rule *r = &g->t->rules[s->rule];
	char key[KS_JOIN_TEXT];
	struct ks_entry *e;
	struct ks_pend pend, *next;
	struct ks_packed *pk;
	uint64_t h;
	uint32_t k = s->index, n = r->n_steps;
	int alerts = 0;

	join_text(p, ev, s, key, sizeof(key));
	h = fnv64(key, strlen(key), 0xcbf29ce484222325ull ^ r->uid);
	e = entry_find(p, r->uid, h, key);

	if (s->flags & KS_S_UNTIL) {
		if (e)
			entry_free(p, e);
		return 0;
	}
	if (k == 0) {
		if (!e)
			e = entry_new(p, r->uid, h, key, n, r->maxspan_ns);
		pk = e ? ks_pack(ev) : NULL;
		if (!pk)
			return -ENOMEM;
		pend_clear(&e->st[1 % n]);	/* newest overwrites */
		e->st[1 % n].evs = malloc(sizeof(pk));
		if (!e->st[1 % n].evs) {
			free(pk);
			return -ENOMEM;
		}
		e->st[1 % n].evs[0] = pk;
		e->st[1 % n].n = 1;
		e->st[1 % n].start = ev->ts_ns ?: 1;
		lru_unlink(p, e);
		lru_push(p, e);
		return 0;
	}
	if (!e || k >= n || !e->st[k].start)
		return 0;
	pend = e->st[k];
	memset(&e->st[k], 0, sizeof(e->st[k]));
	if (r->maxspan_ns && ev->ts_ns - pend.start > r->maxspan_ns) {
		p->st.expired++;
		pend_clear(&pend);
	} else if (k + 1 == n) {
		alerts = emit(p, g, s->rule, s, pend.evs, pend.n, ev) == 0;
		pend_clear(&pend);	/* a completed sequence is consumed */
	} else {
		struct ks_packed **evs = realloc(pend.evs, (pend.n + 1) * sizeof(*evs));

		pk = ks_pack(ev);
		if (!evs || !pk) {
			free(pk);
			pend.evs = evs ?: pend.evs;
			pend_clear(&pend);
			return -ENOMEM;
		}
		evs[pend.n] = pk;
		next = &e->st[k + 1];
		pend_clear(next);
		next->evs = evs;
		next->n = pend.n + 1;
		next->start = pend.start;
	}
	if (entry_empty(e))
		entry_free(p, e);
	return alerts;
}

struct ks_hit {
	uint16_t step;
	uint8_t exact;
};

/* Kernel candidates overflowed: judge every step here, latest first. */
static uint32_t all_steps(const struct ks_gen *g, struct ks_hit *hits, uint32_t max)
{
	uint32_t n = 0, i = g->t->hdr.n_steps;

	while (i-- > 0 && n < max) {
		hits[n].step = i;
		hits[n].exact = 0;
		n++;
	}
	return n;
}

int ks_pipeline_event(struct ks_pipeline *p, const struct ks_event *ev)
{
	const struct ks_verdict *vd = &ev->verdict;
	struct ks_hit hits[KS_MAX_STEPS];
	struct ks_gen *g;
	uint32_t n = 0, i;
	int alerts = 0;

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
			n++;
		}
	}
	for (i = 0; i < n; i++) {
		const struct ks_step *s;
		const struct ks_step_ast *ast;
		const struct ks_rule *r;

		if (hits[i].step >= g->t->hdr.n_steps)
			continue;
		s = &g->t->steps[hits[i].step];
		r = &g->t->rules[s->rule];
		if (!hits[i].exact) {
			ast = ast_step(g, s);
			if (!ast)
				continue;
			p->st.user_decided++;
			if (!ks_interp_step(ast, ev))
				continue;
		}
		p->st.step_matches++;
		if (r->flags & KS_R_SEQUENCE) {
			int a = seq_step(p, g, s, ev);

			if (a == -ENOMEM)
				p->st.nomem++;	/* the step is lost to the NFA */
			alerts += a > 0 ? a : 0;
		} else if (emit(p, g, s->rule, s, NULL, 0, ev) == 0) {
			alerts++;
		}
	}
	return alerts;
}

void ks_pipeline_tick(struct ks_pipeline *p, uint64_t now_ns)
{
	struct ks_entry *e, *next;
	uint32_t k;

	for (e = p->lru_head; e; e = next) {
		bool live = false;

		next = e->next;
		if (!e->maxspan)
			continue;
		for (k = 0; k < e->n_states; k++) {
			if (!e->st[k].start)
				continue;
			if (now_ns > e->st[k].start && now_ns - e->st[k].start > e->maxspan) {
				pend_clear(&e->st[k]);
				p->st.expired++;
			} else {
				live = true;
			}
		}
		if (!live)
			entry_free(p, e);
	}
}

void ks_pipeline_reset(struct ks_pipeline *p)
{
	while (p->lru_head)
		entry_free(p, p->lru_head);
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
