// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ECS codec: nested ECS JSON (Event JSONL, one event object a line, as
 * `kload record` writes and `kload replay --events` reads) <-> struct ks_event,
 * and the Alert JSONL object. This file: names, time, the context with
 * its entity_id and host.name tables; the decoder is ecs_decode.c, the
 * encoders ecs_encode.c (events) and ecs_alert.c (alerts), field values
 * as text field.c.
 *
 * struct ks_event is the one event representation (kernel, replay,
 * interpreter, alerts), so decoding must produce exactly what the hooks
 * would have produced. The mapping, field by field:
 *
 *  @timestamp        RFC 3339 ("T"/"t", "Z"/"z" or +hh:mm/-hh:mm, 0..9
 *                    fraction digits) -> ts_ns, epoch ns. Output always
 *                    has 9 digits and "Z".
 *  event.category/action  -> enums; both required, the pair one that
 *                    ks_ecs_action_valid() admits (process: exec, exit,
 *                    fork, uid_change, gid_change, session_id_change,
 *                    already_running;
 *                    file: open, creation, deletion, rename,
 *                    modification; network: connect, accept, packet).
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
 *  process.session_leader/entry_leader .entity_id and .pid  the same,
 *                    into sl_* and el_* (the pid from the id when only
 *                    the id is given); either sets KS_P_PROCESS.
 *  user.id/group.id  integers or decimal strings (ECS keeps ids as
 *                    keywords); either sets KS_P_USER and both print.
 *  file.path         KS_P_FILE. file.name / file.extension are always
 *                    sub-ranges of the stored path: the JSON values are
 *                    used when consistent with it (so "tar.gz" survives),
 *                    otherwise derived from it (basename; text after its
 *                    last '.', none for ".bashrc" or "a.").
 *  file.Ext.original.path/.name/.extension  a rename's source (KS_P_ORIG),
 *                    as Elastic Defend writes it; file.path is the new
 *                    path. Read also from Kestrel's older records, whose
 *                    file.path was the source and file.target_path the
 *                    new path (never written).
 *  source/destination.ip  text v4 or v6 -> 16 bytes (v4 as ::ffff:a.b.c.d),
 *                    family 4 or 6 (both addresses must agree). Addresses
 *                    all zero and ports 0 are not printed.
 *  network.transport name or protocol number; network.direction
 *                    ingress (1) / egress (2).
 *  observer.ingress.interface.name/.id  -> iface, ifindex.
 *  payload           JSON string (its UTF-8 bytes, \u0000 allowed) or
 *                    {"base64": "..."} for arbitrary bytes.
 *  paths             executable, parent executable, file.path and
 *                    file.Ext.original.path too long for their slot are cut on
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

#include "kestrel/container.h"
#include "kestrel/json.h"
#include "ecs_int.h"

#define NS_PER_SEC	1000000000ull

struct ks_ecs_ent {
	uint64_t key;
	char *s;		/* NULL: empty slot */
};

/* ------------------------------------------------------------------ */
/* names                                                              */

/*
 * The names are the compiler's (rules-compiler/fields.c), one table each.
 * These four are ecs.h's API; inside the loader the other enum fields
 * (network.transport, network.direction) call ks_enum_name/ks_enum_parse.
 */
const char *ks_ecs_category_name(unsigned int cat)
{
	return ks_enum_name(KS_F_CATEGORY, cat);
}

const char *ks_ecs_action_name(unsigned int act)
{
	return ks_enum_name(KS_F_ACTION, act);
}

int ks_ecs_category_parse(const char *s)
{
	return ks_enum_parse(KS_F_CATEGORY, s, false);
}

/* Elastic Defend's names events carry, and the former exit, connect, accept */
int ks_ecs_action_parse(const char *s)
{
	return ks_enum_parse(KS_F_ACTION, s, false);
}

bool ks_ecs_action_valid(unsigned int cat, unsigned int act)
{
	switch (cat) {
	case KS_CAT_PROCESS:
		return (act >= KS_ACT_EXEC && act <= KS_ACT_FORK) ||
		       (act >= KS_ACT_UID_CHANGE && act <= KS_ACT_SESSION_ID_CHANGE) ||
		       act == KS_ACT_ALREADY_RUNNING;
	case KS_CAT_FILE:
		return act >= KS_ACT_OPEN && act <= KS_ACT_MODIFICATION;
	case KS_CAT_NETWORK:
		return act >= KS_ACT_CONNECT && act <= KS_ACT_PACKET;
	default:
		return false;
	}
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

/* v in exactly n digits, zero-padded (v < 10^n). */
static void put_dec(char *p, int n, unsigned int v)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void ks_ecs_format_time(uint64_t ns, char *buf)
{
	uint64_t secs = ns / NS_PER_SEC, sod = secs % 86400;
	unsigned int m, d;
	int64_t y;

	civil_from_days((int64_t)(secs / 86400), &y, &m, &d);
	/* "%04u-%02u-%02uT%02u:%02u:%02u.%09uZ" by hand: one per event printed */
	put_dec(buf, 4, (unsigned int)y % 10000);
	buf[4] = '-';
	put_dec(buf + 5, 2, m % 100);
	buf[7] = '-';
	put_dec(buf + 8, 2, d % 100);
	buf[10] = 'T';
	put_dec(buf + 11, 2, (unsigned int)(sod / 3600));
	buf[13] = ':';
	put_dec(buf + 14, 2, (unsigned int)(sod / 60 % 60));
	buf[16] = ':';
	put_dec(buf + 17, 2, (unsigned int)(sod % 60));
	buf[19] = '.';
	put_dec(buf + 20, 9, (unsigned int)(ns % NS_PER_SEC));
	buf[29] = 'Z';
	buf[30] = '\0';
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

static void tab_free(struct ks_ecs_strtab *t);

void ks_ecs_free(struct ks_ecs_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_hosts; i++)
		free(ctx->hosts[i]);
	free(ctx->hosts);
	free(ctx->runs);
	ctx->hosts = NULL;
	ctx->runs = NULL;
	ctx->n_hosts = ctx->n_runs = ctx->cap_runs = 0;
	ks_ecs_user_free(ctx);
	tab_free(&ctx->ents);
	tab_free(&ctx->cgroups);
	ctx->n_cgroups_live = ctx->n_cgroups_replay = 0;
	if (ctx->jr)
		ks_jr_free(ctx->jr);
	free(ctx->jr);
	ctx->jr = NULL;
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


/*
 * Tables from 64-bit keys to strings (entity ids, container ids): open
 * addressing, linear probing; cap is a power of two, load <= 1/2.
 */
static struct ks_ecs_ent *tab_find(struct ks_ecs_ent *v, size_t cap, uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 29)) & (cap - 1);

	while (v[i].s && v[i].key != key)
		i = (i + 1) & (cap - 1);
	return &v[i];
}

/* Rebuilt at cap (>= 64), without the entries drop() says to forget. */
static int tab_rebuild(struct ks_ecs_strtab *t, size_t cap, bool (*drop)(uint64_t key))
{
	struct ks_ecs_ent *v = calloc(cap, sizeof(*v));
	size_t i;

	if (!v)
		return -1;
	t->n = 0;
	for (i = 0; i < t->cap; i++) {
		if (!t->v[i].s)
			continue;
		if (drop && drop(t->v[i].key)) {
			free(t->v[i].s);
			continue;
		}
		*tab_find(v, cap, t->v[i].key) = t->v[i];
		t->n++;
	}
	free(t->v);
	t->v = v;
	t->cap = cap;
	return 0;
}

static const char *tab_get(const struct ks_ecs_strtab *t, uint64_t key)
{
	return t->cap ? tab_find(t->v, t->cap, key)->s : NULL;
}

/* Returns 0, -ENOMEM, or -EEXIST if key names another string already. */
static int tab_put(struct ks_ecs_strtab *t, uint64_t key, const char *s)
{
	struct ks_ecs_ent *e;

	if ((t->n + 1) * 2 > t->cap && tab_rebuild(t, t->cap ? t->cap * 2 : 64, NULL))
		return -ENOMEM;
	e = tab_find(t->v, t->cap, key);
	if (e->s)
		return strcmp(e->s, s) ? -EEXIST : 0;
	e->s = strdup(s);
	if (!e->s)
		return -ENOMEM;
	e->key = key;
	t->n++;
	return 0;
}

/* Deliberate twin of pset_free in rules-compiler/atoms.c: the same
 * free-each-then-the-array shape over another element type and layer. */
static void tab_free(struct ks_ecs_strtab *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->v[i].s);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

const char *ks_ecs_intern_get(const struct ks_ecs_ctx *ctx, uint64_t key)
{
	return tab_get(&ctx->ents, key);
}

int ks_ecs_intern_put(struct ks_ecs_ctx *ctx, uint64_t key, const char *s)
{
	return tab_put(&ctx->ents, key, s);
}

/* ---- container.id (ks_event.cgroup_id -> id) ---- */

static bool live_key(uint64_t key)
{
	return !(key & KS_CGROUP_REPLAY);
}

/*
 * Look up a live cgroup once: its path, then the container it names.
 * Bounded: past KS_ECS_CGROUPS_LIVE cgroups the live ones are forgotten
 * (looked up again on their next event); replayed ids are kept.
 */
static const char *cgroup_lookup(struct ks_ecs_ctx *ctx, const struct ks_event *ev)
{
	char path[4096], id[KS_CONTAINER_ID_MAX] = "";
	enum ks_cgroup_result r = KS_CGROUP_FAILED;

	if (ctx->n_cgroups_live >= KS_ECS_CGROUPS_LIVE) {
		if (tab_rebuild(&ctx->cgroups, ctx->cgroups.cap, live_key))
			return NULL;
		ctx->n_cgroups_live = 0;
	}
	if (!ks_cgroup_path(ev->cgroup_id, ev->pid, path, sizeof(path)))
		r = ks_container_from_cgroup(path, id, sizeof(id)) ? KS_CGROUP_CONTAINER :
								    KS_CGROUP_HOST;
	ctx->cgroup_lookups[r]++;
	if (tab_put(&ctx->cgroups, ev->cgroup_id, id))
		return NULL;
	ctx->n_cgroups_live++;
	return tab_get(&ctx->cgroups, ev->cgroup_id);
}

const char *ks_ecs_container(struct ks_ecs_ctx *ctx, const struct ks_event *ev)
{
	const char *id;

	if (!ev->cgroup_id)
		return NULL;
	id = tab_get(&ctx->cgroups, ev->cgroup_id);
	if (!id && live_key(ev->cgroup_id))
		id = cgroup_lookup(ctx, ev);
	return id && *id ? id : NULL;
}

const char *ks_ecs_cgroup_get(const struct ks_ecs_ctx *ctx, uint64_t key)
{
	return tab_get(&ctx->cgroups, key);
}

int ks_ecs_cgroup_put(struct ks_ecs_ctx *ctx, uint64_t key, const char *id)
{
	int err;

	if (ctx->n_cgroups_replay >= KS_ECS_CGROUPS_REPLAY)
		return -E2BIG;
	err = tab_put(&ctx->cgroups, key, id);
	ctx->n_cgroups_replay += !err;
	return err;
}

void ks_ecs_host_note(struct ks_ecs_ctx *ctx, uint64_t seq, uint32_t host)
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
const char *ks_ecs_event_host(struct ks_ecs_ctx *ctx, const struct ks_event *ev)
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

bool ks_ecs_is_path(unsigned int field)
{
	return field < KS_F_STR_N && (KS_F_PATH_MASK & (1u << field));
}

/* A string field's bytes, or NULL (with length 0) if out of the event. */
const char *ks_ecs_ref_bytes(const struct ks_event *ev, unsigned int field,
			     size_t *len)
{
	struct ks_strref r = ev->str[field];

	*len = 0;
	if (!r.off || (size_t)r.off + r.len > sizeof(*ev))
		return NULL;
	*len = r.len;
	return (const char *)ev + r.off;
}

/* "PID-START", the entity id of a process no record named, into buf[32]. */
const char *ks_ecs_entity_pid_start(uint32_t pid, uint64_t start, char *buf)
{
	char *p = buf + 32;

	*--p = '\0';	/* "%u-%llu" without printf's cost: one per alert event */
	do {
		*--p = (char)('0' + start % 10);
		start /= 10;
	} while (start);
	*--p = '-';
	do {
		*--p = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid);
	return p;
}

void ks_ecs_entity_text(const struct ks_ecs_ctx *ctx, uint64_t key, uint32_t pid,
			uint64_t start, char *buf, size_t len)
{
	const char *s = ks_ecs_intern_get(ctx, key);
	char tmp[32];
	size_t n;

	if (!len)
		return;
	if (!s)
		s = ks_ecs_entity_pid_start(pid, start, tmp);
	n = strnlen(s, len - 1);	/* snprintf's truncation */
	memcpy(buf, s, n);
	buf[n] = '\0';
}

static bool ip_is_v4(const struct ks_event *ev, const uint8_t *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (ev->family == 4 || ev->family == 6)
		return ev->family == 4;
	return !memcmp(a, mapped, sizeof(mapped));
}

bool ks_ecs_ip_is_zero(const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, sizeof(zero));
}

void ks_ecs_ip_text(const struct ks_event *ev, const uint8_t *a, char *buf,
		    size_t len)
{
	if (ip_is_v4(ev, a))
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
}

