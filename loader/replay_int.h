/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Replay internals shared by replay.c and replay_pcap.c. */
#ifndef KS_REPLAY_INT_H
#define KS_REPLAY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kestrel/ecs.h"
#include "kestrel/engine.h"
#include "kestrel/pipeline.h"
#include "kestrel/replay.h"

struct ks_replay {
	struct ks_engine e;
	struct ks_ecs_ctx ecs;
	struct ks_pipeline *p;
	struct ring_buffer *rb;
	struct ks_replay_ctx *batch;
	struct ks_replay_result *res;
	uint64_t pkt_ts;	/* capture time of the packet under test */
	bool pcap;
	FILE *errout;
};

int ks_replay_on_event(void *ctx, void *data, size_t size);
int ks_replay_pcap(struct ks_replay *r, const char *path);

#endif /* KS_REPLAY_INT_H */
