// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Alert outputs: the fan-out, one bounded queue and one thread per output,
 * back-off and exact accounting (see include/kestrel/sink.h). What each
 * kind of output does is in sink_file.c, sink_syslog.c, sink_journald.c
 * and sink_nats.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "kestrel/clock.h"
#include "kestrel/log.h"
#include "kestrel/names.h"
#include "kestrel/rules.h"
#include "opts.h"
#include "sink_int.h"

#define KS_BACKOFF_MIN_MS	100
#define KS_BACKOFF_MAX_MS	2000

struct ks_sinks {
	struct ks_sink *s[KS_MAX_OUTPUTS];
	size_t n;
	uint64_t seq;
	struct ks_output *out;
};

static const struct ks_sink_ops *const kinds[] = {
	&ks_sink_stdout_ops, &ks_sink_file_ops, &ks_sink_syslog_udp_ops,
	&ks_sink_syslog_tcp_ops, &ks_sink_syslog_ops, &ks_sink_journald_ops,
	&ks_sink_nats_ops,
};

static void line_put(struct ks_line *l)
{
	if (l && atomic_fetch_sub(&l->refs, 1) == 1)
		free(l);
}

bool ks_sink_stopping(struct ks_sink *s)
{
	bool stop;

	pthread_mutex_lock(&s->mu);
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* ---- the consumer's side: never more than a pointer copy under mu ---- */

static void enqueue(struct ks_sink *s, struct ks_line *l)
{
	pthread_mutex_lock(&s->mu);
	s->st.sent++;
	if (!l) {
		s->st.lost[KS_LOST_ENCODE]++;
	} else if (s->n == s->cap || s->stop) {
		s->st.lost[s->stop ? KS_LOST_SHUTDOWN : KS_LOST_QUEUE_FULL]++;
		line_put(l);
	} else {
		s->q[(s->head + s->n++) % s->cap] = l;
		s->st.queued = s->n;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

/* rule.severity -> syslog severity (journald PRIORITY too) */
static int severity_level(const char *sev)
{
	static const int level[] = {
		[KS_SEV_LOW] = 5, [KS_SEV_MEDIUM] = 4, [KS_SEV_HIGH] = 3, [KS_SEV_CRITICAL] = 2,
	};
	int v = sev ? ks_severity_parse(sev) : KS_NAME_UNKNOWN;

	return v >= 0 && v < (int)(sizeof(level) / sizeof(level[0])) ? level[v] : 4;
}

static struct ks_line *line_new(struct ks_sinks *set, const char *text, size_t len,
				const struct ks_line_info *info)
{
	const char *id = info ? info->rule_id : NULL;
	struct ks_line *l = malloc(sizeof(*l) + len + 1);

	if (!l)
		return NULL;
	atomic_init(&l->refs, set->n);
	l->len = len;
	l->seq = ++set->seq;
	l->level = severity_level(info ? info->severity : NULL);
	snprintf(l->rule, sizeof(l->rule), "%s", id ?: "");
	memcpy(l->text, text, len);
	l->text[len] = 0;
	return l;
}

static int fan_out(void *arg, const char *text, size_t len, const struct ks_line_info *info)
{
	struct ks_sinks *set = arg;
	struct ks_line *l = set->n ? line_new(set, text, len, info) : NULL;
	size_t i;

	/* no memory for the copy: each output counts it lost (encode), so
	 * that for every output sent stays the number of alerts produced */
	for (i = 0; i < set->n; i++)
		enqueue(set->s[i], l);
	return 0;
}

static void add_losses(void *arg, struct ks_output_stats *st)
{
	struct ks_sinks *set = arg;
	struct ks_output_stat os;
	size_t i;
	int r;

	for (i = 0; i < set->n; i++) {
		ks_sinks_stat(set, i, &os);
		for (r = 0; r < KS_LOST_N; r++)
			st->lost[r] += os.lost[r];
	}
}

static const struct ks_output_ops fan_ops = { .line = fan_out, .stats = add_losses };

/* ---- the output's thread ---- */

static void wait_until(struct ks_sink *s, uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };

	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/*
 * Back off for ms, under mu: new alerts do not cut it short; a reopen
 * does, and a stop shortens it to the drain deadline.
 */
static void backoff_wait(struct ks_sink *s, unsigned int ms)
{
	uint64_t until = ks_mono_ns() + ms * 1000000ull, end;

	while (!s->reopen) {
		end = s->stop && s->deadline_ns < until ? s->deadline_ns : until;
		if (ks_mono_ns() >= end)
			break;
		wait_until(s, end);
	}
}

/* The output failed (why): close it, count, log the first of a streak. */
static void failed(struct ks_sink *s, enum ks_sink_err why, int err, unsigned int *backoff)
{
	if (s->open)
		s->ops->close(s);
	s->open = false;
	pthread_mutex_lock(&s->mu);
	s->st.errors[why]++;
	pthread_mutex_unlock(&s->mu);
	if (*backoff == 0)
		pr_warn("kload: output %s: %s failed: %s; alerts wait in its queue "
			"(%zu at most) and it retries\n", s->name, ks_output_err_name(why),
			s->err_text[0] ? s->err_text : strerror(-err), s->cap);
	s->err_text[0] = 0;
	*backoff = *backoff ? *backoff * 2 : KS_BACKOFF_MIN_MS;
	if (*backoff > KS_BACKOFF_MAX_MS)
		*backoff = KS_BACKOFF_MAX_MS;
}

/* Deliver the line at the head of the queue; returns with mu held. */
static void deliver(struct ks_sink *s, struct ks_line *l, unsigned int *backoff)
{
	enum ks_sink_err why = KS_SERR_WRITE;
	int r = 0;

	if (!s->open) {
		r = s->ops->open(s);
		if (r)
			why = KS_SERR_CONNECT;
		s->open = !r;
	}
	if (!r)
		r = s->ops->send(s, l, &why);
	if (r < 0) {
		failed(s, why, r, backoff);
		pthread_mutex_lock(&s->mu);
		backoff_wait(s, *backoff);
		return;
	}
	if (*backoff)
		pr_info("kload: output %s: delivering again\n", s->name);
	*backoff = 0;
	pthread_mutex_lock(&s->mu);
	s->head = (s->head + 1) % s->cap;
	s->n--;
	s->st.queued = s->n;
	if (r == KS_SINK_LOST)
		s->st.lost[KS_LOST_WRITE]++;
	else
		s->st.delivered++;
	line_put(l);
}

static void drop_queue(struct ks_sink *s)
{
	while (s->n) {
		line_put(s->q[s->head]);
		s->head = (s->head + 1) % s->cap;
		s->n--;
		s->st.lost[KS_LOST_SHUTDOWN]++;
	}
	s->st.queued = 0;
}

static void *worker(void *arg)
{
	struct ks_sink *s = arg;
	unsigned int backoff = 0;
	struct ks_line *l;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->n && !s->stop && !s->reopen)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop && (!s->n || ks_mono_ns() >= s->deadline_ns))
			break;
		if (s->reopen) {
			s->reopen = false;
			pthread_mutex_unlock(&s->mu);
			if (s->open)
				s->ops->close(s);
			s->open = false;
			pthread_mutex_lock(&s->mu);
			continue;
		}
		l = s->q[s->head];
		pthread_mutex_unlock(&s->mu);
		deliver(s, l, &backoff);
	}
	drop_queue(s);
	pthread_mutex_unlock(&s->mu);
	if (s->open)
		s->ops->close(s);
	s->open = false;
	return NULL;
}

/* ---- URIs ---- */

static const struct ks_sink_ops *kind_of(const char *uri)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *sc = kinds[i]->scheme;

		if (!strcmp(sc, "-") ? !strcmp(uri, "-") : !strncmp(uri, sc, strlen(sc)))
			return kinds[i];
	}
	return NULL;
}

static int param(struct ks_sink *s, char *kv, char *why, size_t len)
{
	char *val = strchr(kv, '=');
	unsigned long long n;

	if (!val) {
		snprintf(why, len, "\"%s\" is not KEY=VALUE", kv);
		return -EINVAL;
	}
	*val++ = 0;
	if (!strcmp(kv, "queue")) {
		if (ks_opts_uint(val, 1, KS_SINK_QUEUE_MAX, &n)) {
			snprintf(why, len, "queue takes a whole number from 1 to %u", KS_SINK_QUEUE_MAX);
			return -EINVAL;
		}
		s->cap = n;
		return 0;
	}
	if (!s->ops->param || s->ops->param(s, kv, val)) {
		snprintf(why, len, "unknown or invalid parameter \"%s=%s\"", kv, val);
		return -EINVAL;
	}
	return 0;
}

/* Name for metrics and messages: no user:password@, no query. */
static void sink_name(struct ks_sink *s, const char *uri)
{
	const char *at = strchr(uri, '@'), *sl = strstr(uri, "://");
	size_t n = strcspn(uri, "?");

	if (sl && at && at < uri + n)
		snprintf(s->name, sizeof(s->name), "%.*s%.*s", (int)(sl + 3 - uri), uri,
			 (int)(uri + n - at - 1), at + 1);
	else
		snprintf(s->name, sizeof(s->name), "%.*s", (int)n, uri);
}

static int sink_parse(struct ks_sink *s, const char *uri, char *why, size_t len)
{
	char *copy = strdup(uri), *q, *kv, *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	s->ops = kind_of(uri);
	if (!s->ops) {
		snprintf(why, len, "unknown output \"%s\": give -, file:PATH, syslog:[PATH], "
			 "syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT, journald: or "
			 "nats://HOST:PORT/SUBJECT", uri);
		free(copy);
		return -EINVAL;
	}
	s->cap = KS_SINK_QUEUE_DEFAULT;
	sink_name(s, uri);
	q = strchr(copy, '?');
	if (q)
		*q++ = 0;
	err = s->ops->parse(s, copy + strlen(s->ops->scheme), why, len);
	for (kv = q ? strtok_r(q, "&", &save) : NULL; !err && kv; kv = strtok_r(NULL, "&", &save))
		err = param(s, kv, why, len);
	free(copy);
	return err;
}

static void sink_free(struct ks_sink *s)
{
	if (!s)
		return;
	if (s->ops && s->ops->free)
		s->ops->free(s);
	free(s->q);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

static struct ks_sink *sink_new(const char *uri, char *why, size_t len, int *err)
{
	struct ks_sink *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	*err = sink_parse(s, uri, why, len);
	if (*err) {
		sink_free(s);
		return NULL;
	}
	return s;
}

int ks_sinks_check(const char *uri, char *why, size_t len)
{
	int err;

	sink_free(sink_new(uri, why, len, &err));
	return err;
}

/* ---- the set ---- */

struct ks_sinks *ks_sinks_new(void)
{
	struct ks_sinks *set = calloc(1, sizeof(*set));

	if (!set)
		return NULL;
	set->out = ks_output_ops(&fan_ops, set, "outputs");
	if (!set->out) {
		free(set);
		return NULL;
	}
	return set;
}

/* The thread gets no signal: they are the main thread's to take. */
static int sink_start(struct ks_sink *s)
{
	sigset_t all, old;
	int err;

	s->q = calloc(s->cap, sizeof(*s->q));
	if (!s->q)
		return -ENOMEM;
	snprintf(s->st.name, sizeof(s->st.name), "%s", s->name);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&s->th, NULL, worker, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->started = !err;
	return err;
}

int ks_sinks_add(struct ks_sinks *set, const char *uri, char *why, size_t len)
{
	struct ks_sink *s;
	size_t i;
	int err;

	if (set->n == KS_MAX_OUTPUTS) {
		snprintf(why, len, "at most %d outputs", KS_MAX_OUTPUTS);
		return -E2BIG;
	}
	s = sink_new(uri, why, len, &err);
	if (!s)
		return err;
	for (i = 0; i < set->n; i++) {
		if (!strcmp(set->s[i]->name, s->name)) {
			snprintf(why, len, "output %s is given twice", s->name);
			sink_free(s);
			return -EEXIST;
		}
	}
	if (s->ops->open_at_start) {
		err = s->ops->open(s);
		if (err) {
			snprintf(why, len, "cannot open it: %s", strerror(-err));
			sink_free(s);
			return err;
		}
		s->open = true;
	}
	err = sink_start(s);
	if (err) {
		snprintf(why, len, "cannot start its thread: %s", strerror(-err));
		sink_free(s);
		return err;
	}
	set->s[set->n++] = s;
	return 0;
}

size_t ks_sinks_count(const struct ks_sinks *set)
{
	return set ? set->n : 0;
}

struct ks_output *ks_sinks_output(struct ks_sinks *set)
{
	return set->out;
}

void ks_sinks_reopen(struct ks_sinks *set)
{
	size_t i;

	for (i = 0; set && i < set->n; i++) {
		struct ks_sink *s = set->s[i];

		if (!s->ops->reopen_on_usr1)
			continue;
		pthread_mutex_lock(&s->mu);
		s->reopen = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
}

void ks_sinks_stat(struct ks_sinks *set, size_t i, struct ks_output_stat *st)
{
	struct ks_sink *s = set->s[i];

	pthread_mutex_lock(&s->mu);
	*st = s->st;
	pthread_mutex_unlock(&s->mu);
}

void ks_sinks_publish(struct ks_sinks *set, int outputs_fd)
{
	struct ks_output_stat st;
	__u32 i;

	if (outputs_fd < 0)
		return;
	for (i = 0; i < KS_MAX_OUTPUTS; i++) {
		if (set && i < set->n)
			ks_sinks_stat(set, i, &st);
		else
			memset(&st, 0, sizeof(st));
		bpf_map_update_elem(outputs_fd, &i, &st, 0);
	}
}

void ks_sinks_stop(struct ks_sinks *set, unsigned int drain_ms)
{
	uint64_t deadline = ks_mono_ns() + drain_ms * 1000000ull;
	size_t i;

	for (i = 0; set && i < set->n; i++) {
		struct ks_sink *s = set->s[i];

		pthread_mutex_lock(&s->mu);
		s->stop = true;
		s->deadline_ns = deadline;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	for (i = 0; set && i < set->n; i++) {
		if (set->s[i]->started)
			pthread_join(set->s[i]->th, NULL);
		set->s[i]->started = false;
	}
}

void ks_sinks_summary(struct ks_sinks *set, FILE *out)
{
	struct ks_output_stat st;
	size_t i;
	int r;

	for (i = 0; set && i < set->n; i++) {
		ks_sinks_stat(set, i, &st);
		fprintf(out, "kload: output %s: sent %llu, delivered %llu, queued %llu, lost",
			st.name, (unsigned long long)st.sent, (unsigned long long)st.delivered,
			(unsigned long long)st.queued);
		for (r = 0; r < KS_LOST_N; r++)
			fprintf(out, " %s=%llu", ks_lost_reason_name(r),
				(unsigned long long)st.lost[r]);
		fprintf(out, ", errors");
		for (r = 0; r < KS_SERR_N; r++)
			fprintf(out, " %s=%llu", ks_output_err_name(r),
				(unsigned long long)st.errors[r]);
		fputc('\n', out);
	}
}

void ks_sinks_free(struct ks_sinks *set)
{
	size_t i;

	if (!set)
		return;
	ks_sinks_stop(set, 0);
	for (i = 0; i < set->n; i++)
		sink_free(set->s[i]);
	ks_output_close(set->out);
	free(set);
}

/* ---- helpers for the kinds of output ---- */

int ks_sink_hostport(const char *hp, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;
	size_t n;

	if (*hp == '[') {	/* [::1]:514 */
		const char *rb = strchr(hp, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		n = rb - hp - 1;
		colon = rb + 1;
		hp++;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return -EINVAL;
		n = colon - hp;
	}
	if (!n || n >= hlen || !colon[1] || strlen(colon + 1) >= plen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	memcpy(host, hp, n);
	host[n] = 0;
	strcpy(port, colon + 1);
	return atoi(port) > 0 && atoi(port) < 65536 ? 0 : -EINVAL;
}

static char host_name[256];

static void host_name_init(void)
{
	if (gethostname(host_name, sizeof(host_name) - 1) || !host_name[0])
		strcpy(host_name, "-");
}

const char *ks_sink_hostname(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, host_name_init);
	return host_name;
}
