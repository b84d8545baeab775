// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ECS codec: Event JSONL decoding, encoding, round trips, UTF-8 repair,
 * truncation accounting, malformed-line reporting and the alert shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/capability.h>

#include <jansson.h>

#include "kestrel/ecs.h"
#include "kestrel/json.h"
#include "rules-compiler/ast.h"
#include "loader/ecs_int.h"
#include "loader/ecs_index.h"

#define SPEC_LINE \
	"{\"@timestamp\":\"2026-01-02T03:04:05.000000001Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"pid\":4242,\"entity_id\":\"4242-1767323045\",\"name\":\"curl\",\"executable\":\"/usr/bin/curl\",\"args\":[\"curl\",\"-o\",\"/tmp/x\",\"http://203.0.113.9/x\"],\"parent\":{\"pid\":1,\"name\":\"bash\",\"executable\":\"/bin/bash\",\"entity_id\":\"1-1\"}},\"user\":{\"id\":0},\"host\":{\"name\":\"h1\"}}"

/* 2026-01-02T03:04:05Z */
#define T0 1767323045ull

struct fx {
	struct ks_ecs_ctx ctx;
	struct ks_event ev, ev2;
	char err[256];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	ks_ecs_init(&f->ctx, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ks_ecs_free(&f->ctx);
	free(f);
	return 0;
}

/* Decode one JSON text; returns ks_ecs_decode_line's result. */
static int decode(struct fx *f, const char *text, struct ks_event *ev)
{
	return ks_ecs_decode_line(&f->ctx, text, strlen(text), ev, f->err, sizeof(f->err));
}

/* Decode a jansson object (dumped as kload would print it). */
static int from_json(struct ks_ecs_ctx *ctx, json_t *j, struct ks_event *ev, char *err,
		     size_t errlen)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	int r;

	assert_non_null(text);
	r = ks_ecs_decode_line(ctx, text, strlen(text), ev, err, errlen);
	free(text);
	return r;
}

/* The streaming encoder's text, parsed back for inspection. */
static json_t *parse_jw(struct ks_jw *w)
{
	json_error_t jerr;
	json_t *j;

	assert_false(w->oom);
	j = json_loadb(w->p, w->len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fail_msg("encoder output is not JSON: %s: %.*s", jerr.text, (int)w->len, w->p);
	ks_jw_free(w);
	return j;
}

static json_t *to_json(struct ks_ecs_ctx *ctx, const struct ks_event *ev)
{
	struct ks_jw w = {};

	ks_ecs_event_json(ctx, &w, ev);
	return parse_jw(&w);
}

static json_t *alert(struct ks_ecs_ctx *ctx, const struct ks_alert_meta *meta,
		     const struct ks_event *const *evs, size_t n, const char *names[],
		     const char *values[], size_t n_join)
{
	struct ks_jw w = {};

	if (ks_ecs_alert_json(ctx, &w, meta, evs, n, names, values, n_join)) {
		ks_jw_free(&w);
		return NULL;
	}
	return parse_jw(&w);
}

static void decode_ok(struct fx *f, const char *text, struct ks_event *ev)
{
	if (decode(f, text, ev))
		fail_msg("decode failed: %s\n  %s", f->err, text);
}

/* Compact sorted dump into a malloc'd string. */
static char *dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	assert_non_null(s);
	return s;
}

static void assert_ref(const struct ks_event *ev, unsigned int field,
		       const void *want, size_t len)
{
	const char *p = (const char *)ev + ev->str[field].off;

	assert_int_not_equal(ev->str[field].off, 0);
	assert_int_equal(ev->str[field].len, len);
	assert_memory_equal(p, want, len);
}

static void test_spec_example(void **state)
{
	struct fx *f = *state;
	struct ks_event *ev = &f->ev;
	static const char args[] = "curl\0-o\0/tmp/x\0http://203.0.113.9/x";

	decode_ok(f, SPEC_LINE, ev);
	assert_int_equal(ev->ts_ns, T0 * 1000000000ull + 1);
	assert_int_equal(ev->category, KS_CAT_PROCESS);
	assert_int_equal(ev->action, KS_ACT_EXEC);
	assert_int_equal(ev->source, KS_SRC_REPLAY);
	assert_int_equal(ev->present, KS_P_PROCESS | KS_P_PARENT | KS_P_USER);
	assert_int_equal(ev->pid, 4242);
	assert_int_equal(ev->start_ns, 1767323045ull);
	assert_int_equal(ev->entity, KS_ENTITY_KEY(4242, 1767323045ull));
	assert_int_equal(ev->ppid, 1);
	assert_int_equal(ev->parent_entity, KS_ENTITY_KEY(1, 1));
	assert_int_equal(ev->parent_start_ns, 1);
	assert_int_equal(ev->uid, 0);
	assert_ref(ev, KS_F_PROCESS_EXECUTABLE, "/usr/bin/curl", 13);
	/* process.name is the basename view of the executable */
	assert_ref(ev, KS_F_PROCESS_NAME, "curl", 4);
	assert_int_equal(ev->str[KS_F_PROCESS_NAME].off,
			 offsetof(struct ks_event, exe) + 9);
	assert_ref(ev, KS_F_PROCESS_ARGS, args, sizeof(args) - 1);
	assert_int_equal(ev->str[KS_F_PROCESS_ARGS].off,
			 offsetof(struct ks_event, args));
	assert_memory_equal(&ev->str[KS_F_PROCESS_COMMAND_LINE],
			    &ev->str[KS_F_PROCESS_ARGS], sizeof(struct ks_strref));
	assert_int_equal(ev->args_count, 4);
	assert_ref(ev, KS_F_PARENT_EXECUTABLE, "/bin/bash", 9);
	assert_ref(ev, KS_F_PARENT_NAME, "bash", 4);
	assert_int_equal(ev->str[KS_F_PARENT_NAME].off,
			 offsetof(struct ks_event, pexe) + 5);
	assert_int_equal(ev->truncated, 0);
	assert_string_equal(f->ctx.host, "h1");
	assert_int_equal(f->ctx.stats.events, 1);
}

static void test_name_not_basename(void **state)
{
	struct fx *f = *state;
	struct ks_event *ev = &f->ev;

	/* busybox-style: comm is the applet name, exe the real binary */
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		  "\"process\":{\"pid\":7,\"name\":\"insmod\",\"executable\":\"/usr/bin/kmod\","
		  "\"parent\":{\"pid\":6,\"name\":\"a-very-long-parent-name\"}}}", ev);
	assert_ref(ev, KS_F_PROCESS_NAME, "insmod", 6);
	assert_int_equal(ev->str[KS_F_PROCESS_NAME].off,
			 offsetof(struct ks_event, comm));
	assert_ref(ev, KS_F_PARENT_NAME, "a-very-long-par", 15);
	assert_true(ev->truncated & (1u << KS_F_PARENT_NAME));
	assert_int_equal(f->ctx.stats.truncations[KS_F_PARENT_NAME], 1);

	/* name absent: derived from the executable */
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		  "\"process\":{\"pid\":7,\"executable\":\"/usr/sbin/sshd\"}}", ev);
	assert_ref(ev, KS_F_PROCESS_NAME, "sshd", 4);
}

struct ts_case {
	const char *s;
	int ok;
	uint64_t ns;
};

static void test_timestamps(void **state)
{
	static const struct ts_case cases[] = {
		{ "2026-01-02T03:04:05Z", 1, T0 * 1000000000ull },
		{ "2026-01-02T03:04:05.1Z", 1, T0 * 1000000000ull + 100000000 },
		{ "2026-01-02T03:04:05.12Z", 1, T0 * 1000000000ull + 120000000 },
		{ "2026-01-02T03:04:05.123Z", 1, T0 * 1000000000ull + 123000000 },
		{ "2026-01-02T03:04:05.1234Z", 1, T0 * 1000000000ull + 123400000 },
		{ "2026-01-02T03:04:05.12345Z", 1, T0 * 1000000000ull + 123450000 },
		{ "2026-01-02T03:04:05.123456Z", 1, T0 * 1000000000ull + 123456000 },
		{ "2026-01-02T03:04:05.1234567Z", 1, T0 * 1000000000ull + 123456700 },
		{ "2026-01-02T03:04:05.12345678Z", 1, T0 * 1000000000ull + 123456780 },
		{ "2026-01-02T03:04:05.123456789Z", 1, T0 * 1000000000ull + 123456789 },
		{ "2026-01-02t03:04:05.5z", 1, T0 * 1000000000ull + 500000000 },
		{ "2026-01-02T03:04:05+00:00", 1, T0 * 1000000000ull },
		{ "2026-01-02T03:04:05-00:00", 1, T0 * 1000000000ull },
		{ "2026-01-02T04:04:05.25+01:00", 1, T0 * 1000000000ull + 250000000 },
		{ "2026-01-01T21:34:05-05:30", 1, T0 * 1000000000ull },
		{ "1970-01-01T00:00:00Z", 1, 0 },
		{ "2024-02-29T00:00:00Z", 1, 1709164800ull * 1000000000ull },
		{ "2026-01-02T03:04:05.1234567890Z", 0, 0 },	/* 10 digits */
		{ "2026-01-02T03:04:05.Z", 0, 0 },
		{ "2026-01-02T03:04:05", 0, 0 },		/* no zone */
		{ "2026-01-02 03:04:05Z", 0, 0 },
		{ "2026-02-29T00:00:00Z", 0, 0 },
		{ "2026-13-01T00:00:00Z", 0, 0 },
		{ "2026-01-02T24:00:00Z", 0, 0 },
		{ "2026-01-02T03:04:05+24:00", 0, 0 },
		{ "2026-01-02T03:04:05+0100", 0, 0 },
		{ "1969-12-31T23:59:59Z", 0, 0 },		/* before epoch */
		{ "1970-01-01T00:30:00+01:00", 0, 0 },
		{ "2600-01-01T00:00:00Z", 0, 0 },		/* u64 ns overflow */
		{ "2026-01-02T03:04:05Zjunk", 0, 0 },
	};
	uint64_t ns;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = ks_ecs_parse_time(cases[i].s, strlen(cases[i].s), &ns);
		if (cases[i].ok && r)
			fail_msg("%s: rejected", cases[i].s);
		if (!cases[i].ok && !r)
			fail_msg("%s: accepted", cases[i].s);
		if (cases[i].ok && ns != cases[i].ns)
			fail_msg("%s: %llu != %llu", cases[i].s,
				 (unsigned long long)ns,
				 (unsigned long long)cases[i].ns);
	}
}

static void test_format_time(void **state)
{
	char buf[KS_ECS_TIME_LEN];
	uint64_t ns;

	(void)state;
	ks_ecs_format_time(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
	ks_ecs_format_time(T0 * 1000000000ull + 1, buf);
	assert_string_equal(buf, "2026-01-02T03:04:05.000000001Z");
	ks_ecs_format_time(1709251199999999999ull, buf);
	assert_string_equal(buf, "2024-02-29T23:59:59.999999999Z");
	/* every parse result formats back to itself */
	for (ns = 1; ns < 4000000000ull * 1000000000ull;
	     ns = ns * 7 + 123456789) {
		uint64_t back;

		ks_ecs_format_time(ns, buf);
		assert_int_equal(ks_ecs_parse_time(buf, strlen(buf), &back), 0);
		assert_int_equal(back, ns);
	}
}

/* from_json(to_json(ev)) == ev, and the JSON text is stable. */
static void roundtrip(struct fx *f, const char *text)
{
	char *s1, *s2;
	json_t *j;

	decode_ok(f, text, &f->ev);
	j = to_json(&f->ctx, &f->ev);
	assert_non_null(j);
	s1 = dump(j);
	if (from_json(&f->ctx, j, &f->ev2, f->err, sizeof(f->err)))
		fail_msg("re-decode failed: %s\n  %s", f->err, s1);
	json_decref(j);
	if (memcmp(&f->ev, &f->ev2, sizeof(f->ev)))
		fail_msg("round trip differs:\n  in:  %s\n  out: %s", text, s1);
	j = to_json(&f->ctx, &f->ev2);
	s2 = dump(j);
	assert_string_equal(s1, s2);
	json_decref(j);
	free(s1);
	free(s2);
}

static void test_roundtrip(void **state)
{
	static const char *const events[] = {
		SPEC_LINE,
		"{\"@timestamp\":\"2026-01-02T03:04:05.5Z\",\"event\":{\"category\":\"process\",\"action\":\"exit\"},"
		"\"process\":{\"pid\":9,\"entity_id\":\"9-77\",\"name\":\"sleep\",\"executable\":\"/bin/sleep\",\"exit_code\":-9,"
		"\"args\":[\"sleep\",\"\",\"1\"]},\"user\":{\"id\":\"1000\"},\"group\":{\"id\":100}}",
		"{\"@timestamp\":\"2026-01-02T03:04:06Z\",\"event\":{\"category\":\"file\",\"action\":\"rename\"},"
		"\"file\":{\"path\":\"/etc/cron.d/a\",\"Ext\":{\"original\":{\"path\":\"/tmp/a.tar.gz\",\"extension\":\"tar.gz\"}}},"
		"\"process\":{\"pid\":10,\"entity_id\":\"10-5\",\"name\":\"mv\",\"executable\":\"/usr/bin/mv\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:06Z\",\"event\":{\"category\":\"file\",\"action\":\"open\"},"
		"\"file\":{\"path\":\"/root/.bashrc\"},\"process\":{\"pid\":10,\"entity_id\":\"10-5\",\"name\":\"bash\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:07Z\",\"event\":{\"category\":\"network\",\"action\":\"connect\"},"
		"\"source\":{\"ip\":\"2001:db8::1\",\"port\":40000},\"destination\":{\"ip\":\"2001:db8::2\",\"port\":443},"
		"\"network\":{\"transport\":\"tcp\"},\"process\":{\"pid\":11,\"entity_id\":\"11-6\",\"executable\":\"/usr/bin/curl\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:07Z\",\"event\":{\"category\":\"network\",\"action\":\"connect\"},"
		"\"source\":{\"ip\":\"::ffff:10.0.0.1\",\"port\":40000},\"destination\":{\"ip\":\"::ffff:10.0.0.2\",\"port\":22},"
		"\"network\":{\"transport\":\"sctp\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:08.000000123Z\",\"event\":{\"category\":\"network\",\"action\":\"packet\"},"
		"\"source\":{\"ip\":\"198.51.100.7\",\"port\":5555},\"destination\":{\"ip\":\"10.0.0.5\",\"port\":80},"
		"\"network\":{\"transport\":\"tcp\",\"direction\":\"ingress\"},"
		"\"observer\":{\"ingress\":{\"interface\":{\"name\":\"veth0\",\"id\":7}}},"
		"\"payload\":\"GET /?x=${jndi:ldap://e/a} HTTP/1.1\\r\\n\\u0000\\u00e9\"}",
		"{\"@timestamp\":\"2026-01-02T03:04:09Z\",\"event\":{\"category\":\"network\",\"action\":\"packet\"},"
		"\"source\":{\"ip\":\"0.0.0.0\"},\"destination\":{\"ip\":\"255.255.255.255\",\"port\":67},\"network\":{\"transport\":\"udp\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:09Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		"\"process\":{\"pid\":12,\"entity_id\":\"12-8\",\"command_line\":\"sh -c  echo  hi \",\"executable\":\"/bin/sh\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:09Z\",\"event\":{\"category\":\"process\",\"action\":\"fork\"},"
		"\"process\":{\"entity_id\":\"container://abc/99\",\"parent\":{\"entity_id\":\"{\\\"odd\\\": 1}\"}}}",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		roundtrip(f, events[i]);
	assert_int_equal(ks_ecs_truncations_total(&f->ctx), 0);
}

/* process.entity_id as printed after decoding text. */
static void entity_out(struct fx *f, const char *text, const char *want,
		       const char *want_parent)
{
	json_t *j, *p;

	decode_ok(f, text, &f->ev);
	j = to_json(&f->ctx, &f->ev);
	p = json_object_get(j, "process");
	assert_string_equal(json_string_value(json_object_get(p, "entity_id")),
			    want);
	if (want_parent)
		assert_string_equal(json_string_value(json_object_get(
			json_object_get(p, "parent"), "entity_id")), want_parent);
	json_decref(j);
}

/*
 * The start time's u64 limit, either side: dec_u64 only divides near it
 * (UINT64_MAX / 10 and above), so digits there must still be checked.
 */
static void test_entity_id_u64_limit(void **state)
{
	struct fx *f = *state;

	entity_out(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		   "\"process\":{\"pid\":5,\"entity_id\":\"5-18446744073709551615\"}}",
		   "5-18446744073709551615", NULL);
	assert_int_equal(f->ev.start_ns, UINT64_MAX);
	assert_int_equal(f->ctx.ents.n, 0);
	/* one more: not a u64, so an opaque id, interned */
	entity_out(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		   "\"process\":{\"pid\":5,\"entity_id\":\"5-18446744073709551616\"}}",
		   "5-18446744073709551616", NULL);
	assert_int_equal(f->ev.start_ns, 0);
	assert_int_equal(f->ctx.ents.n, 1);
	entity_out(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		   "\"process\":{\"pid\":5,\"entity_id\":\"5-99999999999999999999\"}}",
		   "5-99999999999999999999", NULL);
	assert_int_equal(f->ctx.ents.n, 2);
	entity_out(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		   "\"process\":{\"pid\":5,\"entity_id\":\"5-1844674407370955161\"}}",
		   "5-1844674407370955161", NULL);
	assert_int_equal(f->ev.start_ns, 1844674407370955161ull);
	assert_int_equal(f->ctx.ents.n, 2);
}

static void test_entity_ids(void **state)
{
	struct fx *f = *state;
	char buf[64];

	/* canonical: no intern entry needed */
	entity_out(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		   "\"process\":{\"pid\":5,\"entity_id\":\"5-18446744073709551615\",\"parent\":{\"pid\":1,\"entity_id\":\"1-1\"}}}",
		   "5-18446744073709551615", "1-1");
	assert_int_equal(f->ev.start_ns, 18446744073709551615ull);
	assert_int_equal(f->ctx.ents.n, 0);

	/* pid taken from the id when absent */
	entity_out(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		   "\"process\":{\"entity_id\":\"77-1000\"}}", "77-1000", NULL);
	assert_int_equal(f->ev.pid, 77);
	assert_int_equal(f->ctx.ents.n, 0);

	/* opaque strings and non-canonical digit forms print back as given */
	entity_out(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		   "\"process\":{\"pid\":5,\"entity_id\":\"0005-10\",\"parent\":{\"pid\":1,\"entity_id\":\"9-9\"}}}",
		   "0005-10", "9-9");
	assert_int_equal(f->ev.entity, KS_ENTITY_KEY(5, 10));
	entity_out(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		   "\"process\":{\"pid\":5,\"entity_id\":\"Y2Fmw6k=\",\"parent\":{\"entity_id\":\"4294967296-1\"}}}",
		   "Y2Fmw6k=", "4294967296-1");
	assert_int_equal(f->ev.start_ns, 0);
	assert_int_not_equal(f->ev.entity, 0);
	/* "0005-10", "9-9" (pid 1), "Y2Fmw6k=", "4294967296-1" (pid > u32) */
	assert_int_equal(f->ctx.ents.n, 4);
	assert_true(ks_field_text(&f->ctx, &f->ev, KS_F_ENTITY_ID, buf,
				      sizeof(buf)) == 8);
	assert_string_equal(buf, "Y2Fmw6k=");
	/* a short buffer gets the cut text and its real length */
	assert_int_equal(ks_field_text(&f->ctx, &f->ev, KS_F_ENTITY_ID, buf,
					   4), 3);
	assert_string_equal(buf, "Y2F");
	assert_int_equal(ks_field_text(&f->ctx, &f->ev, KS_F_PROCESS_PID,
					   buf, 2), 1);
	assert_int_equal(ks_field_text(&f->ctx, &f->ev, KS_F_PROCESS_PID,
					   buf, 0), -1);
	assert_int_equal(ks_field_text(&f->ctx, &f->ev, KS_F_PARENT_ENTITY_ID,
					   buf, sizeof(buf)), 12);
	assert_string_equal(buf, "4294967296-1");

	/* many ids: the table grows and keeps every mapping */
	for (int i = 0; i < 500; i++) {
		char text[256], want[32];

		snprintf(want, sizeof(want), "ent-%d", i);
		snprintf(text, sizeof(text), "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
			 "\"process\":{\"pid\":5,\"entity_id\":\"%s\"}}", want);
		entity_out(f, text, want, NULL);
	}
	entity_out(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		   "\"process\":{\"pid\":5,\"entity_id\":\"ent-3\"}}", "ent-3", NULL);
}

struct u8_case {
	const char *in;
	size_t len;
	const char *out;
	size_t outlen;
};

#define U8(i, o) { i, sizeof(i) - 1, o, sizeof(o) - 1 }
#define R "\xef\xbf\xbd"

static void test_utf8(void **state)
{
	static const struct u8_case cases[] = {
		U8("plain ascii", "plain ascii"),
		U8("\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9", "\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9"),
		U8("a\0b", "a\0b"),				/* NUL kept */
		U8("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"),	/* U+10FFFF */
		/* overlongs */
		U8("\xc0\xaf", R R),
		U8("\xc1\xbf", R R),
		U8("\xe0\x80\xaf", R R R),
		U8("\xf0\x80\x80\xaf", R R R R),
		/* surrogates */
		U8("\xed\xa0\x80", R R R),
		U8("\xed\xbf\xbf", R R R),
		/* above U+10FFFF, and bytes that never occur */
		U8("\xf4\x90\x80\x80", R R R R),
		U8("\xf5\xff\xfe", R R R),
		/* truncated sequences: one U+FFFD per maximal subpart */
		U8("x\xe2\x82", "x" R),
		U8("\xf0\x9f\x98" "A", R "A"),
		U8("\xe2\x82\xe2\x82\xac", R "\xe2\x82\xac"),
		U8("\xc3", R),
		/* lone continuation bytes */
		U8("\x80", R),
		U8("a\x80\xbf" "b", "a" R R "b"),
		/* Unicode 15 Table 3-8 */
		U8("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
		   "a" R R R "b" R "c" R R "d"),
	};
	char out[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = ks_utf8_sanitize(cases[i].in, cases[i].len, out);
		if (n != cases[i].outlen || memcmp(out, cases[i].out, n))
			fail_msg("case %zu: wrong output (%zu bytes)", i, n);
		assert_int_equal(ks_utf8_valid(cases[i].in, cases[i].len),
				 cases[i].len == cases[i].outlen &&
				 !memcmp(cases[i].in, cases[i].out, n));
		assert_true(ks_utf8_valid(out, n));
	}
}

/* Raw bytes in slots still give valid JSON with U+FFFD and \u0000. */
static void test_json_from_bad_bytes(void **state)
{
	struct fx *f = *state;
	struct ks_event *ev = &f->ev;
	char *s;
	json_t *j;

	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":\"packet\"},"
		  "\"payload\":\"abcdef\",\"process\":{\"pid\":1,\"executable\":\"/tmp/abc\"}}", ev);
	memcpy(ev->payload, "a\0\xff\xc0\xaf" "f", 6);
	memcpy(ev->exe + 5, "\xed\xa0\x80", 3);
	j = to_json(&f->ctx, ev);
	assert_non_null(j);
	s = dump(j);
	assert_non_null(strstr(s, "\"payload\":\"a\\u0000" R R R "f\""));
	assert_non_null(strstr(s, "\"executable\":\"/tmp/" R R R "\""));
	free(s);
	json_decref(j);
}

/*
 * An action byte no event carries, as a bad ring-buffer record has it,
 * gets no event.type: not the name of a type no Kestrel event has (the
 * value 255 also marks those in the name table; fuzz_alert found it).
 */
static void test_type_of_unknown_action(void **state)
{
	struct fx *f = *state;
	unsigned int act;
	char *s;
	json_t *j;

	assert_null(ks_event_type_name(KS_ENUM_NEVER));
	/* every action an event carries has Defend's type */
	for (act = KS_ACT_EXEC; act < KS_ACT_N; act++)
		assert_non_null(ks_event_type_name(act));
	assert_string_equal(ks_event_type_name(KS_ACT_SESSION_ID_CHANGE), "change");
	assert_string_equal(ks_ecs_action_name(KS_ACT_GID_CHANGE), "gid_change");
	/* already_running, read from /proc at attach, is Defend's "info" */
	assert_string_equal(ks_event_type_name(KS_ACT_ALREADY_RUNNING), "info");
	assert_string_equal(ks_ecs_action_name(KS_ACT_ALREADY_RUNNING), "already_running");
	for (act = KS_ACT_N; act < 256; act++)
		if (act != KS_ACT_ALREADY_RUNNING)
			assert_null(ks_event_type_name(act));
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"}}",
		  &f->ev);
	f->ev.action = KS_ENUM_NEVER;
	j = to_json(&f->ctx, &f->ev);
	assert_non_null(j);
	s = dump(j);
	assert_null(strstr(s, "\"type\":["));
	free(s);
	json_decref(j);
}

/*
 * The codec names enum values from the compiler's tables (fields.c): a
 * name the compiler accepts in a query is one the decoder accepts in an
 * event, and the value prints as the first name.
 */
static void test_enum_names(void **state)
{
	static const struct { enum ks_field f; const char *name, *first; int v; } t[] = {
		{ KS_F_TRANSPORT, "gre", "gre", 47 },
		{ KS_F_TRANSPORT, "ICMPv6", "ipv6-icmp", 58 },
		{ KS_F_DIRECTION, "inbound", "ingress", 1 },
		{ KS_F_ACTION, "exit", "end", KS_ACT_EXIT },
		{ KS_F_CATEGORY, "file", "file", KS_CAT_FILE },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(ks_enum_parse(t[i].f, t[i].name, true), t[i].v);
		assert_string_equal(ks_enum_name(t[i].f, (unsigned int)t[i].v), t[i].first);
	}
	assert_int_equal(ks_enum_parse(KS_F_TRANSPORT, "GRE", true), 47);
	assert_string_equal(ks_enum_name(KS_F_DIRECTION, 2), "egress");
	assert_int_equal(ks_ecs_action_parse("uid_change"), KS_ACT_UID_CHANGE);
	assert_int_equal(ks_ecs_action_parse("load_module"), -1);	/* no event's */
	assert_string_equal(ks_enum_name(KS_F_CAP_EFFECTIVE, CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
	assert_null(ks_ecs_action_name(KS_ACT_NONE));
	assert_null(ks_enum_name(KS_F_TRANSPORT, 250));
}

static void test_truncation(void **state)
{
	struct fx *f = *state;
	struct ks_event *ev = &f->ev;
	char *text, big[2000], args[1400];
	size_t i, n;

	memset(big, 'p', sizeof(big));
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	/* 100 elements "aaaaa" = 599 bytes joined: cut at 511 */
	for (i = 0, n = 0; i < 100; i++)
		n += (size_t)sprintf(args + n, "%s\"aaaaa\"", i ? "," : "");
	assert_true(asprintf(&text,
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"file\",\"action\":\"open\"},"
		"\"process\":{\"pid\":1,\"executable\":\"%.300s\",\"args\":[%s],\"name\":\"x\"},"
		"\"file\":{\"path\":\"%s\"},\"observer\":{\"ingress\":{\"interface\":{\"name\":\"veryverylongifname0\"}}},"
		"\"payload\":\"%s\"}", big, args, big, big) > 0);
	decode_ok(f, text, ev);
	free(text);

	/* paths are cut as the kernel cuts them: head first, tail right-aligned */
	assert_int_equal(ev->str[KS_F_PROCESS_EXECUTABLE].len, KS_PATH_MAX - KS_PATH_HEAD);
	assert_int_equal(ev->str[KS_F_PROCESS_EXECUTABLE].off,
			 offsetof(struct ks_event, exe) + KS_PATH_HEAD);
	assert_int_equal(ev->cut_head[KS_PATH_IDX(KS_F_PROCESS_EXECUTABLE)], KS_PATH_HEAD);
	assert_int_equal(ev->exe[0], '/');
	assert_int_equal(ev->str[KS_F_FILE_PATH].len, KS_PATH_MAX - KS_PATH_HEAD);
	assert_int_equal(ev->str[KS_F_PROCESS_ARGS].len, KS_ARGS_MAX - 1);
	assert_int_equal(ev->args_count, 100);
	assert_int_equal(ev->str[KS_F_IFACE_NAME].len, KS_IFNAME_MAX - 1);
	assert_int_equal(ev->str[KS_F_PAYLOAD].len, KS_PAYLOAD_MAX);
	assert_int_equal(ev->truncated,
			 (1u << KS_F_PROCESS_EXECUTABLE) | (1u << KS_F_FILE_PATH) |
			 (1u << KS_F_PROCESS_ARGS) | (1u << KS_F_PROCESS_COMMAND_LINE) |
			 (1u << KS_F_IFACE_NAME) | (1u << KS_F_PAYLOAD));
	assert_int_equal(f->ctx.stats.truncations[KS_F_PROCESS_EXECUTABLE], 1);
	assert_int_equal(f->ctx.stats.truncations[KS_F_PROCESS_ARGS], 1);
	assert_int_equal(f->ctx.stats.truncations[KS_F_PROCESS_COMMAND_LINE], 0);
	assert_int_equal(ks_ecs_truncations_total(&f->ctx), 5);
	/* the cut never leaves a trailing separator */
	assert_int_not_equal(ev->args[KS_ARGS_MAX - 2], '\0');
}

/* A cut path prints as head "..." tail and decodes back to the same layout. */
static void test_cut_path_roundtrip(void **state)
{
	struct fx *f = *state;
	struct ks_event *ev = &f->ev, back;
	char *text, *s, path[400], want[KS_PATH_MAX + 8];
	size_t i;
	json_t *j;

	for (i = 0; i < sizeof(path) - 1; i++)
		path[i] = i % 10 ? 'a' + i % 26 : '/';
	path[sizeof(path) - 1] = '\0';
	assert_true(asprintf(&text,
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		"\"process\":{\"pid\":1,\"executable\":\"%s\"},\"kestrel\":{\"process\":{\"mnt_ns\":4026531841}}}",
		path) > 0);
	decode_ok(f, text, ev);
	free(text);
	assert_int_equal(ev->mnt_ns, 4026531841u);
	j = to_json(&f->ctx, ev);
	assert_non_null(j);
	s = dump(j);
	snprintf(want, sizeof(want), "\"executable\":\"%.*s...%s\"", (int)KS_PATH_HEAD, path,
		 path + strlen(path) - (KS_PATH_MAX - KS_PATH_HEAD));
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "\"cut_head\":{\"process.executable\":64}"));
	assert_non_null(strstr(s, "\"truncated\":[\"process.executable\"]"));
	assert_non_null(strstr(s, "\"mnt_ns\":4026531841"));
	/* process.name comes from the tail, whole */
	snprintf(want, sizeof(want), "\"name\":\"%s\"", strrchr(path, '/') + 1);
	assert_non_null(strstr(s, want));
	decode_ok(f, s, &back);
	free(s);
	json_decref(j);
	assert_int_equal(back.truncated, ev->truncated);
	assert_int_equal(back.cut_head[0], ev->cut_head[0]);
	assert_int_equal(back.str[KS_F_PROCESS_EXECUTABLE].off, ev->str[KS_F_PROCESS_EXECUTABLE].off);
	assert_int_equal(back.str[KS_F_PROCESS_EXECUTABLE].len, ev->str[KS_F_PROCESS_EXECUTABLE].len);
	assert_memory_equal(back.exe, ev->exe, KS_PATH_MAX);
	/* a cut that does not say where its head ends is malformed */
	assert_int_not_equal(decode(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":"
				 "\"process\",\"action\":\"exec\"},\"process\":{\"executable\":\"/a/b\"},"
				 "\"kestrel\":{\"cut_head\":{\"process.executable\":3}}}", &back), 0);
}

/*
 * The kernel's head fills the room its tail leaves, often more than
 * KS_PATH_HEAD bytes (ks_path_walk(), ks_sys_place()): a recording of
 * such a cut replays with the same head, so replay decides what the
 * kernel decided.
 */
static void test_cut_long_head(void **state)
{
	struct fx *f = *state;
	struct ks_event *ev = &f->ev, back;
	const size_t h = 150, tl = 40;
	char *s;
	json_t *j;

	memset(ev, 0, sizeof(*ev));
	ev->category = KS_CAT_FILE;
	ev->action = KS_ACT_DELETION;
	ev->present = KS_P_FILE;
	memset(ev->path, 'h', KS_PATH_MAX);
	ev->path[0] = '/';
	memset(ev->path + KS_PATH_MAX - tl, 't', tl);
	ev->path[KS_PATH_MAX - tl] = '/';
	ev->str[KS_F_FILE_PATH].off = offsetof(struct ks_event, path) + KS_PATH_MAX - tl;
	ev->str[KS_F_FILE_PATH].len = tl;
	ev->truncated = 1u << KS_F_FILE_PATH;
	ev->cut_head[KS_PATH_IDX(KS_F_FILE_PATH)] = h;
	j = to_json(&f->ctx, ev);
	assert_non_null(j);
	s = dump(j);
	json_decref(j);
	assert_non_null(strstr(s, "\"cut_head\":{\"file.path\":150}"));
	decode_ok(f, s, &back);
	free(s);
	assert_int_equal(back.cut_head[KS_PATH_IDX(KS_F_FILE_PATH)], h);
	assert_int_equal(back.str[KS_F_FILE_PATH].len, tl);
	assert_memory_equal(back.path, ev->path, h);
	assert_memory_equal(back.path + KS_PATH_MAX - tl, ev->path + KS_PATH_MAX - tl, tl);
}

static void test_args_cut_at_separator(void **state)
{
	struct fx *f = *state;
	struct ks_event *ev = &f->ev;
	char *text, a[KS_ARGS_MAX];
	json_t *j, *arr;

	/* first element fills all but one byte: no room for a second */
	memset(a, 'a', KS_ARGS_MAX - 2);
	a[KS_ARGS_MAX - 2] = '\0';
	assert_true(asprintf(&text,
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		"\"process\":{\"pid\":1,\"args\":[\"%s\",\"b\"]}}", a) > 0);
	decode_ok(f, text, ev);
	free(text);
	assert_int_equal(ev->str[KS_F_PROCESS_ARGS].len, KS_ARGS_MAX - 2);
	assert_int_equal(ev->args_count, 2);
	assert_true(ev->truncated & (1u << KS_F_PROCESS_ARGS));
	j = to_json(&f->ctx, ev);
	arr = json_object_get(json_object_get(j, "process"), "args");
	assert_int_equal(json_array_size(arr), 1);
	json_decref(j);
}

static void test_fields(void **state)
{
	struct fx *f = *state;
	struct ks_event *ev = &f->ev;
	static const uint8_t v4[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 113, 9 };
	char buf[64];

	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":\"connect\"},"
		  "\"source\":{\"ip\":\"10.1.2.3\",\"port\":\"40000\"},\"destination\":{\"ip\":\"203.0.113.9\",\"port\":4444},"
		  "\"network\":{\"transport\":\"TCP\",\"direction\":\"egress\"},\"user\":{\"id\":\"1000\"},"
		  "\"process\":{\"pid\":3,\"executable\":\"/usr/bin/nc.openbsd\",\"name\":\"nc\"}}", ev);
	assert_int_equal(ev->family, 4);
	assert_memory_equal(ev->daddr, v4, 16);
	assert_int_equal(ev->sport, 40000);
	assert_int_equal(ev->dport, 4444);
	assert_int_equal(ev->transport, 6);
	assert_int_equal(ev->direction, 2);
	assert_int_equal(ev->uid, 1000);
	assert_int_equal(ev->present, KS_P_NET | KS_P_USER | KS_P_PROCESS);
	assert_int_equal(ks_field_text(&f->ctx, ev, KS_F_DEST_IP, buf,
					   sizeof(buf)), 11);
	assert_string_equal(buf, "203.0.113.9");
	ks_field_text(&f->ctx, ev, KS_F_DEST_PORT, buf, sizeof(buf));
	assert_string_equal(buf, "4444");
	ks_field_text(&f->ctx, ev, KS_F_PROCESS_NAME, buf, sizeof(buf));
	assert_string_equal(buf, "nc");
	assert_int_equal(ks_field_text(&f->ctx, ev, KS_F_FILE_PATH, buf,
					   sizeof(buf)), -1);
	assert_int_equal(ks_field_text(&f->ctx, ev, KS_F_EXIT_CODE, buf,
					   sizeof(buf)), -1);

	/* file.name always the path's basename; extension given or derived */
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"file\",\"action\":\"creation\"},"
		  "\"file\":{\"path\":\"/tmp/x.tar.gz\",\"name\":\"wrong\",\"extension\":\"tar.gz\"}}", ev);
	assert_ref(ev, KS_F_FILE_NAME, "x.tar.gz", 8);
	assert_ref(ev, KS_F_FILE_EXTENSION, "tar.gz", 6);
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"file\",\"action\":\"creation\"},"
		  "\"file\":{\"path\":\"/tmp/x.tar.gz\",\"extension\":\"zip\"}}", ev);
	assert_ref(ev, KS_F_FILE_EXTENSION, "gz", 2);
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"file\",\"action\":\"creation\"},"
		  "\"file\":{\"path\":\"/root/.bashrc\"}}", ev);
	assert_ref(ev, KS_F_FILE_NAME, ".bashrc", 7);
	assert_int_equal(ev->str[KS_F_FILE_EXTENSION].len, 0);

	/* command_line only: split at every space */
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		  "\"process\":{\"command_line\":\"sh -c  id\"}}", ev);
	assert_ref(ev, KS_F_PROCESS_ARGS, "sh\0-c\0\0id", 9);
	assert_int_equal(ev->args_count, 4);

	/* payload as base64 keeps arbitrary bytes */
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":\"packet\"},"
		  "\"payload\":{\"base64\":\"/wBhYg==\"}}", ev);
	assert_ref(ev, KS_F_PAYLOAD, "\xff\0ab", 4);
	assert_int_equal(ev->present, KS_P_PAYLOAD);
}

/* Elastic Defend's shape of the same events: its action names, the
 * category as an array, event.type and host.os.type. */
static void test_defend_shape(void **state)
{
	static const struct { const char *ev; unsigned int act; } ok[] = {
		{ "\"category\":[\"process\"],\"action\":\"end\",\"type\":[\"end\"]", KS_ACT_EXIT },
		{ "\"category\":\"process\",\"action\":\"exec\",\"type\":\"start\"", KS_ACT_EXEC },
		{ "\"category\":[\"network\"],\"action\":\"connection_attempted\",\"type\":[\"start\"]",
		  KS_ACT_CONNECT },
		{ "\"category\":[\"network\"],\"action\":\"connection_accepted\",\"type\":[]", KS_ACT_ACCEPT },
		{ "\"category\":\"file\",\"action\":\"rename\",\"type\":[\"change\"]", KS_ACT_RENAME },
		{ "\"category\":[\"process\"],\"action\":\"uid_change\",\"type\":[\"change\"]",
		  KS_ACT_UID_CHANGE },
		{ "\"category\":\"process\",\"action\":\"gid_change\",\"type\":\"change\"",
		  KS_ACT_GID_CHANGE },
		{ "\"category\":\"process\",\"action\":\"session_id_change\"", KS_ACT_SESSION_ID_CHANGE },
		{ "\"category\":\"file\",\"action\":\"deletion\"},\"data_stream\":{"
		  "\"dataset\":\"endpoint.events.file\"", KS_ACT_DELETION },
		{ "\"category\":[\"network\"],\"action\":\"connection_attempted\"},"
		  "\"data_stream.dataset\":\"endpoint.events.network\",\"x\":{", KS_ACT_CONNECT },
	};
	struct fx *f = *state;
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{%s},"
			 "\"host\":{\"os\":{\"type\":\"linux\"}}}", ok[i].ev);
		decode_ok(f, text, &f->ev);
		assert_int_equal(f->ev.action, ok[i].act);
	}
}

/*
 * A path through nested objects or a literal dotted member at any level:
 * the shallower wins, a null there hides a deeper value, a dotted member
 * is never descended into, and a non-object on the way ends the path.
 */
static void test_dotted_precedence(void **state)
{
	static const struct { uint32_t pid, ppid; const char *members; } cases[] = {
		{ 5, 0, "\"process.pid\":5,\"process\":{\"pid\":6}" },
		{ 5, 0, "\"process\":{\"pid\":6},\"process.pid\":5" },
		{ 0, 3, "\"process\":{\"parent.pid\":3,\"parent\":{\"pid\":4}}" },
		{ 0, 0, "\"process.parent\":{\"pid\":4}" },
		{ 0, 0, "\"process.pid\":null,\"process\":{\"pid\":6}" },
		{ 0, 0, "\"process\":{\"parent\":{\"pid\":\"7\"},\"parent.pid\":null}" },
		{ 2, 0, "\"process\":7,\"process.pid\":2" },
		{ 0, 8, "\"process\":{\"parent\":{\"pid\":8}}" },
	};
	struct fx *f = *state;
	struct ks_event ev;
	char line[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":"
			 "{\"category\":\"process\",\"action\":\"exec\"},%s}", cases[i].members);
		decode_ok(f, line, &ev);
		assert_int_equal(ev.pid, cases[i].pid);
		assert_int_equal(ev.ppid, cases[i].ppid);
	}
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event.category\":\"process\","
		  "\"event.action\":\"exec\",\"event\":{\"category\":\"file\"}}", &ev);
	assert_int_equal(ev.category, KS_CAT_PROCESS);
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
		"{\"event\":{\"category\":\"process\",\"action\":\"exec\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"proc\",\"action\":\"exec\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"open\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"pid\":-1}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"pid\":\"12a\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"args\":\"ls\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"args\":[\"a\",1]}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"executable\":\"/bin/a\\u0000b\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":\"connect\"},\"destination\":{\"port\":65536}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":\"connect\"},\"destination\":{\"ip\":\"10.0.0.256\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":\"connect\"},\"source\":{\"ip\":\"10.0.0.1\"},\"destination\":{\"ip\":\"::1\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":\"connect\"},\"network\":{\"transport\":\"quic\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":\"packet\"},\"network\":{\"direction\":\"sideways\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":\"packet\"},\"payload\":{\"base64\":\"!!\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"file\",\"action\":\"open\"},\"file\":{\"name\":\"x\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"exit_code\":2147483648}}",
		/* event.type is the action's, host.os.type Kestrel's constant */
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\",\"type\":[\"end\"]}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\",\"type\":[\"start\",\"info\"]}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\",\"type\":1}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":[\"process\",\"file\"],\"action\":\"exec\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec_event\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"host\":{\"os\":{\"type\":\"windows\"}}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"host\":{\"id\":7}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"parent\":{\"args\":\"bash\"}}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"parent\":{\"args\":[\"a\",1]}}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"user\":{\"name\":[\"root\"]}}",
		/* credential changes are process events whose type is "change" */
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"file\",\"action\":\"uid_change\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"uid_change\",\"type\":\"start\"}}",
		/* data_stream.dataset is the category's as Defend names it */
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"data_stream\":{\"dataset\":\"endpoint.events.file\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"data_stream\":{\"dataset\":\"auditd_manager.auditd\"}}",
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"data_stream\":{\"dataset\":[\"endpoint.events.process\"]}}",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!decode(f, bad[i], &f->ev))
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(f->ctx.stats.errors, sizeof(bad) / sizeof(bad[0]));
	/* null is absent, unknown fields are ignored, dotted keys work */
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event.category\":\"process\",\"event\":{\"action\":\"exec\"},"
		  "\"process\":{\"pid\":null,\"parent.pid\":3,\"x\":{\"y\":[1]}},\"z\":1}", &f->ev);
	assert_int_equal(f->ev.present, KS_P_PARENT);
	assert_int_equal(f->ev.ppid, 3);
}

struct collect {
	unsigned long lines[16];
	int n;
	int stop_at;
};

static int collect_cb(void *arg, struct ks_event *ev, unsigned long line)
{
	struct collect *c = arg;

	assert_int_equal(ev->seq, line);
	c->lines[c->n++] = line;
	return c->n == c->stop_at ? 42 : 0;
}

/*
 * text as a regular file (ks_ecs_read_jsonl reads those in 1 MiB chunks,
 * a memory stream by getline()): both must give the same lines.
 */
static FILE *as_file(const char *text, size_t len)
{
	FILE *f = tmpfile();

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	rewind(f);
	return f;
}

static void test_jsonl_errors(void **state)
{
	struct fx *f = *state;
	const char *good = "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"}}";
	char *in, *errs = NULL;
	size_t errlen = 0;
	unsigned long skipped = 0;
	struct collect c = { .stop_at = -1 };
	FILE *fin, *ferr;
	int i;

	assert_true(asprintf(&in, "%s\n"
		"{\"@timestamp\":\n"
		"\n"
		"[1,2]\n"
		"%s\r\n"
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"file\",\"action\":\"exec\"}}\n"
		"{\"a\":1,\"a\":2}\n"
		"   \n"
		"%s", good, good, good) > 0);
	for (i = 0; i < 2; i++) {	/* a memory stream, then a file */
		fin = i ? as_file(in, strlen(in)) : fmemopen(in, strlen(in), "r");
		ferr = open_memstream(&errs, &errlen);
		skipped = 0;
		c.n = 0;
		assert_int_equal(ks_ecs_read_jsonl(fin, "ev.jsonl", collect_cb, &c,
						   &f->ctx, &skipped, ferr), 0);
		fclose(ferr);
		fclose(fin);
		assert_int_equal(skipped, 4);
		assert_int_equal(c.n, 3);
		assert_int_equal(c.lines[0], 1);
		assert_int_equal(c.lines[1], 5);
		assert_int_equal(c.lines[2], 9);
		assert_string_equal(errs,
			"ev.jsonl:2: error: invalid JSON at column 14: unexpected token near end of file\n"
			"ev.jsonl:4: error: expected a JSON object\n"
			"ev.jsonl:6: error: event.action: \"exec\" is not a file action\n"
			"ev.jsonl:7: error: invalid JSON at column 10: duplicate object key near '\"a\"'\n");
		free(errs);
	}

	/* a non-zero callback return stops reading and is returned */
	c.n = 0;
	c.stop_at = 2;
	fin = fmemopen(in, strlen(in), "r");
	assert_int_equal(ks_ecs_read_jsonl(fin, "ev.jsonl", collect_cb, &c,
					   &f->ctx, NULL, NULL), 42);
	fclose(fin);
	assert_int_equal(c.n, 2);
	free(in);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;

	if (!f)
		fail_msg("%s: missing (tests run from the source tree)", path);
	assert_true(getdelim(&text, &len, '\0', f) > 0);
	fclose(f);
	return text;
}

/*
 * Every diagnostic of a bad line, word for word: bad-lines.err is what
 * kload printed for bad-lines.jsonl when a jansson tree decoded each
 * line (f95da99), before the reader of loader/json_read.c. Not JSON at
 * all, jansson's own messages (the reader hands such lines to it); JSON,
 * the decoder's, field by field.
 */
static void test_diagnostics(void **state)
{
	struct fx *f = *state;
	const char *dir = "tests/fixtures/ecs";
	char *want = slurp("tests/fixtures/ecs/bad-lines.err"), *errs = NULL, path[256];
	struct collect c = { .stop_at = -1 };
	unsigned long skipped = 0;
	size_t errlen = 0;
	FILE *fin, *ferr;

	snprintf(path, sizeof(path), "%s/bad-lines.jsonl", dir);
	fin = fopen(path, "r");
	assert_non_null(fin);
	ferr = open_memstream(&errs, &errlen);
	assert_int_equal(ks_ecs_read_jsonl(fin, "bad-lines.jsonl", collect_cb, &c, &f->ctx,
					   &skipped, ferr), 0);
	fclose(ferr);
	fclose(fin);
	assert_string_equal(errs, want);
	assert_int_equal(skipped, 45);
	assert_int_equal(c.n, 1);	/* line 11: an entity_id that is no pid-start is fine */
	free(errs);
	free(want);
}


/*
 * The one-pass indexer (loader/ecs_index.c) against the reader: lines it
 * takes and lines it must leave to the reader, each decoded both ways in
 * contexts of their own: the same result, event bytes and message.
 */
static const char *const one_pass_lines[] = {
	SPEC_LINE,
	"{ \"@timestamp\" : \"2026-01-02T03:04:05Z\" ,\t\"event\" : { \"category\" : \"process\" , "
	"\"action\" : \"exec\" } , \"process\" : { \"pid\" : 7 , \"args\" : [ \"a\" , \"b\" ] } }\r",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":[\"process\"],\"action\":"
	"\"exec\",\"type\":[\"start\"]},\"ecs\":{\"version\":\"8.11.0\",\"x\":[1,{\"b\":null},[]]},"
	"\"process\":{\"pid\":-0,\"executable\":\"/tmp/\xc3\xa9t\xc3\xa9\",\"name\":\"x\"},\"\":1}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"executable\":\"/usr/bin/a\\\"b\"}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event.category\":\"process\",\"event\":"
	"{\"action\":\"exec\"}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"pid\":1,\"pid\":2}}",
	"{\"x\":1,\"@timestamp\":\"2026-01-02T03:04:05Z\",\"x\":2}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"pid\":1.5}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"x\":1e5,\"process\":{\"pid\":99999999999999999999}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"pid\":01}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"pid\":null,\"name\":true}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"pid\":truex}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"network\",\"action\":"
	"\"connect\"},\"payload\":{\"base64\":\"aGk=\"}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"args\":[[\"a\"]]}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"args\":[\"a\",1],\"parent\":5}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"executable\":\"/tmp/\xff\"}}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"executable\":\"/tmp/a\tb\"}}",
	"[{\"@timestamp\":\"2026-01-02T03:04:05Z\"}]",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\"}x",
	"{}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":"
	"\"exec\"},\"process\":{\"executable\":\"/tmp/a}",
	"{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"j\":1,\"k\":1,"
	"\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"q\":1,\"@timestamp\":\"2026-01-02T03:04:05Z\"}",
	"{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"file\",\"action\":"
	"\"open\"},\"file\":{\"path\":\"/etc/passwd\",\"name\":\"passwd\"},\"host\":{\"name\":\"h\","
	"\"os\":{\"type\":\"linux\"}},\"user\":{\"id\":\"0\"},\"kestrel\":{\"truncated\":[]}}",
};

/* Decode line both ways; which way the one pass went (0: it took the line). */
static int one_pass_vs_reader(struct ks_ecs_ctx *a, struct ks_ecs_ctx *b, const char *line,
			      size_t len)
{
	static struct ks_event ea, eb;
	static struct ks_dec_index x;
	struct ks_jr r = {};
	char erra[256] = "", errb[256] = "";
	int ra, rb, took = ks_dec_index_line(&x, &r, line, len);

	ks_jr_free(&r);
	ra = ks_ecs_decode_line(a, line, len, &ea, erra, sizeof(erra));
	ks_dec_one_pass = false;
	rb = ks_ecs_decode_line(b, line, len, &eb, errb, sizeof(errb));
	ks_dec_one_pass = true;
	assert_int_equal(ra, rb);
	assert_string_equal(erra, errb);
	if (!ra)
		assert_memory_equal(&ea, &eb, sizeof(ea));
	return took;
}

static void test_one_pass(void **state)
{
	static const int took[] = { 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, 0, -1, -1, -1, 0, -1,
				    -1, -1, -1, 0, -1, -1, -1, 0 };
	struct ks_ecs_ctx b;
	char big[12000];
	size_t i;

	(void)state;
	_Static_assert(ARRAY_SIZE(took) == ARRAY_SIZE(one_pass_lines), "one expectation a line");
	ks_ecs_init(&b, NULL);
	for (i = 0; i < ARRAY_SIZE(one_pass_lines); i++) {
		struct fx *f = *state;
		int r = one_pass_vs_reader(&f->ctx, &b, one_pass_lines[i], strlen(one_pass_lines[i]));

		if (r != took[i])
			fail_msg("line %zu: one pass %d, want %d", i, r, took[i]);
	}
	/* past 8 KiB: the reader's */
	i = (size_t)snprintf(big, sizeof(big), "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":"
			     "{\"category\":\"process\",\"action\":\"exec\"},\"process\":{\"args\":[");
	while (i < 9000)
		i += (size_t)snprintf(big + i, sizeof(big) - i, "\"%s\",", "abcdefghijklmnop");
	i += (size_t)snprintf(big + i, sizeof(big) - i, "\"z\"]}}");
	assert_int_equal(one_pass_vs_reader(&((struct fx *)*state)->ctx, &b, big, i), -1);
	assert_int_equal(one_pass_vs_reader(&((struct fx *)*state)->ctx, &b, big, 8000 - 4), -1);
	ks_ecs_free(&b);
}

/*
 * A line of 64 bytes whose last byte opens a string: the string's search
 * started in a word past the scanned ones, left over from a longer line
 * (found by fuzz_events; under ASan, a read past the line).
 */
static void test_one_pass_quote_at_64(void **state)
{
	static const char head[] = "{\"event\":{\"category\":\"process\"},";
	static struct ks_dec_index x;
	struct ks_jr r = {};
	char longer[256], *line;
	size_t i;

	(void)state;
	for (i = 0; i + 4 <= sizeof(longer); i += 4)	/* quotes in every word */
		memcpy(longer + i, "\"\":1", 4);
	longer[0] = '{';
	(void)ks_dec_index_line(&x, &r, longer, sizeof(longer));
	line = malloc(64);	/* exactly the line: ASan sees a read past it */
	assert_non_null(line);
	memset(line, ' ', 64);
	memcpy(line, head, sizeof(head) - 1);
	line[63] = '"';
	assert_int_equal(ks_dec_index_line(&x, &r, line, 64), -1);
	ks_jr_free(&r);
	free(line);
}

/* Every fixture line, both ways (the shipped rules' events, the bad lines, Defend's). */
static void test_one_pass_fixtures(void **state)
{
	struct fx *f = *state;
	struct ks_ecs_ctx b;
	unsigned int taken = 0, lines = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *in;

	ks_ecs_init(&b, NULL);
	in = popen("find rules/tests tests/fixtures tests/corpus-proofs -name '*.jsonl' "
		   "-exec cat {} +", "r");
	assert_non_null(in);
	while ((n = getline(&line, &cap, in)) > 0) {
		n -= line[n - 1] == '\n';
		if (!n)
			continue;
		lines++;
		taken += !one_pass_vs_reader(&f->ctx, &b, line, (size_t)n);
	}
	assert_int_equal(pclose(in), 0);
	free(line);
	ks_ecs_free(&b);
	print_message("%u fixture lines, %u of them by the one pass\n", lines, taken);
	assert_true(lines > 300);
	assert_true(taken > lines / 2);	/* the one pass is the usual way */
}

/* jansson skipped one NUL byte after a number or a word; lines decode as before. */
static void test_nul_after_number(void **state)
{
	static const char line[] = "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":"
		"\"process\",\"action\":\"exec\"},\"process\":{\"pid\":42\0,\"name\":\"sh\"}}";
	struct fx *f = *state;

	assert_int_equal(ks_ecs_decode_line(&f->ctx, line, sizeof(line) - 1, &f->ev, f->err,
					    sizeof(f->err)), 0);
	assert_int_equal(f->ev.pid, 42);
	/* two are not skipped */
	assert_int_not_equal(ks_ecs_decode_line(&f->ctx, "[1\0\0]", 5, &f->ev, f->err,
						sizeof(f->err)), 0);
	assert_string_equal(f->err, "invalid JSON at column 3: ']' expected near end of file");
}

static void test_jsonl_long_line(void **state)
{
	struct fx *f = *state;
	size_t pad = 1 << 20;
	char *in = malloc(pad + 512);
	struct collect c = { .stop_at = -1 };
	unsigned long skipped = 0;
	FILE *fin;
	int n;

	assert_non_null(in);
	n = sprintf(in, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},\"junk\":\"");
	memset(in + n, 'j', pad);
	strcpy(in + n + pad, "\"}\n");
	fin = fmemopen(in, strlen(in), "r");
	assert_int_equal(ks_ecs_read_jsonl(fin, "big", collect_cb, &c, &f->ctx,
					   &skipped, stderr), 0);
	fclose(fin);
	assert_int_equal(c.n, 1);
	assert_int_equal(skipped, 0);

	/*
	 * From a file, with a line after it and no '\n' at the end: past the
	 * reader's first 1 MiB chunk, so its buffer grows and the line is
	 * whole; the last line still counts.
	 */
	strcpy(in + n + pad, "\"}\n\n{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":"
	       "{\"category\":\"process\",\"action\":\"exec\"}}");
	fin = as_file(in, strlen(in));
	c.n = 0;
	assert_int_equal(ks_ecs_read_jsonl(fin, "big", collect_cb, &c, &f->ctx,
					   &skipped, stderr), 0);
	fclose(fin);
	free(in);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.lines[0], 1);
	assert_int_equal(c.lines[1], 3);
	assert_int_equal(skipped, 0);
}

#define ALERT_E1 \
	"{\"@timestamp\":\"2026-01-02T03:04:05.000000001Z\",\"event\":{\"action\":\"creation\",\"category\":\"file\",\"type\":[\"creation\"]}," \
	"\"file\":{\"name\":\"x\",\"path\":\"/tmp/x\"},\"group\":{\"id\":0},\"host\":{\"name\":\"h1\",\"os\":{\"type\":\"linux\"}}," \
	"\"process\":{\"entity_id\":\"4242-1767323045\",\"executable\":\"/usr/bin/curl\",\"name\":\"curl\",\"pid\":4242},\"user\":{\"id\":0}}"
#define ALERT_E2 \
	"{\"@timestamp\":\"2026-01-02T03:04:06.500000000Z\",\"event\":{\"action\":\"exec\",\"category\":\"process\",\"type\":[\"start\"]}," \
	"\"group\":{\"id\":0},\"host\":{\"name\":\"h1\",\"os\":{\"type\":\"linux\"}}," \
	"\"process\":{\"args\":[\"/tmp/x\"],\"args_count\":1,\"command_line\":\"/tmp/x\",\"entity_id\":\"4243-1767323046\"," \
	"\"executable\":\"/tmp/x\",\"name\":\"x\",\"parent\":{\"entity_id\":\"4000-1\",\"executable\":\"/bin/bash\",\"name\":\"bash\",\"pid\":4000}," \
	"\"pid\":4243},\"user\":{\"id\":0}}"

static void test_alert_shape(void **state)
{
	struct fx *f = *state;
	static const char *const tags[] = { "attack.t1105", "attack.execution" };
	static const char *const refs[] = { "https://example.org/a", "https://example.org/b" };
	static struct ks_attack_ref subs[] = {
		{ "T1105.001", "Sub", "https://attack.mitre.org/techniques/T1105/001/" },
	};
	static struct ks_technique techs[] = {
		{ { "T1105", "Ingress Tool Transfer", "https://attack.mitre.org/techniques/T1105/" },
		  subs, 1 },
		{ { "T1059", NULL, "https://attack.mitre.org/techniques/T1059/" }, NULL, 0 },
	};
	/* the same tactic twice: listed once; a technique without a name:
	 * no technique.name array (they would not line up) */
	static const struct ks_threat threats[] = {
		{ "MITRE ATT&CK", { "TA0011", "Command and Control",
				    "https://attack.mitre.org/tactics/TA0011/" }, techs, 1 },
		{ "MITRE ATT&CK", { "TA0011", "Command and Control",
				    "https://attack.mitre.org/tactics/TA0011/" }, techs + 1, 1 },
	};
	const struct ks_alert_meta meta = {
		.id = "tmp_payload_executed",
		.name = "Downloaded file executed from /tmp",
		.severity = "high", .action = "block",
		.tags = tags, .n_tags = 2,
		.uuid = "afd04601-12fc-4149-9b78-9c3f8fe45d39",
		.description = "A file downloaded to /tmp is run.",
		.references = refs, .n_references = 2,
		.threats = threats, .n_threats = 2,
		.risk_score = 73,
	}, plain = { .id = "r", .name = "r", .risk_score = -1 };
	const char *names[] = { "file.path" }, *values[] = { "/tmp/x" };
	const struct ks_event *evs[] = { &f->ev, &f->ev2 };
	char *s, *line = NULL;
	struct ks_jw w = {};
	json_t *a;

	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05.000000001Z\",\"event\":{\"category\":\"file\",\"action\":\"creation\"},"
		  "\"file\":{\"path\":\"/tmp/x\"},\"process\":{\"pid\":4242,\"entity_id\":\"4242-1767323045\",\"executable\":\"/usr/bin/curl\"},"
		  "\"user\":{\"id\":0},\"host\":{\"name\":\"h1\"}}", &f->ev);
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:06.5Z\",\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
		  "\"process\":{\"pid\":4243,\"entity_id\":\"4243-1767323046\",\"executable\":\"/tmp/x\",\"args\":[\"/tmp/x\"],"
		  "\"parent\":{\"pid\":4000,\"entity_id\":\"4000-1\",\"executable\":\"/bin/bash\"}},"
		  "\"user\":{\"id\":0},\"group\":{\"id\":0},\"host\":{\"name\":\"h1\"}}", &f->ev2);
	f->ev2.verdict.flags = KS_V_FORWARD | KS_V_DENIED;

	assert_int_equal(ks_ecs_alert_json(&f->ctx, &w, &meta, evs, 2, names, values, 1), 0);
	line = strndup(w.p, w.len);
	ks_jw_free(&w);
	assert_string_equal(line,
		"{\"@timestamp\":\"2026-01-02T03:04:06.500000000Z\","
		"\"ecs\":{\"version\":\"" KS_ECS_VERSION "\"},"
		"\"event\":{\"action\":\"block\",\"kind\":\"alert\",\"outcome\":\"blocked\",\"risk_score\":73},"
		"\"host\":{\"name\":\"h1\"},"
		"\"kestrel\":{\"events\":[" ALERT_E1 "," ALERT_E2 "],\"join\":{\"file.path\":\"/tmp/x\"}},"
		"\"rule\":{\"description\":\"A file downloaded to /tmp is run.\","
		"\"id\":\"tmp_payload_executed\",\"name\":\"Downloaded file executed from /tmp\","
		"\"reference\":[\"https://example.org/a\",\"https://example.org/b\"],"
		"\"severity\":\"high\",\"tags\":[\"attack.t1105\",\"attack.execution\"],"
		"\"uuid\":\"afd04601-12fc-4149-9b78-9c3f8fe45d39\"},"
		"\"threat\":{\"framework\":\"MITRE ATT&CK\","
		"\"tactic\":{\"id\":[\"TA0011\"],\"name\":[\"Command and Control\"],"
		"\"reference\":[\"https://attack.mitre.org/tactics/TA0011/\"]},"
		"\"technique\":{\"id\":[\"T1105\",\"T1059\"],"
		"\"reference\":[\"https://attack.mitre.org/techniques/T1105/\","
		"\"https://attack.mitre.org/techniques/T1059/\"],"
		"\"subtechnique\":{\"id\":[\"T1105.001\"],\"name\":[\"Sub\"],"
		"\"reference\":[\"https://attack.mitre.org/techniques/T1105/001/\"]}}}}");
	free(line);

	/* a rule that says nothing more: no uuid, description, reference,
	 * threat or risk score; ecs.version always */
	a = alert(&f->ctx, &plain, evs, 2, NULL, NULL, 0);
	s = dump(a);
	assert_non_null(strstr(s, "\"rule\":{\"id\":\"r\",\"name\":\"r\",\"severity\":\"medium\",\"tags\":[]}"));
	assert_non_null(strstr(s, "\"ecs\":{\"version\":\"" KS_ECS_VERSION "\"}"));
	assert_null(strstr(s, "\"threat\""));
	assert_null(strstr(s, "risk_score"));
	free(s);
	json_decref(a);

	/* outcome follows the completing event's verdict */
	f->ev2.verdict.flags = KS_V_KILLED | KS_V_DENIED;
	a = alert(&f->ctx, &meta, evs, 2, NULL, NULL, 0);
	s = dump(a);
	assert_non_null(strstr(s, "\"outcome\":\"killed\""));
	assert_non_null(strstr(s, "\"join\":{}"));
	free(s);
	json_decref(a);
	f->ev2.verdict.flags = 0;
	a = alert(&f->ctx, &meta, evs, 1, NULL, NULL, 0);
	s = dump(a);
	assert_non_null(strstr(s, "\"outcome\":\"success\""));
	assert_non_null(strstr(s, "\"@timestamp\":\"2026-01-02T03:04:05.000000001Z\""));
	free(s);
	json_decref(a);
	assert_null(alert(&f->ctx, &meta, evs, 0, NULL, NULL, 0));
}

/* Every replayed event keeps its own host.name, in its alert too. */
struct hosts {
	struct ks_event ev[3];
	int n;
};

static int hosts_cb(void *arg, struct ks_event *ev, unsigned long line)
{
	struct hosts *h = arg;

	h->ev[h->n++] = *ev;
	return 0;
}

/* Userspace-enriched fields of replayed records: in, evaluated, out. */
static void test_enriched_fields(void **state)
{
	static const char *const want[] = {
		"\"host\":{\"id\":\"0f3a9c\",\"name\":\"h1\",\"os\":{\"type\":\"linux\"}}",
		("\"parent\":{\"args\":[\"bash\",\"-c\",\"curl -x a\"],"
		 "\"command_line\":\"bash -c curl -x a\","),
		"\"pid\":10,\"user\":{\"id\":0},\"working_directory\":\"/tmp/w\"}",
		"\"executable\":\"/usr/bin/curl\",\"group\":{\"id\":1000},\"name\":\"curl\",",
		"\"group\":{\"id\":1000},\"name\":\"bash\",\"pid\":9,\"user\":{\"id\":1000}}",
		"\"user\":{\"id\":1000,\"name\":\"alice\"}",
	};
	struct fx *f = *state;
	FILE *in = fopen("tests/fixtures/ecs/defend.jsonl", "r");
	const struct ks_field_info *args = ks_field_lookup("process.parent.args");
	const struct ks_field_info *id = ks_field_lookup("host.id");
	struct hosts h = {};
	const char *s;
	size_t len, i;
	char *out;
	json_t *j;

	assert_non_null(in);
	assert_int_equal(ks_ecs_read_jsonl(in, "defend.jsonl", hosts_cb, &h, &f->ctx, NULL,
					   stderr), 0);
	fclose(in);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.ev[0].euid, 0);
	assert_int_equal(h.ev[0].uid, 1000);
	assert_int_equal(h.ev[0].present & (KS_P_EUID | KS_P_EGID | KS_P_PEUID | KS_P_PEGID),
			 KS_P_EUID | KS_P_EGID | KS_P_PEUID | KS_P_PEGID);
	assert_false(h.ev[1].present & (KS_P_EUID | KS_P_PEUID));
	assert_int_equal(h.ev[1].action, KS_ACT_CONNECT);
	assert_int_equal(h.ev[2].action, KS_ACT_EXIT);
	assert_true(ks_ecs_user_str(&f->ctx, args, &h.ev[0], &s, &len));
	assert_int_equal(len, strlen("bash") + 1 + strlen("-c") + 1 + strlen("curl -x a"));
	assert_memory_equal(s, "bash\0-c\0curl -x a", len);
	/* the parent's command line: Sigma's ParentCommandLine reads it */
	assert_true(ks_ecs_user_str(&f->ctx, ks_field_lookup("process.parent.command_line"),
				    &h.ev[0], &s, &len));
	assert_int_equal(len, strlen("bash -c curl -x a"));
	assert_memory_equal(s, "bash -c curl -x a", len);
	/* [] is null; each record its own value, none when it has none */
	assert_false(ks_ecs_user_str(&f->ctx, args, &h.ev[1], &s, &len));
	assert_false(ks_ecs_user_str(&f->ctx, id, &h.ev[1], &s, &len));
	assert_true(ks_ecs_user_str(&f->ctx, id, &h.ev[2], &s, &len));
	j = to_json(&f->ctx, &h.ev[0]);
	out = dump(j);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(out, want[i]))
			fail_msg("%s\nhas no %s", out, want[i]);
	free(out);
	json_decref(j);
	j = to_json(&f->ctx, &h.ev[1]);
	out = dump(j);
	assert_null(strstr(out, "\"args\":[]"));
	assert_non_null(strstr(out, "\"type\":[\"start\"]"));
	free(out);
	json_decref(j);
}

#define ENV_LINE(p) "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":" \
	"\"process\",\"action\":\"exec\"},\"process\":{\"pid\":1,\"name\":\"sh\"" p "}}\n"

/* Replay the JSONL text into h; returns the number of lines skipped. */
static unsigned long read_text(struct fx *f, const char *text, struct hosts *h)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	unsigned long skipped = 0;

	assert_non_null(in);
	h->n = 0;
	assert_int_equal(ks_ecs_read_jsonl(in, "t.jsonl", hosts_cb, h, &f->ctx,
					   &skipped, NULL), 0);
	fclose(in);
	return skipped;
}

/* The enriched field name of ev reads want (len bytes; NULL: null). */
static void user_is(struct fx *f, const char *name, const struct ks_event *ev,
		    const char *want, size_t len)
{
	const char *s;
	size_t got;

	if (!ks_ecs_user_str(&f->ctx, ks_field_lookup(name), ev, &s, &got)) {
		if (want)
			fail_msg("%s: null, want %s", name, want);
		return;
	}
	if (!want || got != len || memcmp(s, want, len))
		fail_msg("%s: got %.*s, want %s", name, (int)got, s, want ? want : "null");
}

/* ev as the codec writes it (malloc'd). */
static char *event_text(struct fx *f, const struct ks_event *ev)
{
	json_t *j = to_json(&f->ctx, ev);
	char *out = dump(j);

	json_decref(j);
	return out;
}

/*
 * Enriched values of the wrong type or out of range are errors: a string
 * or a negative or too large number for args_count, a string or numbers
 * for env_vars, a string or number for a boolean, a number for a name,
 * an array for a directory.
 */
static void test_enriched_refused(void **state)
{
	static const char *const bad[] = {
		",\"parent\":{\"pid\":2,\"args_count\":\"3\"}",
		",\"parent\":{\"pid\":2,\"args_count\":-1}",
		",\"parent\":{\"pid\":2,\"args_count\":4294967296}",
		",\"env_vars\":\"HISTFILE=/dev/null\"",
		",\"env_vars\":[1]",
		",\"interactive\":\"true\"",
		",\"interactive\":1",
		",\"parent\":{\"pid\":2,\"interactive\":\"false\"}",
		",\"session_leader\":{\"name\":7}",
		",\"parent\":{\"pid\":2,\"working_directory\":[\"/\"]}",
	};
	struct fx *f = *state;
	struct hosts h = {};
	char line[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(line, sizeof(line), ENV_LINE("%s"), bad[i]);
		if (read_text(f, line, &h) != 1 || h.n)
			fail_msg("accepted %s", line);
	}
}

#define USER_IS(f, name, ev, lit)	user_is(f, name, ev, lit, sizeof(lit) - 1)

/*
 * process.parent.args_count (a number) and process.env_vars (an array)
 * of replayed records: in, read back by the interpreter, out as Defend
 * writes them.
 */
static void test_enriched_argc_env(void **state)
{
	struct fx *f = *state;
	struct hosts h = {};
	char *out;

	assert_int_equal(read_text(f, ENV_LINE(",\"env_vars\":[\"A=1\",\"HISTFILE=/dev/null\"],"
					       "\"parent\":{\"pid\":2,\"args_count\":3}")
				      ENV_LINE(",\"env_vars\":[]"), &h), 0);
	assert_int_equal(h.n, 2);
	USER_IS(f, "process.parent.args_count", &h.ev[0], "3");
	USER_IS(f, "process.env_vars", &h.ev[0], "A=1\0HISTFILE=/dev/null");
	user_is(f, "process.env_vars", &h.ev[1], NULL, 0);
	user_is(f, "process.parent.args_count", &h.ev[1], NULL, 0);
	out = event_text(f, &h.ev[0]);
	assert_non_null(strstr(out, "\"env_vars\":[\"A=1\",\"HISTFILE=/dev/null\"],"));
	assert_non_null(strstr(out, "\"parent\":{\"args_count\":3,"));
	free(out);
}

/*
 * process.interactive (Elastic's boolean), the leaders' names and the
 * parent's interactive and working_directory of replayed records: read
 * back by the interpreter as text, written as Defend writes them.
 */
static void test_enriched_session(void **state)
{
	struct fx *f = *state;
	struct hosts h = {};
	char *out;

	assert_int_equal(read_text(f, ENV_LINE(",\"interactive\":true,\"group_leader\":"
					       "{\"name\":\"sh\"},\"session_leader\":{\"name\":"
					       "\"sshd\"},\"parent\":{\"pid\":2,\"interactive\":"
					       "false,\"working_directory\":\"/root\"}")
				      ENV_LINE(""), &h), 0);
	assert_int_equal(h.n, 2);
	USER_IS(f, "process.interactive", &h.ev[0], "true");
	USER_IS(f, "process.parent.interactive", &h.ev[0], "false");
	USER_IS(f, "process.session_leader.name", &h.ev[0], "sshd");
	USER_IS(f, "process.group_leader.name", &h.ev[0], "sh");
	USER_IS(f, "process.parent.working_directory", &h.ev[0], "/root");
	user_is(f, "process.interactive", &h.ev[1], NULL, 0);
	user_is(f, "process.session_leader.name", &h.ev[1], NULL, 0);
	out = event_text(f, &h.ev[0]);
	assert_non_null(strstr(out, "\"group_leader\":{\"name\":\"sh\"},\"interactive\":true,"));
	assert_non_null(strstr(out, "\"parent\":{\"interactive\":false,\"pid\":2,"
				    "\"working_directory\":\"/root\"}"));
	assert_non_null(strstr(out, "\"session_leader\":{\"name\":\"sshd\"}"));
	free(out);
	out = event_text(f, &h.ev[1]);
	assert_null(strstr(out, "leader"));
	assert_null(strstr(out, "interactive"));
	free(out);
}

/*
 * agent.id: a replayed record's own value, read and written back as
 * Defend writes it; a live event's is kload's own, one per process.
 */
static void test_agent_id(void **state)
{
	const struct ks_field_info *a = ks_field_lookup("agent.id");
	struct ks_event live = { .source = KS_SRC_EXEC };
	struct fx *f = *state;
	struct hosts h = {};
	const char *s1, *s2;
	size_t l1, l2;
	char *out;

	/* the record's top-level "agent" object after its "process" */
	assert_int_equal(read_text(f, ENV_LINE("},\"agent\":{\"id\":\"a-1\"")
				      ENV_LINE(""), &h), 0);
	assert_int_equal(h.n, 2);
	USER_IS(f, "agent.id", &h.ev[0], "a-1");
	user_is(f, "agent.id", &h.ev[1], NULL, 0);
	out = event_text(f, &h.ev[0]);
	assert_non_null(strstr(out, "\"agent\":{\"id\":\"a-1\"},"));
	free(out);
	out = event_text(f, &h.ev[1]);
	assert_null(strstr(out, "agent"));
	free(out);
	assert_true(ks_ecs_user_str(&f->ctx, a, &live, &s1, &l1));
	assert_int_equal(l1, 36);
	assert_true(ks_ecs_user_str(&f->ctx, a, &live, &s2, &l2));
	assert_int_equal(l2, l1);
	assert_memory_equal(s1, s2, l1);
}

/*
 * process.thread.capabilities.*: Defend's arrays of names in, the kernel's
 * bit sets, the names out in bit order; [] is null, an unknown name or a
 * string where an array belongs is an error.
 */
static void test_capabilities(void **state)
{
	static const char *const bad[] = {
		",\"thread\":{\"capabilities\":{\"effective\":[\"CAP_NOPE\"]}}",
		",\"thread\":{\"capabilities\":{\"effective\":\"CAP_CHOWN\"}}",
		",\"thread\":{\"capabilities\":{\"permitted\":[21]}}",
		",\"thread\":{\"capabilities\":{\"permitted\":[\"cap_chown\"]}}",
	};
	struct fx *f = *state;
	struct hosts h = {};
	char *out, line[256];
	json_t *j;
	size_t i;

	assert_int_equal(read_text(f, ENV_LINE(",\"thread\":{\"capabilities\":{"
					       "\"effective\":[\"CAP_SYS_PTRACE\",\"CAP_CHOWN\"],"
					       "\"permitted\":[\"CAP_CHECKPOINT_RESTORE\"]}}")
				      ENV_LINE(",\"thread\":{\"capabilities\":{\"effective\":[]}}"),
			 &h), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.ev[0].cap_effective, 1ull << 19 | 1ull << 0);
	assert_int_equal(h.ev[0].cap_permitted, 1ull << 40);
	assert_int_equal(h.ev[1].cap_effective, 0);
	j = to_json(&f->ctx, &h.ev[0]);
	out = dump(j);
	assert_non_null(strstr(out, "\"thread\":{\"capabilities\":{\"effective\":"
			       "[\"CAP_CHOWN\",\"CAP_SYS_PTRACE\"],"
			       "\"permitted\":[\"CAP_CHECKPOINT_RESTORE\"]}}"));
	free(out);
	json_decref(j);
	j = to_json(&f->ctx, &h.ev[1]);
	out = dump(j);
	assert_null(strstr(out, "thread"));
	free(out);
	json_decref(j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), ENV_LINE("%s"), bad[i]);
		if (read_text(f, line, &h) != 1 || h.n)
			fail_msg("accepted %s", line);
	}
}

/*
 * A child running `sleep 5` with environment envp, once it has exec'd
 * (the pipe's write end closes on exec): its pid. With stdio, the child
 * first leads a new session in "/" with stdin, stdout and stderr that
 * file (a terminal opened so becomes its controlling terminal).
 */
static pid_t spawn_sleep(char *const envp[], const char *stdio)
{
	char *const argv[] = { "sleep", "5", NULL };
	int fds[2], s, fd;
	char c;
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		s = !stdio ? -1 : setsid() < 0 || chdir("/") ? -2 : open(stdio, O_RDWR);
		for (fd = 0; s >= 0 && fd < 3; fd++)
			dup2(s, fd);
		if (s != -2)
			execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 0);
	close(fds[0]);
	return pid;
}

/* The same without a new session. */
static pid_t exec_sleep(char *const envp[])
{
	return spawn_sleep(envp, NULL);
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * Live events read process.env_vars from /proc/PID/environ (whole
 * variables only, at most KS_ECS_ENVBUF bytes) and process.parent.args_count
 * from /proc/PPID/cmdline; null once the process is gone.
 */
static void test_enriched_live(void **state)
{
	const struct ks_field_info *argc = ks_field_lookup("process.parent.args_count");
	const struct ks_field_info *env = ks_field_lookup("process.env_vars");
	char *const small[] = { "KS_T=1", "HISTFILE=/dev/null", NULL };
	size_t big = KS_ECS_ENVBUF / 2 - 16, len;
	char *vars[4], *envp[4];
	struct ks_event ev = { .source = KS_SRC_EXEC,
			       .present = KS_P_PROCESS | KS_P_PARENT };
	struct fx *f = *state;
	const char *s;
	int i;

	ev.pid = ev.ppid = (uint32_t)exec_sleep(small);
	assert_true(ks_ecs_user_str(&f->ctx, env, &ev, &s, &len));
	assert_int_equal(len, sizeof("KS_T=1\0HISTFILE=/dev/null") - 1);
	assert_memory_equal(s, "KS_T=1\0HISTFILE=/dev/null", len);
	assert_true(ks_ecs_user_str(&f->ctx, argc, &ev, &s, &len));
	assert_int_equal(len, 1);
	assert_memory_equal(s, "2", 1);	/* sleep 5 */
	reap((pid_t)ev.pid);
	assert_false(ks_ecs_user_str(&f->ctx, env, &ev, &s, &len));
	assert_false(ks_ecs_user_str(&f->ctx, argc, &ev, &s, &len));
	/* three variables of which two fit: the third is not cut, but left out */
	for (i = 0; i < 3; i++) {
		vars[i] = malloc(big);
		assert_non_null(vars[i]);
		memset(vars[i], 'x', big - 1);
		vars[i][0] = (char)('A' + i);
		vars[i][1] = '=';
		vars[i][big - 1] = 0;
		envp[i] = vars[i];
	}
	envp[3] = NULL;
	ev.pid = (uint32_t)exec_sleep(envp);
	assert_true(ks_ecs_user_str(&f->ctx, env, &ev, &s, &len));
	reap((pid_t)ev.pid);
	assert_int_equal(len, 2 * big - 1);
	assert_memory_equal(s, vars[0], big);
	assert_memory_equal(s + big, vars[1], big - 1);
	for (i = 0; i < 3; i++)
		free(vars[i]);
}

/*
 * A child running `sleep 5` as the leader of a new session, in "/": with
 * a pseudo-terminal as controlling terminal, stdin, stdout and stderr
 * (tty; *master is its other end, which the caller closes after the child
 * has gone: closing it hangs the terminal up), or with none and stdin,
 * stdout and stderr /dev/null.
 */
static pid_t exec_session(bool tty, int *master)
{
	char *envp[] = { NULL };
	int m = -1;

	if (tty) {
		m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		assert_true(m >= 0);
		assert_int_equal(grantpt(m), 0);
		assert_int_equal(unlockpt(m), 0);
	}
	*master = m;
	return spawn_sleep(envp, tty ? ptsname(m) : "/dev/null");
}

/*
 * Live: process.interactive (and the parent's) from the controlling
 * terminal and fds 0 and 2, the leaders' names from the session and
 * group ids, the parent's working directory; null once it has gone.
 */
static void test_enriched_live_session(void **state)
{
	static const char *const names[] = {
		"process.interactive", "process.parent.interactive",
		"process.session_leader.name", "process.group_leader.name",
		"process.parent.working_directory",
	};
	static const char *const with_tty[] = { "true", "true", "sleep", "sleep", "/" };
	static const char *const without[] = { "false", "false", "sleep", "sleep", "/" };
	struct ks_event ev = { .source = KS_SRC_EXEC,
			       .present = KS_P_PROCESS | KS_P_PARENT };
	struct fx *f = *state;
	size_t i;
	int t, m;

	for (t = 0; t < 2; t++) {
		ev.pid = ev.ppid = (uint32_t)exec_session(!t, &m);
		for (i = 0; i < ARRAY_SIZE(names); i++) {
			const char *want = t ? without[i] : with_tty[i];

			user_is(f, names[i], &ev, want, strlen(want));
		}
		reap((pid_t)ev.pid);
		if (m >= 0)
			close(m);
		for (i = 0; i < ARRAY_SIZE(names); i++)
			user_is(f, names[i], &ev, NULL, 0);
	}
}

#define HOST_LINE(h) "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":" \
	"\"process\",\"action\":\"exec\"},\"process\":{\"pid\":1}" h "}\n"

static void test_multi_host(void **state)
{
	struct fx *f = *state;
	const char *in = HOST_LINE(",\"host\":{\"name\":\"h1\"}")
			 HOST_LINE(",\"host\":{\"name\":\"h2\"}") HOST_LINE("");
	const struct ks_alert_meta meta = { .id = "r", .name = "r" };
	const struct ks_event *evs[2];
	struct hosts h = {};
	FILE *fin = fmemopen((void *)in, strlen(in), "r");
	char *s;
	json_t *j;
	int i;

	assert_int_equal(ks_ecs_read_jsonl(fin, "h.jsonl", hosts_cb, &h, &f->ctx, NULL, NULL), 0);
	fclose(fin);
	assert_int_equal(h.n, 3);
	for (i = 0; i < 3; i++) {
		j = to_json(&f->ctx, &h.ev[i]);
		s = dump(j);
		/* without a host.name of its own: the first one's, as before */
		assert_non_null(strstr(s, i == 1 ? "\"host\":{\"name\":\"h2\"," :
					       "\"host\":{\"name\":\"h1\","));
		free(s);
		json_decref(j);
	}
	evs[0] = &h.ev[0];
	evs[1] = &h.ev[1];
	j = alert(&f->ctx, &meta, evs, 2, NULL, NULL, 0);
	s = dump(j);
	assert_non_null(strstr(s, "\"host\":{\"name\":\"h2\"},\"kestrel\""));
	assert_non_null(strstr(s, "\"host\":{\"name\":\"h1\",\"os\":{\"type\":\"linux\"}},\"process\""));
	free(s);
	json_decref(j);
}

/* A well-formed time outside what the event can hold says so. */
static void test_time_out_of_range(void **state)
{
	static const char *const range[] = { "1969-12-31T23:59:59Z", "9999-01-01T00:00:00Z" };
	struct fx *f = *state;
	char text[256];
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(text, sizeof(text), "{\"@timestamp\":\"%s\",\"event\":{\"category\":"
			 "\"process\",\"action\":\"exec\"}}", range[i]);
		assert_int_not_equal(decode(f, text, &f->ev), 0);
		if (!strstr(f->err, "is out of range"))
			fail_msg("%s: %s", range[i], f->err);
	}
	assert_int_not_equal(decode(f, "{\"@timestamp\":\"2026-13-01T00:00:00Z\",\"event\":"
				    "{\"category\":\"process\",\"action\":\"exec\"}}", &f->ev), 0);
	assert_non_null(strstr(f->err, "is not RFC 3339"));
}

static void test_host(void **state)
{
	struct ks_ecs_ctx ctx;

	(void)state;
	ks_ecs_init(&ctx, "given");
	assert_string_equal(ks_ecs_host(&ctx), "given");
	ks_ecs_free(&ctx);
	ks_ecs_init(&ctx, NULL);
	assert_true(strlen(ks_ecs_host(&ctx)) > 0);
	ks_ecs_free(&ctx);
}

/*
 * container.id and the namespace ids: decoded, printed back the same, in
 * the alert's top level too; one key per distinct id; bad values rejected.
 */
static void test_container_ns(void **state)
{
	static const char *const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct fx *f = *state;
	struct ks_event ev, other, back;
	struct ks_alert_meta meta = { .id = "r", .name = "r", .severity = "low" };
	const struct ks_event *evs[1] = { &ev };
	char *text, *s;
	json_t *j;

	assert_true(asprintf(&text,
		"{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":\"process\","
		"\"action\":\"exec\"},\"process\":{\"pid\":7},\"container\":{\"id\":\"%s\"},"
		"\"kestrel\":{\"process\":{\"pid_ns\":4026531836,\"mnt_ns\":4026531841,"
		"\"net_ns\":4026531840,\"user_ns\":4026531837}}}", id) > 0);
	decode_ok(f, text, &ev);
	assert_int_equal(ev.pid_ns, 4026531836u);
	assert_int_equal(ev.net_ns, 4026531840u);
	assert_int_equal(ev.user_ns, 4026531837u);
	assert_true(ev.cgroup_id & KS_CGROUP_REPLAY);
	assert_string_equal(ks_ecs_container(&f->ctx, &ev), id);
	decode_ok(f, text, &other);
	assert_int_equal(other.cgroup_id, ev.cgroup_id);	/* the same id, the same key */
	free(text);
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":"
		  "\"process\",\"action\":\"exec\"},\"container\":{\"id\":\"box\"}}", &other);
	assert_int_not_equal(other.cgroup_id, ev.cgroup_id);
	assert_string_equal(ks_ecs_container(&f->ctx, &other), "box");
	j = to_json(&f->ctx, &ev);
	s = dump(j);
	json_decref(j);
	assert_non_null(strstr(s, "\"container\":{\"id\":\"0123456789abcdef"));
	assert_non_null(strstr(s, "\"process\":{\"mnt_ns\":4026531841,\"net_ns\":4026531840,"
				  "\"pid_ns\":4026531836,\"user_ns\":4026531837}"));
	decode_ok(f, s, &back);
	free(s);
	assert_int_equal(back.cgroup_id, ev.cgroup_id);
	assert_int_equal(back.pid_ns, ev.pid_ns);
	j = alert(&f->ctx, &meta, evs, 1, NULL, NULL, 0);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "container"), "id")),
			    id);
	json_decref(j);
	/* none: no container object at all */
	decode_ok(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":"
		  "\"process\",\"action\":\"exec\"}}", &other);
	assert_int_equal(other.cgroup_id, 0);
	assert_null(ks_ecs_container(&f->ctx, &other));
	assert_int_not_equal(decode(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":"
				    "{\"category\":\"process\",\"action\":\"exec\"},"
				    "\"container\":{\"id\":\"\"}}", &other), 0);
	assert_non_null(strstr(f->err, "container.id"));
	assert_int_not_equal(decode(f, "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":"
				    "{\"category\":\"process\",\"action\":\"exec\"},"
				    "\"kestrel\":{\"process\":{\"pid_ns\":-1}}}", &other), 0);
}

#define ENTRY_LINE(p) "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"event\":{\"category\":" \
	"\"process\",\"action\":\"exec\"},\"process\":{\"pid\":7" p "}\n"
#define ENTRY_TYPE(t) ",\"entry_leader\":{\"entry_meta\":{\"type\":\"" t "\"}}}"
#define PID_NS(n) ",\"kestrel\":{\"process\":{\"pid_ns\":" n "}}"

/*
 * process.entry_leader.entry_meta.type: read as the pid namespace it
 * stands for (a record's own namespace must agree), written "container"
 * for a namespace other than the host's and not at all on the host.
 */
static void test_entry_type(void **state)
{
	static const char *const bad[] = {
		ENTRY_LINE(ENTRY_TYPE("vm")),
		ENTRY_LINE(ENTRY_TYPE("Container")),
		ENTRY_LINE(",\"entry_leader\":{\"entry_meta\":{\"type\":1}}}"),
		ENTRY_LINE(ENTRY_TYPE("container") PID_NS("4026531836")),
		ENTRY_LINE(ENTRY_TYPE("sshd") PID_NS("4026532201")),
	};
	struct fx *f = *state;
	struct ks_event ev;
	size_t i;
	char *s;
	json_t *j;

	decode_ok(f, ENTRY_LINE(ENTRY_TYPE("container")), &ev);
	assert_int_equal(ev.pid_ns, KS_PID_NS_REPLAY);
	decode_ok(f, ENTRY_LINE(ENTRY_TYPE("container") PID_NS("4026532201")), &ev);
	assert_int_equal(ev.pid_ns, 4026532201u);
	j = to_json(&f->ctx, &ev);
	s = dump(j);
	json_decref(j);
	assert_non_null(strstr(s, "\"entry_leader\":{\"entry_meta\":{\"type\":\"container\"}}"));
	free(s);
	decode_ok(f, ENTRY_LINE(ENTRY_TYPE("sshd")), &ev);
	assert_int_equal(ev.pid_ns, KS_PID_NS_HOST);
	decode_ok(f, ENTRY_LINE(ENTRY_TYPE("init") PID_NS("4026531836")), &ev);
	assert_int_equal(ev.pid_ns, KS_PID_NS_HOST);
	j = to_json(&f->ctx, &ev);
	s = dump(j);
	json_decref(j);
	assert_null(strstr(s, "entry_leader"));
	free(s);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (!decode(f, bad[i], &ev))
			fail_msg("accepted %s", bad[i]);
}

/*
 * process.session_leader / entry_leader entity_id and pid: a pid-start id
 * is the key the kernel makes of the leader's pid and start (the
 * leader's own process.entity_id), any other text is interned; the
 * pid comes from the id when the record has none; both print back
 * byte for byte beside the session leader's name and entry_meta.type.
 */
static void test_leaders(void **state)
{
	static const char *const lines[] = {
		ENTRY_LINE(",\"session_leader\":{\"entity_id\":\"5-100\",\"name\":\"bash\","
			   "\"pid\":5},\"entry_leader\":{\"entity_id\":\"5-100\",\"pid\":5}}"),
		ENTRY_LINE(",\"session_leader\":{\"entity_id\":\"6-0\",\"pid\":6},"
			   "\"entry_leader\":{\"entity_id\":\"1-90\",\"entry_meta\":"
			   "{\"type\":\"container\"},\"pid\":1}}"),
		ENTRY_LINE(",\"session_leader\":{\"entity_id\":\"MTIzNDU2Nzg5\"}}"),
	};
	static const char *const bad[] = {
		ENTRY_LINE(",\"session_leader\":{\"pid\":0}}"),
		ENTRY_LINE(",\"entry_leader\":{\"pid\":\"x\"}}"),
		ENTRY_LINE(",\"session_leader\":{\"entity_id\":5}}"),
	};
	struct fx *f = *state;
	struct ks_event ev;
	size_t i;

	decode_ok(f, lines[0], &ev);
	assert_int_equal(ev.sl_entity, KS_ENTITY_KEY(5, 100));
	assert_int_equal(ev.sl_start_ns, 100);
	assert_int_equal(ev.el_entity, ev.sl_entity);
	decode_ok(f, ENTRY_LINE(",\"session_leader\":{\"entity_id\":\"8-9\"}}"), &ev);
	assert_int_equal(ev.sl_pid, 8);	/* from the id */
	assert_int_equal(ev.el_entity, 0);
	decode_ok(f, lines[2], &ev);
	assert_int_equal(ev.sl_entity, ks_fnv1a64("MTIzNDU2Nzg5", 12, KS_FNV64_INIT));
	assert_int_equal(ev.sl_pid, 0);
	for (i = 0; i < ARRAY_SIZE(lines); i++)
		roundtrip(f, lines[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (!decode(f, bad[i], &ev))
			fail_msg("accepted %s", bad[i]);
}

#define RENAME_LINE(file)							\
	"{\"@timestamp\":\"2026-01-02T03:04:06Z\",\"event\":{\"category\":\"file\","	\
	"\"action\":\"rename\"},\"file\":{" file "}}"

/*
 * A rename as Elastic Defend writes it (file.path the new path, file.Ext.
 * original.* the old one), and as Kestrel's records before ABI 16 did
 * (file.path the old path, file.target_path the new): both decode to the
 * same event, which encodes in Defend's shape; one record with both is
 * refused.
 */
#define RENAME_CUT(file, cut)							\
	"{\"@timestamp\":\"2026-01-02T03:04:06Z\",\"event\":{\"category\":\"file\","	\
	"\"action\":\"rename\"},\"file\":{" file "},\"kestrel\":{\"cut_head\":{" cut "}}}"

/*
 * Both paths of a rename cut, heads of different lengths: Defend's shape
 * (kestrel.cut_head per field) and the older one (file.path the source,
 * file.target_path the new path, their heads under those names) decode to
 * the same slots and heads.
 */
static void check_old_cut_rename(struct fx *f)
{
	/* each: the new path's head and tail, then the source's */
	static const char *const shapes[2] = {
		RENAME_CUT("\"path\":\"%.64s...%s/new\",\"Ext\":{\"original\":"
			   "{\"path\":\"%.40s...%s/old\"}}",
			   "\"file.path\":64,\"file.Ext.original.path\":40"),
		RENAME_CUT("\"target_path\":\"%.64s...%s/new\","
			   "\"path\":\"%.40s...%s/old\"",
			   "\"file.path\":40,\"file.target_path\":64"),
	};
	struct ks_event ev[2];
	char *line, deep[601];
	const char *tail = deep + sizeof(deep) - 201;
	size_t i;

	for (i = 0; i < sizeof(deep) - 1; i++)
		deep[i] = i % 2 ? 'd' : '/';
	deep[sizeof(deep) - 1] = '\0';
	for (i = 0; i < 2; i++) {
		assert_true(asprintf(&line, shapes[i], deep, tail, deep, tail) > 0);
		decode_ok(f, line, &ev[i]);
		free(line);
		assert_int_equal(ev[i].cut_head[KS_PATH_IDX(KS_F_FILE_PATH)], 64);
		assert_int_equal(ev[i].cut_head[KS_PATH_IDX(KS_F_FILE_ORIG_PATH)], 40);
	}
	assert_int_equal(ev[1].truncated, ev[0].truncated);
	assert_memory_equal(ev[1].str, ev[0].str, sizeof(ev[0].str));
	assert_memory_equal(ev[1].path, ev[0].path, KS_PATH_MAX);
	assert_memory_equal(ev[1].orig, ev[0].orig, KS_PATH_MAX);
}

static void test_rename_shapes(void **state)
{
	static const char *const shapes[] = {
		RENAME_LINE("\"path\":\"/etc/cron.d/b\",\"name\":\"b\",\"Ext\":{\"original\":{"
			    "\"path\":\"/tmp/a.tar.gz\",\"name\":\"a.tar.gz\",\"extension\":\"tar.gz\"}}"),
		RENAME_LINE("\"path\":\"/tmp/a.tar.gz\",\"name\":\"a.tar.gz\",\"extension\":\"tar.gz\","
			    "\"target_path\":\"/etc/cron.d/b\""),
	};
	static const char want[] = "\"file\":{\"Ext\":{\"original\":{\"extension\":\"tar.gz\","
				   "\"name\":\"a.tar.gz\",\"path\":\"/tmp/a.tar.gz\"}},\"name\":\"b\","
				   "\"path\":\"/etc/cron.d/b\"}";
	struct fx *f = *state;
	struct ks_event ev;
	size_t i;
	char *s;
	json_t *j;

	for (i = 0; i < ARRAY_SIZE(shapes); i++) {
		decode_ok(f, shapes[i], &ev);
		assert_int_equal(ev.present & (KS_P_FILE | KS_P_ORIG), KS_P_FILE | KS_P_ORIG);
		assert_ref(&ev, KS_F_FILE_PATH, "/etc/cron.d/b", 13);
		assert_ref(&ev, KS_F_FILE_NAME, "b", 1);
		assert_int_equal(ev.str[KS_F_FILE_EXTENSION].len, 0);
		assert_ref(&ev, KS_F_FILE_ORIG_PATH, "/tmp/a.tar.gz", 13);
		assert_ref(&ev, KS_F_FILE_ORIG_NAME, "a.tar.gz", 8);
		assert_ref(&ev, KS_F_FILE_ORIG_EXT, "tar.gz", 6);
		j = to_json(&f->ctx, &ev);
		s = dump(j);
		json_decref(j);
		if (!strstr(s, want))
			fail_msg("%s\n  encoded as %s", shapes[i], s);
		free(s);
	}
	check_old_cut_rename(f);
	if (!decode(f, RENAME_LINE("\"path\":\"/a\",\"target_path\":\"/b\","
				   "\"Ext\":{\"original\":{\"path\":\"/c\"}}"), &ev))
		fail_msg("accepted file.target_path with file.Ext.original");
	if (!decode(f, RENAME_LINE("\"path\":\"/a\",\"Ext\":{\"original\":{\"name\":\"c\"}}"), &ev))
		fail_msg("accepted file.Ext.original.name without its path");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spec_example, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_not_basename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leaders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enriched_live_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enriched_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enriched_refused, setup, teardown),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_format_time),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entity_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entity_id_u64_limit, setup, teardown),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test_setup_teardown(test_json_from_bad_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_of_unknown_action, setup, teardown),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_path_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_long_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_args_cut_at_separator, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotted_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jsonl_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jsonl_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diagnostics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_after_number, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defend_shape, setup, teardown),
		cmocka_unit_test(test_host),
		cmocka_unit_test_setup_teardown(test_multi_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enriched_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enriched_argc_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enriched_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_ns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_pass_fixtures, setup, teardown),
		cmocka_unit_test(test_one_pass_quote_at_64),
	};

	return cmocka_run_group_tests_name("ecs", tests, NULL, NULL);
}
