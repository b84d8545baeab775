// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container context, live. ns: a process in new user, mount, network and
 * pid namespaces execs; its exec event carries the nsfs inode numbers
 * its own /proc/self/ns/ symbolic links name (pid: the namespace its pid lives
 * in, not pid_for_children), and a rule on kestrel.process.pid_ns is
 * decided by the kernel; so is Elastic Defend's
 * process.entry_leader.entry_meta.type "container", which the compiler
 * tests as that namespace, and the alert kload writes says "container".
 * cgroup: a cgroup v2 directory named as docker
 * names its containers' (docker-<64 hex>.scope), a process moved into it
 * execs; the rule on container.id alerts with that id, while the same
 * exec outside it does not.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kestrel/container.h"
#include "testutil.h"
#include "test_progs.h"

#define P_NS	"/tmp/ks_st_ns"
#define P_CONT	"/tmp/ks_st_cont"
#define CONT_ID	"5e1f7c0a9b8d6e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f"

static const char *const ns_names[] = { "pid", "mnt", "net", "user" };

/* The nsfs inode number /proc/self/ns/NAME names ("pid:[4026531836]"). */
static __u32 ns_ino(const char *name)
{
	char path[64], link[64];
	unsigned long long v;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = 0;
	return sscanf(strchr(link, '[') ? strchr(link, '[') + 1 : "", "%llu", &v) == 1 ? v : 0;
}

static void ev_ns(const struct ks_event *ev, __u32 v[4])
{
	v[0] = ev->pid_ns;
	v[1] = ev->mnt_ns;
	v[2] = ev->net_ns;
	v[3] = ev->user_ns;
}

/*
 * In new namespaces (a pid namespace takes effect in a child): the
 * grandchild writes its own namespace ids to fd, then execs P_NS.
 */
static void ns_child(int fd)
{
	__u32 v[4];
	pid_t pid;
	int i, st;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID))
		_exit(100 + errno);
	pid = fork();
	if (pid) {
		waitpid(pid, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 99);
	}
	for (i = 0; i < 4; i++)
		v[i] = ns_ino(ns_names[i]);
	if (write(fd, v, sizeof(v)) != sizeof(v))
		_exit(98);
	execl(P_NS, "true", (char *)NULL);	/* busybox (the VM) runs argv[0] */
	_exit(100 + errno);
}

static void check_ns(struct ks_tenv *te, const __u32 want[4])
{
	const struct ks_event *ev = ks_tenv_find_exe(te, "/ks_st_ns");
	__u32 got[4];
	int i;

	if (!ASSERT_OK_PTR(ev, "exec event in new namespaces"))
		return;
	ev_ns(ev, got);
	for (i = 0; i < 4; i++) {
		ASSERT_NEQ(want[i], 0, ns_names[i]);
		ASSERT_EQ(got[i], want[i], ns_names[i]);
	}
	/* decided in the kernel: not the test's pid namespace */
	ASSERT_TRUE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_ns_other"), false),
		    "kestrel.process.pid_ns != ours, exact");
	ASSERT_FALSE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_ns_ours"), false),
		     "kestrel.process.pid_ns == ours is false");
	ASSERT_TRUE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_entry_container"), false),
		    "entry_meta.type == container, exact");
	ASSERT_FALSE(ks_tenv_matched(te, ev, ks_tenv_rule(te, "st_entry_host"), false),
		     "entry_meta.type != container is false");
}

/* The alerts kload writes: the container's process says so. */
static void check_entry_alert(struct ks_tenv *te, const char *yaml)
{
	char *alerts = ks_tenv_alerts(te, yaml);
	const char *a;

	if (!ASSERT_OK_PTR(alerts, "alerts"))
		return;
	a = strstr(alerts, "\"id\":\"st_entry_container\"");
	ASSERT_OK_PTR(a, "alert of the rule on entry_meta.type");
	/* beside the entry leader's entity_id and pid (the namespace's init) */
	ASSERT_HAS_STR(alerts, "\"entry_meta\":{\"type\":\"container\"},\"pid\":",
		       "entry_meta.type in the alert");
	ASSERT_HAS_STR(alerts, "\"entry_leader\":{\"entity_id\":\"",
		       "entry_leader.entity_id in the alert");
	ASSERT_FALSE(strstr(alerts, "\"id\":\"st_entry_host\"") != NULL, "no alert of the host rule");
	free(alerts);
}

static void run_ns(void)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL };
	struct ks_tenv te = {};
	char yaml[2048];
	__u32 want[4] = {};
	int fds[2], st;
	pid_t pid;

	snprintf(yaml, sizeof(yaml),
		 "- rule: st_ns_other\n  name: other pid ns\n"
		 "  query: process where process.name == \"ks_st_ns\" and "
		 "kestrel.process.pid_ns != %u\n"
		 "- rule: st_ns_ours\n  name: our pid ns\n"
		 "  query: process where process.name == \"ks_st_ns\" and "
		 "kestrel.process.pid_ns == %u\n"
		 "- rule: st_entry_container\n  name: in a container\n"
		 "  query: process where process.name == \"ks_st_ns\" and "
		 "process.entry_leader.entry_meta.type == \"container\"\n"
		 "- rule: st_entry_host\n  name: on the host\n"
		 "  query: process where process.name == \"ks_st_ns\" and "
		 "process.entry_leader.entry_meta.type != \"container\"\n",
		 ns_ino("pid"), ns_ino("pid"));
	if (!ASSERT_OK(pipe(fds), "pipe") || !ASSERT_OK(ks_tenv_compile(&te, yaml), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	ASSERT_TRUE(te.t->rules[0].flags & KS_R_EXACT, "a namespace test is kernel-exact");
	ASSERT_TRUE(te.t->rules[2].flags & KS_R_EXACT, "entry_meta.type is kernel-exact");
	pid = fork();
	if (pid == 0)
		ns_child(fds[1]);
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) >= 100) {
		test__skip("unshare(user, mnt, net, pid namespaces) or exec failed: %s",
			   strerror(WEXITSTATUS(st) - 100));
		goto out;
	}
	ASSERT_EQ(read(fds[0], want, sizeof(want)), sizeof(want), "ids from the process");
	ks_tenv_drain(&te, 100);
	check_ns(&te, want);
	check_entry_alert(&te, yaml);
out:
	close(fds[0]);
	close(fds[1]);
	ks_tenv_close(&te);
}

/* Run P_CONT, moved first into the cgroup at dir (NULL: stay here). */
static int exec_in(const char *dir)
{
	char procs[512], pid_s[32];
	int fds[2], fd, st;
	char c;
	pid_t pid;

	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(97);
		execl(P_CONT, "true", (char *)NULL);
		_exit(100 + errno);
	}
	close(fds[0]);
	if (dir) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
		snprintf(pid_s, sizeof(pid_s), "%d", pid);
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, pid_s, strlen(pid_s)) < 0)
			test__log("cannot move %d into %s: %s\n", pid, dir, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (write(fds[1], "x", 1) != 1)
		kill(pid, SIGKILL);
	close(fds[1]);
	waitpid(pid, &st, 0);
	return st;
}

static void check_alerts(struct ks_tenv *te, const char *yaml)
{
	char *alerts = ks_tenv_alerts(te, yaml);
	const char *a;

	if (!ASSERT_OK_PTR(alerts, "alerts"))
		return;
	a = strstr(alerts, "\"id\":\"st_in_container\"");
	ASSERT_OK_PTR(a, "alert of the rule on container.id");
	ASSERT_HAS_STR(alerts, "{\"@timestamp\":", "an alert");
	ASSERT_HAS_STR(alerts, "\"container\":{\"id\":\"" CONT_ID "\"}", "container.id");
	/* one alert: the exec outside the cgroup is not the container's */
	if (!ASSERT_TRUE(a && !strstr(a + 1, "\"id\":\"st_in_container\""), "one alert"))
		test__log("%s", alerts);
	free(alerts);
}

static void run_cgroup(void)
{
	static const char yaml[] =
		"- rule: st_in_container\n  name: in the container\n"
		"  query: process where event.action == \"exec\" and process.name == \"ks_st_cont\" and\n"
		"    container.id == \""
		CONT_ID "\"\n";
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL };
	const char *root = ks_cgroup2_root();
	struct ks_tenv te = {};
	char dir[256];
	int st;

	if (!root) {
		test__skip("cgroup v2 is not mounted (/sys/fs/cgroup or /sys/fs/cgroup/unified)");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/docker-%s.scope", root, CONT_ID);
	rmdir(dir);
	if (!ASSERT_OK(mkdir(dir, 0755), "mkdir cgroup"))
		return;
	if (!ASSERT_OK(ks_tenv_compile(&te, yaml), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	ASSERT_FALSE(te.t->rules[0].flags & KS_R_EXACT, "container.id is finished in userspace");
	st = exec_in(NULL);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) < 97, "exec outside");
	st = exec_in(dir);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) < 97, "exec in the container's cgroup");
	ks_tenv_drain(&te, 100);
	ASSERT_GE(te.n, 2, "both execs forwarded (the kernel cannot decide container.id)");
	check_alerts(&te, yaml);
out:
	ks_tenv_close(&te);
	ASSERT_OK(rmdir(dir), "rmdir cgroup");
}

void test_container(void)
{
	char buf[64];
	const char *src = ks_bin("true", buf, sizeof(buf));

	if (!ASSERT_OK(ks_copy_exe(src, P_NS), "copy") ||
	    !ASSERT_OK(ks_copy_exe(src, P_CONT), "copy"))
		return;
	if (test__start_subtest("ns"))
		run_ns();
	if (test__start_subtest("cgroup"))
		run_cgroup();
	unlink(P_NS);
	unlink(P_CONT);
}
