// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the alert encoder. Input starting with '{' is Event
 * JSONL: up to four events are decoded and become the events of one
 * alert; any other input is taken as the raw bytes of a struct ks_event
 * (what the ring buffer hands over: offsets and lengths unchecked). The
 * alert is built, encoded through the production output, and must come
 * out as one line of valid JSON in valid UTF-8, whatever the bytes were.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kestrel/ecs.h"
#include "kestrel/output.h"

#define MAX_EVS	4

struct evs {
	struct ks_event ev[MAX_EVS];
	int n;
};

static int keep(void *arg, struct ks_event *ev, json_t *obj, unsigned long line)
{
	struct evs *e = arg;

	e->ev[e->n++] = *ev;
	return e->n == MAX_EVS;
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
	size_t len;
	json_t *a;
	int i;

	for (i = 0; i < e->n; i++)
		evs[i] = &e->ev[i];
	values[0] = ks_ecs_field_text(ctx, evs[e->n - 1], KS_F_PROCESS_COMMAND_LINE, val,
				      sizeof(val)) < 0 ? "" : val;
	a = ks_ecs_alert(ctx, &meta, evs, e->n, names, values, 1);
	if (!a || ks_output_json(out, a))
		abort();
	json_decref(a);
	text = ks_output_text(out, &len);
	a = json_loadb(text, len, JSON_ALLOW_NUL, NULL);	/* payload may hold NUL */
	if (!a || !ks_utf8_valid(text, len) || memchr(text, '\n', len) != text + len - 1)
		abort();
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
