// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Replay: Event JSONL (or pcap) -> the very BPF programs that run live,
 * through BPF_PROG_TEST_RUN, in batches -> ring buffer -> pipeline ->
 * alerts. Everything is in input order, the join hash key is fixed and
 * time comes from the input, so the output is deterministic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/ecs.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel/pipeline.h"
#include "kestrel/replay.h"
#include "kestrel.skel.h"
#include "replay_int.h"

_Static_assert(sizeof(struct ks_replay_ctx) <= 65535, "test-run ctx is at most 64 KiB");

/*
 * Defined in replay_pcap.c, which only kload links: libpcap has no
 * static build here, and the statically linked VM selftests must not
 * need it. A weak reference does not pull the object in by itself.
 */
extern int ks_replay_pcap(struct ks_replay *r, const char *path) __attribute__((weak));

int ks_replay_on_event(void *ctx, void *data, size_t size)
{
	struct ks_replay *r = ctx;
	struct ks_event ev;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	if (r->pcap) {
		ev.ts_ns = r->pkt_ts;	/* the kernel only knows test-run time */
		ev.ifindex = 0;		/* test runs report lo; no interface here */
	}
	r->res->forwarded++;
	r->res->alerts += ks_pipeline_event(r->p, &ev);
	return 0;
}

static int flush(struct ks_replay *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts,
		.ctx_in = r->batch,
		.ctx_size_in = sizeof(*r->batch),
	);
	int err;

	if (!r->batch->n)
		return 0;
	err = bpf_prog_test_run_opts(bpf_program__fd(r->e.skel->progs.ks_replay), &topts);
	r->res->test_runs++;
	r->res->events += r->batch->n;
	r->batch->n = 0;
	if (err)
		return -errno;
	ring_buffer__consume(r->rb);
	return 0;
}

static int on_input(void *arg, struct ks_event *ev, json_t *obj, unsigned long line)
{
	struct ks_replay *r = arg;

	r->batch->ev[r->batch->n++] = *ev;
	if (r->batch->n == KS_REPLAY_BATCH)
		return flush(r);
	return 0;
}

struct ks_replay *ks_replay_open(struct ks_ruleset *rs, struct ks_tables *t,
				 const struct ks_replay_opts *o)
{
	struct ks_engine_opts eo = { .replay = true, .xdp = !!o->pcap, .mode = o->mode,
				     .hash_key = 0x6b657374726c3031ull, .judge_self = true };
	struct ks_pipeline_opts po = { .alerts = o->alerts };
	struct ks_replay *r = calloc(1, sizeof(*r));
	int err = -ENOMEM;

	if (!r)
		goto fail_rules;
	ks_engine_init(&r->e);
	ks_ecs_init(&r->ecs, NULL);
	r->errout = o->errout;
	r->batch = calloc(1, sizeof(*r->batch));
	r->p = ks_pipeline_new(&po, &r->ecs);
	if (!r->batch || !r->p)
		goto fail;
	err = ks_engine_load(&r->e, &eo);
	if (err) {
		pr_warn("kload: cannot load the replay program: %s\n", strerror(-err));
		goto fail;
	}
	err = ks_engine_install(&r->e, t);
	if (!err)
		err = ks_pipeline_set_rules(r->p, rs, t);
	rs = NULL;	/* the pipeline owns it now */
	if (err)
		goto fail;
	free(t);	/* the kernel and the pipeline have their copies */
	t = NULL;
	r->rb = ring_buffer__new(r->e.events_fd, ks_replay_on_event, r, NULL);
	if (!r->rb) {
		err = -errno;
		goto fail;
	}
	return r;
fail:
	ks_replay_close(r);
fail_rules:
	if (rs)
		ks_ruleset_free(rs);
	free(t);
	errno = -err;
	return NULL;
}

void ks_replay_close(struct ks_replay *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	ks_engine_destroy(&r->e);
	ks_pipeline_free(r->p);
	ks_ecs_free(&r->ecs);
	free(r->batch);
	free(r);
}

void ks_replay_reset(struct ks_replay *r)
{
	struct ks_entity_key key, next;

	while (!bpf_map_get_next_key(r->e.entity_fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(r->e.entity_fd, &key))
			break;
	}
	ks_pipeline_reset(r->p);
}

int ks_replay_events(struct ks_replay *r, const char *path, FILE *alerts,
		     struct ks_replay_result *res)
{
	FILE *in;
	int err;

	memset(res, 0, sizeof(*res));
	r->res = res;
	ks_pipeline_set_output(r->p, alerts);
	in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!in) {
		fprintf(stderr, "%s: error: %s\n", path, strerror(errno));
		return -errno;
	}
	err = ks_ecs_read_jsonl(in, path, on_input, r, &r->ecs, &res->skipped, r->errout);
	if (!err)
		err = flush(r);
	if (in != stdin)
		fclose(in);
	return err;
}

int ks_replay_run(struct ks_ruleset *rs, struct ks_tables *t,
		  const struct ks_replay_opts *o, struct ks_replay_result *res)
{
	struct ks_replay *r;
	int err = 0;

	memset(res, 0, sizeof(*res));
	r = ks_replay_open(rs, t, o);
	if (!r)
		return -errno;
	r->res = res;
	if (o->events)
		err = ks_replay_events(r, o->events, o->alerts, res);
	if (!err && o->pcap) {
		if (!ks_replay_pcap) {
			fprintf(stderr, "%s: error: this program was built without pcap support\n",
				o->pcap);
			err = -ENOTSUP;
		} else {
			err = ks_replay_pcap(r, o->pcap);
		}
	}
	ks_replay_close(r);
	return err;
}
