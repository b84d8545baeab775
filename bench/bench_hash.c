// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_hash: what the kernel's join-key hash costs per event.
 *
 * ks_xdp_main (the production XDP program and evaluator) through
 * BPF_PROG_TEST_RUN with `repeat`; the kernel reports the mean ns per run.
 * The same UDP packet every run, and one two-step kernel-tracked sequence
 * whose first step every packet matches, so each run hashes the join key,
 * looks up ks_entity and stores the step's time:
 *
 *   nojoin   sequence with maxspan=1h [payload : "KSHASH*"] [never]
 *   payload  the same, `sequence by payload`: the whole payload is hashed
 *   ip       the same, `sequence by source.ip, destination.ip`
 *
 * hash ns/event = ns(variant) - ns(nojoin) at the same payload length,
 * medians over --reps rounds; the variants alternate inside each round so
 * drift on this shared machine hits them alike.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_common.h"
#include "kestrel/dfa_lab.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel.skel.h"

#define MAX_SIZES	8
#define N_VAR		3

static const char *const var_name[N_VAR] = { "nojoin", "payload", "ip" };
static const char *const var_by[N_VAR] = {
	"", "by payload ", "by source.ip, destination.ip ",
};

static char *variant_yaml(int v)
{
	return kb_fmt("- rule: hash_%s\n"
		      "  name: hash %s\n"
		      "  severity: low\n"
		      "  query: |\n"
		      "    sequence %swith maxspan=1h\n"
		      "      [network where event.action == \"packet\" and payload : \"KSHASH*\"]\n"
		      "      [network where event.action == \"packet\" and payload : \"*ks-never*\"]\n",
		      var_name[v], var_name[v], var_by[v]);
}

static double run_once(int prog_fd, const uint8_t *frame, size_t flen, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = flen,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return NAN;
	return o.duration;
}

struct opts {
	unsigned long sizes[MAX_SIZES];
	size_t n_sizes;
	int reps, repeat;
	const char *prog;
};

static void usage(FILE *f)
{
	fputs("usage: bench_hash [--payloads 16,64,...] [--reps N] [--repeat N]\n", f);
}

static int parse(struct opts *op, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "payloads", required_argument, NULL, 'p' },
		{ "reps", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const unsigned long def[] = { 16, 64, 256, 1024, 1400 };
	int c;

	memset(op, 0, sizeof(*op));
	op->prog = argv[0];
	op->reps = 9;
	op->repeat = 20000;
	memcpy(op->sizes, def, sizeof(def));
	op->n_sizes = sizeof(def) / sizeof(def[0]);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			op->n_sizes = kb_parse_list(optarg, op->sizes, MAX_SIZES);
			break;
		case 'r':
			op->reps = atoi(optarg);
			break;
		case 'R':
			op->repeat = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (op->reps < 1 || op->repeat < 1)
		return -1;
	return 0;
}

static void emit(const struct opts *op, int v, size_t len, double ns, double base,
		 const char *why)
{
	struct kb_result r = {
		.name = kb_fmt("hash.join.%s.b%zu.ns", var_name[v], len),
		.figure = kb_fmt("join-key hash, %s, %zu-byte payload (kernel, per event)",
				 var_name[v], len),
		.unit = "ns/event", .value = ns - base, .has_value = !why && !isnan(ns),
		.reason = why, .group = "hash",
		.command = kb_cmd(op->prog, "--payloads %zu", len),
		.note = "ns per event of the whole XDP program minus the same without a join key",
		.xk = { "event_ns", "nojoin_event_ns" },
		.xv = { ns, base },
	};

	kb_emit(&r);
}

static int load(struct ks_engine *e, int *prog_fd)
{
	struct ks_engine_opts o = {
		.mode = KS_MODE_OBSERVE, .xdp = true, .no_host = true,
		.payload_depth = 1500, .judge_self = true,
	};
	struct bpf_program *p;
	int err = ks_engine_load(e, &o);

	if (err)
		return err;
	p = ks_engine_prog(e, "ks_xdp_main");	/* in its own object */
	if (!p || bpf_program__fd(p) < 0)
		return -ENOENT;
	*prog_fd = bpf_program__fd(p);
	return 0;
}

static void measure_size(const struct opts *op, struct ks_engine *e, int prog_fd,
			 struct ks_tables **t, size_t len)
{
	uint8_t *pay = malloc(len + 1), *frame = malloc(len + 64);
	double ns[N_VAR][64], med[N_VAR];
	size_t flen, i;
	int v, r;

	for (i = 0; i < len; i++)
		pay[i] = 'a' + i % 26;
	memcpy(pay, "KSHASH", len < 6 ? len : 6);
	flen = ks_dfa_lab_frame(frame, pay, len);
	for (r = 0; r < op->reps && r < 64; r++) {
		for (v = 0; v < N_VAR; v++) {
			if (ks_engine_install(e, t[v])) {
				ns[v][r] = NAN;
				continue;
			}
			run_once(prog_fd, frame, flen, 200);	/* warm, ring buffer full */
			ns[v][r] = run_once(prog_fd, frame, flen, op->repeat);
		}
	}
	for (v = 0; v < N_VAR; v++) {
		med[v] = kb_median(ns[v], r);
		fprintf(stderr, "bench_hash: L=%-5zu %-8s %8.1f ns/event (hash %+.1f)\n", len,
			var_name[v], med[v], med[v] - med[0]);
	}
	for (v = 1; v < N_VAR; v++)
		emit(op, v, len, med[v], med[0], NULL);
	free(pay);
	free(frame);
}

int main(int argc, char **argv)
{
	struct ks_tables *t[N_VAR] = {};
	struct ks_compile_info info;
	struct ks_engine e;
	char err[512];
	struct opts op;
	int prog_fd = -1, v, lerr;
	size_t si;

	if (parse(&op, argc, argv))
		return 2;
	ks_log_setup_libbpf();
	for (v = 0; v < N_VAR; v++) {
		t[v] = kb_compile(variant_yaml(v), NULL, &info, err, sizeof(err));
		if (!t[v]) {
			fprintf(stderr, "bench_hash: compiler: %s\n", err);
			return 1;
		}
		ks_compile_info_free(&info);
	}
	lerr = load(&e, &prog_fd);
	for (si = 0; si < op.n_sizes; si++) {
		size_t len = op.sizes[si] > 1500 ? 1500 : op.sizes[si];

		if (len < 6)
			len = 6;
		if (lerr) {
			for (v = 1; v < N_VAR; v++)
				emit(&op, v, len, NAN, 0, kb_fmt("cannot load ks_xdp_main: %s",
								 strerror(-lerr)));
			continue;
		}
		measure_size(&op, &e, prog_fd, t, len);
	}
	if (!lerr)
		ks_engine_destroy(&e);
	for (v = 0; v < N_VAR; v++)
		free(t[v]);
	return 0;
}
