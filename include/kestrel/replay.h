/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Replay: recorded events through the production BPF evaluator
 * (BPF_PROG_TEST_RUN of ks_replay / ks_xdp_main) and the production
 * pipeline. Used by `kload replay`, `kload test`, tests and benchmarks.
 */
#ifndef KESTREL_REPLAY_H
#define KESTREL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "maps/ks_event.h"
#include "kestrel/output.h"
#include "kestrel/rules.h"

struct ks_replay_opts {
	const char *events;	/* Event JSONL path, "-" = stdin, or NULL */
	const char *pcap;	/* pcap or pcapng path or NULL */
	int mode;		/* outcome to simulate: enum ks_enforce_mode, -1 = signal */
	struct ks_output *alerts;	/* Alert JSONL output */
	FILE *errout;		/* malformed-input reports */
	/*
	 * Threads of an Event JSONL replay: 1, the caller's alone; 2, a second
	 * one makes the test runs of batch k while the caller decodes batch
	 * k + 1 (same output); 0, 2 when the process may use two CPUs or more.
	 */
	int threads;
};

struct ks_replay_result {
	uint64_t events;	/* events fed to the kernel */
	uint64_t packets;
	uint64_t forwarded;
	uint64_t alerts;	/* alerts produced */
	unsigned long skipped;	/* malformed input lines */
	uint64_t test_runs;	/* BPF_PROG_TEST_RUN calls */
	uint64_t short_frames;	/* packets too short for Ethernet: skipped */
	uint64_t other_links;	/* packets of non-Ethernet interfaces: skipped */
	bool pcap_error;	/* the capture is cut or malformed (reported) */
	bool runner;		/* a second thread may make the test runs */
	uint64_t inline_runs;	/* test runs the caller made (all with no runner) */
};

/*
 * A replayer kept open across inputs (tests, benchmarks): rule tables
 * are loaded once; ks_replay_reset() forgets all sequence state, in the
 * kernel and in the pipeline, so inputs do not see each other.
 */
struct ks_replay;
/* Takes ownership of rs and t. NULL with a message on error. */
struct ks_replay *ks_replay_open(struct ks_ruleset *rs, struct ks_tables *t,
				 const struct ks_replay_opts *o);
int ks_replay_events(struct ks_replay *r, const char *path, struct ks_output *alerts,
		     struct ks_replay_result *res);
void ks_replay_reset(struct ks_replay *r);
void ks_replay_close(struct ks_replay *r);

/*
 * Takes ownership of rs and t. Returns 0 or -errno (message printed);
 * -ENOENT/-EISDIR/-EACCES/-EINVAL mean an input file cannot be used.
 */
int ks_replay_run(struct ks_ruleset *rs, struct ks_tables *t,
		  const struct ks_replay_opts *o, struct ks_replay_result *res);

/*
 * The replay program's test-run context (struct ks_replay_ctx): append ev
 * packed, unless the context holds max (or KS_REPLAY_BATCH) events or ev
 * does not fit: then false, and the caller runs the batch, empties it
 * (n = len = 0) and packs ev again.
 */
bool ks_replay_pack(struct ks_replay_ctx *ctx, const struct ks_event *ev, unsigned int max);

/* The bytes of ctx a test run must be given. */
static inline uint32_t ks_replay_ctx_size(const struct ks_replay_ctx *ctx)
{
	return (uint32_t)offsetof(struct ks_replay_ctx, data) + ctx->len;
}

#endif /* KESTREL_REPLAY_H */
