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
 * The members come from the field catalogue (maps/ks_fields.h,
 * rules-compiler/fields.c, loader/ecs_user.c): at first use the dotted
 * names are sorted into a plan, an object node before its members, each
 * member with its writer (a number, an enum's name, a capability set, a
 * string slot, an entity id, an address, an enriched field). A plain
 * kernel or enriched field added to the catalogue prints with no change
 * here (tests/test_ecs_fields.c checks that every field prints). What is
 * written here by name: the hooks (members that are no plain field, or
 * several at once), the gates (objects printed otherwise than "when one
 * of their members is") and the numbers and strings whose 0 or "" prints
 * as nothing.
 *
 * Events are printed from that plan narrowed to their presence mask
 * (ev->present, and whether the event was replayed): what the mask
 * decides (a member's KS_P_* bit, an object's gate, the writer's
 * variant) is decided once per mask, and the event walks a flat list
 * of steps, each a writer with its key and key length. The lists are
 * cached (a few masks in practice); alerts are the NFA bench's hot path,
 * and the hand-written encoder before this one was that fast.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/json.h"
#include "kestrel/names.h"
#include "kestrel/rules.h"
#include "ecs_int.h"

#define PLAN_DEPTH	8

struct enc;
struct step;

/* A step: writes its member (or enters or leaves an object); returns the next step. */
typedef const struct step *(*step_fn)(struct enc *e, const struct step *s);

/*
 * How an object is written: G_SKIP leaves it and its members out, G_LAZY
 * writes it when one of its members is written, G_FORCE writes it even
 * empty (the jansson encoder before this one created it, then its
 * members), G_TEST asks the event (its values, not its presence mask).
 */
enum gate { G_SKIP, G_LAZY, G_FORCE, G_TEST };

/*
 * What a step does: call its writer, or an object's opening (lazy or
 * forced) and end, which the walk does itself (a call each was a third
 * of the steps of an event, and more than the hand-written encoder's
 * branches they stand for).
 */
enum step_op { S_CALL, S_LAZY, S_FORCE, S_CLOSE, S_ZERO };

/*
 * Event bytes [off, off + len) which, all 0, make a member write nothing
 * (a number null while 0, an entity key, a string's offset); an object
 * whose members all have them, with its gate's, is passed over in one
 * test of them (S_ZERO), as the hand-written encoder's tests did.
 */
struct guard {
	uint16_t off;
	uint8_t len;
};

/* A guard as the walk reads it: the 8 bytes at off, of which mask's count. */
struct zword {
	uint64_t mask;
	uint16_t off;
};

#define GUARD(member)							\
	{ offsetof(struct ks_event, member), sizeof(((struct ks_event *)0)->member) }

struct step {
	step_fn fn;		/* S_CALL */
	const char *key;	/* the name's last component, klen bytes */
	uint16_t klen;
	uint16_t skip;		/* an object's opening: steps to past its end */
	bool always;		/* a member written whenever its step is in the plan */
	uint8_t op;		/* enum step_op */
	unsigned int id;	/* enum ks_field; an enriched field: KS_ECS_U_* */
	union {
		const struct ks_field_info *f;			/* members */
		enum gate (*test)(const struct ks_event *ev);	/* G_TEST objects */
		struct { uint16_t first, n; } zero;		/* S_ZERO: guards[] */
	};
};

struct enc {
	struct ks_ecs_ctx *ctx;
	struct ks_jw *jw;	/* through out() */
	const struct ks_event *ev;
	const struct zword *guards;	/* the plan's */
	/* objects entered but not written yet: written with their first member */
	const struct step *pend[PLAN_DEPTH];
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

/* A replayed event: enriched fields other than host.id and destination.domain print. */
#define HAS_REPLAY	(1ull << 32)

static void put_cstr(struct enc *e, const struct step *s, const char *v)
{
	ks_jw_str_k(out(e), s->key, s->klen, v, strlen(v));
}

/* A cut path p[0..len) as head "..." tail. */
static __attribute__((noinline)) void put_cut(struct enc *e, const struct step *s,
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
static inline void put_ref(struct enc *e, const struct step *s, bool path)
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
static const struct step *w_num(struct enc *e, const struct step *s)
{
	__s64 v = 0;

	ks_event_num(e->ev, s->id, &v);
	ks_jw_int_k(out(e), s->key, s->klen, v);
	return s + 1;
}

/* A number that is null while 0 (maps/ks_fields.h, or zero_none()). */
static const struct step *w_num_nz(struct enc *e, const struct step *s)
{
	__s64 v = 0;

	ks_event_num(e->ev, s->id, &v);
	if (v)
		ks_jw_int_k(out(e), s->key, s->klen, v);
	return s + 1;
}

/* An enum's name; a number without one (a protocol) as its decimal text. */
static void put_enum(struct enc *e, const struct step *s, __s64 v)
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

static const struct step *w_enum(struct enc *e, const struct step *s)
{
	__s64 v = 0;

	ks_event_num(e->ev, s->id, &v);
	put_enum(e, s, v);
	return s + 1;
}

static const struct step *w_enum_nz(struct enc *e, const struct step *s)
{
	__s64 v = 0;

	ks_event_num(e->ev, s->id, &v);
	if (v)
		put_enum(e, s, v);
	return s + 1;
}

/* A capability set as Elastic Defend writes it: the names of its bits; empty: null. */
static const struct step *w_caps(struct enc *e, const struct step *s)
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

static const struct step *w_str(struct enc *e, const struct step *s)
{
	put_ref(e, s, false);
	return s + 1;
}

/* A path, which may have been cut. */
static const struct step *w_path(struct enc *e, const struct step *s)
{
	put_ref(e, s, true);
	return s + 1;
}

/* A string whose "" is no value (empty_none()). */
static const struct step *w_str_opt(struct enc *e, const struct step *s)
{
	if (e->ev->str[s->id].len)
		put_ref(e, s, ks_ecs_is_path(s->id));
	return s + 1;
}

/* An entity id, from the key and the pid and start time it was made of. */
static const struct step *w_entity(struct enc *e, const struct step *s)
{
	__u64 start;
	__u32 pid;

	ks_event_entity_parts(e->ev, s->id, &pid, &start);
	put_entity(e, ks_event_entity(e->ev, s->id), pid, start);
	return s + 1;
}

/* source.ip, destination.ip: none while all 0 */
static const struct step *w_ip(struct enc *e, const struct step *s)
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
static inline bool user_val(struct enc *e, const struct step *s, const char **v, size_t *len)
{
	return ks_ecs_user_str_i(e->ctx, s->id, s->f, e->ev, v, len);
}

static const struct step *w_user_num(struct enc *e, const struct step *s)
{
	const char *v;
	size_t len;

	if (user_val(e, s, &v, &len))
		ks_jw_int_k(out(e), s->key, s->klen, strtoll(v, NULL, 10));
	return s + 1;
}

static const struct step *w_user_bool(struct enc *e, const struct step *s)
{
	const char *v;
	size_t len;

	if (user_val(e, s, &v, &len))
		ks_jw_raw_k(out(e), s->key, s->klen, len == 4 ? "true" : "false");
	return s + 1;
}

static const struct step *w_user_str(struct enc *e, const struct step *s)
{
	const char *v;
	size_t len;

	if (user_val(e, s, &v, &len))
		ks_jw_str_k(out(e), s->key, s->klen, v, len);
	return s + 1;
}

static const struct step *w_user_arr(struct enc *e, const struct step *s)
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

static const struct step *hk_timestamp(struct enc *e, const struct step *s)
{
	char ts[KS_ECS_TIME_LEN];

	ks_ecs_format_time(e->ev->ts_ns, ts);	/* always as long */
	ks_jw_str_k(out(e), s->key, s->klen, ts, KS_ECS_TIME_LEN - 1);
	return s + 1;
}

/* container.id: derived from the cgroup (loader/container.c), no member. */
static const struct step *hk_container(struct enc *e, const struct step *s)
{
	const char *id = ks_ecs_container(e->ctx, e->ev);

	if (id)
		put_cstr(e, s, id);
	return s + 1;
}

/* event.type: Elastic Defend's one-element array, a function of event.action. */
static const struct step *hk_event_type(struct enc *e, const struct step *s)
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
static const struct step *hk_host_name(struct enc *e, const struct step *s)
{
	put_cstr(e, s, ks_ecs_event_host(e->ctx, e->ev));
	return s + 1;
}

/* host.os.type: a constant (Kestrel runs on Linux). */
static const struct step *hk_os_type(struct enc *e, const struct step *s)
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
static const struct step *hk_cut_head(struct enc *e, const struct step *s)
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
static const struct step *hk_truncated(struct enc *e, const struct step *s)
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
static const struct step *hk_ifindex(struct enc *e, const struct step *s)
{
	if (e->ev->ifindex)
		ks_jw_int_k(out(e), s->key, s->klen, e->ev->ifindex);
	return s + 1;
}

/* process.args with args_count and command_line: three members of one slot. */
static const struct step *hk_args(struct enc *e, const struct step *s)
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
static const struct step *hk_entry_meta(struct enc *e, const struct step *s)
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
static const struct hook {
	const char *name;
	step_fn fn;
	unsigned int slot;
	bool always;
	struct guard z;
} hooks[] = {
	{ "@timestamp", hk_timestamp, .always = true },
	{ "container.id", hk_container },
	{ "event.type", hk_event_type },
	{ "host.name", hk_host_name, .always = true },
	{ "host.os.type", hk_os_type, .always = true },
	{ "kestrel.cut_head", hk_cut_head, .z = GUARD(truncated) },
	{ "kestrel.truncated", hk_truncated, .z = GUARD(truncated) },
	{ "observer.ingress.interface.id", hk_ifindex, .z = GUARD(ifindex) },
	{ "process.args", hk_args, KS_F_PROCESS_ARGS },
	{ "process.args_count", NULL },
	{ "process.command_line", NULL },
	{ "process.entry_leader.entry_meta.type", hk_entry_meta, .z = GUARD(pid_ns) },
};

/* ------------------------------------------------------------------ */
/* gates: objects written otherwise than "when a member is"           */

/* kestrel: an empty object when the truncation bits name no field */
static enum gate t_kestrel(const struct ks_event *ev)
{
	return ev->truncated ? G_FORCE : G_LAZY;
}

/*
 * source and destination: of a network event with an address or a port;
 * so no destination.domain of a DNS answer (a sinkhole's 0.0.0.0) is
 * written for an endpoint that has neither.
 */
static enum gate t_source(const struct ks_event *ev)
{
	return !ks_ecs_ip_is_zero(ev->saddr) || ev->sport ? G_LAZY : G_SKIP;
}

static enum gate t_dest(const struct ks_event *ev)
{
	return !ks_ecs_ip_is_zero(ev->daddr) || ev->dport ? G_LAZY : G_SKIP;
}

/* observer.ingress.interface without its name: when there is an ifindex */
static enum gate t_ifindex(const struct ks_event *ev)
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
static const struct gate_def {
	const char *path;
	unsigned int bits;	/* KS_P_* */
	unsigned char with, without;	/* enum gate */
	enum gate (*test)(const struct ks_event *ev);	/* for G_TEST */
	/* G_TEST: the bytes whose 0 keeps the test from forcing the
	 * object (len 0: it never does) */
	struct guard z;
} gates[] = {
	{ "destination", KS_P_NET, G_TEST, G_SKIP, t_dest },
	{ "event", 0, G_FORCE },
	{ "file", KS_P_FILE | KS_P_ORIG, G_FORCE, G_SKIP },
	{ "file.Ext.original", KS_P_ORIG, G_FORCE, G_SKIP },
	{ "kestrel", 0, G_TEST, G_TEST, t_kestrel, GUARD(truncated) },
	{ "network", KS_P_NET, G_LAZY, G_SKIP },
	{ "observer.ingress.interface", KS_P_IFACE, G_FORCE, G_TEST, t_ifindex, GUARD(ifindex) },
	{ "process.entry_leader", KS_P_PROCESS, G_LAZY, G_SKIP },
	{ "process.parent", KS_P_PARENT, G_LAZY, G_SKIP },
	{ "process.session_leader", KS_P_PROCESS, G_LAZY, G_SKIP },
	{ "source", KS_P_NET, G_TEST, G_SKIP, t_source },
};

/* An object written even empty: now, after the objects it is in. */
static inline const struct step *o_force(struct enc *e, const struct step *s)
{
	ks_jw_obj_k(out(e), s->key, s->klen);
	return s + 1;
}

/* An object written with its first member (out()), if any. */
static inline const struct step *o_lazy(struct enc *e, const struct step *s)
{
	e->pend[e->n_pend++] = s;
	return s + 1;
}

/* An object the event's values decide: left out (past its end), lazy or forced. */
static const struct step *o_test(struct enc *e, const struct step *s)
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
static inline const struct step *o_close(struct enc *e, const struct step *s)
{
	if (e->n_pend)
		e->n_pend--;
	else
		ks_jw_end(e->jw, '}');
	return s + 1;
}

/* An object whose guards are all 0 is passed over: it would write nothing. */
static inline const struct step *o_zero(struct enc *e, const struct step *s)
{
	const struct zword *g = e->guards + s->zero.first, *end = g + s->zero.n;
	uint64_t x = 0, y;

	for (; g < end; g++) {
		memcpy(&y, (const char *)e->ev + g->off, sizeof(y));
		x |= y & g->mask;
	}
	return x ? s + 1 : s + s->skip;
}

/*
 * Numbers whose 0 the encoder writes as no value, where the catalogue
 * (maps/ks_fields.h) calls them present: a port 0 is no port, protocol 0
 * no transport, a namespace id 0 one the kernel did not read (the last
 * written whatever present says).
 */
static bool zero_none(unsigned int id)
{
	return id == KS_F_SOURCE_PORT || id == KS_F_DEST_PORT || id == KS_F_TRANSPORT ||
	       id == KS_F_PID_NS || id == KS_F_MNT_NS || id == KS_F_NET_NS ||
	       id == KS_F_USER_NS;
}

/* Strings whose "" is no value: a file without an extension has none. */
static bool empty_none(unsigned int id)
{
	return id == KS_F_FILE_EXTENSION || id == KS_F_FILE_ORIG_EXT;
}

/* ------------------------------------------------------------------ */
/* the plan: every member of an event, in the order they print         */

enum wkind { W_NUM, W_ENUM, W_BITSET, W_STR, W_ENTITY, W_IP, W_USER, W_HOOK };

struct pnode {
	struct step s;		/* a member's step; an object's key */
	struct guard z;		/* a member's guard (len 0: none) */
	uint64_t req;		/* a member: the has bits without which it prints nothing */
	const struct gate_def *gate;	/* an object's; NULL: G_LAZY */
	uint16_t end;		/* an object: the index past its members */
	bool obj;
};

#define PLAN_MAX	256

static struct pnode plan[PLAN_MAX];
static size_t n_plan;
static uint64_t plan_bits;	/* the has bits any plan decision reads */
static char plan_keys[2048];	/* the objects' names, NUL-terminated */
static pthread_once_t plan_once = PTHREAD_ONCE_INIT;

/* One member to plan: its full name, writer, and hook or catalogue entry. */
struct pentry {
	const char *name;
	const struct hook *h;
	const struct ks_field_info *f;
	int kind;
	unsigned int id;
	uint64_t req;
};

/* jansson's JSON_SORT_KEYS order of members: strcmp per component */
static int path_cmp(const void *pa, const void *pb)
{
	const unsigned char *a = (const void *)((const struct pentry *)pa)->name;
	const unsigned char *b = (const void *)((const struct pentry *)pb)->name;

	for (; *a && *a == *b; a++, b++)
		;
	return (*a == '.' ? 1 : *a) - (*b == '.' ? 1 : *b);
}

/* How the catalogue's field f prints, or -1 if the encoder writes it not. */
static int field_kind(const struct ks_field_info *f, unsigned int *id)
{
	int u = ks_ecs_user_index(f);

	*id = f->id;
	if (u >= 0) {
		*id = (unsigned int)u;
		return W_USER;
	}
	/* other names of a kernel field (the first prints), and names no event carries */
	if (f->id == KS_F_NONE || ks_field_by_id(f->id) != f)
		return -1;
	switch (f->type) {
	case KS_T_NUM:
		return W_NUM;
	case KS_T_ENUM:
		return f->array ? W_BITSET : W_ENUM;
	case KS_T_STR:
		return W_STR;
	case KS_T_ENTITY:
		return W_ENTITY;
	case KS_T_IP:
		return W_IP;
	default:
		return -1;
	}
}

static const struct hook *hook_of(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hooks); i++)
		if (!strcmp(hooks[i].name, name))
			return &hooks[i];
	return NULL;
}

/* Is kernel number id null while 0, whatever present says (maps/ks_fields.h)? */
static bool null_while_zero(unsigned int id)
{
	switch (id) {
#define KS_FIELD_CASE(id_, name, type, member, pbit, nonzero, lo, hi)	\
	case id_:							\
		return nonzero;
	KS_NUM_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
	}
	return false;
}

/*
 * The enc.has bits member p needs to print anything: its KS_P_* bit (not
 * for a number the catalogue or zero_none() calls null while 0), and
 * HAS_REPLAY for the enriched fields printed of replayed events only.
 */
static uint64_t member_req(const struct pentry *p)
{
	switch (p->kind) {
	case W_USER:
		return p->f->present | (p->id == KS_ECS_U_HOST_ID ||
					p->id == KS_ECS_U_DEST_DOMAIN ? 0 : HAS_REPLAY);
	case W_NUM:
	case W_ENUM:
	case W_BITSET:
		if (null_while_zero(p->id) || zero_none(p->id))
			return 0;
		/* fallthrough */
	default:
		return p->f->present;
	}
}

/* The hooks, and the catalogue's fields without one. */
static size_t plan_entries(struct pentry *v, size_t max)
{
	const struct ks_field_info *f;
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(hooks) && n < max; i++)
		if (hooks[i].fn)
			v[n++] = (struct pentry){ hooks[i].name, &hooks[i], NULL, W_HOOK, 0,
						  ks_str_present_bit(hooks[i].slot) };
	for (i = 0; (f = ks_field_at(i)) && n < max; i++) {
		v[n] = (struct pentry){ f->name, NULL, f };
		if (hook_of(f->name) || (v[n].kind = field_kind(f, &v[n].id)) < 0)
			continue;
		v[n].req = member_req(&v[n]);
		n++;
	}
	qsort(v, n, sizeof(*v), path_cmp);
	return n;
}

static const struct gate_def *gate_of(const char *path, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(gates); i++)
		if (!strncmp(gates[i].path, path, len) && !gates[i].path[len])
			return &gates[i];
	return NULL;
}

/* An object node for name[0..len), its key the last component. */
static bool plan_obj(const char *name, size_t len, size_t *kused)
{
	size_t k = len, klen;

	while (k && name[k - 1] != '.')
		k--;
	klen = len - k;

	if (n_plan >= PLAN_MAX || *kused + klen + 1 > sizeof(plan_keys))
		return false;
	memcpy(plan_keys + *kused, name + k, klen);
	plan_keys[*kused + klen] = 0;
	plan[n_plan] = (struct pnode){ .obj = true, .gate = gate_of(name, len) };
	plan[n_plan].s.key = plan_keys + *kused;
	plan[n_plan++].s.klen = (uint16_t)klen;
	*kused += klen + 1;
	return true;
}

/* An enriched field's writer, by the kind of its values. */
static step_fn user_writer(const struct ks_field_info *f)
{
	if (f->type == KS_T_NUM)
		return w_user_num;
	if (f->boolean)
		return w_user_bool;
	return f->array ? w_user_arr : w_user_str;
}

/* Member p's writer: its kind, and what its 0 or "" means. */
static step_fn leaf_writer(const struct pentry *p)
{
	bool nz = p->kind <= W_BITSET && (null_while_zero(p->id) || zero_none(p->id));

	switch (p->kind) {
	case W_HOOK:
		return p->h->fn;
	case W_NUM:
		return nz ? w_num_nz : w_num;
	case W_ENUM:
		return nz ? w_enum_nz : w_enum;
	case W_BITSET:
		return w_caps;
	case W_STR:
		return empty_none(p->id) ? w_str_opt : ks_ecs_is_path(p->id) ? w_path : w_str;
	case W_ENTITY:
		return w_entity;
	case W_IP:
		return w_ip;
	default:
		return user_writer(p->f);
	}
}

/* Where kernel number or entity id is in struct ks_event (maps/ks_fields.h). */
static struct guard field_bytes(unsigned int id)
{
	switch (id) {
#define KS_FIELD_CASE(id_, name, type, member, ...)			\
	case id_:							\
		return (struct guard)GUARD(member);
	KS_NUM_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
#define KS_FIELD_CASE(id_, key, pid, start)				\
	case id_:							\
		return (struct guard)GUARD(key);
	KS_ENTITY_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
	}
	return (struct guard){ 0 };
}

/* Member p's guard: the bytes whose 0 leaves it null. */
static struct guard leaf_guard(const struct pentry *p, step_fn fn)
{
	switch (p->kind) {
	case W_HOOK:
		return p->h->z;
	case W_STR:	/* ks_ecs_ref_bytes(): no bytes at offset 0 */
		return (struct guard){ offsetof(struct ks_event, str) +
				       p->id * sizeof(struct ks_strref) +
				       offsetof(struct ks_strref, off), sizeof(__u16) };
	case W_ENTITY:
		return field_bytes(p->id);
	case W_IP:
		return p->id == KS_F_SOURCE_IP ? (struct guard)GUARD(saddr) :
						 (struct guard)GUARD(daddr);
	case W_USER:
		return (struct guard){ 0 };
	default:	/* numbers: those null while 0 */
		return fn == w_num ? (struct guard){ 0 } : field_bytes(p->id);
	}
}

static bool plan_leaf(const struct pentry *p)
{
	struct pnode *n = &plan[n_plan];
	const char *dot = strrchr(p->name, '.');

	if (n_plan >= PLAN_MAX)
		return false;
	*n = (struct pnode){ .req = p->req };
	n->s = (struct step){ .fn = leaf_writer(p), .key = dot ? dot + 1 : p->name,
			      .id = p->id, .f = p->f };
	n->s.klen = (uint16_t)strlen(n->s.key);
	n->s.always = p->h ? p->h->always : n->s.fn == w_num;
	n->z = leaf_guard(p, n->s.fn);
	plan_bits |= p->req;
	n_plan++;
	return true;
}

/*
 * The plan, built once from the sorted names: an object node before its
 * members (end: past them) for each name component that is an object.
 * A plan that does not fit stays empty (every event prints "{}"; the
 * unit tests fail).
 */
static void plan_build(void)
{
	struct pentry v[PLAN_MAX];
	size_t open[PLAN_DEPTH], plen[PLAN_DEPTH], depth = 0, kused = 0, n, i;
	const char *prev = "", *name, *dot;

	for (i = 0; i < ARRAY_SIZE(gates); i++)
		plan_bits |= gates[i].bits;
	n = plan_entries(v, ARRAY_SIZE(v));
	for (i = 0; i < n; i++) {
		name = v[i].name;
		while (depth && (strncmp(name, prev, plen[depth - 1]) ||
				 name[plen[depth - 1]] != '.'))
			plan[open[--depth]].end = (uint16_t)n_plan;
		for (dot = name + (depth ? plen[depth - 1] + 1 : 0);
		     (dot = strchr(dot, '.')); dot++) {
			if (depth >= PLAN_DEPTH || !plan_obj(name, (size_t)(dot - name), &kused))
				goto full;
			open[depth] = n_plan - 1;
			plen[depth++] = (size_t)(dot - name);
		}
		if (!plan_leaf(&v[i]))
			goto full;
		prev = name;
	}
	while (depth)
		plan[open[--depth]].end = (uint16_t)n_plan;
	return;
full:
	n_plan = 0;
}

/* ------------------------------------------------------------------ */
/* the plan of one presence mask, cached                               */

struct mplan {
	uint64_t has;
	size_t n, n_guards;
	struct zword *guards;	/* after the steps: at most two per plan node */
	struct step steps[];	/* at most three per plan node */
};

/* Guard z as words of 8 bytes in the event, masked (in either byte order). */
static void add_guard(struct mplan *c, struct guard z)
{
	size_t off = z.off, len, base;
	struct zword *w;

	for (; z.len; z.len -= (uint8_t)len, off += len) {
		len = z.len < 8 ? z.len : 8;
		base = off + 8 <= sizeof(struct ks_event) ? off : sizeof(struct ks_event) - 8;
		w = &c->guards[c->n_guards++];
		w->off = (uint16_t)base;
		w->mask = 0;
		memset((char *)&w->mask + (off - base), 0xff, len);
	}
}

/* An object's gate for the mask has. */
static enum gate gate_at(const struct gate_def *g, uint64_t has)
{
	if (!g)
		return G_LAZY;
	return !g->bits || has & g->bits ? g->with : g->without;
}

/* What compile() says of the steps it wrote: */
#define C_WRITES	1u	/* they always write something */
#define C_GUARDED	2u	/* they write nothing while their guards are 0 */

static unsigned int compile(struct mplan *c, uint64_t has, size_t i, size_t end);

static unsigned int compile_leaf(struct mplan *c, const struct pnode *n)
{
	c->steps[c->n++] = n->s;
	if (!n->z.len)
		return n->s.always ? C_WRITES : 0;
	add_guard(c, n->z);
	return C_GUARDED;
}

/*
 * Object plan[i] for has: its opening as its gate says (none if left
 * out; forced if a member always writes), its members, its end; an
 * object written only with a member, and none left, is left out. Before
 * the opening, if the object can write nothing while its members' and
 * gate's guards are 0 (they are its guards[], a run of the plan's), an
 * S_ZERO step.
 */
static unsigned int compile_obj(struct mplan *c, uint64_t has, size_t i)
{
	const struct pnode *n = &plan[i];
	enum gate g = gate_at(n->gate, has);
	size_t at = c->n, g0 = c->n_guards, o;
	unsigned int r;

	if (g == G_SKIP)
		return C_GUARDED;
	if (g == G_TEST && n->gate->z.len)
		add_guard(c, n->gate->z);
	c->n += 2;	/* S_ZERO, the opening */
	r = compile(c, has, i + 1, n->end);
	if (g == G_LAZY && c->n == at + 2) {
		c->n = at;
		c->n_guards = g0;
		return C_GUARDED;
	}
	if (g == G_TEST)
		r &= C_GUARDED;	/* the test may leave it out */
	else if (g == G_FORCE || r & C_WRITES)
		r = C_WRITES;
	c->steps[c->n++] = (struct step){ .op = S_CLOSE };
	if (!(r & C_GUARDED)) {
		memmove(&c->steps[at], &c->steps[at + 1], (c->n - at - 1) * sizeof(c->steps[0]));
		c->n--;
	} else {
		c->steps[at] = (struct step){ .op = S_ZERO, .skip = (uint16_t)(c->n - at),
					      .zero = { (uint16_t)g0, (uint16_t)(c->n_guards - g0) } };
	}
	o = r & C_GUARDED ? at + 1 : at;
	c->steps[o] = n->s;
	c->steps[o].op = r & C_WRITES ? S_FORCE : g == G_LAZY ? S_LAZY : S_CALL;
	c->steps[o].skip = (uint16_t)(c->n - o);
	if (g == G_TEST) {
		c->steps[o].fn = o_test;
		c->steps[o].test = n->gate->test;
	}
	return r;
}

/* The steps of plan[i..end) for has: objects, and the members it does not leave null. */
static unsigned int compile(struct mplan *c, uint64_t has, size_t i, size_t end)
{
	unsigned int r = C_GUARDED, x;

	for (; i < end; i = plan[i].obj ? plan[i].end : i + 1) {
		if (plan[i].obj)
			x = compile_obj(c, has, i);
		else if ((has & plan[i].req) == plan[i].req)
			x = compile_leaf(c, &plan[i]);
		else
			continue;
		r = (r & x & C_GUARDED) | ((r | x) & C_WRITES);
	}
	return r;
}

static struct mplan *mplan_new(uint64_t has)
{
	size_t steps = 3 * n_plan * sizeof(struct step);
	struct mplan *c = malloc(sizeof(*c) + steps + 2 * n_plan * sizeof(struct zword));

	if (!c)
		return NULL;
	c->has = has;
	c->n = c->n_guards = 0;
	c->guards = (struct zword *)((char *)c->steps + steps);
	compile(c, has, 0, n_plan);
	return c;
}

/*
 * The cache: open addressing by mask, entries written once under the
 * lock and read without it. Kept to CACHE_MAX plans (events the ring
 * buffer handed over with any bits could make thousands): past them an
 * event's plan is made for it, and freed.
 */
#define CACHE_SLOTS	256
#define CACHE_MAX	128

static struct mplan *cache[CACHE_SLOTS];
static size_t n_cached;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct mplan *cache_find(uint64_t has, size_t *slot)
{
	size_t i = (size_t)((has * 0x9e3779b97f4a7c15ull) >> 56), k;
	const struct mplan *p;

	*slot = i;
	for (k = 0; k < CACHE_SLOTS; k++, i = (i + 1) % CACHE_SLOTS) {
		p = __atomic_load_n(&cache[i], __ATOMIC_ACQUIRE);
		if (!p || p->has == has) {
			*slot = i;
			return p;
		}
	}
	return NULL;	/* not reached: the table is never full */
}

static const struct mplan *cache_add(uint64_t has)
{
	const struct mplan *p;
	struct mplan *c = NULL;
	size_t slot;

	pthread_mutex_lock(&cache_lock);
	p = cache_find(has, &slot);
	if (!p && n_cached < CACHE_MAX && (c = mplan_new(has))) {
		__atomic_store_n(&cache[slot], c, __ATOMIC_RELEASE);
		n_cached++;
		p = c;
	}
	pthread_mutex_unlock(&cache_lock);
	return p;
}

void ks_ecs_event_json(struct ks_ecs_ctx *ctx, struct ks_jw *w, const struct ks_event *ev)
{
	struct enc e = { ctx, w, ev };
	const struct mplan *p;
	const struct step *s, *end;
	struct mplan *own = NULL;
	uint64_t has = ev->present;
	size_t slot;

	pthread_once(&plan_once, plan_build);
	if (ev->source == KS_SRC_REPLAY)
		has |= HAS_REPLAY;
	has &= plan_bits;
	p = cache_find(has, &slot);
	if (!p && !(p = cache_add(has)) && !(p = own = mplan_new(has))) {
		w->oom = true;
		return;
	}
	e.guards = p->guards;
	ks_jw_obj(w, NULL);
	for (s = p->steps, end = s + p->n; s < end;) {
		switch (s->op) {
		case S_ZERO:
			s = o_zero(&e, s);
			break;
		case S_LAZY:
			s = o_lazy(&e, s);
			break;
		case S_FORCE:
			s = o_force(&e, s);
			break;
		case S_CLOSE:
			s = o_close(&e, s);
			break;
		default:
			s = s->fn(&e, s);
		}
	}
	ks_jw_end(w, '}');
	free(own);
}
