// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_replay: events per second through replay, the production path
 * (Event JSONL -> struct ks_event -> ks_replay by BPF_PROG_TEST_RUN in
 * batches of KS_REPLAY_BATCH -> ring buffer -> pipeline -> alerts).
 *
 *   cli  `kload replay --lenient --events FILE RULES > /dev/null`, wall
 *        time of the whole command; the net rate subtracts a run over a
 *        one-event file (start-up: rule compile, BPF load, table install),
 *        the two kinds of run alternating, the median of each taken
 *   lib  ks_replay_run() in this process, timed around the call only
 *        (the rules are compiled before), net of the same one-event run
 *
 * Input: N generated events, half process/exec and half file/open, 1 %
 * of them executables that an exact-path rule of the 1,000-rule host set
 * matches (so forwarding and alert writing are exercised too).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "kestrel/log.h"
#include "kestrel/replay.h"

static int gen_events(const char *path, unsigned long n, const char *exes, uint64_t seed)
{
	static const char *const dirs[] = { "/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu",
					    "/etc", "/home/alice/src", "/var/log" };
	const char *list[512];
	size_t n_list = 0;
	char *copy = strdup(exes ? exes : ""), *s, *save = NULL;
	struct kb_rng r;
	unsigned long i;
	FILE *f = fopen(path, "w");

	if (!f || !copy)
		return -errno;
	for (s = strtok_r(copy, "\n", &save); s && n_list < 512; s = strtok_r(NULL, "\n", &save))
		list[n_list++] = s;
	kb_rng_seed(&r, seed);
	for (i = 0; i < n; i++) {
		unsigned int pid = 2000 + i % 30000, ns = i % 1000000000;
		const char *d = dirs[kb_rng_next(&r) % 6];
		unsigned int k = kb_rng_next(&r) % 100000;

		fprintf(f, "{\"@timestamp\":\"2026-01-02T03:%02lu:%02lu.%09uZ\",", (i / 60000) % 60,
			(i / 1000) % 60, ns);
		if (i & 1) {
			fprintf(f, "\"event\":{\"category\":\"file\",\"action\":\"open\"},"
				"\"file\":{\"path\":\"%s/file%u.conf\"},", d, k);
		} else if (n_list && kb_rng_next(&r) % 50 == 0) {
			fprintf(f, "\"event\":{\"category\":\"process\",\"action\":\"exec\"},"
				"\"process\":{\"pid\":%u,\"entity_id\":\"%u-%lu\",\"executable\":\"%s\","
				"\"args\":[\"x\",\"--run\"],\"parent\":{\"pid\":1,\"name\":\"bash\","
				"\"executable\":\"/bin/bash\",\"entity_id\":\"1-1\"}},"
				"\"user\":{\"id\":0},\"host\":{\"name\":\"h1\"}}\n",
				pid, pid, 1767323045ul + i, list[kb_rng_next(&r) % n_list]);
			continue;
		} else {
			fprintf(f, "\"event\":{\"category\":\"process\",\"action\":\"exec\"},");
		}
		fprintf(f, "\"process\":{\"pid\":%u,\"entity_id\":\"%u-%lu\",\"executable\":"
			"\"%s/tool%u\",\"args\":[\"tool%u\",\"-v\",\"--config\",\"/etc/tool.conf\"],"
			"\"parent\":{\"pid\":1,\"name\":\"bash\",\"executable\":\"/bin/bash\","
			"\"entity_id\":\"1-1\"}},\"user\":{\"id\":1000},\"host\":{\"name\":\"h1\"}}\n",
			pid, pid, 1767323045ul + i, d, k, k);
	}
	free(copy);
	return fclose(f) ? -errno : 0;
}

/* CPU seconds (user + system) of the waited-for children so far. */
static double children_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Wall seconds of one kload replay; *cpu its CPU seconds. */
static double run_cli(const char *kload, const char *events, const char *rules, int *status,
		      double *cpu)
{
	char cmd[2048];
	uint64_t t0;
	double c0 = children_cpu();
	int st;

	snprintf(cmd, sizeof(cmd), "%s replay --lenient --events %s %s >/dev/null 2>/tmp/kb-replay.err",
		 kload, events, rules);
	t0 = kb_now_ns();
	st = system(cmd);
	t0 = kb_now_ns() - t0;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	*cpu = children_cpu() - c0;
	return t0 / 1e9;
}

static double run_lib(const char *yaml, const char *events, struct ks_replay_result *res,
		      int *err)
{
	struct ks_compile_info info;
	struct ks_replay_opts o = { .events = events, .mode = -1 };
	struct ks_ruleset *rs = NULL;
	struct ks_tables *t;
	char cerr[512];
	uint64_t t0;

	t = kb_compile(yaml, &rs, &info, cerr, sizeof(cerr));
	ks_compile_info_free(&info);
	if (!t) {
		*err = -EINVAL;
		return NAN;
	}
	o.alerts = ks_output_open("/dev/null");
	o.errout = fopen("/dev/null", "w");
	t0 = kb_now_ns();
	*err = ks_replay_run(rs, t, &o, res);
	t0 = kb_now_ns() - t0;
	ks_output_close(o.alerts);
	fclose(o.errout);
	return t0 / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "events", 1, 0, 'n' }, { "rules", 1, 0, 'r' }, { "kload", 1, 0, 'k' },
		{ "dir", 1, 0, 'd' }, { "reps", 1, 0, 'R' }, { "help", 0, 0, 'h' }, { 0 },
	};
	unsigned long n = 200000, n_rules = 1000;
	const char *kload = "build/kload", *dir = "/tmp";
	int reps = 3, o, i, st, err;
	char rules[512], events[512], one[512];
	struct kb_buf exes = {};
	char *yaml;
	double cli[8], lib[8], cli0s[8], lib0s[8], cpus[8], cpu0s[8];
	struct ks_replay_result res = {}, res0;
	const char *why_cli = NULL, *why_lib = NULL, *cmd;

	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			n_rules = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			kload = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'R':
			reps = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [--events N] [--rules N] [--reps N] [--kload PATH] "
				"[--dir DIR]\n", argv[0]);
			return o == 'h' ? 0 : 2;
		}
	}
	if (reps < 1)
		reps = 1;
	if (reps > 8)
		reps = 8;
	ks_log_setup_libbpf();
	cmd = kb_cmd("build/bench/bench_replay", "--events %lu --rules %lu", n, n_rules);
	yaml = kb_gen_host_rules_ex(n_rules, 7, &exes);
	snprintf(rules, sizeof(rules), "%s/replay-rules-%lu.yml", dir, n_rules);
	snprintf(events, sizeof(events), "%s/replay-events-%lu.jsonl", dir, n);
	snprintf(one, sizeof(one), "%s/replay-events-1.jsonl", dir);
	if (kb_write_file(rules, yaml) || gen_events(events, n, exes.s, 3) ||
	    gen_events(one, 1, NULL, 3)) {
		fprintf(stderr, "bench_replay: cannot write the inputs under %s\n", dir);
		why_cli = why_lib = "cannot write the input files";
	}

	/* kload replay, whole command */
	if (!why_cli && access(kload, X_OK))
		why_cli = kb_fmt("%s not built", kload);
	/*
	 * Start-up runs alternate with the N-event runs and both take the
	 * median: a single one-event run made first (cold page cache, the
	 * machine's load of that moment) moved the net rate by tens of per
	 * cent, as its error is all in the difference.
	 */
	for (i = 0; i < reps && !why_cli; i++) {
		cli0s[i] = run_cli(kload, one, rules, &st, &cpu0s[i]);
		cli[i] = run_cli(kload, events, rules, &st, &cpus[i]);
		if (st)
			why_cli = kb_fmt("kload replay exited %d (see /tmp/kb-replay.err)", st);
	}
	/* ks_replay_run in process */
	for (i = 0; i < reps && !why_lib; i++) {
		lib0s[i] = run_lib(yaml, one, &res0, &err);
		lib[i] = run_lib(yaml, events, &res, &err);
		if (err)
			why_lib = kb_fmt("ks_replay_run: %s", strerror(-err));
	}
	{
		double c = why_cli ? NAN : kb_median(cli, reps);
		double l = why_lib ? NAN : kb_median(lib, reps);
		double cli0 = why_cli ? NAN : kb_median(cli0s, reps);
		double lib0 = why_lib ? NAN : kb_median(lib0s, reps);
		struct kb_result a = {
			.name = "replay.cli.events_per_s",
			.figure = kb_fmt("kload replay, 1,000 rules, %lu events (net of start-up)", n),
			.unit = "events/s", .target = ">= 1000000", .headline = true,
			.command = kb_fmt("%s replay --lenient --events %s %s >/dev/null", kload,
					  events, rules),
			.note = "N / (median t(N events) - median t(1 event)), the two alternating; "
				"extra: end to end N / t",
		};
		struct kb_result b = {
			.name = "replay.lib.events_per_s",
			.figure = kb_fmt("ks_replay_run() in process, 1,000 rules, %lu events (net of "
					 "start-up)", n),
			.unit = "events/s", .command = cmd,
			.note = "N / (median t(N) - median t(1)), alternating, rules compiled before "
				"the timed call",
		};

		if (why_cli) {
			a.reason = why_cli;
		} else {
			a.value = n / (c - cli0);
			a.has_value = c > cli0;
			a.xk[0] = "end_to_end_events_per_s";
			a.xv[0] = n / c;
			a.xk[1] = "startup_s";
			a.xv[1] = cli0;
			/* the machine is shared: CPU time does not count waiting for a core */
			a.xk[2] = "cpu_events_per_s";
			a.xv[2] = n / (kb_median(cpus, reps) - kb_median(cpu0s, reps));
		}
		if (why_lib) {
			b.reason = why_lib;
		} else {
			b.value = n / (l - lib0);
			b.has_value = l > lib0;
			b.xk[0] = "end_to_end_events_per_s";
			b.xv[0] = n / l;
			b.xk[1] = "forwarded";
			b.xv[1] = res.forwarded;
			b.xk[2] = "alerts";
			b.xv[2] = res.alerts;
			b.xk[3] = "test_runs";
			b.xv[3] = res.test_runs;
		}
		fprintf(stderr, "bench_replay: cli %.3f s (start-up %.3f s), lib %.3f s (start-up "
			"%.3f s): %llu events, %llu forwarded, %llu alerts, %llu test runs\n", c,
			why_cli ? NAN : cli0, l, why_lib ? NAN : lib0,
			(unsigned long long)res.events, (unsigned long long)res.forwarded,
			(unsigned long long)res.alerts, (unsigned long long)res.test_runs);
		kb_emit(&a);
		kb_emit(&b);
	}
	free(yaml);
	kb_buf_free(&exes);
	return 0;
}
