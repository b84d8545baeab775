/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A session: the one consumer of what the kernel forwards, for `kload
 * attach`/`record`, `kload replay`/`test` and the selftests alike.
 *
 *   ring buffer record -> ks_session_normalize() -> record (Event JSONL)
 *                      -> on_event hook -> pipeline (NFA) -> Alert JSONL
 *
 * ks_session_normalize() is the only place a forwarded event is changed
 * before anyone reads it (boot clock to epoch, interface names, the
 * packet time of a replayed pcap); it also looks up the container of a
 * live event's cgroup. Records shorter than struct ks_event
 * are counted and dropped. ks_session_install() puts a rule generation
 * in the kernel and in the pipeline together, or in neither.
 *
 * Enforcements whose events ks_events had no room for: the kernel knows
 * its verdict all the same. It counts the enforcement on its rule
 * (ks_rule_stats.unreported) and keeps the event in the ks_lost ring
 * buffer, or, when that is full too, only counts it (.unqueued). A
 * session opened on ks_lost (ks_session_open_lost()) turns each kept
 * event into the rule's alert and each counted one into a per-rule alert
 * with a count, both saying "enforced, event lost", as it consumes.
 */
#ifndef KESTREL_SESSION_H
#define KESTREL_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "kestrel/ecs.h"
#include "kestrel/engine.h"
#include "kestrel/output.h"
#include "kestrel/pipeline.h"

struct ks_rings;

enum ks_session_clock {
	KS_CLOCK_BOOT,		/* live: ts_ns is CLOCK_BOOTTIME */
	KS_CLOCK_INPUT,		/* replay: ts_ns came with the input */
};

struct ks_session_opts {
	enum ks_session_clock clock;
	bool events_only;		/* no pipeline: events go to record and hook */
	struct ks_output *alerts;	/* Alert JSONL (may be set later) */
	struct ks_output *record;	/* Event JSONL of every event, or NULL */
	size_t nfa_entries;		/* ks_pipeline_opts.max_entries */
	uint64_t nfa_memory;		/* ks_pipeline_opts.max_bytes */
	/* every event after normalization, before the pipeline; non-zero stops */
	int (*on_event)(void *arg, const struct ks_event *ev);
	void *arg;
};

/* Per rule: unqueued enforcements already alerted (ks_session_open_lost). */
struct ks_session_unqueued {
	uint32_t uid;
	uint64_t alerted;
};

struct ks_session_stats {
	uint64_t events;		/* events consumed */
	uint64_t alerts;		/* alerts the pipeline produced */
	uint64_t short_records;		/* ring buffer records too short: lost */
};

struct ks_session {
	struct ks_session_opts o;
	struct ks_ecs_ctx ecs;
	struct ks_pipeline *p;
	struct ks_rings *rb;		/* ks_events, ks_lost (kestrel/ringbuf.h) */
	struct ks_session_stats st;
	uint64_t boot_off;		/* epoch - boot clock, KS_CLOCK_BOOT */
	bool pcap;			/* replaying a packet: pkt_ts is its time */
	uint64_t pkt_ts;
	char why[200];			/* why the last ks_session_install() failed */
	/*
	 * Records being consumed: with a pipeline, an event is held until
	 * KS_PIPELINE_AHEAD more records are taken, each one's
	 * pending-sequence slots prefetched while the ones before it are
	 * processed (ks_pipeline_prefetch()); a poll or consume delivers the
	 * held ones before it returns.
	 */
	struct ks_event ev[KS_PIPELINE_AHEAD + 1];
	uint8_t held;			/* ev[held]: the oldest taken, not delivered */
	uint8_t n_held;			/* ev[held] .. on, in a ring */
	/* enforcements whose events were lost (ks_session_open_lost) */
	const struct ks_engine *lost_e;
	uint64_t unqueued;		/* ks_stats.enforce_unqueued last seen */
	struct ks_session_unqueued *uq;
	size_t n_uq, cap_uq;
};

/* 0 or -errno. host: host.name of output, NULL to adopt it from input. */
int ks_session_init(struct ks_session *s, const struct ks_session_opts *o);
void ks_session_fini(struct ks_session *s);
/* Consume the engine's ring buffer from now on. */
int ks_session_open_rb(struct ks_session *s, int events_fd);
/*
 * Consume ks_lost too (after ks_session_open_rb(), or alone), and alert
 * enforcements the kernel could only count. adopted: the programs were
 * pinned by an earlier kload, which may have alerted some counts already:
 * start from what the maps hold now. 0 or -errno.
 */
int ks_session_open_lost(struct ks_session *s, const struct ks_engine *e, bool adopted);
/* Wait up to timeout_ms, then consume everything queued. >= 0 or -errno. */
int ks_session_poll(struct ks_session *s, int timeout_ms);
int ks_session_consume(struct ks_session *s);

void ks_session_normalize(struct ks_session *s, struct ks_event *ev);
/* One normalized event through record, hook and pipeline. */
int ks_session_event(struct ks_session *s, struct ks_event *ev);
/*
 * An event the kernel never saw (already_running: include/kestrel/
 * running.h), normalized, through record, hook and the pipeline's
 * userspace evaluation (ks_pipeline_user_event).
 */
int ks_session_user_event(struct ks_session *s, struct ks_event *ev);

/*
 * Install (rs, t) as the next generation in e and in the pipeline, then
 * publish it (ks_engine_publish()). When the pipeline cannot take it, the
 * kernel is rolled back (s->why says what happened). Takes rs: the
 * pipeline's on success, freed otherwise; t stays the caller's.
 */
int ks_session_install(struct ks_session *s, struct ks_engine *e, const char *pin_dir,
		       struct ks_ruleset *rs, struct ks_tables *t, bool reload);
/*
 * The same in two halves, for a reload whose rules are still parsing
 * when the tables are ready (a .kbin: loader/reload.h): the kernel's
 * switch to t (hooks it needs loaded first), then the rules, which the
 * pipeline takes before it reads another event (those of the new
 * generation wait in the ring buffer meanwhile: no event is seen
 * against a mix of generations). ks_session_unswitch() when the rules
 * cannot come: the kernel goes back, s->why says why (cause), err is
 * returned. ks_session_follow() takes rs as ks_session_install() does.
 */
int ks_session_switch(struct ks_session *s, struct ks_engine *e, struct ks_tables *t);
int ks_session_follow(struct ks_session *s, struct ks_engine *e, const char *pin_dir,
		      struct ks_ruleset *rs, struct ks_tables *t, bool reload);
int ks_session_unswitch(struct ks_session *s, struct ks_engine *e, const struct ks_tables *t,
			int err, const char *cause);
/* Every second: expire sequences and flush the outputs. */
void ks_session_tick(struct ks_session *s, uint64_t now_ns);
void ks_session_flush(struct ks_session *s);
/* Userspace counters into ks_ctl and per-rule alerts into ks_rules. */
void ks_session_publish_stats(struct ks_session *s, const struct ks_engine *e);
/* Alerts lost so far (every reason). */
uint64_t ks_session_alerts_lost(const struct ks_session *s);

#endif /* KESTREL_SESSION_H */
