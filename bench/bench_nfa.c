// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_nfa: the userspace half (loader/pipeline.c, nfa*.c, alert.c) on
 * forwarded events.
 *
 * 1,000 generated two-step sequences by process.entity_id
 *   [process where exec of /opt/W/bin/X] -> [file where open under /var/tmp/W/]
 * compiled by the production compiler; 100,000 distinct entities. Events
 * are built as the kernel forwards them: the struct ks_event with
 * verdict.generation and verdict.match[] (step, KS_M_EXACT) filled, copied
 * out of a template as kload's ring-buffer callback copies it, and fed as
 * kload's consumer feeds a stream (loader/session.c): each event is
 * prefetched (ks_pipeline_prefetch()) while the KS_PIPELINE_AHEAD before
 * it are processed. Alerts go to /dev/null through the real Alert JSONL writer.
 *
 * Phases (one thread; events/s per core from the thread's CPU time, wall
 * time alongside):
 *   fill     100,000 first steps: 100,000 pending sequences
 *   mixed    random entity; a pending one gets a second step (completes:
 *            one alert) with probability 10 %, otherwise a first step
 *            (newest overwrites); headline figure
 *   restart  first steps only, every one overwriting a pending sequence
 *   alerts   first and second steps alternating: an alert every 2 events
 * --phase NAME runs fill and NAME only (a profile of one phase).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "kestrel/ecs.h"
#include "kestrel/pipeline.h"

struct ctx {
	struct ks_pipeline *p;
	const struct ks_tables *t;
	struct ks_event tmpl[2];	/* exec, open */
	/* a ring of the events built, not processed yet: ev[head] .. on */
	struct ks_event ev[KS_PIPELINE_AHEAD + 1];
	unsigned int head, n;
	uint64_t ts;
	unsigned long alerts;
	size_t n_rules;
};

static double thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void set_str(struct ks_event *ev, int f, char *slot, const char *s)
{
	size_t n = strlen(s);

	memcpy(slot, s, n + 1);
	ev->str[f].off = (uint16_t)(slot - (char *)ev);
	ev->str[f].len = n;
}

static void templates(struct ctx *c)
{
	struct ks_event *x = &c->tmpl[0], *o = &c->tmpl[1];
	static const char args[] = "tool\0--serve\0--port\0" "8080";
	const char *name;

	memset(c->tmpl, 0, sizeof(c->tmpl));
	x->category = KS_CAT_PROCESS;
	x->action = KS_ACT_EXEC;
	x->source = KS_SRC_EXEC;
	x->present = KS_P_PROCESS | KS_P_PARENT | KS_P_USER;
	set_str(x, KS_F_PROCESS_EXECUTABLE, x->exe, "/opt/benchapp/bin/tool");
	name = strrchr(x->exe, '/') + 1;
	x->str[KS_F_PROCESS_NAME].off = (uint16_t)(name - (char *)x);
	x->str[KS_F_PROCESS_NAME].len = strlen(name);
	set_str(x, KS_F_PARENT_EXECUTABLE, x->pexe, "/usr/bin/bash");
	memcpy(x->args, args, sizeof(args));
	x->str[KS_F_PROCESS_ARGS].off = offsetof(struct ks_event, args);
	x->str[KS_F_PROCESS_ARGS].len = sizeof(args);
	x->args_count = 4;
	x->ppid = 1;
	x->uid = 1000;
	x->gid = 1000;

	*o = *x;
	o->category = KS_CAT_FILE;
	o->action = KS_ACT_OPEN;
	o->source = KS_SRC_FILE;
	o->present |= KS_P_FILE;
	set_str(o, KS_F_FILE_PATH, o->path, "/var/tmp/benchapp/state.json");
	name = strrchr(o->path, '/') + 1;
	o->str[KS_F_FILE_NAME].off = (uint16_t)(name - (char *)o);
	o->str[KS_F_FILE_NAME].len = strlen(name);
	o->str[KS_F_FILE_EXTENSION].off = (uint16_t)(strrchr(o->path, '.') + 1 - (char *)o);
	o->str[KS_F_FILE_EXTENSION].len = 4;
}

/* The oldest event built and not processed yet, processed. */
static void process_oldest(struct ctx *c)
{
	c->alerts += ks_pipeline_event(c->p, &c->ev[c->head]);
	c->head = (c->head + 1) % (KS_PIPELINE_AHEAD + 1);
	c->n--;
}

/* The events built, if any, processed: the end of a phase's stream. */
static void flush(struct ctx *c)
{
	while (c->n)
		process_oldest(c);
}

/*
 * One forwarded event: step k (0 or 1) of entity e's rule. A stream, as
 * kload's consumer sees one: the event is built (copied as the ring
 * buffer's callback copies it), its slots prefetched, and the one
 * KS_PIPELINE_AHEAD before it processed meanwhile.
 */
static void feed(struct ctx *c, uint32_t e, int k)
{
	struct ks_event *ev = &c->ev[(c->head + c->n) % (KS_PIPELINE_AHEAD + 1)];
	const struct ks_rule *r = &c->t->rules[e % c->n_rules];

	memcpy(ev, &c->tmpl[k], sizeof(*ev));
	ev->pid = 100000 + e;
	ev->start_ns = 1000000ull * e + 1;
	ev->entity = KS_ENTITY_KEY(ev->pid, ev->start_ns);
	ev->parent_entity = KS_ENTITY_KEY(1, 1);
	ev->ts_ns = c->ts += 1000;	/* 1 us apart: nothing expires */
	ev->verdict.generation = c->t->hdr.generation;
	ev->verdict.flags = KS_V_FORWARD;
	ev->verdict.n_match = 1;
	ev->verdict.match[0].step = r->first_step + k;
	ev->verdict.match[0].flags = KS_M_EXACT;
	ks_pipeline_prefetch(c->p, ev);
	if (++c->n > KS_PIPELINE_AHEAD)
		process_oldest(c);
}

struct phase {
	const char *key, *figure, *note;
	double cpu_ns, wall_ns;
	unsigned long events, alerts;
};

static void emit_phase(const struct phase *ph, const char *cmd, bool head, long rss_kb,
		       uint64_t pending)
{
	struct kb_result r = {
		.name = kb_fmt("nfa.%s.events_per_s", ph->key),
		.figure = ph->figure,
		.unit = "events/s/core",
		.value = ph->events / (ph->cpu_ns / 1e9), .has_value = ph->cpu_ns > 0,
		.command = cmd,
		.headline = head,
		.target = head ? ">= 2000000" : NULL,
		.note = ph->note,
		.xk = { "wall_events_per_s", "alerts", "events", "pending_after", "rss_kb" },
		.xv = { ph->events / (ph->wall_ns / 1e9), ph->alerts, ph->events, pending,
			rss_kb },
	};

	kb_emit(&r);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rules", 1, 0, 'r' }, { "entities", 1, 0, 'e' }, { "events", 1, 0, 'n' },
		{ "seed", 1, 0, 's' }, { "phase", 1, 0, 'p' }, { "help", 0, 0, 'h' }, { 0 },
	};
	unsigned long n_rules = 1000, n_ent = 100000, n_events = 400000;
	uint64_t seed = 11;
	struct ks_pipeline_opts po = {};
	struct ks_pipeline_stats ps;
	struct ks_compile_info info;
	struct ks_ruleset *rs = NULL;
	struct ks_ecs_ctx ecs;
	struct ctx c = {};
	struct phase ph[4] = {
		{ "fill", "NFA: first steps creating 100,000 pending sequences" },
		{ "mixed", "NFA: forwarded events/s per core, 1,000 sequence rules, 100,000 live "
			   "entities (10 % complete with an alert)" },
		{ "restart", "NFA: first steps overwriting pending sequences (no alerts)" },
		{ "alerts", "NFA: alternating first/second steps (an alert every 2 events)" },
	};
	const char *cmd, *wide_err = NULL, *only = NULL;
	struct ks_tables *t;
	struct kb_rng rng;
	uint8_t *pending;
	long rss0, rss1;
	char err[512];
	int o, i;
	unsigned long k;

	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'r':
			n_rules = strtoul(optarg, NULL, 10);
			break;
		case 'e':
			n_ent = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n_events = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			only = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [--rules N] [--entities N] [--events N] [--seed S] "
				"[--phase mixed|restart|alerts]\n", argv[0]);
			return o == 'h' ? 0 : 2;
		}
	}
	if (!n_rules || !n_ent || !n_events)
		return 2;
	cmd = kb_cmd("build/bench/bench_nfa", "--rules %lu --entities %lu --events %lu", n_rules,
		     n_ent, n_events);
	rss0 = kb_rss_kb(getpid());
	{
		char *yaml = kb_gen_seq_rules(n_rules, seed, false);

		t = kb_compile(yaml, &rs, &info, err, sizeof(err));
		free(yaml);
		if (!t) {
			/* random 6-10 character words: more DFA states than the tables hold */
			wide_err = kb_fmt("%s", err);
			fprintf(stderr, "bench_nfa: %lu wide sequence rules: %s; using compact "
				"words\n", n_rules, err);
			yaml = kb_gen_seq_rules(n_rules, seed, true);
			t = kb_compile(yaml, &rs, &info, err, sizeof(err));
			free(yaml);
		}
	}
	if (!t) {
		for (i = 0; i < 4; i++) {
			struct kb_result r = {
				.name = kb_fmt("nfa.%s.events_per_s", ph[i].key),
				.figure = ph[i].figure, .unit = "events/s/core", .command = cmd,
				.reason = kb_fmt("compiler: %s", err), .headline = i == 1,
				.target = i == 1 ? ">= 2000000" : NULL,
			};
			kb_emit(&r);
		}
		return 0;
	}
	ks_compile_info_free(&info);
	t->hdr.generation = 1;
	ks_ecs_init(&ecs, "bench-host");
	po.alerts = ks_output_open("/dev/null");
	po.max_entries = n_ent;
	c.p = ks_pipeline_new(&po, &ecs);
	if (!c.p || ks_pipeline_set_rules(c.p, rs, t)) {
		fprintf(stderr, "bench_nfa: cannot set up the pipeline\n");
		return 1;
	}
	c.t = t;
	c.n_rules = t->hdr.n_rules;
	c.ts = 1767323045000000000ull;
	templates(&c);
	pending = calloc(n_ent, 1);
	kb_rng_seed(&rng, seed);

	for (i = 0; i < 4; i++) {
		double c0 = thread_cpu_ns();
		uint64_t w0 = kb_now_ns();
		unsigned long a0 = c.alerts;

		if (i && only && strcmp(only, ph[i].key))
			continue;	/* a profile of fill and one phase */
		switch (i) {
		case 0:
			for (k = 0; k < n_ent; k++) {
				feed(&c, k, 0);
				pending[k] = 1;
			}
			ph[i].events = n_ent;
			break;
		case 1:
			for (k = 0; k < n_events; k++) {
				uint32_t e = kb_rng_next(&rng) % n_ent;

				if (pending[e] && kb_rng_next(&rng) % 10 == 0) {
					feed(&c, e, 1);
					pending[e] = 0;
				} else {
					feed(&c, e, 0);
					pending[e] = 1;
				}
			}
			ph[i].events = n_events;
			break;
		case 2:
			for (k = 0; k < n_events; k++) {
				uint32_t e = kb_rng_next(&rng) % n_ent;

				feed(&c, e, 0);
				pending[e] = 1;
			}
			ph[i].events = n_events;
			break;
		default:
			/* a quarter as many: every alert costs tens of microseconds */
			for (k = 0; k < n_events / 8; k++) {
				uint32_t e = kb_rng_next(&rng) % n_ent;

				feed(&c, e, 0);
				feed(&c, e, 1);
				pending[e] = 0;
			}
			ph[i].events = n_events / 8 * 2;
			break;
		}
		flush(&c);
		ph[i].cpu_ns = thread_cpu_ns() - c0;
		ph[i].wall_ns = kb_now_ns() - w0;
		ph[i].alerts = c.alerts - a0;
		ks_pipeline_stats(c.p, &ps);
		rss1 = kb_rss_kb(getpid());
		fprintf(stderr, "bench_nfa: %-8s %8lu events %7lu alerts  %.0f events/s (cpu), "
			"%.0f (wall), pending %llu, evictions %llu + %llu (memory), RSS %ld kB\n", ph[i].key,
			ph[i].events, ph[i].alerts, ph[i].events / (ph[i].cpu_ns / 1e9),
			ph[i].events / (ph[i].wall_ns / 1e9), (unsigned long long)ps.pending,
			(unsigned long long)ps.evictions, (unsigned long long)ps.evict_memory, rss1);
		if (wide_err)
			ph[i].note = kb_fmt("rules with 4-6 letter words; with 6-10 character words "
					    "1,000 rules do not compile: %s", wide_err);
		emit_phase(&ph[i], cmd, i == 1, rss1, ps.pending);
		if (i == 0) {
			struct kb_result r = {
				.name = "nfa.rss_kb.100k_pending",
				.figure = "NFA process RSS with 1,000 rules and 100,000 pending sequences",
				.unit = "KiB", .value = rss1, .has_value = rss1 > 0, .command = cmd,
				.xk = { "rss_before_rules_kb", "pending" },
				.xv = { rss0, ps.pending },
			};
			kb_emit(&r);
		}
	}
	ks_pipeline_free(c.p);
	ks_ecs_free(&ecs);
	free(t);
	free(pending);
	ks_output_close(po.alerts);
	return 0;
}
