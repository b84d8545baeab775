// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ECS event encoder's plan (loader/ecs_encode.c writes events from
 * it): every member an event can have, from the field catalogue
 * (maps/ks_fields.h, rules-compiler/fields.c, loader/ecs_user.c), whose
 * dotted names are sorted at first use (jansson's JSON_SORT_KEYS order)
 * into objects and members, each member with its writer; then, once per
 * presence mask (ev->present, and whether the event was replayed), that
 * plan narrowed to what the mask leaves: a flat list of steps (struct
 * ecs_step), cached. What the mask decides is decided there: a member's
 * KS_P_* bit, an object's gate as far as the bits say, the writer's
 * variant (a number null while 0 or not, a path that may be cut, an
 * enriched field's kind), an object opened at once because a member is
 * always written, and an object's guards (S_ZERO).
 *
 * Written here by name: the numbers and strings whose 0 or "" prints as
 * nothing, where the catalogue calls them present.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/rules.h"
#include "ecs_plan.h"

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
	struct ecs_step s;	/* a member's step; an object's key */
	struct ecs_guard z;	/* a member's guard (len 0: none) */
	uint64_t req;		/* a member: the mask bits without which it prints nothing */
	const struct ecs_gate_def *gate;	/* an object's; NULL: G_LAZY */
	uint16_t end;		/* an object: the index past its members */
	bool obj;
};

#define PLAN_MAX	256

static struct pnode plan[PLAN_MAX];
static size_t n_plan;
static uint64_t plan_bits;	/* the mask bits any plan decision reads */
static char plan_keys[2048];	/* the objects' names, NUL-terminated */
static pthread_once_t plan_once = PTHREAD_ONCE_INIT;

/* One member to plan: its full name, writer, and hook or catalogue entry. */
struct pentry {
	const char *name;
	const struct ecs_hook *h;
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

static const struct ecs_hook *hook_of(const char *name)
{
	size_t i;

	for (i = 0; i < ks_ecs_n_hooks; i++)
		if (!strcmp(ks_ecs_hooks[i].name, name))
			return &ks_ecs_hooks[i];
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
 * The mask bits member p needs to print anything: its KS_P_* bit (not
 * for a number the catalogue or zero_none() calls null while 0), and
 * ECS_HAS_REPLAY for the enriched fields printed of replayed events only.
 */
static uint64_t member_req(const struct pentry *p)
{
	switch (p->kind) {
	case W_USER:
		return p->f->present | (p->id == KS_ECS_U_HOST_ID ||
					p->id == KS_ECS_U_DEST_DOMAIN ? 0 : ECS_HAS_REPLAY);
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

	for (i = 0; i < ks_ecs_n_hooks && n < max; i++)
		if (ks_ecs_hooks[i].fn)
			v[n++] = (struct pentry){ ks_ecs_hooks[i].name, &ks_ecs_hooks[i], NULL, W_HOOK, 0,
						  ks_str_present_bit(ks_ecs_hooks[i].slot) };
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

static const struct ecs_gate_def *gate_of(const char *path, size_t len)
{
	size_t i;

	for (i = 0; i < ks_ecs_n_gates; i++)
		if (!strncmp(ks_ecs_gates[i].path, path, len) && !ks_ecs_gates[i].path[len])
			return &ks_ecs_gates[i];
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
static enum ecs_writer user_writer(const struct ks_field_info *f)
{
	if (f->type == KS_T_NUM)
		return EW_USER_NUM;
	if (f->boolean)
		return EW_USER_BOOL;
	return f->array ? EW_USER_ARR : EW_USER_STR;
}

/* Member p's writer: its kind, and what its 0 or "" means. */
static enum ecs_writer leaf_writer(const struct pentry *p)
{
	bool nz = p->kind <= W_BITSET && (null_while_zero(p->id) || zero_none(p->id));

	switch (p->kind) {
	case W_HOOK:
		return EW_HOOK;
	case W_NUM:
		return nz ? EW_NUM_NZ : EW_NUM;
	case W_ENUM:
		return nz ? EW_ENUM_NZ : EW_ENUM;
	case W_BITSET:
		return EW_CAPS;
	case W_STR:
		return empty_none(p->id) ? EW_STR_OPT : ks_ecs_is_path(p->id) ? EW_PATH : EW_STR;
	case W_ENTITY:
		return EW_ENTITY;
	case W_IP:
		return EW_IP;
	default:
		return user_writer(p->f);
	}
}

/* Where kernel number or entity id is in struct ks_event (maps/ks_fields.h). */
static struct ecs_guard field_bytes(unsigned int id)
{
	switch (id) {
#define KS_FIELD_CASE(id_, name, type, member, ...)			\
	case id_:							\
		return (struct ecs_guard)ECS_GUARD(member);
	KS_NUM_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
#define KS_FIELD_CASE(id_, key, pid, start)				\
	case id_:							\
		return (struct ecs_guard)ECS_GUARD(key);
	KS_ENTITY_FIELDS(KS_FIELD_CASE)
#undef KS_FIELD_CASE
	}
	return (struct ecs_guard){ 0 };
}

/* Member p's guard: the bytes whose 0 leaves it null. */
static struct ecs_guard leaf_guard(const struct pentry *p, enum ecs_writer w)
{
	switch (p->kind) {
	case W_HOOK:
		return p->h->z;
	case W_STR:	/* ks_ecs_ref_bytes(): no bytes at offset 0 */
		return (struct ecs_guard){ offsetof(struct ks_event, str) +
				       p->id * sizeof(struct ks_strref) +
				       offsetof(struct ks_strref, off), sizeof(__u16) };
	case W_ENTITY:
		return field_bytes(p->id);
	case W_IP:
		return p->id == KS_F_SOURCE_IP ? (struct ecs_guard)ECS_GUARD(saddr) :
						 (struct ecs_guard)ECS_GUARD(daddr);
	case W_USER:
		return (struct ecs_guard){ 0 };
	default:	/* numbers: those null while 0 */
		return w == EW_NUM ? (struct ecs_guard){ 0 } : field_bytes(p->id);
	}
}

static bool plan_leaf(const struct pentry *p)
{
	struct pnode *n = &plan[n_plan];
	const char *dot = strrchr(p->name, '.');
	enum ecs_writer w = leaf_writer(p);

	if (n_plan >= PLAN_MAX)
		return false;
	*n = (struct pnode){ .req = p->req };
	n->s = (struct ecs_step){ .fn = p->h ? p->h->fn : ks_ecs_writers[w],
				  .key = dot ? dot + 1 : p->name, .id = p->id, .f = p->f };
	n->s.klen = (uint16_t)strlen(n->s.key);
	n->s.always = p->h ? p->h->always : w == EW_NUM;
	n->z = leaf_guard(p, w);
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
	size_t open[ECS_PLAN_DEPTH], plen[ECS_PLAN_DEPTH], depth = 0, kused = 0, n, i;
	const char *prev = "", *name, *dot;

	for (i = 0; i < ks_ecs_n_gates; i++)
		plan_bits |= ks_ecs_gates[i].bits;
	n = plan_entries(v, ARRAY_SIZE(v));
	for (i = 0; i < n; i++) {
		name = v[i].name;
		while (depth && (strncmp(name, prev, plen[depth - 1]) ||
				 name[plen[depth - 1]] != '.'))
			plan[open[--depth]].end = (uint16_t)n_plan;
		for (dot = name + (depth ? plen[depth - 1] + 1 : 0);
		     (dot = strchr(dot, '.')); dot++) {
			if (depth >= ECS_PLAN_DEPTH || !plan_obj(name, (size_t)(dot - name), &kused))
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

/* Guard z as words of 8 bytes in the event, masked (in either byte order). */
static void add_guard(struct ecs_plan *c, struct ecs_guard z)
{
	size_t off = z.off, len, base;
	struct ecs_zword *w;

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
static enum ecs_gate gate_at(const struct ecs_gate_def *g, uint64_t has)
{
	if (!g)
		return G_LAZY;
	return !g->bits || has & g->bits ? g->with : g->without;
}

/* What compile() says of the steps it wrote: */
#define C_WRITES	1u	/* they always write something */
#define C_GUARDED	2u	/* they write nothing while their guards are 0 */

static unsigned int compile(struct ecs_plan *c, uint64_t has, size_t i, size_t end);

static unsigned int compile_leaf(struct ecs_plan *c, const struct pnode *n)
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
static unsigned int compile_obj(struct ecs_plan *c, uint64_t has, size_t i)
{
	const struct pnode *n = &plan[i];
	enum ecs_gate g = gate_at(n->gate, has);
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
	c->steps[c->n++] = (struct ecs_step){ .op = S_CLOSE };
	if (!(r & C_GUARDED)) {
		memmove(&c->steps[at], &c->steps[at + 1], (c->n - at - 1) * sizeof(c->steps[0]));
		c->n--;
	} else {
		c->steps[at] = (struct ecs_step){ .op = S_ZERO, .skip = (uint16_t)(c->n - at),
					      .zero = { (uint16_t)g0, (uint16_t)(c->n_guards - g0) } };
	}
	o = r & C_GUARDED ? at + 1 : at;
	c->steps[o] = n->s;
	c->steps[o].op = r & C_WRITES ? S_FORCE : g == G_LAZY ? S_LAZY : S_CALL;
	c->steps[o].skip = (uint16_t)(c->n - o);
	if (g == G_TEST) {
		c->steps[o].fn = ks_ecs_writers[EW_TEST];
		c->steps[o].test = n->gate->test;
	}
	return r;
}

/* The steps of plan[i..end) for has: objects, and the members it does not leave null. */
static unsigned int compile(struct ecs_plan *c, uint64_t has, size_t i, size_t end)
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

static struct ecs_plan *mplan_new(uint64_t has)
{
	size_t steps = 3 * n_plan * sizeof(struct ecs_step);
	struct ecs_plan *c = malloc(sizeof(*c) + steps + 2 * n_plan * sizeof(struct ecs_zword));

	if (!c)
		return NULL;
	c->has = has;
	c->n = c->n_guards = 0;
	c->guards = (struct ecs_zword *)((char *)c->steps + steps);
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

static struct ecs_plan *cache[CACHE_SLOTS];
static size_t n_cached;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct ecs_plan *cache_find(uint64_t has, size_t *slot)
{
	size_t i = (size_t)((has * 0x9e3779b97f4a7c15ull) >> 56), k;
	const struct ecs_plan *p;

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

static const struct ecs_plan *cache_add(uint64_t has)
{
	const struct ecs_plan *p;
	struct ecs_plan *c = NULL;
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

const struct ecs_plan *ks_ecs_plan(const struct ks_event *ev, struct ecs_plan **own)
{
	const struct ecs_plan *p;
	uint64_t has = ev->present;
	size_t slot;

	pthread_once(&plan_once, plan_build);
	if (ev->source == KS_SRC_REPLAY)
		has |= ECS_HAS_REPLAY;
	has &= plan_bits;
	*own = NULL;
	p = cache_find(has, &slot);
	if (!p && !(p = cache_add(has)))
		p = *own = mplan_new(has);
	return p;
}
