// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ECS codec: nested ECS JSON (SPEC "Event JSONL") <-> struct ks_event,
 * and the Alert JSONL object.
 *
 * struct ks_event is the one event representation (kernel, replay,
 * interpreter, alerts), so decoding must produce exactly what the hooks
 * would have produced. The mapping, field by field:
 *
 *  @timestamp        RFC 3339 ("T"/"t", "Z"/"z" or +hh:mm/-hh:mm, 0..9
 *                    fraction digits) -> ts_ns, epoch ns. Output always
 *                    has 9 digits and "Z".
 *  event.category/action  -> enums; both required, the pair must be one
 *                    of SPEC "Event schema".
 *  process.*         KS_P_PROCESS if pid, entity_id, name, executable,
 *                    args, command_line or args_count is given.
 *  process.name      a sub-range of exe when it equals the executable's
 *                    basename (what the hooks do), otherwise a copy in
 *                    comm cut to 15 bytes like task->comm. Absent but
 *                    executable given: derived as the basename.
 *                    process.parent.name: the same with pexe / pcomm.
 *  process.args      elements NUL-separated in args; str[ARGS] covers them
 *                    without a trailing NUL. process.command_line is not
 *                    stored: str[COMMAND_LINE] is the same range and
 *                    readers show each NUL as ' '. Given command_line but
 *                    no args, it is split at every ' ' (runs of spaces
 *                    give empty elements) so that joining gives back the
 *                    exact text the rules saw. Given both, args win.
 *  process.args_count  the given value, else the number of elements given
 *                    (before any truncation).
 *  entity_id         "<pid>-<start_ns>" (decimal) -> KS_ENTITY_KEY(pid,
 *                    start_ns) and start_ns; any other string -> FNV-1a 64
 *                    and remembered in ctx. A "<pid>-<start_ns>" string
 *                    that would not print back identically (leading zeros,
 *                    pid other than process.pid) is remembered too. A
 *                    missing process.pid is taken from the entity_id.
 *                    Key 0 ("0-0") means absent.
 *  user.id/group.id  integers or decimal strings (ECS keeps ids as
 *                    keywords); either sets KS_P_USER and both print.
 *  file.path         KS_P_FILE. file.name / file.extension are always
 *                    sub-ranges of the stored path: the JSON values are
 *                    used when consistent with it (so "tar.gz" survives),
 *                    otherwise derived from it (basename; text after its
 *                    last '.', none for ".bashrc" or "a.").
 *  source/destination.ip  text v4 or v6 -> 16 bytes (v4 as ::ffff:a.b.c.d),
 *                    family 4 or 6 (both addresses must agree). Addresses
 *                    all zero and ports 0 are not printed.
 *  network.transport name or protocol number; network.direction
 *                    ingress (1) / egress (2).
 *  observer.ingress.interface.name/.id  -> iface, ifindex.
 *  payload           JSON string (its UTF-8 bytes, \u0000 allowed) or
 *                    {"base64": "..."} for arbitrary bytes.
 *  paths             executable, parent executable, file.path and
 *                    file.target_path too long for their slot are cut on
 *                    the left as the kernel does (maps/ks_abi.h): printed
 *                    as head "..." tail, kestrel.cut_head.<field> giving
 *                    the head's length; kestrel.truncated lists every cut
 *                    field. A longer value given in JSON is laid out the
 *                    same way (head KS_PATH_HEAD bytes).
 *  kestrel.process.mnt_ns  mount namespace id (the nsfs inode number of
 *                    /proc/PID/ns/mnt) of the process: every path of the
 *                    event is as that process sees it from its root in
 *                    that namespace. ECS has no such field. 0: absent.
 *
 * Text values must not contain NUL (the kernel cannot produce one there);
 * payload may. Unknown fields are ignored; JSON null counts as absent.
 * Keys may be nested or dotted ("process.pid") at any level.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kestrel/ecs.h"
#include "kestrel/rules.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NS_PER_SEC	1000000000ull

struct ks_ecs_ent {
	uint64_t key;
	char *s;		/* NULL: empty slot */
};

struct name_val {
	const char *name;
	unsigned int val;
};

static const char *const cat_names[KS_CAT_N] = {
	[KS_CAT_PROCESS] = "process",
	[KS_CAT_FILE] = "file",
	[KS_CAT_NETWORK] = "network",
};

static const char *const act_names[KS_ACT_N] = {
	[KS_ACT_EXEC] = "exec",
	[KS_ACT_EXIT] = "exit",
	[KS_ACT_FORK] = "fork",
	[KS_ACT_OPEN] = "open",
	[KS_ACT_CREATION] = "creation",
	[KS_ACT_DELETION] = "deletion",
	[KS_ACT_RENAME] = "rename",
	[KS_ACT_MODIFICATION] = "modification",
	[KS_ACT_CONNECT] = "connect",
	[KS_ACT_ACCEPT] = "accept",
	[KS_ACT_PACKET] = "packet",
};

/* Output uses the first name of a value. */
static const struct name_val transports[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "tcp", 6 }, { "udp", 17 },
	{ "gre", 47 }, { "ipv6-icmp", 58 }, { "icmpv6", 58 }, { "sctp", 132 },
};

/* ECS also allows inbound/outbound for the same two directions. */
static const struct name_val directions[] = {
	{ "ingress", 1 }, { "egress", 2 }, { "inbound", 1 }, { "outbound", 2 },
};

/* ------------------------------------------------------------------ */
/* names                                                              */

const char *ks_ecs_category_name(unsigned int cat)
{
	return cat < KS_CAT_N ? cat_names[cat] : NULL;
}

const char *ks_ecs_action_name(unsigned int act)
{
	return act < KS_ACT_N ? act_names[act] : NULL;
}

static int lookup_name(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return (int)i;
	return -1;
}

int ks_ecs_category_parse(const char *s)
{
	return lookup_name(cat_names, KS_CAT_N, s);
}

int ks_ecs_action_parse(const char *s)
{
	return lookup_name(act_names, KS_ACT_N, s);
}

bool ks_ecs_action_valid(unsigned int cat, unsigned int act)
{
	switch (cat) {
	case KS_CAT_PROCESS:
		return act >= KS_ACT_EXEC && act <= KS_ACT_FORK;
	case KS_CAT_FILE:
		return act >= KS_ACT_OPEN && act <= KS_ACT_MODIFICATION;
	case KS_CAT_NETWORK:
		return act >= KS_ACT_CONNECT && act <= KS_ACT_PACKET;
	default:
		return false;
	}
}

static const char *nv_name(const struct name_val *t, size_t n, unsigned int v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].val == v)
			return t[i].name;
	return NULL;
}

static int nv_parse(const struct name_val *t, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(t[i].name, s))
			return (int)t[i].val;
	return -1;
}

/* ------------------------------------------------------------------ */
/* time                                                               */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned int *m,
			    unsigned int *d)
{
	int64_t era;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned int days_in_month(unsigned int y, unsigned int m)
{
	static const unsigned char dim[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return dim[m - 1] + (m == 2 && leap);
}

/* Exactly n decimal digits. */
static int digits(const char *s, size_t n, unsigned int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned int)(s[i] - '0');
	}
	return 0;
}

/* "+hh:mm" / "-hh:mm" / "Z" at s[0..len): offset east of UTC in seconds. */
static int parse_offset(const char *s, size_t len, int64_t *off)
{
	unsigned int oh, om;

	if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*off = 0;
		return 0;
	}
	if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
	    digits(s + 1, 2, &oh) || digits(s + 4, 2, &om) || oh > 23 ||
	    om > 59)
		return -1;
	*off = (int64_t)(oh * 3600 + om * 60) * (s[0] == '-' ? -1 : 1);
	return 0;
}

int ks_ecs_parse_time(const char *s, size_t len, uint64_t *ns)
{
	unsigned int y, mo, d, h, mi, sec;
	uint64_t frac = 0;
	int64_t secs, off;
	size_t i = 19, nd = 0;

	if (len < 20 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)	/* 60: leap second */
		return -EINVAL;

	if (s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
			if (nd == 9)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(s[i] - '0');
		}
		if (nd == 0)
			return -EINVAL;
		for (; nd < 9; nd++)
			frac *= 10;
	}
	if (parse_offset(s + i, len - i, &off))
		return -EINVAL;

	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       off;
	if (secs < 0 || (uint64_t)secs > (UINT64_MAX - frac) / NS_PER_SEC)
		return -ERANGE;	/* well-formed, but not a u64 of epoch ns */
	*ns = (uint64_t)secs * NS_PER_SEC + frac;
	return 0;
}

void ks_ecs_format_time(uint64_t ns, char *buf)
{
	uint64_t secs = ns / NS_PER_SEC, sod = secs % 86400;
	unsigned int m, d;
	int64_t y;

	civil_from_days((int64_t)(secs / 86400), &y, &m, &d);
	snprintf(buf, KS_ECS_TIME_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%09uZ",
		 (unsigned int)y % 10000, m % 100, d % 100,
		 (unsigned int)(sod / 3600), (unsigned int)(sod / 60 % 60),
		 (unsigned int)(sod % 60), (unsigned int)(ns % NS_PER_SEC));
}

/* ------------------------------------------------------------------ */
/* context and entity intern table                                    */

int ks_ecs_init(struct ks_ecs_ctx *ctx, const char *host)
{
	memset(ctx, 0, sizeof(*ctx));
	if (host) {
		snprintf(ctx->host, sizeof(ctx->host), "%s", host);
		ctx->host_set = true;
	}
	return 0;
}

void ks_ecs_free(struct ks_ecs_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->cap_ents; i++)
		free(ctx->ents[i].s);
	free(ctx->ents);
	for (i = 0; i < ctx->n_hosts; i++)
		free(ctx->hosts[i]);
	free(ctx->hosts);
	free(ctx->runs);
	ctx->hosts = NULL;
	ctx->runs = NULL;
	ctx->n_hosts = ctx->n_runs = ctx->cap_runs = 0;
	ctx->ents = NULL;
	ctx->n_ents = ctx->cap_ents = 0;
}

const char *ks_ecs_host(struct ks_ecs_ctx *ctx)
{
	if (!ctx->host_set) {
		if (gethostname(ctx->host, sizeof(ctx->host) - 1))
			snprintf(ctx->host, sizeof(ctx->host), "localhost");
		ctx->host_set = true;
	}
	return ctx->host;
}

unsigned long ks_ecs_truncations_total(const struct ks_ecs_ctx *ctx)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < KS_F_STR_N; i++)
		n += ctx->stats.truncations[i];
	return n;
}

static uint64_t fnv1a64(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Open addressing, linear probing; cap is a power of two, load <= 1/2. */
static struct ks_ecs_ent *ent_find(struct ks_ecs_ent *tab, size_t cap,
				   uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 29)) & (cap - 1);

	while (tab[i].s && tab[i].key != key)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int ent_grow(struct ks_ecs_ctx *ctx)
{
	size_t cap = ctx->cap_ents ? ctx->cap_ents * 2 : 64, i;
	struct ks_ecs_ent *tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return -1;
	for (i = 0; i < ctx->cap_ents; i++)
		if (ctx->ents[i].s)
			*ent_find(tab, cap, ctx->ents[i].key) = ctx->ents[i];
	free(ctx->ents);
	ctx->ents = tab;
	ctx->cap_ents = cap;
	return 0;
}

static const char *intern_get(const struct ks_ecs_ctx *ctx, uint64_t key)
{
	if (!ctx->cap_ents)
		return NULL;
	return ent_find(ctx->ents, ctx->cap_ents, key)->s;
}

/* Returns 0, -ENOMEM, or -EEXIST if key names another string already. */
static int intern_put(struct ks_ecs_ctx *ctx, uint64_t key, const char *s)
{
	struct ks_ecs_ent *e;

	if ((ctx->n_ents + 1) * 2 > ctx->cap_ents && ent_grow(ctx))
		return -ENOMEM;
	e = ent_find(ctx->ents, ctx->cap_ents, key);
	if (e->s)
		return strcmp(e->s, s) ? -EEXIST : 0;
	e->s = strdup(s);
	if (!e->s)
		return -ENOMEM;
	e->key = key;
	ctx->n_ents++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* decoder                                                            */

struct dec {
	struct ks_ecs_ctx *ctx;
	const json_t *root;
	struct ks_event *ev;
	char *err;
	size_t errlen;
	uint32_t host;		/* ks_ecs_ctx.hosts index + 1 of host.name, 0 if none */
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

/*
 * Value at a dotted ECS path, through nested objects or a literal dotted
 * key at any level (some shippers flatten). JSON null counts as absent.
 */
static const json_t *jget(const json_t *obj, const char *path)
{
	const json_t *v;
	const char *dot;

	while (json_is_object(obj)) {
		v = json_object_get(obj, path);
		if (v)
			return json_is_null(v) ? NULL : v;
		dot = strchr(path, '.');
		if (!dot)
			return NULL;
		obj = json_object_getn(obj, path, (size_t)(dot - path));
		path = dot + 1;
	}
	return NULL;
}

/* Text value at path: 0 absent, 1 found, -1 error. */
static int get_str(struct dec *d, const char *path, const char **s,
		   size_t *len)
{
	const json_t *v = jget(d->root, path);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail(d, "%s: expected a string", path);
	*s = json_string_value(v);
	*len = json_string_length(v);
	if (memchr(*s, '\0', *len))
		return fail(d, "%s: NUL byte in string", path);
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
static int get_int(struct dec *d, const char *path, int64_t min, int64_t max,
		   int64_t *out)
{
	const json_t *v = jget(d->root, path);
	int64_t x;

	if (!v)
		return 0;
	if (json_is_integer(v))
		x = json_integer_value(v);
	else if (!json_is_string(v) || parse_dec(json_string_value(v), &x))
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

static bool is_path(unsigned int field)
{
	return field < KS_F_STR_N && (KS_F_PATH_MASK & (1u << field));
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
	if (len > cap && is_path(field)) {
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
static int dec_cut(struct dec *d, const char *path, unsigned int field, char *slot,
		   const char *s, size_t len)
{
	char key[80];
	int64_t h;
	int r;

	snprintf(key, sizeof(key), "kestrel.cut_head.%s", path);
	/* the kernel's head fills what the tail leaves: KS_PATH_HEAD or more */
	r = get_int(d, key, 0, KS_PATH_MAX - 1, &h);
	if (r <= 0)
		return r;
	if ((size_t)h + 3 > len || memcmp(s + h, "...", 3))
		return fail(d, "%s: a cut path is head \"...\" tail, with %s bytes of head",
			    path, key);
	put_cut_path(d, field, slot, s, (size_t)h, s + h + 3, len - (size_t)h - 3);
	return 1;
}

/* Text field into its slot (keeping a NUL after it): 0/1/-1 as get_str. */
static int dec_text(struct dec *d, const char *path, unsigned int field,
		    char *slot, size_t size)
{
	const char *s;
	size_t len;
	int r = get_str(d, path, &s, &len), cut = 0;

	if (r > 0 && is_path(field))
		cut = dec_cut(d, path, field, slot, s, len);
	if (cut < 0)
		return -1;
	if (r > 0 && !cut)
		put_str(d, field, slot, size - 1, s, len);
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
static int dec_name(struct dec *d, const char *path, unsigned int field,
		    unsigned int exe_field, char *comm)
{
	struct ks_event *ev = d->ev;
	const char *s, *base;
	size_t len;
	int r = get_str(d, path, &s, &len);

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

static int args_from_array(struct dec *d, const json_t *a, struct argbuf *b)
{
	const json_t *v;
	const char *s;
	size_t i, len;

	if (!json_is_array(a))
		return fail(d, "process.args: expected an array of strings");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return fail(d, "process.args[%zu]: expected a string",
				    i);
		s = json_string_value(v);
		len = json_string_length(v);
		if (memchr(s, '\0', len))
			return fail(d, "process.args[%zu]: NUL byte in string",
				    i);
		arg_add(b, s, len);
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
	const json_t *a = jget(d->root, "process.args");
	const char *s;
	size_t len;
	int r;

	if (a) {
		if (args_from_array(d, a, &b))
			return -1;
	} else {
		r = get_str(d, "process.command_line", &s, &len);
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

/* "<pid>-<start_ns>" in decimal, each part fitting its type. */
static bool parse_pid_start(const char *s, uint32_t *pid, uint64_t *start)
{
	unsigned long long p, st;
	const char *dash = strchr(s, '-');
	char *end;

	if (!dash || dash == s || s[0] < '0' || s[0] > '9' ||
	    dash[1] < '0' || dash[1] > '9')
		return false;
	errno = 0;
	p = strtoull(s, &end, 10);
	if (errno || end != dash || p > UINT32_MAX)
		return false;
	st = strtoull(dash + 1, &end, 10);
	if (errno || *end)
		return false;
	*pid = (uint32_t)p;
	*start = st;
	return true;
}

/*
 * process.entity_id / process.parent.entity_id. *pid is the event's pid
 * for that process; filled from the id when the JSON did not give it.
 */
static int dec_entity(struct dec *d, const char *path, uint32_t *pid,
		      bool pid_found, __u64 *key, __u64 *start)
{
	char canon[32];
	const char *s;
	size_t len;
	uint32_t p;
	uint64_t st;
	int r = get_str(d, path, &s, &len);

	if (r <= 0)
		return r;
	if (parse_pid_start(s, &p, &st)) {
		*key = KS_ENTITY_KEY(p, st);
		*start = st;
		if (!pid_found)
			*pid = p;
		snprintf(canon, sizeof(canon), "%" PRIu32 "-%" PRIu64, p, st);
		if (*pid == p && !strcmp(canon, s))
			return 1;
	} else {
		*key = fnv1a64(s, len);
	}
	r = intern_put(d->ctx, *key, s);
	if (r == -EEXIST)
		return fail(d, "%s: \"%s\" collides with another entity_id",
			    path, s);
	if (r)
		return fail(d, "%s: out of memory", path);
	return 1;
}

static int dec_process(struct dec *d)
{
	struct ks_event *ev = d->ev;
	int64_t v;
	int r, any, pid_found;

	pid_found = any = get_int(d, "process.pid", 0, UINT32_MAX, &v);
	if (any < 0)
		return -1;
	if (pid_found)
		ev->pid = (uint32_t)v;
	r = dec_text(d, "process.executable", KS_F_PROCESS_EXECUTABLE,
		     ev->exe, sizeof(ev->exe));
	if (r < 0)
		return -1;
	any |= r;
	if ((r = dec_name(d, "process.name", KS_F_PROCESS_NAME,
			  KS_F_PROCESS_EXECUTABLE, ev->comm)) < 0)
		return -1;
	any |= r | ref_set(ev, KS_F_PROCESS_NAME);
	if ((r = dec_args(d)) < 0)
		return -1;
	any |= r;
	if ((r = get_int(d, "process.args_count", 0, UINT32_MAX, &v)) < 0)
		return -1;
	if (r)
		ev->args_count = (uint32_t)v;
	any |= r;
	r = dec_entity(d, "process.entity_id", &ev->pid, pid_found,
		       &ev->entity, &ev->start_ns);
	if (r < 0)
		return -1;
	if (any | r)
		ev->present |= KS_P_PROCESS;

	if ((r = get_int(d, "process.exit_code", INT32_MIN, INT32_MAX, &v)) < 0)
		return -1;
	if (r) {
		ev->exit_code = (int32_t)v;
		ev->present |= KS_P_EXIT_CODE;
	}
	return 0;
}

static int dec_parent(struct dec *d)
{
	struct ks_event *ev = d->ev;
	int64_t v;
	int r, any, pid_found;

	pid_found = any = get_int(d, "process.parent.pid", 0, UINT32_MAX, &v);
	if (any < 0)
		return -1;
	if (pid_found)
		ev->ppid = (uint32_t)v;
	r = dec_text(d, "process.parent.executable", KS_F_PARENT_EXECUTABLE,
		     ev->pexe, sizeof(ev->pexe));
	if (r < 0)
		return -1;
	any |= r;
	if ((r = dec_name(d, "process.parent.name", KS_F_PARENT_NAME,
			  KS_F_PARENT_EXECUTABLE, ev->pcomm)) < 0)
		return -1;
	any |= r | ref_set(ev, KS_F_PARENT_NAME);
	r = dec_entity(d, "process.parent.entity_id", &ev->ppid, pid_found,
		       &ev->parent_entity, &ev->parent_start_ns);
	if (r < 0)
		return -1;
	if (any | r)
		ev->present |= KS_P_PARENT;
	return 0;
}

static int dec_user(struct dec *d)
{
	int64_t v;
	int r, any;

	if ((any = get_int(d, "user.id", 0, UINT32_MAX, &v)) < 0)
		return -1;
	if (any)
		d->ev->uid = (uint32_t)v;
	if ((r = get_int(d, "group.id", 0, UINT32_MAX, &v)) < 0)
		return -1;
	if (r)
		d->ev->gid = (uint32_t)v;
	if (any | r)
		d->ev->present |= KS_P_USER;
	return 0;
}

/* file.extension: the given one if name ends in "." ext, else derived. */
static void file_ext(struct dec *d)
{
	struct ks_event *ev = d->ev;
	const char *name = (const char *)ev + ev->str[KS_F_FILE_NAME].off;
	size_t nlen = ev->str[KS_F_FILE_NAME].len, i;
	const char *s;
	size_t len;

	if (get_str(d, "file.extension", &s, &len) > 0 && len &&
	    len + 1 < nlen && name[nlen - len - 1] == '.' &&
	    !memcmp(name + nlen - len, s, len)) {
		set_ref(ev, KS_F_FILE_EXTENSION, name + nlen - len, len);
		return;
	}
	for (i = nlen; i > 0 && name[i - 1] != '.'; i--)
		;
	if (i > 1 && i < nlen)
		set_ref(ev, KS_F_FILE_EXTENSION, name + i, nlen - i);
}

static int dec_file(struct dec *d)
{
	struct ks_event *ev = d->ev;
	const char *s;
	size_t len;
	int r;

	r = dec_text(d, "file.path", KS_F_FILE_PATH, ev->path,
		     sizeof(ev->path));
	if (r < 0)
		return -1;
	if (r) {
		ev->present |= KS_P_FILE;
		/* The JSON's file.name can only differ by being wrong. */
		if (get_str(d, "file.name", &s, &len) < 0)
			return -1;
		basename_ref(ev, KS_F_FILE_PATH, KS_F_FILE_NAME);
		if (get_str(d, "file.extension", &s, &len) < 0)
			return -1;
		file_ext(d);
	} else if (jget(d->root, "file.name") ||
		   jget(d->root, "file.extension")) {
		return fail(d, "file.name/file.extension without file.path");
	}

	r = dec_text(d, "file.target_path", KS_F_FILE_TARGET_PATH,
		     ev->target, sizeof(ev->target));
	if (r < 0)
		return -1;
	if (r)
		ev->present |= KS_P_TARGET;
	return 0;
}

/* Text address -> 16 bytes (v4 mapped); family 4 or 6. */
static int dec_ip(struct dec *d, const char *path, uint8_t *addr, int *fam)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	const char *s;
	size_t len;
	int r = get_str(d, path, &s, &len);

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

static int dec_port(struct dec *d, const char *path, __u16 *port)
{
	int64_t v;
	int r = get_int(d, path, 0, 65535, &v);

	if (r > 0)
		*port = (__u16)v;
	return r;
}

/* network.transport: a name or an IP protocol number (number or string). */
static int dec_transport(struct dec *d)
{
	const json_t *v = jget(d->root, "network.transport");
	int64_t x;
	int p;

	if (!v)
		return 0;
	if (json_is_string(v) &&
	    (p = nv_parse(transports, ARRAY_SIZE(transports),
			  json_string_value(v))) >= 0) {
		d->ev->transport = (__u8)p;
		return 1;
	}
	if (get_int(d, "network.transport", 0, 255, &x) < 0)
		return fail(d, "network.transport: unknown protocol");
	d->ev->transport = (__u8)x;
	return 1;
}

static int dec_direction(struct dec *d)
{
	const char *s;
	size_t len;
	int r = get_str(d, "network.direction", &s, &len);

	if (r <= 0)
		return r;
	r = nv_parse(directions, ARRAY_SIZE(directions), s);
	if (r < 0)
		return fail(d, "network.direction: unknown value \"%s\"", s);
	d->ev->direction = (__u8)r;
	return 1;
}

static int dec_net(struct dec *d)
{
	struct ks_event *ev = d->ev;
	int fam = 0, r, any = 0;

	if ((r = dec_ip(d, "source.ip", ev->saddr, &fam)) < 0)
		return -1;
	any |= r;
	if ((r = dec_ip(d, "destination.ip", ev->daddr, &fam)) < 0)
		return -1;
	any |= r;
	ev->family = (__u8)fam;
	if ((r = dec_port(d, "source.port", &ev->sport)) < 0)
		return -1;
	any |= r;
	if ((r = dec_port(d, "destination.port", &ev->dport)) < 0)
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

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
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
	const json_t *v = jget(d->root, "payload"), *b;
	size_t len;

	if (!v)
		return 0;
	if (json_is_string(v)) {
		put_str(d, KS_F_PAYLOAD, ev->payload, sizeof(ev->payload),
			json_string_value(v), json_string_length(v));
	} else if ((b = json_object_get(v, "base64")) && json_is_string(b)) {
		if (b64_decode(json_string_value(b), json_string_length(b),
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

	r = dec_text(d, "observer.ingress.interface.name", KS_F_IFACE_NAME,
		     ev->iface, sizeof(ev->iface));
	if (r < 0)
		return -1;
	if (r)
		ev->present |= KS_P_IFACE;
	r = get_int(d, "observer.ingress.interface.id", 0, UINT32_MAX, &v);
	if (r < 0)
		return -1;
	if (r)
		ev->ifindex = (uint32_t)v;
	return 0;
}

static int dec_event(struct dec *d)
{
	const char *s, *cs, *as;
	uint64_t ts;
	size_t len;
	int c, a, r;

	if ((r = get_str(d, "@timestamp", &s, &len)) <= 0)
		return r ? -1 : fail(d, "@timestamp: missing");
	r = ks_ecs_parse_time(s, len, &ts);
	if (r == -ERANGE)
		return fail(d, "@timestamp: \"%s\" is out of range (1970-01-01T00:00:00Z to "
			    "2554-07-21T23:34:33.709551615Z)", s);
	if (r)
		return fail(d, "@timestamp: \"%s\" is not RFC 3339 "
			    "(2026-01-02T03:04:05.123456789Z)", s);
	d->ev->ts_ns = ts;
	if ((r = get_str(d, "event.category", &cs, &len)) <= 0)
		return r ? -1 : fail(d, "event.category: missing");
	if ((r = get_str(d, "event.action", &as, &len)) <= 0)
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
	return 0;
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

static int dec_kestrel(struct dec *d)
{
	const json_t *a = jget(d->root, "kestrel.truncated"), *v;
	const struct ks_field_info *fi;
	int64_t ns;
	size_t i;
	int r = get_int(d, "kestrel.process.mnt_ns", 0, UINT32_MAX, &ns);

	if (r < 0)
		return -1;
	if (r > 0)
		d->ev->mnt_ns = (uint32_t)ns;
	/* what the kernel cut stays marked (counted once, at the cut) */
	json_array_foreach(a, i, v) {
		fi = json_is_string(v) ? ks_field_lookup(json_string_value(v)) : NULL;
		if (fi && KS_F_IS_STR(fi->id) && !is_path(fi->id))	/* paths: cut_head */
			d->ev->truncated |= (__u16)(1u << fi->id);
	}
	return 0;
}

static int dec_host(struct dec *d)
{
	const char *s;
	size_t len;
	int r = get_str(d, "host.name", &s, &len);

	if (r > 0 && !d->ctx->host_set) {
		snprintf(d->ctx->host, sizeof(d->ctx->host), "%s", s);
		d->ctx->host_set = true;
	}
	if (r > 0)
		d->host = host_intern(d->ctx, s);
	return r < 0 ? -1 : 0;
}

/*
 * Replayed events name their host through their record number (ev->seq):
 * runs of records with the same host.name, appended in input order.
 */
static void host_note(struct ks_ecs_ctx *ctx, uint64_t seq, uint32_t host)
{
	struct ks_ecs_host_run *v;

	if (ctx->n_runs && ctx->runs[ctx->n_runs - 1].host == host)
		return;
	if (ctx->n_runs == ctx->cap_runs) {
		size_t cap = ctx->cap_runs ? ctx->cap_runs * 2 : 16;

		v = realloc(ctx->runs, cap * sizeof(*v));
		if (!v)
			return;
		ctx->runs = v;
		ctx->cap_runs = cap;
	}
	ctx->runs[ctx->n_runs].seq = seq;
	ctx->runs[ctx->n_runs++].host = host;
}

/* host.name to print for ev: its own when it was replayed with one. */
static const char *event_host(struct ks_ecs_ctx *ctx, const struct ks_event *ev)
{
	size_t lo = 0, hi = ctx->n_runs, mid;

	if (ev->source != KS_SRC_REPLAY || !ev->seq || !hi || ctx->runs[0].seq > ev->seq)
		return ks_ecs_host(ctx);
	while (hi - lo > 1) {	/* the last run starting at or before seq */
		mid = (lo + hi) / 2;
		if (ctx->runs[mid].seq <= ev->seq)
			lo = mid;
		else
			hi = mid;
	}
	if (!ctx->runs[lo].host || ctx->runs[lo].host > ctx->n_hosts)
		return ks_ecs_host(ctx);
	return ctx->hosts[ctx->runs[lo].host - 1];
}

static int decode(struct ks_ecs_ctx *ctx, const json_t *obj, struct ks_event *ev,
		  char *err, size_t errlen, uint32_t *host)
{
	struct dec d = { ctx, obj, ev, err, errlen, 0 };

	memset(ev, 0, sizeof(*ev));
	ev->source = KS_SRC_REPLAY;
	if (!json_is_object(obj)) {
		fail(&d, "expected a JSON object");
		goto bad;
	}
	if (dec_event(&d) || dec_process(&d) || dec_parent(&d) ||
	    dec_user(&d) || dec_file(&d) || dec_net(&d) ||
	    dec_observer(&d) || dec_payload(&d) || dec_host(&d) || dec_kestrel(&d))
		goto bad;
	ctx->stats.events++;
	if (host)
		*host = d.host;
	return 0;
bad:
	ctx->stats.errors++;
	return -1;
}

int ks_ecs_from_json(struct ks_ecs_ctx *ctx, const json_t *obj,
		     struct ks_event *ev, char *err, size_t errlen)
{
	return decode(ctx, obj, ev, err, errlen, NULL);
}

/* ------------------------------------------------------------------ */
/* encoder                                                            */

struct enc {
	struct ks_ecs_ctx *ctx;
	const struct ks_event *ev;
	bool oom;
};

/* Ill-formed UTF-8 repaired into a copy (the rare case, out of line). */
static __attribute__((noinline)) json_t *jbytes_repair(const void *p, size_t len)
{
	char stackbuf[KS_UTF8_SANITIZED_MAX(KS_PAYLOAD_MAX)], *buf = stackbuf;
	json_t *v;
	size_t n;

	if (KS_UTF8_SANITIZED_MAX(len) > sizeof(stackbuf)) {
		buf = malloc(KS_UTF8_SANITIZED_MAX(len));
		if (!buf)
			return NULL;
	}
	n = ks_utf8_sanitize(p, len, buf);
	v = json_stringn_nocheck(buf, n);
	if (buf != stackbuf)
		free(buf);
	return v;
}

/* Any bytes -> JSON string: invalid UTF-8 becomes U+FFFD, NUL \u0000. */
static json_t *jbytes(const void *p, size_t len)
{
	if (ks_utf8_valid(p, len))
		return json_stringn_nocheck(p, len);
	return jbytes_repair(p, len);
}

static json_t *jtext(const char *s)
{
	return jbytes(s, strlen(s));
}

static void put(struct enc *e, json_t *o, const char *key, json_t *v)
{
	if (!o || !v || json_object_set_new(o, key, v))
		e->oom = true;
}

/* The child object key of o, created on first use. */
static json_t *child(struct enc *e, json_t *o, const char *key)
{
	json_t *c;

	if (!o)
		return NULL;
	c = json_object_get(o, key);
	if (c)
		return c;
	c = json_object();
	put(e, o, key, c);
	return c;
}

/* A string field's bytes, or NULL (with length 0) if out of the event. */
static const char *ref_bytes(const struct ks_event *ev, unsigned int field,
			     size_t *len)
{
	struct ks_strref r = ev->str[field];

	*len = 0;
	if (!r.off || (size_t)r.off + r.len > sizeof(*ev))
		return NULL;
	*len = r.len;
	return (const char *)ev + r.off;
}

static void put_ref(struct enc *e, json_t *o, const char *key,
		    unsigned int field)
{
	char buf[KS_PATH_MAX + 4];
	size_t len, h;
	const char *p = ref_bytes(e->ev, field, &len);

	if (!p)
		return;
	if (!is_path(field) || !(e->ev->truncated & (1u << field)) || len > KS_PATH_MAX) {
		put(e, o, key, jbytes(p, len));
		return;
	}
	/* a cut path: head "..." tail (the head starts the slot the tail ends) */
	h = e->ev->cut_head[KS_PATH_IDX(field)];
	if (h > KS_PATH_MAX - len)
		h = KS_PATH_MAX - len;
	memcpy(buf, p + len - KS_PATH_MAX, h);
	memcpy(buf + h, "...", 3);
	memcpy(buf + h + 3, p, len);
	put(e, o, key, jbytes(buf, h + 3 + len));
}

static void entity_text(struct ks_ecs_ctx *ctx, uint64_t key, uint32_t pid,
			uint64_t start, char *buf, size_t len)
{
	const char *s = intern_get(ctx, key);

	if (s)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%" PRIu32 "-%" PRIu64, pid, start);
}

static void put_entity(struct enc *e, json_t *o, uint64_t key, uint32_t pid,
		       uint64_t start)
{
	char buf[64];
	const char *s = intern_get(e->ctx, key);

	if (!key)
		return;
	if (s) {
		put(e, o, "entity_id", jtext(s));
		return;
	}
	entity_text(e->ctx, key, pid, start, buf, sizeof(buf));
	put(e, o, "entity_id", json_string(buf));
}

/* process.command_line: the args with each separator shown as ' '. */
static void put_cmdline(struct enc *e, json_t *p, const char *a, size_t len)
{
	char buf[KS_ARGS_MAX];
	size_t i;

	if (len > sizeof(buf))
		len = sizeof(buf);
	for (i = 0; i < len; i++)
		buf[i] = a[i] ? a[i] : ' ';
	put(e, p, "command_line", jbytes(buf, len));
}

/*
 * process.args: the stored elements (NULs + 1), or [""] for an empty
 * slot when argc says there was one element.
 */
static void put_args(struct enc *e, json_t *p)
{
	const struct ks_event *ev = e->ev;
	size_t len, i, start = 0;
	const char *a = ref_bytes(ev, KS_F_PROCESS_ARGS, &len);
	json_t *arr;

	if (ev->args_count)
		put(e, p, "args_count", json_integer(ev->args_count));
	if (!a || (!len && !ev->args_count))
		return;
	arr = json_array();
	for (i = 0; arr && i <= len; i++) {
		if (i < len && a[i])
			continue;
		if (json_array_append_new(arr, jbytes(a + start, i - start)))
			e->oom = true;
		start = i + 1;
	}
	put(e, p, "args", arr);
	put(e, p, "args_count", json_integer(ev->args_count));
	put_cmdline(e, p, a, len);
}

static void enc_process(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	json_t *p, *pp;

	if (!(ev->present & (KS_P_PROCESS | KS_P_PARENT | KS_P_EXIT_CODE)))
		return;
	p = child(e, root, "process");
	if (ev->present & KS_P_PROCESS) {
		put(e, p, "pid", json_integer(ev->pid));
		put_entity(e, p, ev->entity, ev->pid, ev->start_ns);
		put_ref(e, p, "name", KS_F_PROCESS_NAME);
		put_ref(e, p, "executable", KS_F_PROCESS_EXECUTABLE);
		put_args(e, p);
	}
	if (ev->present & KS_P_EXIT_CODE)
		put(e, p, "exit_code", json_integer(ev->exit_code));
	if (ev->present & KS_P_PARENT) {
		pp = child(e, p, "parent");
		put(e, pp, "pid", json_integer(ev->ppid));
		put_entity(e, pp, ev->parent_entity, ev->ppid,
			   ev->parent_start_ns);
		put_ref(e, pp, "name", KS_F_PARENT_NAME);
		put_ref(e, pp, "executable", KS_F_PARENT_EXECUTABLE);
	}
}

static void enc_file(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	json_t *f;

	if (!(ev->present & (KS_P_FILE | KS_P_TARGET)))
		return;
	f = child(e, root, "file");
	if (ev->present & KS_P_FILE) {
		put_ref(e, f, "path", KS_F_FILE_PATH);
		put_ref(e, f, "name", KS_F_FILE_NAME);
		if (ev->str[KS_F_FILE_EXTENSION].len)
			put_ref(e, f, "extension", KS_F_FILE_EXTENSION);
	}
	if (ev->present & KS_P_TARGET)
		put_ref(e, f, "target_path", KS_F_FILE_TARGET_PATH);
}

static bool ip_is_v4(const struct ks_event *ev, const uint8_t *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (ev->family == 4 || ev->family == 6)
		return ev->family == 4;
	return !memcmp(a, mapped, sizeof(mapped));
}

static bool ip_is_zero(const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, sizeof(zero));
}

static void ip_text(const struct ks_event *ev, const uint8_t *a, char *buf,
		    size_t len)
{
	if (ip_is_v4(ev, a))
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
}

static void put_endpoint(struct enc *e, json_t *root, const char *key,
			 const uint8_t *addr, unsigned int port)
{
	char buf[INET6_ADDRSTRLEN];
	json_t *o;

	if (ip_is_zero(addr) && !port)
		return;
	o = child(e, root, key);
	if (!ip_is_zero(addr)) {
		ip_text(e->ev, addr, buf, sizeof(buf));
		put(e, o, "ip", json_string(buf));
	}
	if (port)
		put(e, o, "port", json_integer(port));
}

static json_t *transport_json(unsigned int proto)
{
	const char *s = nv_name(transports, ARRAY_SIZE(transports), proto);
	char buf[4];

	if (s)
		return json_string(s);
	snprintf(buf, sizeof(buf), "%u", proto & 0xff);
	return json_string(buf);
}

static void enc_net(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	const char *dir;
	json_t *n;

	if (!(ev->present & KS_P_NET))
		return;
	put_endpoint(e, root, "source", ev->saddr, ev->sport);
	put_endpoint(e, root, "destination", ev->daddr, ev->dport);
	dir = nv_name(directions, ARRAY_SIZE(directions), ev->direction);
	if (!ev->transport && !dir)
		return;
	n = child(e, root, "network");
	if (ev->transport)
		put(e, n, "transport", transport_json(ev->transport));
	if (dir)
		put(e, n, "direction", json_string(dir));
}

static void enc_observer(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	json_t *i;

	if (!(ev->present & KS_P_IFACE) && !ev->ifindex)
		return;
	i = child(e, child(e, child(e, root, "observer"), "ingress"),
		  "interface");
	if (ev->present & KS_P_IFACE)
		put_ref(e, i, "name", KS_F_IFACE_NAME);
	if (ev->ifindex)
		put(e, i, "id", json_integer(ev->ifindex));
}

/* What ECS has no field for, under kestrel.* */
static void enc_kestrel(struct enc *e, json_t *root)
{
	const struct ks_event *ev = e->ev;
	const struct ks_field_info *fi;
	json_t *k, *cut = NULL;
	unsigned int f;

	if (ev->mnt_ns)
		put(e, child(e, child(e, root, "kestrel"), "process"), "mnt_ns",
		    json_integer(ev->mnt_ns));
	if (!ev->truncated)
		return;
	k = child(e, root, "kestrel");
	for (f = KS_F_NONE + 1; f < KS_F_STR_N; f++) {
		if (!(ev->truncated & (1u << f)) || !(fi = ks_field_by_id(f)))
			continue;
		if (!cut)
			put(e, k, "truncated", cut = json_array());
		if (cut && json_array_append_new(cut, json_string(fi->name)))
			e->oom = true;
		if (is_path(f))
			put(e, child(e, k, "cut_head"), fi->name,
			    json_integer(ev->cut_head[KS_PATH_IDX(f)]));
	}
}

json_t *ks_ecs_to_json(struct ks_ecs_ctx *ctx, const struct ks_event *ev)
{
	struct enc e = { ctx, ev, false };
	char ts[KS_ECS_TIME_LEN];
	const char *cat = ks_ecs_category_name(ev->category);
	const char *act = ks_ecs_action_name(ev->action);
	json_t *root = json_object(), *o;

	ks_ecs_format_time(ev->ts_ns, ts);
	put(&e, root, "@timestamp", json_string(ts));
	o = child(&e, root, "event");
	if (cat)
		put(&e, o, "category", json_string(cat));
	if (act)
		put(&e, o, "action", json_string(act));
	put(&e, child(&e, root, "host"), "name", jtext(event_host(ctx, ev)));
	enc_process(&e, root);
	if (ev->present & KS_P_USER) {
		put(&e, child(&e, root, "user"), "id", json_integer(ev->uid));
		put(&e, child(&e, root, "group"), "id", json_integer(ev->gid));
	}
	enc_file(&e, root);
	enc_net(&e, root);
	enc_observer(&e, root);
	if (ev->present & KS_P_PAYLOAD)
		put_ref(&e, root, "payload", KS_F_PAYLOAD);
	enc_kestrel(&e, root);
	if (e.oom) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ------------------------------------------------------------------ */
/* field text (alert join values)                                     */

static bool num_field(const struct ks_event *ev, unsigned int field,
		      int64_t *v)
{
	const struct {
		unsigned int field, present;
	} gates[] = {
		{ KS_F_PROCESS_PID, KS_P_PROCESS },
		{ KS_F_ARGS_COUNT, KS_P_PROCESS },
		{ KS_F_PARENT_PID, KS_P_PARENT },
		{ KS_F_USER_ID, KS_P_USER },
		{ KS_F_GROUP_ID, KS_P_USER },
		{ KS_F_EXIT_CODE, KS_P_EXIT_CODE },
		{ KS_F_SOURCE_PORT, KS_P_NET },
		{ KS_F_DEST_PORT, KS_P_NET },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(gates); i++)
		if (gates[i].field == field)
			break;
	if (i == ARRAY_SIZE(gates) || !(ev->present & gates[i].present))
		return false;
	switch (field) {
	case KS_F_PROCESS_PID:	*v = ev->pid; break;
	case KS_F_ARGS_COUNT:	*v = ev->args_count; break;
	case KS_F_PARENT_PID:	*v = ev->ppid; break;
	case KS_F_USER_ID:	*v = ev->uid; break;
	case KS_F_GROUP_ID:	*v = ev->gid; break;
	case KS_F_EXIT_CODE:	*v = ev->exit_code; break;
	case KS_F_SOURCE_PORT:	*v = ev->sport; break;
	default:		*v = ev->dport; break;
	}
	return true;
}

static int str_field_text(const struct ks_event *ev, unsigned int field,
			  char *buf, size_t buflen)
{
	size_t len, i;
	const char *p = ref_bytes(ev, field, &len);

	if (!p || !buflen)
		return -1;
	if (len > buflen - 1)
		len = buflen - 1;
	for (i = 0; i < len; i++)
		buf[i] = p[i] ? p[i] : ' ';
	buf[len] = '\0';
	return (int)len;
}

/* snprintf-like: < 0 for null; the text may have been cut at buflen - 1. */
static int field_text(struct ks_ecs_ctx *ctx, const struct ks_event *ev,
		      unsigned int field, char *buf, size_t buflen)
{
	const char *s = NULL;
	int64_t v;

	if (KS_F_IS_STR(field))
		return str_field_text(ev, field, buf, buflen);
	if (num_field(ev, field, &v))
		return snprintf(buf, buflen, "%" PRId64, v);

	switch (field) {
	case KS_F_ENTITY_ID:
		if (!ev->entity)
			return -1;
		entity_text(ctx, ev->entity, ev->pid, ev->start_ns, buf,
			    buflen);
		return 0;
	case KS_F_PARENT_ENTITY_ID:
		if (!ev->parent_entity)
			return -1;
		entity_text(ctx, ev->parent_entity, ev->ppid,
			    ev->parent_start_ns, buf, buflen);
		return 0;
	case KS_F_SOURCE_IP:
	case KS_F_DEST_IP: {
		const uint8_t *a = field == KS_F_SOURCE_IP ? ev->saddr
							   : ev->daddr;
		char ip[INET6_ADDRSTRLEN];

		if (ip_is_zero(a))
			return -1;
		ip_text(ev, a, ip, sizeof(ip));
		return snprintf(buf, buflen, "%s", ip);
	}
	case KS_F_CATEGORY:
		s = ks_ecs_category_name(ev->category);
		break;
	case KS_F_ACTION:
		s = ks_ecs_action_name(ev->action);
		break;
	case KS_F_TRANSPORT:
		if (!ev->transport)
			return -1;
		s = nv_name(transports, ARRAY_SIZE(transports), ev->transport);
		if (!s)
			return snprintf(buf, buflen, "%u", ev->transport);
		break;
	case KS_F_DIRECTION:
		s = nv_name(directions, ARRAY_SIZE(directions), ev->direction);
		break;
	}
	return s ? snprintf(buf, buflen, "%s", s) : -1;
}

int ks_ecs_field_text(struct ks_ecs_ctx *ctx, const struct ks_event *ev,
		      unsigned int field, char *buf, size_t buflen)
{
	/* The length stored, not the one wanted: callers append after it. */
	if (!buflen || field_text(ctx, ev, field, buf, buflen) < 0)
		return -1;
	return (int)strlen(buf);
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

/* Parse and decode one line; the message names what was wrong. */
static json_t *read_line(struct ks_ecs_ctx *ctx, const char *line,
			 size_t len, struct ks_event *ev, char *err,
			 size_t errlen, uint32_t *host)
{
	json_error_t jerr;
	json_t *obj;

	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			 &jerr);
	if (!obj) {
		snprintf(err, errlen, "invalid JSON at column %d: %s",
			 jerr.column, jerr.text);
		return NULL;
	}
	if (decode(ctx, obj, ev, err, errlen, host)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

int ks_ecs_read_jsonl(FILE *in, const char *name, ks_ecs_event_cb cb,
		      void *arg, struct ks_ecs_ctx *ctx,
		      unsigned long *skipped, FILE *errout)
{
	struct ks_event *ev = malloc(sizeof(*ev));
	unsigned long lineno = 0, nskip = 0;
	char *line = NULL, err[512];
	size_t cap = 0, len;
	ssize_t n;
	uint32_t host;
	json_t *obj;
	int ret = 0;

	if (!ev)
		return -ENOMEM;
	ctx->n_runs = 0;	/* record numbers start over */
	while ((n = getline(&line, &cap, in)) >= 0) {
		lineno++;
		len = (size_t)n;
		if (len && line[len - 1] == '\n')
			len--;
		if (blank(line, len))
			continue;
		obj = read_line(ctx, line, len, ev, err, sizeof(err), &host);
		if (!obj) {
			if (errout)
				fprintf(errout, "%s:%lu: error: %s\n", name,
					lineno, err);
			nskip++;
			continue;
		}
		ev->seq = lineno;
		host_note(ctx, lineno, host);
		ret = cb(arg, ev, obj, lineno);
		json_decref(obj);
		if (ret)
			goto out;
	}
	if (ferror(in)) {
		ret = -(errno ?: EIO);
		if (errout)
			fprintf(errout, "%s:%lu: error: read failed: %s\n",
				name, lineno + 1, strerror(-ret));
	}
out:
	if (skipped)
		*skipped += nskip;
	free(line);
	free(ev);
	return ret;
}

/* ------------------------------------------------------------------ */
/* alerts                                                             */

static const char *outcome(const struct ks_event *ev)
{
	/* A killed process may also have had its operation denied. */
	if (ev->verdict.flags & KS_V_KILLED)
		return "killed";
	if (ev->verdict.flags & KS_V_DENIED)
		return "blocked";
	return "success";
}

static void put_rule(struct enc *e, json_t *root,
		     const struct ks_alert_meta *meta)
{
	json_t *r = child(e, root, "rule"), *tags = json_array();
	size_t i;

	put(e, r, "id", jtext(meta->id ? meta->id : ""));
	put(e, r, "name", jtext(meta->name ? meta->name : ""));
	put(e, r, "severity",
	    jtext(meta->severity ? meta->severity : "medium"));
	for (i = 0; tags && i < meta->n_tags; i++)
		if (json_array_append_new(tags, jtext(meta->tags[i])))
			e->oom = true;
	put(e, r, "tags", tags);
}

json_t *ks_ecs_alert(struct ks_ecs_ctx *ctx, const struct ks_alert_meta *meta,
		     const struct ks_event *const *events, size_t n_events,
		     const char *join_field_names[], const char *join_values[],
		     size_t n_join)
{
	const struct ks_event *last = n_events ? events[n_events - 1] : NULL;
	struct enc e = { ctx, NULL, false };
	char ts[KS_ECS_TIME_LEN];
	json_t *root, *o, *k, *arr;
	size_t i;

	if (!last && !meta->event_lost)
		return NULL;
	root = json_object();
	ks_ecs_format_time(last ? last->ts_ns : meta->ts_ns, ts);
	put(&e, root, "@timestamp", json_string(ts));
	o = child(&e, root, "event");
	put(&e, o, "kind", json_string("alert"));
	put(&e, o, "action", jtext(meta->action ? meta->action : "alert"));
	put(&e, o, "outcome", jtext(last ? outcome(last) : meta->outcome ?: "unknown"));
	put_rule(&e, root, meta);
	put(&e, child(&e, root, "host"), "name",
	    jtext(last ? event_host(ctx, last) : ks_ecs_host(ctx)));
	if (meta->event_lost)
		put(&e, root, "message", json_string(KS_ECS_LOST_MESSAGE));

	k = child(&e, root, "kestrel");
	if (meta->event_lost)
		put(&e, k, "event_lost", json_true());
	if (meta->lost_events)
		put(&e, k, "lost_events", json_integer(meta->lost_events));
	o = child(&e, k, "join");
	for (i = 0; i < n_join; i++)
		put(&e, o, join_field_names[i], jtext(join_values[i]));
	arr = json_array();
	for (i = 0; arr && i < n_events; i++)
		if (json_array_append_new(arr, ks_ecs_to_json(ctx, events[i])))
			e.oom = true;
	put(&e, k, "events", arr);

	if (e.oom) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int ks_ecs_dump_line(json_t *obj, FILE *out)
{
	if (json_dumpf(obj, out, JSON_COMPACT | JSON_SORT_KEYS))
		return -1;
	return fputc('\n', out) == EOF ? -1 : 0;
}
