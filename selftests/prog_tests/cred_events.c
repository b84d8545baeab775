// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live process credential changes, as Elastic Defend names them: a child
 * of this test starts a session (session_id_change), then gives up root
 * for nobody's group and user (gid_change, then uid_change), then runs a
 * set-user-ID root copy of `true` (uid_change: the effective uid is root
 * again). Each event carries the ids and capability sets the process has
 * after the change, and rules decide on them in the kernel.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "test_progs.h"

#define NOBODY	65534
#define P_SUID	"/tmp/ks_st_suid_true"

/* The first forwarded event of `action` by process pid with effective uid euid. */
static const struct ks_event *find(const struct ks_tenv *te, __u32 action, __u32 pid,
				   __u32 euid)
{
	size_t i;

	for (i = 0; i < te->n; i++)
		if (te->evs[i].action == action && te->evs[i].pid == pid &&
		    te->evs[i].euid == euid)
			return &te->evs[i];
	return NULL;
}

/* A child that calls setsid(), then drops to nobody; its pid. */
static pid_t drop_to_nobody(void)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (setsid() < 0)
		_exit(1);
	if (setgroups(0, NULL) || setgid(NOBODY))
		_exit(2);
	if (setuid(NOBODY))
		_exit(3);
	execl(P_SUID, "true", (char *)NULL);
	_exit(100 + errno);
}

static void check_events(const struct ks_tenv *te, pid_t pid)
{
	const struct ks_event *ev;

	ev = find(te, KS_ACT_SESSION_ID_CHANGE, pid, 0);
	if (ASSERT_OK_PTR(ev, "session_id_change")) {
		ASSERT_EQ(ev->category, KS_CAT_PROCESS, "category");
		ASSERT_EQ(ev->ppid, getpid(), "process.parent.pid");
		ASSERT_EQ(ev->uid, 0, "still root");
		ASSERT_TRUE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_sid"), true),
			    "st_sid decided in the kernel");
	}
	ev = find(te, KS_ACT_GID_CHANGE, pid, 0);
	if (ASSERT_OK_PTR(ev, "gid_change")) {
		ASSERT_EQ(ev->gid, NOBODY, "group.id after the change");
		ASSERT_EQ(ev->egid, NOBODY, "process.group.id after the change");
		ASSERT_EQ(ev->uid, 0, "user.id not yet changed");
		ASSERT_TRUE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_gid"), true),
			    "st_gid decided in the kernel");
	}
	ev = find(te, KS_ACT_UID_CHANGE, pid, NOBODY);
	if (ASSERT_OK_PTR(ev, "uid_change")) {
		ASSERT_EQ(ev->uid, NOBODY, "user.id after the change");
		ASSERT_EQ(ev->euid, NOBODY, "process.user.id after the change");
		/* leaving root clears the capability sets (no keepcaps) */
		ASSERT_EQ(ev->cap_permitted, 0, "permitted set after the change");
		ASSERT_TRUE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_uid"), true),
			    "st_uid decided in the kernel");
	}
	ev = find(te, KS_ACT_UID_CHANGE, pid, 0);
	if (ASSERT_OK_PTR(ev, "uid_change of the set-user-ID exec")) {
		ASSERT_EQ(ev->uid, NOBODY, "user.id stays nobody");
		ASSERT_TRUE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_suid"), true),
			    "st_suid decided in the kernel");
	}
}

static void run_mode(int mode)
{
	struct ks_engine_opts o = { .mode = mode };
	struct ks_tenv te = {};
	char yaml[1024], *alerts;
	pid_t pid;
	int status;

	if (!ks_tenv_mode_available(mode))
		return;
	snprintf(yaml, sizeof(yaml),
		 "- rule: st_sid\n"
		 "  name: new session by a child of the test\n"
		 "  query: |\n"
		 "    process where event.action == \"session_id_change\" and "
		 "process.parent.pid == %d\n"
		 "- rule: st_gid\n"
		 "  name: gid change to nobody\n"
		 "  query: |\n"
		 "    process where event.action == \"gid_change\" and event.type == \"change\" "
		 "and group.id == %d\n"
		 "- rule: st_uid\n"
		 "  name: uid change to nobody without capabilities\n"
		 "  query: |\n"
		 "    process where event.action == \"uid_change\" and user.id == %d and "
		 "process.thread.capabilities.permitted == null\n"
		 "- rule: st_suid\n"
		 "  name: set-user-ID root exec by nobody\n"
		 "  query: |\n"
		 "    process where event.action == \"uid_change\" and process.user.id == 0 "
		 "and user.id == %d\n",
		 getpid(), NOBODY, NOBODY, NOBODY);
	if (!ASSERT_OK(ks_tenv_compile(&te, yaml), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	pid = drop_to_nobody();
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "setsid, setgid, setuid and the set-user-ID exec ran");
	ks_tenv_drain(&te, 100);
	check_events(&te, pid);
	/* the userspace half writes them as Defend's documents */
	alerts = ks_tenv_alerts(&te, yaml);
	if (ASSERT_OK_PTR(alerts, "alerts")) {
		ASSERT_HAS_STR(alerts, "\"action\":\"uid_change\",\"category\":\"process\"",
			       "event.action uid_change");
		ASSERT_HAS_STR(alerts, "\"action\":\"session_id_change\"", "session_id_change");
		ASSERT_HAS_STR(alerts, "\"type\":[\"change\"]", "event.type");
		ASSERT_HAS_STR(alerts, "\"rule\":{\"id\":\"st_suid\"", "st_suid alert");
		free(alerts);
	}
out:
	ks_tenv_close(&te);
}

void test_cred_events(void)
{
	char buf[64];

	if (!ASSERT_OK(ks_copy_exe(ks_bin("true", buf, sizeof(buf)), P_SUID), "copy") ||
	    !ASSERT_OK(chown(P_SUID, 0, 0), "chown") ||
	    !ASSERT_OK(chmod(P_SUID, 04755), "chmod"))
		return;
	if (test__start_subtest("signal"))
		run_mode(KS_MODE_SIGNAL);
	if (test__start_subtest("lsm"))
		run_mode(KS_MODE_LSM);
	unlink(P_SUID);
}
