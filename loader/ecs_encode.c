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
 * string slot, an entity id, an address, an enriched field), and every
 * event walks it. A plain kernel or enriched field added to the
 * catalogue prints with no change here (tests/test_ecs_fields.c checks
 * that every field prints). What is written here by name: the hooks
 * (members that are no plain field, or several at once), the gates
 * (objects printed otherwise than "when one of their members is") and
 * the numbers and strings whose 0 or "" prints as nothing.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/json.h"
#include "kestrel/names.h"
#include "kestrel/rules.h"
#include "ecs_int.h"

#define PLAN_DEPTH	8

struct enc {
	struct ks_ecs_ctx *ctx;
	struct ks_jw *jw;	/* through out() */
	const struct ks_event *ev;
	uint64_t has;	/* ev->present, and HAS_REPLAY (the plan's member tests) */
	/* objects entered but not written yet: written with their first member */
	const char *pend[PLAN_DEPTH];
	unsigned int n_pend;
};

static void open_pending(struct enc *e)
{
	unsigned int i;

	for (i = 0; i < e->n_pend; i++)
		ks_jw_obj(e->jw, e->pend[i]);
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

/* A string field, a cut path as head "..." tail; nothing if out of the event. */
static void put_ref(struct enc *e, const char *key, unsigned int field)
{
	const struct ks_event *ev = e->ev;
	char buf[KS_PATH_MAX + 4];
	size_t len, h;
	const char *p = ks_ecs_ref_bytes(ev, field, &len);

	if (!p)
		return;
	if (!ks_ecs_is_path(field) || !(ev->truncated & (1u << field)) || len > KS_PATH_MAX) {
		ks_jw_str(out(e), key, p, len);
		return;
	}
	/* the head starts the slot the tail ends (none if that is not in the event) */
	h = ev->cut_head[KS_PATH_IDX(field)];
	if (h > KS_PATH_MAX - len)
		h = KS_PATH_MAX - len;
	if (p + len < (const char *)ev + KS_PATH_MAX)
		h = 0;
	memcpy(buf, p + len - KS_PATH_MAX, h);
	memcpy(buf + h, "...", 3);
	memcpy(buf + h + 3, p, len);
	ks_jw_str(out(e), key, buf, h + 3 + len);
}

static void put_entity(struct enc *e, uint64_t key, uint32_t pid, uint64_t start)
{
	const char *s = ks_ecs_intern_get(e->ctx, key);
	char buf[32];

	if (!key)
		return;
	ks_jw_cstr(out(e), "entity_id", s ?: ks_ecs_entity_pid_start(pid, start, buf));
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

/*
 * An enriched field (loader/ecs_user.c) under key: a replayed record's
 * own value, and host.id (read once) and destination.domain (a lookup
 * in memory) for a live event. Other live values are read from /proc
 * when a rule tests them, not for every event printed.
 */
static void put_user(struct enc *e, const char *key, unsigned int field)
{
	const struct ks_field_info *f = ks_ecs_user_info(field);
	const char *s, *end, *z;
	size_t len;

	if (e->ev->source != KS_SRC_REPLAY && field != KS_ECS_U_HOST_ID &&
	    field != KS_ECS_U_DEST_DOMAIN)
		return;
	if (!f || !ks_ecs_user_str(e->ctx, f, e->ev, &s, &len))
		return;
	if (f->type == KS_T_NUM) {	/* decimal text, as the decoder noted it */
		ks_jw_int(out(e), key, strtoll(s, NULL, 10));
		return;
	}
	if (f->boolean) {	/* "true" or "false" */
		ks_jw_raw(out(e), key, len == 4 ? "true" : "false");
		return;
	}
	if (!f->array) {
		ks_jw_str(out(e), key, s, len);
		return;
	}
	ks_jw_arr(out(e), key);	/* elements NUL-separated; none if empty */
	for (end = s + len; len && s <= end; s = z + 1) {
		z = memchr(s, 0, (size_t)(end - s));
		z = z ? z : end;
		ks_jw_str(out(e), NULL, s, (size_t)(z - s));
	}
	ks_jw_end(out(e), ']');
}

/* One capability set as Elastic Defend writes it: the names of its bits. */
static void put_caps(struct enc *e, const char *key, unsigned int field, uint64_t set)
{
	const char *name;
	unsigned int b;

	if (!set)
		return;	/* empty: null, as Defend's [] */
	ks_jw_arr(out(e), key);
	for (b = 0; b < 64; b++)
		if (set >> b & 1 && (name = ks_enum_name(field, b)))
			ks_jw_cstr(out(e), NULL, name);
	ks_jw_end(out(e), ']');
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct ks_field_info *const *)a)->name,
		      (*(const struct ks_field_info *const *)b)->name);
}

/* ------------------------------------------------------------------ */
/* hooks: the members that are no plain field of the catalogue       */

static void hk_timestamp(struct enc *e, const char *key)
{
	char ts[KS_ECS_TIME_LEN];

	ks_ecs_format_time(e->ev->ts_ns, ts);
	ks_jw_cstr(out(e), key, ts);
}

/* container.id: derived from the cgroup (loader/container.c), no member. */
static void hk_container(struct enc *e, const char *key)
{
	const char *id = ks_ecs_container(e->ctx, e->ev);

	if (id)
		ks_jw_cstr(out(e), key, id);
}

/* event.type: Elastic Defend's one-element array, a function of event.action. */
static void hk_event_type(struct enc *e, const char *key)
{
	const char *t = ks_event_type_name(e->ev->action);

	if (!t)
		return;
	ks_jw_arr(out(e), key);
	ks_jw_cstr(out(e), NULL, t);
	ks_jw_end(out(e), ']');
}

/* host.name: a replayed record's own, else this host's (no event member). */
static void hk_host_name(struct enc *e, const char *key)
{
	ks_jw_cstr(out(e), key, ks_ecs_event_host(e->ctx, e->ev));
}

/* host.os.type: a constant (Kestrel runs on Linux). */
static void hk_os_type(struct enc *e, const char *key)
{
	ks_jw_cstr(out(e), key, KS_HOST_OS_TYPE);
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
static void hk_cut_head(struct enc *e, const char *key)
{
	const struct ks_field_info *cut[KS_F_STR_N];
	size_t n = e->ev->truncated ? cut_fields(e->ev, true, cut) : 0, i;

	if (!n)
		return;
	qsort(cut, n, sizeof(cut[0]), name_cmp);
	ks_jw_obj(out(e), key);
	for (i = 0; i < n; i++)
		ks_jw_int(out(e), cut[i]->name, e->ev->cut_head[KS_PATH_IDX(cut[i]->id)]);
	ks_jw_end(out(e), '}');
}

/* kestrel.truncated: the names of the fields cut, in field order. */
static void hk_truncated(struct enc *e, const char *key)
{
	const struct ks_field_info *cut[KS_F_STR_N];
	size_t n = e->ev->truncated ? cut_fields(e->ev, false, cut) : 0, i;

	if (!n)
		return;
	ks_jw_arr(out(e), key);
	for (i = 0; i < n; i++)
		ks_jw_cstr(out(e), NULL, cut[i]->name);
	ks_jw_end(out(e), ']');
}

/* observer.ingress.interface.id: the ifindex, which no rule tests. */
static void hk_ifindex(struct enc *e, const char *key)
{
	if (e->ev->ifindex)
		ks_jw_int(out(e), key, e->ev->ifindex);
}

/* process.args with args_count and command_line: three members of one slot. */
static void hk_args(struct enc *e, const char *key)
{
	(void)key;
	if (e->ev->present & ks_str_present_bit(KS_F_PROCESS_ARGS))
		put_args(e);
}

/*
 * process.entry_leader.entry_meta.type: "container" for a process in a
 * pid namespace other than the host's (the parser's rewrite of a test of
 * it, compare.c); of a host process Kestrel cannot tell which of
 * Defend's other kinds it is, so it writes none.
 */
static void hk_entry_meta(struct enc *e, const char *key)
{
	if (e->ev->pid_ns && e->ev->pid_ns != KS_PID_NS_HOST)
		ks_jw_cstr(out(e), key, "container");
}

/*
 * By full name; a NULL fn: the member is written by another hook. Names
 * the catalogue does not have are members only the encoder writes.
 */
static const struct hook {
	const char *name;
	void (*fn)(struct enc *e, const char *key);
} hooks[] = {
	{ "@timestamp", hk_timestamp },
	{ "container.id", hk_container },
	{ "event.type", hk_event_type },
	{ "host.name", hk_host_name },
	{ "host.os.type", hk_os_type },
	{ "kestrel.cut_head", hk_cut_head },
	{ "kestrel.truncated", hk_truncated },
	{ "observer.ingress.interface.id", hk_ifindex },
	{ "process.args", hk_args },
	{ "process.args_count", NULL },
	{ "process.command_line", NULL },
	{ "process.entry_leader.entry_meta.type", hk_entry_meta },
};

/* ------------------------------------------------------------------ */
/* gates: objects written otherwise than "when a member is"           */

/*
 * An object's gate: G_SKIP leaves it and its members out, G_LAZY writes
 * it when one of its members is written, G_FORCE writes it even empty
 * (the jansson encoder before this one created it, then its members).
 */
enum gate { G_SKIP, G_LAZY, G_FORCE };

static enum gate gate_if(bool cond, enum gate yes)
{
	return cond ? yes : G_SKIP;
}

/* event: always, even when the action and category have no name */
static enum gate g_event(const struct enc *e)
{
	return G_FORCE;
}

/* file: the file's names, or a rename's source under file.Ext.original */
static enum gate g_file(const struct enc *e)
{
	return gate_if(e->ev->present & (KS_P_FILE | KS_P_ORIG), G_FORCE);
}

static enum gate g_orig(const struct enc *e)
{
	return gate_if(e->ev->present & KS_P_ORIG, G_FORCE);
}

/* kestrel: an empty object when the truncation bits name no field */
static enum gate g_kestrel(const struct enc *e)
{
	return e->ev->truncated ? G_FORCE : G_LAZY;
}

/* network.*: of a network event only */
static enum gate g_network(const struct enc *e)
{
	return gate_if(e->ev->present & KS_P_NET, G_LAZY);
}

/*
 * source and destination: of a network event with an address or a port;
 * so no destination.domain of a DNS answer (a sinkhole's 0.0.0.0) is
 * written for an endpoint that has neither.
 */
static enum gate g_source(const struct enc *e)
{
	return gate_if(e->ev->present & KS_P_NET &&
		       (!ks_ecs_ip_is_zero(e->ev->saddr) || e->ev->sport), G_LAZY);
}

static enum gate g_dest(const struct enc *e)
{
	return gate_if(e->ev->present & KS_P_NET &&
		       (!ks_ecs_ip_is_zero(e->ev->daddr) || e->ev->dport), G_LAZY);
}

static enum gate g_iface(const struct enc *e)
{
	return gate_if(e->ev->present & KS_P_IFACE || e->ev->ifindex, G_FORCE);
}

/* process.parent.*: the parent's ids only with the parent */
static enum gate g_parent(const struct enc *e)
{
	return gate_if(e->ev->present & KS_P_PARENT, G_LAZY);
}

/* the leaders (their pids are null while 0, whatever present says): with the process */
static enum gate g_leader(const struct enc *e)
{
	return gate_if(e->ev->present & KS_P_PROCESS, G_LAZY);
}

static const struct {
	const char *path;
	enum gate (*fn)(const struct enc *e);
} gates[] = {
	{ "destination", g_dest },
	{ "event", g_event },
	{ "file", g_file },
	{ "file.Ext.original", g_orig },
	{ "kestrel", g_kestrel },
	{ "network", g_network },
	{ "observer.ingress.interface", g_iface },
	{ "process.entry_leader", g_leader },
	{ "process.parent", g_parent },
	{ "process.session_leader", g_leader },
	{ "source", g_source },
};

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

enum wkind { W_OBJ, W_NUM, W_ENUM, W_BITSET, W_STR, W_ENTITY, W_IP, W_USER, W_HOOK };

struct pnode {
	const char *key;	/* the name's last component */
	uint64_t req;		/* enc.has bits without which it prints nothing
				 * (an object: those of every member) */
	uint8_t kind;		/* enum wkind */
	bool none;		/* W_NUM, W_ENUM: 0 is no value; W_STR: "" is none */
	uint16_t end;		/* W_OBJ: the index past its members */
	unsigned int id;	/* enum ks_field; W_USER: KS_ECS_U_* */
	const struct ks_field_info *f;
	union {
		void (*hook)(struct enc *e, const char *key);
		enum gate (*gate)(const struct enc *e);
	};
};

#define PLAN_MAX	256

static struct pnode plan[PLAN_MAX];
static size_t n_plan;
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
 * HAS_REPLAY for the enriched fields put_user() prints of replayed
 * events only. None for hooks: each tests what it needs.
 */
static uint64_t member_req(const struct pentry *p)
{
	switch (p->kind) {
	case W_HOOK:
		return 0;
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
			v[n++] = (struct pentry){ hooks[i].name, &hooks[i], NULL, W_HOOK };
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

static enum gate (*gate_of(const char *path, size_t len))(const struct enc *e)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(gates); i++)
		if (!strncmp(gates[i].path, path, len) && !gates[i].path[len])
			return gates[i].fn;
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
	plan[n_plan++] = (struct pnode){ .key = plan_keys + *kused, .kind = W_OBJ,
					 .gate = gate_of(name, len) };
	*kused += klen + 1;
	return true;
}

static bool plan_leaf(const struct pentry *p)
{
	struct pnode *n = &plan[n_plan];
	const char *dot = strrchr(p->name, '.');

	if (n_plan >= PLAN_MAX)
		return false;
	*n = (struct pnode){ .key = dot ? dot + 1 : p->name, .kind = (uint8_t)p->kind,
			     .id = p->id, .f = p->f, .req = p->req };
	if (p->h)
		n->hook = p->h->fn;
	else
		n->none = p->kind == W_STR ? empty_none(p->id) : zero_none(p->id);
	n_plan++;
	return true;
}

/*
 * An object's req: the bits every member needs, so that without them
 * none prints and the object is not even opened. A gated object decides
 * for itself (it may be written empty), so it needs none, and neither do
 * the objects around it.
 */
static void plan_reqs(void)
{
	size_t i, k;

	for (i = n_plan; i-- > 0;) {
		if (plan[i].kind != W_OBJ)
			continue;
		plan[i].req = plan[i].gate ? 0 : ~0ull;
		for (k = i + 1; k < plan[i].end; k++)
			plan[i].req &= plan[k].req;
	}
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
	plan_reqs();
	return;
full:
	n_plan = 0;
}

static void walk(struct enc *e, size_t i, size_t end);

/* An enum's name; a number without one (a protocol) as its decimal text. */
static void put_enum(struct enc *e, const struct pnode *n, int64_t v)
{
	const char *name = ks_enum_name(n->id, (unsigned int)v);
	char buf[24];

	if (!name) {
		if (n->f->max <= 0)	/* a value no name was given: none */
			return;
		snprintf(buf, sizeof(buf), "%u", (unsigned int)v);
		name = buf;
	}
	ks_jw_cstr(out(e), n->key, name);
}

/* A kernel field's number, enum name or set of names; nothing if null. */
static void put_num(struct enc *e, const struct pnode *n)
{
	__s64 v = 0;
	__u32 has = ks_event_num(e->ev, n->id, &v);

	if (n->none ? !v : !has)
		return;
	if (n->kind == W_NUM)
		ks_jw_int(out(e), n->key, v);
	else if (n->kind == W_ENUM)
		put_enum(e, n, v);
	else
		put_caps(e, n->key, n->id, (uint64_t)v);
}

/* Strings, entity ids and addresses are null without their KS_P_* bit. */
static bool has_bit(const struct ks_event *ev, const struct ks_field_info *f)
{
	return !f->present || ev->present & f->present;
}

/* An entity id, from the key and the pid and start time it was made of. */
static void put_field_entity(struct enc *e, const struct pnode *n)
{
	__u64 start;
	__u32 pid;

	if (!has_bit(e->ev, n->f))
		return;
	ks_event_entity_parts(e->ev, n->id, &pid, &start);
	put_entity(e, ks_event_entity(e->ev, n->id), pid, start);
}

/* source.ip, destination.ip: none while all 0 */
static void put_ip(struct enc *e, const struct pnode *n)
{
	const uint8_t *a = n->id == KS_F_SOURCE_IP ? e->ev->saddr : e->ev->daddr;
	char buf[INET6_ADDRSTRLEN];

	if (!has_bit(e->ev, n->f) || ks_ecs_ip_is_zero(a))
		return;
	ks_ecs_ip_text(e->ev, a, buf, sizeof(buf));
	ks_jw_cstr(out(e), n->key, buf);
}

static void put_str(struct enc *e, const struct pnode *n)
{
	if (has_bit(e->ev, n->f) && (!n->none || e->ev->str[n->id].len))
		put_ref(e, n->key, n->id);
}

static void put_enriched(struct enc *e, const struct pnode *n)
{
	put_user(e, n->key, n->id);
}

static void put_hook(struct enc *e, const struct pnode *n)
{
	n->hook(e, n->key);
}

/* The writer of each kind of member but objects (numbers: the catalogue's own rule). */
static void (*const writers[])(struct enc *e, const struct pnode *n) = {
	[W_NUM] = put_num, [W_ENUM] = put_num, [W_BITSET] = put_num,
	[W_STR] = put_str, [W_ENTITY] = put_field_entity, [W_IP] = put_ip,
	[W_USER] = put_enriched, [W_HOOK] = put_hook,
};

/*
 * An object as its gate says: pending until its first member is written
 * (out()), then closed; one written by none is left out, or written
 * empty when forced.
 */
static void put_obj(struct enc *e, const struct pnode *n)
{
	enum gate g = n->gate ? n->gate(e) : G_LAZY;
	unsigned int mine = e->n_pend;

	if (g == G_SKIP || mine >= PLAN_DEPTH)
		return;
	e->pend[e->n_pend++] = n->key;
	walk(e, (size_t)(n - plan) + 1, n->end);
	if (e->n_pend > mine) {	/* nothing written */
		if (g == G_LAZY) {
			e->n_pend = mine;
			return;
		}
		open_pending(e);
	}
	ks_jw_end(e->jw, '}');
}

static void walk(struct enc *e, size_t i, size_t end)
{
	while (i < end) {
		if ((e->has & plan[i].req) != plan[i].req) {
			i = plan[i].kind == W_OBJ ? plan[i].end : i + 1;
		} else if (plan[i].kind == W_OBJ) {
			put_obj(e, &plan[i]);
			i = plan[i].end;
		} else {
			writers[plan[i].kind](e, &plan[i]);
			i++;
		}
	}
}

void ks_ecs_event_json(struct ks_ecs_ctx *ctx, struct ks_jw *w, const struct ks_event *ev)
{
	struct enc e = { ctx, w, ev, ev->present };

	if (ev->source == KS_SRC_REPLAY)
		e.has |= HAS_REPLAY;
	pthread_once(&plan_once, plan_build);
	ks_jw_obj(w, NULL);
	walk(&e, 0, n_plan);
	ks_jw_end(w, '}');
}
