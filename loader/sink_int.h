/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Inside the alert outputs: what a kind of output implements (sink_*.c). */
#ifndef KS_SINK_INT_H
#define KS_SINK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "kestrel/sink.h"

/* One alert, encoded once and shared by every output's queue. */
struct ks_line {
	atomic_uint refs;
	uint32_t len;			/* of text, its '\n' included */
	int level;			/* syslog severity of the rule's severity */
	uint64_t seq;			/* 1, 2, ... per kload run (de-duplication ids) */
	char rule[KS_RULE_ID_MAX];	/* rule.id, "" if the alert has none */
	char text[];
};

/* send() result: this line can never be delivered (counted lost, write) */
#define KS_SINK_LOST	1

struct ks_sink;

struct ks_sink_ops {
	const char *scheme;		/* "syslog+tcp://", "file:", ... */
	/* rest: the URI after the scheme, query removed; sets s->priv */
	int (*parse)(struct ks_sink *s, const char *rest, char *why, size_t len);
	/* a ?KEY=VALUE other than queue; NULL: none accepted */
	int (*param)(struct ks_sink *s, const char *key, const char *val);
	/* connect or open; 0 or -errno (counted as a connect error, retried) */
	int (*open)(struct ks_sink *s);
	/*
	 * 0 delivered; KS_SINK_LOST; or -errno with *why set: the output is
	 * closed and the same line is sent again after a back-off.
	 */
	int (*send)(struct ks_sink *s, const struct ks_line *l, enum ks_sink_err *why);
	void (*close)(struct ks_sink *s);
	void (*free)(struct ks_sink *s);
	bool reopen_on_usr1;		/* file outputs */
	bool open_at_start;		/* a failed first open is the caller's error */
};

struct ks_sink {
	const struct ks_sink_ops *ops;
	void *priv;
	char name[KS_OUTPUT_NAME_MAX];	/* the URI without credentials and query */
	size_t cap;			/* queue capacity, alerts */
	int facility;			/* syslog facility code (syslog outputs) */
	char err_text[160];		/* the backend's words for its last failure */
	/* the queue and the counters, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ks_line **q;
	size_t head, n;
	bool stop, reopen, started, open;
	uint64_t deadline_ns;		/* CLOCK_MONOTONIC: give up draining then */
	struct ks_output_stat st;
	pthread_t th;
};

extern const struct ks_sink_ops ks_sink_file_ops, ks_sink_stdout_ops;
extern const struct ks_sink_ops ks_sink_syslog_ops, ks_sink_syslog_udp_ops,
	ks_sink_syslog_tcp_ops, ks_sink_journald_ops, ks_sink_nats_ops;

/* Has ks_sinks_stop() been asked for? (for backends' long waits) */
bool ks_sink_stopping(struct ks_sink *s);
/* "host:port" -> host (brackets removed) and port; 0 or -EINVAL */
int ks_sink_hostport(const char *hp, char *host, size_t hlen, char *port, size_t plen);
/* The host name, once, for syslog headers and de-duplication ids */
const char *ks_sink_hostname(void);

#endif /* KS_SINK_INT_H */
