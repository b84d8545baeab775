/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the rules compiler's fuzz targets check beyond "no crash, no leak,
 * no sanitizer report", on every rule set that loads:
 *
 *  - the EQL printed for every parsed rule parses back and prints the
 *    same (a .kbin stores Sigma rules as that text and parses it again);
 *  - a rule set that compiles gives tables that ks_tables_check accepts
 *    (what the compiler writes, the .kbin loader must read);
 *  - on sample events, one of them cut from the fuzz input itself, the
 *    tables (walked by tablewalk.c) agree with the reference interpreter
 *    on every kernel-exact step (tests/test_tables_vs_interp.c's property).
 *
 * A violation aborts with the rule and what differed.
 */
#ifndef KS_FUZZ_COMMON_H
#define KS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kestrel/ecs.h>
#include <kestrel/kbin.h>
#include <kestrel/rules.h>
#include <kestrel/tablewalk.h>

#include "../testlib.h"

/* 3.4 MiB of tables and the walker's scratch: allocated once */
static struct ks_tables *fz_t;
static struct ks_walk *fz_w;
static struct ks_event *fz_ev;

static inline void fz_init(void)
{
	if (fz_t)
		return;
	fz_t = malloc(sizeof(*fz_t));
	fz_w = malloc(sizeof(*fz_w));
	fz_ev = malloc(sizeof(*fz_ev));
	if (!fz_t || !fz_w || !fz_ev)
		abort();
	ks_walk_init(fz_w);
}

static inline void fz_fail(const char *what, const struct ks_rule_src *r,
		    const char *detail)
{
	fprintf(stderr, "fuzz: %s\n  rule: %s\n  query: %s\n  %s\n", what,
		r ? r->id : "-", r && r->query_text ? r->query_text : "-",
		detail ? detail : "");
	abort();
}

static inline void fz_roundtrip(const struct ks_rule_src *r)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char *a = ks_query_format(r->q), *b;
	struct ks_query *q;

	q = ks_parse_query(rs, a, (struct ks_loc){ "printed", 1, 1 });
	if (!q) {
		ks_diags_print(&rs->diags, stderr);
		fz_fail("the printed query does not parse", r, a);
	}
	b = ks_query_format(q);
	if (strcmp(a, b))
		fz_fail("the printed query prints differently", r, b);
	free(a);
	free(b);
	ks_ruleset_free(rs);
}

static inline void fz_put(struct ks_event *ev, enum ks_field f, char *slot,
		   size_t cap, const uint8_t *p, size_t n)
{
	if (n > cap)
		n = cap;
	memcpy(slot, p, n);
	ev->str[f].off = slot - (char *)ev;
	ev->str[f].len = n;
}

/*
 * Events as the kernel and the decoder make them: a string field whose
 * KS_P_* bit is clear is empty. (The evaluator and the interpreter read
 * "null" differently otherwise: the bit and the length, or the bit alone;
 * one presence rule for all is issue 10's field catalogue.)
 */
static inline void fz_absent(struct ks_event *ev)
{
	const struct ks_field_info *fi;
	int f;

	for (f = KS_F_NONE + 1; f < KS_F_STR_N; f++) {
		fi = ks_field_by_id(f);
		if (fi && fi->present && !(ev->present & fi->present))
			ev->str[f].len = 0;
	}
}

/* Event k: every field set (k = 0) or some (k = 1), strings and numbers
 * from the input; or an exec of /bin/sh (k = 2). */
static inline void fz_event(struct ks_event *ev, const uint8_t *d, size_t n, int k)
{
	static const uint8_t sh[] = "/bin/sh\0-c\0id";
	uint8_t b = n ? d[0] : 0;

	memset(ev, 0, sizeof(*ev));
	if (k == 2) {
		d = sh;
		n = sizeof(sh) - 1;
	}
	ev->category = k == 2 ? KS_CAT_PROCESS : 1 + b % 3;
	ev->action = k == 2 ? KS_ACT_EXEC : 1 + b % (KS_ACT_N - 1);
	/*
	 * Only the pairs the kernel and the decoder make (a file packet is
	 * neither's: the compiler gives a category's steps its actions only,
	 * so "file where true" is false there and true to the interpreter).
	 */
	while (!ks_ecs_action_valid(ev->category, ev->action))
		ev->action = ev->action % (KS_ACT_N - 1) + 1;
	ev->present = k == 1 ? b * 0x01010101u : ~0u;
	ev->pid = n > 1 ? d[1] : 1;
	ev->uid = n > 2 ? d[2] : 0;
	ev->sport = ev->dport = n > 3 ? d[3] : 22;
	ev->transport = 6;
	ev->saddr[10] = ev->saddr[11] = ev->daddr[10] = ev->daddr[11] = 0xff;
	fz_put(ev, KS_F_PROCESS_EXECUTABLE, ev->exe, KS_PATH_MAX, d, n);
	fz_put(ev, KS_F_PROCESS_NAME, ev->comm, KS_COMM_MAX, d, n);
	fz_put(ev, KS_F_PROCESS_ARGS, ev->args, KS_ARGS_MAX, d, n);
	ev->str[KS_F_PROCESS_COMMAND_LINE] = ev->str[KS_F_PROCESS_ARGS];
	fz_put(ev, KS_F_PARENT_EXECUTABLE, ev->pexe, KS_PATH_MAX, d, n / 2);
	fz_put(ev, KS_F_PARENT_NAME, ev->pcomm, KS_COMM_MAX, d + n / 2, n - n / 2);
	fz_put(ev, KS_F_FILE_PATH, ev->path, KS_PATH_MAX, d, n);
	ev->str[KS_F_FILE_NAME] = ev->str[KS_F_FILE_PATH];
	ev->str[KS_F_FILE_EXTENSION] = ev->str[KS_F_PARENT_NAME];
	fz_put(ev, KS_F_FILE_ORIG_PATH, ev->orig, KS_PATH_MAX, d, n);
	ev->str[KS_F_FILE_ORIG_NAME] = ev->str[KS_F_FILE_ORIG_PATH];
	ev->str[KS_F_FILE_ORIG_EXT] = ev->str[KS_F_PARENT_NAME];
	fz_put(ev, KS_F_IFACE_NAME, ev->iface, KS_IFNAME_MAX, d, n);
	fz_put(ev, KS_F_PAYLOAD, ev->payload, KS_PAYLOAD_MAX, d, n);
	fz_absent(ev);
}

static inline void fz_agree(const struct ks_ruleset *rs, const struct ks_event *ev)
{
	const struct ks_step *s;
	bool want = false;
	long i;
	int tv;

	i = ks_test_walk_agree(fz_t, rs, ev, fz_w, NULL, &tv, &want);
	if (i < 0)
		return;
	s = &fz_t->steps[i];
	if (tv < 0)
		fz_fail("a table step has no query step", &rs->rules[s->rule], NULL);
	fprintf(stderr, "step %u: tables %d, interpreter %d\n", s->index, tv, want);
	fz_fail("the tables and the interpreter disagree", &rs->rules[s->rule], NULL);
}

/* Everything a rule set that loaded goes through. */
static inline void fz_rules(struct ks_ruleset *rs, const uint8_t *d, size_t n)
{
	struct ks_compile_info info = { 0 };
	uint32_t refuted;
	char err[256];
	size_t i;
	int k;

	fz_init();
	for (i = 0; i < rs->n_rules; i++)
		if (rs->rules[i].q)
			fz_roundtrip(&rs->rules[i]);
	if (!rs->n_rules || ks_diags_errors(&rs->diags) ||
	    ks_compile(rs, fz_t, &info)) {
		ks_compile_info_free(&info);
		return;
	}
	refuted = info.need_refuted;
	ks_compile_info_free(&info);
	if (refuted)	/* the need filter's proof refuted one (rules-compiler/dfa_need.c) */
		fz_fail("the compiler made a need filter that skips a needed byte", NULL, NULL);
	if (ks_tables_check(fz_t, err, sizeof(err)))
		fz_fail("the compiled tables fail ks_tables_check", NULL, err);
	for (k = 0; k < 3; k++) {
		fz_event(fz_ev, d, n, k);
		fz_agree(rs, fz_ev);
	}
}

/* The input as a NUL-terminated string (rule text is read as one). */
static inline char *fz_text(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, d, n);
	s[n] = 0;
	return s;
}

#endif /* KS_FUZZ_COMMON_H */
