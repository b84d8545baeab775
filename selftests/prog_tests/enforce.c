// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Enforcement of `action: block` on open and connect, in a forked child:
 *   lsm mode     the operation fails with EPERM, the child lives on;
 *   signal mode  the child is SIGKILLed in the hook (WTERMSIG == SIGKILL).
 * A non-matching open/connect by the same kind of child works normally.
 *
 * The blocked file is created before the hooks are attached and removed
 * after they are gone: in signal mode the test process itself would be
 * killed for touching it.
 *
 * tracepoint_*: what `block` means with the syscall tracepoint source
 * (bpf/hook_sys.bpf.c; forced, so the VM runs it too): SIGKILL at the
 * syscall's exit, after the operation. A blocked O_CREAT open leaves the
 * file created, a blocked unlink leaves it deleted, and the caller dies.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "testutil.h"
#include "kestrel.skel.h"
#include "test_progs.h"

#define ST_DRAIN_MS	200

/* child exit codes */
#define CH_OK		0	/* the operation succeeded */
#define CH_EPERM	3	/* it failed with EPERM */
#define CH_OTHER	4	/* it failed otherwise */

static int listen_lo(int *port)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (void *)&in, len) || listen(fd, 8) || getsockname(fd, (void *)&in, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(in.sin_port);
	return fd;
}

static int child_open(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		close(fd);
		return CH_OK;
	}
	return errno == EPERM ? CH_EPERM : CH_OTHER;
}

static int child_connect(int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), err;

	if (fd < 0)
		return CH_OTHER;
	err = connect(fd, (void *)&in, sizeof(in)) ? errno : 0;
	close(fd);
	return !err ? CH_OK : err == EPERM ? CH_EPERM : CH_OTHER;
}

/* Run op(arg) in a child; returns its wait status. */
static int in_child(int (*op)(const void *), const void *arg)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(op(arg));
	if (pid < 0)
		return -1;
	waitpid(pid, &status, 0);
	return status;
}

static int op_open(const void *arg)
{
	return child_open(arg);
}

static int op_create(const void *arg)
{
	int fd = open(arg, O_CREAT | O_EXCL | O_WRONLY, 0644);

	if (fd < 0)
		return errno == EPERM ? CH_EPERM : CH_OTHER;
	close(fd);
	return CH_OK;
}

static int op_unlink(const void *arg)
{
	if (unlink(arg))
		return errno == EPERM ? CH_EPERM : CH_OTHER;
	return CH_OK;
}

static int op_connect(const void *arg)
{
	return child_connect(*(const int *)arg);
}

static void expect_blocked(int mode, int status, const char *what)
{
	char name[64];

	snprintf(name, sizeof(name), "%s blocked", what);
	if (mode == KS_MODE_LSM) {
		if (!ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == CH_EPERM, name))
			test__log("%s: status 0x%x, want exit %d (EPERM)\n", what, status,
				  CH_EPERM);
	} else {
		if (!ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, name))
			test__log("%s: status 0x%x, want SIGKILL\n", what, status);
	}
}

static void expect_allowed(int status, const char *what)
{
	char name[64];

	snprintf(name, sizeof(name), "%s allowed", what);
	if (!ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == CH_OK, name))
		test__log("%s: status 0x%x, want exit 0\n", what, status);
}

/* The forwarded event of the blocked operation carries the enforcement. */
static void expect_verdict(const struct ks_tenv *te, int mode, int category)
{
	__u16 want = mode == KS_MODE_LSM ? KS_V_DENIED : KS_V_KILLED;
	int rule = ks_tenv_rule(te, "st_block");
	size_t i;

	for (i = 0; i < te->n; i++) {
		const struct ks_event *ev = &te->evs[i];

		if (ev->category != category || !ks_tenv_matched(te, ev, rule, true))
			continue;
		ASSERT_TRUE(ev->verdict.flags & want, "verdict flag");
		ASSERT_EQ(ev->verdict.action, KS_RA_BLOCK, "verdict action");
		return;
	}
	ASSERT_TRUE(false, "blocked event forwarded");
}

/* sys_tp: signal mode with the syscall tracepoint sources forced */
static bool setup(struct ks_tenv *te, int mode, bool sys_tp, const char *yaml)
{
	struct ks_engine_opts o = { .mode = mode, .sys_tracepoints = sys_tp };

	return ASSERT_OK(ks_tenv_compile(te, yaml), "compile") &&
	       ASSERT_OK(ks_tenv_load(te, &o), "load") &&
	       ASSERT_OK(ks_tenv_attach(te), "attach") &&
	       ASSERT_EQ(te->e.mode, mode, "mode") &&
	       (!sys_tp || ASSERT_TRUE(ks_engine_prog(&te->e, "ks_tsig_open") != NULL,
				       "tracepoint source loaded"));
}

static void run_open(int mode)
{
	char blk[128], ok[128], yaml[512];
	struct ks_tenv te = {};
	int fd;

	if (!ks_tenv_mode_available(mode))
		return;
	mkdir("/tmp", 01777);
	snprintf(blk, sizeof(blk), "/tmp/ks_st_enf_%d_blk.txt", getpid());
	snprintf(ok, sizeof(ok), "/tmp/ks_st_enf_%d_ok.txt", getpid());
	snprintf(yaml, sizeof(yaml),
		 "- rule: st_block\n"
		 "  name: selftest block open\n"
		 "  severity: high\n"
		 "  action: block\n"
		 "  query: 'file where file.path == \"%s\"'\n", blk);
	fd = open(blk, O_CREAT | O_WRONLY, 0644);
	if (!ASSERT_GE(fd, 0, "create blocked file"))
		return;
	close(fd);
	fd = open(ok, O_CREAT | O_WRONLY, 0644);
	if (!ASSERT_GE(fd, 0, "create allowed file"))
		goto out;
	close(fd);
	if (!setup(&te, mode, false, yaml))
		goto out;
	expect_blocked(mode, in_child(op_open, blk), "open");
	expect_allowed(in_child(op_open, ok), "open");
	ks_tenv_drain(&te, ST_DRAIN_MS);
	expect_verdict(&te, mode, KS_CAT_FILE);
out:
	ks_tenv_close(&te);	/* hooks gone: now the test may touch blk */
	unlink(blk);
	unlink(ok);
}

static void run_connect(int mode)
{
	struct ks_tenv te = {};
	int lb, la, pb = 0, pa = 0;
	char yaml[512];

	if (!ks_tenv_mode_available(mode))
		return;
	lb = listen_lo(&pb);
	la = listen_lo(&pa);
	if (!ASSERT_GE(lb, 0, "listen") || !ASSERT_GE(la, 0, "listen"))
		goto out;
	snprintf(yaml, sizeof(yaml),
		 "- rule: st_block\n"
		 "  name: selftest block connect\n"
		 "  severity: high\n"
		 "  action: block\n"
		 "  query: 'network where event.action == \"connect\" and "
		 "destination.port == %d'\n", pb);
	if (!setup(&te, mode, false, yaml))
		goto out;
	expect_blocked(mode, in_child(op_connect, &pb), "connect");
	expect_allowed(in_child(op_connect, &pa), "connect");
	ks_tenv_drain(&te, ST_DRAIN_MS);
	expect_verdict(&te, mode, KS_CAT_NETWORK);
out:
	ks_tenv_close(&te);
	if (lb >= 0)
		close(lb);
	if (la >= 0)
		close(la);
}

/*
 * Tracepoint source, action `act` on a fresh path: the child is killed,
 * and the operation has happened (exists_after: the file is there).
 */
static void run_tp_file(const char *act, int (*op)(const void *), bool exists_after)
{
	char path[128], yaml[512];
	struct ks_tenv te = {};
	int fd;

	snprintf(path, sizeof(path), "/tmp/ks_st_enf_%d_%s", getpid(), act);
	snprintf(yaml, sizeof(yaml),
		 "- rule: st_block\n"
		 "  name: selftest block %s\n"
		 "  severity: high\n"
		 "  action: block\n"
		 "  query: 'file where event.action == \"%s\" and file.path == \"%s\"'\n",
		 act, act, path);
	mkdir("/tmp", 01777);
	unlink(path);
	if (!exists_after) {	/* deleting: the file must be there first */
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		if (!ASSERT_GE(fd, 0, "create the file to delete"))
			return;
		close(fd);
	}
	if (!setup(&te, KS_MODE_SIGNAL, true, yaml))
		goto out;
	expect_blocked(KS_MODE_SIGNAL, in_child(op, path), act);
	ASSERT_EQ(access(path, F_OK) == 0, exists_after,
		  exists_after ? "the file was created all the same" : "the file is deleted");
	ks_tenv_drain(&te, ST_DRAIN_MS);
	expect_verdict(&te, KS_MODE_SIGNAL, KS_CAT_FILE);
out:
	ks_tenv_close(&te);
	unlink(path);
}

void test_enforce(void)
{
	if (test__start_subtest("signal_open"))
		run_open(KS_MODE_SIGNAL);
	if (test__start_subtest("signal_connect"))
		run_connect(KS_MODE_SIGNAL);
	if (test__start_subtest("lsm_open"))
		run_open(KS_MODE_LSM);
	if (test__start_subtest("lsm_connect"))
		run_connect(KS_MODE_LSM);
	if (test__start_subtest("tracepoint_creation"))
		run_tp_file("creation", op_create, true);
	if (test__start_subtest("tracepoint_deletion"))
		run_tp_file("deletion", op_unlink, false);
}
