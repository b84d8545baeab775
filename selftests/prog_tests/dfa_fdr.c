// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The payload prefilter in production (maps/ks_fdr.h, bpf/ks_fdr.bpf.h,
 * issue 11): a rule set of payload literals compiled by the production
 * compiler, which builds the prefilter and flags the payload automaton,
 * installed in the production object, and packet events replayed
 * through ks_replay (BPF_PROG_TEST_RUN) and frames through ks_xdp_main.
 *
 * Payloads: random bytes (the sentinels' 0x01 and 0x02 among them),
 * random text, literals planted at the payload's first and last byte,
 * across the prefilter's chunk edges and the end of its give-up window,
 * in flipped case for the case-folded rules, and so many that the
 * prefilter gives up for the DFA's walks alone. Every event's rule
 * matches must be the same with the prefilter, without it (the same
 * tables, the flag and table cleared) and in the C model (tablewalk.c),
 * and every planted literal's rule must match; a prefilter table that
 * lets no candidate through must make the same check fail (the check
 * sees a dropped match).
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "kestrel/engine.h"
#include "kestrel/fdr.h"
#include "kestrel/tablewalk.h"
#include "kestrel/xdp.h"
#include "testutil.h"
#include "test_progs.h"

#define N_RULES		400
#define N_EVENTS	120
#define PAY_MAX		1500
#define PORT_BASE	5000
#define MAX_PLANT	40

static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789._:=-";
static char lits[N_RULES][17];
static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t n)
{
	return ks_tenv_rnd(&rng, n);
}

/*
 * Rule r: its literal anywhere in the payload, case-folded (`:`), but
 * every 8th case-sensitive (`like`), and some anchored at the payload's
 * start or end.
 */
static char *fdr_rules(void)
{
	size_t cap = N_RULES * 200, len = 0;
	char *y = malloc(cap);
	const char *op, *pre, *post;
	int r, k, n;

	for (r = 0; r < N_RULES; r++) {
		n = 4 + rnd(13);
		for (k = 0; k < n; k++)
			lits[r][k] = alpha[rnd(sizeof(alpha) - 1)];
		lits[r][n] = 0;
		op = r % 8 == 7 ? "like" : ":";
		pre = r % 16 == 3 ? "" : "*";
		post = r % 16 == 5 ? "" : "*";
		len += snprintf(y + len, cap - len,
				"- rule: fd%04d\n  name: fdr %d\n  severity: low\n  query: |\n"
				"    network where event.action == \"packet\" and payload %s \"%s%s%s\"\n",
				r, r, op, pre, lits[r], post);
	}
	return y;
}

/* Literal of rule r into p at o, in flipped case when the rule folds. */
static void plant(uint8_t *p, size_t o, int r)
{
	size_t k, n = strlen(lits[r]);

	for (k = 0; k < n; k++) {
		uint8_t c = lits[r][k];

		if (r % 8 != 7 && c >= 'a' && c <= 'z' && rnd(2))
			c -= 32;
		p[o + k] = c;
	}
}

/* An unanchored rule for a literal planted mid-payload. */
static int any_rule(void)
{
	int r;

	do
		r = rnd(N_RULES);
	while (r % 16 == 3 || r % 16 == 5);
	return r;
}

/*
 * Payload of event i by its kind; the rules planted into planted[],
 * returns the payload's length. Chunk edges: the pair ending at payload
 * offset o is the prefilter's pair o + 2 from the scan's start, chunks
 * are KS_FDR_CHUNK pairs (bpf/ks_fdr.bpf.h).
 */
static size_t make_payload(int i, uint8_t *p, int *planted, int *np)
{
	size_t n = 1 + rnd(PAY_MAX), k, o, l;
	int kind = i % 7, r, dense[4];

	*np = 0;
	for (k = 0; k < n; k++)
		p[k] = kind == 0 ? (uint8_t)rnd(256) : (uint8_t)alpha[rnd(sizeof(alpha) - 1)];
	if (kind == 0 || kind == 1)
		return n;
	if (kind == 2 || kind == 3) {	/* at the first or the last byte */
		r = kind == 2 ? (int)rnd(N_RULES / 16) * 16 + 3 : (int)rnd(N_RULES / 16) * 16 + 5;
		l = strlen(lits[r]);
		n = l + rnd(PAY_MAX - l);
		plant(p, kind == 2 ? 0 : n - l, r);
		planted[(*np)++] = r;
		return n;
	}
	if (kind == 4) {		/* ending around a chunk edge */
		n = PAY_MAX;
		for (k = 1; k * KS_FDR_CHUNK + 4 < n && *np < MAX_PLANT; k += 1 + rnd(3)) {
			r = any_rule();
			o = k * KS_FDR_CHUNK - 2 - rnd(4);	/* the pair ending there */
			l = strlen(lits[r]);
			if (o + 1 < l)
				continue;
			plant(p, o + 1 - l, r);
			planted[(*np)++] = r;
			k += l / KS_FDR_CHUNK;
		}
		return n;
	}
	/*
	 * kind 5: dense, 4 rules' literals over and over (the prefilter
	 * gives up; more rules would overflow the KS_MAX_MATCH matches an
	 * event reports); 6: sparse, anywhere
	 */
	n = kind == 5 ? 300 + rnd(PAY_MAX - 300) : n;
	for (k = 0; k < 4; k++)	/* folded: the prefilter's automaton */
		do
			dense[k] = any_rule();
		while (dense[k] % 8 == 7);
	for (o = 0, k = 0; *np < (kind == 5 ? MAX_PLANT : 3); k++) {
		r = kind == 5 ? dense[k % 4] : any_rule();
		l = strlen(lits[r]);
		if (o + l > n)
			break;
		plant(p, o, r);
		planted[(*np)++] = r;
		o += l + (kind == 5 ? rnd(3) : rnd(n / 3 + 1));
	}
	return n;
}

struct fdr_events {
	struct ks_event ev[N_EVENTS];
	uint8_t pay[N_EVENTS][PAY_MAX];
	size_t len[N_EVENTS];
	int planted[N_EVENTS][MAX_PLANT], np[N_EVENTS];
};

static int make_events(struct fdr_events *fe)
{
	char js[512];
	int i;

	for (i = 0; i < N_EVENTS; i++) {
		fe->len[i] = make_payload(i, fe->pay[i], fe->planted[i], &fe->np[i]);
		snprintf(js, sizeof(js),
			 "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"event\":{\"category\":"
			 "\"network\",\"action\":\"packet\"},\"source\":{\"ip\":\"10.0.0.1\","
			 "\"port\":%d},\"destination\":{\"ip\":\"10.0.0.2\",\"port\":80},"
			 "\"network\":{\"transport\":\"udp\",\"direction\":\"ingress\"},"
			 "\"payload\":\"x\"}", PORT_BASE + i);
		if (ks_tenv_event(js, &fe->ev[i]))
			return -1;
		memcpy(fe->ev[i].payload, fe->pay[i], fe->len[i]);
		fe->ev[i].str[KS_F_PAYLOAD].len = fe->len[i];
	}
	return 0;
}

static const struct ks_event *forwarded(const struct ks_tenv *te, size_t from, int i)
{
	size_t k;

	for (k = from; k < te->n; k++)
		if (te->evs[k].sport == PORT_BASE + i)
			return &te->evs[k];
	return NULL;
}

/*
 * Rules whose match differs between the kernel's forwarded events (from
 * te->evs[from] on) and the model, plus planted literals whose rule did
 * not match; got[i][r] the kernel's matches.
 */
static int differences(struct ks_tenv *te, size_t from, const struct fdr_events *fe,
		       struct ks_walk *w, uint8_t (*got)[N_RULES])
{
	const struct ks_event *kev;
	int i, r, k, diff = 0;
	bool want;

	for (i = 0; i < N_EVENTS; i++) {
		kev = forwarded(te, from, i);
		ks_walk_event(te->t, &fe->ev[i], w);
		for (r = 0; r < N_RULES; r++) {
			want = ks_walk_verdict(w, te->t->rules[r].first_step) == KS_TV_TRUE;
			got[i][r] = kev && ks_tenv_matched(te, kev, r, false);
			diff += want != got[i][r];
			if (want != got[i][r] && env.verbose)
				fprintf(stderr, "  event %d (kind %d, %zu B) rule %d: model %d kernel %d\n",
					i, i % 7, fe->len[i], r, want, got[i][r]);
		}
		for (k = 0; k < fe->np[i]; k++)
			diff += !got[i][fe->planted[i][k]];
	}
	return diff;
}

/*
 * The C model of the prefilter (rules-compiler/fdr.c) over the same
 * payloads: the dense ones make it give up, the others not, so both
 * paths of the kernel's scan ran.
 */
static void model_gives_up(const struct ks_tables *t, const struct fdr_events *fe,
			   struct ks_walk *w)
{
	struct ks_dfa_view v = { .hdr = &t->dfa_hdr, .tab = t->dfa, .acc_list = t->acc_list };
	struct ks_fdr f = { .tab = (uint64_t *)t->fdr.tab };
	struct ks_fdr_stats st = {};
	int i;

	memcpy(f.ov, t->fdr.ov, sizeof(f.ov));
	for (i = 0; i < N_EVENTS; i++)
		ks_fdr_walk(&f, &v, KS_F_PAYLOAD, KS_CASE_FOLD, KS_DFA_COL_FOLD, fe->pay[i],
			    fe->len[i], w, &st);
	test__log("prefilter model: %llu candidates in %llu bytes, %llu confirm bytes, gave up on %llu of %d\n",
		  (unsigned long long)st.cands, (unsigned long long)st.bytes,
		  (unsigned long long)st.confirm_bytes, (unsigned long long)st.aborts, N_EVENTS);
	ASSERT_GE(st.aborts, N_EVENTS / 7, "the dense payloads give up");
	ASSERT_LT(st.aborts, N_EVENTS / 3, "the others do not");
}

/* A copy of the compiled tables with the prefilter changed by how. */
enum { FDR_OFF, FDR_NOTHING, FDR_TRIPLE };

/*
 * The prefilter rebuilt with the other key (hashed triples; the rules'
 * few literals take pairs): over the folded rules' patterns as the
 * compiler makes them (rules-compiler/atoms.c), anchored ones with
 * their sentinel. 0, or -1.
 */
static int rebuild_triple(struct ks_tables *v)
{
	static uint8_t pat[N_RULES][18];
	const uint8_t *lp[N_RULES];
	uint32_t len[N_RULES], n = 0, r, k;
	struct ks_fdr f;
	char err[80];

	for (r = 0; r < N_RULES; r++) {
		if (r % 8 == 7)		/* `like`: the exact automaton */
			continue;
		k = 0;
		if (r % 16 == 3)
			pat[n][k++] = KS_SENT_BEGIN;
		memcpy(pat[n] + k, lits[r], strlen(lits[r]));
		k += strlen(lits[r]);
		if (r % 16 == 5)
			pat[n][k++] = KS_SENT_END;
		lp[n] = pat[n];
		len[n++] = k;
	}
	if (ks_fdr_build_key(lp, len, n, KS_CASE_FOLD, KS_FDR_KEY_TRIPLE, &f, err, sizeof(err)))
		return -1;
	memcpy(v->fdr.tab, f.tab, sizeof(v->fdr.tab));
	memcpy(v->fdr.ov, f.ov, sizeof(v->fdr.ov));
	v->fdr.key = f.key;
	ks_fdr_free(&f);
	return 0;
}

static struct ks_tables *variant(const struct ks_tables *t, int how)
{
	struct ks_tables *v = calloc(1, sizeof(*v));
	uint32_t m, x;

	if (!v)
		return NULL;
	memcpy(v, t, KS_TABLES_USED(t));
	memcpy(&v->fdr, &t->fdr, sizeof(v->fdr));
	for (m = 0; m < KS_CASE_N; m++) {
		if (how == FDR_OFF)
			v->dfa_hdr.autos[KS_F_PAYLOAD][m].flags = 0;
	}
	if (how == FDR_OFF)
		memset(&v->fdr, 0, sizeof(v->fdr));
	else if (how == FDR_TRIPLE && rebuild_triple(v)) {
		free(v);
		return NULL;
	} else if (how == FDR_NOTHING)	/* no bucket fires past the stream's first pairs */
		for (x = 0; x < KS_FDR_DOMAIN; x++)
			v->fdr.tab[x] = KS_FDR_LANE_MASK;
	return v;
}

/* Event i as an Ethernet/IPv4/UDP frame into f; returns its length. */
static size_t frame_of(const struct fdr_events *fe, int i, uint8_t *f)
{
	size_t n = fe->len[i], ip = 14, udp = ip + 20;

	memset(f, 0, udp + 8);
	f[12] = 0x08;			/* ETH_P_IP */
	f[ip] = 0x45;
	f[ip + 2] = (20 + 8 + n) >> 8;
	f[ip + 3] = (20 + 8 + n) & 0xff;
	f[ip + 6] = 0x40;		/* DF */
	f[ip + 8] = 64;
	f[ip + 9] = 17;			/* UDP */
	memcpy(f + ip + 12, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	f[udp] = (PORT_BASE + i) >> 8;
	f[udp + 1] = (PORT_BASE + i) & 0xff;
	f[udp + 3] = 80;
	f[udp + 4] = (8 + n) >> 8;
	f[udp + 5] = (8 + n) & 0xff;
	memcpy(f + udp + 8, fe->pay[i], n);
	return udp + 8 + n;
}

/* Every event as a frame through ks_xdp_main (BPF_PROG_TEST_RUN). */
static int run_frames(struct ks_tenv *te, const struct fdr_events *fe)
{
	uint8_t f[64 + PAY_MAX];
	int fd = ks_xdp_prog_fd(&te->e), i, err;

	for (i = 0; i < N_EVENTS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .repeat = 1);

		o.data_size_in = frame_of(fe, i, f);
		err = bpf_prog_test_run_opts(fd, &o);
		if (err)
			return err;
		ks_tenv_drain(te, 0);
	}
	return 0;
}

static int run_events(struct ks_tenv *te, const struct fdr_events *fe)
{
	return ks_tenv_replay(te, fe->ev, N_EVENTS);
}

typedef int (*runner)(struct ks_tenv *te, const struct fdr_events *fe);

static int install_run(struct ks_tenv *te, struct ks_tables *t, const struct fdr_events *fe,
		       runner run)
{
	int err = t ? ks_engine_install(&te->e, t) : 0;

	return err ? err : run(te, fe);
}

/*
 * The installed tables t's prefilter slot (the dropping one) said to be
 * another generation's (maps/ks_fdr.h): the kernel must not use it, and
 * walks the DFA alone: every match again.
 */
static void other_generation(struct ks_tenv *te, const struct ks_tables *t,
			     const struct fdr_events *fe, struct ks_walk *w,
			     uint8_t (*off)[N_RULES], runner run)
{
	struct ks_fdr_slot *m = te->e.fdr_map[t->hdr.fdr_slot % KS_FDR_SLOTS];
	size_t from = te->n;

	if (!ASSERT_OK_PTR(m, "the slot mapped") ||
	    !ASSERT_EQ(m->generation, t->hdr.generation, "the slot is the tables' generation"))
		return;
	m->generation = t->hdr.generation + 1;
	if (ASSERT_OK(run(te, fe), "slot of another generation"))
		ASSERT_EQ(differences(te, from, fe, w, off), 0,
			  "another generation's prefilter is not used");
	m->generation = t->hdr.generation;
}

/*
 * The events through `run` with the compiled tables (prefilter on), the
 * prefilter off, and a prefilter that drops candidates.
 */
static void run_all(struct ks_tenv *te, const struct fdr_events *fe, struct ks_walk *w,
		    uint8_t (*on)[N_RULES], uint8_t (*off)[N_RULES], runner run)
{
	struct ks_tables *v_off = variant(te->t, FDR_OFF), *v_none = variant(te->t, FDR_NOTHING);
	struct ks_tables *v_3 = variant(te->t, FDR_TRIPLE);
	size_t from;
	int matched = 0, i, r;

	if (!ASSERT_OK_PTR(v_off, "tables") || !ASSERT_OK_PTR(v_none, "tables") ||
	    !ASSERT_OK_PTR(v_3, "tables"))
		goto out;
	ASSERT_EQ(te->t->fdr.key, KS_FDR_KEY_PAIR, "the compiler took pairs for 400 literals");
	from = te->n;
	if (!ASSERT_OK(install_run(te, NULL, fe, run), "prefilter on"))
		goto out;
	ASSERT_EQ(differences(te, from, fe, w, on), 0, "prefilter on: kernel == model, planted all hit");
	from = te->n;
	if (!ASSERT_OK(install_run(te, v_off, fe, run), "prefilter off"))
		goto out;
	ASSERT_EQ(differences(te, from, fe, w, off), 0, "prefilter off: kernel == model");
	ASSERT_EQ(memcmp(on, off, N_EVENTS * N_RULES), 0, "matches with the prefilter == without");
	for (i = 0; i < N_EVENTS; i++)
		for (r = 0; r < N_RULES; r++)
			matched += on[i][r];
	test__log("%d events, %d rule matches\n", N_EVENTS, matched);
	ASSERT_GT(matched, N_EVENTS, "planted literals matched");
	if (run == run_events)
		model_gives_up(te->t, fe, w);
	from = te->n;
	if (ASSERT_OK(install_run(te, v_3, fe, run), "prefilter of triples"))
		ASSERT_EQ(differences(te, from, fe, w, on), 0, "triples: kernel == model, planted all hit");
	ASSERT_EQ(memcmp(on, off, N_EVENTS * N_RULES), 0, "matches with triples == without");
	/* the check itself: a prefilter that drops candidates is caught */
	from = te->n;
	if (ASSERT_OK(install_run(te, v_none, fe, run), "prefilter dropping"))
		ASSERT_GT(differences(te, from, fe, w, off), 0, "a dropped match is seen");
	other_generation(te, v_none, fe, w, off, run);
out:
	free(v_off);
	free(v_none);
	free(v_3);
}

/* The compiled tables loaded for replay or XDP (the production programs). */
static bool fdr_env(struct ks_tenv *te, const char *rules, bool xdp)
{
	struct ks_engine_opts o = { .replay = !xdp, .xdp = xdp, .no_host = xdp,
				    .payload_depth = xdp ? PAY_MAX : 0, .mode = KS_MODE_SIGNAL };

	if (!ASSERT_OK(ks_tenv_compile(te, rules), "compile"))
		return false;
	ASSERT_EQ(te->t->dfa_hdr.autos[KS_F_PAYLOAD][KS_CASE_FOLD].flags, KS_DFA_AU_FDR,
		  "the compiler put the prefilter on the folded payload automaton");
	ASSERT_EQ(te->t->dfa_hdr.autos[KS_F_PAYLOAD][KS_CASE_EXACT].flags, 0,
		  "one prefilter table");
	if (!ASSERT_OK(ks_tenv_load(te, &o), "load and install"))
		return false;
	return !xdp || ASSERT_OK(ks_xdp_set_ifname(&te->e, if_nametoindex("lo"), "lo"), "ifname");
}

void test_dfa_fdr(void)
{
	struct fdr_events *fe = calloc(1, sizeof(*fe));
	uint8_t (*on)[N_RULES] = calloc(N_EVENTS, N_RULES), (*off)[N_RULES] = calloc(N_EVENTS, N_RULES);
	struct ks_walk *w = calloc(1, sizeof(*w));
	struct ks_tenv te = {}, tx = {};
	char *rules = fdr_rules();

	if (!ASSERT_OK_PTR(fe, "events") || !ASSERT_OK_PTR(w, "walk") || !on || !off)
		goto out;
	ks_walk_init(w);
	if (!ASSERT_OK(make_events(fe), "events"))
		goto out;
	if (test__start_subtest("replay") && fdr_env(&te, rules, false))
		run_all(&te, fe, w, on, off, run_events);
	if (test__start_subtest("xdp") && fdr_env(&tx, rules, true))
		run_all(&tx, fe, w, on, off, run_frames);
out:
	ks_tenv_close(&te);
	ks_tenv_close(&tx);
	free(rules);
	free(fe);
	free(on);
	free(off);
	free(w);
}
