// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: Event JSONL, as `kload replay --events` reads it,
 * through the decoder (ks_ecs_read_jsonl). Any crash, leak or sanitizer
 * report is a bug: a recording is untrusted input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kestrel/ecs.h"

static int on_event(void *arg, struct ks_event *ev, json_t *obj, unsigned long line)
{
	unsigned long *n = arg;

	/* the decoder's promise: every text slot stays NUL-terminated */
	if (ev->exe[KS_PATH_MAX - 1] || ev->path[KS_PATH_MAX - 1] || ev->comm[KS_COMM_MAX - 1])
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
	f = fmemopen((void *)data, size, "r");
	if (!f)
		abort();
	ks_ecs_init(&ctx, NULL);
	ks_ecs_read_jsonl(f, "fuzz", on_event, &n, &ctx, &skipped, NULL);
	ks_ecs_free(&ctx);
	fclose(f);
	return 0;
}
