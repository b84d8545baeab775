// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The first slice end to end: a rule on process.executable is compiled
 * into the DFA, the exec hook scans the path in the kernel, the match
 * crosses the ring buffer, and the pipeline writes the ECS alert (README's
 * "Alert outputs"). A block rule denies the exec (lsm: execve fails with
 * EPERM) or kills it before the new image runs (signal: SIGKILL); other
 * execs run normally.
 */
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "test_progs.h"

#define P_ALERT	"/tmp/ks_st_exec_alert"
#define P_BLOCK	"/tmp/ks_st_exec_block"
#define P_OK	"/tmp/ks_st_exec_ok"

static const char rules[] =
	"- rule: st_exec_alert\n"
	"  name: selftest exec alert\n"
	"  severity: low\n"
	"  tags: [selftest]\n"
	"  query: process where event.action == \"exec\" and process.executable == \"" P_ALERT "\"\n"
	"- rule: st_exec_block\n"
	"  name: selftest exec block\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: process where event.action == \"exec\" and process.executable == \"" P_BLOCK "\"\n";

/* A matching exec runs, and is forwarded with an exact completed match. */
static void check_alert_exec(struct ks_tenv *te)
{
	const struct ks_event *ev;
	char buf[KS_PATH_MAX + 1];
	pid_t pid;
	int status;

	status = ks_run_exe(P_ALERT, "true", &pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "alert exec ran");
	ks_tenv_drain(te, 100);
	ev = ks_tenv_find_exe(te, P_ALERT);
	if (!ASSERT_OK_PTR(ev, "alert event forwarded"))
		return;
	ASSERT_EQ(ev->pid, pid, "process.pid");
	ASSERT_EQ(ev->category, KS_CAT_PROCESS, "category");
	ASSERT_EQ(ev->action, KS_ACT_EXEC, "action");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_NAME, buf, sizeof(buf)),
		     "ks_st_exec_alert", "process.name");
	ASSERT_EQ(ev->args_count, 1, "process.args_count");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_ARGS, buf, sizeof(buf)), "true",
		     "process.args");
	ASSERT_TRUE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_exec_alert"), true),
		    "rule matched in kernel");
	ASSERT_FALSE(ev->verdict.flags & (KS_V_DENIED | KS_V_KILLED), "not enforced");
}

/* A block rule: lsm denies the exec, signal kills the new image. */
static void check_block_exec(struct ks_tenv *te, int mode)
{
	const struct ks_event *ev;
	pid_t pid;
	int status;

	status = ks_run_exe(P_BLOCK, "true", &pid);
	if (mode == KS_MODE_LSM)
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 100 + EPERM,
			    "execve denied with EPERM");
	else
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			    "killed by SIGKILL");
	ks_tenv_drain(te, 100);
	ev = ks_tenv_find_exe(te, P_BLOCK);
	if (ASSERT_OK_PTR(ev, "block event forwarded")) {
		ASSERT_TRUE(ev->verdict.flags & (mode == KS_MODE_LSM ? KS_V_DENIED : KS_V_KILLED),
			    "verdict flag");
		ASSERT_EQ(ev->verdict.action, KS_RA_BLOCK, "verdict action");
	}
}

/* Arguments longer than the args slot are cut, and the cut is counted. */
static void check_args_cut(struct ks_tenv *te)
{
	char big[700];
	char *const argv[] = { "true", big, NULL };
	struct ks_stats st0, st1;
	pid_t pid;
	int status;

	ks_tenv_stats(te, &st0);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	pid = fork();
	if (pid == 0) {
		execv(P_OK, argv);
		_exit(100 + errno);
	}
	waitpid(pid, &status, 0);
	ks_tenv_stats(te, &st1);
	ASSERT_GE(st1.truncations[KS_F_PROCESS_ARGS] - st0.truncations[KS_F_PROCESS_ARGS], 1,
		  "process.args truncation counted");
}

/* A non-matching exec runs and is filtered in the kernel. */
static void check_filtered_exec(struct ks_tenv *te)
{
	struct ks_stats st0, st1;
	pid_t pid;
	int status;

	ks_tenv_stats(te, &st0);
	status = ks_run_exe(P_OK, "true", &pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "other exec ran");
	ks_tenv_drain(te, 50);
	ks_tenv_stats(te, &st1);
	ASSERT_TRUE(ks_tenv_find_exe(te, P_OK) == NULL, "other exec not forwarded");
	ASSERT_GE(st1.filtered[KS_SRC_EXEC] - st0.filtered[KS_SRC_EXEC], 1, "filtered count");
	ASSERT_TRUE(ks_stats_identity(&st1, KS_SRC_EXEC), "total = filtered + forwarded + dropped");
}

static void check_mode(int mode)
{
	struct ks_engine_opts o = { .mode = mode };
	struct ks_tenv te = {};
	char *alerts;

	if (!ks_tenv_mode_available(mode))
		return;
	if (!ASSERT_OK(ks_tenv_compile(&te, rules), "compile"))
		goto out;
	if (!ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	ASSERT_EQ(te.e.mode, mode, "mode");
	check_alert_exec(&te);
	check_block_exec(&te, mode);
	check_args_cut(&te);
	check_filtered_exec(&te);

	/* the userspace half writes the alerts (ECS JSON, README's example) */
	alerts = ks_tenv_alerts(&te, rules);
	if (ASSERT_OK_PTR(alerts, "alerts")) {
		ASSERT_HAS_STR(alerts, "\"rule\":{\"id\":\"st_exec_alert\"", "alert rule id");
		ASSERT_HAS_STR(alerts, "\"kind\":\"alert\"", "event.kind");
		ASSERT_HAS_STR(alerts, "\"executable\":\"" P_ALERT "\"", "alert event");
		ASSERT_HAS_STR(alerts, mode == KS_MODE_LSM ? "\"outcome\":\"blocked\"" :
			       "\"outcome\":\"killed\"", "block outcome");
		free(alerts);
	}
out:
	ks_tenv_close(&te);
}

/*
 * With no tables installed an exec is built into no event: it runs, is
 * counted dropped{no_tables} when its hook starts (ks_event_begin), and
 * nothing is forwarded.
 */
static void check_no_tables(void)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL,
				    .need = KS_NEED_SET | 1u << KS_ACT_EXEC };
	struct ks_tenv te = {};
	struct ks_stats st0, st1;
	pid_t pid;
	int status;

	if (!ASSERT_OK(ks_tenv_compile(&te, NULL), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	ks_tenv_stats(&te, &st0);
	status = ks_run_exe(P_OK, "true", &pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exec ran");
	ks_tenv_drain(&te, 50);
	ks_tenv_stats(&te, &st1);
	ASSERT_TRUE(ks_tenv_find_exe(&te, P_OK) == NULL, "not forwarded");
	ASSERT_GE(st1.dropped[KS_SRC_EXEC][KS_DROP_NO_TABLES] -
		  st0.dropped[KS_SRC_EXEC][KS_DROP_NO_TABLES], 1, "dropped{no_tables}");
	ASSERT_EQ(st1.forwarded[KS_SRC_EXEC], 0, "forwarded");
	ASSERT_TRUE(ks_stats_identity(&st1, KS_SRC_EXEC), "total = filtered + forwarded + dropped");
out:
	ks_tenv_close(&te);
}

void test_exec(void)
{
	char buf[64];
	const char *src = ks_bin("true", buf, sizeof(buf));

	if (!ASSERT_OK(ks_copy_exe(src, P_ALERT), "copy") ||
	    !ASSERT_OK(ks_copy_exe(src, P_BLOCK), "copy") ||
	    !ASSERT_OK(ks_copy_exe(src, P_OK), "copy"))
		return;
	if (test__start_subtest("signal"))
		check_mode(KS_MODE_SIGNAL);
	if (test__start_subtest("lsm"))
		check_mode(KS_MODE_LSM);
	if (test__start_subtest("no_tables"))
		check_no_tables();
	unlink(P_ALERT);
	unlink(P_BLOCK);
	unlink(P_OK);
}
