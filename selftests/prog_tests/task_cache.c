// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The per-task executable-path cache (bpf/ks_task.bpf.h, ks_exe_cached)
 * against what would make it stale. Each task first opens a marker file,
 * which caches its executable and its parent's, then changes what a
 * cached value depends on and opens the next marker; every event must
 * carry the values of that moment:
 *   - exec: the same task execs a copy of cat, which opens a marker:
 *     process.executable is the copy;
 *   - chroot: a copy of this binary (run as a helper, KS_TC_HELPER) opens
 *     a marker, chroots into the directory that holds it, opens another:
 *     process.executable is now "/tp", as seen from the new root;
 *   - setuid: the same helper then drops to uid 65534 and opens a third:
 *     user.id and user.effective.id are 65534, the executable (a cache
 *     hit: nothing it depends on changed) still "/tp";
 *   - reparent: the helper (dir/tp) forks a grandchild that opens a
 *     marker, exits, and the grandchild, reparented to the test (a
 *     subreaper for the while), opens another: process.parent.pid and
 *     .executable are the test's.
 */
#include <fcntl.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "test_progs.h"

#define TC_UID		65534
#define TC_DRAIN_MS	300
#define TC_ENV		"KS_TC_HELPER"	/* the helper's directory */
#define TC_ENV_FD	"KS_TC_REPARENT"	/* reparent mode: the fd to report on */

static int tc_open(const char *dir, const char *name)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* The helper, running as dir/tp: open, chroot(dir), open, setuid, open. */
static int tc_helper(const char *dir)
{
	if (tc_open(dir, "ks_tc_m3"))
		return 30;
	if (chroot(dir) || chdir("/"))
		return 31;
	if (tc_open("", "ks_tc_m4"))
		return 32;
	if (setresgid(TC_UID, TC_UID, TC_UID) || setresuid(TC_UID, TC_UID, TC_UID))
		return 33;
	return tc_open("", "ks_tc_m5") ? 34 : 0;
}

/* The exec child: open, then exec dir/kscat on the next marker. */
static int tc_exec_child(const char *dir)
{
	char cat[256], m2[256];

	if (tc_open(dir, "ks_tc_m1"))
		return 20;
	snprintf(cat, sizeof(cat), "%s/kscat", dir);
	snprintf(m2, sizeof(m2), "%s/ks_tc_m2", dir);
	/* argv[0] "cat": busybox (the VM's) picks its applet by that name */
	execl(cat, "cat", m2, (char *)NULL);
	return 21;
}

/*
 * The reparent helper: a grandchild opens m6, tells this helper to exit,
 * waits to be reparented, opens m7 and writes its pid and its new
 * parent's to `out`.
 */
static int tc_reparent_child(const char *dir, int out)
{
	pid_t me = getpid(), g;
	int go[2];
	char c;

	if (pipe(go))
		return 40;
	g = fork();
	if (g < 0)
		return 41;
	if (g == 0) {
		struct timespec ts = { 0, 1000000 };
		pid_t r[2];
		int i;

		if (tc_open(dir, "ks_tc_m6") || write(go[1], "x", 1) != 1)
			_exit(42);
		for (i = 0; i < 3000 && getppid() == me; i++)
			nanosleep(&ts, NULL);
		r[0] = getpid();
		r[1] = getppid();
		if (r[1] == me || tc_open(dir, "ks_tc_m7"))
			_exit(43);
		_exit(write(out, r, sizeof(r)) == sizeof(r) ? 0 : 44);
	}
	return read(go[0], &c, 1) == 1 ? 0 : 45;
}

/* The one forwarded open of marker `name` by pid, or NULL. */
static const struct ks_event *tc_find(const struct ks_tenv *te, pid_t pid, const char *name)
{
	const struct ks_event *found = NULL;
	char buf[KS_PATH_MAX + 1];
	size_t i;
	int n = 0;

	for (i = 0; i < te->n; i++) {
		const struct ks_event *ev = &te->evs[i];

		if (ev->category != KS_CAT_FILE || ev->pid != (__u32)pid ||
		    strcmp(ks_tenv_str(ev, KS_F_FILE_NAME, buf, sizeof(buf)), name))
			continue;
		found = ev;
		n++;
	}
	if (!ASSERT_EQ(n, 1, name))
		return NULL;
	return found;
}

static void tc_expect(const struct ks_tenv *te, pid_t pid, const char *name, const char *exe,
		      const char *pexe, __u32 uid)
{
	const struct ks_event *ev = tc_find(te, pid, name);
	char buf[KS_PATH_MAX + 1];
	const char *base = strrchr(exe, '/') + 1;

	if (!ev)
		return;
	test__log("%s: pid %u uid %u exe %s\n", name, ev->pid, ev->uid,
		  ks_tenv_str(ev, KS_F_PROCESS_EXECUTABLE, buf, sizeof(buf)));
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_EXECUTABLE, buf, sizeof(buf)), exe,
		     "process.executable");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_NAME, buf, sizeof(buf)), base, "process.name");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_PARENT_EXECUTABLE, buf, sizeof(buf)), pexe,
		     "process.parent.executable");
	ASSERT_EQ(ev->uid, uid, "user.id (real)");
	ASSERT_EQ(ev->euid, uid, "user.id (effective)");
	ASSERT_FALSE(ev->truncated, "nothing cut");
}

/* Markers and the two executables in a fresh directory. */
static int tc_setup(const char *dir, const char *self)
{
	char p[256], cat[64];
	int i, fd;

	mkdir("/tmp", 01777);
	mkdir(dir, 0755);
	for (i = 1; i <= 7; i++) {
		snprintf(p, sizeof(p), "%s/ks_tc_m%d", dir, i);
		fd = open(p, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			return -1;
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/kscat", dir);
	if (ks_copy_exe(ks_bin("cat", cat, sizeof(cat)), p))
		return -1;
	snprintf(p, sizeof(p), "%s/tp", dir);
	return ks_copy_exe(self, p);
}

static void tc_cleanup(const char *dir)
{
	char p[256];
	int i;

	for (i = 1; i <= 7; i++) {
		snprintf(p, sizeof(p), "%s/ks_tc_m%d", dir, i);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/kscat", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/tp", dir);
	unlink(p);
	rmdir(dir);
}

/* dir/tp as the helper; fd >= 0: in reparent mode, reporting on fd */
static pid_t tc_spawn_helper(const char *dir, int fd)
{
	char tp[256], fds[16];
	pid_t pid = fork();

	if (pid)
		return pid;
	snprintf(tp, sizeof(tp), "%s/tp", dir);
	setenv(TC_ENV, dir, 1);
	if (fd >= 0) {
		snprintf(fds, sizeof(fds), "%d", fd);
		setenv(TC_ENV_FD, fds, 1);
	}
	execl(tp, "tp", "-t", "task_cache", (char *)NULL);
	_exit(50);
}

static bool tc_ok(pid_t pid, const char *what)
{
	int status = 0;

	waitpid(pid, &status, 0);
	if (ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, what))
		return true;
	test__log("%s: status 0x%x\n", what, status);
	return false;
}

/* m6 before the helper exited, m7 after: the parent is the test now */
static void tc_check_reparent(const struct ks_tenv *te, pid_t c3, int rfd, const char *dir,
			      const char *self)
{
	char tp[256], buf[KS_PATH_MAX + 1];
	const struct ks_event *m6, *m7;
	pid_t r[2] = {};

	if (!ASSERT_EQ(read(rfd, r, sizeof(r)), (ssize_t)sizeof(r), "grandchild's report"))
		return;
	waitpid(r[0], NULL, 0);		/* ours now */
	ASSERT_EQ(r[1], getpid(), "reparented to the test");
	m6 = tc_find(te, r[0], "ks_tc_m6");
	m7 = tc_find(te, r[0], "ks_tc_m7");
	if (!m6 || !m7)
		return;
	snprintf(tp, sizeof(tp), "%s/tp", dir);
	ASSERT_EQ(m6->ppid, c3, "parent before");
	ASSERT_STREQ(ks_tenv_str(m6, KS_F_PARENT_EXECUTABLE, buf, sizeof(buf)), tp,
		     "parent executable before");
	ASSERT_EQ(m7->ppid, getpid(), "parent after");
	ASSERT_STREQ(ks_tenv_str(m7, KS_F_PARENT_EXECUTABLE, buf, sizeof(buf)), self,
		     "parent executable after");
}

static void run(void)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL };
	char dir[128], self[KS_PATH_MAX], exe[256];
	struct ks_tenv te = {};
	struct ks_stats st;
	pid_t c1, c2, c3;
	int rp[2] = { -1, -1 };
	ssize_t n;

	if (!ks_tenv_mode_available(o.mode))
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (!ASSERT_GT(n, 0, "readlink"))
		return;
	self[n] = 0;
	snprintf(dir, sizeof(dir), "/tmp/ks_st_tc_%d.d", getpid());
	if (!ASSERT_OK(tc_setup(dir, self), "setup") || !ASSERT_OK(pipe(rp), "pipe") ||
	    !ASSERT_OK(ks_tenv_compile(&te,
				       "- rule: st_tc\n"
				       "  name: selftest task cache\n"
				       "  severity: low\n"
				       "  query: 'file where event.action == \"open\" and "
				       "file.name : \"ks_tc_m*\"'\n"), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;

	c1 = fork();
	if (c1 == 0)
		_exit(tc_exec_child(dir));
	c2 = tc_spawn_helper(dir, -1);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	c3 = tc_spawn_helper(dir, rp[1]);
	close(rp[1]);
	rp[1] = -1;
	if (!tc_ok(c1, "exec child") | !tc_ok(c2, "chroot/setuid helper") |
	    !tc_ok(c3, "reparent helper"))
		goto out;
	usleep(100000);	/* the grandchild's last open */
	ks_tenv_drain(&te, TC_DRAIN_MS);

	snprintf(exe, sizeof(exe), "%s/kscat", dir);
	tc_expect(&te, c1, "ks_tc_m1", self, self, 0);
	tc_expect(&te, c1, "ks_tc_m2", exe, self, 0);
	snprintf(exe, sizeof(exe), "%s/tp", dir);
	tc_expect(&te, c2, "ks_tc_m3", exe, self, 0);
	tc_expect(&te, c2, "ks_tc_m4", "/tp", self, 0);
	tc_expect(&te, c2, "ks_tc_m5", "/tp", self, TC_UID);
	tc_check_reparent(&te, c3, rp[0], dir, self);

	ks_tenv_detach(&te);
	usleep(20000);
	if (ASSERT_OK(ks_tenv_stats(&te, &st), "stats"))
		ASSERT_TRUE(ks_stats_identity(&st, KS_SRC_FILE),
			    "events == filtered + forwarded + dropped");
out:
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	if (rp[0] >= 0)
		close(rp[0]);
	if (rp[1] >= 0)
		close(rp[1]);
	ks_tenv_close(&te);
	tc_cleanup(dir);
}

void test_task_cache(void)
{
	const char *helper = getenv(TC_ENV);

	if (helper && getenv(TC_ENV_FD))
		_exit(tc_reparent_child(helper, atoi(getenv(TC_ENV_FD))));
	if (helper)
		_exit(tc_helper(helper));
	if (test__start_subtest("signal"))
		run();
}
