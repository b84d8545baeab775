// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the alert encoder. Input starting with '{' is Event
 * JSONL: up to two events are decoded and become the events of one
 * alert; any other input is taken as the raw bytes of a struct ks_event
 * (what the ring buffer hands over: offsets and lengths unchecked). The
 * alert is built, encoded through the production output, and must come
 * out as one line of valid JSON in valid UTF-8, whatever the bytes were.
 * The JSON is checked by a strict RFC 8259 recognizer below. The line
 * must also be byte for byte what the jansson encoder kestrel used
 * before printed (tests/ecs_ref.h, the oracle).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/ecs.h"
#include "kestrel/json.h"
#include "kestrel/output.h"
#include "../ecs_ref.h"

#define MAX_EVS	2

struct evs {
	struct ks_event ev[MAX_EVS];
	int n;
};

static int keep(void *arg, struct ks_event *ev, unsigned long line)
{
	struct evs *e = arg;

	e->ev[e->n++] = *ev;
	return e->n == MAX_EVS;
}

/* ---- RFC 8259 recognizer: returns the end of the value, NULL if invalid ---- */
static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static const char *string(const char *p, const char *end)
{
	int i;

	for (p++; p < end && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\')
			continue;
		if (++p == end)
			return NULL;
		if (*p == 'u') {
			for (i = 0; i < 4; i++)
				if (++p == end || !strchr("0123456789abcdefABCDEF", *p))
					return NULL;
		} else if (!strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return p < end ? p + 1 : NULL;
}

static const char *number(const char *p, const char *end)
{
	const char *d;

	if (p < end && *p == '-')
		p++;
	d = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == d || (*d == '0' && p - d > 1))
		return NULL;
	return p;	/* the encoder writes integers only */
}

static const char *value(const char *p, const char *end, int depth);

/* An object ('{', key: value pairs) or an array ('[', values). */
static const char *members(const char *p, const char *end, int depth, char close)
{
	p = ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if (p == end || *p != '"' || !(p = string(p, end)))
				return NULL;
			p = ws(p, end);
			if (p == end || *p++ != ':')
				return NULL;
		}
		if (!(p = value(p, end, depth + 1)))
			return NULL;
		p = ws(p, end);
		if (p < end && *p == close)
			return p + 1;
		if (p == end || *p++ != ',')
			return NULL;
		p = ws(p, end);
	}
}

static const char *value(const char *p, const char *end, int depth)
{
	p = ws(p, end);
	if (p == end || depth > 64)
		return NULL;
	if (*p == '{' || *p == '[')
		return members(p, end, depth, *p == '{' ? '}' : ']');
	if (*p == '"')
		return string(p, end);
	if (end - p >= 4 && (!memcmp(p, "true", 4) || !memcmp(p, "null", 4)))
		return p + 4;
	if (end - p >= 5 && !memcmp(p, "false", 5))
		return p + 5;
	return number(p, end);
}

static void check(struct ks_ecs_ctx *ctx, const struct evs *e)
{
	static const char *const tags[] = { "attack.t1059" };
	const struct ks_alert_meta meta = { .id = "fuzz", .name = "fuzz", .severity = "low",
					    .action = "alert", .tags = tags, .n_tags = 1 };
	const struct ks_event *evs[MAX_EVS];
	const char *names[1] = { "process.command_line" }, *values[1];
	char val[512];
	struct ks_output *out = ks_output_memory();
	const char *text;
	struct ks_jw *w;
	char *want;
	size_t len;
	json_t *a;
	int i;

	for (i = 0; i < e->n; i++)
		evs[i] = &e->ev[i];
	values[0] = ks_field_text(ctx, evs[e->n - 1], KS_F_PROCESS_COMMAND_LINE, val,
				  sizeof(val)) < 0 ? "" : val;
	w = ks_output_begin(out);
	if (ks_ecs_alert_json(ctx, w, &meta, evs, e->n, names, values, 1) ||
	    ks_output_end(out, true, NULL))
		abort();
	text = ks_output_text(out, &len);
	if (!len || value(text, text + len, 0) != text + len - 1 || text[len - 1] != '\n' ||
	    !ks_utf8_valid(text, len))
		abort();
	a = ref_alert(ctx, &meta, evs, e->n, names, values, 1);
	want = ref_dump(a);
	if (!want || strlen(want) != len - 1 || memcmp(want, text, len - 1))
		abort();
	free(want);
	json_decref(a);
	ks_output_close(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct evs e;
	struct ks_ecs_ctx ctx;
	FILE *f;

	ks_ecs_init(&ctx, "fuzz-host");
	e.n = 0;
	if (size && data[0] == '{') {
		f = fmemopen((void *)data, size, "r");
		if (!f)
			abort();
		ks_ecs_read_jsonl(f, "fuzz", keep, &e, &ctx, NULL, NULL);
		fclose(f);
	} else {
		memset(&e.ev[0], 0, sizeof(e.ev[0]));
		memcpy(&e.ev[0], data, size < sizeof(e.ev[0]) ? size : sizeof(e.ev[0]));
		e.n = 1;
	}
	if (e.n)
		check(&ctx, &e);
	ks_ecs_free(&ctx);
	return 0;
}
