// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Join keys of the userspace NFA: what of an event makes the key a
 * sequence's or sample's pending state is found under (loader/nfa.c),
 * and the same values as kestrel.join prints them in an alert
 * (loader/alert.c). A kernel field's value comes from the event; a
 * userspace-enriched one (user.name, process.working_directory, ...)
 * from the replayed record or what kload reads live (loader/ecs_user.c).
 * The key's slot in the store is its SipHash-2-4 under the pipeline's
 * random key.
 */
#include <stdio.h>
#include <string.h>

#include "kestrel/tablewalk.h"
#include "maps/ks_siphash.h"
#include "pipeline_int.h"

/*
 * The interpreter's userspace-only fields: container.id from the ECS
 * context's cgroups, the enriched ones from its records or /proc.
 */
bool ks_join_user_str(void *arg, const struct ks_field_info *f, const struct ks_event *ev,
		      const char **s, size_t *len)
{
	struct ks_pipeline *p = arg;

	if (strcmp(f->name, "container.id"))
		return p->ecs ? ks_ecs_user_str(p->ecs, f, ev, s, len) :
				ks_interp_user_default(f, s, len);
	*s = p->ecs ? ks_ecs_container(p->ecs, ev) : NULL;
	*len = *s ? strlen(*s) : 0;
	return *s != NULL;
}

/*
 * One join value of ev: bytes at *v (or in num) and their length.
 * Returns 1 if the field has a value, 0 if it is null (no bytes: every
 * null is the same key).
 */
static int join_value(const struct ks_event *ev, uint32_t f, const uint8_t **v, uint32_t *len,
		      uint8_t num[16])
{
	const uint8_t *ip = ks_ev_ip(ev, f);
	__s64 n = 0;	/* set by ks_event_num; gcc cannot see it through the switch */

	*v = num;
	*len = 0;
	if (!ks_join_present(ev, f))
		return 0;
	if (KS_F_IS_STR(f)) {
		ks_ev_str(ev, f, v, len);
		return 1;
	}
	if (ip) {
		*v = ip;
		*len = 16;
		return 1;
	}
	if (ks_field_is_entity(f)) {
		uint64_t key = ks_event_entity(ev, f);

		memcpy(num, &key, 8);
		*len = 8;
		return 1;
	}
	ks_event_num(ev, f, &n);
	memcpy(num, &n, 8);
	*len = 8;
	return 1;
}

/*
 * The catalogue entry of join key j of step s. The table names a field
 * only the kernel fills; a userspace one (KS_F_NONE) is found in the
 * rule's AST.
 */
static const struct ks_field_info *join_info(const struct ks_gen *g, const struct ks_step *s,
					     uint32_t j)
{
	const struct ks_query *q = s->rule < g->rs->n_rules ? g->rs->rules[s->rule].q : NULL;

	return q ? ks_query_join(q, s, j) : NULL;
}

/*
 * A userspace join value of ev (ks_field_info.join): what a test of f
 * reads (the replayed record's value, or what kload reads live), so
 * returns 1 with the value, 0 if it is null, as join_value() for a kernel
 * field. host.* and agent.id (not ks_field_info.join) read as null: one
 * value for all of a host's events, the NFA does not key on them. A value
 * longer than the key keeps (only a replayed record can hold one) is
 * keyed on its first KS_ECS_UBUF bytes with the cut bit, as a kernel
 * value the event holds in part.
 */
static int join_user(struct ks_pipeline *p, const struct ks_field_info *f,
		     const struct ks_event *ev, const uint8_t **v, uint32_t *len)
{
	const char *s;
	size_t n;

	*len = 0;
	if (!f || !f->join || !ks_join_user_str(p, f, ev, &s, &n))
		return 0;
	*v = (const uint8_t *)s;
	*len = n < KS_ECS_UBUF ? (uint32_t)n : KS_ECS_UBUF;
	return n > KS_ECS_UBUF ? 3 : 1;
}

/*
 * May join key j of step s be null? An ?optional key may, and null then
 * joins null; so may host.* and agent.id, which the NFA does not key on
 * (one value for all of a host's events). Elastic leaves an event whose
 * other key is null out of the step, as the kernel does (ks_join_null).
 */
static bool join_nullable(const struct ks_gen *g, const struct ks_step *s, uint32_t j)
{
	const struct ks_field_info *fi;

	if (s->join_opt & (1u << j))
		return true;
	fi = s->join[j] == KS_F_NONE ? join_info(g, s, j) : NULL;
	return fi && !fi->join;
}

/*
 * The join key of ev for step s into p->join_key: per join field a
 * presence byte (bit 1: the event holds only part of the value), the
 * value's length and the value itself, whole: a string's bytes (NULs of
 * process.command_line as spaces, as the field reads), numbers, entity
 * keys and addresses in binary. Two keys are equal exactly when every
 * value is. Returns the key's length; *out is set when a key that may not
 * be null is (the event takes no part in the step).
 */
static uint32_t join_key(struct ks_pipeline *p, const struct ks_gen *g, const struct ks_event *ev,
			 const struct ks_step *s, bool *out)
{
	uint8_t *b = p->join_key, num[16];
	uint32_t pos = 0, j, i;

	*out = false;

	for (j = 0; j < s->n_join && j < KS_MAX_JOIN; j++) {
		uint32_t f = s->join[j], len;
		const uint8_t *v;

		if (f == KS_F_NONE)
			b[pos] = join_user(p, join_info(g, s, j), ev, &v, &len);
		else
			b[pos] = join_value(ev, f, &v, &len, num);
		if (!b[pos] && !join_nullable(g, s, j))
			*out = true;
		if (ev->truncated & ks_field_cut_bits(f))
			b[pos] |= 2;
		memcpy(b + pos + 1, &len, 4);
		pos += 5;
		for (i = 0; i < len; i++)
			b[pos + i] = !v[i] && f == KS_F_PROCESS_COMMAND_LINE ? ' ' : v[i];
		pos += len;
	}
	return pos;
}

/* The hash of p->join_key of rule uid if ks_pipeline_prefetch() made it; else 0. */
static uint64_t pf_hash(const struct ks_pipeline *p, uint32_t uid)
{
	const struct ks_pf_key *k;
	int i;

	for (i = 0; i < KS_PF_KEYS; i++) {
		k = &p->pf[i];
		if (k->len && k->len == p->join_len && k->uid == uid &&
		    key_eq(k->key, p->join_key, k->len))
			return k->hash;
	}
	return 0;
}

/*
 * ev's join key for step s into p, and its hash (never 0: 0 marks an
 * empty slot); the key's home slot, both its lines, is fetched into the
 * cache meanwhile.
 * False when a key that may not be null is: ev is out of the step.
 */
bool ks_join_seq_key(struct ks_pipeline *p, const struct ks_gen *g, const struct ks_rule *r,
		     const struct ks_step *s, const struct ks_event *ev)
{
	const struct ks_entry *e;
	bool out;

	p->join_len = join_key(p, g, ev, s, &out);
	if (out)
		return false;
	p->join_hash = pf_hash(p, r->uid);
	if (!p->join_hash)
		p->join_hash = ks_siphash(p->sip_key[0] ^ r->uid, p->sip_key[1],
					  p->join_key, p->join_len) ?: 1;
	e = &p->slots[p->join_hash & (p->n_slots - 1)];
	__builtin_prefetch(e);
	__builtin_prefetch((const uint8_t *)e + 64);
	return true;
}

/*
 * Whether ks_pipeline_prefetch() may build step s's key ahead: every join
 * field a kernel one (a userspace one reads the ECS context, whose state
 * the events before ev may still change).
 */
static bool join_kernel_only(const struct ks_step *s)
{
	uint32_t j;

	for (j = 0; j < s->n_join && j < KS_MAX_JOIN; j++)
		if (s->join[j] == KS_F_NONE)
			return false;
	return true;
}

/*
 * The lines the move of an entry found under k will write or read: its
 * LRU neighbours (unlinked when it becomes the newest) and its states'
 * newest events (one replaced or unpacked into an alert). k's slot was
 * fetched one event earlier, so finding the entry costs no wait.
 */
static void pf_warm(struct ks_pipeline *p, const struct ks_pf_key *k)
{
	const struct ks_entry *e;
	const struct ks_pend *st;
	uint32_t i;

	if (!k->len)
		return;
	e = entry_find(p, k->uid, k->hash, k->key, k->len);
	if (!e)
		return;
	if (e->prev != KS_NONE)
		__builtin_prefetch(&p->slots[e->prev], 1);
	if (e->next != KS_NONE)
		__builtin_prefetch(&p->slots[e->next], 1);
	st = entry_states(e);
	for (i = 1; i < e->n_states && i < 4; i++)
		if (st[i].last)
			__builtin_prefetch(st[i].last, 1);
}

/*
 * A stream's hint, in two stages: the home slot of each sequence step
 * the kernel says ev made true is fetched into the cache, and for the
 * event hinted KS_PIPELINE_AHEAD events before ev (the one processed
 * next, whose slot came meanwhile) what its move touches (pf_warm()).
 * Nothing of the NFA changes; the key is built again when ev is
 * processed (p->join_key is scratch).
 */
void ks_pipeline_prefetch(struct ks_pipeline *p, const struct ks_event *ev)
{
	const struct ks_verdict *vd = &ev->verdict;
	const struct ks_gen *g = &p->gen[0];
	struct ks_pf_key *k = &p->pf[p->pf_next];
	uint32_t i;

	pf_warm(p, &p->pf[(p->pf_next - KS_PIPELINE_AHEAD) & (KS_PF_KEYS - 1)]);
	p->pf_next = (p->pf_next + 1) & (KS_PF_KEYS - 1);
	k->len = 0;
	if (!g->t || g->t->hdr.generation != vd->generation ||
	    (vd->flags & (KS_V_CAND_OVERFLOW | KS_V_MATCH_OVERFLOW)))
		return;
	for (i = 0; i < vd->n_match && i < KS_MAX_MATCH; i++) {
		const struct ks_step *s;
		const struct ks_rule *r;

		if (vd->match[i].step >= g->t->hdr.n_steps || !(vd->match[i].flags & KS_M_EXACT))
			continue;
		s = &g->t->steps[vd->match[i].step];
		r = &g->t->rules[s->rule];
		if (!(r->flags & KS_R_SEQUENCE) || !join_kernel_only(s) ||
		    !ks_join_seq_key(p, g, r, s, ev) || p->join_len > KS_PF_KEY_MAX)
			continue;
		memcpy(k->key, p->join_key, p->join_len);
		k->len = p->join_len;
		k->uid = r->uid;
		k->hash = p->join_hash;
	}
}

/*
 * Join key j of step s as kestrel.join prints it: its name and its value
 * on ev in buf (KS_JOIN_TEXT bytes, cut to fit). Returns < 0 when the
 * value is null or one for the whole host (host.*, agent.id: not printed).
 */
int ks_join_text(struct ks_pipeline *p, const struct ks_gen *g, const struct ks_step *s,
		 uint32_t j, const struct ks_event *ev, const char **name, char *buf)
{
	const struct ks_field_info *fi = ks_field_by_id(s->join[j]);
	const uint8_t *v;
	uint32_t len;

	if (fi) {
		*name = fi->name;
		return ks_field_text(p->ecs, ev, s->join[j], buf, KS_JOIN_TEXT);
	}
	fi = join_info(g, s, j);
	if (!join_user(p, fi, ev, &v, &len))
		return -1;
	*name = fi->name;
	return snprintf(buf, KS_JOIN_TEXT, "%.*s", (int)len, (const char *)v);
}

