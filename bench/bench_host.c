// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_host: what the host hooks cost.
 *
 * 1. Kernel ns per event, from the evaluator's own per-CPU histogram
 *    (ks_stats.eval_ns_hist, the source of kestrel_kernel_eval_seconds), with
 *    10/100/1,000 generated rules that match nothing the loops do. The
 *    engine is loaded in signal mode and only the program under test is
 *    attached (ks_sig_exec for an exec loop; for an open loop the
 *    kprobe ks_ksig_open, or on a kernel without kprobes ks_tsig_open on
 *    sys_exit_openat), so the histogram holds that event type only (from
 *    every process on the host while it runs). The open loop's path can
 *    match no rule, so its events stop before evaluation
 *    (ks_early_filtered) and its figure is the program's whole run time.
 *    Beside each, the evaluator alone and warm: ks_replay run on one
 *    synthetic event of the same kind (its run time, BPF_ENABLE_STATS). The median and the 99th
 *    percentile are interpolated inside their buckets (a quarter of an
 *    octave wide, maps/ks_state.h). Beside it, the whole program's ns per run from the
 *    kernel's BPF run-time statistics (BPF_ENABLE_STATS): event build
 *    (d_path, args, task fields) plus evaluation.
 *
 * 2. Syscall overhead: an open/close loop and a fork/exec loop timed
 *    without anything attached and under `kload attach` (1,000 rules), in
 *    alternating rounds of one run; the slowdown is the median of the
 *    per-round ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_common.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel/replay.h"
#include "kestrel/stats.h"
#include "kestrel.skel.h"

#define PIN_DIR "/sys/fs/bpf/kestrel-bench"

struct opts {
	unsigned long rules[4];
	size_t n_rules;
	int execs, opens;	/* loop sizes for the histogram part */
	int ovh_opens, ovh_execs;	/* loop sizes for the overhead part */
	int rounds;
	const char *kload;
	const char *rules_dir;
	const char *prog;
	bool do_hist, do_ovh;
};

static const char *exec_target = "/bin/true";
static const char *open_target = "/etc/hostname";

/*
 * ---- the loops ----
 * Each returns wall ns per iteration and sets *cpu to CPU ns per iteration:
 * user + system time of this process and of its waited-for children, which
 * includes the BPF programs run on their behalf but not the time other
 * processes on these two shared cores take from us. The CPU figure is the
 * one the slowdown is judged on; wall time goes along as "extra".
 */
static double cpu_now_ns(void)
{
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) * 1e9 +
	       (a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec + b.ru_stime.tv_usec) * 1e3;
}

static double loop_exec(int n, double *cpu)
{
	char *const argv[] = { (char *)exec_target, NULL };
	char *const envp[] = { NULL };
	double c0 = cpu_now_ns();
	uint64_t t0 = kb_now_ns();
	int i, st;

	for (i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0) {
			execve(exec_target, argv, envp);
			_exit(127);
		}
		if (p < 0)
			return NAN;
		waitpid(p, &st, 0);
	}
	if (cpu)
		*cpu = (cpu_now_ns() - c0) / n;
	return (double)(kb_now_ns() - t0) / n;
}

static double loop_open(int n, double *cpu)
{
	struct timespec a, b;
	uint64_t t0 = kb_now_ns();
	int i, fd;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	for (i = 0; i < n; i++) {
		fd = open(open_target, O_RDONLY);
		if (fd < 0)
			return NAN;
		close(fd);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	if (cpu)
		*cpu = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
	return (double)(kb_now_ns() - t0) / n;
}

/* ---- histogram ---- */

/* Events in the histogram, and quantile q of it (ks_hist_quantile, loader/stats.c). */
static double hist_quantile(const __u64 *h, double q, __u64 *total)
{
	__u64 n = 0;
	int b;

	for (b = 0; b < KS_HIST_BUCKETS; b++)
		n += h[b];
	*total = n;
	return ks_hist_quantile(h, q);
}

static int prog_runtime(int fd, __u64 *ns, __u64 *cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
	return 0;
}

struct hist_run {
	double median, p99, mean, prog_ns, dfa_bytes;
	__u64 events;
	const char *why, *prog;	/* why not measured; the program measured */
	bool early;		/* no event evaluated: all filtered early */
};

/*
 * The signal-mode program of a hook, by its section (program names are
 * still moving): tp_btf/sched_process_exec, kprobe/security_file_open.
 */
static struct bpf_program *find_prog(struct ks_engine *e, const char *sec, const char **name)
{
	struct bpf_program *p;

	/*
	 * The skeleton names the program; the engine loaded it in an object
	 * of its own (one per host program, loader/engine_load.c).
	 */
	bpf_object__for_each_program(p, e->skel->obj) {
		if (strcmp(bpf_program__section_name(p), sec))
			continue;
		*name = bpf_program__name(p);
		return ks_engine_prog(e, *name) ?: p;
	}
	return NULL;
}

/*
 * The open hook: the kprobe where the kernel has kprobes, else the syscall
 * tracepoint program the engine loads in its place (bpf/hook_sys.bpf.c),
 * attached to sys_exit_openat alone (what open(2) is in glibc).
 */
static struct bpf_link *attach_open(struct ks_engine *e, struct bpf_program **p,
				    const char **name)
{
	struct bpf_program *tp = ks_engine_prog(e, "ks_tsig_open");

	if (*p && bpf_program__fd(*p) >= 0)
		return bpf_program__attach(*p);
	if (!tp || bpf_program__fd(tp) < 0)
		return NULL;
	*p = tp;
	*name = "ks_tsig_open (tracepoint/syscalls/sys_exit_openat)";
	return bpf_program__attach_tracepoint(tp, "syscalls", "sys_exit_openat");
}

static void hist_measure(struct ks_engine *e, const char *sec, bool exec, int n,
			 struct hist_run *out)
{
	const char *prog_name = sec;
	struct bpf_program *p = find_prog(e, sec, &prog_name);
	struct ks_stats a, b;
	__u64 h[KS_HIST_BUCKETS], rt0 = 0, rc0 = 0, rt1 = 0, rc1 = 0, tot;
	struct bpf_link *l;
	int i;

	memset(out, 0, sizeof(*out));
	out->median = out->p99 = out->mean = out->prog_ns = NAN;
	out->prog = prog_name;
	if (exec && !p) {
		out->why = kb_fmt("hook not present (no %s program in this build)", sec);
		return;
	}
	if (exec && bpf_program__fd(p) < 0) {
		out->why = kb_fmt("%s (%s) is not loaded by the engine in signal mode",
				  prog_name, sec);
		return;
	}
	l = exec ? bpf_program__attach(p) : attach_open(e, &p, &prog_name);
	out->prog = prog_name;
	if (!l) {
		out->why = kb_fmt("cannot attach %s: %s", prog_name, strerror(errno));
		return;
	}
	/* warm up, then measure */
	if (exec)
		loop_exec(20, NULL);
	else
		loop_open(2000, NULL);
	ks_stats_sum(e->stats_fd, &a);
	prog_runtime(bpf_program__fd(p), &rt0, &rc0);
	if (exec)
		loop_exec(n, NULL);
	else
		loop_open(n, NULL);
	prog_runtime(bpf_program__fd(p), &rt1, &rc1);
	ks_stats_sum(e->stats_fd, &b);
	bpf_link__destroy(l);

	for (i = 0; i < KS_HIST_BUCKETS; i++)
		h[i] = b.eval_ns_hist[i] - a.eval_ns_hist[i];
	out->median = hist_quantile(h, 0.5, &tot);
	out->p99 = ks_hist_quantile(h, 0.99);
	out->events = tot;
	out->mean = tot ? (double)(b.eval_ns_sum - a.eval_ns_sum) / tot : NAN;
	out->dfa_bytes = tot ? (double)(b.dfa_bytes - a.dfa_bytes) / tot : NAN;
	if (rc1 > rc0)
		out->prog_ns = (double)(rt1 - rt0) / (rc1 - rc0);
	/* every event filtered before evaluation (ks_early_filtered): the
	 * program's own run time is the event's whole cost */
	out->early = !tot && rc1 > rc0;
	if (!tot && !out->early)
		out->why = kb_fmt("%s ran but evaluated no event", prog_name);
}

/*
 * The same evaluator on a synthetic event through ks_replay
 * (BPF_PROG_TEST_RUN, one event per run, 2,000 runs back to back): the
 * evaluation with warm caches and without the hook's event capture.
 */
static void set_str(struct ks_event *ev, int f, char *slot, const char *s, size_t n)
{
	memcpy(slot, s, n);
	ev->str[f].off = (uint16_t)(slot - (char *)ev);
	ev->str[f].len = n;
}

static void synth_event(struct ks_event *ev, bool exec)
{
	static const char exe[] = "/usr/bin/true", pexe[] = "/work/main/build/bench/bench_host";

	memset(ev, 0, sizeof(*ev));
	ev->category = exec ? KS_CAT_PROCESS : KS_CAT_FILE;
	ev->action = exec ? KS_ACT_EXEC : KS_ACT_OPEN;
	ev->present = KS_P_PROCESS | KS_P_PARENT | KS_P_USER | (exec ? 0 : KS_P_FILE);
	ev->pid = 4242;
	ev->ppid = 4241;
	set_str(ev, KS_F_PROCESS_EXECUTABLE, ev->exe, exe, sizeof(exe) - 1);
	ev->str[KS_F_PROCESS_NAME].off = ev->str[KS_F_PROCESS_EXECUTABLE].off + 9;
	ev->str[KS_F_PROCESS_NAME].len = 4;
	set_str(ev, KS_F_PARENT_EXECUTABLE, ev->pexe, pexe, sizeof(pexe) - 1);
	ev->str[KS_F_PARENT_NAME].off = ev->str[KS_F_PARENT_EXECUTABLE].off + 23;
	ev->str[KS_F_PARENT_NAME].len = 10;
	set_str(ev, KS_F_PROCESS_ARGS, ev->args, "/bin/true", 10);
	ev->args_count = 1;
	if (!exec) {
		static const char path[] = "/etc/hostname";

		set_str(ev, KS_F_FILE_PATH, ev->path, path, sizeof(path) - 1);
		ev->str[KS_F_FILE_NAME].off = ev->str[KS_F_FILE_PATH].off + 5;
		ev->str[KS_F_FILE_NAME].len = 8;
	}
}

/*
 * ks_replay skips the evaluation-time histogram (replayed time is not the
 * host's) and, as a syscall program, takes no test-run repeat: the warm
 * figure is its mean run time from BPF_ENABLE_STATS over 2,000 runs of
 * one packed event (unpacking included).
 */
static double warm_eval(struct ks_engine *r, bool exec)
{
	struct ks_replay_ctx *c = calloc(1, sizeof(*c));
	struct ks_event *ev = calloc(1, sizeof(*ev));
	int fd = bpf_program__fd(r->skel->progs.ks_replay), i;
	__u64 rt0 = 0, rc0 = 0, rt1 = 0, rc1 = 0;
	double mean = NAN;

	if (!c || !ev)
		goto out;
	synth_event(ev, exec);
	ks_replay_pack(c, ev, 1);
	prog_runtime(fd, &rt0, &rc0);
	for (i = 0; i < 2000; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = c, .ctx_size_in = ks_replay_ctx_size(c));

		if (bpf_prog_test_run_opts(fd, &o))
			goto out;
	}
	prog_runtime(fd, &rt1, &rc1);
	if (rc1 > rc0)
		mean = (double)(rt1 - rt0) / (rc1 - rc0);
out:
	free(ev);
	free(c);
	return mean;
}

static void part_hist(const struct opts *op)
{
	struct ks_engine_opts ro = { .replay = true, .mode = KS_MODE_SIGNAL, .judge_self = true };
	struct ks_engine re;
	int rerr;
	/* every event timed: the histogram is the figure (kload's default times one in 16) */
	struct ks_engine_opts eo = { .mode = KS_MODE_SIGNAL, .judge_self = true, .time_every = 1 };
	struct ks_engine e;
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	size_t i;
	int err, k;

	ks_engine_init(&e);
	err = ks_engine_load(&e, &eo);
	ks_engine_init(&re);
	rerr = ks_engine_load(&re, &ro);
	for (i = 0; i < op->n_rules; i++) {
		unsigned long n = op->rules[i];
		char *yaml = kb_gen_host_rules(n, 7);
		struct ks_compile_info info;
		char cerr[512];
		struct ks_tables *t = kb_compile(yaml, NULL, &info, cerr, sizeof(cerr));
		const char *why = NULL;

		if (err)
			why = kb_fmt("cannot load the BPF engine: %s", strerror(-err));
		else if (!t)
			why = kb_fmt("compiler: %s", cerr);
		else if ((k = ks_engine_install(&e, t)))
			why = kb_fmt("ks_engine_install: %s", strerror(-k));
		for (k = 0; k < 2; k++) {
			bool exec = k == 0;
			struct hist_run hr = { .why = why };
			struct kb_result r = {
				.name = kb_fmt("host.kernel_ns.%s.r%lu", exec ? "exec" : "open", n),
				.figure = kb_fmt("kernel time per %s event, %lu rules (median)",
						 exec ? "exec" : "open", n),
				.unit = "ns",
				.command = kb_cmd(op->prog, "--part hist --rules %lu", n),
				.note = "median of ks_stats.eval_ns_hist (4 buckets per octave, "
					"interpolated); extra: p99 from the same histogram, mean "
					"from eval_ns_sum, whole program ns/run from BPF_ENABLE_STATS",
			};

			if (!why)
				hist_measure(&e, exec ? "tp_btf/sched_process_exec" :
					     "kprobe/security_file_open", exec,
					     exec ? op->execs : op->opens, &hr);
			if (hr.prog)
				r.figure = kb_fmt("kernel time per %s event, %lu rules, %s (%s)",
						  exec ? "exec" : "open", n, hr.prog,
						  hr.early ? "whole program, mean" : "median");
			if (n == 1000) {
				r.target = exec ? "<= 400" : "<= 500";	/* exec: issue 11, item 4 */
				r.headline = true;
			}
			if (hr.early) {
				r.value = hr.prog_ns;
				r.has_value = true;
				r.note = "every event was filtered before evaluation "
					 "(ks_early_filtered: no rule can match its path), so "
					 "ks_stats.eval_ns_hist is empty: the value is the whole "
					 "program's mean ns/run from BPF_ENABLE_STATS";
				r.xk[0] = "events";
				r.xv[0] = 0;
			} else if (hr.why || !isfinite(hr.median)) {
				r.reason = hr.why ? hr.why : "no events";
			} else {
				r.value = hr.median;
				r.has_value = true;
				r.xk[0] = "mean_eval_ns";
				r.xv[0] = hr.mean;
				r.xk[1] = "prog_ns_per_run";
				r.xv[1] = hr.prog_ns;
				r.xk[2] = "events";
				r.xv[2] = hr.events;
				r.xk[3] = "dfa_bytes_per_event";
				r.xv[3] = hr.dfa_bytes;
				r.xk[4] = "p99_eval_ns";
				r.xv[4] = hr.p99;
			}
			if (!rerr && t && !ks_engine_install(&re, t)) {
				double mean = warm_eval(&re, exec);
				struct kb_result w = {
					.name = kb_fmt("host.kernel_ns_warm.%s.r%lu",
						       exec ? "exec" : "open", n),
					.figure = kb_fmt("evaluator alone, warm: synthetic %s event "
							 "through ks_replay, %lu rules (mean)",
							 exec ? "exec" : "open", n),
					.unit = "ns", .value = mean, .has_value = isfinite(mean),
					.reason = "test run failed",
					.command = kb_cmd(op->prog, "--part hist --rules %lu", n),
					.baseline = r.name,
					.note = "ks_replay run 2000 times on one packed event "
						"(BPF_PROG_TEST_RUN): its mean run time from "
						"BPF_ENABLE_STATS, unpacking included; no hook "
						"capture, tables in cache",
				};

				if (isfinite(mean) && isfinite(hr.mean)) {
					w.ratio = mean / hr.mean;
					w.has_ratio = true;
				}
				kb_emit(&w);
				fprintf(stderr, "bench_host: %4lu rules %-4s warm evaluator (ks_replay) "
					"mean %.0f ns\n", n, exec ? "exec" : "open", mean);
			}
			fprintf(stderr, "bench_host: %4lu rules %-4s %s: median %.0f ns, p99 %.0f ns, "
				"mean %.0f ns, program %.0f ns/run, %llu events%s%s\n", n,
				exec ? "exec" : "open", hr.prog ? hr.prog : "-", hr.median, hr.p99, hr.mean, hr.prog_ns,
				(unsigned long long)hr.events,
				hr.why ? ": " : "", hr.why ? hr.why : "");
			kb_emit(&r);
		}
		free(t);
		free(yaml);
	}
	if (!err)
		ks_engine_destroy(&e);
	if (!rerr)
		ks_engine_destroy(&re);
	if (stats_fd >= 0)
		close(stats_fd);
}

/* ---- overhead under kload attach ---- */

struct ovh {
	double wall[2], cpu[2];	/* [0] without, [1] with: per iteration */
};

static void ovh_run(const struct opts *op, struct ovh *o, int with)
{
	double c, w;

	w = loop_open(op->ovh_opens / 2, &c);
	o[0].wall[with] += w / 2;
	o[0].cpu[with] += c / 2;
	w = loop_exec(op->ovh_execs / 2, &c);
	o[1].wall[with] += w / 2;
	o[1].cpu[with] += c / 2;
}

static void part_overhead(const struct opts *op)
{
	char rules[512];
	char *yaml = kb_gen_host_rules(1000, 7);
	double rc[2][32], rw[2][32], cw[2][2][32], ww[2][2][32];
	const char *why = NULL;
	int r, i, n = op->rounds < 32 ? op->rounds : 32, done = 0;

	snprintf(rules, sizeof(rules), "%s/host-1000.yml", op->rules_dir);
	if (kb_write_file(rules, yaml))
		why = kb_fmt("cannot write %s", rules);
	else if (access(op->kload, X_OK))
		why = kb_fmt("%s not built", op->kload);
	free(yaml);
	/* warm the page cache and the loops */
	loop_open(5000, NULL);
	loop_exec(20, NULL);
	for (r = 0; r < n && !why; r++) {
		struct ovh o[2] = {};
		struct kb_kload k;

		/* ABBA inside each round: without, with, with, without */
		ovh_run(op, o, 0);
		if (kb_kload_start(&k, op->kload, PIN_DIR, rules, NULL)) {
			why = kb_fmt("%s", k.why);
			kb_kload_stop(&k, op->kload, PIN_DIR);
			break;
		}
		ovh_run(op, o, 1);
		ovh_run(op, o, 1);
		kb_kload_stop(&k, op->kload, PIN_DIR);
		ovh_run(op, o, 0);
		for (i = 0; i < 2; i++) {
			rc[i][r] = o[i].cpu[1] / o[i].cpu[0];
			rw[i][r] = o[i].wall[1] / o[i].wall[0];
			cw[i][0][r] = o[i].cpu[0];
			cw[i][1][r] = o[i].cpu[1];
			ww[i][0][r] = o[i].wall[0];
			ww[i][1][r] = o[i].wall[1];
		}
		done++;
		fprintf(stderr, "bench_host: round %d: open/close cpu %.0f -> %.0f ns (x%.3f; wall "
			"x%.3f), fork/exec cpu %.0f -> %.0f us (x%.3f; wall x%.3f)\n", r,
			o[0].cpu[0], o[0].cpu[1], rc[0][r], rw[0][r], o[1].cpu[0] / 1e3,
			o[1].cpu[1] / 1e3, rc[1][r], rw[1][r]);
	}
	for (i = 0; i < 2; i++) {
		bool is_open = i == 0;
		const char *key = is_open ? "open_close" : "fork_exec";
		double scale = is_open ? 1 : 1e3;
		struct kb_result res = {
			.name = kb_fmt("host.slowdown.%s", key),
			.figure = is_open ? "open/close loop slowdown under kload attach (1,000 rules)"
					  : "fork/exec loop slowdown under kload attach (1,000 rules)",
			.unit = "%",
			.target = is_open ? "<= 15" : "<= 10",
			.headline = true,
			.baseline = kb_fmt("host.loop.%s.without", key),
			.command = kb_cmd(op->prog, "--part overhead --rounds %d", op->rounds),
			.note = "CPU time (process + children), median over rounds of with/without; "
				"each round runs without, with, with, without",
		};
		struct kb_result a, b;
		double wo, wi;

		if (!done) {
			res.reason = why ? why : "no round completed";
			kb_emit(&res);
			continue;
		}
		res.ratio = kb_median(rc[i], done);
		res.has_ratio = true;
		res.value = (res.ratio - 1) * 100;
		res.has_value = true;
		res.xk[0] = "wall_slowdown_pct";
		res.xv[0] = (kb_median(rw[i], done) - 1) * 100;
		res.xk[1] = "rounds";
		res.xv[1] = done;
		kb_emit(&res);

		wo = kb_median(cw[i][0], done);
		wi = kb_median(cw[i][1], done);
		a = (struct kb_result){
			.name = kb_fmt("host.loop.%s.without", key),
			.figure = is_open ? "open+close of /etc/hostname, nothing attached (CPU)"
					  : "fork+exec+wait of /bin/true, nothing attached (CPU)",
			.unit = is_open ? "ns/iter" : "us/iter",
			.value = wo / scale, .has_value = true,
			.command = res.command,
			.xk = { "wall_per_iter" }, .xv = { kb_median(ww[i][0], done) / scale },
		};
		b = a;
		b.name = kb_fmt("host.loop.%s.with", key);
		b.figure = is_open ? "open+close of /etc/hostname under kload attach (CPU)"
				   : "fork+exec+wait of /bin/true under kload attach (CPU)";
		b.value = wi / scale;
		b.xv[0] = kb_median(ww[i][1], done) / scale;
		b.baseline = a.name;
		b.ratio = wi / wo;
		b.has_ratio = true;
		kb_emit(&a);
		kb_emit(&b);
	}
}

static void usage(const char *p)
{
	fprintf(stderr,
		"usage: %s [--part hist|overhead|all] [--rules 10,100,1000] [--execs N] [--opens N]\n"
		"          [--ovh-opens N] [--ovh-execs N] [--rounds N] [--kload PATH] [--dir DIR]\n"
		"Prints one JSON result per line (see bench/bench_common.h).\n", p);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "part", 1, 0, 'p' }, { "rules", 1, 0, 'r' }, { "execs", 1, 0, 'x' },
		{ "opens", 1, 0, 'o' }, { "ovh-opens", 1, 0, 'O' }, { "ovh-execs", 1, 0, 'X' },
		{ "rounds", 1, 0, 'R' }, { "kload", 1, 0, 'k' }, { "dir", 1, 0, 'd' },
		{ "help", 0, 0, 'h' }, { 0 },
	};
	struct opts op = {
		.rules = { 10, 100, 1000 }, .n_rules = 3, .execs = 400, .opens = 40000,
		.ovh_opens = 200000, .ovh_execs = 400, .rounds = 5, .kload = "build/kload",
		.rules_dir = "/tmp", .prog = "build/bench/bench_host", .do_hist = true,
		.do_ovh = true,
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			op.do_hist = !strcmp(optarg, "hist") || !strcmp(optarg, "all");
			op.do_ovh = !strcmp(optarg, "overhead") || !strcmp(optarg, "all");
			break;
		case 'r':
			op.n_rules = kb_parse_list(optarg, op.rules, 4);
			break;
		case 'x':
			op.execs = atoi(optarg);
			break;
		case 'o':
			op.opens = atoi(optarg);
			break;
		case 'O':
			op.ovh_opens = atoi(optarg);
			break;
		case 'X':
			op.ovh_execs = atoi(optarg);
			break;
		case 'R':
			op.rounds = atoi(optarg);
			break;
		case 'k':
			op.kload = optarg;
			break;
		case 'd':
			op.rules_dir = optarg;
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (op.execs < 2)
		op.execs = 2;
	if (op.opens < 2)
		op.opens = 2;
	if (op.ovh_opens < 2)
		op.ovh_opens = 2;
	if (op.ovh_execs < 2)
		op.ovh_execs = 2;
	if (op.rounds < 1)
		op.rounds = 1;
	ks_log_setup_libbpf();
	if (op.do_hist)
		part_hist(&op);
	if (op.do_ovh)
		part_overhead(&op);
	return 0;
}
