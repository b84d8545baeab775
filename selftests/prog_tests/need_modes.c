// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The need filter as ks_scan_fields() runs it (bpf/eval.bpf.c,
 * ks_need_modes): both case modes of a field tested in one pass, the
 * first chunk without bpf_loop(), the rest through it. Exec events
 * through the replay program, each checked against the rules it must
 * (and must not) match: case-flipped values against a folded rule,
 * bytes from 128 on, "..", values shorter than the literal, and a value
 * whose only needed bytes lie past the first chunk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "test_progs.h"

static const char nm_rules[] =
	"- rule: nm_exact\n  name: n\n  query: 'process where event.action == \"exec\" and "
	"process.executable == \"/opt/zqx/run\"'\n"
	"- rule: nm_fold\n  name: n\n  query: 'process where event.action == \"exec\" and "
	"process.executable : \"/OPT/ZQX/*\"'\n"
	"- rule: nm_high\n  name: n\n  query: 'process where event.action == \"exec\" and "
	"process.args : \"--zqx-\xc3\xbc\"'\n"
	"- rule: nm_name\n  name: n\n  query: 'process where event.action == \"exec\" and "
	"process.name == \"zqxzqxzqx\"'\n"
	"- rule: nm_tail\n  name: n\n  query: 'process where event.action == \"exec\" and "
	"process.executable : \"*/zqxtail\"'\n";

#define NM_RULES	5
static const char *const nm_ids[NM_RULES] = { "nm_exact", "nm_fold", "nm_high", "nm_name",
					       "nm_tail" };

struct nm_case {
	const char *exe, *name, *arg;
	unsigned int want;	/* bit r: rule nm_ids[r] matches */
};

#define A90 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct nm_case nm_cases[] = {
	{ "/opt/zqx/run", "run", "x", 1 << 0 | 1 << 1 },
	{ "/OpT/zQX/run", "run", "x", 1 << 1 },		/* case-flipped: the folded rule only */
	{ "/opt/zqx/../zqx/run", "run", "x", 1 << 1 },	/* "..": a literal, not a path */
	{ "/etc/hostname", "hostname", "x", 0 },		/* no needed byte in either mode */
	{ "/bin/x", "x", "--ZQX-\\u00fc", 1 << 2 },	/* flipped ASCII, same high bytes */
	{ "/bin/x", "x", "--zqx-\\u00f6", 0 },		/* another high byte */
	{ "/bin/x", "x", "--zqx-\\u00dc", 0 },		/* high bytes are not folded */
	{ "/bin/zq", "zq", "x", 0 },			/* shorter than the literal */
	{ "/bin/zqxzqxzqx", "zqxzqxzqx", "x", 1 << 3 },
	{ "/" A90 "/ZQXTAIL", "ZQXTAIL", "x", 1 << 4 },	/* needed bytes past byte 64 only */
	{ "/" A90 "/zqxtai", "zqxtai", "x", 0 },
	{ "/OPT/ZQX/" A90, "x", "x", 1 << 1 },		/* long, matched in the first chunk */
};

#define NM_N	(sizeof(nm_cases) / sizeof(nm_cases[0]))
#define NM_PID	7000

static int nm_event(size_t i, struct ks_event *ev)
{
	const struct nm_case *c = &nm_cases[i];
	char *js = NULL;
	int ret;

	if (asprintf(&js, "{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"event\":{\"category\":"
		     "\"process\",\"action\":\"exec\"},\"process\":{\"pid\":%zu,\"entity_id\":"
		     "\"%zu-1\",\"executable\":\"%s\",\"name\":\"%s\",\"args\":[\"%s\"]}}",
		     NM_PID + i, NM_PID + i, c->exe, c->name, c->arg) < 0)
		return -1;
	ret = ks_tenv_event(js, ev);
	free(js);
	return ret;
}

/* The rules the forwarded copy of case i matched (none: not forwarded). */
static unsigned int nm_matched(const struct ks_tenv *te, size_t i)
{
	unsigned int got = 0, r;
	size_t k;

	for (k = 0; k < te->n; k++) {
		if (te->evs[k].pid != NM_PID + i)
			continue;
		for (r = 0; r < NM_RULES; r++)
			if (ks_tenv_matched(te, &te->evs[k], ks_tenv_rule(te, nm_ids[r]), false))
				got |= 1u << r;
	}
	return got;
}

void test_need_modes(void)
{
	struct ks_engine_opts o = { .replay = true, .mode = KS_MODE_SIGNAL };
	struct ks_event ev[NM_N];
	struct ks_tenv te = {};
	char what[64];
	size_t i;

	if (!ASSERT_OK(ks_tenv_compile(&te, nm_rules), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load"))
		goto out;
	for (i = 0; i < NM_N; i++)
		if (!ASSERT_OK(nm_event(i, &ev[i]), "event"))
			goto out;
	if (!ASSERT_OK(ks_tenv_replay(&te, ev, NM_N), "replay"))
		goto out;
	for (i = 0; i < NM_N; i++) {
		snprintf(what, sizeof(what), "case %zu (%.24s)", i, nm_cases[i].exe);
		ASSERT_EQ(nm_matched(&te, i), nm_cases[i].want, what);
	}
out:
	ks_tenv_close(&te);
}
