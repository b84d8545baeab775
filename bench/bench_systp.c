// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What a syscall source costs every other syscall: getppid() (hooked by
 * nothing) timed with nothing attached, with an empty program on each of
 * the 13 syscalls:sys_exit_* tracepoints bpf/hook_sys.bpf.c uses, and with
 * one empty program on raw_tp/sys_exit (Falco's modern probe's way). Any
 * syscall tracepoint sends every syscall through the traced slow path; the
 * raw sys_exit tracepoint also runs its program for every one of them.
 * The three are measured in turn in each round; each figure is the
 * minimum over rounds (the least disturbed by the shared machine).
 *
 *   bench_systp [--rounds N] [--calls N]
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>

#include <bpf/bpf.h>

#include "bench_common.h"

static const char *const sys_exits[] = {
	"open", "openat", "openat2", "creat", "open_by_handle_at", "unlink", "unlinkat",
	"rename", "renameat", "renameat2", "connect", "accept", "accept4",
};
#define N_SYS	(sizeof(sys_exits) / sizeof(sys_exits[0]))

static double loop_ns(long calls)
{
	uint64_t t0 = kb_now_ns();
	long i;

	for (i = 0; i < calls; i++)
		syscall(SYS_getppid);
	return (double)(kb_now_ns() - t0) / calls;
}

/* r0 = 0; exit */
static int empty_prog(enum bpf_prog_type type)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(type, "kb_empty", "GPL", insns, 2, NULL);
}

static int tracepoint_id(const char *sys)
{
	char path[256];
	FILE *f;
	int id = -1;

	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/syscalls/sys_exit_%s/id", sys);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &id) != 1)
		id = -1;
	fclose(f);
	return id;
}

/* Attach prog to syscalls:sys_exit_<sys> through a perf event; its fd. */
static int attach_tp(const char *sys, int prog)
{
	struct perf_event_attr a = { .type = PERF_TYPE_TRACEPOINT, .size = sizeof(a),
				     .sample_period = 1, .wakeup_events = 1 };
	int fd;

	a.config = tracepoint_id(sys);
	if ((int)a.config < 0)
		return -1;
	fd = syscall(SYS_perf_event_open, &a, -1, 0, -1, 0);
	if (fd < 0)
		return -1;
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog) || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void emit(const char *name, const char *figure, double v, double base, int rounds,
		 long calls)
{
	struct kb_result r = {
		.name = name, .figure = figure, .value = v, .has_value = true, .unit = "ns",
		.group = "host",
		.command = kb_cmd("build/bench/bench_systp", "--rounds %d --calls %ld", rounds,
				  calls),
		.note = "getppid() per call, min over rounds; the syscall hooked by nothing",
	};

	if (base > 0) {
		r.baseline = "host.systp.none.ns_per_call";
		r.ratio = v / base;
		r.has_ratio = true;
		r.xk[0] = "added_ns";
		r.xv[0] = v - base;
	}
	kb_emit(&r);
}

int main(int argc, char **argv)
{
	double none = 1e18, tps = 1e18, raw = 1e18, v;
	int rounds = 15, tp, rp, fds[N_SYS], i, k;
	long calls = 200000;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rounds"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--calls"))
			calls = atol(argv[i + 1]);
	}
	tp = empty_prog(BPF_PROG_TYPE_TRACEPOINT);
	rp = empty_prog(BPF_PROG_TYPE_RAW_TRACEPOINT);
	if (tp < 0 || rp < 0) {
		fprintf(stderr, "bench_systp: cannot load a program: %s\n", strerror(errno));
		return 1;
	}
	for (k = 0; k < rounds; k++) {
		int rfd;

		v = loop_ns(calls);
		none = v < none ? v : none;
		for (i = 0; i < (int)N_SYS; i++)
			fds[i] = attach_tp(sys_exits[i], tp);
		v = loop_ns(calls);
		tps = v < tps ? v : tps;
		for (i = 0; i < (int)N_SYS; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		rfd = bpf_raw_tracepoint_open("sys_exit", rp);
		if (rfd < 0) {
			fprintf(stderr, "bench_systp: raw_tp sys_exit: %s\n", strerror(errno));
			return 1;
		}
		v = loop_ns(calls);
		raw = v < raw ? v : raw;
		close(rfd);
	}
	emit("host.systp.none.ns_per_call", "getppid(), nothing attached", none, 0, rounds, calls);
	emit("host.systp.tracepoints.ns_per_call",
	     "getppid() with the 13 syscalls:sys_exit_* tracepoints of hook_sys.bpf.c", tps, none,
	     rounds, calls);
	emit("host.systp.raw_sys_exit.ns_per_call",
	     "getppid() with one empty raw_tp/sys_exit program", raw, none, rounds, calls);
	return 0;
}
