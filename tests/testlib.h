/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the cmocka unit tests. */
#ifndef KS_TESTLIB_H
#define KS_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <kestrel/rules.h>
#include <kestrel/tablewalk.h>

/* All diagnostics as "file:line:col: level: msg" lines (no source); free() it. */
static inline char *ks_test_diag_text(const struct ks_diags *d)
{
	static const char *const lv[] = { "error", "warning", "note" };
	char *buf = NULL;
	size_t len, i;
	FILE *o = open_memstream(&buf, &len);

	for (i = 0; i < d->n; i++)
		fprintf(o, "%s%s:%d:%d: %s: %s", i ? "\n" : "", d->v[i].loc.file,
			d->v[i].loc.line, d->v[i].loc.col, lv[d->v[i].level],
			d->v[i].msg);
	fclose(o);
	return buf;
}

/* xorshift64*: fixed seeds give identical runs everywhere. */
static inline uint32_t ks_test_xorshift(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return (uint32_t)((*state * 0x2545f4914f6cdd1dull) >> 32);
}

/*
 * The tables (walked: tv) and the interpreter (want) agree on a step: the
 * same answer, or UNKNOWN from a step that is not kernel-exact or from an
 * event whose candidates overflowed (the kernel forwards those).
 */
static inline bool ks_test_agree(const struct ks_step *s, enum ks_tv tv,
				 bool want, bool overflow)
{
	if (tv == KS_TV_UNKNOWN)
		return !(s->flags & KS_S_EXACT) || overflow;
	return (tv == KS_TV_TRUE) == want;
}

/* Verdicts counted by ks_test_walk_agree. */
struct ks_test_tally {
	uint64_t cmp, t, f, u;
};

/*
 * Walk ev through t and ask the interpreter about every table step.
 * Returns the first step on which the two disagree, or on which the
 * table step has no query step (*tv is then -1), or -1 when all agree;
 * *tv and *want hold the step's answers. tally (or NULL) counts verdicts.
 */
static inline long ks_test_walk_agree(const struct ks_tables *t,
				      const struct ks_ruleset *rs,
				      const struct ks_event *ev, struct ks_walk *w,
				      struct ks_test_tally *tally, int *tv, bool *want)
{
	const struct ks_step_ast *as;
	const struct ks_step *s;
	uint32_t i;

	ks_walk_event(t, ev, w);
	for (i = 0; i < t->hdr.n_steps; i++) {
		s = &t->steps[i];
		as = ks_query_step(rs->rules[s->rule].q, s);
		*tv = -1;
		if (!as)
			return i;
		*want = ks_interp_step(as, ev);
		*tv = ks_walk_verdict(w, i);
		if (tally) {
			tally->cmp++;
			tally->t += *tv == KS_TV_TRUE;
			tally->f += *tv == KS_TV_FALSE;
			tally->u += *tv == KS_TV_UNKNOWN;
		}
		if (!ks_test_agree(s, *tv, *want, w->cand_overflow))
			return i;
	}
	return -1;
}

/*
 * A test corpus (../shared/corpus/NAME): $env when set, else the
 * repository's sibling shared/corpus as in CI (tests run from the
 * repository root), else /work/shared/corpus (a worktree elsewhere).
 * NULL when none is a directory: the caller skips, saying why.
 */
static inline const char *ks_test_corpus(const char *name, const char *env)
{
	static char path[4096];
	const char *bases[] = { "../shared/corpus", "/work/shared/corpus" };
	struct stat st;
	size_t i;

	if (env && getenv(env)) {
		snprintf(path, sizeof(path), "%s", getenv(env));
		return stat(path, &st) || !S_ISDIR(st.st_mode) ? NULL : path;
	}
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", bases[i], name);
		if (!stat(path, &st) && S_ISDIR(st.st_mode))
			return path;
	}
	return NULL;
}

#endif /* KS_TESTLIB_H */
