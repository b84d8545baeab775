// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one consumer of forwarded events and its normalizer (see
 * include/kestrel/session.h). attach, record, replay, test and the
 * selftests all read the ring buffer through here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "kestrel/json.h"
#include "kestrel/log.h"
#include "kestrel/ringbuf.h"
#include "kestrel/session.h"
#include "kestrel/xdp.h"
#include "maps/ks_dns.h"

_Static_assert(KS_LOST_N <= KS_CTL_LOST_N, "ks_ctl holds every alert loss reason");
_Static_assert(KS_CGROUP_N == KS_CTL_CGROUP_N, "ks_ctl holds every cgroup lookup result");

int ks_session_init(struct ks_session *s, const struct ks_session_opts *o)
{
	struct ks_pipeline_opts po = { .alerts = o->alerts, .max_entries = o->nfa_entries,
				       .max_bytes = o->nfa_memory };

	memset(s, 0, sizeof(*s));
	s->o = *o;
	ks_ecs_init(&s->ecs, NULL);
	if (o->clock == KS_CLOCK_BOOT)
		s->boot_off = ks_boot_to_epoch_ns();
	if (o->events_only)
		return 0;
	s->p = ks_pipeline_new(&po, &s->ecs);
	return s->p ? 0 : -ENOMEM;
}

void ks_session_fini(struct ks_session *s)
{
	ks_rings_free(s->rb);
	free(s->uq);
	ks_pipeline_free(s->p);
	ks_ecs_free(&s->ecs);
	memset(s, 0, sizeof(*s));
}

/*
 * The one fix-up of forwarded events. Live: the kernel stamps
 * CLOCK_BOOTTIME, alerts want epoch time, and XDP knows only the
 * ifindex of interfaces it was not told the name of; the event's cgroup
 * is looked up now, while its process most likely still runs, so that
 * container.id is known to the rules and the alert (loader/container.c).
 * A replayed packet went through a test run: the kernel's time and
 * interface (lo) are the test run's, the packet's capture time is the
 * truth.
 */
void ks_session_normalize(struct ks_session *s, struct ks_event *ev)
{
	if (s->pcap) {
		ev->ts_ns = s->pkt_ts;
		ev->ifindex = 0;
		return;
	}
	if (s->o.clock != KS_CLOCK_BOOT)
		return;
	ev->ts_ns += s->boot_off;
	ks_xdp_fill_iface(ev);
	ks_ecs_container(&s->ecs, ev);
}

static void record(struct ks_session *s, const struct ks_event *ev)
{
	struct ks_jw *w = ks_output_begin(s->o.record);

	if (w)
		ks_ecs_event_json(&s->ecs, w, ev);
	ks_output_end(s->o.record, true, NULL);
}

static int deliver(struct ks_session *s, struct ks_event *ev, bool user)
{
	int err;

	s->st.events++;
	if (s->o.record)
		record(s, ev);
	if (s->o.on_event) {
		err = s->o.on_event(s->o.arg, ev);
		if (err)
			return err;
	}
	if (s->p)
		s->st.alerts += user ? ks_pipeline_user_event(s->p, ev) :
				       ks_pipeline_event(s->p, ev);
	return 0;
}

#define KS_SESSION_EVS	(KS_PIPELINE_AHEAD + 1)

/* The oldest held record delivered. */
static int deliver_oldest(struct ks_session *s)
{
	struct ks_event *ev = &s->ev[s->held];

	s->held = (uint8_t)((s->held + 1) % KS_SESSION_EVS);
	s->n_held--;
	return deliver(s, ev, false);
}

/* The held records delivered (every event in the order it came). */
static int flush_held(struct ks_session *s)
{
	int err = 0;

	while (s->n_held)
		err = deliver_oldest(s) ?: err;
	return err;
}

int ks_session_event(struct ks_session *s, struct ks_event *ev)
{
	int err = flush_held(s);

	return deliver(s, ev, false) ?: err;
}

int ks_session_user_event(struct ks_session *s, struct ks_event *ev)
{
	int err = flush_held(s);

	ks_session_normalize(s, ev);
	return deliver(s, ev, true) ?: err;
}

_Static_assert(sizeof(struct ks_dns_rec) != sizeof(struct ks_event),
	       "DNS records and events are told apart by size");

/*
 * A DNS answer the DNS program forwarded (maps/ks_dns.h): its addresses
 * name the destinations of the events after it (loader/dns.c). Its time
 * is the kernel's boot clock, normalized as events' are, so a lookup
 * compares it with theirs.
 */
static bool dns_record(struct ks_session *s, const void *data, size_t size)
{
	const struct ks_dns_rec *r = data;
	uint64_t ts;

	if (size != sizeof(*r) || r->magic != KS_DNS_MAGIC)
		return false;
	flush_held(s);	/* the answer names the destinations of events after it */
	ts = r->ts_ns + (s->o.clock == KS_CLOCK_BOOT ? s->boot_off : 0);
	ks_ecs_dns_answer(&s->ecs, r->msg, r->len < KS_DNS_MSG_MAX ? r->len : KS_DNS_MSG_MAX,
			  ts);
	return true;
}

/*
 * A ring buffer record as a normalized event in an s->ev that is not
 * held (there is one: at most KS_PIPELINE_AHEAD are); NULL if too short.
 */
static struct ks_event *take_record(struct ks_session *s, const void *data, size_t size)
{
	struct ks_event *ev = &s->ev[(s->held + s->n_held) % KS_SESSION_EVS];

	if (size < sizeof(*ev)) {
		s->st.short_records++;
		return NULL;
	}
	memcpy(ev, data, sizeof(*ev));
	ks_session_normalize(s, ev);
	return ev;
}

/*
 * An event record is held while the KS_PIPELINE_AHEAD before it are
 * delivered, its slots prefetched meanwhile (struct ks_session's ev).
 */
static int on_record(void *ctx, const void *data, size_t size)
{
	struct ks_session *s = ctx;
	struct ks_event *ev;

	if (dns_record(s, data, size))
		return 0;
	ev = take_record(s, data, size);
	if (!ev || !s->p)
		return ev ? ks_session_event(s, ev) : 0;
	ks_pipeline_prefetch(s->p, ev);
	s->n_held++;
	return s->n_held > KS_PIPELINE_AHEAD ? deliver_oldest(s) : 0;
}

/*
 * One consumer for both rings, each mapped through a window of its data
 * (loader/ringbuf.c: the ring is not resident in kload).
 */
static int add_ring(struct ks_session *s, int fd, size_t window, ks_ring_fn fn)
{
	struct ks_ring_opts o = { .window = window };

	if (!s->rb && !(s->rb = ks_rings_new()))
		return -errno;
	return ks_rings_add(s->rb, fd, &o, fn, s);
}

int ks_session_open_rb(struct ks_session *s, int events_fd)
{
	return add_ring(s, events_fd, KS_RING_WINDOW, on_record);
}

/* ---- enforcements whose events were lost ---- */

#define KS_LOST_WINDOW	(64u << 10)

static int on_lost(void *ctx, const void *data, size_t size)
{
	struct ks_session *s = ctx;
	struct ks_event *ev = take_record(s, data, size);

	flush_held(s);
	if (ev && s->p)
		s->st.alerts += ks_pipeline_lost_event(s->p, ev);
	return 0;
}

static struct ks_session_unqueued *unqueued_slot(struct ks_session *s, uint32_t uid)
{
	size_t i;

	for (i = 0; i < s->n_uq; i++)
		if (s->uq[i].uid == uid)
			return &s->uq[i];
	if (s->n_uq == s->cap_uq) {
		size_t cap = s->cap_uq ? s->cap_uq * 2 : 16;
		struct ks_session_unqueued *n = realloc(s->uq, cap * sizeof(*n));

		if (!n)
			return NULL;
		s->uq = n;
		s->cap_uq = cap;
	}
	s->uq[s->n_uq] = (struct ks_session_unqueued){ .uid = uid };
	return &s->uq[s->n_uq++];
}

/*
 * Every rule's unqueued enforcements (summed over CPUs): those no alert
 * covers yet get one (with a pipeline), or are taken as the baseline.
 */
static void alert_unqueued(struct ks_session *s, bool alert)
{
	const struct ks_engine *e = s->lost_e;
	__u32 key, next, *prev = NULL;
	struct ks_session_unqueued *u;
	struct ks_rule_stats rs;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	while (!bpf_map_get_next_key(e->rule_stats_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (ks_rule_stats_sum(e->rule_stats_fd, key, &rs) || !rs.unqueued)
			continue;
		u = unqueued_slot(s, key);
		if (!u || rs.unqueued <= u->alerted)
			continue;	/* (no memory for a slot: the next scan tries again) */
		if (alert && s->p)
			s->st.alerts += ks_pipeline_lost_count(s->p, key, rs.unqueued - u->alerted,
							       now.tv_sec * 1000000000ull +
							       now.tv_nsec, e->mode);
		u->alerted = rs.unqueued;
	}
}

/* The per-rule scan only when the kernel counted something new. */
static void check_unqueued(struct ks_session *s, bool alert)
{
	struct ks_stats st;

	if (!s->lost_e || ks_stats_sum(s->lost_e->stats_fd, &st) ||
	    st.enforce_unqueued == s->unqueued)
		return;
	s->unqueued = st.enforce_unqueued;
	alert_unqueued(s, alert);
}

int ks_session_open_lost(struct ks_session *s, const struct ks_engine *e, bool adopted)
{
	/*
	 * ks_lost fills only while ks_events is full, and holds 76 events:
	 * 18 of them a window (its moves cost more a page than ks_events',
	 * include/kestrel/ringbuf.h; a burst of more maps it whole).
	 */
	int err = add_ring(s, e->lost_fd, KS_LOST_WINDOW, on_lost);

	if (err)
		return err;
	s->lost_e = e;
	check_unqueued(s, !adopted);
	return 0;
}

int ks_session_poll(struct ks_session *s, int timeout_ms)
{
	/*
	 * The kernel submits without wakeups until a batch is queued, so the
	 * poll is only a timer: consume whatever is there.
	 */
	int err = ks_rings_poll(s->rb, timeout_ms);

	if (err < 0)
		flush_held(s);
	return err < 0 ? err : ks_session_consume(s);
}

int ks_session_consume(struct ks_session *s)
{
	int n = ks_rings_consume(s->rb);

	flush_held(s);

	/* ks_events has room again: report what ks_lost could not keep */
	check_unqueued(s, true);
	return n;
}

int ks_session_switch(struct ks_session *s, struct ks_engine *e, struct ks_tables *t)
{
	const char *what = "load the programs these rules need";
	int err;

	s->why[0] = 0;
	if (t->dfa_hdr.tab_bytes > e->dfa_bytes) {
		/* before any program loads: nothing changes */
		ks_dfa_size_refused(e, t, s->why, sizeof(s->why));
		pr_warn("kload: %s\n", s->why);
		return -E2BIG;
	}
	/* hooks the new rules need are loaded and attached before the switch */
	err = ks_engine_need(e, t->hdr.action_mask);
	if (!err) {
		what = "install rule tables in the kernel";
		err = ks_engine_install(e, t);
	}
	if (err) {
		snprintf(s->why, sizeof(s->why), "cannot %s: %s", what, strerror(-err));
		pr_warn("kload: %s\n", s->why);
	}
	return err;
}

int ks_session_unswitch(struct ks_session *s, struct ks_engine *e, const struct ks_tables *t,
			int err, const char *cause)
{
	int rb = ks_engine_rollback(e);

	snprintf(s->why, sizeof(s->why), "userspace cannot take generation %u (%s): the kernel %s",
		 t->hdr.generation, cause,
		 rb ? "could not be rolled back either" : "went back to the previous one");
	pr_warn("kload: %s\n", s->why);
	return err;
}

int ks_session_follow(struct ks_session *s, struct ks_engine *e, const char *pin_dir,
		      struct ks_ruleset *rs, struct ks_tables *t, bool reload)
{
	int err = s->p ? ks_pipeline_set_rules(s->p, rs, t) : 0;

	if (err) {
		ks_ruleset_free(rs);
		return ks_session_unswitch(s, e, t, err, strerror(-err));
	}
	ks_engine_publish(e, pin_dir, rs, t, reload);
	if (!s->p)
		ks_ruleset_free(rs);
	return 0;
}

int ks_session_install(struct ks_session *s, struct ks_engine *e, const char *pin_dir,
		       struct ks_ruleset *rs, struct ks_tables *t, bool reload)
{
	int err = ks_session_switch(s, e, t);

	if (err) {
		ks_ruleset_free(rs);
		return err;
	}
	return ks_session_follow(s, e, pin_dir, rs, t, reload);
}

void ks_session_flush(struct ks_session *s)
{
	ks_output_flush(s->o.alerts);
	ks_output_flush(s->o.record);
}

void ks_session_tick(struct ks_session *s, uint64_t now_ns)
{
	if (s->p)
		ks_pipeline_tick(s->p, now_ns);
	ks_session_flush(s);
}

uint64_t ks_session_alerts_lost(const struct ks_session *s)
{
	return s->o.alerts ? ks_output_lost_total(s->o.alerts) : 0;
}

static void publish_rule_alerts(struct ks_session *s, const struct ks_engine *e, __u32 n)
{
	__u32 i;

	for (i = 0; i < n && i < KS_MAX_RULES; i++) {
		struct ks_rule_name nm;

		if (bpf_map_lookup_elem(e->rules_fd, &i, &nm))
			continue;
		nm.alerts = ks_pipeline_rule_alerts(s->p, i);
		bpf_map_update_elem(e->rules_fd, &i, &nm, 0);
	}
}

void ks_session_publish_stats(struct ks_session *s, const struct ks_engine *e)
{
	struct ks_pipeline_stats ps = {};
	struct ks_output_stats os = {};
	struct ks_dns_stats ds;
	struct ks_ctl ctl;
	int r;

	if (s->p)
		ks_pipeline_stats(s->p, &ps);
	if (s->o.alerts)
		ks_output_stats(s->o.alerts, &os);
	if (ks_ctl_read(e->ctl_fd, &ctl))
		return;
	ctl.user_pending = ps.pending;
	ctl.user_evictions = ps.evictions;
	ctl.user_evict_memory = ps.evict_memory;
	ctl.user_bytes = ps.bytes;
	ctl.user_expired = ps.expired;
	ctl.user_alerts = ps.alerts;
	ctl.user_events = s->st.events;
	for (r = 0; r < KS_LOST_N; r++)
		ctl.user_alerts_lost[r] = os.lost[r];
	ctl.user_short_records = s->st.short_records;
	ctl.user_nfa_nomem = ps.nomem;
	ctl.user_regex_undecided = ks_regex_undecided();
	for (r = 0; r < KS_CGROUP_N; r++)
		ctl.user_cgroup_lookups[r] = s->ecs.cgroup_lookups[r];
	ks_ecs_dns_stats(&s->ecs, &ds);
	ctl.user_dns_answers = ds.answers;
	ctl.user_dns_malformed = ds.malformed;
	ctl.user_dns_names = ds.names;
	ctl.user_dns_evictions = ds.evictions;
	ks_ctl_write(e->ctl_fd, &ctl);
	if (s->p)
		publish_rule_alerts(s, e, ctl.n_rules);
}
