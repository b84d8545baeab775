// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: Event JSONL, as `kload replay --events` reads it,
 * through the decoder (ks_ecs_read_jsonl). Any crash, leak or sanitizer
 * report is a bug: a recording is untrusted input.
 *
 * Every line also goes through the hand-written JSON reader
 * (loader/json_read.c) and through jansson with the flags the decoder
 * used to give it: both must accept or both reject, and what both accept
 * must be the same values (types, numbers, string bytes, member names
 * and order). A disagreement aborts. A line the one-pass indexer takes
 * (loader/ecs_index.c) must be one the reader takes, with the same node
 * at every path the decoder reads.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kestrel/ecs.h"
#include "kestrel/json.h"
#include "loader/ecs_index.h"

static bool same(const struct ks_jr *r, const struct ks_jn *n, const json_t *j)
{
	const struct ks_jn *m;
	size_t i = 0;

	switch (n->type) {
	case KS_JT_NULL: return json_is_null(j);
	case KS_JT_TRUE: return json_is_true(j);
	case KS_JT_FALSE: return json_is_false(j);
	case KS_JT_INT: return json_is_integer(j) && json_integer_value(j) == n->i;
	case KS_JT_REAL: return json_is_real(j);
	case KS_JT_STR:
		return json_is_string(j) && json_string_length(j) == n->len &&
		       !memcmp(json_string_value(j), n->s, n->len) && !n->s[n->len];
	case KS_JT_ARR:
		if (!json_is_array(j) || json_array_size(j) != n->len)
			return false;
		for (m = ks_jr_first(r, n); m; m = ks_jr_next(r, m))
			if (!same(r, m, json_array_get(j, i++)))
				return false;
		return i == n->len;
	default:
		if (!json_is_object(j) || json_object_size(j) != n->len)
			return false;
		for (m = ks_jr_first(r, n); m; m = ks_jr_next(r, m), i++) {
			const json_t *v = json_object_getn(j, m->key, m->klen);

			if (!v || !same(r, m, v) || ks_jr_getn(r, n, m->key, m->klen) != m)
				return false;
		}
		return i == n->len;
	}
}

/* Offset just past the slot of a path field. */
static unsigned int field_slot_end(unsigned int field)
{
	return field == KS_F_PROCESS_EXECUTABLE ? offsetof(struct ks_event, exe) + KS_PATH_MAX :
						  offsetof(struct ks_event, path) + KS_PATH_MAX;
}

/* Nodes a (of ra) and b (of rb): the same value, elements included. */
static bool same_node(const struct ks_jr *ra, const struct ks_jn *a, const struct ks_jr *rb,
		      const struct ks_jn *b)
{
	if (a->type != b->type || a->len != b->len || a->esc != b->esc || a->klen != b->klen ||
	    (a->klen && memcmp(a->key, b->key, a->klen)))
		return false;
	switch (a->type) {
	case KS_JT_INT: return a->i == b->i;
	case KS_JT_STR: return !memcmp(a->s, b->s, a->len + 1);
	case KS_JT_ARR:
	case KS_JT_OBJ:
		for (a = ks_jr_first(ra, a), b = ks_jr_first(rb, b); a && b;
		     a = ks_jr_next(ra, a), b = ks_jr_next(rb, b))
			if (!same_node(ra, a, rb, b))
				return false;
		return !a && !b;
	default: return true;
	}
}

/* The one-pass index of a line it takes is the tape's. */
static void index_differential(const char *line, size_t len)
{
	static struct ks_dec_index x, y;
	struct ks_jr ra = {}, rb = {};
	unsigned int p;

	if (!ks_dec_index_line(&x, &ra, line, len)) {
		if (ks_jr_parse(&rb, line, len))
			abort();
		ks_dec_index_tape(&y, &rb);
		for (p = 0; p < P_N; p++)
			if (!x.at[p] != !y.at[p] || (x.at[p] && !same_node(&ra, x.at[p], &rb, y.at[p])))
				abort();
	}
	ks_jr_free(&ra);
	ks_jr_free(&rb);
}

static void differential(struct ks_jr *r, const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	int mine = ks_jr_parse(r, line, len);

	if ((mine == 0) != (j != NULL))
		abort();
	if (j && !same(r, ks_jr_root(r), j))
		abort();
	json_decref(j);
}

static void each_line(const uint8_t *data, size_t size)
{
	struct ks_jr r = {};
	const char *p = (const char *)data, *end = p + size, *nl;
	size_t len, i;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		len = (size_t)(nl - p);
		for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'); i++)
			;
		if (i < len) {	/* blank lines are skipped before parsing */
			differential(&r, p, len);
			index_differential(p, len);
		}
	}
	ks_jr_free(&r);
}

static bool cut(const struct ks_event *ev, unsigned int field)
{
	return (ev->truncated & (1u << field)) &&
	       ev->str[field].off + ev->str[field].len == field_slot_end(field);
}

static int on_event(void *arg, struct ks_event *ev, unsigned long line)
{
	unsigned long *n = arg;

	/*
	 * The decoder's promise: every text slot stays NUL-terminated, but for
	 * a cut path, whose tail ends the slot as the kernel lays it out.
	 */
	if ((ev->exe[KS_PATH_MAX - 1] && !cut(ev, KS_F_PROCESS_EXECUTABLE)) ||
	    (ev->path[KS_PATH_MAX - 1] && !cut(ev, KS_F_FILE_PATH)) || ev->comm[KS_COMM_MAX - 1])
		abort();
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ks_ecs_ctx ctx;
	unsigned long n = 0, skipped = 0;
	FILE *f;

	if (!size)
		return 0;
	each_line(data, size);
	f = fmemopen((void *)data, size, "r");
	if (!f)
		abort();
	ks_ecs_init(&ctx, NULL);
	ks_ecs_read_jsonl(f, "fuzz", on_event, &n, &ctx, &skipped, NULL);
	ks_ecs_free(&ctx);
	fclose(f);
	return 0;
}
