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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/clock.h"
#include "kestrel/log.h"
#include "replay_int.h"
#include "kestrel.skel.h"

_Static_assert(sizeof(struct ks_replay_ctx) <= KS_REPLAY_CTX_MAX, "test-run ctx is at most 64 KiB");
_Static_assert(KS_REPLAY_HEAD == offsetof(struct ks_event, exe) &&
	       offsetof(struct ks_event, payload) + KS_PAYLOAD_MAX == sizeof(struct ks_event),
	       "the slots are the event's bytes from exe to its end");
_Static_assert(KS_REPLAY_BATCH * (sizeof(struct ks_event) + 8) <= KS_RINGBUF_DEFAULT,
	       "a batch's forwarded events fit replay's ring buffer");

/*
 * Where each string slot starts, in struct order, and the event's end:
 * ks_replay_slot()'s offsets, as constants. Working them out per slot
 * and per field was 1,200 instructions an event, 7 % of kload replay's
 * own work (callgrind, bench/profile/replay5-pack.txt).
 */
#define SLOT_END(m) (offsetof(struct ks_event, m) + sizeof(((struct ks_event *)0)->m))
static const __u32 slot_at[KS_REPLAY_SLOTS + 1] = {
	offsetof(struct ks_event, exe), offsetof(struct ks_event, pexe),
	offsetof(struct ks_event, path), offsetof(struct ks_event, orig),
	offsetof(struct ks_event, args), offsetof(struct ks_event, comm),
	offsetof(struct ks_event, pcomm), offsetof(struct ks_event, iface),
	offsetof(struct ks_event, payload), sizeof(struct ks_event),
};
_Static_assert(SLOT_END(exe) == offsetof(struct ks_event, pexe) &&
	       SLOT_END(pexe) == offsetof(struct ks_event, path) &&
	       SLOT_END(path) == offsetof(struct ks_event, orig) &&
	       SLOT_END(orig) == offsetof(struct ks_event, args) &&
	       SLOT_END(args) == offsetof(struct ks_event, comm) &&
	       SLOT_END(comm) == offsetof(struct ks_event, pcomm) &&
	       SLOT_END(pcomm) == offsetof(struct ks_event, iface) &&
	       SLOT_END(iface) == offsetof(struct ks_event, payload) &&
	       SLOT_END(payload) == sizeof(struct ks_event) && KS_REPLAY_SLOTS == 9,
	       "the slots are back to back in ks_replay_slot()'s order");

/*
 * Used bytes of each string slot: up to the end of the last value in it
 * and the NUL after that (a cut path's tail ends the slot, so its head is
 * kept too).
 */
static void slot_used(const struct ks_event *ev, __u16 used[KS_REPLAY_SLOTS])
{
	unsigned int f, s;
	__u32 end;

	for (f = 0; f < KS_F_STR_N; f++) {
		if (ev->str[f].off < KS_REPLAY_HEAD || ev->str[f].off >= sizeof(*ev))
			continue;
		for (s = 0; ev->str[f].off >= slot_at[s + 1]; s++)
			;
		end = ev->str[f].off + ev->str[f].len + 1u;
		end = (end < slot_at[s + 1] ? end : slot_at[s + 1]) - slot_at[s];
		if (end > used[s])
			used[s] = (__u16)end;
	}
}

bool ks_replay_pack(struct ks_replay_ctx *ctx, const struct ks_event *ev, unsigned int max)
{
	struct ks_replay_rec rec = {};
	__u8 *w = ctx->data + ctx->len;
	size_t need = sizeof(rec) + KS_REPLAY_HEAD;
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
		if (!rec.slot_len[s])
			continue;
		memcpy(w, (const char *)ev + slot_at[s], rec.slot_len[s]);
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

/* What a run forwarded: the pipeline, the alerts. */
static void consume(struct ks_replay *r)
{
	ks_session_consume(&r->s);
	account(r);
}

/*
 * Take what the batch run last forwarded: with a runner, once its run
 * ended. The ring buffer is read only between runs, as when the runs were
 * the caller's own.
 */
static int drain(struct ks_replay *r)
{
	int err;

	if (!r->in_flight)
		return 0;
	err = ks_runner_wait(&r->run);
	r->in_flight = false;
	if (!err)
		consume(r);
	return err;
}

/*
 * Whether the runner makes this batch's run. The overlap wins with a free
 * CPU and loses when the host's CPUs are busy (the two threads then wait
 * for each other's turn: bench/profile/replay6-threads.txt), and which is
 * the case changes while a replay runs. So every KS_PICK_CYCLE batches
 * start with KS_PICK_PROBE batches handed over and as many made in turn,
 * each probe timed (decoding included), and the rest of the cycle goes the
 * faster way. Only who makes the runs changes: the order of every step and
 * so the output stay the same.
 */
#define KS_PICK_PROBE	8u
#define KS_PICK_CYCLE	128u

static bool use_runner(struct ks_replay *r)
{
	struct ks_replay_pick *k = &r->pick;
	unsigned int i = k->n++ % KS_PICK_CYCLE;
	unsigned long long now;

	if (!r->run.started)
		return false;
	if (i == 0 || i == KS_PICK_PROBE || i == 2 * KS_PICK_PROBE) {
		now = ks_mono_ns();
		if (i)	/* the probe just ended: its ns per event */
			k->ns[i == KS_PICK_PROBE] = (now - k->t0) / (r->res->events - k->ev0 ?: 1);
		k->t0 = now;
		k->ev0 = r->res->events;
	}
	if (i < 2 * KS_PICK_PROBE)	/* handed over first: a short input still overlaps */
		return i < KS_PICK_PROBE;
	return k->ns[1] <= k->ns[0];
}

/*
 * Run the batch being filled: by the runner, once the batch before it is
 * drained, while the caller goes on decoding into the spare batch; or
 * here (no runner, or use_runner() found the runs in turn faster).
 */
static int submit(struct ks_replay *r)
{
	struct ks_replay_ctx *b = r->batch;
	bool runner;
	int err;

	if (!b->n)
		return 0;
	err = drain(r);
	if (err)
		return err;
	runner = use_runner(r);
	r->res->test_runs++;
	r->res->events += b->n;
	if (!runner) {
		r->res->inline_runs++;
		err = ks_replay_test_run(r->prog_fd, b);
		b->n = b->len = 0;
		if (!err)
			consume(r);
		return err;
	}
	ks_runner_give(&r->run, b);
	r->in_flight = true;
	r->batch = r->spare;
	r->spare = b;
	r->batch->n = r->batch->len = 0;
	return 0;
}

/* Every event packed so far run and its alerts written. */
static int flush(struct ks_replay *r)
{
	return submit(r) ?: drain(r);
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
	err = submit(r);
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
	r->spare = calloc(1, sizeof(*r->spare));
	if (!r->batch || !r->spare || ks_session_init(&r->s, &so))
		goto fail;
	err = ks_engine_load(&r->e, &eo);
	if (err) {
		pr_warn("kload: cannot load the replay program: %s\n", strerror(-err));
		goto fail;
	}
	r->prog_fd = bpf_program__fd(r->e.skel->progs.ks_replay);
	if (ks_runner_wanted(o->threads)) {
		err = ks_runner_start(&r->run, r->prog_fd);
		if (err)	/* not fatal: the caller makes the runs */
			pr_warn("kload: no test-run thread: %s\n", strerror(-err));
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
	ks_runner_stop(&r->run);
	ks_session_fini(&r->s);
	ks_engine_destroy(&r->e);
	free(r->batch);
	free(r->spare);
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
	 * No stdio buffer to size: ks_ecs_read_jsonl() reads a file 1 MiB at a
	 * time into its own (4 KiB reads were 5 % of a replay in a VM,
	 * bench/profile/replay-cli-breakdown-before.txt).
	 */
	res->runner = r->run.started;
	memset(&r->pick, 0, sizeof(r->pick));	/* res->events starts over */
	err = ks_ecs_read_jsonl(in, path, on_input, r, &r->s.ecs, &res->skipped, r->errout);
	if (!err)
		err = flush(r);
	else
		drain(r);	/* nothing left running when this returns */
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
	if (!err && o->pcap)
		err = ks_replay_pcap(r, o->pcap);
	ks_output_flush(o->alerts);
	ks_replay_close(r);
	return err;
}
