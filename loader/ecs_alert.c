// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ECS alert encoder: the Alert JSONL object (rule metadata, threat,
 * kestrel.join, and the matched events through ks_ecs_event_json(),
 * loader/ecs_encode.c), written straight into a reused buffer (struct
 * ks_jw), keys in strcmp order: byte for byte what the jansson encoder
 * before it printed with JSON_COMPACT | JSON_SORT_KEYS
 * (tests/test_ecs_golden.c, tests/fuzz/fuzz_alert.c).
 */
#include <stdlib.h>
#include <string.h>

#include "kestrel/json.h"
#include "kestrel/names.h"
#include "kestrel/rules.h"
#include "ecs_int.h"

const char *ks_ecs_outcome(const struct ks_event *ev)
{
	/* A killed process may also have had its operation denied. */
	if (ev->verdict.flags & KS_V_KILLED)
		return "killed";
	if (ev->verdict.flags & KS_V_DENIED)
		return "blocked";
	return "success";
}

static void put_strings(struct ks_jw *w, const char *key, const char *const *v, size_t n)
{
	size_t i;

	ks_jw_arr(w, key);
	for (i = 0; i < n; i++)
		ks_jw_cstr(w, NULL, v[i]);
	ks_jw_end(w, ']');
}

/*
 * rule.*: id, name, severity and tags always; description, reference
 * (an array) and uuid (an Elastic rule's rule_id) when the rule has them.
 */
static void put_rule(struct ks_jw *w, const struct ks_alert_meta *meta)
{
	ks_jw_obj(w, "rule");
	if (meta->description)
		ks_jw_cstr(w, "description", meta->description);
	ks_jw_cstr(w, "id", meta->id ? meta->id : "");
	ks_jw_cstr(w, "name", meta->name ? meta->name : "");
	if (meta->n_references)
		put_strings(w, "reference", meta->references, meta->n_references);
	ks_jw_cstr(w, "severity", meta->severity ?: ks_severity_name(KS_SEV_MEDIUM));
	put_strings(w, "tags", meta->tags, meta->n_tags);
	if (meta->uuid)
		ks_jw_cstr(w, "uuid", meta->uuid);
	ks_jw_end(w, '}');
}

/* The distinct (by id) tactics, techniques or subtechniques of a rule's threats. */
struct refset {
	const struct ks_attack_ref **v;
	size_t n;
};

static void refset_add(struct refset *s, const struct ks_attack_ref *r)
{
	size_t i;

	if (!r->id)
		return;
	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i]->id, r->id))
			return;
	s->v[s->n++] = r;
}

enum { REF_ID, REF_NAME, REF_URL };

static const char *ref_part(const struct ks_attack_ref *r, int part)
{
	return part == REF_ID ? r->id : part == REF_NAME ? r->name : r->reference;
}

/* One part of every entry, as an array; none if an entry lacks it (they would not line up). */
static void put_parts(struct ks_jw *w, const char *key, const struct refset *s, int part)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!ref_part(s->v[i], part))
			return;
	ks_jw_arr(w, key);
	for (i = 0; i < s->n; i++)
		ks_jw_cstr(w, NULL, ref_part(s->v[i], part));
	ks_jw_end(w, ']');
}

/* ECS puts the id, name and reference of the entries in parallel arrays. */
static void put_refs(struct ks_jw *w, const char *key, const struct refset *s,
		     const struct refset *subs)
{
	if (!s->n)
		return;
	ks_jw_obj(w, key);
	put_parts(w, "id", s, REF_ID);
	put_parts(w, "name", s, REF_NAME);
	put_parts(w, "reference", s, REF_URL);
	if (subs)
		put_refs(w, "subtechnique", subs, NULL);
	ks_jw_end(w, '}');
}

/* Every tactic (set[0]), technique (set[1]) and subtechnique (set[2]) once. */
static void collect_refs(const struct ks_alert_meta *meta, struct refset set[3])
{
	const struct ks_threat *t;
	size_t i, k, m;

	for (i = 0; i < meta->n_threats; i++) {
		t = &meta->threats[i];
		refset_add(&set[0], &t->tactic);
		for (k = 0; k < t->n_techniques; k++) {
			refset_add(&set[1], &t->techniques[k].ref);
			for (m = 0; m < t->techniques[k].n_subs; m++)
				refset_add(&set[2], &t->techniques[k].subs[m]);
		}
	}
}

/*
 * threat.*: the first framework named, and the rule's ATT&CK entries
 * (subtechniques under threat.technique). The sets point into one array
 * with room for every entry: on the stack unless the rule has many.
 */
static void put_threat(struct ks_jw *w, const struct ks_alert_meta *meta)
{
	const struct ks_attack_ref *stack[64], **v = stack;
	const char *framework = NULL;
	struct refset set[3] = {};
	size_t n[3] = {}, i, k;

	for (i = 0; i < meta->n_threats; i++) {
		framework = framework ?: meta->threats[i].framework;
		n[0]++;
		n[1] += meta->threats[i].n_techniques;
		for (k = 0; k < meta->threats[i].n_techniques; k++)
			n[2] += meta->threats[i].techniques[k].n_subs;
	}
	if (n[0] + n[1] + n[2] > ARRAY_SIZE(stack) &&
	    !(v = calloc(n[0] + n[1] + n[2], sizeof(*v)))) {
		w->oom = true;
		return;
	}
	set[0].v = v;
	set[1].v = v + n[0];
	set[2].v = v + n[0] + n[1];
	collect_refs(meta, set);
	if (framework || set[0].n || set[1].n) {
		ks_jw_obj(w, "threat");
		if (framework)
			ks_jw_cstr(w, "framework", framework);
		put_refs(w, "tactic", &set[0], NULL);
		put_refs(w, "technique", &set[1], &set[2]);
		ks_jw_end(w, '}');
	}
	if (v != stack)
		free(v);
}

/* kestrel.join: names sorted; a name given twice keeps its last value. */
static void put_join(struct ks_jw *w, const char *names[], const char *values[], size_t n)
{
	size_t order[KS_MAX_JOIN], i, j, k, m = 0;

	for (i = 0; i < n && m < KS_MAX_JOIN; i++) {
		for (j = 0; j < m && strcmp(names[order[j]], names[i]); j++)
			;
		if (j < m) {
			order[j] = i;	/* the later value replaces */
			continue;
		}
		for (k = m++; k > 0 && strcmp(names[order[k - 1]], names[i]) > 0; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	ks_jw_obj(w, "join");
	for (i = 0; i < m; i++)
		ks_jw_cstr(w, names[order[i]], values[order[i]]);
	ks_jw_end(w, '}');
}

int ks_ecs_alert_json(struct ks_ecs_ctx *ctx, struct ks_jw *w,
		      const struct ks_alert_meta *meta,
		      const struct ks_event *const *events, size_t n_events,
		      const char *join_field_names[], const char *join_values[],
		      size_t n_join)
{
	const struct ks_event *last = meta->completing ? meta->completing :
				      n_events ? events[n_events - 1] : NULL;
	const char *cid = last ? ks_ecs_container(ctx, last) : NULL;
	char ts[KS_ECS_TIME_LEN];
	size_t i;

	if (!last && !meta->event_lost)
		return -1;
	ks_jw_obj(w, NULL);
	ks_ecs_format_time(last ? last->ts_ns : meta->ts_ns, ts);
	ks_jw_cstr(w, "@timestamp", ts);
	if (cid) {	/* the completing event's, as host.name */
		ks_jw_obj(w, "container");
		ks_jw_cstr(w, "id", cid);
		ks_jw_end(w, '}');
	}
	ks_jw_obj(w, "ecs");
	ks_jw_cstr(w, "version", KS_ECS_VERSION);
	ks_jw_end(w, '}');
	ks_jw_obj(w, "event");
	ks_jw_cstr(w, "action", meta->action ?: ks_rule_action_name(KS_RA_ALERT));
	ks_jw_cstr(w, "kind", "alert");
	ks_jw_cstr(w, "outcome", last ? ks_ecs_outcome(last) : meta->outcome ?: "unknown");
	if (meta->risk_score >= 0)
		ks_jw_int(w, "risk_score", meta->risk_score);
	ks_jw_end(w, '}');
	ks_jw_obj(w, "host");
	ks_jw_cstr(w, "name", last ? ks_ecs_event_host(ctx, last) : ks_ecs_host(ctx));
	ks_jw_end(w, '}');
	ks_jw_obj(w, "kestrel");
	if (meta->event_lost)
		ks_jw_raw(w, "event_lost", "true");
	ks_jw_arr(w, "events");
	for (i = 0; i < n_events; i++)
		ks_ecs_event_json(ctx, w, events[i]);
	ks_jw_end(w, ']');
	put_join(w, join_field_names, join_values, n_join);
	if (meta->lost_events)
		ks_jw_int(w, "lost_events", (int64_t)meta->lost_events);
	ks_jw_end(w, '}');
	if (meta->event_lost)
		ks_jw_cstr(w, "message", KS_ECS_LOST_MESSAGE);
	put_rule(w, meta);
	put_threat(w, meta);
	ks_jw_end(w, '}');
	return w->oom ? -1 : 0;
}
