// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reference interpreter: evaluates the AST directly over struct ks_event.
 * It is the oracle the table tests compare the kernel evaluator against,
 * so it is written for obviousness, not speed.
 *
 * Values: string fields are byte ranges of the event (ev->str[field]);
 * process.args is NUL-separated elements and a string test is true if any
 * element matches; process.command_line is the same region with NUL read
 * as a space (trailing NULs dropped). A field whose KS_P_* bit is clear is
 * null, and every test on a null field is false except KS_N_NULL.
 * '?' matches one byte; case folding is ASCII only. The EQL functions
 * of whole values (two fields, length) also read ev->truncated: a value
 * the event holds only in part decides them only where its known bytes
 * do.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include <kestrel/text.h>

#include "ast.h"

/* ---- field values ---- */

static char hostname[256];
static pthread_once_t hostname_once = PTHREAD_ONCE_INIT;

static void hostname_init(void)
{
	if (gethostname(hostname, sizeof(hostname) - 1))
		hostname[0] = 0;
}

static char machine_id[64];
static pthread_once_t machine_id_once = PTHREAD_ONCE_INIT;

/* host.id as Elastic's agents set it on Linux: /etc/machine-id, "" if none */
static void machine_id_init(void)
{
	FILE *f = fopen("/etc/machine-id", "re");

	if (!f)
		return;
	if (!fgets(machine_id, sizeof(machine_id), f))
		machine_id[0] = 0;
	machine_id[strcspn(machine_id, "\n")] = 0;
	fclose(f);
}

static char agent_id[37];
static pthread_once_t agent_id_once = PTHREAD_ONCE_INIT;

/*
 * agent.id: Kestrel's identity as an agent, a random (version 4) UUID
 * drawn once per process, as Elastic's agents have one of their own
 * beside the host's; "" (null) if the kernel gave no random bytes.
 */
static void agent_id_init(void)
{
	uint8_t u[16];

	if (getrandom(u, sizeof(u), 0) != sizeof(u))
		return;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(agent_id, sizeof(agent_id),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

bool ks_interp_user_default(const struct ks_field_info *f, const char **s,
			    size_t *len)
{
	if (!strcmp(f->name, "agent.id")) {
		pthread_once(&agent_id_once, agent_id_init);
		*s = agent_id;
		*len = strlen(agent_id);
		return *len > 0;
	}
	if (!strcmp(f->name, "host.os.type")) {
		*s = KS_HOST_OS_TYPE;
		*len = strlen(KS_HOST_OS_TYPE);
		return true;
	}
	if (!strcmp(f->name, "host.id")) {
		pthread_once(&machine_id_once, machine_id_init);
		*s = machine_id;
		*len = strlen(machine_id);
		return *len > 0;
	}
	if (strcmp(f->name, "host.name"))
		return false;
	pthread_once(&hostname_once, hostname_init);
	*s = hostname;
	*len = strlen(hostname);
	return true;
}

static bool present(const struct ks_field_info *f, const struct ks_event *ev)
{
	return !f->present || (ev->present & f->present);
}

/* Buffer big enough for any formatted or rewritten value. */
#define VALBUF	(KS_PAYLOAD_MAX + 64)

/*
 * The string value of a field, or false for null. command_line is
 * rewritten into buf (NUL -> ' '); entity ids are formatted into it.
 */
static bool str_value(const struct ks_field_info *f, const struct ks_event *ev,
		      const struct ks_interp_ctx *ctx, char *buf,
		      const char **s, size_t *len)
{
	const struct ks_strref *r;
	size_t i;

	if (!present(f, ev))
		return false;
	if (f->type == KS_T_USER_STR)
		return ctx && ctx->user_str ? ctx->user_str(ctx->arg, f, ev, s, len) :
					      ks_interp_user_default(f, s, len);
	if (f->type == KS_T_ENTITY) {
		__u64 start;
		__u32 pid;

		/* a leader without a key is unknown: null, as for a join */
		if ((f->id == KS_F_SESSION_ENTITY_ID || f->id == KS_F_ENTRY_ENTITY_ID) &&
		    !ks_event_entity(ev, f->id))
			return false;
		ks_event_entity_parts(ev, f->id, &pid, &start);
		*len = snprintf(buf, VALBUF, "%u-%llu", pid, (unsigned long long)start);
		*s = buf;
		return true;
	}
	if (!KS_F_IS_STR(f->id))
		return false;
	r = &ev->str[f->id];
	if ((size_t)r->off + r->len > sizeof(*ev))
		return false;	/* corrupt reference: treat as missing */
	*s = (const char *)ev + r->off;
	*len = r->len;
	if (f->id != KS_F_PROCESS_COMMAND_LINE)
		return true;
	while (*len && !(*s)[*len - 1])
		(*len)--;
	for (i = 0; i < *len; i++)
		buf[i] = (*s)[i] ? (*s)[i] : ' ';
	*s = buf;
	return true;
}

static enum ks_tri str_test(const struct ks_node *n, const char *v,
			    size_t len)
{
	size_t i;

	if (n->strop == KS_SO_REGEX || n->strop == KS_SO_EQLRE)
		return ks_regex_match(n, v, len);
	for (i = 0; i < n->n_pats; i++)
		if (ks_str_match(n->strop, &n->pats[i], v, len))
			return KS_TRI_YES;
	return KS_TRI_NO;
}

static enum ks_tri eval_str(const struct ks_node *n,
			    const struct ks_event *ev,
			    const struct ks_interp_ctx *ctx)
{
	enum ks_tri m = KS_TRI_NO, r;
	char buf[VALBUF];
	const char *s, *e, *end;
	size_t len;

	if (!str_value(n->field, ev, ctx, buf, &s, &len))
		return KS_TRI_NO;
	if (n->field->type != KS_T_STR_ARRAY && !n->field->array)
		return str_test(n, s, len);
	/* any element; a trailing NUL ends the last one */
	for (end = s + len; s < end; s = e + 1) {
		e = memchr(s, 0, end - s);
		if (!e)
			e = end;
		r = str_test(n, s, e - s);
		if (r == KS_TRI_YES)
			return r;
		if (r == KS_TRI_UNSURE)
			m = r;
	}
	return m;
}

/* The kernel's own reading of the field (maps/ks_fields.h). */
/*
 * A number kload enriches (process.parent.args_count) comes through the
 * user_str callback as its decimal text: the record's value in replay,
 * or what kload read from /proc. Anything but digits is null.
 */
static bool user_num_value(const struct ks_field_info *f, const struct ks_event *ev,
			   const struct ks_interp_ctx *ctx, int64_t *v)
{
	const char *s;
	size_t len, i;
	int64_t x = 0;

	if (!present(f, ev) || !ctx || !ctx->user_str ||
	    !ctx->user_str(ctx->arg, f, ev, &s, &len) || !len || len > 18)
		return false;	/* 18 digits: no overflow */
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

static bool num_value(const struct ks_field_info *f, const struct ks_event *ev,
		      const struct ks_interp_ctx *ctx, int64_t *v)
{
	__s64 x;

	if (f->id == KS_F_NONE)
		return user_num_value(f, ev, ctx, v);
	if (!ks_event_num(ev, f->id, &x))
		return false;
	*v = x;
	return true;
}

static bool cmp(int64_t a, enum ks_cmp c, int64_t b)
{
	switch (c) {
	case KS_CMP_EQ: return a == b;
	case KS_CMP_NE: return a != b;
	case KS_CMP_LT: return a < b;
	case KS_CMP_LE: return a <= b;
	case KS_CMP_GT: return a > b;
	case KS_CMP_GE: return a >= b;
	case KS_CMP_ANY: return (a & b) != 0;
	case KS_CMP_NONE: return (a & b) == 0;
	}
	return false;
}

/* Does bit set v hold value b? */
static bool set_has(int64_t v, int64_t b)
{
	return b >= 0 && b < 64 && ((uint64_t)v >> b & 1);
}

static bool eval_num(const struct ks_node *n, const struct ks_event *ev,
		     const struct ks_interp_ctx *ctx)
{
	int64_t v;
	size_t i;

	if (!n->n_nums || !num_value(n->field, ev, ctx, &v))
		return false;
	if (n->cmp == KS_CMP_EQ || n->cmp == KS_CMP_NE) {
		/* EQ over a list is IN; NE over a list is NOT IN; a bit set
		 * (capabilities) holds values, it does not equal one */
		for (i = 0; i < n->n_nums; i++)
			if (n->field->array ? set_has(v, n->nums[i]) : v == n->nums[i])
				return n->cmp == KS_CMP_EQ;
		return n->cmp == KS_CMP_NE;
	}
	return cmp(v, n->cmp, n->nums[0]);
}

static const uint8_t *ip_value(const struct ks_field_info *f,
			       const struct ks_event *ev)
{
	if (!present(f, ev))
		return NULL;
	if (f->id == KS_F_SOURCE_IP)
		return ev->saddr;
	if (f->id == KS_F_DEST_IP)
		return ev->daddr;
	return NULL;
}

static bool net_has(const struct ks_ipnet *net, const uint8_t *a)
{
	unsigned int full = net->prefix / 8, rest = net->prefix % 8;

	if (memcmp(net->addr, a, full))
		return false;
	if (!rest)
		return true;
	return !((net->addr[full] ^ a[full]) & (0xff << (8 - rest)));
}

static bool eval_ip(const struct ks_node *n, const struct ks_event *ev)
{
	const uint8_t *a = ip_value(n->field, ev);
	size_t i;

	if (!a)
		return false;
	for (i = 0; i < n->n_nets; i++)
		if (net_has(&n->nets[i], a))
			return true;
	return false;
}

/* ---- EQL functions of whole values: two fields, length ---- */

/*
 * What is known of a string value: bytes known to start it (head) and to
 * end it (tail). Both are the whole value unless the event holds only
 * part of it: a cut path keeps a head and its last components, a cut
 * command line its start, other cut fields nothing certain.
 */
struct known {
	const char *head, *tail;
	size_t head_len, tail_len;
	bool whole;
};

static void known_cut_path(const struct ks_field_info *f,
			   const struct ks_event *ev, struct known *k)
{
	size_t end = (size_t)(k->tail - (const char *)ev) + k->tail_len;
	size_t h = ev->cut_head[KS_PATH_IDX(f->id)];

	/* the tail ends the slot, the head starts it (maps/ks_abi.h) */
	k->head_len = 0;
	if (end >= KS_PATH_MAX && h <= KS_PATH_HEAD &&
	    h + k->tail_len <= KS_PATH_MAX) {
		k->head = (const char *)ev + end - KS_PATH_MAX;
		k->head_len = h;
	}
}

static bool known_value(const struct ks_field_info *f, const struct ks_event *ev,
			const struct ks_interp_ctx *ctx, char *buf,
			struct known *k)
{
	const char *s;
	size_t len;

	if (!str_value(f, ev, ctx, buf, &s, &len))
		return false;
	*k = (struct known){ s, s, len, len, true };
	if (!KS_F_IS_STR(f->id) || !(ev->truncated & ks_field_cut_bits(f->id)))
		return true;
	k->whole = false;
	if (f->id == KS_F_PROCESS_COMMAND_LINE)
		k->tail_len = 0;
	else if (ev->truncated & KS_F_PATH_MASK & (1u << f->id))
		known_cut_path(f, ev, k);
	else
		k->head_len = k->tail_len = 0;
	return true;
}

/*
 * startsWith/endsWith/stringContains(a, b): true when the known bytes of
 * a decide it; a value held only in part decides only what its known
 * bytes show, and is otherwise false (like a null one).
 */
static bool eval_fields(const struct ks_node *n, const struct ks_event *ev,
			const struct ks_interp_ctx *ctx)
{
	char abuf[VALBUF], bbuf[VALBUF], *keep = NULL;
	struct known a, b;
	struct ks_strpat pat;
	bool r;

	if (!known_value(n->field, ev, ctx, abuf, &a))
		return false;
	if (n->field->type == KS_T_USER_STR && n->field2->type == KS_T_USER_STR) {
		/* the callback's value lasts until its next call: keep a's */
		keep = ks_xmalloc(a.head_len + 1);
		memcpy(keep, a.head, a.head_len);
		a.head = a.tail = keep;
	}
	if (!known_value(n->field2, ev, ctx, bbuf, &b) || !b.whole) {
		free(keep);
		return false;
	}
	pat = (struct ks_strpat){ (char *)b.head, b.head_len, n->ci };
	if (n->strop == KS_SO_PREFIX)
		r = ks_str_match(KS_SO_PREFIX, &pat, a.head, a.head_len);
	else if (n->strop == KS_SO_SUFFIX)
		r = ks_str_match(KS_SO_SUFFIX, &pat, a.tail, a.tail_len);
	else
		r = ks_str_match(KS_SO_CONTAINS, &pat, a.head, a.head_len) ||
		    ks_str_match(KS_SO_CONTAINS, &pat, a.tail, a.tail_len);
	free(keep);
	return r;
}

/*
 * UTF-16 code units of s as kload writes it (raw bytes repaired to UTF-8,
 * each broken sequence one U+FFFD): what Elastic's length() counts.
 */
static int64_t utf16_units(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, n;
	int64_t units = 0;

	while (i < len) {
		units += ks_utf8_seq(p + i, len - i, &n) == 4 ? 2 : 1;
		i += n;
	}
	return units;
}

/*
 * length(f) cmp N. A value held only in part is at least as long as the
 * longer of its known parts: that decides "longer than" and "not equal"
 * when it exceeds N; anything else about it is false (undecided).
 */
static bool eval_len(const struct ks_node *n, const struct ks_event *ev,
		     const struct ks_interp_ctx *ctx)
{
	char buf[VALBUF];
	struct known k;
	int64_t lo, t;

	if (!n->n_nums || !known_value(n->field, ev, ctx, buf, &k))
		return false;
	lo = utf16_units(k.head, k.head_len);
	if (k.whole)
		return cmp(lo, n->cmp, n->nums[0]);
	t = utf16_units(k.tail, k.tail_len);
	lo = t > lo ? t : lo;
	switch (n->cmp) {
	case KS_CMP_GT:
	case KS_CMP_GE:
		return cmp(lo, n->cmp, n->nums[0]);
	case KS_CMP_NE:
		return lo > n->nums[0];
	default:
		return false;
	}
}

/* modulo(f, d) cmp N: C's % truncates toward zero, like Java's */
static bool eval_mod(const struct ks_node *n, const struct ks_event *ev,
		     const struct ks_interp_ctx *ctx)
{
	int64_t v;

	if (!n->n_nums || !n->num || !num_value(n->field, ev, ctx, &v))
		return false;
	if (n->num == -1)
		v = 0;	/* INT64_MIN % -1 traps; every remainder by -1 is 0 */
	else
		v %= n->num;
	return cmp(v, n->cmp, n->nums[0]);
}

static bool is_null(const struct ks_field_info *f, const struct ks_event *ev,
		    const struct ks_interp_ctx *ctx)
{
	char buf[VALBUF];
	const char *s;
	size_t len;
	int64_t v;

	switch (f->type) {
	case KS_T_NUM:
	case KS_T_ENUM:
		return !num_value(f, ev, ctx, &v);
	case KS_T_IP:
		return !ip_value(f, ev);
	default:
		return !str_value(f, ev, ctx, buf, &s, &len);
	}
}

/*
 * Kleene's three values: KS_TRI_UNSURE is a regex PCRE2 gave up on
 * (match.c) and what depends on it. and/or/not keep it unless the other
 * side decides; a rule whose answer stays unsure fires, so a value built
 * to exhaust the regex engine cannot hide an event from a rule, not even
 * under "not".
 */
static enum ks_tri tri(bool b)
{
	return b ? KS_TRI_YES : KS_TRI_NO;
}

static enum ks_tri tri_not(enum ks_tri m)
{
	return m == KS_TRI_UNSURE ? m : tri(m == KS_TRI_NO);
}

static enum ks_tri node3(const struct ks_node *n, const struct ks_event *ev,
			 const struct ks_interp_ctx *ctx);

/* and (stop at NO) or or (stop at YES) over the kids */
static enum ks_tri junction(const struct ks_node *n,
			    const struct ks_event *ev,
			    const struct ks_interp_ctx *ctx,
			    enum ks_tri stop)
{
	enum ks_tri m = tri_not(stop), r;
	size_t i;

	for (i = 0; i < n->n_kids; i++) {
		r = node3(n->kids[i], ev, ctx);
		if (r == stop)
			return r;
		if (r == KS_TRI_UNSURE)
			m = r;
	}
	return m;
}

/*
 * Deliberate twin of lower_node in lower_cond.c (the same dispatch on the
 * node's kind: this evaluates, that emits the table code this models) and,
 * for the AND/OR walk, of excludes_packets in lower.c (a question about
 * the condition, not its value): the AST's consumers, one each.
 */
static enum ks_tri node3(const struct ks_node *n, const struct ks_event *ev,
			 const struct ks_interp_ctx *ctx)
{
	if (!n)
		return KS_TRI_YES;
	switch (n->kind) {
	case KS_N_AND:
		return junction(n, ev, ctx, KS_TRI_NO);
	case KS_N_OR:
		return junction(n, ev, ctx, KS_TRI_YES);
	case KS_N_NOT:
		return tri_not(node3(n->kids[0], ev, ctx));
	case KS_N_BOOL:
		return tri(n->num != 0);
	case KS_N_STR:
		return eval_str(n, ev, ctx);
	case KS_N_NUM:
		return tri(eval_num(n, ev, ctx));
	case KS_N_IP:
		return tri(eval_ip(n, ev));
	case KS_N_NULL:
		return tri(is_null(n->field, ev, ctx));
	case KS_N_FIELDS:
		return tri(eval_fields(n, ev, ctx));
	case KS_N_LEN:
		return tri(eval_len(n, ev, ctx));
	case KS_N_MOD:
		return tri(eval_mod(n, ev, ctx));
	}
	return KS_TRI_NO;
}

bool ks_interp_node_ctx(const struct ks_node *n, const struct ks_event *ev,
			const struct ks_interp_ctx *ctx)
{
	return node3(n, ev, ctx) != KS_TRI_NO;
}

bool ks_interp_node(const struct ks_node *n, const struct ks_event *ev)
{
	return ks_interp_node_ctx(n, ev, NULL);
}

bool ks_interp_step_ctx(const struct ks_step_ast *s, const struct ks_event *ev,
			const struct ks_interp_ctx *ctx)
{
	if (s->category != KS_CAT_ANY && s->category != ev->category)
		return false;
	/* the step's exceptions: cond and not exc, as lowered */
	if (node3(s->cond, ev, ctx) == KS_TRI_NO)
		return false;
	return !s->exc || node3(s->exc, ev, ctx) != KS_TRI_YES;
}

bool ks_interp_step(const struct ks_step_ast *s, const struct ks_event *ev)
{
	return ks_interp_step_ctx(s, ev, NULL);
}

const struct ks_step_ast *ks_query_step(const struct ks_query *q,
					const struct ks_step *s)
{
	unsigned int k = s->index, j, runs;

	if (s->flags & KS_S_UNTIL)
		return q->until;
	for (j = 0; j < q->n_steps; j++) {
		runs = q->steps[j].runs ? q->steps[j].runs : 1;
		if (k < runs)
			return &q->steps[j];
		k -= runs;
	}
	return NULL;
}

const struct ks_field_info *ks_query_join(const struct ks_query *q, const struct ks_step *s,
					  unsigned int j)
{
	const struct ks_step_ast *a = ks_query_step(q, s);

	if (!a)
		return NULL;
	if (j < q->n_join)
		return q->join[j];
	j -= q->n_join;
	return j < a->n_join ? a->join[j] : NULL;
}
