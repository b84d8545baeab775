// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_xdp: the fixed cost per packet of ks_xdp_main (the production XDP
 * program and evaluator), through BPF_PROG_TEST_RUN with `repeat`, ns per
 * packet from the kernel's own topts.duration:
 *
 *   b0        a UDP packet with a 0-byte payload against N payload
 *             literals (rules `network where event.action == "packet" and
 *             payload : "*LIT*"`, as bench_dfa's)
 *   portmiss  a UDP packet with a 1,500-byte payload against N literals
 *             whose rules all need TCP to port 80, 443 or 8080: no rule can
 *             match it by protocol/port, which must be decided before any
 *             payload is copied or scanned
 *   b0.eval   b0 with one more rule, on the packet's ports and no string
 *             (a candidate of every packet): the early decisions cannot
 *             stop it, so this is the evaluator's own fixed cost
 *             (informational)
 *   overhead  BPF_PROG_TEST_RUN's own cost on a two-instruction XDP_PASS
 *             program, measured in the same run
 *
 * Each figure is reported raw (what the targets use: the honest number,
 * the test-run's own cost included) with the net-of-overhead value and the
 * overhead in its extra fields. Medians of --reps runs of about --warm-ms.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bench_common.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel/dfa_lab.h"

static const char pat_alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789._/:=-";

struct opts {
	unsigned long patterns;
	int reps;
	double warm_ms;
	uint64_t seed;
	const char *prog;
};

/* N rules of one random literal each (4..16 bytes), `extra` ANDed in. */
static char *gen_rules(unsigned long n, uint64_t seed, const char *extra)
{
	struct kb_buf b = {};
	struct kb_rng r;
	unsigned long i;
	uint32_t j, len;

	kb_rng_seed(&r, seed * 1000003 + n);
	for (i = 0; i < n; i++) {
		kb_buf_printf(&b, "- rule: xdp_%lu\n  name: payload literal %lu\n  query: |\n"
			      "    network where event.action == \"packet\"%s and payload : \"*",
			      i, i, extra);
		len = kb_rng_range(&r, 4, 16);
		for (j = 0; j < len; j++)
			kb_buf_printf(&b, "%c", pat_alpha[kb_rng_next(&r) % (sizeof(pat_alpha) - 1)]);
		kb_buf_printf(&b, "%u*\"\n", (unsigned)i);	/* the index keeps them distinct */
	}
	return b.s;
}

/* The trivial program: r0 = XDP_PASS; exit. */
static int load_pass_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "ks_bench_pass", "GPL", insns, 2, NULL);
}

/* Median ns per run of `reps` test-runs of about warm_ms each; NAN on failure. */
static double timed(const struct opts *op, int fd, const uint8_t *frame, size_t flen)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = flen, .repeat = 1000);
	double v[64], est;
	int i, n = op->reps < 64 ? op->reps : 64;

	if (bpf_prog_test_run_opts(fd, &o))
		return NAN;
	est = o.duration > 0 ? o.duration : 1;
	o.repeat = (int)(op->warm_ms * 1e6 / est);
	if (o.repeat < 1000)
		o.repeat = 1000;
	if (o.repeat > 2000000)
		o.repeat = 2000000;
	for (i = 0; i < n; i++) {
		if (bpf_prog_test_run_opts(fd, &o))
			return NAN;
		v[i] = o.duration;
	}
	return kb_median(v, n);
}

struct fig {
	const char *key, *label, *target, *cmd_args;
	double raw;
	const char *why;
};

static void emit(const struct opts *op, const struct fig *f, double ovh)
{
	struct kb_result r = {
		.name = kb_fmt("xdp.fixed.p%lu.%s.ns_per_packet", op->patterns, f->key),
		.figure = kb_fmt("XDP fixed cost per packet (BPF_PROG_TEST_RUN, raw), %lu patterns: %s",
				  op->patterns, f->label),
		.unit = "ns/packet", .target = f->target, .group = "xdp", .headline = !!f->target,
		.command = kb_cmd(op->prog, "--patterns %lu", op->patterns),
		.note = "raw: BPF_PROG_TEST_RUN's own cost included (xdp.test_run_overhead); "
			"extra.net = raw - overhead",
	};

	if (!isfinite(f->raw)) {
		r.reason = f->why ? f->why : "BPF_PROG_TEST_RUN failed";
		kb_emit(&r);
		return;
	}
	r.value = f->raw;
	r.has_value = true;
	r.xk[0] = "net";
	r.xv[0] = isfinite(ovh) ? f->raw - ovh : NAN;
	r.xk[1] = "test_run_overhead";
	r.xv[1] = ovh;
	kb_emit(&r);
}

/* Install the rules' tables (and the rules `more`) and time one frame through ks_xdp_main. */
static double run_set(const struct opts *op, struct ks_engine *e, int fd, const char *extra,
		      const char *more, const uint8_t *frame, size_t flen, const char **why)
{
	char err[512] = "", *yaml = gen_rules(op->patterns, op->seed, extra), *all;
	struct ks_compile_info info;
	struct ks_tables *t;
	double v = NAN;
	int ierr;

	if (more) {
		all = kb_fmt("%s%s", yaml, more);
		free(yaml);
		yaml = strdup(all);
	}
	t = kb_compile(yaml, NULL, &info, err, sizeof(err));
	free(yaml);
	if (!t) {
		*why = kb_fmt("compiler: %s", err);
		return NAN;
	}
	ierr = ks_engine_install(e, t);
	if (ierr)
		*why = kb_fmt("ks_engine_install: %s", strerror(-ierr));
	else
		v = timed(op, fd, frame, flen);
	free(t);
	return v;
}

static void run(const struct opts *op)
{
	struct ks_engine_opts eo = {
		.mode = KS_MODE_OBSERVE, .xdp = true, .no_host = true,
		.payload_depth = 1500, .judge_self = true,
	};
	struct fig b0 = { "b0", "UDP, 0-byte payload", "<= 60" };
	struct fig b0e = { "b0.eval", "UDP, 0-byte payload, evaluated (a port-only rule)" };
	static const char eval_rule[] =
		"- rule: xdp_ports\n  name: ports\n  query: |\n    network where "
		"event.action == \"packet\" and source.port == 1234 and destination.port == 9\n";
	struct fig miss = { "portmiss.b1500", "UDP 1500-byte payload, no rule's protocol/port",
			    "<= 40" };
	struct kb_result ro = {
		.name = "xdp.test_run_overhead.ns_per_packet",
		.figure = "BPF_PROG_TEST_RUN's own cost per packet: XDP program `return XDP_PASS`",
		.unit = "ns/packet", .group = "xdp",
		.command = kb_cmd(op->prog, "--patterns %lu", op->patterns),
	};
	static uint8_t frame[1600], pay[1500];
	struct ks_engine e;
	struct bpf_program *p;
	size_t f0, f1500;
	double ovh = NAN;
	int fd, pass_fd;

	memset(pay, 'Z', sizeof(pay));	/* matches no literal: none has an upper case byte */
	pass_fd = load_pass_prog();
	if (pass_fd < 0) {
		ro.reason = kb_fmt("cannot load the XDP_PASS program: %s", strerror(errno));
	} else {
		f0 = ks_dfa_lab_frame(frame, pay, 0);
		ovh = timed(op, pass_fd, frame, f0);
		ro.value = ovh;
		ro.has_value = isfinite(ovh);
		ro.reason = ro.has_value ? NULL : "BPF_PROG_TEST_RUN failed";
	}
	kb_emit(&ro);

	b0.raw = b0e.raw = miss.raw = NAN;
	if (ks_engine_load(&e, &eo)) {
		b0.why = b0e.why = miss.why = "cannot load the BPF engine";
	} else if (!(p = ks_engine_prog(&e, "ks_xdp_main")) || bpf_program__fd(p) < 0) {
		b0.why = b0e.why = miss.why = "no ks_xdp_main in this build";
		ks_engine_destroy(&e);
	} else {
		fd = bpf_program__fd(p);
		f0 = ks_dfa_lab_frame(frame, pay, 0);
		b0.raw = run_set(op, &e, fd, "", NULL, frame, f0, &b0.why);
		b0e.raw = run_set(op, &e, fd, "", eval_rule, frame, f0, &b0e.why);
		f1500 = ks_dfa_lab_frame(frame, pay, sizeof(pay));
		miss.raw = run_set(op, &e, fd,
				   " and network.transport == \"tcp\" and "
				   "destination.port in (80, 443, 8080)",
				   NULL, frame, f1500, &miss.why);
		ks_engine_destroy(&e);
	}
	emit(op, &b0, ovh);
	emit(op, &b0e, ovh);
	emit(op, &miss, ovh);
	if (pass_fd >= 0)
		close(pass_fd);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "patterns", 1, 0, 'p' }, { "reps", 1, 0, 'r' }, { "warm-ms", 1, 0, 'w' },
		{ "seed", 1, 0, 's' }, { "help", 0, 0, 'h' }, { 0 },
	};
	struct opts op = {
		.patterns = 1000, .reps = 15, .warm_ms = 20, .seed = 42,
		.prog = "build/bench/bench_xdp",
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			op.patterns = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			op.reps = atoi(optarg) > 0 ? atoi(optarg) : 1;
			break;
		case 's':
			op.seed = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			op.warm_ms = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [--patterns N] [--reps N] [--warm-ms MS] "
				"[--seed S]\nPrints one JSON result per line.\n", argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	ks_log_setup_libbpf();
	run(&op);
	return 0;
}
