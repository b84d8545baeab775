// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live file events (bpf/hook_file.bpf.c). A forked child, running as
 * uid 65534, creates, opens, modifies, renames and deletes a file under
 * /tmp/ks_st_file_<pid>.d/; a rule on that prefix makes the kernel forward
 * exactly those events, and each is checked field by field. A file
 * elsewhere is filtered in the kernel: counted, never forwarded.
 *
 * The rename and the deletion name their files relative to the cwd and to
 * an O_PATH directory descriptor, through "./", "//" and "..": every
 * source must report the same resolved paths (the syscall tracepoints
 * rebuild them from the arguments, bpf/hook_sys.bpf.c).
 *
 * Subtests per source: signal (kprobes on security_*, or the syscall
 * tracepoints on kernels without kprobes) runs everywhere, tracepoint
 * (signal mode, syscall tracepoints forced) too, lsm (BPF LSM hooks) where
 * the kernel has BPF LSM (the VM).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "testutil.h"
#include "kestrel.skel.h"
#include "test_progs.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define ST_UID		65534
#define ST_DRAIN_MS	200

struct file_expect {
	int action;
	const char *name;	/* file.name (path = dir/name) */
	const char *ext;
	/* rename only: file.Ext.original.name (path = dir/name), .extension */
	const char *orig, *orig_ext;
};

/* a rename's file.path is the new path, Elastic Defend's model */
static const struct file_expect expects[] = {
	{ KS_ACT_CREATION, "a.txt", "txt", NULL, NULL },
	{ KS_ACT_OPEN, "a.txt", "txt", NULL, NULL },
	{ KS_ACT_MODIFICATION, "a.txt", "txt", NULL, NULL },
	{ KS_ACT_RENAME, "b.1.log", "log", "a.txt", "txt" },	/* the last dot */
	{ KS_ACT_DELETION, "b.1.log", "log", NULL, NULL },
};

/* The child: one operation per expected event, then a file elsewhere. */
static int file_child(const char *dir, const char *other)
{
	char a[256], sub[256];
	int fd, dfd;

	snprintf(a, sizeof(a), "%s/a.txt", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	if (setresgid(ST_UID, ST_UID, ST_UID) || setresuid(ST_UID, ST_UID, ST_UID))
		return 10;
	/* O_PATH: no open event of its own in any source */
	if (mkdir(sub, 0755) || chdir(dir))
		return 18;
	dfd = open(sub, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return 19;
	fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);		/* creation */
	if (fd < 0)
		return 11;
	close(fd);
	fd = open(a, O_RDONLY);						/* open */
	if (fd < 0)
		return 12;
	close(fd);
	fd = open(a, O_WRONLY | O_APPEND);				/* modification */
	if (fd < 0 || write(fd, "x", 1) != 1)
		return 13;
	close(fd);
	if (rename("./a.txt", ".//sub/../b.1.log"))			/* rename */
		return 14;
	if (unlinkat(dfd, "../sub/./../b.1.log", 0))			/* deletion */
		return 15;
	close(dfd);
	if (rmdir(sub))
		return 20;
	fd = open(other, O_CREAT | O_WRONLY, 0644);			/* not matched */
	if (fd < 0)
		return 16;
	close(fd);
	return unlink(other) ? 17 : 0;
}

static const struct ks_event *find_file_event(const struct ks_tenv *te, pid_t pid,
					      int action, int *count)
{
	const struct ks_event *found = NULL;
	size_t i;

	*count = 0;
	for (i = 0; i < te->n; i++) {
		const struct ks_event *ev = &te->evs[i];

		if (ev->category != KS_CAT_FILE || ev->pid != (__u32)pid || ev->action != action)
			continue;
		if (!found)
			found = ev;
		(*count)++;
	}
	return found;
}

/* Detach, then read the counters: nothing can move them any more. */
static void check_accounting(struct ks_tenv *te, int src)
{
	struct ks_stats st;
	__u64 dropped = 0;
	int i;

	for (i = 0; i < te->e.n_links; i++)
		bpf_link__destroy(te->e.links[i]);
	te->e.n_links = 0;
	usleep(20000);
	if (!ASSERT_OK(ks_tenv_stats(te, &st), "stats"))
		return;
	dropped = ks_stats_dropped(&st, src);
	test__log("file: %llu events, %llu filtered, %llu forwarded, %llu dropped\n",
		  (unsigned long long)st.events[src], (unsigned long long)st.filtered[src],
		  (unsigned long long)st.forwarded[src], (unsigned long long)dropped);
	ASSERT_GT(st.filtered[src], 0, "filtered > 0");
	ASSERT_GE(st.forwarded[src], ARRAY_SIZE(expects), "forwarded >= expected");
	ASSERT_TRUE(ks_stats_identity(&st, src), "events == filtered + forwarded + dropped");
}

/* The one event of expectation x: its file and process fields and its match. */
static void check_expect(struct ks_tenv *te, const struct file_expect *x, const char *dir,
			 const char *exe, pid_t pid, int rule)
{
	const struct ks_event *ev;
	char want[256], buf[KS_PATH_MAX + 1];
	int n;

	ev = find_file_event(te, pid, x->action, &n);
	if (!ASSERT_EQ(n, 1, x->name) || !ev) {
		test__log("no single %s event (action %d)\n", x->name, x->action);
		return;
	}
	snprintf(want, sizeof(want), "%s/%s", dir, x->name);
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_FILE_PATH, buf, sizeof(buf)), want, "file.path");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_FILE_NAME, buf, sizeof(buf)), x->name, "file.name");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_FILE_EXTENSION, buf, sizeof(buf)), x->ext,
		     "file.extension");
	if (x->orig) {
		snprintf(want, sizeof(want), "%s/%s", dir, x->orig);
		ASSERT_TRUE(ev->present & KS_P_ORIG, "original present");
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_FILE_ORIG_PATH, buf, sizeof(buf)), want,
			     "file.Ext.original.path");
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_FILE_ORIG_NAME, buf, sizeof(buf)), x->orig,
			     "file.Ext.original.name");
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_FILE_ORIG_EXT, buf, sizeof(buf)), x->orig_ext,
			     "file.Ext.original.extension");
	} else {
		ASSERT_FALSE(ev->present & KS_P_ORIG, "no original");
	}
	ASSERT_EQ(ev->source, KS_SRC_FILE, "source");
	ASSERT_TRUE((ev->present & (KS_P_FILE | KS_P_PROCESS | KS_P_USER)) ==
		    (KS_P_FILE | KS_P_PROCESS | KS_P_USER), "present bits");
	ASSERT_EQ(ev->pid, pid, "process.pid");
	ASSERT_EQ(ev->ppid, getpid(), "process.parent.pid");
	ASSERT_EQ(ev->uid, ST_UID, "user.id");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_EXECUTABLE, buf, sizeof(buf)), exe,
		     "process.executable");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_PARENT_EXECUTABLE, buf, sizeof(buf)), exe,
		     "process.parent.executable");
	ASSERT_NEQ(ev->entity, 0, "entity");
	ASSERT_TRUE(ks_tenv_matched(te, ev, rule, true), "rule matched");
	ASSERT_FALSE(ev->verdict.flags & (KS_V_DENIED | KS_V_KILLED), "not enforced");
}

static void run_mode(int mode, bool sys_tp)
{
	char dir[128], odir[128], other[160], yaml[512], exe[KS_PATH_MAX], buf[KS_PATH_MAX + 1];
	struct ks_engine_opts o = { .mode = mode, .sys_tracepoints = sys_tp };
	struct ks_tenv te = {};
	const char *source;
	ssize_t exe_len;
	int status, rule;
	size_t i;
	pid_t pid;

	if (!ks_tenv_mode_available(mode))
		return;
	snprintf(dir, sizeof(dir), "/tmp/ks_st_file_%d.d", getpid());
	/* the unmatched file gets a directory of its own: /tmp itself may not be
	 * writable by the unprivileged child (it is not in the VM's initramfs) */
	snprintf(odir, sizeof(odir), "/tmp/ks_st_other_%d.d", getpid());
	snprintf(other, sizeof(other), "%s/x", odir);
	snprintf(yaml, sizeof(yaml),
		 "- rule: st_file\n"
		 "  name: selftest file events\n"
		 "  severity: low\n"
		 "  query: 'file where file.path : \"/tmp/ks_st_file_*\"'\n");
	exe_len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (!ASSERT_GT(exe_len, 0, "readlink exe"))
		return;
	exe[exe_len] = 0;
	mkdir("/tmp", 01777);
	rmdir(dir);
	rmdir(odir);
	if (!ASSERT_OK(mkdir(dir, 0755), "mkdir") || !ASSERT_OK(chown(dir, ST_UID, ST_UID), "chown") ||
	    !ASSERT_OK(mkdir(odir, 0755), "mkdir") || !ASSERT_OK(chown(odir, ST_UID, ST_UID), "chown"))
		goto out;
	if (!ASSERT_OK(ks_tenv_compile(&te, yaml), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load") ||
	    !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	ASSERT_EQ(te.e.mode, mode, "mode");
	source = ks_tenv_source(&te, "file");
	if (!ASSERT_TRUE(source, "a file event source is loaded"))
		goto out;
	test__log("file events from: %s\n", source);
	if (sys_tp)
		ASSERT_STREQ(source, "tracepoint", "forced tracepoint source");
	rule = ks_tenv_rule(&te, "st_file");

	pid = fork();
	if (pid == 0)
		_exit(file_child(dir, other));
	if (!ASSERT_GT(pid, 0, "fork"))
		goto out;
	waitpid(pid, &status, 0);
	if (!ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ran"))
		test__log("child status 0x%x\n", status);
	ks_tenv_drain(&te, ST_DRAIN_MS);

	for (i = 0; i < ARRAY_SIZE(expects); i++)
		check_expect(&te, &expects[i], dir, exe, pid, rule);
	for (i = 0; i < te.n; i++) {
		const char *p = ks_tenv_str(&te.evs[i], KS_F_FILE_PATH, buf, sizeof(buf));

		if (!ASSERT_FALSE(strstr(p, "ks_st_other_"), "other path not forwarded"))
			break;
	}
	check_accounting(&te, KS_SRC_FILE);
out:
	ks_tenv_close(&te);
	rmdir(dir);
	rmdir(odir);
}

void test_file_events(void)
{
	if (test__start_subtest("signal"))
		run_mode(KS_MODE_SIGNAL, false);
	if (test__start_subtest("tracepoint"))
		run_mode(KS_MODE_SIGNAL, true);
	if (test__start_subtest("lsm"))
		run_mode(KS_MODE_LSM, false);
}
