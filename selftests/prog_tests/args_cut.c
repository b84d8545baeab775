// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A command line too long to see whole is not a bypass. The kernel keeps
 * the first KS_ARGS_MAX bytes of the argument vector (fewer when the
 * element limit of the LSM source cuts it first) and sets the truncated
 * bit of process.args. The kernel walks the rest too, up to 32 KiB, and
 * decides: signal mode from the new image's argument area, LSM mode from
 * the caller's argv. Past that, a kill rule's literal is never hit: its
 * step must still be judged (cut slot KS_CUT_ARGS) and, undecided, fail
 * closed (KS_M_CUT). A rule the kept head decides (a
 * prefix within it) is not failed closed, and an alert rule, or a kill
 * rule saying args_cut: head, takes a miss as a miss (README). Every cut
 * is counted.
 *
 * Copies of the static busybox under A = /tmp/ks_st_args (it exits 127,
 * finding no applet named like the copy, when nothing kills it):
 *   ks_atool   killed when its command line holds the marker anywhere
 *   ks_btool   killed when its command line starts with "ks_btool --deny"
 *   ks_ctool   alerted on (not killed) when its command line holds the marker
 *   ks_dtool   killed when the first 512 bytes hold the marker (args_cut: head)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "test_progs.h"

#define ST_DRAIN_MS	300
#define A		"/tmp/ks_st_args"
#define MARK		"zq9evilmarker"

static const char rules[] =
	"- rule: st_acut_mark\n"
	"  name: a marker anywhere on the command line\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: |\n"
	"    process where event.action == \"exec\" and process.name == \"ks_atool\" and\n"
	"      process.command_line : \"*" MARK "*\"\n"
	"- rule: st_acut_head\n"
	"  name: a command line that starts denied\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: |\n"
	"    process where event.action == \"exec\" and process.name == \"ks_btool\" and\n"
	"      startsWith(process.command_line, \"ks_btool --deny\")\n"
	"- rule: st_acut_alert\n"
	"  name: a marker anywhere on the command line, alert only\n"
	"  severity: high\n"
	"  query: |\n"
	"    process where event.action == \"exec\" and process.name == \"ks_ctool\" and\n"
	"      process.command_line : \"*" MARK "*\"\n"
	"- rule: st_acut_headonly\n"
	"  name: a marker in the first 512 bytes of the command line\n"
	"  severity: high\n"
	"  action: kill\n"
	"  args_cut: head\n"
	"  query: |\n"
	"    process where event.action == \"exec\" and process.name == \"ks_dtool\" and\n"
	"      process.command_line : \"*" MARK "*\"\n";

/* What one source makes of an exec. */
struct outcome {
	const char *rule;	/* the rule that kills it (NULL: none) */
	int cut;		/* expected KS_M_CUT of that rule's match */
	const char *alert;	/* the alert rule it matches (NULL: none) */
};

/*
 * One exec: argv0, then `pad` filler bytes in `n_pad` equal arguments, then
 * `last`. Past the kept 512 bytes (32 elements in LSM mode) the kernel
 * walks the rest, up to 32 KiB (ks_scan_args_rest): signal mode from the
 * new image's argument area, LSM mode from the caller's argv.
 */
struct try {
	const char *what;
	const char *exe;	/* under A */
	const char *first;	/* argv[1] (NULL: none) */
	unsigned int pad, n_pad;
	const char *last;	/* NULL: none */
	struct outcome want;
};

#define KILL(r, c)	{ r, c, NULL }
#define ALERT(r)	{ NULL, 0, r }
#define NONE		{ NULL, 0, NULL }

static const struct try tries[] = {
	{ "marker in the head", "ks_atool", MARK, 600, 1, NULL, KILL("st_acut_mark", 0) },
	{ "marker past 512 bytes", "ks_atool", NULL, 600, 1, MARK, KILL("st_acut_mark", 0) },
	{ "marker past 3,000 bytes", "ks_atool", NULL, 3000, 1, MARK, KILL("st_acut_mark", 0) },
	/* the LSM source's head stops at 32 elements, the rest goes on from there */
	{ "marker after 40 short arguments", "ks_atool", NULL, 40, 40, MARK,
	  KILL("st_acut_mark", 0) },
	{ "marker after 50 arguments of 100 bytes", "ks_atool", NULL, 5000, 50, MARK,
	  KILL("st_acut_mark", 0) },
	/* past what the kernel reads (32 KiB): undecided, so failed closed */
	{ "marker past 40,000 bytes", "ks_atool", NULL, 40000, 1, MARK, KILL("st_acut_mark", 1) },
	{ "long, a near miss", "ks_atool", NULL, 3000, 1, "zq9evilmarke", NONE },
	{ "short, no marker", "ks_atool", "-x", 0, 0, NULL, NONE },
	/* the head decides a prefix: no fail-closed either way */
	{ "denied by the head", "ks_btool", "--deny", 600, 1, NULL, KILL("st_acut_head", 0) },
	{ "allowed by the head", "ks_btool", "--allow", 600, 1, MARK, NONE },
	/* an alert rule: a hit matches, a miss is a miss */
	{ "alert: marker in the head", "ks_ctool", MARK, 600, 1, NULL, ALERT("st_acut_alert") },
	{ "alert: marker past 512 bytes", "ks_ctool", NULL, 600, 1, MARK, ALERT("st_acut_alert") },
	{ "alert: marker past 40,000 bytes", "ks_ctool", NULL, 40000, 1, MARK, NONE },
	/* args_cut: head on a kill rule: past what was read, a miss */
	{ "head: marker past 512 bytes", "ks_dtool", NULL, 600, 1, MARK,
	  KILL("st_acut_headonly", 0) },
	{ "head: marker past 40,000 bytes", "ks_dtool", NULL, 40000, 1, MARK, NONE },
};

static void try_child(const struct try *t)
{
	static char pad[65536];
	char *argv[64], path[128];
	unsigned int i, n = 0, each = t->n_pad ? t->pad / t->n_pad : 0;

	snprintf(path, sizeof(path), A "/%s", t->exe);
	argv[n++] = (char *)t->exe;
	if (t->first)
		argv[n++] = (char *)t->first;
	/* n_pad arguments of pad / n_pad bytes each (one buffer, aliased) */
	memset(pad, 'a', each < sizeof(pad) ? each : sizeof(pad) - 1);
	for (i = 0; i < t->n_pad && n < 60; i++)
		argv[n++] = pad;
	if (t->last)
		argv[n++] = (char *)t->last;
	argv[n] = NULL;
	execv(path, argv);
	_exit(100);
}

static const struct ks_event *find_exec(const struct ks_tenv *te, pid_t pid)
{
	size_t i;

	for (i = 0; i < te->n; i++)
		if (te->evs[i].pid == (__u32)pid && te->evs[i].action == KS_ACT_EXEC)
			return &te->evs[i];
	return NULL;
}

static void run_try(struct ks_tenv *te, const struct try *t)
{
	const struct outcome *o = &t->want;
	int rule = o->rule ? ks_tenv_rule(te, o->rule) : -1;
	const struct ks_event *ev;
	struct ks_stats st0, st1;
	int status = -1;
	pid_t pid;

	test__log("%s\n", t->what);
	ks_tenv_stats(te, &st0);
	pid = fork();
	if (pid == 0)
		try_child(t);
	waitpid(pid, &status, 0);
	ks_tenv_drain(te, ST_DRAIN_MS);
	ks_tenv_stats(te, &st1);
	ev = find_exec(te, pid);
	if (t->pad >= KS_ARGS_MAX)
		ASSERT_GE(st1.truncations[KS_F_PROCESS_ARGS] - st0.truncations[KS_F_PROCESS_ARGS],
			  1, "kestrel_field_truncations_total{field=process.args}");
	if (rule < 0) {
		int alert = ks_tenv_rule(te, o->alert ? o->alert : "st_acut_alert");

		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 127, "not killed");
		ASSERT_TRUE(ev == NULL || !(ev->verdict.flags & (KS_V_DENIED | KS_V_KILLED)),
			    "not enforced");
		ASSERT_EQ(ev && ks_tenv_matched(te, ev, alert, true), o->alert != NULL,
			  "alert rule matched in the kernel");
		if (ev && o->alert)
			ASSERT_EQ(ks_tenv_cut_flag(te, ev, alert), 0, "decided on the head");
		return;
	}
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "killed");
	if (!ASSERT_OK_PTR(ev, "event forwarded"))
		return;
	if (t->pad >= KS_ARGS_MAX)
		ASSERT_TRUE(ev->truncated & (1u << KS_F_PROCESS_ARGS), "process.args cut");
	ASSERT_TRUE(ks_tenv_matched(te, ev, rule, true), "rule completed in the kernel");
	ASSERT_EQ(ks_tenv_cut_flag(te, ev, rule), o->cut, "undecided by the cut (KS_M_CUT)");
}

static void run_mode(int mode)
{
	struct ks_engine_opts o = { .mode = mode };
	struct ks_tenv te = {};
	size_t i;
	int err;

	if (!ASSERT_OK(ks_tenv_compile(&te, rules), "compile"))
		goto out;
	err = ks_tenv_load_mode(&te, &o);
	if (err > 0 || !ASSERT_OK(err, "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		run_try(&te, &tries[i]);
out:
	ks_tenv_close(&te);
}

static int mk_tree(void)
{
	char bb[64];

	if (mkdir(A, 0755) && errno != EEXIST)
		return -errno;
	ks_bin("busybox", bb, sizeof(bb));
	if (ks_copy_exe(bb, A "/ks_atool") || ks_copy_exe(bb, A "/ks_btool") ||
	    ks_copy_exe(bb, A "/ks_ctool") || ks_copy_exe(bb, A "/ks_dtool"))
		return -1;
	return 0;
}

void test_args_cut(void)
{
	if (!ASSERT_OK(mk_tree(), "build " A))
		return;
	if (test__start_subtest("signal"))
		run_mode(KS_MODE_SIGNAL);
	if (test__start_subtest("lsm"))
		run_mode(KS_MODE_LSM);
	if (system("rm -rf " A))
		test__log("could not remove " A "\n");
}
