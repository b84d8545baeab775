/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Replay internals shared by replay.c and replay_pcap.c. */
#ifndef KS_REPLAY_INT_H
#define KS_REPLAY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "kestrel/engine.h"
#include "kestrel/replay.h"
#include "kestrel/session.h"

/* The thread that makes the test runs of Event JSONL batches (replay_runner.c). */
struct ks_replay_runner {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ks_replay_ctx *job;	/* the batch being run, NULL: idle */
	int prog_fd;
	int err;			/* of the last run: 0 or -errno */
	unsigned int wait_budget;	/* the caller's spin, ns (replay_runner.c) */
	bool stop, started;
};

bool ks_runner_wanted(int threads);
int ks_runner_start(struct ks_replay_runner *w, int prog_fd);
void ks_runner_stop(struct ks_replay_runner *w);
void ks_runner_give(struct ks_replay_runner *w, struct ks_replay_ctx *batch);
int ks_runner_wait(struct ks_replay_runner *w);
/* One BPF_PROG_TEST_RUN of the replay program: 0 or -errno. */
int ks_replay_test_run(int prog_fd, struct ks_replay_ctx *batch);

/* Which way the batches go: replay.c, use_runner(). */
struct ks_replay_pick {
	unsigned long long n;		/* batches submitted */
	unsigned long long t0, ev0;	/* the probe's start: time, events */
	unsigned long long ns[2];	/* per event, last probes: in turn, handed over */
};

struct ks_replay {
	struct ks_engine e;
	struct ks_session s;
	struct ks_replay_ctx *batch;	/* being filled */
	struct ks_replay_ctx *spare;	/* the runner's, or free (with a runner) */
	struct ks_replay_runner run;
	bool in_flight;			/* the runner has a batch not drained yet */
	int prog_fd;			/* ks_replay's */
	struct ks_replay_pick pick;
	struct ks_replay_result *res;
	FILE *errout;
};

/* Open an input file for reading: "-" is stdin; a directory is an error. */
FILE *ks_replay_input(const char *path, int *err);
int ks_replay_pcap(struct ks_replay *r, const char *path);

#endif /* KS_REPLAY_INT_H */
