// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel-side EQL sequences, accounting and table swaps, with live events:
 *
 *  seq_block   a kernel-exact `block` sequence advances in ks_entity and
 *              its completing exec is denied (lsm) or killed (signal)
 *              by the kernel itself; the first step runs normally
 *  swap        tables swapped 40 times under a stream of execs: every
 *              event was judged by exactly one generation's tables
 *
 * (Bursts past the ring buffer's capacity: prog_tests/overload.c.)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "test_progs.h"

#define P_A	"/tmp/ks_st_seq_a"
#define P_B	"/tmp/ks_st_seq_b"
#define P_SWAP	"/tmp/ks_st_swap"

static const char seq_rules[] =
	"- rule: st_seq_block\n"
	"  name: a then b from the same parent\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: |\n"
	"    sequence by process.parent.entity_id with maxspan=1m\n"
	"      [process where event.action == \"exec\" and process.executable == \"" P_A "\"]\n"
	"      [process where event.action == \"exec\" and process.executable == \"" P_B "\"]\n";

static void seq_block(int mode)
{
	struct ks_engine_opts o = { .mode = mode };
	struct ks_tenv te = {};
	struct ks_stats st;
	const struct ks_event *ev;
	int status, rule;

	if (!ks_tenv_mode_available(mode))
		return;
	if (!ASSERT_OK(ks_tenv_compile(&te, seq_rules), "compile"))
		goto out;
	rule = ks_tenv_rule(&te, "st_seq_block");
	ASSERT_TRUE(te.t->rules[rule].flags & KS_R_KSTATE, "kernel keeps the state");
	if (!ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;

	/* b alone: no pending sequence, runs, and the kernel does not forward it */
	status = ks_run_exe(P_B, "true", NULL);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "b alone runs");
	/* a starts the sequence and runs */
	status = ks_run_exe(P_A, "true", NULL);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a runs");
	ks_tenv_stats(&te, &st);
	ASSERT_EQ(st.seq_started, 1, "sequence started in the kernel");
	/* b completes it: enforced by the kernel on the completing exec */
	status = ks_run_exe(P_B, "true", NULL);
	if (mode == KS_MODE_LSM)
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 100 + EPERM,
			    "completing exec denied");
	else
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			    "completing exec killed");
	ks_tenv_drain(&te, 100);
	ks_tenv_stats(&te, &st);
	ASSERT_EQ(st.seq_completed, 1, "completed in the kernel");
	ev = ks_tenv_find_exe(&te, P_B);
	if (ASSERT_OK_PTR(ev, "completing event forwarded"))
		ASSERT_TRUE(ks_tenv_matched(&te, ev, rule, true), "completion flagged");
	/* consumed: a second b has nothing to complete */
	status = ks_run_exe(P_B, "true", NULL);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "consumed: b runs again");
	ASSERT_TRUE(ks_stats_identity(&st, KS_SRC_EXEC), "exec accounting");
out:
	ks_tenv_close(&te);
}

/*
 * Generation A: the swap rule is rule 0, step 0. Generation B: a decoy
 * rule first, so the swap rule is rule 1, step 1. An event judged by a
 * mix of the two would carry a step that does not belong to its
 * generation's rule.
 */
static const char swap_a[] =
	"- rule: st_swap\n"
	"  name: swap\n"
	"  severity: low\n"
	"  query: process where process.executable == \"" P_SWAP "\"\n";
static const char swap_b[] =
	"- rule: st_decoy\n"
	"  name: decoy\n"
	"  severity: low\n"
	"  query: process where process.executable == \"/nonexistent/decoy\"\n"
	"- rule: st_swap\n"
	"  name: swap\n"
	"  severity: low\n"
	"  query: process where process.executable == \"" P_SWAP "\"\n";

static volatile int swap_stop;

static void *exec_loop(void *arg)
{
	int *n = arg;

	while (!swap_stop) {
		ks_run_exe(P_SWAP, "true", NULL);
		(*n)++;
	}
	return NULL;
}

static void swap(void)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL };
	struct ks_tenv te = {}, tb = {};
	int execs = 0, i, bad = 0, seen[2] = {};
	pthread_t th;
	size_t k;

	if (!ASSERT_OK(ks_tenv_compile(&te, swap_a), "compile a") ||
	    !ASSERT_OK(ks_tenv_compile(&tb, swap_b), "compile b") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	/* generation 1 is A (installed by load); then B, A, B, ... */
	pthread_create(&th, NULL, exec_loop, &execs);
	for (i = 0; i < 40; i++) {
		usleep(5000);
		if (!ASSERT_OK(ks_engine_install(&te.e, i % 2 ? te.t : tb.t), "install"))
			break;
		ks_tenv_drain(&te, 0);
	}
	swap_stop = 1;
	pthread_join(th, NULL);
	ks_tenv_drain(&te, 50);
	for (k = 0; k < te.n; k++) {
		const struct ks_event *ev = &te.evs[k];
		bool gen_b = ev->verdict.generation % 2 == 0;

		if (ev->source != KS_SRC_EXEC)
			continue;
		seen[gen_b]++;
		if (ev->verdict.n_match != 1 || ev->verdict.match[0].step != (gen_b ? 1 : 0))
			bad++;
	}
	test__log("%d execs; forwarded: %d judged by A, %d by B; %d mixed\n", execs, seen[0],
		  seen[1], bad);
	ASSERT_EQ(bad, 0, "no event saw a mix of generations");
	ASSERT_GT(seen[0], 0, "generation A judged events");
	ASSERT_GT(seen[1], 0, "generation B judged events");
	ASSERT_EQ(te.e.generation, 41, "41 generations installed");
out:
	ks_tenv_close(&te);
	ks_tenv_close(&tb);
}

void test_kernel_seq(void)
{
	char buf[64];
	const char *src = ks_bin("true", buf, sizeof(buf));

	if (!ASSERT_OK(ks_copy_exe(src, P_A), "copy") || !ASSERT_OK(ks_copy_exe(src, P_B), "copy") ||
	    !ASSERT_OK(ks_copy_exe(src, P_SWAP), "copy"))
		return;
	if (test__start_subtest("seq_block_signal"))
		seq_block(KS_MODE_SIGNAL);
	if (test__start_subtest("seq_block_lsm"))
		seq_block(KS_MODE_LSM);
	if (test__start_subtest("swap"))
		swap();
	unlink(P_A);
	unlink(P_B);
	unlink(P_SWAP);
}
