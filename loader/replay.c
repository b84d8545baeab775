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
#define PCAP_DONT_INCLUDE_PCAP_BPF_H
#include <pcap/pcap.h>

#include "kestrel/ecs.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel/pipeline.h"
#include "kestrel/replay.h"
#include "kestrel.skel.h"

_Static_assert(sizeof(struct ks_replay_ctx) <= 65535, "test-run ctx is at most 64 KiB");

struct ks_replay {
	struct ks_engine e;
	struct ks_ecs_ctx ecs;
	struct ks_pipeline *p;
	struct ring_buffer *rb;
	struct ks_replay_ctx *batch;
	struct ks_replay_result *res;
	uint64_t pkt_ts;	/* pcap time of the packet under test */
	bool pcap;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct ks_replay *r = ctx;
	struct ks_event ev;

	if (size < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	if (r->pcap)
		ev.ts_ns = r->pkt_ts;	/* the kernel only knows test-run time */
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

static int replay_pcap(struct ks_replay *r, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct bpf_program *xdp;
	pcap_t *pc;
	int rc, err = 0;

	xdp = bpf_object__find_program_by_name(r->e.skel->obj, "ks_xdp_main");
	if (!xdp) {
		fprintf(stderr, "%s: error: this build has no XDP program\n", path);
		return -ENOENT;
	}

	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fprintf(stderr, "%s: error: %s\n", path, errbuf);
		return -EINVAL;
	}
	if (pcap_datalink(pc) != 1 /* DLT_EN10MB, from the pcap bpf.h we cannot include */) {
		fprintf(stderr, "%s: error: only Ethernet captures are supported\n", path);
		pcap_close(pc);
		return -EINVAL;
	}
	r->pcap = true;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		LIBBPF_OPTS(bpf_test_run_opts, topts,
			.data_in = data,
			.data_size_in = h->caplen,
		);

		r->pkt_ts = h->ts.tv_sec * 1000000000ull + h->ts.tv_usec;
		if (bpf_prog_test_run_opts(bpf_program__fd(xdp), &topts)) {
			err = -errno;
			break;
		}
		r->res->packets++;
		r->res->test_runs++;
		ring_buffer__consume(r->rb);
	}
	pcap_close(pc);
	r->pcap = false;
	return err;
}

int ks_replay_run(struct ks_ruleset *rs, struct ks_tables *t,
		  const struct ks_replay_opts *o, struct ks_replay_result *res)
{
	struct ks_engine_opts eo = { .replay = true, .xdp = !!o->pcap, .mode = o->mode,
				     .hash_key = 0x6b657374726c3031ull, .judge_self = true };
	struct ks_pipeline_opts po = { .alerts = o->alerts };
	struct ks_replay r = { .res = res };
	int err;

	memset(res, 0, sizeof(*res));
	ks_engine_init(&r.e);
	ks_ecs_init(&r.ecs, NULL);
	r.batch = calloc(1, sizeof(*r.batch));
	r.p = ks_pipeline_new(&po, &r.ecs);
	if (!r.batch || !r.p) {
		err = -ENOMEM;
		goto out;
	}
	err = ks_engine_load(&r.e, &eo);
	if (err) {
		pr_warn("kload: cannot load the replay program: %s\n", strerror(-err));
		goto out;
	}
	err = ks_engine_install(&r.e, t);
	if (!err)
		err = ks_pipeline_set_rules(r.p, rs, t);
	rs = NULL;	/* the pipeline owns it now */
	if (err)
		goto out;
	r.rb = ring_buffer__new(r.e.events_fd, on_event, &r, NULL);
	if (!r.rb) {
		err = -errno;
		goto out;
	}
	if (o->events) {
		FILE *in = strcmp(o->events, "-") ? fopen(o->events, "r") : stdin;

		if (!in) {
			err = -errno;
			fprintf(stderr, "%s: error: %s\n", o->events, strerror(errno));
			goto out;
		}
		err = ks_ecs_read_jsonl(in, o->events, on_input, &r, &r.ecs, &res->skipped,
					o->errout);
		if (!err)
			err = flush(&r);
		if (in != stdin)
			fclose(in);
		if (err)
			goto out;
	}
	if (o->pcap)
		err = replay_pcap(&r, o->pcap);
out:
	ring_buffer__free(r.rb);
	ks_engine_destroy(&r.e);
	ks_pipeline_free(r.p);
	ks_ecs_free(&r.ecs);
	free(r.batch);
	if (rs)
		ks_ruleset_free(rs);
	free(t);
	return err;
}
