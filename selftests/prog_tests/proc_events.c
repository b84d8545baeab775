// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live process fork and exit events from test processes, with their
 * fields asserted (exec has its own test): the fork event describes the
 * new process and its parent, the exit event carries process.exit_code.
 * Both carry the task's capability sets, which a rule tests in the kernel
 * (process.thread.capabilities.*).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "testutil.h"
#include "test_progs.h"

#define P_EXIT	"/tmp/ks_st_exit"

/* The first forwarded event of `action` with pid (or, pid 0, parent ppid). */
static const struct ks_event *find(const struct ks_tenv *te, __u32 action, __u32 pid,
				   __u32 ppid)
{
	size_t i;

	for (i = 0; i < te->n; i++)
		if (te->evs[i].action == action && (pid ? te->evs[i].pid == pid :
						     te->evs[i].ppid == ppid))
			return &te->evs[i];
	return NULL;
}

/* This process's effective (which 0) or permitted (1) capability set. */
static __u64 own_caps(int which)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d))
		return 0;
	return which ? d[0].permitted | (__u64)d[1].permitted << 32 :
		       d[0].effective | (__u64)d[1].effective << 32;
}

/*
 * A child that clears its effective set (keeping the permitted one), then
 * forks: that fork event is the new process's, with the sets it inherits.
 * Returns the child's pid.
 */
static pid_t fork_without_effective(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};
	pid_t pid = fork(), g;

	if (pid)
		return pid;
	if (syscall(SYS_capget, &h, d))
		_exit(1);
	d[0].effective = d[1].effective = 0;
	if (syscall(SYS_capset, &h, d))
		_exit(2);
	g = fork();
	if (g == 0)
		_exit(0);
	waitpid(g, NULL, 0);
	_exit(g > 0 ? 0 : 3);
}

/* The kernel-filled capability sets, and a rule deciding on them. */
static void check_caps(struct ks_tenv *te, const struct ks_event *fork_ev)
{
	const struct ks_event *ev;
	pid_t pid;
	int status;

	ASSERT_EQ(fork_ev->cap_effective, own_caps(0), "effective set of the fork");
	ASSERT_EQ(fork_ev->cap_permitted, own_caps(1), "permitted set of the fork");
	ASSERT_TRUE(fork_ev->cap_effective >> CAP_SYS_ADMIN & 1, "root has CAP_SYS_ADMIN");
	ASSERT_FALSE(ks_tenv_matched(te, fork_ev, ks_tenv_rule(te, "st_caps"), true),
		     "full effective set: st_caps not matched");
	pid = fork_without_effective();
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "capset and fork ran");
	ks_tenv_drain(te, 100);
	ev = find(te, KS_ACT_FORK, 0, (__u32)pid);
	if (!ASSERT_OK_PTR(ev, "fork without effective capabilities forwarded"))
		return;
	ASSERT_EQ(ev->cap_effective, 0, "effective set cleared");
	ASSERT_EQ(ev->cap_permitted, own_caps(1), "permitted set kept");
	ASSERT_TRUE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_caps"), true),
		    "st_caps decided true in the kernel");
}

static void run_mode(int mode)
{
	struct ks_engine_opts o = { .mode = mode };
	struct ks_tenv te = {};
	const struct ks_event *ev;
	char yaml[2048], buf[KS_PATH_MAX + 1], self[KS_PATH_MAX];
	ssize_t n;
	pid_t pid;
	int status;

	if (!ks_tenv_mode_available(mode))
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (!ASSERT_GT(n, 0, "readlink"))
		return;
	self[n] = 0;
	snprintf(yaml, sizeof(yaml),
		 "- rule: st_fork\n"
		 "  name: fork by the test\n"
		 "  severity: low\n"
		 "  query: process where event.action == \"fork\" and process.parent.pid == %d\n"
		 "- rule: st_exit\n"
		 "  name: exit of the test program\n"
		 "  severity: low\n"
		 "  query: process where event.action == \"exit\" and process.name == \"ks_st_exit\"\n"
		 "- rule: st_caps\n"
		 "  name: fork holding CAP_SYS_ADMIN permitted, not effective\n"
		 "  severity: low\n"
		 "  query: |\n"
		 "    process where event.action == \"fork\" and "
		 "process.thread.capabilities.permitted : \"cap_sys_admin\" and "
		 "process.thread.capabilities.effective == null\n",
		 getpid());
	if (!ASSERT_OK(ks_tenv_compile(&te, yaml), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;

	/* fork: a new process whose parent is this test */
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, &status, 0);
	/* exit: a program that exits with status 1 */
	status = ks_run_exe(P_EXIT, "false", &pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1, "exit program ran");
	ks_tenv_drain(&te, 100);

	ev = find(&te, KS_ACT_FORK, 0, getpid());
	if (ASSERT_OK_PTR(ev, "fork event")) {
		ASSERT_EQ(ev->category, KS_CAT_PROCESS, "category");
		ASSERT_EQ(ev->ppid, getpid(), "process.parent.pid");
		ASSERT_NEQ(ev->pid, getpid(), "process.pid is the child");
		ASSERT_NEQ(ev->entity, ev->parent_entity, "entity ids differ");
		ASSERT_EQ(ev->uid, getuid(), "user.id");
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_EXECUTABLE, buf, sizeof(buf)), self,
			     "process.executable (inherited image)");
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_PARENT_EXECUTABLE, buf, sizeof(buf)), self,
			     "process.parent.executable");
		check_caps(&te, ev);
	}
	ev = find(&te, KS_ACT_EXIT, pid, 0);
	if (ASSERT_OK_PTR(ev, "exit event")) {
		ASSERT_TRUE(ev->present & KS_P_EXIT_CODE, "exit_code present");
		ASSERT_EQ(ev->exit_code, 1, "process.exit_code");
		ASSERT_EQ(ev->ppid, getpid(), "process.parent.pid");
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_NAME, buf, sizeof(buf)), "ks_st_exit",
			     "process.name");
	}
out:
	ks_tenv_close(&te);
}

void test_proc_events(void)
{
	char buf[64];
	const char *src = ks_bin("false", buf, sizeof(buf));

	if (!ASSERT_OK(ks_copy_exe(src, P_EXIT), "copy"))
		return;
	if (test__start_subtest("signal"))
		run_mode(KS_MODE_SIGNAL);
	if (test__start_subtest("lsm"))
		run_mode(KS_MODE_LSM);
	unlink(P_EXIT);
}
