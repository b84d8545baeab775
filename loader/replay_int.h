/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Replay internals shared by replay.c and replay_pcap.c. */
#ifndef KS_REPLAY_INT_H
#define KS_REPLAY_INT_H

#include <stdio.h>

#include "kestrel/engine.h"
#include "kestrel/replay.h"
#include "kestrel/session.h"

struct ks_replay {
	struct ks_engine e;
	struct ks_session s;
	struct ks_replay_ctx *batch;
	struct ks_replay_result *res;
	FILE *errout;
};

/* Open an input file for reading: "-" is stdin; a directory is an error. */
FILE *ks_replay_input(const char *path, int *err);
int ks_replay_pcap(struct ks_replay *r, const char *path);

#endif /* KS_REPLAY_INT_H */
