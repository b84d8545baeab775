// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The production DFA past the old 16-bit limit (issue 11): 1,000 rules of
 * 10 random literals each (10,000 literals of 4..16 bytes, more than
 * 65,535 DFA states), compiled by the production compiler, installed in
 * the production object, and packet events of 100..1,500 payload bytes
 * (1 to 4 interleaved walks, literals across segment boundaries too)
 * replayed through ks_replay (BPF_PROG_TEST_RUN). Every event's rule
 * matches in the kernel must be the C model's (tablewalk.c over the same
 * struct ks_tables), and every literal planted in an event must have made
 * its rule match.
 *
 * The tables map holds the size class the rules need, no more, and a
 * rule set needing a larger class than the programs were loaded for is
 * refused without a change (the maps and the mask are fixed at load).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "kestrel/tablewalk.h"
#include "testutil.h"
#include "test_progs.h"

#define N_RULES		1000
#define LITS_PER_RULE	10
#define N_EVENTS	48
#define PAY_MAX		1500
#define PID_BASE	4000

static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789._:=-";
static char lits[N_RULES * LITS_PER_RULE][17];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	return ks_tenv_rnd(&rng, n);
}

static void rand_text(char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = alpha[rnd(sizeof(alpha) - 1)];
	p[n] = 0;
}

/* Rule r: the payload contains any of its LITS_PER_RULE literals. */
static char *scale_rules(void)
{
	size_t cap = N_RULES * (LITS_PER_RULE * 24 + 160), len = 0;
	char *y = malloc(cap);
	int r, k;

	for (r = 0; r < N_RULES; r++) {
		len += snprintf(y + len, cap - len,
				"- rule: sc%04d\n  name: scale %d\n  severity: low\n  query: |\n"
				"    network where event.action == \"packet\" and payload : (", r, r);
		for (k = 0; k < LITS_PER_RULE; k++) {
			char *l = lits[r * LITS_PER_RULE + k];

			rand_text(l, 4 + rnd(13));
			len += snprintf(y + len, cap - len, "%s\"*%s*\"", k ? ", " : "", l);
		}
		len += snprintf(y + len, cap - len, ")\n");
	}
	return y;
}

/* A packet whose payload is random text of 100..PAY_MAX bytes with `plant`
 * rules' literals in it (recorded in planted[]); its source port is
 * PID_BASE + i. */
static int pay_event(int i, int plant, int *planted, struct ks_event *ev)
{
	char pay[PAY_MAX + 1], *js = NULL;
	size_t n = 100 + rnd(PAY_MAX - 99), at;
	const char *l;
	int k, ret;

	rand_text(pay, n);
	for (k = 0; k < plant; k++) {
		planted[k] = rnd(N_RULES);
		l = lits[planted[k] * LITS_PER_RULE + rnd(LITS_PER_RULE)];
		/* each in its own third of the payload: none overwrites another */
		at = k * (n / 3) + rnd(n / 3 - strlen(l));
		memcpy(pay + at, l, strlen(l));
	}
	if (asprintf(&js, "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"event\":{\"category\":"
		     "\"network\",\"action\":\"packet\"},\"source\":{\"ip\":\"10.0.0.1\","
		     "\"port\":%d},\"destination\":{\"ip\":\"10.0.0.2\",\"port\":80},"
		     "\"network\":{\"transport\":\"tcp\",\"direction\":\"ingress\"},"
		     "\"payload\":\"%s\"}", PID_BASE + i, pay) < 0)
		return -1;
	ret = ks_tenv_event(js, ev);
	free(js);
	return ret;
}

static const struct ks_event *forwarded(const struct ks_tenv *te, int i)
{
	size_t k;

	for (k = 0; k < te->n; k++)
		if (te->evs[k].sport == PID_BASE + i)
			return &te->evs[k];
	return NULL;
}

/* Event i's matches, kernel against model; returns how many rules matched. */
static int compare(struct ks_tenv *te, struct ks_walk *w, int i, const struct ks_event *ev,
		   const int *planted, int plant)
{
	const struct ks_event *kev = forwarded(te, i);
	int r, k, n = 0, diff = 0;
	bool want, got;

	ks_walk_event(te->t, ev, w);
	for (r = 0; r < N_RULES; r++) {
		want = ks_walk_verdict(w, te->t->rules[r].first_step) == KS_TV_TRUE;
		got = kev && ks_tenv_matched(te, kev, r, false);
		diff += want != got;
		n += got;
	}
	ASSERT_EQ(diff, 0, "kernel matches == C model matches");
	for (k = 0; k < plant; k++)
		ASSERT_TRUE(kev && ks_tenv_matched(te, kev, planted[k], false),
			    "a planted literal's rule matches");
	return n;
}

/* The tables map's value: the struct up to the DFA, then the class. */
static void check_value_size(struct ks_tenv *te, __u32 class)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	ASSERT_EQ(te->e.dfa_bytes, class, "size class loaded");
	if (!ASSERT_OK(bpf_obj_get_info_by_fd(te->e.tables_fd, &info, &len), "map info"))
		return;
	ASSERT_EQ(info.value_size, KS_TABLES_VALUE_SIZE(class), "tables value size");
}

/*
 * The same tables read into a staged map (as a .kbin reload reads them):
 * the bytes past the map's class land in the staging's zero pages, and
 * the install refuses them all the same; the staged map goes.
 */
static void size_refused_staged(struct ks_tenv *te, const struct ks_tables *big)
{
	struct ks_tables *s = ks_tables_stage(&te->e);

	if (!ASSERT_OK_PTR(s, "a staged tables map"))
		return;
	ASSERT_EQ(te->e.staged_len >= sizeof(*s), 1, "the staging holds any class");
	memcpy(s, big, KS_TABLES_USED(big));
	ASSERT_EQ(ks_engine_install(&te->e, s), -E2BIG, "staged: a larger class is refused");
	ks_tables_unstage(&te->e);
	ASSERT_EQ(te->e.staged_fd, -1, "the staged map closed");
}

/*
 * Programs loaded for a small rule set (the 1 MiB default floor): the
 * 10,000 literals' tables (16 MiB) are refused, E2BIG, and the generation
 * of the small set stays.
 */
static void size_refused(const struct ks_tables *big)
{
	struct ks_engine_opts o = { .replay = true, .mode = KS_MODE_SIGNAL };
	struct ks_tenv te = {};
	__u32 gen;

	if (!ASSERT_OK(ks_tenv_compile(&te, "- rule: small\n  name: small\n  query: |\n"
				       "    process where process.name == \"small\"\n"), "small") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load small"))
		goto out;
	check_value_size(&te, KS_DFA_AUTO_FLOOR);
	gen = te.e.generation;
	ASSERT_EQ(ks_engine_install(&te.e, (struct ks_tables *)big), -E2BIG,
		  "a larger class is refused");
	size_refused_staged(&te, big);
	ASSERT_EQ(te.e.generation, gen, "the generation stays");
	check_value_size(&te, KS_DFA_AUTO_FLOOR);
out:
	ks_tenv_close(&te);
}

void test_dfa_scale(void)
{
	struct ks_engine_opts o = { .replay = true, .mode = KS_MODE_SIGNAL };
	struct ks_event *ev = calloc(N_EVENTS, sizeof(*ev));
	struct ks_walk *w = calloc(1, sizeof(*w));
	int planted[N_EVENTS][3], i, matched = 0;
	struct ks_tenv te = {};
	char *rules = scale_rules();

	ks_walk_init(w);
	if (!ASSERT_OK(ks_tenv_compile(&te, rules), "compile 10,000 literals"))
		goto out;
	test__log("%u states, %u byte classes, %u rules\n", te.t->hdr.n_states,
		  te.t->hdr.n_classes, te.t->hdr.n_rules);
	ASSERT_GT(te.t->hdr.n_states, 65535, "more states than 16-bit ids hold");
	test__log("payload prefilter %s\n",
		  te.t->dfa_hdr.autos[KS_F_PAYLOAD][KS_CASE_FOLD].flags & KS_DFA_AU_FDR ?
		  "kept by the compiler's sample scan" : "left out");
	if (!ASSERT_OK(ks_tenv_load(&te, &o), "load and install"))
		goto out;
	check_value_size(&te, te.t->dfa_hdr.tab_bytes);
	test__log("DFA %u bytes used, size class %u, tables value %zu bytes\n",
		  te.t->hdr.n_states * te.t->dfa_hdr.row_bytes, te.t->dfa_hdr.tab_bytes,
		  (size_t)KS_TABLES_VALUE_SIZE(te.t->dfa_hdr.tab_bytes));
	size_refused(te.t);
	for (i = 0; i < N_EVENTS; i++)
		if (!ASSERT_OK(pay_event(i, i % 4, planted[i], &ev[i]), "event"))
			goto out;
	if (!ASSERT_OK(ks_tenv_replay(&te, ev, N_EVENTS), "replay"))
		goto out;
	for (i = 0; i < N_EVENTS; i++)
		matched += compare(&te, w, i, &ev[i], planted[i], i % 4);
	test__log("%d events, %zu forwarded, %d rule matches\n", N_EVENTS, te.n, matched);
	ASSERT_GT(matched, N_EVENTS / 2, "planted literals matched");
out:
	ks_tenv_close(&te);
	free(rules);
	free(ev);
	free(w);
}
