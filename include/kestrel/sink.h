/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Alert outputs of `kload attach|replay --output URI` (loader/sink*.c).
 *
 *   pipeline -> ks_output (encodes each alert once) -> ks_sinks_output()
 *            -> one bounded queue per output -> that output's own thread
 *
 * The consumer of the ring buffer only ever takes a mutex for the time of
 * a pointer copy: every output, a file included, writes, connects, waits
 * for acknowledgements and backs off on its own thread. When an output's
 * queue is full the alert is counted lost (queue_full) for that output,
 * so a slow or dead output never stalls detection and never loses an
 * alert silently. Per output, exactly: sent = delivered + lost + queued.
 *
 * URIs: "-" (stdout), file:PATH, syslog:[PATH] (local socket, /dev/log),
 * syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT, journald:,
 * nats://HOST:PORT[,HOST:PORT...]/SUBJECT. Any of them may end in
 * ?queue=N (alerts the queue holds, default 10000); syslog ones also take
 * facility=NAME (default authpriv).
 */
#ifndef KESTREL_SINK_H
#define KESTREL_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kestrel/output.h"
#include "maps/ks_state.h"

/* kestrel_output_errors_total{output,reason}: failed operations, retried
 * (named by ks_output_err_name()) */
enum ks_sink_err {
	KS_SERR_CONNECT = 0,	/* open/connect failed, or the server is away */
	KS_SERR_WRITE = 1,	/* write/send failed */
	KS_SERR_ACK = 2,	/* no or a negative acknowledgement (JetStream) */
	KS_SERR_CLOSED = 3,	/* the peer closed the connection */
	KS_SERR_N = 4,
};

_Static_assert(KS_SERR_N == KS_OUT_ERR_N, "ks_output_stat holds every error reason");
_Static_assert(KS_LOST_N == KS_CTL_LOST_N, "ks_output_stat holds every loss reason");

#define KS_SINK_QUEUE_DEFAULT	10000
#define KS_SINK_QUEUE_MAX	(1u << 20)

struct ks_sinks;

struct ks_sinks *ks_sinks_new(void);
/*
 * Parse uri and start its output (its thread connects in the background:
 * a server that is away now is not an error). 0, or -errno with why
 * filled ("unknown scheme", "missing SUBJECT", ...).
 */
int ks_sinks_add(struct ks_sinks *set, const char *uri, char *why, size_t len);
/* Is uri well formed? (the same checks, nothing started) */
int ks_sinks_check(const char *uri, char *why, size_t len);
size_t ks_sinks_count(const struct ks_sinks *set);
/* The ks_output the pipeline writes to; owned by set. */
struct ks_output *ks_sinks_output(struct ks_sinks *set);
/* SIGUSR1: file outputs reopen their path (after logrotate moved it). */
void ks_sinks_reopen(struct ks_sinks *set);
/* Counters of output i (a consistent snapshot). */
void ks_sinks_stat(struct ks_sinks *set, size_t i, struct ks_output_stat *st);
/* Every output's counters into the ks_outputs map (unused entries cleared). */
void ks_sinks_publish(struct ks_sinks *set, int outputs_fd);
/*
 * Stop: each output gets up to drain_ms to deliver what is queued; the
 * rest is counted lost (shutdown). The counters stay readable until
 * ks_sinks_free().
 */
void ks_sinks_stop(struct ks_sinks *set, unsigned int drain_ms);
/* One line per output: "NAME: sent N, delivered N, lost N (...)". */
void ks_sinks_summary(struct ks_sinks *set, FILE *out);
void ks_sinks_free(struct ks_sinks *set);

#endif /* KESTREL_SINK_H */
