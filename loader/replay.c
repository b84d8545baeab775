// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Replay: Event JSONL (or a capture) -> the very BPF programs that run
 * live, through BPF_PROG_TEST_RUN, in batches -> ring buffer -> session
 * (the consumer attach uses) -> alerts. Everything is in input order,
 * the join hash key is fixed and time comes from the input, so the
 * output is deterministic.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/log.h"
#include "replay_int.h"
#include "kestrel.skel.h"

#define KS_REPLAY_READ_BUF	(1u << 20)	/* stdio buffer of an input file */

_Static_assert(sizeof(struct ks_replay_ctx) <= KS_REPLAY_CTX_MAX, "test-run ctx is at most 64 KiB");
_Static_assert(KS_REPLAY_HEAD == offsetof(struct ks_event, exe) &&
	       offsetof(struct ks_event, payload) + KS_PAYLOAD_MAX == sizeof(struct ks_event),
	       "the slots are the event's bytes from exe to its end");
_Static_assert(KS_REPLAY_BATCH * (sizeof(struct ks_event) + 8) <= KS_RINGBUF_DEFAULT,
	       "a batch's forwarded events fit replay's ring buffer");

/*
 * Used bytes of each string slot: up to the end of the last value in it
 * and the NUL after that (a cut path's tail ends the slot, so its head is
 * kept too).
 */
static void slot_used(const struct ks_event *ev, __u16 used[KS_REPLAY_SLOTS])
{
	__u32 off[KS_REPLAY_SLOTS + 1], size, end;
	unsigned int f, s;

	for (s = 0; s < KS_REPLAY_SLOTS; s++) {
		off[s] = ks_replay_slot(s, &size);
		used[s] = 0;
	}
	off[KS_REPLAY_SLOTS] = sizeof(*ev);
	for (f = 0; f < KS_F_STR_N; f++) {
		if (ev->str[f].off < KS_REPLAY_HEAD || ev->str[f].off >= sizeof(*ev))
			continue;
		for (s = 0; ev->str[f].off >= off[s + 1]; s++)
			;
		end = ev->str[f].off + ev->str[f].len + 1u;
		end = (end < off[s + 1] ? end : off[s + 1]) - off[s];
		if (end > used[s])
			used[s] = (__u16)end;
	}
}

bool ks_replay_pack(struct ks_replay_ctx *ctx, const struct ks_event *ev, unsigned int max)
{
	struct ks_replay_rec rec = {};
	__u8 *w = ctx->data + ctx->len;
	size_t need = sizeof(rec) + KS_REPLAY_HEAD;
	__u32 size;
	unsigned int s;

	slot_used(ev, rec.slot_len);
	for (s = 0; s < KS_REPLAY_SLOTS; s++)
		need += rec.slot_len[s];
	if (ctx->n >= max || ctx->n >= KS_REPLAY_BATCH || need > sizeof(ctx->data) - ctx->len)
		return false;
	memcpy(w, &rec, sizeof(rec));
	memcpy(w + sizeof(rec), ev, KS_REPLAY_HEAD);
	w += sizeof(rec) + KS_REPLAY_HEAD;
	for (s = 0; s < KS_REPLAY_SLOTS; s++) {
		memcpy(w, (const char *)ev + ks_replay_slot(s, &size), rec.slot_len[s]);
		w += rec.slot_len[s];
	}
	ctx->n++;
	ctx->len += (__u32)need;
	return true;
}

static void account(struct ks_replay *r)
{
	r->res->forwarded = r->s.st.events;
	r->res->alerts = r->s.st.alerts;
}

static int flush(struct ks_replay *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts,
		.ctx_in = r->batch,
		.ctx_size_in = ks_replay_ctx_size(r->batch),
	);
	int err;

	if (!r->batch->n)
		return 0;
	err = bpf_prog_test_run_opts(bpf_program__fd(r->e.skel->progs.ks_replay), &topts);
	r->res->test_runs++;
	r->res->events += r->batch->n;
	r->batch->n = r->batch->len = 0;
	if (err)
		return -errno;
	ks_session_consume(&r->s);
	account(r);
	return 0;
}

static int on_input(void *arg, struct ks_event *ev, unsigned long line)
{
	struct ks_replay *r = arg;

	int err;

	/* the kernel never sees these live: kload decides them, in input order */
	if (ev->action == KS_ACT_ALREADY_RUNNING) {
		err = flush(r);
		if (!err)
			err = ks_session_user_event(&r->s, ev);
		r->res->events++;
		account(r);
		return err;
	}
	if (ks_replay_pack(r->batch, ev, KS_REPLAY_BATCH))
		return 0;
	err = flush(r);
	if (!err && !ks_replay_pack(r->batch, ev, KS_REPLAY_BATCH))
		err = -E2BIG;	/* cannot be: one event always fits (test_abi) */
	return err;
}

struct ks_replay *ks_replay_open(struct ks_ruleset *rs, struct ks_tables *t,
				 const struct ks_replay_opts *o)
{
	struct ks_engine_opts eo = { .replay = true, .xdp = !!o->pcap, .mode = o->mode,
				     .judge_self = true, .dfa_bytes = ks_dfa_size_auto(t) };
	struct ks_session_opts so = { .clock = KS_CLOCK_INPUT, .alerts = o->alerts };
	struct ks_replay *r = calloc(1, sizeof(*r));
	int err = -ENOMEM;

	if (!r)
		goto fail_rules;
	ks_engine_init(&r->e);
	r->errout = o->errout;
	r->batch = calloc(1, sizeof(*r->batch));
	if (!r->batch || ks_session_init(&r->s, &so))
		goto fail;
	err = ks_engine_load(&r->e, &eo);
	if (err) {
		pr_warn("kload: cannot load the replay program: %s\n", strerror(-err));
		goto fail;
	}
	err = ks_session_install(&r->s, &r->e, NULL, rs, t, false);
	rs = NULL;	/* the pipeline's now, or freed */
	if (err)
		goto fail;
	free(t);	/* the kernel and the pipeline have their copies */
	t = NULL;
	err = ks_session_open_rb(&r->s, r->e.events_fd);
	if (err)
		goto fail;
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
	ks_session_fini(&r->s);
	ks_engine_destroy(&r->e);
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
	ks_pipeline_reset(r->s.p);
}

FILE *ks_replay_input(const char *path, int *err)
{
	struct stat st;
	FILE *f;

	if (!strcmp(path, "-"))
		return stdin;
	f = fopen(path, "r");
	if (f && !fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		fclose(f);
		f = NULL;
		errno = EISDIR;
	}
	if (!f) {
		*err = -errno;
		fprintf(stderr, "%s: error: %s\n", path, strerror(errno));
	}
	return f;
}

int ks_replay_events(struct ks_replay *r, const char *path, struct ks_output *alerts,
		     struct ks_replay_result *res)
{
	char *iobuf = NULL;
	FILE *in;
	int err = 0;

	memset(res, 0, sizeof(*res));
	r->res = res;
	ks_pipeline_set_output(r->s.p, alerts);
	r->s.o.alerts = alerts;
	r->s.st.events = r->s.st.alerts = 0;
	in = ks_replay_input(path, &err);
	if (!in)
		return err;
	/*
	 * A file in big reads: in st_blksize ones (4 KiB) the bench's 75 MB
	 * took 19,825 read()s, 5 % of the replay in a VM
	 * (bench/profile/replay-cli-breakdown-before.txt). glibc takes the
	 * size only with a buffer given. Not stdin: a pipe's lines as they come.
	 */
	if (in != stdin && (iobuf = malloc(KS_REPLAY_READ_BUF)))
		setvbuf(in, iobuf, _IOFBF, KS_REPLAY_READ_BUF);
	err = ks_ecs_read_jsonl(in, path, on_input, r, &r->s.ecs, &res->skipped, r->errout);
	if (!err)
		err = flush(r);
	if (in != stdin)
		fclose(in);
	free(iobuf);
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
	if (!err && o->pcap)
		err = ks_replay_pcap(r, o->pcap);
	ks_output_flush(o->alerts);
	ks_replay_close(r);
	return err;
}
