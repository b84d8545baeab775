// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_sustain: the host hooks under sustained load, with every event
 * accounted for.
 *
 * For each rule set, a `kload attach` (its own pin directory,
 * --detach-on-exit, alerts to a file) and an open/close storm: one
 * process per CPU, pinned to it, opening and closing a file of its own
 * as fast as it can for --secs seconds.
 *
 *   match    the generated host rules (kb_gen_host_rules) plus a file
 *            rule on the storm's paths: every storm open is forwarded
 *            (or, when the ring buffer is full, dropped), and alerts
 *   nomatch  the generated host rules alone: nothing the storm does
 *            matches, every storm open is filtered in the kernel
 *   stop     the match set, with kload stopped (SIGTERM) a second before
 *            the storm would end, the storm going on until kload has
 *            exited: what the hooks forward while kload shuts down must
 *            still be consumed or counted (identity only)
 *
 * Figures per set: events/s the kernel saw (every source, every process
 * on the host: the storm is most of it), forwarded/s, the events dropped,
 * and the rate at which kload drained the ring buffer: the slope of the
 * events kload consumed (ks_ctl.user_events, published once a second)
 * between the first and the last change seen from the storm's start to
 * the moment kload caught up.
 *
 * The identity, exact, over kload's whole life: the bench holds the
 * pinned ks_stats, ks_ctl and ks_outputs maps open, so they outlive
 * kload's --detach-on-exit, and reads them after kload has exited (its
 * last act: consume what is queued, publish its counters, detach), when
 * nothing counts any more:
 *   - per source: events = filtered + forwarded + dropped (all reasons)
 *   - forwarded (all sources) = consumed by kload + short records (the
 *     one way userspace loses a forwarded record, counted)
 *   - the alerts file: sent = delivered + lost (by reason) + queued, and
 *     sent = the alerts kload's pipeline made
 * The bench exits 1 when one does not hold (sustain.SET.identity 0).
 * Also reported (match): the storm's opens and the kernel's match count
 * of the storm rule, which are equal when the kernel saw every open.
 *
 *   bench_sustain [--secs S] [--procs N] [--rules N]
 *                 [--sets match,nomatch,stop] [--kload PATH]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_common.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "maps/ks_state.h"

#define PIN_DIR		"/sys/fs/bpf/kestrel-bench-sustain"
#define STORM_RULE	"sustain_storm"
#define MAX_PROCS	64
#define SAMPLE_US	20000	/* ks_ctl polled this often; kload publishes once a second */
#define QUIET_NS	1500000000ull	/* no new consumption this long: kload caught up */
#define TAIL_MAX_NS	20000000000ull
#define STOP_EARLY_NS	1000000000ull	/* stop: kload stops this long before the storm */

struct opts {
	double secs;
	int procs;
	unsigned long rules;
	bool want[3];		/* enum set */
	const char *kload, *prog;
};

/* The rule sets, and how each run ends. */
enum set { SET_MATCH, SET_NOMATCH, SET_STOP, SET_N };
static const char *const set_name[SET_N] = { "match", "nomatch", "stop" };
static const char *const set_about[SET_N] = {
	"match rule set", "nomatch rule set", "match rule set, kload stopped while it runs",
};

/* The pinned maps held open across kload's exit. */
enum { M_STATS, M_CTL, M_OUTPUTS, M_RULES, M_RULE_STATS, M_N };
static const char *const map_pin[M_N] = {
	"ks_stats", "ks_ctl", "ks_outputs", "ks_rules", "ks_rule_stats",
};

/* One read of everything the kernel and kload counted. */
struct acct {
	struct ks_stats k;
	struct ks_ctl ctl;
	struct ks_output_stat out;	/* the alerts file's output */
	struct ks_rule_stats storm;	/* the storm rule's (zero: no such rule) */
	uint64_t t_ns;
};

/* kload's consumption as published: first and last change seen. */
struct drain {
	uint64_t t_first, u_first, t_last, u_last;
	int changes;
};

struct set_run {
	const char *set, *about;
	bool match;			/* the storm rule is in the set */
	int stop_pid;			/* stop: kload, SIGTERMed before the storm ends */
	char alerts_uri[KS_OUTPUT_NAME_MAX];
	int fd[M_N];
	struct acct a0, a1, fin;	/* storm start, storm end, after kload exited */
	struct drain d;
	uint64_t opens;
	uint64_t storm_end_ns;
	double cpu0, cpu1;		/* kload's CPU seconds: storm start, caught up */
	bool seen_all;			/* match: the storm rule matched every open */
	const char *why;		/* could not measure */
};

/* ---- the pinned maps ---- */

static int open_maps(struct set_run *r)
{
	char path[KS_PIN_PATH_MAX];
	int i;

	for (i = 0; i < M_N; i++) {
		ks_pin_path(path, sizeof(path), PIN_DIR, map_pin[i]);
		r->fd[i] = bpf_obj_get(path);
		if (r->fd[i] < 0) {
			r->why = kb_fmt("cannot open %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void close_maps(struct set_run *r)
{
	int i;

	for (i = 0; i < M_N; i++)
		if (r->fd[i] >= 0)
			close(r->fd[i]);
}

static void read_output(const struct set_run *r, struct ks_output_stat *out)
{
	__u32 i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < KS_MAX_OUTPUTS; i++) {
		if (!bpf_map_lookup_elem(r->fd[M_OUTPUTS], &i, out) &&
		    !strncmp(out->name, r->alerts_uri, sizeof(out->name)))
			return;
	}
	memset(out, 0, sizeof(*out));
}

/* The storm rule's counters: ks_rules names the rule, by index, with its uid. */
static void read_storm_rule(const struct set_run *r, __u32 n_rules, struct ks_rule_stats *rs)
{
	struct ks_rule_name nm;
	__u32 i;

	memset(rs, 0, sizeof(*rs));
	for (i = 0; i < n_rules && i < KS_MAX_RULES; i++) {
		if (bpf_map_lookup_elem(r->fd[M_RULES], &i, &nm))
			continue;
		nm.id[sizeof(nm.id) - 1] = 0;
		if (!strcmp(nm.id, STORM_RULE)) {
			ks_rule_stats_sum(r->fd[M_RULE_STATS], nm.uid, rs);
			return;
		}
	}
}

static void read_acct(const struct set_run *r, struct acct *a)
{
	memset(a, 0, sizeof(*a));
	a->t_ns = kb_now_ns();
	ks_stats_sum(r->fd[M_STATS], &a->k);
	ks_ctl_read(r->fd[M_CTL], &a->ctl);
	read_output(r, &a->out);
	read_storm_rule(r, a->ctl.n_rules, &a->storm);
}

static uint64_t sum_n(const __u64 *v, int n)
{
	uint64_t t = 0;

	while (n--)
		t += v[n];
	return t;
}

static uint64_t sum_src(const __u64 *v)
{
	return sum_n(v, KS_SRC_N);
}

static uint64_t dropped_src(const struct ks_stats *k, int s)
{
	return sum_n(k->dropped[s], KS_DROP_N);
}

static uint64_t out_lost(const struct ks_output_stat *o)
{
	return sum_n(o->lost, KS_CTL_LOST_N);
}

static uint64_t dropped_all(const struct ks_stats *k)
{
	uint64_t n = 0;
	int s;

	for (s = 0; s < KS_SRC_N; s++)
		n += dropped_src(k, s);
	return n;
}

/* CPU seconds (user + system) process pid has used; 0 when unknown. */
static double proc_cpu_s(int pid)
{
	unsigned long long ut = 0, st = 0;
	char buf[1024], *p;
	ssize_t n;
	int fd;

	fd = open(kb_fmt("/proc/%d/stat", pid), O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	p = strrchr(buf, ')');	/* the command name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* ---- the storm ---- */

static void drain_sample(const struct set_run *r, struct drain *d)
{
	struct ks_ctl c;
	uint64_t now;

	if (ks_ctl_read(r->fd[M_CTL], &c) || c.user_events == d->u_last)
		return;
	now = kb_now_ns();
	if (!d->changes++) {
		d->t_first = now;
		d->u_first = c.user_events;
	}
	d->t_last = now;
	d->u_last = c.user_events;
}

/* cnt[0]: stop flag; cnt[8 * (i + 1)]: process i's opens (a cache line each) */
static void storm_child(const char *path, int cpu, volatile uint64_t *cnt, int i)
{
	cpu_set_t set;
	uint64_t n = 0;
	int k, fd;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort */
	while (!cnt[0]) {
		for (k = 0; k < 256; k++) {
			fd = open(path, O_RDONLY);
			if (fd < 0)
				_exit(1);
			close(fd);
		}
		n += 256;
		cnt[8 * (i + 1)] = n;
	}
	_exit(0);
}

/* Has pid exited? (not reaped: kb_kload_stop does that) */
static bool exited(int pid)
{
	siginfo_t si = {};

	return !waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid;
}

/*
 * Sample kload's consumption until the storm is to end: after op->secs,
 * or (stop) once kload, SIGTERMed STOP_EARLY_NS before that, has exited.
 */
static void storm_watch(const struct opts *op, struct set_run *r)
{
	uint64_t end = kb_now_ns() + (uint64_t)(op->secs * 1e9);
	int kpid = r->stop_pid;

	for (;;) {
		drain_sample(r, &r->d);
		usleep(SAMPLE_US);
		if (r->stop_pid > 0 && kb_now_ns() + STOP_EARLY_NS > end) {
			kill(r->stop_pid, SIGTERM);
			r->stop_pid = 0;
		}
		if (kb_now_ns() >= end && (kpid <= 0 || exited(kpid)))
			return;
	}
}

/*
 * One process per CPU for op->secs (stop: through kload's exit); the
 * parent samples kload's published consumption meanwhile. Returns the
 * opens made, or 0 with r->why set.
 */
static uint64_t storm(const struct opts *op, const char *tmp, struct set_run *r)
{
	size_t len = (MAX_PROCS + 1) * 64;
	volatile uint64_t *cnt = mmap(NULL, len, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t total = 0;
	pid_t pid[MAX_PROCS];
	int i, st, n = 0, failed = 0;

	if (cnt == MAP_FAILED) {
		r->why = "mmap failed";
		return 0;
	}
	for (i = 0; i < op->procs; i++) {
		pid[n] = fork();
		if (pid[n] == 0)
			storm_child(kb_fmt("%s/storm.%d", tmp, i),
				    i % sysconf(_SC_NPROCESSORS_ONLN), cnt, i);
		if (pid[n] > 0)
			n++;
	}
	storm_watch(op, r);
	cnt[0] = 1;
	for (i = 0; i < n; i++) {
		waitpid(pid[i], &st, 0);
		failed += !WIFEXITED(st) || WEXITSTATUS(st);
	}
	for (i = 0; i < op->procs; i++)
		total += cnt[8 * (i + 1)];
	munmap((void *)cnt, len);
	if (n < op->procs || failed)
		r->why = kb_fmt("%d of %d storm processes did not run through", op->procs - n + failed,
				op->procs);
	return r->why ? 0 : total;
}

/* Until kload has consumed nothing new for QUIET_NS (it caught up). */
static void drain_tail(const struct set_run *r, struct drain *d)
{
	uint64_t start = kb_now_ns(), now;

	do {
		usleep(SAMPLE_US);
		drain_sample(r, d);
		now = kb_now_ns();
	} while (now - start < TAIL_MAX_NS &&
		 (now - start < QUIET_NS || (d->changes && now - d->t_last < QUIET_NS)));
}

/*
 * The slope of the published consumption between its first and last
 * change; a kload starved by the storm may publish only once in the
 * window, and then the rate is counted from the storm's start (what it
 * had consumed by then is in a0) to that one change.
 */
static double drain_rate(const struct set_run *r, uint64_t used)
{
	const struct drain *d = &r->d;

	if (d->changes > 1 && d->t_last > d->t_first)
		return (d->u_last - d->u_first) / ((d->t_last - d->t_first) / 1e9);
	if (d->changes && d->t_last > r->a0.t_ns)
		return used / ((d->t_last - r->a0.t_ns) / 1e9);
	return 0;
}

/* ---- the identity ---- */

static bool check_sources(const struct ks_stats *k, const char *set)
{
	bool ok = true;
	int s;

	for (s = 0; s < KS_SRC_N; s++) {
		uint64_t rhs = k->filtered[s] + k->forwarded[s] + dropped_src(k, s);

		if (k->events[s] == rhs)
			continue;
		ok = false;
		fprintf(stderr, "bench_sustain: %s: IDENTITY BROKEN, source %d: %llu events != "
			"%llu filtered + %llu forwarded + %llu dropped\n", set, s,
			(unsigned long long)k->events[s], (unsigned long long)k->filtered[s],
			(unsigned long long)k->forwarded[s], (unsigned long long)dropped_src(k, s));
	}
	return ok;
}

static bool check_identity(const struct acct *f, const char *set)
{
	const struct ks_output_stat *o = &f->out;
	uint64_t fwd = sum_src(f->k.forwarded), lost = out_lost(o);
	bool ok = check_sources(&f->k, set);

	if (fwd != f->ctl.user_events + f->ctl.user_short_records) {
		ok = false;
		fprintf(stderr, "bench_sustain: %s: IDENTITY BROKEN: %llu forwarded != %llu consumed "
			"by kload + %llu short records\n", set, (unsigned long long)fwd,
			(unsigned long long)f->ctl.user_events,
			(unsigned long long)f->ctl.user_short_records);
	}
	if (o->sent != o->delivered + lost + o->queued || o->sent != f->ctl.user_alerts) {
		ok = false;
		fprintf(stderr, "bench_sustain: %s: IDENTITY BROKEN: alerts: %llu made, %llu sent = "
			"%llu delivered + %llu lost + %llu queued?\n", set,
			(unsigned long long)f->ctl.user_alerts, (unsigned long long)o->sent,
			(unsigned long long)o->delivered, (unsigned long long)lost,
			(unsigned long long)o->queued);
	}
	return ok;
}

/* match: the kernel saw every storm open (the storm rule matched each). */
static bool check_seen(const struct set_run *r)
{
	uint64_t m = r->a1.storm.matches - r->a0.storm.matches;
	int d;

	if (!r->match || r->stop_pid >= 0 || m == r->opens)
		return true;
	fprintf(stderr, "bench_sustain: %s: IDENTITY BROKEN: %llu storm opens, the storm rule "
		"matched %llu; file events dropped over the storm, by reason:", r->set,
		(unsigned long long)r->opens, (unsigned long long)m);
	for (d = 0; d < KS_DROP_N; d++)
		fprintf(stderr, " %llu", (unsigned long long)(r->a1.k.dropped[KS_SRC_FILE][d] -
							       r->a0.k.dropped[KS_SRC_FILE][d]));
	fputc('\n', stderr);
	return false;
}

/* ---- one rule set ---- */

static char *set_rules(const struct opts *op, const char *tmp, bool match)
{
	char *gen = kb_gen_host_rules(op->rules, 7);
	struct kb_buf b = {};

	kb_buf_printf(&b, "%s", gen ? gen : "");
	if (match)
		kb_buf_printf(&b, "- rule: %s\n  name: the storm's own files\n  query: |\n"
			      "    file where event.action == \"open\" and file.path : \"%s/storm.*\"\n",
			      STORM_RULE, tmp);
	free(gen);
	return b.s;
}

/* kload attached, the storm, kload drained and stopped: r filled. */
static void measure(const struct opts *op, const char *tmp, struct set_run *r)
{
	const char *rules = kb_fmt("%s/rules-%s.yml", tmp, r->set);
	const char *alerts = kb_fmt("%s/alerts-%s.jsonl", tmp, r->set);
	char *yaml = set_rules(op, tmp, r->match);
	struct kb_kload k;

	snprintf(r->alerts_uri, sizeof(r->alerts_uri), "file:%s", alerts);
	if (!yaml || kb_write_file(rules, yaml)) {
		free(yaml);
		r->why = kb_fmt("cannot write %s", rules);
		return;
	}
	free(yaml);
	if (kb_kload_start(&k, op->kload, PIN_DIR, rules, kb_fmt("--alerts %s", alerts))) {
		r->why = kb_fmt("%s", k.why);
		kb_kload_stop(&k, op->kload, PIN_DIR);
		return;
	}
	if (!open_maps(r)) {
		usleep(300000);
		read_acct(r, &r->a0);
		r->cpu0 = proc_cpu_s(k.pid);
		r->d.u_last = r->a0.ctl.user_events;
		if (r->stop_pid >= 0)
			r->stop_pid = k.pid;
		r->opens = storm(op, tmp, r);
		read_acct(r, &r->a1);
		r->storm_end_ns = kb_now_ns();
		if (r->stop_pid < 0)
			drain_tail(r, &r->d);
		r->cpu1 = proc_cpu_s(k.pid);
	}
	kb_kload_stop(&k, op->kload, PIN_DIR);
	/* kload has exited: its last counters, and the kernel's, are final */
	if (!r->why)
		read_acct(r, &r->fin);
	close_maps(r);
	unlink(alerts);
	unlink(rules);
}

/* ---- results ---- */

/* A row of this set: name sustain.SET.what, the set's command. */
static void emit(const struct opts *op, const struct set_run *r, struct kb_result *res,
		 const char *what, const char *figure, double v)
{
	res->name = kb_fmt("sustain.%s.%s", r->set, what);
	res->figure = kb_fmt("%s, open/close storm on %d CPUs for %gs, %s", figure, op->procs,
			     op->secs, r->about);
	res->unit = res->unit ?: "events/s";
	res->value = v;
	res->has_value = !r->why;
	res->reason = r->why;
	res->command = kb_cmd(op->prog, "--sets %s --secs %g --procs %d --rules %lu", r->set,
			      op->secs, op->procs, op->rules);
	kb_emit(res);
}

static void emit_identity(const struct opts *op, const struct set_run *r, bool ok)
{
	const struct acct *f = &r->fin;
	struct kb_result res = {
		.unit = "", .target = ">= 1", .headline = true,
		.note = "after kload exited: per source events = filtered + forwarded + dropped; "
			"forwarded = consumed by kload + short records; alerts made = sent = "
			"delivered + lost + queued; match: the storm rule's kernel match count = "
			"the storm's opens. extra: kload's whole life",
		.xk = { "events", "forwarded", "dropped", "consumed", "alerts_delivered",
			"alerts_lost", "storm_opens", "storm_rule_matches" },
		.xv = { sum_src(f->k.events), sum_src(f->k.forwarded), dropped_all(&f->k),
			f->ctl.user_events, f->out.delivered, out_lost(&f->out), r->opens,
			r->a1.storm.matches - r->a0.storm.matches },
	};

	emit(op, r, &res, "identity", "every event accounted for (1 = holds)", ok);
}

static void report(const struct opts *op, struct set_run *r, bool ok)
{
	const struct ks_stats *k0 = &r->a0.k, *k1 = &r->a1.k;
	double secs = (r->a1.t_ns - r->a0.t_ns) / 1e9;
	uint64_t ev = sum_src(k1->events) - sum_src(k0->events);
	uint64_t fwd = sum_src(k1->forwarded) - sum_src(k0->forwarded);
	uint64_t drop = dropped_all(k1) - dropped_all(k0);
	const struct drain *d = &r->d;
	uint64_t used = d->u_last - r->a0.ctl.user_events;
	double drain = drain_rate(r, used);
	double cpu = r->cpu1 - r->cpu0, caught = d->changes && d->t_last > r->storm_end_ns ?
		(d->t_last - r->storm_end_ns) / 1e6 : 0;
	struct kb_result e = {
		.note = "delta of ks_stats.events over the storm: every source, every process",
		.xk = { "file_events_per_s", "storm_opens_per_s", "secs" },
		.xv = { (k1->events[KS_SRC_FILE] - k0->events[KS_SRC_FILE]) / secs,
			r->opens / secs, secs },
	}, f = {
		.note = "delta of ks_stats.forwarded over the storm",
		.xk = { "forwarded" }, .xv = { fwd },
	}, u = {
		.note = "slope of ks_ctl.user_events (kload publishes it once a second) from its "
			"first to its last change between the storm's start and kload catching "
			"up (one change only: from the storm's start; 0: nothing forwarded); "
			"extra: kload's CPU seconds over that time",
		.xk = { "kload_cpu_s", "drained_per_kload_cpu_s", "caught_up_ms_after_storm" },
		.xv = { cpu, cpu > 0 ? used / cpu : 0, caught },
	}, x = {
		.unit = "events",
		.note = "delta of ks_stats.dropped over the storm, every reason",
		.xk = { "file_ringbuf_full", "share_of_events" },
		.xv = { k1->dropped[KS_SRC_FILE][KS_DROP_RINGBUF_FULL] -
			k0->dropped[KS_SRC_FILE][KS_DROP_RINGBUF_FULL], ev ? (double)drop / ev : 0 },
	};

	emit(op, r, &e, "kernel_events_per_s", "events/s the kernel saw", ev / secs);
	emit(op, r, &f, "forwarded_per_s", "events/s forwarded to kload", fwd / secs);
	emit(op, r, &u, "drain_per_s", "events/s kload drained from the ring buffer", drain);
	emit(op, r, &x, "dropped", "events dropped (ring buffer full, every other reason)", drop);
	emit_identity(op, r, ok);
	fprintf(stderr, "bench_sustain: %s: %.2fs, %llu storm opens (%.0f/s), storm rule matched "
		"%llu; kernel %.0f events/s, forwarded %.0f/s, dropped %llu, kload drained %.0f/s "
		"(%.2f CPU s), caught up %.0f ms after the storm; identity %s\n", r->set, secs,
		(unsigned long long)r->opens, r->opens / secs,
		(unsigned long long)(r->a1.storm.matches - r->a0.storm.matches), ev / secs,
		fwd / secs, (unsigned long long)drop, drain, cpu, caught, ok ? "holds" : "BROKEN");
}

static bool run_set(const struct opts *op, const char *tmp, enum set set)
{
	struct set_run r = {
		.set = set_name[set], .about = set_about[set], .match = set != SET_NOMATCH,
		.stop_pid = set == SET_STOP ? 0 : -1, .fd = { -1, -1, -1, -1, -1 },
	};
	bool ok = false;

	if (access(op->kload, X_OK))
		r.why = kb_fmt("%s not built", op->kload);
	else
		measure(op, tmp, &r);
	if (!r.why)
		ok = check_identity(&r.fin, r.set) & check_seen(&r);
	else
		fprintf(stderr, "bench_sustain: %s: %s\n", r.set, r.why);
	if (set == SET_STOP) {
		emit_identity(op, &r, ok);
		fprintf(stderr, "bench_sustain: stop: %llu storm opens, the storm rule matched %llu "
			"before the hooks went; %llu forwarded, %llu consumed by kload; identity %s\n",
			(unsigned long long)r.opens,
			(unsigned long long)(r.a1.storm.matches - r.a0.storm.matches),
			(unsigned long long)sum_src(r.fin.k.forwarded),
			(unsigned long long)r.fin.ctl.user_events, ok ? "holds" : "BROKEN");
	} else
		report(op, &r, ok);
	return ok || r.why;	/* not measured: recorded with its reason */
}

/* ---- main ---- */

static void usage(const char *p)
{
	fprintf(stderr,
		"usage: %s [--secs S] [--procs N] [--rules N] [--sets match,nomatch,stop]\n"
		"          [--kload PATH]\n"
		"Prints one JSON result per line (see bench/bench_common.h); exit 1 when an\n"
		"identity does not hold.\n", p);
}

static int parse_sets(const char *arg, struct opts *op)
{
	char *list = strdup(arg), *save = NULL, *t;
	int i, bad = 0;

	memset(op->want, 0, sizeof(op->want));
	for (t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < SET_N && strcmp(t, set_name[i]); i++)
			;
		if (i == SET_N)
			bad = fprintf(stderr, "bench_sustain: no rule set %s\n", t);
		else
			op->want[i] = true;
	}
	free(list);
	return bad;
}

static int parse(int argc, char **argv, struct opts *op)
{
	static const struct option lo[] = {
		{ "secs", 1, 0, 's' }, { "procs", 1, 0, 'p' }, { "rules", 1, 0, 'r' },
		{ "sets", 1, 0, 'S' }, { "kload", 1, 0, 'k' }, { "help", 0, 0, 'h' }, { 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			op->secs = atof(optarg);
			break;
		case 'p':
			op->procs = atoi(optarg);
			break;
		case 'r':
			op->rules = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			if (parse_sets(optarg, op))
				return 2;
			break;
		case 'k':
			op->kload = optarg;
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (op->secs * 1e9 <= STOP_EARLY_NS || op->procs < 1 || op->procs > MAX_PROCS) {
		usage(argv[0]);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct opts op = {
		.secs = 4, .procs = (int)sysconf(_SC_NPROCESSORS_ONLN), .rules = 100,
		.want = { true, true, true }, .kload = "build/kload",
		.prog = "build/bench/bench_sustain",
	};
	char tmp[] = "/tmp/kb-sustain.XXXXXX";
	bool ok = true;
	int i, ret = parse(argc, argv, &op);

	if (ret >= 0)
		return ret;
	ks_log_setup_libbpf();
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	for (i = 0; i < op.procs; i++)
		kb_write_file(kb_fmt("%s/storm.%d", tmp, i), "storm\n");
	for (i = 0; i < SET_N; i++)
		if (op.want[i])
			ok &= run_set(&op, tmp, i);
	for (i = 0; i < op.procs; i++)
		unlink(kb_fmt("%s/storm.%d", tmp, i));
	rmdir(tmp);
	return ok ? 0 : 1;
}
