// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ECS event encoder: struct ks_event -> an Event JSON object, written
 * straight into a reused buffer (struct ks_jw); the Alert object around
 * events is loader/ecs_alert.c's.
 *
 * The output is byte for byte what the jansson encoder before it printed
 * with JSON_COMPACT | JSON_SORT_KEYS (tests/test_ecs_golden.c compares
 * the two on every fixture, tests/fuzz/fuzz_alert.c on anything): so
 * every object's members are written in strcmp order of their names,
 * and a member that was only created on the way (an empty object) is
 * still written.
 *
 * The members come from the field catalogue through a plan
 * (loader/ecs_plan.c): per presence mask, a flat list of steps, each a
 * writer of this file with its key and key length (the ks_jw_*_k
 * writers: no strlen of keys), which an event walks. A plain kernel or
 * enriched field added to the catalogue prints with no change here
 * (tests/test_ecs_fields.c checks that every field prints). What is
 * written here: the writers of each kind of member, the hooks (members
 * that are no plain field, or several at once) and the gates (objects
 * printed otherwise than "when one of their members is").
 *
 * Alerts are the NFA bench's hot path (nfa.alerts, nfa.mixed): the walk
 * opens and closes objects itself, and an object whose guards are 0 is
 * passed over in one test, so that an event costs what the hand-written
 * encoder before the plan cost.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/json.h"
#include "kestrel/names.h"
#include "kestrel/rules.h"
#include "ecs_plan.h"

struct enc {
	struct ks_ecs_ctx *ctx;
	struct ks_jw *jw;	/* through out() */
	const struct ks_event *ev;
	const struct ecs_zword *guards;	/* the plan's */
	/* objects entered but not written yet: written with their first member */
	const struct ecs_step *pend[ECS_PLAN_DEPTH];
	unsigned int n_pend;
};

static void open_pending(struct enc *e)
{
	unsigned int i;

	for (i = 0; i < e->n_pend; i++)
		ks_jw_obj_k(e->jw, e->pend[i]->key, e->pend[i]->klen);
	e->n_pend = 0;
}

/* The writer, once the objects the member is in are open. */
static inline struct ks_jw *out(struct enc *e)
{
	if (e->n_pend)
		open_pending(e);
	return e->jw;
}

static void put_cstr(struct enc *e, const struct ecs_step *s, const char *v)
{
	ks_jw_str_k(out(e), s->key, s->klen, v, strlen(v));
}

/* A cut path p[0..len) as head "..." tail. */
static __attribute__((noinline)) void put_cut(struct enc *e, const struct ecs_step *s,
					      const char *p, size_t len)
{
	const struct ks_event *ev = e->ev;
	char buf[KS_PATH_MAX + 4];
	size_t h = ev->cut_head[KS_PATH_IDX(s->id)];

	/* the head starts the slot the tail ends (none if that is not in the event) */
	if (h > KS_PATH_MAX - len)
		h = KS_PATH_MAX - len;
	if (p + len < (const char *)ev + KS_PATH_MAX)
		h = 0;
	memcpy(buf, p + len - KS_PATH_MAX, h);
	memcpy(buf + h, "...", 3);
	memcpy(buf + h + 3, p, len);
	ks_jw_str_k(out(e), s->key, s->klen, buf, h + 3 + len);
}

/* A string field (path: one that may be cut); nothing if out of the event. */
static inline void put_ref(struct enc *e, const struct ecs_step *s, bool path)
{
	const struct ks_event *ev = e->ev;
	size_t len;
	const char *p = ks_ecs_ref_bytes(ev, s->id, &len);

	if (!p)
		return;
	if (path && ev->truncated & (1u << s->id) && len <= KS_PATH_MAX)
		put_cut(e, s, p, len);
	else
		ks_jw_str_k(out(e), s->key, s->klen, p, len);
}

static void put_entity(struct enc *e, uint64_t key, uint32_t pid, uint64_t start)
{
	const char *s;
	char buf[32];

	if (!key)
		return;
	s = ks_ecs_intern_get(e->ctx, key);
	if (s) {
		ks_jw_cstr(out(e), "entity_id", s);
		return;
	}
	s = ks_ecs_entity_pid_start(pid, start, buf);	/* ends at buf[31] */
	ks_jw_str(out(e), "entity_id", s, (size_t)(buf + sizeof(buf) - 1 - s));
}

/*
 * process.args: the stored elements (NULs + 1), or [""] for an empty
 * slot when argc says there was one element; args_count, and
 * command_line: the args with each separator shown as ' '.
 */
static void put_args(struct enc *e)
{
	const struct ks_event *ev = e->ev;
	size_t len, i, start = 0;
	const char *a = ks_ecs_ref_bytes(ev, KS_F_PROCESS_ARGS, &len);
	char buf[KS_ARGS_MAX];

	if (!a || (!len && !ev->args_count)) {
		if (ev->args_count)
			ks_jw_int(out(e), "args_count", ev->args_count);
		return;
	}
	ks_jw_arr(out(e), "args");
	for (i = 0; i <= len; i++) {
		if (i < len && a[i])
			continue;
		ks_jw_str(out(e), NULL, a + start, i - start);
		start = i + 1;
	}
	ks_jw_end(out(e), ']');
	ks_jw_int(out(e), "args_count", ev->args_count);
	if (len > sizeof(buf))
		len = sizeof(buf);
	for (i = 0; i < len; i++)
		buf[i] = a[i] ? a[i] : ' ';
	ks_jw_str(out(e), "command_line", buf, len);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct ks_field_info *const *)a)->name,
		      (*(const struct ks_field_info *const *)b)->name);
}

/* ------------------------------------------------------------------ */
/* members' writers: the plan picks one per member, once               */

/* A kernel field's number that the event's mask says is there. */
static const struct ecs_step *w_num(struct enc *e, const struct ecs_step *s)
{
	__s64 v = 0;

	ks_event_num(e->ev, s->id, &v);
	ks_jw_int_k(out(e), s->key, s->klen, v);
	return s + 1;
}

/* A number that is null while 0 (maps/ks_fields.h, or zero_none()). */
static const struct ecs_step *w_num_nz(struct enc *e, const struct ecs_step *s)
{
	__s64 v = 0;

	ks_event_num(e->ev, s->id, &v);
	if (v)
		ks_jw_int_k(out(e), s->key, s->klen, v);
	return s + 1;
}

/* An enum's name; a number without one (a protocol) as its decimal text. */
static void put_enum(struct enc *e, const struct ecs_step *s, __s64 v)
{
	const char *name = ks_enum_name(s->id, (unsigned int)v);
	char buf[24];

	if (!name) {
		if (s->f->max <= 0)	/* a value no name was given: none */
			return;
		snprintf(buf, sizeof(buf), "%u", (unsigned int)v);
		name = buf;
	}
	put_cstr(e, s, name);
}

static const struct ecs_step *w_enum(struct enc *e, const struct ecs_step *s)
{
	__s64 v = 0;

	ks_event_num(e->ev, s->id, &v);
	put_enum(e, s, v);
	return s + 1;
}

static const struct ecs_step *w_enum_nz(struct enc *e, const struct ecs_step *s)
{
	__s64 v = 0;

	ks_event_num(e->ev, s->id, &v);
	if (v)
		put_enum(e, s, v);
	return s + 1;
}

/* A capability set as Elastic Defend writes it: the names of its bits; empty: null. */
static const struct ecs_step *w_caps(struct enc *e, const struct ecs_step *s)
{
	const char *name;
	__s64 v = 0;
	uint64_t set;
	unsigned int b;

	ks_event_num(e->ev, s->id, &v);
	set = (uint64_t)v;
	if (!set)
		return s + 1;
	ks_jw_arr_k(out(e), s->key, s->klen);
	for (b = 0; b < 64; b++)
		if (set >> b & 1 && (name = ks_enum_name(s->id, b)))
			ks_jw_cstr(out(e), NULL, name);
	ks_jw_end(out(e), ']');
	return s + 1;
}

static const struct ecs_step *w_str(struct enc *e, const struct ecs_step *s)
{
	put_ref(e, s, false);
	return s + 1;
}

/* A path, which may have been cut. */
static const struct ecs_step *w_path(struct enc *e, const struct ecs_step *s)
{
	put_ref(e, s, true);
	return s + 1;
}

/* A string whose "" is no value (empty_none()). */
static const struct ecs_step *w_str_opt(struct enc *e, const struct ecs_step *s)
{
	if (e->ev->str[s->id].len)
		put_ref(e, s, ks_ecs_is_path(s->id));
	return s + 1;
}

/* An entity id, from the key and the pid and start time it was made of. */
static const struct ecs_step *w_entity(struct enc *e, const struct ecs_step *s)
{
	__u64 start;
	__u32 pid;

	ks_event_entity_parts(e->ev, s->id, &pid, &start);
	put_entity(e, ks_event_entity(e->ev, s->id), pid, start);
	return s + 1;
}

/* source.ip, destination.ip: none while all 0 */
static const struct ecs_step *w_ip(struct enc *e, const struct ecs_step *s)
{
	const uint8_t *a = s->id == KS_F_SOURCE_IP ? e->ev->saddr : e->ev->daddr;
	char buf[INET6_ADDRSTRLEN];

	if (!ks_ecs_ip_is_zero(a)) {
		ks_ecs_ip_text(e->ev, a, buf, sizeof(buf));
		put_cstr(e, s, buf);
	}
	return s + 1;
}

/*
 * An enriched field (loader/ecs_user.c): a replayed record's own value,
 * and host.id (read once) and destination.domain (a lookup in memory)
 * for a live event (the plan has no other for a live event: other live
 * values are read from /proc when a rule tests them, not for every event
 * printed). By kind: a number (decimal text, as the decoder noted it),
 * a boolean ("true" or "false"), a string, an array (NUL-separated
 * elements; none if empty).
 */
static inline bool user_val(struct enc *e, const struct ecs_step *s, const char **v, size_t *len)
{
	return ks_ecs_user_str_i(e->ctx, s->id, s->f, e->ev, v, len);
}

static const struct ecs_step *w_user_num(struct enc *e, const struct ecs_step *s)
{
	const char *v;
	size_t len;

	if (user_val(e, s, &v, &len))
		ks_jw_int_k(out(e), s->key, s->klen, strtoll(v, NULL, 10));
	return s + 1;
}

static const struct ecs_step *w_user_bool(struct enc *e, const struct ecs_step *s)
{
	const char *v;
	size_t len;

	if (user_val(e, s, &v, &len))
		ks_jw_raw_k(out(e), s->key, s->klen, len == 4 ? "true" : "false");
	return s + 1;
}

static const struct ecs_step *w_user_str(struct enc *e, const struct ecs_step *s)
{
	const char *v;
	size_t len;

	if (user_val(e, s, &v, &len))
		ks_jw_str_k(out(e), s->key, s->klen, v, len);
	return s + 1;
}

static const struct ecs_step *w_user_arr(struct enc *e, const struct ecs_step *s)
{
	const char *v, *end, *z;
	size_t len;

	if (!user_val(e, s, &v, &len))
		return s + 1;
	ks_jw_arr_k(out(e), s->key, s->klen);
	for (end = v + len; len && v <= end; v = z + 1) {
		z = memchr(v, 0, (size_t)(end - v));
		z = z ? z : end;
		ks_jw_str(out(e), NULL, v, (size_t)(z - v));
	}
	ks_jw_end(out(e), ']');
	return s + 1;
}

/* ------------------------------------------------------------------ */
/* hooks: the members that are no plain field of the catalogue       */

static const struct ecs_step *hk_timestamp(struct enc *e, const struct ecs_step *s)
{
	char ts[KS_ECS_TIME_LEN];

	ks_ecs_format_time(e->ev->ts_ns, ts);	/* always as long */
	ks_jw_str_k(out(e), s->key, s->klen, ts, KS_ECS_TIME_LEN - 1);
	return s + 1;
}

/* container.id: derived from the cgroup (loader/container.c), no member. */
static const struct ecs_step *hk_container(struct enc *e, const struct ecs_step *s)
{
	const char *id = ks_ecs_container(e->ctx, e->ev);

	if (id)
		put_cstr(e, s, id);
	return s + 1;
}

/* event.type: Elastic Defend's one-element array, a function of event.action. */
static const struct ecs_step *hk_event_type(struct enc *e, const struct ecs_step *s)
{
	const char *t = ks_event_type_name(e->ev->action);

	if (!t)
		return s + 1;
	ks_jw_arr_k(out(e), s->key, s->klen);
	ks_jw_cstr(out(e), NULL, t);
	ks_jw_end(out(e), ']');
	return s + 1;
}

/* host.name: a replayed record's own, else this host's (no event member). */
static const struct ecs_step *hk_host_name(struct enc *e, const struct ecs_step *s)
{
	put_cstr(e, s, ks_ecs_event_host(e->ctx, e->ev));
	return s + 1;
}

/* host.os.type: a constant (Kestrel runs on Linux). */
static const struct ecs_step *hk_os_type(struct enc *e, const struct ecs_step *s)
{
	ks_jw_str_k(out(e), s->key, s->klen, KS_HOST_OS_TYPE, strlen(KS_HOST_OS_TYPE));
	return s + 1;
}

/* The catalogue's entries of the string fields cut in ev (all, or the paths). */
static size_t cut_fields(const struct ks_event *ev, bool paths,
			 const struct ks_field_info *out[KS_F_STR_N])
{
	const struct ks_field_info *fi;
	unsigned int f;
	size_t n = 0;

	for (f = KS_F_NONE + 1; f < KS_F_STR_N; f++)
		if (ev->truncated & (1u << f) && (fi = ks_field_by_id(f)) &&
		    (!paths || ks_ecs_is_path(f)))
			out[n++] = fi;
	return n;
}

/* kestrel.cut_head: where the head of each cut path ends, by field name. */
static const struct ecs_step *hk_cut_head(struct enc *e, const struct ecs_step *s)
{
	const struct ks_field_info *cut[KS_F_STR_N];
	size_t n = e->ev->truncated ? cut_fields(e->ev, true, cut) : 0, i;

	if (!n)
		return s + 1;
	qsort(cut, n, sizeof(cut[0]), name_cmp);
	ks_jw_obj_k(out(e), s->key, s->klen);
	for (i = 0; i < n; i++)
		ks_jw_int(out(e), cut[i]->name, e->ev->cut_head[KS_PATH_IDX(cut[i]->id)]);
	ks_jw_end(out(e), '}');
	return s + 1;
}

/* kestrel.truncated: the names of the fields cut, in field order. */
static const struct ecs_step *hk_truncated(struct enc *e, const struct ecs_step *s)
{
	const struct ks_field_info *cut[KS_F_STR_N];
	size_t n = e->ev->truncated ? cut_fields(e->ev, false, cut) : 0, i;

	if (!n)
		return s + 1;
	ks_jw_arr_k(out(e), s->key, s->klen);
	for (i = 0; i < n; i++)
		ks_jw_cstr(out(e), NULL, cut[i]->name);
	ks_jw_end(out(e), ']');
	return s + 1;
}

/* observer.ingress.interface.id: the ifindex, which no rule tests. */
static const struct ecs_step *hk_ifindex(struct enc *e, const struct ecs_step *s)
{
	if (e->ev->ifindex)
		ks_jw_int_k(out(e), s->key, s->klen, e->ev->ifindex);
	return s + 1;
}

/* process.args with args_count and command_line: three members of one slot. */
static const struct ecs_step *hk_args(struct enc *e, const struct ecs_step *s)
{
	put_args(e);
	return s + 1;
}

/*
 * process.entry_leader.entry_meta.type: "container" for a process in a
 * pid namespace other than the host's (the parser's rewrite of a test of
 * it, compare.c); of a host process Kestrel cannot tell which of
 * Defend's other kinds it is, so it writes none.
 */
static const struct ecs_step *hk_entry_meta(struct enc *e, const struct ecs_step *s)
{
	if (e->ev->pid_ns && e->ev->pid_ns != KS_PID_NS_HOST)
		put_cstr(e, s, "container");
	return s + 1;
}

/*
 * By full name; a NULL fn: the member is written by another hook. Names
 * the catalogue does not have are members only the encoder writes. slot:
 * a string field whose KS_P_* bit the hook needs to write anything;
 * always: it writes its member for every event; z: its guard, if any.
 */
const struct ecs_hook ks_ecs_hooks[] = {
	{ "@timestamp", hk_timestamp, .always = true },
	{ "container.id", hk_container },
	{ "event.type", hk_event_type },
	{ "host.name", hk_host_name, .always = true },
	{ "host.os.type", hk_os_type, .always = true },
	{ "kestrel.cut_head", hk_cut_head, .z = ECS_GUARD(truncated) },
	{ "kestrel.truncated", hk_truncated, .z = ECS_GUARD(truncated) },
	{ "observer.ingress.interface.id", hk_ifindex, .z = ECS_GUARD(ifindex) },
	{ "process.args", hk_args, KS_F_PROCESS_ARGS },
	{ "process.args_count", NULL },
	{ "process.command_line", NULL },
	{ "process.entry_leader.entry_meta.type", hk_entry_meta, .z = ECS_GUARD(pid_ns) },
};
const size_t ks_ecs_n_hooks = ARRAY_SIZE(ks_ecs_hooks);

/* ------------------------------------------------------------------ */
/* gates: objects written otherwise than "when a member is"           */

/* kestrel: an empty object when the truncation bits name no field */
static enum ecs_gate t_kestrel(const struct ks_event *ev)
{
	return ev->truncated ? G_FORCE : G_LAZY;
}

/*
 * source and destination: of a network event with an address or a port;
 * so no destination.domain of a DNS answer (a sinkhole's 0.0.0.0) is
 * written for an endpoint that has neither.
 */
static enum ecs_gate t_source(const struct ks_event *ev)
{
	return !ks_ecs_ip_is_zero(ev->saddr) || ev->sport ? G_LAZY : G_SKIP;
}

static enum ecs_gate t_dest(const struct ks_event *ev)
{
	return !ks_ecs_ip_is_zero(ev->daddr) || ev->dport ? G_LAZY : G_SKIP;
}

/* observer.ingress.interface without its name: when there is an ifindex */
static enum ecs_gate t_ifindex(const struct ks_event *ev)
{
	return ev->ifindex ? G_FORCE : G_SKIP;
}

/*
 * An object's gate: with one of bits in the mask (or no bits), with;
 * else without. event: always, even when the action and category have no
 * name; file: the file's names, or a rename's source under
 * file.Ext.original; network.*: of a network event only; the parent's
 * ids only with the parent; the leaders (their pids are null while 0,
 * whatever present says): with the process.
 */
const struct ecs_gate_def ks_ecs_gates[] = {
	{ "destination", KS_P_NET, G_TEST, G_SKIP, t_dest },
	{ "event", 0, G_FORCE },
	{ "file", KS_P_FILE | KS_P_ORIG, G_FORCE, G_SKIP },
	{ "file.Ext.original", KS_P_ORIG, G_FORCE, G_SKIP },
	{ "kestrel", 0, G_TEST, G_TEST, t_kestrel, ECS_GUARD(truncated) },
	{ "network", KS_P_NET, G_LAZY, G_SKIP },
	{ "observer.ingress.interface", KS_P_IFACE, G_FORCE, G_TEST, t_ifindex, ECS_GUARD(ifindex) },
	{ "process.entry_leader", KS_P_PROCESS, G_LAZY, G_SKIP },
	{ "process.parent", KS_P_PARENT, G_LAZY, G_SKIP },
	{ "process.session_leader", KS_P_PROCESS, G_LAZY, G_SKIP },
	{ "source", KS_P_NET, G_TEST, G_SKIP, t_source },
};
const size_t ks_ecs_n_gates = ARRAY_SIZE(ks_ecs_gates);

/* An object written even empty: now, after the objects it is in. */
static inline const struct ecs_step *o_force(struct enc *e, const struct ecs_step *s)
{
	ks_jw_obj_k(out(e), s->key, s->klen);
	return s + 1;
}

/* An object written with its first member (out()), if any. */
static inline const struct ecs_step *o_lazy(struct enc *e, const struct ecs_step *s)
{
	e->pend[e->n_pend++] = s;
	return s + 1;
}

/* An object the event's values decide: left out (past its end), lazy or forced. */
static const struct ecs_step *o_test(struct enc *e, const struct ecs_step *s)
{
	switch (s->test(e->ev)) {
	case G_FORCE:
		return o_force(e, s);
	case G_LAZY:
		return o_lazy(e, s);
	default:
		return s + s->skip;
	}
}

/*
 * An object's end. Objects not written yet are the innermost ones
 * entered: if there are any, this is one, with nothing in it.
 */
static inline const struct ecs_step *o_close(struct enc *e, const struct ecs_step *s)
{
	if (e->n_pend)
		e->n_pend--;
	else
		ks_jw_end(e->jw, '}');
	return s + 1;
}

/* An object whose guards are all 0 is passed over: it would write nothing. */
static inline const struct ecs_step *o_zero(struct enc *e, const struct ecs_step *s)
{
	const struct ecs_zword *g = e->guards + s->zero.first, *end = g + s->zero.n;
	uint64_t x = 0, y;

	for (; g < end; g++) {
		memcpy(&y, (const char *)e->ev + g->off, sizeof(y));
		x |= y & g->mask;
	}
	return x ? s + 1 : s + s->skip;
}

const ecs_step_fn ks_ecs_writers[EW_N] = {
	[EW_NUM] = w_num, [EW_NUM_NZ] = w_num_nz, [EW_ENUM] = w_enum, [EW_ENUM_NZ] = w_enum_nz,
	[EW_CAPS] = w_caps, [EW_STR] = w_str, [EW_PATH] = w_path, [EW_STR_OPT] = w_str_opt,
	[EW_ENTITY] = w_entity, [EW_IP] = w_ip, [EW_USER_NUM] = w_user_num,
	[EW_USER_BOOL] = w_user_bool, [EW_USER_STR] = w_user_str, [EW_USER_ARR] = w_user_arr,
	[EW_TEST] = o_test,
};

/* One step, the objects' own done here (no call). */
static inline const struct ecs_step *step(struct enc *e, const struct ecs_step *s)
{
	switch (s->op) {
	case S_ZERO: return o_zero(e, s);
	case S_LAZY: return o_lazy(e, s);
	case S_FORCE: return o_force(e, s);
	case S_CLOSE: return o_close(e, s);
	default: return s->fn(e, s);
	}
}

void ks_ecs_event_json(struct ks_ecs_ctx *ctx, struct ks_jw *w, const struct ks_event *ev)
{
	struct enc e = { ctx, w, ev };
	const struct ecs_step *s, *end;
	const struct ecs_plan *p;
	struct ecs_plan *own;

	p = ks_ecs_plan(ev, &own);
	if (!p) {
		w->oom = true;
		return;
	}
	e.guards = p->guards;
	ks_jw_obj(w, NULL);
	for (s = p->steps, end = s + p->n; s < end;)
		s = step(&e, s);
	ks_jw_end(w, '}');
	free(own);
}
