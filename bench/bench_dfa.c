// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_dfa: the string DFA over packet payloads, three ways, same patterns,
 * same payloads, same run:
 *
 *   kernel  ks_xdp_main (the production XDP program and evaluator) through
 *           BPF_PROG_TEST_RUN; ns/packet from the kernel's own
 *           topts.duration (it averages over `repeat`)
 *   user    the same struct ks_tables walked in plain C (ks_walk_bytes(),
 *           rules-compiler/tablewalk.c, the userspace model of the kernel walk)
 *   hs      Hyperscan, the same literals (hs_compile_lit_multi, caseless,
 *           HS_FLAG_SINGLEMATCH, block mode)
 *
 * Patterns: N random literals (seeded; 4..16 bytes of [a-z0-9._/:=-]) as
 * rules `network where event.action == "packet" and payload : "*LIT*"`,
 * compiled by the production compiler. KS_MAX_RULES is 2048, so above
 * 1,000 literals a rule carries several: payload : ("*a*", "*b*", ...).
 * Payloads: random bytes of the same alphabet (upper and lower case, space),
 * checked not to match (the walk then scans every byte: the worst case).
 *
 * warm: one packet over and over (repeat); cold: distinct packets, each
 * scanned once right after streaming 64 MiB through the caches.
 *
 * ns/byte = (ns/packet(L) - ns/packet(0)) / L: the marginal scan cost; the
 * fixed per-packet cost (parse, evaluate, counters; 0-byte payload) is
 * reported separately as ns/packet at payload 0.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <hs/hs.h>

#include "bench_common.h"
#include "dfa_cloops.h"
#include "dfa_sets.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel/replay.h"
#include "kestrel/tablewalk.h"
#include "kestrel/dfa_lab.h"
#include "kestrel/fdr.h"
#include "rules-compiler/dfa.h"
#include "kestrel.skel.h"

#define MAX_SIZES	8
#define MAX_SETS	8
#define ENG_KERNEL	0
#define ENG_USER	1
#define ENG_CMIN	2
#define ENG_CPRE	3
#define ENG_CPRE2	4
#define ENG_HS		5
#define ENG_LAB1	6
#define ENG_LAB2	7
#define ENG_LAB4	8
#define ENG_IMG4	9
#define ENG_FDR		10
#define ENG_UFDR	11
#define N_ENG		12
#define IS_LAB(e)	(((e) >= ENG_LAB1 && (e) <= ENG_LAB4) || (e) == ENG_FDR)
#define ON_IMAGE(e)	(IS_LAB(e) || (e) == ENG_IMG4 || (e) == ENG_UFDR)

static const char *eng_name[N_ENG] = {
	"kernel", "user", "cmin", "cpre", "cpre2", "hs", "lab1", "lab2", "lab4", "img4", "fdr",
	"ufdr",
};
static const char *eng_label[N_ENG] = {
	"kernel XDP (BPF_PROG_TEST_RUN)", "userspace C walk (tablewalk.c)",
	"userspace minimal C loop over the production image",
	"userspace C loop over the production image, no mask",
	"userspace C over the production image, two interleaved walks", "Hyperscan",
	"kernel XDP, DFA image walk, 1 walk (lab)", "kernel XDP, DFA image walk, 2 walks (lab)",
	"kernel XDP, DFA image walk, 4 walks (lab)", "userspace C model of the image walk, 4 walks",
	"kernel XDP, FDR prefilter + DFA confirm (lab)",
	"userspace C model of the FDR prefilter + DFA confirm",
};
static const uint32_t lab_walks[N_ENG] = { [ENG_LAB1] = 1, [ENG_LAB2] = 2, [ENG_LAB4] = 4 };

static const char pay_alpha[] =
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:=- ";

struct opts {
	unsigned long sets[MAX_SETS];
	size_t n_sets;
	unsigned long sizes[MAX_SIZES];
	size_t n_sizes;
	int reps;		/* warm: medians of this many runs */
	int cold;		/* cold: distinct packets */
	double warm_ms;		/* target duration of one warm run */
	uint64_t seed;
	bool eng[N_ENG];
	const char *prog;
	const char *patterns_file;	/* literals, one a line, \\xHH escapes */
	const char *set_name;		/* names the file's set in figure names */
};


/* The payload through the tables as the kernel scans it; atoms hit. */
static uint32_t user_scan(const struct ks_tables *t, const uint8_t *p, size_t len,
			  struct ks_walk *w)
{
	uint32_t s = t->dfa_hdr.autos[KS_F_PAYLOAD][KS_CASE_FOLD].start;
	uint8_t b;

	ks_walk_begin(w);
	if (!s || !len)
		return 0;
	b = KS_SENT_BEGIN;
	s = ks_walk_bytes(t, s, true, &b, 1, w);
	s = ks_walk_bytes(t, s, true, p, len, w);
	b = KS_SENT_END;
	if (s)
		ks_walk_bytes(t, s, true, &b, 1, w);
	return w->n_hits;
}

/*
 * The DFA image (maps/ks_dfa.h) of the set's literals, built by the
 * compiler's builder without rules (any set size), and the lab program
 * (bpf/ks_dfa_lab.bpf.c) loaded with it for 1, 2 and 4 walks.
 */
static struct {
	struct ks_dfa_image img;
	struct ks_dfa_view v;
	struct ks_dfa_lab_run run[N_ENG];
	struct ks_fdr fdr;
	bool ok;
	char why[300];
} lab;

static uint32_t img_scan(const uint8_t *p, size_t len, uint32_t walks, struct ks_walk *w)
{
	ks_walk_begin(w);
	ks_dfa_walk_plain(&lab.v, KS_F_PAYLOAD, KS_CASE_FOLD, KS_DFA_COL_FOLD, p, len, walks, w);
	return w->n_hits;
}

static uint32_t fdr_scan(const uint8_t *p, size_t len, struct ks_walk *w,
			 struct ks_fdr_stats *st)
{
	ks_walk_begin(w);
	ks_fdr_walk(&lab.fdr, &lab.v, KS_F_PAYLOAD, KS_CASE_FOLD, KS_DFA_COL_FOLD, p, len, w, st);
	return w->n_hits;
}

/* Random payload that matches no pattern (checked with the DFA, or with
 * Hyperscan when the set did not compile). */
static void gen_payload(struct kb_rng *r, uint8_t *p, size_t len, const struct ks_tables *t,
			struct ks_walk *w, struct hs *h)
{
	size_t i;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		for (i = 0; i < len; i++)
			p[i] = pay_alpha[kb_rng_next(r) % (sizeof(pay_alpha) - 1)];
		if ((!t || !user_scan(t, p, len, w)) && (!h || !hs_once(h, p, len)) &&
		    (!lab.ok || !img_scan(p, len, 1, w)))
			return;
		/* a literal occurs by chance: break it up and retry */
	}
}

/* Ethernet + IPv4 + UDP + payload; returns the frame length. */
static size_t build_frame(uint8_t *f, const uint8_t *pay, size_t len)
{
	return ks_dfa_lab_frame(f, pay, len);
}

/* ---- the kernel ---- */

struct kern {
	struct ks_engine e;
	int prog_fd;
	bool xdp;		/* false: ks_replay fallback */
	bool loaded;
	char why[256];
	struct ks_replay_ctx *rctx;
	struct ks_event *ev;	/* packed into rctx */
};

static int kern_load(struct kern *k)
{
	struct ks_engine_opts o = {
		.mode = KS_MODE_OBSERVE, .xdp = true, .no_host = true,
		.payload_depth = 1500, .judge_self = true,
	};
	struct bpf_program *p;
	int err;

	err = ks_engine_load(&k->e, &o);
	if (!err) {
		p = ks_engine_prog(&k->e, "ks_xdp_main");	/* in its own object */
		if (p && bpf_program__fd(p) >= 0) {
			k->prog_fd = bpf_program__fd(p);
			k->xdp = true;
			k->loaded = true;
			return 0;
		}
		ks_engine_destroy(&k->e);
	}
	/* no XDP program in this build: the replay program runs the same evaluator */
	memset(&o, 0, sizeof(o));
	o.replay = true;
	o.mode = KS_MODE_OBSERVE;
	o.payload_depth = 1500;
	o.judge_self = true;
	err = ks_engine_load(&k->e, &o);
	if (err) {
		snprintf(k->why, sizeof(k->why), "cannot load the BPF engine: %s", strerror(-err));
		return err;
	}
	k->prog_fd = bpf_program__fd(k->e.skel->progs.ks_replay);
	k->rctx = calloc(1, sizeof(*k->rctx));
	k->ev = calloc(1, sizeof(*k->ev));
	k->loaded = true;
	if (!k->rctx || !k->ev) {
		snprintf(k->why, sizeof(k->why), "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* One test-run: repeat times the same input; returns kernel ns per run. */
static double kern_run(struct kern *k, const uint8_t *frame, size_t flen, const uint8_t *pay,
		       size_t len, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = repeat);
	int err;

	if (k->xdp) {
		o.data_in = frame;
		o.data_size_in = flen;
	} else {
		struct ks_event *ev = k->ev;

		memset(ev, 0, offsetof(struct ks_event, exe));
		ev->category = KS_CAT_NETWORK;
		ev->action = KS_ACT_PACKET;
		ev->source = KS_SRC_XDP;
		ev->present = KS_P_NET | (len ? KS_P_PAYLOAD : 0);
		memcpy(ev->payload, pay, len);
		ev->str[KS_F_PAYLOAD].off = offsetof(struct ks_event, payload);
		ev->str[KS_F_PAYLOAD].len = len;
		k->rctx->n = k->rctx->len = 0;
		ks_replay_pack(k->rctx, ev, 1);
		o.ctx_in = k->rctx;
		o.ctx_size_in = ks_replay_ctx_size(k->rctx);
	}
	err = bpf_prog_test_run_opts(k->prog_fd, &o);
	if (err)
		return NAN;
	return (double)o.duration;
}

/* the set's longest literal - 1: how far cpre2's first walk runs on */
static uint32_t pre_maxlen;

/* ns per packet over `repeat` back-to-back scans (userspace engines). */
static double user_run(int eng, const struct ks_tables *t, struct ks_walk *w, struct hs *h,
		       const uint8_t *p, size_t len, int repeat)
{
	volatile uint32_t sink = 0;
	uint64_t t0;
	int i;

	t0 = kb_now_ns();
	for (i = 0; i < repeat; i++) {
		if (eng == ENG_USER)
			sink += user_scan(t, p, len, w);
		else if (eng == ENG_CMIN)
			sink += cmin_scan(t, p, len);
		else if (eng == ENG_CPRE)
			sink += cpre_scan(t, p, len);
		else if (eng == ENG_CPRE2)
			sink += cpre2_scan(t, p, len, pre_maxlen);
		else if (eng == ENG_IMG4)
			sink += img_scan(p, len, 4, w);
		else if (eng == ENG_UFDR)
			sink += fdr_scan(p, len, w, NULL);
		else
			sink += hs_once(h, p, len);
	}
	(void)sink;
	return (double)(kb_now_ns() - t0) / repeat;
}

/* The lab program on one frame, `repeat` times: kernel ns per run. */
static double lab_run(int eng, const uint8_t *frame, size_t flen, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = repeat, .data_in = frame,
		    .data_size_in = flen);

	if (bpf_prog_test_run_opts(lab.run[eng].prog_fd, &o))
		return NAN;
	return (double)o.duration;
}

static void lab_close(void)
{
	int e;

	for (e = 0; e < N_ENG; e++)
		if (lab.run[e].skel)
			ks_dfa_lab_close(&lab.run[e]);
	ks_dfa_image_free(&lab.img);
	ks_fdr_free(&lab.fdr);
	lab.ok = false;
}

/* Image and lab programs for a set; one figure per program (load, verifier). */
static void lab_open(const struct opts *op, const struct litset *ls, const char *set)
{
	char err[256];
	int e;

	lab.why[0] = 0;
	if (ks_dfa_image_literals((const uint8_t *const *)ls->v, ls->len, ls->n, KS_F_PAYLOAD,
				  KS_CASE_FOLD, &lab.img, err, sizeof(err))) {
		snprintf(lab.why, sizeof(lab.why), "DFA image: %s", err);
		fprintf(stderr, "bench_dfa: %s: %s\n", set, lab.why);
		return;
	}
	lab.v.hdr = &lab.img.hdr;
	lab.v.tab = lab.img.tab;
	lab.v.acc_list = lab.img.acc_list;
	lab.ok = true;
	fprintf(stderr, "bench_dfa: %s: image %u states, %u classes, %u KiB\n", set,
		lab.img.hdr.n_states, lab.img.hdr.n_classes, lab.img.hdr.tab_bytes >> 10);
	if ((op->eng[ENG_FDR] || op->eng[ENG_UFDR]) &&
	    ks_fdr_build((const uint8_t *const *)ls->v, ls->len, ls->n, KS_CASE_FOLD, &lab.fdr,
			 err, sizeof(err)))
		fprintf(stderr, "bench_dfa: %s: prefilter: %s\n", set, err);
	for (e = ENG_LAB1; e <= ENG_FDR; e++) {
		struct ks_dfa_lab_run *r = &lab.run[e];
		struct kb_result res = {
			.name = kb_fmt("dfa.%s.load.%s.ms", eng_name[e], set),
			.figure = kb_fmt("%s: load (verifier included), %s", eng_label[e], set),
			.unit = "ms", .group = "dfa-info",
			.command = kb_cmd(op->prog, "--engines %s %s --payloads 0", eng_name[e],
					  op->patterns_file ? kb_fmt("--patterns-file %s",
								     op->patterns_file) :
					  kb_fmt("--patterns %lu", (unsigned long)ls->n)),
			.xk = { "verified_insns", "states", "byte_classes", "table_bytes" },
		};

		if (!op->eng[e] || !IS_LAB(e))
			continue;
		if (e == ENG_FDR ? !lab.fdr.tab ||
				   ks_dfa_lab_open_fdr(r, &lab.v, &lab.fdr, KS_F_PAYLOAD, KS_CASE_FOLD,
						       KS_DFA_COL_FOLD, err, sizeof(err)) :
				   ks_dfa_lab_open(r, &lab.v, lab_walks[e], KS_F_PAYLOAD, KS_CASE_FOLD,
						   KS_DFA_COL_FOLD, err, sizeof(err))) {
			res.reason = kb_fmt("%s", err);
			kb_emit(&res);
			continue;
		}
		res.value = r->load_ms;
		res.has_value = true;
		res.xv[0] = r->verified_insns;
		res.xv[1] = lab.img.hdr.n_states;
		res.xv[2] = lab.img.hdr.n_classes;
		res.xv[3] = lab.img.hdr.tab_bytes;
		kb_emit(&res);
	}
}

/*
 * How often the prefilter's confirm runs on these payloads (the C model;
 * the lab program takes the same candidates): candidates (up to where it
 * gave up), confirm walks started afresh, bytes they walked, and scans
 * given up for the DFA alone, per payload byte.
 */
static void fdr_rates(const struct opts *op, const char *set, unsigned long n, size_t len,
		      uint8_t **pays, size_t np, struct ks_walk *w)
{
	static const char *const key[4] = { "cands", "restarts", "confirm_bytes", "gave_up" };
	struct ks_fdr_stats st = {};
	double v[4];
	size_t i;
	int k;

	for (i = 0; i < np; i++)
		fdr_scan(pays[i], len, w, &st);
	v[0] = (double)st.cands / st.bytes;
	v[1] = (double)st.restarts / st.bytes;
	v[2] = (double)st.confirm_bytes / st.bytes;
	v[3] = (double)st.aborts / st.bytes;
	fprintf(stderr, "bench_dfa: fdr %s L=%zu: per byte %.5f candidates, %.5f confirm walks, "
		"%.4f confirm bytes; gave up on %llu of %zu payloads\n", set, len, v[0], v[1],
		v[2], (unsigned long long)st.aborts, np);
	for (k = 0; k < 4; k++) {
		struct kb_result r = {
			.name = kb_fmt("dfa.fdr.%s.%s.b%zu.per_byte", key[k], set, len),
			.figure = kb_fmt("FDR prefilter, %s per payload byte, %s, %zu B payloads "
					 "matching nothing", key[k], set, len),
			.unit = "per byte", .value = v[k], .has_value = true, .group = "dfa-info",
			.command = kb_cmd(op->prog, "--engines ufdr %s --payloads 0,%zu",
					  op->patterns_file ? kb_fmt("--patterns-file %s",
								     op->patterns_file) :
					  kb_fmt("--patterns %lu", n), len),
		};

		kb_emit(&r);
	}
}

/* ---- measurement of one (engine, pattern set, payload size) ---- */

struct cell {
	double warm_pkt, cold_pkt;	/* ns per packet, median */
	bool ok;
	const char *why;
};

static double run_any(int eng, struct kern *k, const struct ks_tables *t, struct ks_walk *w,
		      struct hs *h, const uint8_t *frame, size_t flen, const uint8_t *p,
		      size_t len, int repeat)
{
	if (eng == ENG_KERNEL)
		return kern_run(k, frame, flen, p, len, repeat);
	if (IS_LAB(eng))
		return lab_run(eng, frame, flen, repeat);
	return user_run(eng, t, w, h, p, len, repeat);
}

static void measure(const struct opts *op, int eng, struct kern *k, const struct ks_tables *t,
		    struct ks_walk *w, struct hs *h, uint8_t **pays, uint8_t **frames,
		    size_t *flens, size_t len, struct cell *c)
{
	double v[64], est;
	int i, repeat, n;

	/* warm: pick repeat so a run lasts about warm_ms */
	est = run_any(eng, k, t, w, h, frames[0], flens[0], pays[0], len, 200);
	if (!isfinite(est)) {
		c->why = "BPF_PROG_TEST_RUN failed";
		return;
	}
	repeat = est > 0 ? (int)(op->warm_ms * 1e6 / est) : 100000;
	if (repeat < 50)
		repeat = 50;
	if (repeat > 200000)
		repeat = 200000;
	n = op->reps < 64 ? op->reps : 64;
	for (i = 0; i < n; i++)
		v[i] = run_any(eng, k, t, w, h, frames[0], flens[0], pays[0], len, repeat);
	c->warm_pkt = kb_median(v, n);

	/* cold: distinct packets, caches flushed before each */
	n = op->cold < 64 ? op->cold : 64;
	for (i = 0; i < n; i++) {
		kb_cache_flush();
		v[i] = run_any(eng, k, t, w, h, frames[1 + i], flens[1 + i], pays[1 + i], len, 1);
	}
	c->cold_pkt = kb_median(v, n);
	c->ok = isfinite(c->warm_pkt) && isfinite(c->cold_pkt);
	if (!c->ok)
		c->why = "BPF_PROG_TEST_RUN failed";
}

/* ---- output ---- */

/* "" for the random sets; "NAME." for --patterns-file (--set-name NAME) */
static const char *set_tag = "";

static const char *set_cmd(const struct opts *op, unsigned long n, unsigned long len)
{
	if (op->patterns_file)
		return kb_cmd(op->prog, "--patterns-file %s --set-name %s --payloads 0,%lu",
			      op->patterns_file, op->set_name ? op->set_name : "file", len);
	return kb_cmd(op->prog, "--patterns %lu --payloads 0,%lu --seed %llu", n, len,
		      (unsigned long long)op->seed);
}

/*
 * The bars are ratios to Hyperscan in the same run, not ns/byte:
 * warm <= 1.0 at 1,000 random patterns and <= 1.5 at 10,000, cold <= 2.
 * So the kernel's ratio is a figure of its own, and the target is on it.
 */
static void emit_vs_hs(const struct kb_result *byte, int cold, unsigned long n,
		       unsigned long len)
{
	struct kb_result r = {
		.name = kb_fmt("%.*s.vs_hs", (int)(strlen(byte->name) -
						   strlen(".ns_per_byte")), byte->name),
		.figure = kb_fmt("%s: ns/byte / Hyperscan's", byte->figure),
		.unit = "x",
		.value = byte->ratio,
		.has_value = true,
		.ratio = byte->ratio,
		.has_ratio = true,
		.baseline = byte->baseline,
		.command = byte->command,
		.group = byte->group,
	};

	if (len == 1500 && !set_tag[0] && cold)
		r.target = n == 1000 ? "<= 2" : NULL;
	else if (len == 1500 && !set_tag[0])
		r.target = n == 1000 ? "<= 1.0" : n == 10000 ? "<= 1.5" : NULL;
	r.headline = r.target != NULL;
	kb_emit(&r);
}

static void emit_cells(const struct opts *op, unsigned long n, size_t si, unsigned long len,
		       struct cell c[N_ENG][MAX_SIZES], size_t zero_idx, const char *compile_err,
		       const struct kern *k)
{
	int e, m;

	for (e = 0; e < N_ENG; e++) {
		if (!op->eng[e])
			continue;
		for (m = 0; m < 2; m++) {
			const char *mode = m ? "cold" : "warm";
			struct cell *cc = &c[e][si], *c0 = &c[e][zero_idx];
			struct cell *hc = &c[ENG_HS][si], *h0 = &c[ENG_HS][zero_idx];
			double pkt = m ? cc->cold_pkt : cc->warm_pkt;
			double pk0 = m ? c0->cold_pkt : c0->warm_pkt;
			double byte = (pkt - pk0) / len;
			double hbyte = ((m ? hc->cold_pkt : hc->warm_pkt) -
					(m ? h0->cold_pkt : h0->warm_pkt)) / len;
			struct kb_result r = {
				.name = kb_fmt("dfa.%s.%s.%sp%lu.b%lu.ns_per_byte", eng_name[e], mode,
					       set_tag, n, len),
				.figure = kb_fmt("DFA %s, %s, %lu patterns, %lu B payload", eng_label[e],
						 mode, n, len),
				.unit = "ns/byte",
				.command = set_cmd(op, n, len),
				.group = set_tag[0] ? "dfa-file" : "dfa",
				.note = "(ns/packet(L) - ns/packet(0)) / L",
			};

			if (!len)
				continue;
			bool needs_t = e != ENG_HS && !ON_IMAGE(e);

			if ((compile_err && needs_t) || !cc->ok || !c0->ok) {
				r.reason = compile_err && needs_t ? compile_err :
					   cc->why ? cc->why : c0->why ? c0->why : "not measured";
				kb_emit(&r);
				continue;
			}
			r.value = byte;
			r.has_value = true;
			r.xk[0] = "ns_per_packet";
			r.xv[0] = pkt;
			r.xk[1] = "ns_per_packet_payload0";
			r.xv[1] = pk0;
			if (e == ENG_KERNEL && !k->xdp)
				r.note = "kernel DFA through ks_replay (no ks_xdp_main in this build); "
					 "(ns/packet(L) - ns/packet(0)) / L";
			if (e != ENG_HS && op->eng[ENG_HS] && hc->ok && h0->ok && hbyte > 0) {
				r.baseline = kb_fmt("dfa.hs.%s.%sp%lu.b%lu.ns_per_byte", mode, set_tag,
						    n, len);
				r.ratio = byte / hbyte;
				r.has_ratio = true;
			}
			r.headline = n == 1000 && len == 1500 &&
				     (e == ENG_KERNEL || (m == 0 && e != ENG_CMIN));
			kb_emit(&r);
			if (e == ENG_KERNEL && r.has_ratio)
				emit_vs_hs(&r, m, n, len);

			/* ns per packet as its own figure */
			r.name = kb_fmt("dfa.%s.%s.%sp%lu.b%lu.ns_per_packet", eng_name[e], mode,
					set_tag, n, len);
			r.figure = kb_fmt("DFA %s, %s, %lu patterns, %lu B payload, per packet",
					  eng_label[e], mode, n, len);
			r.unit = "ns/packet";
			r.value = pkt;
			r.target = NULL;
			r.headline = false;
			r.note = NULL;
			r.xk[0] = NULL;
			r.has_ratio = false;
			r.baseline = NULL;
			if (e != ENG_HS && op->eng[ENG_HS] && hc->ok) {
				r.baseline = kb_fmt("dfa.hs.%s.%sp%lu.b%lu.ns_per_packet", mode, set_tag,
						    n, len);
				r.ratio = pkt / (m ? hc->cold_pkt : hc->warm_pkt);
				r.has_ratio = true;
			}
			kb_emit(&r);
		}
	}
}

static void emit_scale(const struct opts *op, struct cell (*cells)[N_ENG][MAX_SIZES], size_t lo,
		       size_t hi, size_t big, size_t zero_idx, bool main_row)
{
	int e, m;

	for (e = 0; e < N_ENG; e++) {
		if (!op->eng[e])
			continue;
		for (m = 0; m < 2; m++) {
			struct cell *a = &cells[lo][e][big], *b = &cells[hi][e][big];
			struct cell *a0 = &cells[lo][e][zero_idx], *b0 = &cells[hi][e][zero_idx];
			double va, vb;
			struct kb_result r = {
				.name = kb_fmt("dfa.%s.%s.scale_p%lu_vs_p%lu", eng_name[e],
					       m ? "cold" : "warm", op->sets[hi], op->sets[lo]),
				.figure = kb_fmt("DFA %s, %s: ns/byte at %lu patterns / at %lu (%lu B)",
						 eng_label[e], m ? "cold" : "warm", op->sets[hi],
						 op->sets[lo], op->sizes[big]),
				.unit = "x",
				.command = kb_cmd(op->prog, "--patterns %lu,%lu --payloads 0,%lu",
						  op->sets[lo], op->sets[hi], op->sizes[big]),
				.group = "dfa-scale",
				.baseline = kb_fmt("dfa.%s.%s.p%lu.b%lu.ns_per_byte", eng_name[e],
						   m ? "cold" : "warm", op->sets[lo], op->sizes[big]),
			};

			if (e == ENG_KERNEL && m == 0 && main_row)
				r.target = "<= 1.3";
			if (!main_row)
				r.note = "the largest set of this run that fits the kernel tables "
					 "(the largest requested does not)";
			r.headline = m == 0 && (e == ENG_KERNEL || e == ENG_HS);
			if (!a->ok || !b->ok || !a0->ok || !b0->ok) {
				r.reason = b->why ? b->why : a->why ? a->why : "not measured";
				kb_emit(&r);
				continue;
			}
			va = (m ? a->cold_pkt : a->warm_pkt) - (m ? a0->cold_pkt : a0->warm_pkt);
			vb = (m ? b->cold_pkt : b->warm_pkt) - (m ? b0->cold_pkt : b0->warm_pkt);
			r.value = vb / va;
			r.has_value = true;
			r.ratio = r.value;
			r.has_ratio = true;
			kb_emit(&r);
		}
	}
}

/* Is word an element of the comma-separated list? */
static bool in_list(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static void usage(const char *p)
{
	fprintf(stderr,
		"usage: %s [--patterns 10,100,1000,2000,10000 | --patterns-file FILE [--set-name NAME]]\n"
		"          [--payloads 0,64,512,1500]\n"
		"          [--engines kernel,user,cmin,cpre,cpre2,hs,lab1,lab2,lab4,img4,fdr,ufdr]\n"
		"          [--reps N] [--cold N] [--warm-ms MS] [--seed S]\n"
		"FILE: one literal a line, \\xHH for any byte, \\\\ for a backslash.\n"
		"Prints one JSON result per line (see bench/bench_common.h).\n", p);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "patterns", 1, 0, 'p' }, { "payloads", 1, 0, 'b' }, { "engines", 1, 0, 'e' },
		{ "reps", 1, 0, 'r' }, { "cold", 1, 0, 'c' }, { "warm-ms", 1, 0, 'w' },
		{ "seed", 1, 0, 's' }, { "patterns-file", 1, 0, 'f' }, { "set-name", 1, 0, 'n' },
		{ "help", 0, 0, 'h' }, { 0 },
	};
	struct opts op = {
		.sets = { 10, 100, 1000, 2000, 10000 }, .n_sets = 5,
		.sizes = { 0, 64, 512, 1500 }, .n_sizes = 4,
		.reps = 9, .cold = 31, .warm_ms = 10, .seed = 42,
		.eng = { true, true, true, true, true, true, true, true, true, true, true, true },
		.prog = "build/bench/bench_dfa",
	};
	struct cell (*cells)[N_ENG][MAX_SIZES] = calloc(MAX_SETS, sizeof(*cells));
	struct kern k = {};
	struct ks_walk *w = calloc(1, sizeof(*w));
	size_t zero_idx = 0, si, ni;
	int c, e;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			op.n_sets = kb_parse_list(optarg, op.sets, MAX_SETS);
			break;
		case 'b':
			op.n_sizes = kb_parse_list(optarg, op.sizes, MAX_SIZES);
			break;
		case 'e':
			for (e = 0; e < N_ENG; e++)
				op.eng[e] = in_list(optarg, eng_name[e]);
			break;
		case 'r':
			op.reps = atoi(optarg);
			break;
		case 'c':
			op.cold = atoi(optarg);
			break;
		case 'w':
			op.warm_ms = atof(optarg);
			break;
		case 's':
			op.seed = strtoull(optarg, NULL, 0);
			break;
		case 'f':
			op.patterns_file = optarg;
			break;
		case 'n':
			op.set_name = optarg;
			break;
		default:
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (op.reps < 1)
		op.reps = 1;
	if (op.cold < 1)
		op.cold = 1;
	if (op.cold > 63)
		op.cold = 63;
	/* payload 0 is the per-packet baseline of ns/byte: always measure it */
	for (si = 0; si < op.n_sizes && op.sizes[si]; si++)
		;
	if (si == op.n_sizes) {
		if (op.n_sizes == MAX_SIZES)
			op.n_sizes--;
		op.sizes[op.n_sizes++] = 0;
	}
	for (si = 0; si < op.n_sizes; si++) {
		if (op.sizes[si] > 1500)
			op.sizes[si] = 1500;
		if (!op.sizes[si])
			zero_idx = si;
	}
	ks_log_setup_libbpf();
	ks_walk_init(w);

	if (op.eng[ENG_KERNEL] && kern_load(&k)) {
		fprintf(stderr, "bench_dfa: kernel: %s\n", k.why);
	} else if (op.eng[ENG_KERNEL]) {
		fprintf(stderr, "bench_dfa: kernel program: %s\n",
			k.xdp ? "ks_xdp_main (XDP)" : "ks_replay (fallback: no ks_xdp_main)");
	}

	if (op.patterns_file) {
		op.n_sets = 1;
		set_tag = kb_fmt("%s.", op.set_name ? op.set_name : "file");
	}
	for (ni = 0; ni < op.n_sets; ni++) {
		struct litset ls = {};
		unsigned long n;
		char *yaml;
		size_t skipped;
		struct ks_compile_info info;
		char err[512] = "";
		const char *cerr = NULL;
		struct ks_tables *t;
		struct hs h = {};
		uint64_t t0 = kb_now_ns();
		double compile_ms;
		struct kb_rng rng;

		if (op.patterns_file) {
			int rerr = read_patterns(op.patterns_file, &ls);

			if (rerr || !ls.n) {
				fprintf(stderr, "bench_dfa: %s: %s\n", op.patterns_file,
					rerr ? strerror(-rerr) : "no patterns");
				return 1;
			}
			op.sets[ni] = ls.n;
		} else {
			gen_literals(&ls, op.sets[ni], op.seed);
		}
		n = op.sets[ni];
		yaml = gen_yaml(&ls, &skipped);
		if (skipped)
			fprintf(stderr, "bench_dfa: %zu of %lu literals have bytes EQL cannot carry: "
				"not in the rules of the kernel/user/c* engines\n", skipped, n);
		t = kb_compile(yaml, NULL, &info, err, sizeof(err));
		compile_ms = (kb_now_ns() - t0) / 1e6;
		if (!t) {
			cerr = kb_fmt("compiler: %s", err);
			fprintf(stderr, "bench_dfa: %lu patterns: %s\n", n, cerr);
		} else {
			fprintf(stderr, "bench_dfa: %lu patterns: %u states, %u classes, %zu KiB DFA, "
				"compiled in %.0f ms\n", n, info.n_states, info.n_classes,
				info.dfa_bytes >> 10, compile_ms);
		}
		{
			struct kb_result r = {
				.name = kb_fmt("dfa.compile.%sp%lu.ms", set_tag, n),
				.figure = kb_fmt("rules compiler: %lu payload literals%s%s", n,
						 op.patterns_file ? " from " : "",
						 op.patterns_file ? op.patterns_file : ""),
				.unit = "ms", .value = compile_ms, .has_value = t != NULL,
				.reason = cerr, .group = "dfa-info",
				.command = op.patterns_file ?
					   kb_cmd(op.prog, "--patterns-file %s --payloads 0 --engines user",
						  op.patterns_file) :
					   kb_cmd(op.prog, "--patterns %lu --payloads 0 --engines user", n),
				.xk = { "dfa_states", "byte_classes", "dfa_bytes" },
				.xv = { t ? info.n_states : NAN, t ? info.n_classes : NAN,
					t ? info.dfa_bytes : NAN },
			};
			kb_emit(&r);
		}
		if (op.eng[ENG_HS] && hs_build(&h, &ls))
			fprintf(stderr, "bench_dfa: hyperscan: %s\n", h.why);
		pre_maxlen = 0;
		for (si = 0; si < n; si++)
			if (ls.len[si] > pre_maxlen)
				pre_maxlen = ls.len[si];
		if (op.eng[ENG_LAB1] || op.eng[ENG_LAB2] || op.eng[ENG_LAB4] || op.eng[ENG_IMG4] ||
		    op.eng[ENG_FDR] || op.eng[ENG_UFDR])
			lab_open(&op, &ls, kb_fmt("%sp%lu", set_tag, n));
		if (t && k.loaded) {
			int ierr = ks_engine_install(&k.e, t);

			if (ierr) {
				snprintf(k.why, sizeof(k.why), "ks_engine_install: %s", strerror(-ierr));
				fprintf(stderr, "bench_dfa: %s\n", k.why);
			}
		}

		for (si = 0; si < op.n_sizes; si++) {
			size_t len = op.sizes[si], np = 1 + op.cold, i;
			uint8_t **pays = calloc(np, sizeof(*pays)), **frames = calloc(np, sizeof(*frames));
			size_t *flens = calloc(np, sizeof(*flens));
			unsigned long hs_hits = 0;

			kb_rng_seed(&rng, op.seed * 7919 + len);
			for (i = 0; i < np; i++) {
				pays[i] = malloc(len + 1);
				frames[i] = malloc(len + 64);
				gen_payload(&rng, pays[i], len, t, w, h.db ? &h : NULL);
				flens[i] = build_frame(frames[i], pays[i], len);
				if (h.db)
					hs_hits += hs_once(&h, pays[i], len) != 0;
			}
			if (len && lab.fdr.tab)
				fdr_rates(&op, kb_fmt("%sp%lu", set_tag, n), n, len, pays, np, w);
			if (hs_hits)
				fprintf(stderr, "bench_dfa: note: Hyperscan matched %lu of %zu payloads "
					"the DFA did not\n", hs_hits, np);
			for (e = 0; e < N_ENG; e++) {
				struct cell *cc = &cells[ni][e][si];

				if (!op.eng[e])
					continue;
				if (e == ENG_HS && !h.db) {
					cc->why = kb_fmt("%s", h.why);
					continue;
				}
				if (ON_IMAGE(e) && !lab.ok) {
					cc->why = kb_fmt("%s", lab.why);
					continue;
				}
				if (IS_LAB(e) && !lab.run[e].skel) {
					cc->why = "the lab program did not load";
					continue;
				}
				if ((e == ENG_FDR || e == ENG_UFDR) && !lab.fdr.tab) {
					cc->why = "no prefilter";
					continue;
				}
				if (e != ENG_HS && !ON_IMAGE(e) && !t) {
					cc->why = cerr;
					continue;
				}
				if (e == ENG_KERNEL && (!k.loaded || k.why[0])) {
					cc->why = kb_fmt("%s", k.why);
					continue;
				}
				measure(&op, e, &k, t, w, &h, pays, frames, flens, len, cc);
				fprintf(stderr, "bench_dfa: %-6s p=%-5lu L=%-4zu warm %9.1f ns/pkt  "
					"cold %9.1f ns/pkt\n", eng_name[e], n, len, cc->warm_pkt,
					cc->cold_pkt);
			}
			for (i = 0; i < np; i++) {
				free(pays[i]);
				free(frames[i]);
			}
			free(pays);
			free(frames);
			free(flens);
		}
		for (si = 0; si < op.n_sizes; si++)
			emit_cells(&op, n, si, op.sizes[si], cells[ni], zero_idx, cerr, &k);

		if (h.scratch)
			hs_free_scratch(h.scratch);
		if (h.db)
			hs_free_database(h.db);
		free(t);
		free(yaml);
		lab_close();
		litset_free(&ls);
	}

	/*
	 * Scaling: ns/byte at the largest set over the smallest, at the largest
	 * payload; when the largest set does not compile, also the largest
	 * one that did (informational).
	 */
	{
		size_t big = 0, lo = 0, hi = 0, fit = (size_t)-1;

		for (si = 0; si < op.n_sizes; si++)
			if (op.sizes[si] > op.sizes[big])
				big = si;
		for (ni = 0; ni < op.n_sets; ni++) {
			if (op.sets[ni] < op.sets[lo])
				lo = ni;
			if (op.sets[ni] > op.sets[hi])
				hi = ni;
		}
		for (ni = 0; ni < op.n_sets; ni++)
			if (ni != lo && cells[ni][ENG_USER][big].ok &&
			    (fit == (size_t)-1 || op.sets[ni] > op.sets[fit]))
				fit = ni;
		if (op.sizes[big] && lo != hi)
			emit_scale(&op, cells, lo, hi, big, zero_idx, true);
		if (op.sizes[big] && fit != (size_t)-1 && fit != hi)
			emit_scale(&op, cells, lo, fit, big, zero_idx, false);
	}
	if (k.loaded)
		ks_engine_destroy(&k.e);
	free(k.rctx);
	free(k.ev);
	free(w);
	free(cells);
	return 0;
}
