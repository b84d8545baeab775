// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ECS encoder (loader/ecs_encode.c) takes its members from the field
 * catalogue (maps/ks_fields.h, rules-compiler/fields.c, loader/
 * ecs_user.c): an event with every field set, every kernel field set
 * through the catalogue's own lists (so a field added there is set here
 * too) and every enriched field noted for its replayed record, must print
 * every field of the catalogue under its dotted name, with the members of
 * each object in strcmp order.
 *
 * Not printed, by design: other names of a kernel field (the first name
 * prints: process.real_user.id is user.id, data_stream.dataset a function
 * of event.category) and file.target_path (the parser's name of a
 * rename's file.path). event.type is another name of event.action that
 * does print, Elastic Defend's array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kestrel/ecs.h"
#include "kestrel/json.h"
#include "kestrel/rules.h"
#include "loader/ecs_int.h"
#include "maps/ks_fields.h"

/* A value field id can hold that is not null: a named one for an enum. */
static int64_t some_value(unsigned int id)
{
	const struct ks_field_info *f = ks_field_by_id(id);
	unsigned int v;

	assert_non_null(f);
	if (f->type != KS_T_ENUM)
		return f->max >= 2 ? 2 : f->max;
	for (v = 1; v < 256; v++)	/* a bit set's bit 0 is a name too */
		if (ks_enum_name(id, f->array ? v - 1 : v))
			return f->array ? (int64_t)(1ull << (v - 1)) : v;
	fail_msg("%s: no named value", f->name);
	return 0;
}

/* Field id's text "s<id>" in the payload slot, where no other field is. */
static void set_str(struct ks_event *ev, unsigned int id)
{
	size_t off = offsetof(struct ks_event, payload) + 8 * id;
	int n = snprintf((char *)ev + off, 8, "s%u", id);

	ev->str[id] = (struct ks_strref){ (__u16)off, (__u16)n };
}

/* A replayed record that had every field (struct ks_event and enriched). */
static void full_event(struct ks_ecs_ctx *ctx, struct ks_event *ev)
{
	const struct ks_field_info *f;
	const char *s;
	unsigned int i;

	memset(ev, 0, sizeof(*ev));
	ev->source = KS_SRC_REPLAY;
	ev->seq = 1;
	ev->ts_ns = 1767323045000000000ull;
	ev->present = ~0u;
#define SET_NUM(id, name, type, member, ...) ev->member = some_value(id);
	KS_NUM_FIELDS(SET_NUM)
#undef SET_NUM
#define SET_STR(id, ...) set_str(ev, id);
	KS_STR_FIELDS(SET_STR)
#undef SET_STR
	memcpy(ev->args, "a\0b", 3);
	ev->str[KS_F_PROCESS_ARGS] = (struct ks_strref){ offsetof(struct ks_event, args), 3 };
	ev->entity = ev->parent_entity = ev->sl_entity = ev->el_entity = 42;
	ev->family = 4;
	memcpy(ev->saddr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x01", 16);
	memcpy(ev->daddr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x02", 16);
	ev->ifindex = 3;
	ev->cgroup_id = KS_CGROUP_REPLAY | 1;
	assert_int_equal(ks_ecs_cgroup_put(ctx, ev->cgroup_id, "c0ffee"), 0);
	for (i = 0; i < KS_ECS_USER_N; i++) {
		f = ks_ecs_user_info(i);
		assert_non_null(f);
		s = f->type == KS_T_NUM ? "3" : f->boolean ? "true" : "v";
		assert_int_equal(ks_ecs_user_note(ctx, ev->seq, i, s, strlen(s)), 0);
	}
}

/* The member at dotted name in the parsed object, NULL if none. */
static const struct ks_jn *member_at(const struct ks_jr *r, const char *name)
{
	const struct ks_jn *n = ks_jr_root(r);
	const char *dot;

	for (; n; name = dot + 1) {
		dot = strchr(name, '.');
		n = ks_jr_getn(r, n, name, dot ? (size_t)(dot - name) : strlen(name));
		if (!dot)
			return n;
	}
	return NULL;
}

static bool printed_by_design(const struct ks_field_info *f)
{
	if (!strcmp(f->name, "event.type"))
		return true;
	if (f->id != KS_F_NONE && ks_field_by_id(f->id) != f)
		return false;	/* another name of a kernel field */
	return strcmp(f->name, "file.target_path");
}

/* Every object's members in strcmp order, at every depth. */
static void check_sorted(const struct ks_jr *r, const struct ks_jn *obj)
{
	const struct ks_jn *m, *prev = NULL;
	size_t l;

	for (m = obj->first ? &r->n[obj->first] : NULL; m; prev = m, m = ks_jr_next(r, m)) {
		if (prev) {
			l = prev->klen < m->klen ? prev->klen : m->klen;
			assert_true(memcmp(prev->key, m->key, l) < 0 ||
				    (!memcmp(prev->key, m->key, l) && prev->klen < m->klen));
		}
		if (m->type == KS_JT_OBJ)
			check_sorted(r, m);
	}
}

static void test_every_field_printed(void **state)
{
	struct ks_ecs_ctx ctx;
	struct ks_event ev;
	struct ks_jw w = {};
	struct ks_jr r = {};
	const struct ks_field_info *f;
	size_t i, n = 0, missing = 0;

	ks_ecs_init(&ctx, "fields-host");
	full_event(&ctx, &ev);
	ks_ecs_event_json(&ctx, &w, &ev);
	assert_false(w.oom);
	assert_int_equal(ks_jr_parse(&r, w.p, w.len), 0);
	for (i = 0; (f = ks_field_at(i)); i++) {
		if (!printed_by_design(f))
			continue;
		n++;
		if (!member_at(&r, f->name)) {
			fprintf(stderr, "not printed: %s\n", f->name);
			missing++;
		}
	}
	if (missing)
		fail_msg("%zu of %zu fields not printed in %.*s", missing, n, (int)w.len, w.p);
	assert_true(n > 60);	/* the catalogue was walked */
	check_sorted(&r, ks_jr_root(&r));
	ks_jr_free(&r);
	ks_jw_free(&w);
	ks_ecs_free(&ctx);
}

/*
 * The test above can fail: an event with no field set prints none of
 * them (only what every event has).
 */
static void test_empty_event_prints_no_field(void **state)
{
	static const char *const always[] = { "host.name", "host.os.type" };
	struct ks_ecs_ctx ctx;
	struct ks_event ev = { .source = KS_SRC_REPLAY };
	struct ks_jw w = {};
	struct ks_jr r = {};
	const struct ks_field_info *f;
	size_t i, k;

	ks_ecs_init(&ctx, "fields-host");
	ks_ecs_event_json(&ctx, &w, &ev);
	assert_int_equal(ks_jr_parse(&r, w.p, w.len), 0);
	for (i = 0; (f = ks_field_at(i)); i++) {
		for (k = 0; k < 2 && strcmp(always[k], f->name); k++)
			;
		if (k == 2 && member_at(&r, f->name))
			fail_msg("%s printed in %.*s", f->name, (int)w.len, w.p);
	}
	ks_jr_free(&r);
	ks_jw_free(&w);
	ks_ecs_free(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_field_printed),
		cmocka_unit_test(test_empty_event_prints_no_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
