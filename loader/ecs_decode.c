// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ECS decoder: Event JSONL -> struct ks_event, field by field as the
 * mapping at the top of loader/ecs.c says. A line is read into the
 * reader's flat node array (include/kestrel/json.h), not a jansson tree,
 * with the node of each path indexed (loader/ecs_index.c: in one pass for
 * the usual lines); a line that is not JSON gets jansson's own message
 * (the cold path).
 * About 1,460 lines: one short function per ECS field group, each with the
 * checks and messages of its fields; splitting by group would only
 * scatter struct dec and its helpers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "kestrel/container.h"
#include "kestrel/hash.h"
#include "kestrel/json.h"
#include "kestrel/rules.h"
#include "ecs_int.h"
#include "ecs_index.h"


/* The kestrel.cut_head.* member of the path at p (a record's, not a slot's). */
static enum dec_path p_cut(enum dec_path p)
{
	switch (p) {
	case P_PROC_EXE: return P_CUT_EXE;
	case P_PAR_EXE: return P_CUT_PEXE;
	case P_FILE_PATH: return P_CUT_PATH;
	case P_FILE_ORIG: return P_CUT_ORIG;
	default: return P_CUT_TARGET;
	}
}


struct dec {
	struct ks_ecs_ctx *ctx;
	const struct ks_jr *r;
	const struct ks_jn *root;
	struct ks_event *ev;
	char *err;
	size_t errlen;
	uint32_t host;		/* ks_ecs_ctx.hosts index + 1 of host.name, 0 if none */
	uint64_t seq;		/* record number, 0: note no enriched value */
	const struct ks_dec_index *x;	/* the value of each path */
};

static int __attribute__((format(printf, 2, 3)))
fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;

	if (d->errlen) {
		va_start(ap, fmt);
		vsnprintf(d->err, d->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}


/* The value at a path; JSON null counts as absent. */
static const struct ks_jn *jget(struct dec *d, enum dec_path p)
{
	const struct ks_jn *v = d->x->at[p];

	return v && v->type != KS_JT_NULL ? v : NULL;
}

/* Text value at path: 0 absent, 1 found, -1 error. */
static int get_str(struct dec *d, enum dec_path p, const char **s,
		   size_t *len)
{
	const char *path = ks_dec_names[p];
	const struct ks_jn *v = jget(d, p);

	if (!v)
		return 0;
	if (v->type != KS_JT_STR)
		return fail(d, "%s: expected a string", path);
	*s = v->s;
	*len = v->len;
	if (ks_jn_has_nul(v))
		return fail(d, "%s: NUL byte in string", path);
	return 1;
}

/*
 * A keyword Elastic Defend writes as a one-element array (event.category)
 * and Kestrel as a string: either, as get_str.
 */
static int get_str1(struct dec *d, enum dec_path p, const char **s,
		    size_t *len)
{
	const char *path = ks_dec_names[p];
	const struct ks_jn *v = jget(d, p);

	if (!v || v->type != KS_JT_ARR)
		return get_str(d, p, s, len);
	v = v->len == 1 ? ks_jr_first(d->r, v) : NULL;
	if (!v || v->type != KS_JT_STR || ks_jn_has_nul(v))
		return fail(d, "%s: expected a string or an array of one string", path);
	*s = v->s;
	*len = v->len;
	return 1;
}

/* Strict decimal: optional '-', 1..19 digits, nothing else. */
static int parse_dec(const char *s, int64_t *out)
{
	const char *p = s + (*s == '-');
	long long v;
	char *end;

	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Integer in [min, max], or a decimal string: 0 absent, 1 found, -1 error. */
static int get_int(struct dec *d, enum dec_path p, int64_t min, int64_t max,
		   int64_t *out)
{
	const char *path = ks_dec_names[p];
	const struct ks_jn *v = jget(d, p);
	int64_t x;

	if (!v)
		return 0;
	if (v->type == KS_JT_INT)
		x = v->i;
	else if (v->type != KS_JT_STR || parse_dec(v->s, &x))
		return fail(d, "%s: expected an integer", path);
	if (x < min || x > max)
		return fail(d, "%s: %" PRId64 " out of range %" PRId64 "..%"
			    PRId64, path, x, min, max);
	*out = x;
	return 1;
}

static void set_ref(struct ks_event *ev, unsigned int field, const char *p,
		    size_t len)
{
	ev->str[field].off = (__u16)(p - (const char *)ev);
	ev->str[field].len = (__u16)len;
}

static bool ref_set(const struct ks_event *ev, unsigned int field)
{
	return ev->str[field].off != 0;
}

static void mark_trunc(struct dec *d, unsigned int field)
{
	d->ev->truncated |= (__u16)(1u << field);
	d->ctx->stats.truncations[field]++;
}

/*
 * A cut path as the kernel lays it out: head (h bytes) at the start of
 * the slot, tail right-aligned at its end; the tail is the field's value.
 */
static void put_cut_path(struct dec *d, unsigned int field, char *slot, const char *head,
			 size_t h, const char *tail, size_t tl)
{
	if (h > KS_PATH_MAX - 1)	/* cut_head is a __u8 */
		h = KS_PATH_MAX - 1;
	if (tl > KS_PATH_MAX - h) {
		tail += tl - (KS_PATH_MAX - h);
		tl = KS_PATH_MAX - h;
	}
	memcpy(slot, head, h);
	memcpy(slot + KS_PATH_MAX - tl, tail, tl);
	set_ref(d->ev, field, slot + KS_PATH_MAX - tl, tl);
	d->ev->cut_head[KS_PATH_IDX(field)] = (__u8)h;
	mark_trunc(d, field);
}

/* Copy into a slot of cap usable bytes, cutting and counting if longer. */
static void put_str(struct dec *d, unsigned int field, char *slot, size_t cap,
		    const char *s, size_t len)
{
	if (len > cap && ks_ecs_is_path(field)) {
		put_cut_path(d, field, slot, s, KS_PATH_HEAD, s, len);
		return;
	}
	if (len > cap) {
		len = cap;
		mark_trunc(d, field);
	}
	memcpy(slot, s, len);
	set_ref(d->ev, field, slot, len);
}

/* A path printed cut: head "..." tail, with kestrel.cut_head.<path>. */
static int dec_cut(struct dec *d, enum dec_path p, unsigned int field, char *slot,
		   const char *s, size_t len)
{
	const char *path = ks_dec_names[p];
	int64_t h;
	int r = get_int(d, p_cut(p), 0, KS_PATH_MAX - 1, &h);

	/* the kernel's head fills what the tail leaves: KS_PATH_HEAD or more */
	if (r <= 0)
		return r;
	if ((size_t)h + 3 > len || memcmp(s + h, "...", 3))
		return fail(d, "%s: a cut path is head \"...\" tail, with %s bytes of head",
			    path, ks_dec_names[p_cut(p)]);
	put_cut_path(d, field, slot, s, (size_t)h, s + h + 3, len - (size_t)h - 3);
	return 1;
}

/* Text field into its slot (keeping a NUL after it): 0/1/-1 as get_str. */
static int dec_text(struct dec *d, enum dec_path p, unsigned int field,
		    char *slot, size_t size)
{
	const char *s;
	size_t len;
	int r = get_str(d, p, &s, &len), cut = 0;

	if (r > 0 && ks_ecs_is_path(field))
		cut = dec_cut(d, p, field, slot, s, len);
	if (cut < 0)
		return -1;
	if (r > 0 && !cut)
		put_str(d, field, slot, size - 1, s, len);
	return r;
}

/* dec_text, and the presence bit `bit` set when the field is given. */
static int dec_text_bit(struct dec *d, enum dec_path p, unsigned int field,
			char *slot, size_t size, uint32_t bit)
{
	int r = dec_text(d, p, field, slot, size);

	if (r > 0)
		d->ev->present |= bit;
	return r;
}

/* Sub-range of field `from` after its last '/'. */
static void basename_ref(struct ks_event *ev, unsigned int from,
			 unsigned int to)
{
	const char *p = (const char *)ev + ev->str[from].off;
	size_t i = ev->str[from].len;

	while (i > 0 && p[i - 1] != '/')
		i--;
	set_ref(ev, to, p + i, ev->str[from].len - i);
}

/*
 * process.name / process.parent.name: a view of the executable's basename
 * when equal to it, else a comm copy (15 bytes, like task->comm).
 */
static int dec_name(struct dec *d, enum dec_path p, unsigned int field,
		    unsigned int exe_field, char *comm)
{
	struct ks_event *ev = d->ev;
	const char *s, *base;
	size_t len;
	int r = get_str(d, p, &s, &len);

	if (r < 0)
		return -1;
	if (ref_set(ev, exe_field)) {
		basename_ref(ev, exe_field, field);
		base = (const char *)ev + ev->str[field].off;
		if (!r || (len == ev->str[field].len && !memcmp(s, base, len)))
			return r;
	}
	if (r)
		put_str(d, field, comm, KS_COMM_MAX - 1, s, len);
	else
		ev->str[field] = (struct ks_strref){ 0, 0 };
	return r;
}

struct argbuf {
	char *p;
	size_t len, cap;
	unsigned int n;		/* elements given, stored or not */
	bool cut;
};

/*
 * Append one element. A separator is only written when something of the
 * element fits too, so a cut never leaves a phantom empty last element.
 */
static void arg_add(struct argbuf *b, const char *s, size_t len)
{
	size_t room;

	b->n++;
	if (b->cut)
		return;
	if (b->n > 1) {
		if (b->len == b->cap || (len && b->len + 1 == b->cap)) {
			b->cut = true;
			return;
		}
		b->p[b->len++] = '\0';
	}
	room = b->cap - b->len;
	if (len > room) {
		len = room;
		b->cut = true;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
}

static int args_from_array(struct dec *d, const struct ks_jn *a, struct argbuf *b)
{
	const struct ks_jn *v;
	size_t i = 0;

	if (a->type != KS_JT_ARR)
		return fail(d, "process.args: expected an array of strings");
	for (v = ks_jr_first(d->r, a); v; v = ks_jr_next(d->r, v), i++) {
		if (v->type != KS_JT_STR)
			return fail(d, "process.args[%zu]: expected a string",
				    i);
		if (ks_jn_has_nul(v))
			return fail(d, "process.args[%zu]: NUL byte in string",
				    i);
		arg_add(b, v->s, v->len);
	}
	return 0;
}

/* Exact inverse of joining with ' ': every space separates two elements. */
static void args_from_cmdline(struct argbuf *b, const char *s, size_t len)
{
	const char *sp;

	while ((sp = memchr(s, ' ', len))) {
		arg_add(b, s, (size_t)(sp - s));
		len -= (size_t)(sp - s) + 1;
		s = sp + 1;
	}
	arg_add(b, s, len);
}

static int dec_args(struct dec *d)
{
	struct ks_event *ev = d->ev;
	struct argbuf b = { .p = ev->args, .cap = KS_ARGS_MAX - 1 };
	const struct ks_jn *a = jget(d, P_PROC_ARGS);
	const char *s;
	size_t len;
	int r;

	if (a) {
		if (args_from_array(d, a, &b))
			return -1;
	} else {
		r = get_str(d, P_PROC_CMDLINE, &s, &len);
		if (r <= 0)
			return r;
		args_from_cmdline(&b, s, len);
	}
	set_ref(ev, KS_F_PROCESS_ARGS, ev->args, b.len);
	ev->str[KS_F_PROCESS_COMMAND_LINE] = ev->str[KS_F_PROCESS_ARGS];
	ev->args_count = b.n;
	if (b.cut) {
		/* One cut, one count; command_line shows the same cut. */
		mark_trunc(d, KS_F_PROCESS_ARGS);
		ev->truncated |= 1u << KS_F_PROCESS_COMMAND_LINE;
	}
	return 1;
}

/* Digits only from s up to stop (not empty), as a u64 without overflow; the end in *end. */
static bool dec_u64(const char *s, char stop, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	unsigned int dig;

	for (*end = s; (dig = (unsigned int)(**end - '0')) <= 9; (*end)++) {
		/* the division only near the limit: an entity_id has ~14 digits */
		if (x >= UINT64_MAX / 10 && x > (UINT64_MAX - dig) / 10)
			return false;
		x = x * 10 + dig;
	}
	*v = x;
	return *end != s && **end == stop;
}

/*
 * "<pid>-<start_ns>" in decimal, each part fitting its type; *canon: it
 * prints back the same (no leading zeros).
 */
static bool parse_pid_start(const char *s, uint32_t *pid, uint64_t *start, bool *canon)
{
	const char *dash, *end;
	uint64_t p, st;

	if (!dec_u64(s, '-', &p, &dash) || p > UINT32_MAX || !dec_u64(dash + 1, '\0', &st, &end))
		return false;
	*pid = (uint32_t)p;
	*start = st;
	*canon = (s[0] != '0' || dash == s + 1) && (dash[1] != '0' || !dash[2]);
	return true;
}

/*
 * process.entity_id / process.parent.entity_id. *pid is the event's pid
 * for that process; filled from the id when the JSON did not give it.
 */
static int dec_entity(struct dec *d, enum dec_path ep, uint32_t *pid,
		      bool pid_found, __u64 *key, __u64 *start)
{
	const char *path = ks_dec_names[ep];
	bool canon;
	const char *s;
	size_t len;
	uint32_t p;
	uint64_t st;
	int r = get_str(d, ep, &s, &len);

	if (r <= 0)
		return r;
	if (parse_pid_start(s, &p, &st, &canon)) {
		*key = KS_ENTITY_KEY(p, st);
		*start = st;
		if (!pid_found)
			*pid = p;
		if (*pid == p && canon)
			return 1;
	} else {
		*key = ks_fnv1a64(s, len, KS_FNV64_INIT);
	}
	r = ks_ecs_intern_put(d->ctx, *key, s);
	if (r == -EEXIST)
		return fail(d, "%s: \"%s\" collides with another entity_id",
			    path, s);
	if (r)
		return fail(d, "%s: out of memory", path);
	return 1;
}

/* Where the ECS fields of one process (the event's or its parent) go. */
struct dec_proc {
	enum dec_path pid, exe, name, entity;	/* ECS paths */
	unsigned int f_exe, f_name;		/* string field ids */
	size_t pid_at, exe_at, comm_at, entity_at, start_at; /* in struct ks_event */
};

#define DEC_PROC(pfx, fpfx, pid_, exe_, comm_, ent_, start_)				\
	{ P_##pfx##_PID, P_##pfx##_EXE, P_##pfx##_NAME, P_##pfx##_ENTITY,		\
	  KS_F_##fpfx##_EXECUTABLE, KS_F_##fpfx##_NAME,					\
	  offsetof(struct ks_event, pid_), offsetof(struct ks_event, exe_),		\
	  offsetof(struct ks_event, comm_), offsetof(struct ks_event, ent_),		\
	  offsetof(struct ks_event, start_) }

static const struct dec_proc dec_self =
	DEC_PROC(PROC, PROCESS, pid, exe, comm, entity, start_ns);
static const struct dec_proc dec_parent_proc =
	DEC_PROC(PAR, PARENT, ppid, pexe, pcomm, parent_entity, parent_start_ns);
_Static_assert(sizeof(((struct ks_event *)0)->exe) == KS_PATH_MAX &&
	       sizeof(((struct ks_event *)0)->pexe) == KS_PATH_MAX, "exe slots are KS_PATH_MAX");

/* pid, executable, name and entity_id of one process: 1 if any is given, 0 if none, -1. */
static int dec_proc_ids(struct dec *d, const struct dec_proc *k)
{
	char *ev = (char *)d->ev;
	uint32_t *pid = (uint32_t *)(ev + k->pid_at);
	int64_t v;
	int r, any, pid_found;

	pid_found = any = get_int(d, k->pid, 0, UINT32_MAX, &v);
	if (any < 0)
		return -1;
	if (pid_found)
		*pid = (uint32_t)v;
	r = dec_text(d, k->exe, k->f_exe, ev + k->exe_at, KS_PATH_MAX);
	if (r < 0)
		return -1;
	any |= r;
	if ((r = dec_name(d, k->name, k->f_name, k->f_exe, ev + k->comm_at)) < 0)
		return -1;
	any |= r | ref_set(d->ev, k->f_name);
	r = dec_entity(d, k->entity, pid, pid_found, (__u64 *)(ev + k->entity_at),
		       (__u64 *)(ev + k->start_at));
	if (r < 0)
		return -1;
	return any | r;
}

/*
 * A capability set as Elastic Defend writes it (an array of names,
 * "CAP_SYS_ADMIN"): its bits in *set, 0 for [] or none. An unknown name
 * is an error, not a capability the rules would silently never see.
 */
static int dec_cap_set(struct dec *d, enum dec_path p, __u64 *set)
{
	const struct ks_jn *a = jget(d, p), *v;
	const char *path = ks_dec_names[p];
	int b;

	if (!a)
		return 0;
	if (a->type != KS_JT_ARR)
		return fail(d, "%s: expected an array of capability names", path);
	for (v = ks_jr_first(d->r, a); v; v = ks_jr_next(d->r, v)) {
		if (v->type != KS_JT_STR)
			return fail(d, "%s: expected an array of capability names", path);
		if (ks_jn_has_nul(v) || (b = ks_enum_parse(KS_F_CAP_EFFECTIVE, v->s, false)) < 0)
			return fail(d, "%s: unknown capability \"%s\"", path, v->s);
		*set |= 1ull << b;
	}
	return 0;
}

static int dec_caps(struct dec *d)
{
	return dec_cap_set(d, P_CAP_EFF, &d->ev->cap_effective) ||
	       dec_cap_set(d, P_CAP_PRM, &d->ev->cap_permitted) ? -1 : 0;
}

/*
 * The session leader's or the entry leader's pid and entity_id (maps/
 * ks_event.h): as a process's, a pid-start id gives the key the kernel
 * makes, any other is interned. 1 if either is given, 0 if none, -1.
 */
static int dec_leader(struct dec *d, enum dec_path pid_path, enum dec_path ent_path,
		      __u32 *pid, __u64 *key, __u64 *start)
{
	int64_t v;
	int found = get_int(d, pid_path, 1, UINT32_MAX, &v), r;

	if (found < 0)
		return -1;
	if (found)
		*pid = (uint32_t)v;
	r = dec_entity(d, ent_path, pid, found, key, start);
	return r < 0 ? -1 : found | r;
}

static int dec_leaders(struct dec *d)
{
	struct ks_event *ev = d->ev;
	int sl = dec_leader(d, P_SL_PID, P_SL_ENTITY, &ev->sl_pid, &ev->sl_entity,
			    &ev->sl_start_ns), el;

	if (sl < 0)
		return -1;
	el = dec_leader(d, P_EL_PID, P_EL_ENTITY, &ev->el_pid, &ev->el_entity,
			&ev->el_start_ns);
	return el < 0 ? -1 : sl | el;
}

static int dec_process(struct dec *d)
{
	struct ks_event *ev = d->ev;
	int64_t v;
	int r, any;

	if ((any = dec_proc_ids(d, &dec_self)) < 0)
		return -1;
	if ((r = dec_args(d)) < 0)
		return -1;
	any |= r;
	if ((r = dec_leaders(d)) < 0)
		return -1;
	any |= r;
	if ((r = get_int(d, P_PROC_ARGS_COUNT, 0, UINT32_MAX, &v)) < 0)
		return -1;
	if (r)
		ev->args_count = (uint32_t)v;
	if (any | r)
		ev->present |= KS_P_PROCESS;

	if ((r = get_int(d, P_PROC_EXIT_CODE, INT32_MIN, INT32_MAX, &v)) < 0)
		return -1;
	if (r) {
		ev->exit_code = (int32_t)v;
		ev->present |= KS_P_EXIT_CODE;
	}
	return dec_caps(d);
}

static int dec_parent(struct dec *d)
{
	int any = dec_proc_ids(d, &dec_parent_proc);

	if (any < 0)
		return -1;
	if (any)
		d->ev->present |= KS_P_PARENT;
	return 0;
}

/* The effective ids of the process and its parent, each with its own bit. */
static int dec_euids(struct dec *d)
{
	static const struct { enum dec_path path; size_t off; uint32_t bit; } ids[] = {
		{ P_PROC_EUID, offsetof(struct ks_event, euid), KS_P_EUID },
		{ P_PROC_EGID, offsetof(struct ks_event, egid), KS_P_EGID },
		{ P_PAR_EUID, offsetof(struct ks_event, peuid), KS_P_PEUID },
		{ P_PAR_EGID, offsetof(struct ks_event, pegid), KS_P_PEGID },
	};
	uint32_t u;
	int64_t v;
	size_t i;
	int r;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if ((r = get_int(d, ids[i].path, 0, UINT32_MAX, &v)) < 0)
			return -1;
		if (!r)
			continue;
		u = (uint32_t)v;
		memcpy((char *)d->ev + ids[i].off, &u, sizeof(u));
		d->ev->present |= ids[i].bit;
	}
	return 0;
}

static int dec_user(struct dec *d)
{
	int64_t v;
	int r, any;

	if ((any = get_int(d, P_USER_ID, 0, UINT32_MAX, &v)) < 0)
		return -1;
	if (any)
		d->ev->uid = (uint32_t)v;
	if ((r = get_int(d, P_GROUP_ID, 0, UINT32_MAX, &v)) < 0)
		return -1;
	if (r)
		d->ev->gid = (uint32_t)v;
	if (any | r)
		d->ev->present |= KS_P_USER;
	return dec_euids(d);
}

/*
 * The extension field `xf` of name field `nf`: the record's (at p) if the
 * name ends in "." ext (so "tar.gz" survives), else the text after the
 * name's last '.' (none for ".bashrc" or "a.").
 */
static void file_ext(struct dec *d, enum dec_path p, unsigned int nf, unsigned int xf)
{
	struct ks_event *ev = d->ev;
	const char *name = (const char *)ev + ev->str[nf].off;
	size_t nlen = ev->str[nf].len, i;
	const char *s;
	size_t len;

	if (get_str(d, p, &s, &len) > 0 && len &&
	    len + 1 < nlen && name[nlen - len - 1] == '.' &&
	    !memcmp(name + nlen - len, s, len)) {
		set_ref(ev, xf, name + nlen - len, len);
		return;
	}
	for (i = nlen; i > 0 && name[i - 1] != '.'; i--)
		;
	if (i > 1 && i < nlen)
		set_ref(ev, xf, name + i, nlen - i);
}

/*
 * One file's path from the record's path at p into slot `slot` of path
 * field pf, its name nf and extension xf derived (the record's name, at
 * pn, can only differ by being wrong; its extension, at px, is kept when
 * it fits the name), presence bit `bit`: 1 if given, 0 if not, -1.
 */
static int dec_one_file(struct dec *d, enum dec_path p, enum dec_path pn, enum dec_path px,
			const unsigned int f[3], char *slot, uint32_t bit)
{
	const char *s;
	size_t len;
	int r = dec_text_bit(d, p, f[0], slot, KS_PATH_MAX, bit);

	if (r <= 0) {
		if (!r && (jget(d, pn) || jget(d, px)))
			return fail(d, "%s/%s without %s", ks_dec_names[pn], ks_dec_names[px],
				    ks_dec_names[p]);
		return r;
	}
	if (get_str(d, pn, &s, &len) < 0 || get_str(d, px, &s, &len) < 0)
		return -1;
	basename_ref(d->ev, f[0], f[1]);
	file_ext(d, px, f[1], f[2]);
	return 1;
}

/*
 * file.path, and a rename's source in file.Ext.original.*, as Elastic
 * Defend writes them. A record of Kestrel before ABI 16 put the source
 * in file.path and the new path in file.target_path: it is read into
 * the same shape (its file.name and file.extension were the source's).
 */
static int dec_file(struct dec *d)
{
	static const unsigned int path[3] = { KS_F_FILE_PATH, KS_F_FILE_NAME,
					      KS_F_FILE_EXTENSION };
	static const unsigned int orig[3] = { KS_F_FILE_ORIG_PATH, KS_F_FILE_ORIG_NAME,
					      KS_F_FILE_ORIG_EXT };
	struct ks_event *ev = d->ev;

	if (!jget(d, P_FILE_TARGET))
		return dec_one_file(d, P_FILE_PATH, P_FILE_NAME, P_FILE_EXT, path,
				    ev->path, KS_P_FILE) < 0 ||
		       dec_one_file(d, P_FILE_ORIG, P_FILE_ORIG_NAME, P_FILE_ORIG_EXT, orig,
				    ev->orig, KS_P_ORIG) < 0 ? -1 : 0;
	if (jget(d, P_FILE_ORIG) || jget(d, P_FILE_ORIG_NAME) || jget(d, P_FILE_ORIG_EXT))
		return fail(d, "file.target_path (a rename's new path before file.Ext."
			    "original) and file.Ext.original.* in one record");
	return dec_one_file(d, P_FILE_TARGET, P_FILE_ORIG_NAME, P_FILE_ORIG_EXT, path,
			    ev->path, KS_P_FILE) < 0 ||
	       dec_one_file(d, P_FILE_PATH, P_FILE_NAME, P_FILE_EXT, orig, ev->orig,
			    KS_P_ORIG) < 0 ? -1 : 0;
}

/* Text address -> 16 bytes (v4 mapped); family 4 or 6. */
static int dec_ip(struct dec *d, enum dec_path p, uint8_t *addr, int *fam)
{
	const char *path = ks_dec_names[p];
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	const char *s;
	size_t len;
	int r = get_str(d, p, &s, &len);

	if (r <= 0)
		return r;
	if (inet_pton(AF_INET, s, addr + 12) == 1) {
		memcpy(addr, mapped, sizeof(mapped));
		r = 4;
	} else if (inet_pton(AF_INET6, s, addr) == 1) {
		r = 6;
	} else {
		return fail(d, "%s: \"%s\" is not an IPv4 or IPv6 address",
			    path, s);
	}
	if (*fam && *fam != r)
		return fail(d, "%s: address family differs from the other "
			    "address", path);
	*fam = r;
	return 1;
}

static int dec_port(struct dec *d, enum dec_path p, __u16 *port)
{
	int64_t v;
	int r = get_int(d, p, 0, 65535, &v);

	if (r > 0)
		*port = (__u16)v;
	return r;
}

/* network.transport: a name or an IP protocol number (number or string). */
static int dec_transport(struct dec *d)
{
	const struct ks_jn *v = jget(d, P_TRANSPORT);
	int64_t x;
	int p;

	if (!v)
		return 0;
	if (v->type == KS_JT_STR && (p = ks_enum_parse(KS_F_TRANSPORT, v->s, true)) >= 0) {
		d->ev->transport = (__u8)p;
		return 1;
	}
	if (get_int(d, P_TRANSPORT, 0, 255, &x) < 0)
		return fail(d, "network.transport: unknown protocol");
	d->ev->transport = (__u8)x;
	return 1;
}

static int dec_direction(struct dec *d)
{
	const char *s;
	size_t len;
	int r = get_str(d, P_DIRECTION, &s, &len);

	if (r <= 0)
		return r;
	r = ks_enum_parse(KS_F_DIRECTION, s, true);
	if (r < 0)
		return fail(d, "network.direction: unknown value \"%s\"", s);
	d->ev->direction = (__u8)r;
	return 1;
}

static int dec_net(struct dec *d)
{
	struct ks_event *ev = d->ev;
	int fam = 0, r, any = 0;

	if ((r = dec_ip(d, P_SRC_IP, ev->saddr, &fam)) < 0)
		return -1;
	any |= r;
	if ((r = dec_ip(d, P_DST_IP, ev->daddr, &fam)) < 0)
		return -1;
	any |= r;
	ev->family = (__u8)fam;
	if ((r = dec_port(d, P_SRC_PORT, &ev->sport)) < 0)
		return -1;
	any |= r;
	if ((r = dec_port(d, P_DST_PORT, &ev->dport)) < 0)
		return -1;
	any |= r;
	if ((r = dec_transport(d)) < 0)
		return -1;
	any |= r;
	if ((r = dec_direction(d)) < 0)
		return -1;
	if (any | r)
		ev->present |= KS_P_NET;
	return 0;
}

/* The value of base64 digit c, standard or URL-safe (its - and _ are the
 * standard + and /); -1 if c is none. The alphabet's order is the value. */
static int b64val(int c)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
	const char *p = c ? strchr(digits, c) : NULL;
	int v;

	if (!p)
		return -1;
	v = (int)(p - digits);
	return v < 64 ? v : v - 2;
}

/* Standard or URL-safe base64, padding optional; decoded bytes past cap
 * are counted in *total but not stored. */
static int b64_decode(const char *s, size_t len, uint8_t *out, size_t cap,
		      size_t *total)
{
	uint32_t acc = 0;
	size_t i, n = 0, bits = 0;
	int v;

	while (len && s[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		v = b64val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n < cap)
				out[n] = (uint8_t)(acc >> bits);
			n++;
		}
	}
	*total = n;
	return 0;
}

static int dec_payload(struct dec *d)
{
	struct ks_event *ev = d->ev;
	const struct ks_jn *v = jget(d, P_PAYLOAD), *b;
	size_t len;

	if (!v)
		return 0;
	if (v->type == KS_JT_STR) {
		put_str(d, KS_F_PAYLOAD, ev->payload, sizeof(ev->payload), v->s, v->len);
	} else if ((b = ks_jr_getn(d->r, v, "base64", 6)) && b->type == KS_JT_STR) {
		if (b64_decode(b->s, b->len,
			       (uint8_t *)ev->payload, sizeof(ev->payload),
			       &len))
			return fail(d, "payload.base64: invalid base64");
		if (len > sizeof(ev->payload)) {
			len = sizeof(ev->payload);
			mark_trunc(d, KS_F_PAYLOAD);
		}
		set_ref(ev, KS_F_PAYLOAD, ev->payload, len);
	} else {
		return fail(d, "payload: expected a string or "
			    "{\"base64\": ...}");
	}
	ev->present |= KS_P_PAYLOAD;
	return 0;
}

static int dec_observer(struct dec *d)
{
	struct ks_event *ev = d->ev;
	int64_t v;
	int r;

	if (dec_text_bit(d, P_IFACE_NAME, KS_F_IFACE_NAME, ev->iface,
			 sizeof(ev->iface), KS_P_IFACE) < 0)
		return -1;
	r = get_int(d, P_IFACE_ID, 0, UINT32_MAX, &v);
	if (r < 0)
		return -1;
	if (r)
		ev->ifindex = (uint32_t)v;
	return 0;
}

/*
 * event.type, a string or Elastic Defend's array: Kestrel derives it from
 * the action (ks_event_type_name), so any other value is an error, not a
 * value the rules would silently never see.
 */
static int dec_event_type(struct dec *d, unsigned int act)
{
	const struct ks_jn *t = jget(d, P_EV_TYPE), *v;
	const char *want = ks_event_type_name(act);
	bool arr = t && t->type == KS_JT_ARR;

	if (!t)
		return 0;
	if (!arr && t->type != KS_JT_STR)
		return fail(d, "event.type: expected a string or an array of strings");
	for (v = arr ? ks_jr_first(d->r, t) : t; v; v = arr ? ks_jr_next(d->r, v) : NULL)
		if (v->type != KS_JT_STR || strcmp(v->s, want))
			return fail(d, "event.type: a %s event is \"%s\" (Elastic Defend's "
				    "type of the action)", ks_ecs_action_name(act), want);
	return 0;
}

/*
 * data_stream.dataset: Kestrel derives it from the category as Elastic
 * Defend sets it (endpoint.events.process, ...), so a record of another
 * dataset (auditd_manager.auditd, ...) is an error rather than events a
 * rule testing the dataset would read as Defend's.
 */
static int dec_dataset(struct dec *d, const char *cat)
{
	const char *s;
	size_t len;
	int r = get_str(d, P_DATASET, &s, &len);

	if (r <= 0)
		return r;
	if (strncmp(s, "endpoint.events.", 16) || strcmp(s + 16, cat))
		return fail(d, "data_stream.dataset: a %s event is in "
			    "\"endpoint.events.%s\" (Elastic Defend's dataset "
			    "of the category)", cat, cat);
	return 0;
}

static int dec_event(struct dec *d)
{
	const char *s, *cs, *as;
	uint64_t ts;
	size_t len;
	int c, a, r;

	if ((r = get_str(d, P_TIMESTAMP, &s, &len)) <= 0)
		return r ? -1 : fail(d, "@timestamp: missing");
	r = ks_ecs_parse_time(s, len, &ts);
	if (r == -ERANGE)
		return fail(d, "@timestamp: \"%s\" is out of range (1970-01-01T00:00:00Z to "
			    "2554-07-21T23:34:33.709551615Z)", s);
	if (r)
		return fail(d, "@timestamp: \"%s\" is not RFC 3339 "
			    "(2026-01-02T03:04:05.123456789Z)", s);
	d->ev->ts_ns = ts;
	if ((r = get_str1(d, P_EV_CATEGORY, &cs, &len)) <= 0)
		return r ? -1 : fail(d, "event.category: missing");
	if ((r = get_str(d, P_EV_ACTION, &as, &len)) <= 0)
		return r ? -1 : fail(d, "event.action: missing");
	if ((c = ks_ecs_category_parse(cs)) <= 0)
		return fail(d, "event.category: unknown value \"%s\"", cs);
	if ((a = ks_ecs_action_parse(as)) <= 0)
		return fail(d, "event.action: unknown value \"%s\"", as);
	if (!ks_ecs_action_valid((unsigned int)c, (unsigned int)a))
		return fail(d, "event.action: \"%s\" is not a %s action", as,
			    cs);
	d->ev->category = (__u8)c;
	d->ev->action = (__u8)a;
	if (dec_dataset(d, ks_ecs_category_name((unsigned int)c)))
		return -1;
	return dec_event_type(d, (unsigned int)a);
}

/* host.name of an input event: interned, index + 1 (0: none). */
static uint32_t host_intern(struct ks_ecs_ctx *ctx, const char *s)
{
	char **v;
	size_t i;

	for (i = ctx->n_hosts; i-- > 0;)	/* the recent ones first */
		if (!strcmp(ctx->hosts[i], s))
			return (uint32_t)i + 1;
	v = realloc(ctx->hosts, (ctx->n_hosts + 1) * sizeof(*v));
	if (!v)
		return 0;
	ctx->hosts = v;
	v[ctx->n_hosts] = strndup(s, KS_ECS_HOST_MAX - 1);
	return v[ctx->n_hosts] ? (uint32_t)++ctx->n_hosts : 0;
}

/* kestrel.process.{pid,mnt,net,user}_ns */
static int dec_ns(struct dec *d)
{
	static const enum dec_path keys[] = { P_PID_NS, P_MNT_NS, P_NET_NS, P_USER_NS };
	__u32 *to[] = { &d->ev->pid_ns, &d->ev->mnt_ns, &d->ev->net_ns, &d->ev->user_ns };
	int64_t ns;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		r = get_int(d, keys[i], 0, UINT32_MAX, &ns);
		if (r < 0)
			return -1;
		if (r > 0)
			*to[i] = (uint32_t)ns;
	}
	return 0;
}

/*
 * process.entry_leader.entry_meta.type, as Elastic Defend writes it: what
 * Kestrel reads it from is the pid namespace (rules-compiler/compare.c),
 * so "container" gives a record without kestrel.process.pid_ns one that is
 * not the host's (KS_PID_NS_REPLAY), the host's kinds the host's; a
 * record whose namespace says otherwise is refused.
 */
static int dec_entry_type(struct dec *d)
{
	static const char *const host[] = { "init", "sshd", "ssm", "kubelet",
		"teleport", "terminal", "console", "unknown" };
	const char *path = ks_dec_names[P_ENTRY_TYPE], *s;
	__u32 *ns = &d->ev->pid_ns, want;
	size_t len, i;
	int r = get_str(d, P_ENTRY_TYPE, &s, &len);

	if (r <= 0)
		return r;
	want = strcmp(s, "container") ? KS_PID_NS_HOST : KS_PID_NS_REPLAY;
	for (i = 0; want == KS_PID_NS_HOST && strcmp(s, host[i]); i++)
		if (i + 1 == ARRAY_SIZE(host))
			return fail(d, "%s: unknown value \"%s\"", path, s);
	if (!*ns)
		*ns = want;
	else if ((*ns == KS_PID_NS_HOST) != (want == KS_PID_NS_HOST))
		return fail(d, "%s: \"%s\", but kestrel.process.pid_ns %u is %s",
			    path, s, *ns, *ns == KS_PID_NS_HOST ? "the host's" :
			    "not the host's");
	return 0;
}

/*
 * container.id: the event is given the id's key (KS_CGROUP_REPLAY set, a
 * hash of the id, probed past another id's), as a live event its cgroup.
 */
static int dec_container(struct dec *d)
{
	uint64_t key;
	const char *s, *have;
	size_t len;
	int r = get_str(d, P_CONTAINER_ID, &s, &len);

	if (r <= 0)
		return r;
	if (!len || len >= KS_CONTAINER_ID_MAX)
		return fail(d, "container.id: must be 1 to %u bytes",
			    KS_CONTAINER_ID_MAX - 1);
	key = ks_fnv1a64(s, len, KS_FNV64_INIT);
	for (;; key++) {
		key = KS_CGROUP_REPLAY | (key & (KS_CGROUP_REPLAY - 1));
		have = ks_ecs_cgroup_get(d->ctx, key);
		if (!have || !strcmp(have, s))
			break;
	}
	r = have ? 0 : ks_ecs_cgroup_put(d->ctx, key, s);
	if (r == -E2BIG)
		return fail(d, "container.id: more than %u distinct values",
			    KS_ECS_CGROUPS_REPLAY);
	if (r)
		return fail(d, "container.id: out of memory");
	d->ev->cgroup_id = key;
	return 0;
}

static int dec_kestrel(struct dec *d)
{
	const struct ks_jn *a = jget(d, P_TRUNCATED), *v;
	const struct ks_field_info *fi;

	if (dec_ns(d) || dec_entry_type(d) || dec_container(d))
		return -1;
	/* what the kernel cut stays marked (counted once, at the cut) */
	for (v = a && a->type == KS_JT_ARR ? ks_jr_first(d->r, a) : NULL; v;
	     v = ks_jr_next(d->r, v)) {
		fi = v->type == KS_JT_STR ? ks_field_lookup(v->s) : NULL;
		if (fi && KS_F_IS_STR(fi->id) && !ks_ecs_is_path(fi->id))	/* paths: cut_head */
			d->ev->truncated |= (__u16)(1u << fi->id);
	}
	return 0;
}

static int dec_host(struct dec *d)
{
	const char *s;
	size_t len;
	int r = get_str(d, P_HOST_OS_TYPE, &s, &len);

	/* a constant the compiler decides rules with: another is an error */
	if (r > 0 && strcmp(s, KS_HOST_OS_TYPE))
		return fail(d, "host.os.type: Kestrel's events are \"%s\", not \"%s\"",
			    KS_HOST_OS_TYPE, s);
	if (r < 0)
		return -1;
	r = get_str(d, P_HOST_NAME, &s, &len);
	if (r > 0 && !d->ctx->host_set) {
		snprintf(d->ctx->host, sizeof(d->ctx->host), "%s", s);
		d->ctx->host_set = true;
	}
	if (r > 0)
		d->host = host_intern(d->ctx, s);
	return r < 0 ? -1 : 0;
}

/* An enriched array's elements NUL-separated (at most cap bytes, as a
 * live read): 1 for [], 0 with *len set, or -1. */
static int dec_user_array(struct dec *d, const char *path, const struct ks_jn *a,
			  char *buf, size_t cap, size_t *len)
{
	const struct ks_jn *v;

	*len = 0;
	for (v = ks_jr_first(d->r, a); v; v = ks_jr_next(d->r, v)) {
		if (v->type != KS_JT_STR || ks_jn_has_nul(v))
			return fail(d, "%s: expected an array of strings", path);
		if (*len + v->len + 1 > cap)
			return fail(d, "%s: more than %zu bytes", path, cap);
		memcpy(buf + *len, v->s, v->len);
		*len += v->len;
		buf[(*len)++] = 0;
	}
	if (!*len)
		return 1;	/* [] is null, as in Elastic */
	(*len)--;	/* the last element's NUL */
	return 0;
}

/* One enriched number (process.parent.args_count), noted as decimal text. */
static int dec_user_num(struct dec *d, unsigned int field, const struct ks_jn *a,
			const struct ks_field_info *f)
{
	char buf[24];
	int n;

	if (a->type != KS_JT_INT || !ks_field_in_range(f, a->i))
		return fail(d, "%s: expected an integer from %lld to %lld", f->name,
			    (long long)f->min, (long long)f->max);
	n = snprintf(buf, sizeof(buf), "%lld", (long long)a->i);
	return d->seq ? ks_ecs_user_note(d->ctx, d->seq, field, buf, (size_t)n) : 0;
}

/* One enriched value of the record: a string, a number, or an array. */
static int dec_user_one(struct dec *d, unsigned int field)
{
	const char *path = ks_dec_names[P_USER + field];
	const struct ks_jn *a = jget(d, (enum dec_path)(P_USER + field));
	const struct ks_field_info *f;
	size_t cap, len;
	char *buf;
	int r;

	if (!a)
		return 0;
	/* after the test: its pthread_once per absent field was 3 % of replay's time */
	f = ks_ecs_user_info(field);
	if (f->type == KS_T_NUM)
		return dec_user_num(d, field, a, f);
	if (f->boolean) {	/* noted as the text the interpreter compares */
		if (a->type != KS_JT_TRUE && a->type != KS_JT_FALSE)
			return fail(d, "%s: expected true or false", path);
		return d->seq ? ks_ecs_user_note(d->ctx, d->seq, field,
						 a->type == KS_JT_TRUE ? "true" : "false",
						 a->type == KS_JT_TRUE ? 4 : 5) : 0;
	}
	if (a->type == KS_JT_STR && !f->array) {
		if (ks_jn_has_nul(a))
			return fail(d, "%s: NUL byte in string", path);
		return d->seq ? ks_ecs_user_note(d->ctx, d->seq, field, a->s, a->len) : 0;
	}
	if (a->type != KS_JT_ARR || !f->array)
		return fail(d, "%s: expected %s", path, f->array ?
			    "an array of strings" : "a string");
	cap = field == KS_ECS_U_ENV_VARS ? KS_ECS_ENVBUF : KS_ECS_UBUF;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	r = dec_user_array(d, path, a, buf, cap, &len);
	if (!r && d->seq)
		r = ks_ecs_user_note(d->ctx, d->seq, field, buf, len);
	free(buf);
	return r < 0 ? r : 0;
}

/* host.id, process.working_directory, process.parent.args, user.name,
 * process.parent.command_line, process.parent.args_count, process.env_vars,
 * process.parent.working_directory, process.interactive and the parent's,
 * process.session_leader.name, process.group_leader.name,
 * destination.domain, agent.id */
static int dec_user_fields(struct dec *d)
{
	unsigned int i;
	int r;

	for (i = 0; i < KS_ECS_USER_N; i++) {
		r = dec_user_one(d, i);
		if (r == -ENOMEM)
			return fail(d, "%s: out of memory", ks_ecs_user_name(i));
		if (r)
			return -1;
	}
	return 0;
}

static int decode(struct ks_ecs_ctx *ctx, const struct ks_dec_index *x, struct ks_event *ev,
		  char *err, size_t errlen, uint32_t *host, uint64_t seq)
{
	struct dec d = { .ctx = ctx, .r = ctx->jr, .root = ks_jr_root(ctx->jr), .ev = ev,
			 .err = err, .errlen = errlen, .seq = seq, .x = x };

	memset(ev, 0, sizeof(*ev));
	ev->source = KS_SRC_REPLAY;
	if (d.root->type != KS_JT_OBJ) {
		fail(&d, "expected a JSON object");
		goto bad;
	}
	if (dec_event(&d) || dec_process(&d) || dec_parent(&d) ||
	    dec_user(&d) || dec_file(&d) || dec_net(&d) ||
	    dec_observer(&d) || dec_payload(&d) || dec_host(&d) || dec_kestrel(&d) ||
	    dec_user_fields(&d))
		goto bad;
	ctx->stats.events++;
	if (host)
		*host = d.host;
	return 0;
bad:
	if (seq)
		ks_ecs_user_drop(ctx, seq);
	ctx->stats.errors++;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Event JSONL                                                        */

static bool blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* What jansson says about a line the reader rejected (the cold path). */
static __attribute__((noinline)) void json_message(const char *line, size_t len, char *err,
						   size_t errlen)
{
	json_error_t jerr;
	json_t *obj;

	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (obj) {	/* the reader and jansson disagree: fuzz_events looks for this */
		json_decref(obj);
		snprintf(err, errlen, "invalid JSON");
		return;
	}
	snprintf(err, errlen, "invalid JSON at column %d: %s", jerr.column, jerr.text);
}

/*
 * A line the one-pass indexer takes (loader/ecs_index.c: the shape of
 * every line Kestrel writes) is parsed and indexed at once; any other
 * goes through the whole reader and its tape is indexed after, and a line
 * the reader rejects gets jansson's message. Both give the same nodes at
 * every path (fuzz_events checks), so decode() cannot tell them apart.
 */
static int read_line(struct ks_ecs_ctx *ctx, const char *line, size_t len,
		     struct ks_event *ev, char *err, size_t errlen, uint32_t *host,
		     uint64_t seq)
{
	struct ks_dec_index x;

	if (!ctx->jr && !(ctx->jr = calloc(1, sizeof(*ctx->jr)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!ks_dec_one_pass || ks_dec_index_line(&x, ctx->jr, line, len)) {
		if (ks_jr_parse(ctx->jr, line, len)) {
			json_message(line, len, err, errlen);
			return -1;
		}
		ks_dec_index_tape(&x, ctx->jr);
	}
	return decode(ctx, &x, ev, err, errlen, host, seq);
}

int ks_ecs_decode_line(struct ks_ecs_ctx *ctx, const char *line, size_t len,
		       struct ks_event *ev, char *err, size_t errlen)
{
	return read_line(ctx, line, len, ev, err, errlen, NULL, 0);
}

/*
 * Lines of the input. A regular file is read in big chunks into one
 * buffer and each line decoded where it lies: getline() copied every
 * line out of stdio's buffer, scanning it twice (getline was 6.7 % of
 * kload replay's time in ks_replay_events, half of it the read()s, which
 * stay; bench/profile/replay5-lines.txt). Anything else
 * (a pipe, a terminal, a memory stream) goes by getline(), so that a
 * line is decoded as soon as it has come.
 */
#define KS_JSONL_CHUNK	(1u << 20)

struct lines {
	FILE *in;
	char *buf;
	size_t cap, have, pos;	/* bulk: bytes in buf, the next line's start */
	bool bulk, eof;
};

static bool regular_file(FILE *in)
{
	struct stat st;
	int fd = fileno(in);

	return fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode);
}

/* The unread bytes to the front of the buffer, then as many more as fit. */
static int refill(struct lines *l)
{
	size_t want, got;
	char *b;

	if (l->pos) {	/* (none before the first read: no buffer yet) */
		memmove(l->buf, l->buf + l->pos, l->have - l->pos);
		l->have -= l->pos;
		l->pos = 0;
	}
	if (l->have == l->cap) {	/* a line longer than the buffer */
		b = realloc(l->buf, l->cap ? 2 * l->cap : KS_JSONL_CHUNK);
		if (!b)
			return -ENOMEM;
		l->buf = b;
		l->cap = l->cap ? 2 * l->cap : KS_JSONL_CHUNK;
	}
	want = l->cap - l->have;
	got = fread(l->buf + l->have, 1, want, l->in);
	l->have += got;
	l->eof = got < want;	/* a file's fread is short only at its end, or on an error */
	return 0;
}

/* The next line, without its '\n': 1; 0 at the end; -errno. */
static int next_line(struct lines *l, const char **line, size_t *len)
{
	const char *nl;
	ssize_t n;
	int err;

	if (!l->bulk) {
		n = getline(&l->buf, &l->cap, l->in);
		if (n < 0)
			return 0;
		*line = l->buf;
		*len = (size_t)n - (n && l->buf[n - 1] == '\n');
		return 1;
	}
	for (;;) {
		nl = l->pos < l->have ? memchr(l->buf + l->pos, '\n', l->have - l->pos) : NULL;
		if (nl || (l->eof && l->pos < l->have)) {
			*line = l->buf + l->pos;
			*len = nl ? (size_t)(nl - *line) : l->have - l->pos;
			l->pos += *len + (nl != NULL);
			return 1;
		}
		if (l->eof)
			return 0;
		err = refill(l);
		if (err)
			return err;
	}
}

int ks_ecs_read_jsonl(FILE *in, const char *name, ks_ecs_event_cb cb,
		      void *arg, struct ks_ecs_ctx *ctx,
		      unsigned long *skipped, FILE *errout)
{
	struct ks_event *ev = malloc(sizeof(*ev));
	struct lines l = { .in = in, .bulk = regular_file(in) };
	unsigned long lineno = 0, nskip = 0;
	const char *line;
	char err[512];
	size_t len;
	uint32_t host;
	int ret = 0, got;

	if (!ev)
		return -ENOMEM;
	ctx->n_runs = 0;	/* record numbers start over */
	ks_ecs_user_reset(ctx);
	while ((got = next_line(&l, &line, &len)) > 0) {
		lineno++;
		if (blank(line, len))
			continue;
		if (read_line(ctx, line, len, ev, err, sizeof(err), &host, lineno)) {
			if (errout)
				fprintf(errout, "%s:%lu: error: %s\n", name,
					lineno, err);
			nskip++;
			continue;
		}
		ev->seq = lineno;
		ks_ecs_host_note(ctx, lineno, host);
		ret = cb(arg, ev, lineno);
		if (ret)
			goto out;
	}
	if (got < 0 || ferror(in)) {
		ret = got < 0 ? got : -(errno ?: EIO);
		if (errout)
			fprintf(errout, "%s:%lu: error: read failed: %s\n",
				name, lineno + 1, strerror(-ret));
	}
out:
	if (skipped)
		*skipped += nskip;
	free(l.buf);
	free(ev);
	return ret;
}
