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
 * '?' matches one byte; case folding is ASCII only.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ast.h"

/* ---- field values ---- */

static char hostname[256];
static pthread_once_t hostname_once = PTHREAD_ONCE_INIT;

static void hostname_init(void)
{
	if (gethostname(hostname, sizeof(hostname) - 1))
		hostname[0] = 0;
}

bool ks_interp_user_default(const struct ks_field_info *f, const char **s,
			    size_t *len)
{
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
		bool parent = f->id == KS_F_PARENT_ENTITY_ID;

		*len = snprintf(buf, VALBUF, "%u-%llu",
				parent ? ev->ppid : ev->pid,
				(unsigned long long)(parent ? ev->parent_start_ns
							    : ev->start_ns));
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

static bool str_test(const struct ks_node *n, const char *v, size_t len)
{
	size_t i;

	if (n->strop == KS_SO_REGEX || n->strop == KS_SO_EQLRE)
		return ks_regex_match(n, v, len);
	for (i = 0; i < n->n_pats; i++)
		if (ks_str_match(n->strop, &n->pats[i], v, len))
			return true;
	return false;
}

static bool eval_str(const struct ks_node *n, const struct ks_event *ev,
		     const struct ks_interp_ctx *ctx)
{
	char buf[VALBUF];
	const char *s, *e, *end;
	size_t len;

	if (!str_value(n->field, ev, ctx, buf, &s, &len))
		return false;
	if (n->field->type != KS_T_STR_ARRAY)
		return str_test(n, s, len);
	/* any element; a trailing NUL ends the last one */
	for (end = s + len; s < end; s = e + 1) {
		e = memchr(s, 0, end - s);
		if (!e)
			e = end;
		if (str_test(n, s, e - s))
			return true;
	}
	return false;
}

/* The kernel's own reading of the field (maps/ks_fields.h). */
static bool num_value(const struct ks_field_info *f, const struct ks_event *ev,
		      int64_t *v)
{
	__s64 x;

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
	}
	return false;
}

static bool eval_num(const struct ks_node *n, const struct ks_event *ev)
{
	int64_t v;
	size_t i;

	if (!n->n_nums || !num_value(n->field, ev, &v))
		return false;
	if (n->cmp == KS_CMP_EQ || n->cmp == KS_CMP_NE) {
		/* EQ over a list is IN; NE over a list is NOT IN */
		for (i = 0; i < n->n_nums; i++)
			if (v == n->nums[i])
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
		return !num_value(f, ev, &v);
	case KS_T_IP:
		return !ip_value(f, ev);
	default:
		return !str_value(f, ev, ctx, buf, &s, &len);
	}
}

bool ks_interp_node_ctx(const struct ks_node *n, const struct ks_event *ev,
			const struct ks_interp_ctx *ctx)
{
	size_t i;

	if (!n)
		return true;
	switch (n->kind) {
	case KS_N_AND:
		for (i = 0; i < n->n_kids; i++)
			if (!ks_interp_node_ctx(n->kids[i], ev, ctx))
				return false;
		return true;
	case KS_N_OR:
		for (i = 0; i < n->n_kids; i++)
			if (ks_interp_node_ctx(n->kids[i], ev, ctx))
				return true;
		return false;
	case KS_N_NOT:
		return !ks_interp_node_ctx(n->kids[0], ev, ctx);
	case KS_N_BOOL:
		return n->num != 0;
	case KS_N_STR:
		return eval_str(n, ev, ctx);
	case KS_N_NUM:
		return eval_num(n, ev);
	case KS_N_IP:
		return eval_ip(n, ev);
	case KS_N_NULL:
		return is_null(n->field, ev, ctx);
	}
	return false;
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
	return ks_interp_node_ctx(s->cond, ev, ctx) &&
	       !(s->exc && ks_interp_node_ctx(s->exc, ev, ctx));
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
