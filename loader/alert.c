// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Alerts of the userspace half: the rule's metadata, the matched events
 * (a pending sequence's unpacked from the store, oldest first, into a
 * scratch array kept in the pipeline), the join values as kestrel.join
 * prints them (loader/nfa_join.c), encoded straight into the output's
 * buffer (loader/ecs_alert.c, loader/output.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/names.h"
#include "pipeline_int.h"

void ks_alert_rule_meta(const struct ks_gen *g, uint32_t rule, struct ks_alert_meta *meta)
{
	const struct ks_rule_src *r = &g->rs->rules[rule];

	memset(meta, 0, sizeof(*meta));
	meta->id = r->id;
	meta->name = r->name;
	meta->severity = ks_severity_name(r->severity);
	meta->action = ks_rule_action_name(r->action);
	meta->tags = (const char *const *)r->tags;
	meta->n_tags = r->n_tags;
	meta->uuid = r->uuid;
	meta->description = r->description;
	meta->references = (const char *const *)r->references;
	meta->n_references = r->n_references;
	meta->threats = r->threats;
	meta->n_threats = r->n_threats;
	meta->risk_score = ks_rule_risk_score(r);
}

/*
 * Write an alert, encoded straight into the output's buffer (or count it
 * lost); count it for the rule.
 */
int ks_alert_write(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		   const struct ks_alert_meta *meta, const struct ks_event *const *evs,
		   size_t n, const char *names[], const char *values[], size_t n_join)
{
	const struct ks_line_info info = { .rule_id = meta->id, .severity = meta->severity };
	struct ks_jw *w = ks_output_begin(p->o.alerts);
	bool ok = !w || !ks_ecs_alert_json(p->ecs, w, meta, evs, n, names, values, n_join);

	/* one that could not be encoded or written is counted (and logged) by the output */
	if (ks_output_end(p->o.alerts, ok, &info) == -ENOMEM || !ok)
		return -ENOMEM;
	p->st.alerts++;
	p->st.lost_alerts += meta->event_lost;
	g->alerts[rule]++;
	return 0;
}

/* Room for n unpacked events in p->scratch (grown once, kept). */
struct ks_event *ks_alert_scratch(struct ks_pipeline *p, uint32_t n)
{
	struct ks_event *v;

	if (n <= p->n_scratch)
		return p->scratch;
	v = realloc(p->scratch, n * sizeof(*v));
	if (!v)
		return NULL;
	p->scratch = v;
	p->n_scratch = n;
	return v;
}

/*
 * Unpack the n events of pend into the scratch array, oldest first, and
 * point evs at them. Returns false when there is no room.
 */
static bool unpack_chain(struct ks_pipeline *p, const struct ks_pend *pend,
			 const struct ks_event **evs)
{
	const struct ks_packed *pk = pend->last;
	struct ks_event *tmp = ks_alert_scratch(p, pend->n);
	uint32_t i;

	if (pend->n && !tmp)
		return false;
	for (i = pend->n; i-- > 0; pk = pk->prev) {
		ks_store_unpack(pk, &tmp[i]);
		evs[i] = &tmp[i];
	}
	return true;
}

/*
 * An alert for rule on the n events evs, completed by done (one of them):
 * the join values are done's, by step s's join fields.
 */
int ks_alert_events(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		    const struct ks_step *s, const struct ks_event *const *evs, size_t n,
		    const struct ks_event *done, bool lost)
{
	const char *names[KS_MAX_JOIN], *values[KS_MAX_JOIN];
	char vbuf[KS_MAX_JOIN][KS_JOIN_TEXT];
	struct ks_alert_meta meta;
	size_t n_join = 0;
	uint32_t i;

	ks_alert_rule_meta(g, rule, &meta);
	meta.event_lost = lost;
	meta.completing = done;
	for (i = 0; i < s->n_join && i < KS_MAX_JOIN; i++) {
		if (ks_join_text(p, g, s, i, done, &names[n_join], vbuf[n_join]) < 0)
			continue;
		values[n_join] = vbuf[n_join];
		n_join++;
	}
	return ks_alert_write(p, g, rule, &meta, evs, n, names, values, n_join);
}

/* An alert for rule on last, after the events of prev (NULL: none). */
int ks_alert_emit(struct ks_pipeline *p, struct ks_gen *g, uint32_t rule,
		  const struct ks_step *s, const struct ks_pend *prev,
		  const struct ks_event *last, bool lost)
{
	static const struct ks_pend none;
	const struct ks_event *evs[KS_MAX_SEQ_EVENTS];

	if (!prev)
		prev = &none;
	if (prev->n >= KS_MAX_SEQ_EVENTS || !unpack_chain(p, prev, evs)) {
		ks_output_lost(p->o.alerts, KS_LOST_ENCODE);
		return -ENOMEM;
	}
	evs[prev->n] = last;
	return ks_alert_events(p, g, rule, s, evs, prev->n + 1, last, lost);
}
