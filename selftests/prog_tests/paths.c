// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Paths an attacker cannot choose. A block rule names the path of a file;
 * the attacker reaches the same file by another name: ".." components, a
 * directory symlink (like Debian's /bin -> usr/bin), a symlink to the
 * file, a relative path, a descriptor opened before chroot(). Every one
 * must still be blocked, for exec, connect, open, deletion and rename, and
 * the events must carry the resolved path (process.args[0] keeps the name
 * used). A hard
 * link is a path of its own: its events show it, and the rule on the
 * other name does not apply. Inside a chroot, paths are as the jailed
 * process sees them, qualified by its mount namespace.
 *
 * The tree, under D = /tmp/ks_st_paths (copies of the static busybox, so
 * they run inside the jail too):
 *   D/usr/bin/ks_tool, ks_ntool   exec-blocked, connect-blocked
 *   D/usr/bin/ks_script          "#!" D/usr/bin/ks_tool
 * and a memfd "ks_st_memfd" holding a copy, run with execveat().
 *   D/bin -> usr/bin, D/innocent -> usr/bin/ks_tool, D/hard (hard link)
 *   D/data/secret (open-blocked), D/dlink -> data, D/ssym -> data/secret,
 *   D/shard (hard link)
 *   D/data/victim (deletion-blocked, remade before each attempt), D/vhard
 *   (hard link), D/data/src renamed to D/data/renamed (rename-blocked)
 *   D/jail/usr/bin/ks_jtool, ks_jnc, D/jail/bin -> usr/bin,
 *   D/jail/etc/ks_secret, ks_victim: rules name them as "/usr/bin/ks_jtool", ...
 *
 * The syscall tracepoint source (kernels without kprobes: this host's
 * signal mode; the "tracepoint" subtest forces it elsewhere) rebuilds
 * deletion and rename paths from the syscall's arguments: the directory
 * by its dentries, the string lexically. It resolves "..", "." and
 * relative names like the others but not a symlink among the string's
 * directories (README, "Event sources"): the rows marked `dentry` run
 * only where the source resolves dentries.
 *
 * Truncation is not a bypass (after the attempts): a path longer than its
 * slot keeps its head and tail; a prefix rule is decided on the head, and
 * a rule the cut leaves undecided (a substring in the cut middle) fails
 * closed. Under C = /tmp/ks_st_cut, three binaries at paths of ~400 bytes:
 *   C/p/<dirs>/ks_ptool   blocked by a prefix rule on C/p/ (head)
 *   C/q/<dirs>/ks_mid/<dirs>/ks_mtool  a substring rule, undecided: blocked
 *   C/r/<dirs>/ks_ctool   matches nothing: runs (no rule fails closed on it)
 *   C/s/<dirs>/ks_mid2/<dirs>/ks_m2tool  the substring is the rule's only
 *                         trigger: still judged (cut_list), killed
 * and deletions and renames of such paths (fcuts[]), named absolutely,
 * relative to a directory whose own path fits or is cut, with ".." above
 * a cut directory's tail, and longer than the tracepoint source's work
 * area: a prefix rule decides on the head, an equality with a path the
 * cut hides fails closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "test_progs.h"

#define D	"/tmp/ks_st_paths"
#define TOOL	D "/usr/bin/ks_tool"
#define NTOOL	D "/usr/bin/ks_ntool"
#define SECRET	D "/data/secret"
#define VICTIM	D "/data/victim"
#define RENAMED	D "/data/renamed"
#define ST_DRAIN_MS	150
#define C	"/tmp/ks_st_cut"
#define CUT_NAME	"dddddddddddddddddddddddddddddddddddddddddddddddddd"	/* 50 bytes */
#define CUT_DIR	"/" CUT_NAME
#define CUT_DIRS	CUT_DIR CUT_DIR CUT_DIR
#define CUT_P	C "/p" CUT_DIRS CUT_DIRS "/ks_ptool"
#define CUT_M	C "/q" CUT_DIRS "/ks_mid" CUT_DIRS CUT_DIR "/ks_mtool"
#define CUT_R	C "/r" CUT_DIRS CUT_DIRS "/ks_ctool"
#define CUT_M2	C "/s" CUT_DIRS "/ks_mid2" CUT_DIRS CUT_DIR "/ks_m2tool"
#define FC_F	C "/f" CUT_DIRS CUT_DIRS	/* 322 bytes: cut */
#define FC_G	C "/g" CUT_DIRS CUT_DIRS
#define FC_H	C "/h" CUT_DIRS CUT_DIRS
#define FC_LONG	FC_F CUT_DIRS CUT_DIRS CUT_DIRS CUT_DIRS CUT_DIR CUT_DIR CUT_DIR	/* 1087 */

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH	0x1000
#endif

static const char rules[] =
	"- rule: st_paths_exec\n"
	"  name: exec of one file\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: process where event.action == \"exec\" and process.executable == \"" TOOL "\"\n"
	"- rule: st_paths_outside\n"
	"  name: exec of one file, from whatever root\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: process where event.action == \"exec\" and endsWith(process.executable, \"" TOOL "\")\n"
	"- rule: st_paths_jail\n"
	"  name: exec of a file as the jail sees it\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: process where event.action == \"exec\" and process.executable == \"/usr/bin/ks_jtool\"\n"
	"- rule: st_paths_memfd\n"
	"  name: exec of a memfd\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: process where event.action == \"exec\" and process.executable == \"/memfd:ks_st_memfd\"\n"
	"- rule: st_paths_hard\n"
	"  name: exec of a hard link\n"
	"  severity: low\n"
	"  query: process where event.action == \"exec\" and process.executable == \"" D "/hard\"\n"
	"- rule: st_paths_conn\n"
	"  name: connect by one program\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: network where event.action == \"connect\" and\n"
	"    process.executable in (\"" NTOOL "\", \"/usr/bin/ks_jnc\")\n"
	"- rule: st_paths_open\n"
	"  name: open of one file\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: file where event.action == \"open\" and\n"
	"    file.path in (\"" SECRET "\", \"/etc/ks_secret\")\n"
	"- rule: st_paths_open_hard\n"
	"  name: open of a hard link\n"
	"  severity: low\n"
	"  query: file where event.action == \"open\" and file.path == \"" D "/shard\"\n"
	"- rule: st_paths_delete\n"
	"  name: deletion of one file, or a rename onto another\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: |\n"
	"    file where event.action in (\"deletion\", \"rename\") and\n"
	"      (file.path in (\"" VICTIM "\", \"/etc/ks_victim\") or\n"
	"       file.target_path == \"" RENAMED "\")\n"
	"- rule: st_paths_delete_hard\n"
	"  name: deletion of a hard link\n"
	"  severity: low\n"
	"  query: file where event.action == \"deletion\" and file.path == \"" D "/vhard\"\n";

static const char cut_rules[] =
	"- rule: st_cut_prefix\n"
	"  name: exec under a prefix\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: process where event.action == \"exec\" and startsWith(process.executable, \"" C "/p/\")\n"
	"- rule: st_cut_mid\n"
	"  name: exec below a directory anywhere\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: |\n"
	"    process where event.action == \"exec\" and process.executable : \"*/ks_mid/*\" and\n"
	"      process.name == \"ks_mtool\"\n"
	"- rule: st_cut_eq\n"
	"  name: exec of one file\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: process where event.action == \"exec\" and process.executable == \"/usr/bin/ks_never\"\n";

/* a rule whose only trigger is the substring the cut hides */
static const char cut_rules_hidden[] =
	"- rule: st_cut_hidden\n"
	"  name: exec below a directory anywhere\n"
	"  severity: high\n"
	"  action: kill\n"
	"  query: process where event.action == \"exec\" and process.executable like \"*/ks_mid2/*\"\n";

/* file events of deep paths: a prefix rule, an equality with a short path */
static const char fcut_rules[] =
	"- rule: st_fcut_prefix\n"
	"  name: deletion or rename under a prefix\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: |\n"
	"    file where event.action in (\"deletion\", \"rename\") and\n"
	"      (startsWith(file.path, \"" C "/f/\") or startsWith(file.target_path, \"" C "/f/\"))\n"
	"- rule: st_fcut_eq\n"
	"  name: deletion of one file\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: file where event.action == \"deletion\" and file.path == \"" C "/h/x\"\n"
	"- rule: st_fcut_seen\n"
	"  name: the deletions no rule blocks, forwarded to be looked at\n"
	"  severity: low\n"
	"  query: file where event.action == \"deletion\" and file.name in (\"v2\", \"v5\")\n";

enum kind { K_EXEC, K_SCRIPT, K_FEXEC, K_MEMFD, K_CONNECT, K_OPEN, K_UNLINK, K_RENAME };

struct attempt {
	const char *what;
	enum kind kind;
	const char *root;	/* chroot() here first (NULL: no) */
	const char *dir;	/* then chdir() here (NULL: no) */
	const char *path;	/* the name the attacker uses */
	const char *expect;	/* the path the event must show */
	bool blocked;
	bool dentry;		/* a symlink in the name: not for the tracepoint source */
};

static const struct attempt attempts[] = {
	{ "exec ..", K_EXEC, NULL, NULL, D "/usr/bin/../bin/ks_tool", TOOL, true },
	{ "exec dir symlink", K_EXEC, NULL, NULL, D "/bin/ks_tool", TOOL, true },
	{ "exec symlink", K_EXEC, NULL, NULL, D "/innocent", TOOL, true },
	{ "exec relative", K_EXEC, NULL, D "/usr", "bin/ks_tool", TOOL, true },
	{ "exec ./", K_EXEC, NULL, D "/bin", "./ks_tool", TOOL, true },
	/*
	 * Opened before chroot(): outside the root, the path from the mount
	 * namespace's root: TOOL, or, when this test itself runs in a chroot,
	 * a path ending with TOOL (st_paths_outside is a suffix rule).
	 */
	{ "fexecve from outside the root", K_FEXEC, D "/jail", NULL, D "/bin/ks_tool", TOOL,
	  true },
	{ "exec in chroot", K_EXEC, D "/jail", NULL, "/usr/bin/ks_jtool", "/usr/bin/ks_jtool",
	  true },
	{ "exec in chroot, dir symlink and ..", K_EXEC, D "/jail", "/bin", "../bin/ks_jtool",
	  "/usr/bin/ks_jtool", true },
	{ "exec hard link", K_EXEC, NULL, NULL, D "/hard", D "/hard", false },
	/* a memfd's dentry is its own parent: "/" + its name, as d_path() */
	{ "fexecve of a memfd", K_MEMFD, NULL, NULL, "ks_st_memfd", "/memfd:ks_st_memfd", true },
	/* the interpreter runs: it is judged, the script is in args */
	{ "exec a #! script it runs", K_SCRIPT, NULL, D "/bin", "./ks_script", TOOL, true },
	{ "connect ..", K_CONNECT, NULL, NULL, D "/usr/bin/../bin/ks_ntool", NTOOL, true },
	{ "connect symlink dir", K_CONNECT, NULL, NULL, D "/bin/ks_ntool", NTOOL, true },
	{ "connect relative", K_CONNECT, NULL, D "/usr", "bin/ks_ntool", NTOOL, true },
	{ "connect in chroot", K_CONNECT, D "/jail", NULL, "/bin/ks_jnc", "/usr/bin/ks_jnc",
	  true },
	{ "open ..", K_OPEN, NULL, NULL, D "/data/../data/secret", SECRET, true },
	{ "open dir symlink", K_OPEN, NULL, NULL, D "/dlink/secret", SECRET, true },
	{ "open symlink", K_OPEN, NULL, NULL, D "/ssym", SECRET, true },
	{ "open relative", K_OPEN, NULL, D "/data", "./secret", SECRET, true },
	{ "open in chroot", K_OPEN, D "/jail", "/etc", "../etc/ks_secret", "/etc/ks_secret",
	  true },
	{ "open hard link", K_OPEN, NULL, NULL, D "/shard", D "/shard", false },
	{ "unlink ..", K_UNLINK, NULL, NULL, D "/data/../data/victim", VICTIM, true },
	{ "unlink relative", K_UNLINK, NULL, D "/usr", "../data/./victim", VICTIM, true },
	{ "unlink dir symlink", K_UNLINK, NULL, NULL, D "/dlink/victim", VICTIM, true, true },
	{ "unlink in chroot", K_UNLINK, D "/jail", "/etc", "../etc//ks_victim", "/etc/ks_victim",
	  true },
	{ "unlink hard link", K_UNLINK, NULL, NULL, D "/vhard", D "/vhard", false },
	/* renames move D/data/src: file.path is the new name (Elastic Defend's) */
	{ "rename to ..", K_RENAME, NULL, NULL, D "/usr/../data/renamed", RENAMED, true },
	{ "rename relative", K_RENAME, NULL, D "/data", "renamed", RENAMED, true },
	{ "rename into a dir symlink", K_RENAME, NULL, NULL, D "/dlink/renamed", RENAMED, true,
	  true },
};

/*
 * An empty file at path; 0 or -errno. Never by unlinking first: the test
 * itself is judged, and a deletion some rule blocks would kill it.
 */
static int touch(const char *path)
{
	int fd;

	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* What the deletion and rename attempts consume, made again before each. */
static int mk_victims(void)
{
	if (touch(VICTIM) || touch(D "/jail/etc/ks_victim") || touch(D "/data/src"))
		return -1;
	if (unlink(D "/vhard") && errno != ENOENT)
		return -errno;
	return link(VICTIM, D "/vhard") ? -errno : 0;
}

static int mk_tree(void)
{
	static const char *const dirs[] = {
		D, D "/usr", D "/usr/bin", D "/data", D "/jail", D "/jail/usr",
		D "/jail/usr/bin", D "/jail/etc",
	};
	static const char *const links[][2] = {
		{ "usr/bin", D "/bin" }, { "usr/bin/ks_tool", D "/innocent" },
		{ "data", D "/dlink" }, { "data/secret", D "/ssym" },
		{ "usr/bin", D "/jail/bin" },
	};
	static const char *const copies[] = {
		TOOL, NTOOL, D "/jail/usr/bin/ks_jtool", D "/jail/usr/bin/ks_jnc",
	};
	char bb[64];
	size_t i;
	int fd;

	if (system("rm -rf " D))
		return -1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0755))
			return -errno;
	ks_bin("busybox", bb, sizeof(bb));
	for (i = 0; i < sizeof(copies) / sizeof(copies[0]); i++)
		if (ks_copy_exe(bb, copies[i]))
			return -1;
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]))
			return -errno;
	if (touch(SECRET) || touch(D "/jail/etc/ks_secret"))
		return -1;
	if (link(TOOL, D "/hard") || link(SECRET, D "/shard"))
		return -errno;
	fd = open(D "/usr/bin/ks_script", O_CREAT | O_WRONLY, 0755);
	if (fd < 0)
		return -errno;
	if (write(fd, "#!" TOOL "\n", strlen(TOOL) + 3) < 0)
		return -errno;
	close(fd);
	return 0;
}

/* A memfd named `name` holding a copy of file `src`; -1 on error. */
static int memfd_copy(const char *name, const char *src)
{
	char buf[65536];
	int fd = memfd_create(name, 0), in = open(src, O_RDONLY);
	ssize_t n;

	while (fd >= 0 && in >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			break;
	if (in >= 0)
		close(in);
	return fd;
}

/* The attacker: the operation from its own root and directory. */
static void attempt_child(const struct attempt *a)
{
	char *const argv[] = { (char *)a->path, NULL };
	char *const nc[] = { "nc", "127.0.0.1", "9", NULL };
	char *const env[] = { NULL };
	int fd = -1;

	if (a->kind == K_FEXEC)
		fd = open(a->path, O_PATH);
	if (a->kind == K_MEMFD)
		fd = memfd_copy(a->path, TOOL);
	if (a->root && (chroot(a->root) || chdir("/")))
		_exit(90);
	if (a->dir && chdir(a->dir))
		_exit(91);
	switch (a->kind) {
	case K_EXEC:
	case K_SCRIPT:
		execv(a->path, argv);
		break;
	case K_FEXEC:
	case K_MEMFD:
		syscall(SYS_execveat, fd, "", argv, env, AT_EMPTY_PATH);
		break;
	case K_CONNECT:
		execv(a->path, nc);
		break;
	case K_OPEN:
		fd = open(a->path, O_RDONLY);
		_exit(fd >= 0 ? 0 : 100 + errno);
	case K_UNLINK:
		_exit(unlink(a->path) ? 100 + errno : 0);
	case K_RENAME:
		_exit(rename(D "/data/src", a->path) ? 100 + errno : 0);
	}
	_exit(100 + errno);
}

static const struct ks_event *find(const struct ks_tenv *te, pid_t pid, int action)
{
	size_t i;

	for (i = 0; i < te->n; i++)
		if (te->evs[i].pid == (__u32)pid && te->evs[i].action == action)
			return &te->evs[i];
	return NULL;
}

static int action_of(enum kind k)
{
	static const int act[] = {
		[K_CONNECT] = KS_ACT_CONNECT, [K_OPEN] = KS_ACT_OPEN,
		[K_UNLINK] = KS_ACT_DELETION, [K_RENAME] = KS_ACT_RENAME,
	};

	return act[k] ? act[k] : KS_ACT_EXEC;
}

static bool is_file(enum kind k)
{
	return k == K_OPEN || k == K_UNLINK || k == K_RENAME;
}

/* The path field an attempt is judged on (a rename's: its new path). */
static int field_of(enum kind k)
{
	return is_file(k) ? KS_F_FILE_PATH : KS_F_PROCESS_EXECUTABLE;
}

/* Blocked: lsm refuses with EPERM (nc reports a failed connect), signal kills. */
static bool status_blocked(int mode, enum kind k, int status)
{
	if (mode == KS_MODE_SIGNAL)
		return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	if (k == K_CONNECT)
		return WIFEXITED(status) && WEXITSTATUS(status) != 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 100 + EPERM;
}

static void check_event(const struct ks_tenv *te, const struct attempt *a, const struct ks_event *ev,
			int mode, __u32 mnt_ns)
{
	char buf[KS_PATH_MAX + 1], name[64];
	const char *slash = strrchr(a->expect, '/');
	int f = field_of(a->kind);

	ks_tenv_str(ev, f, buf, sizeof(buf));
	if (a->kind == K_FEXEC) {
		size_t n = strlen(buf), e = strlen(a->expect);

		ASSERT_TRUE(buf[0] == '/' && n >= e && !strcmp(buf + n - e, a->expect), a->what);
	} else {
		ASSERT_STREQ(buf, a->expect, a->what);
	}
	snprintf(name, sizeof(name), "%s", slash + 1);
	ASSERT_STREQ(ks_tenv_str(ev, is_file(a->kind) ? KS_F_FILE_NAME : KS_F_PROCESS_NAME,
				 buf, sizeof(buf)), name, "name is the basename");
	if (a->kind == K_RENAME) {
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_FILE_ORIG_PATH, buf, sizeof(buf)),
			     D "/data/src", "file.Ext.original.path: where it was");
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_FILE_ORIG_NAME, buf, sizeof(buf)), "src",
			     "file.Ext.original.name");
	}
	ASSERT_EQ(ev->mnt_ns, mnt_ns, "kestrel.process.mnt_ns");
	if (a->kind == K_EXEC)
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_ARGS, buf, sizeof(buf)), a->path,
			     "process.args[0] is the name used");
	if (a->kind == K_SCRIPT) {
		/* as the kernel rewrites argv: { interpreter, script as given } */
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_ARGS, buf, sizeof(buf)), TOOL,
			     "process.args[0] is the interpreter");
		ASSERT_EQ(ev->args_count, 2, "process.args_count");
		ASSERT_STREQ(buf + strlen(TOOL) + 1, a->path, "process.args[1] is the script");
	}
	if (a->blocked)
		ASSERT_TRUE(ev->verdict.flags & (mode == KS_MODE_LSM ? KS_V_DENIED : KS_V_KILLED),
			    "verdict enforced");
	else
		ASSERT_FALSE(ev->verdict.flags & (KS_V_DENIED | KS_V_KILLED), "not enforced");
}

static void run_one(struct ks_tenv *te, const struct attempt *a, int mode, __u32 mnt_ns)
{
	const struct ks_event *ev;
	int status = -1;
	pid_t pid;

	test__log("%s: %s%s%s\n", a->what, a->root ? a->root : "", a->root ? " | " : "",
		  a->path);
	if ((a->kind == K_UNLINK || a->kind == K_RENAME) && !ASSERT_OK(mk_victims(), "victims"))
		return;
	pid = fork();
	if (pid == 0)
		attempt_child(a);
	waitpid(pid, &status, 0);
	if (a->blocked)
		ASSERT_TRUE(status_blocked(mode, a->kind, status), a->what);
	else	/* busybox ran, found no applet of that name: 127 */
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) ==
			    (is_file(a->kind) ? 0 : 127), a->what);
	ks_tenv_drain(te, ST_DRAIN_MS);
	ev = find(te, pid, action_of(a->kind));
	if (ASSERT_OK_PTR(ev, "event forwarded"))
		check_event(te, a, ev, mode, mnt_ns);
}

static void run_cuts(struct ks_tenv *te, int mode);
static void run_file_cuts(struct ks_tenv *te, int mode, const char *fsrc);

/* The attempts a mode runs: sys_tp, the file kinds only (the others have no such source). */
static void run_attempts(struct ks_tenv *te, int mode, bool sys_tp, const char *fsrc,
			 __u32 mnt_ns)
{
	size_t i;

	for (i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		const struct attempt *a = &attempts[i];

		if (sys_tp && !is_file(a->kind))
			continue;
		if (a->dentry && !strcmp(fsrc, "tracepoint")) {
			test__log("%s: not with the tracepoint source (lexical paths)\n", a->what);
			continue;
		}
		run_one(te, a, mode, mnt_ns);
	}
}

/*
 * One engine load per mode (loads are the slow part of the VM run): the
 * attempts under `rules`, then the cut paths under their own rule sets.
 * sys_tp: signal mode with the syscall tracepoint source forced (it is
 * the one the engine picks on kernels without kprobes anyway).
 */
static void run_mode(int mode, bool sys_tp)
{
	struct ks_engine_opts o = { .mode = mode, .sys_tracepoints = sys_tp };
	struct ks_tenv te = {};
	const char *fsrc;
	struct stat ns;
	int err;

	if (!ASSERT_OK(stat("/proc/self/ns/mnt", &ns), "own mount namespace") ||
	    !ASSERT_OK(ks_tenv_compile(&te, rules), "compile"))
		goto out;
	err = ks_tenv_load_mode(&te, &o);
	if (err > 0 || !ASSERT_OK(err, "load") || !ASSERT_OK(ks_tenv_attach(&te), "attach"))
		goto out;
	fsrc = ks_tenv_source(&te, "file");
	if (!ASSERT_OK_PTR(fsrc, "a file event source") ||
	    (sys_tp && !ASSERT_STREQ(fsrc, "tracepoint", "forced tracepoint source")))
		goto out;
	test__log("file events from: %s\n", fsrc);
	run_attempts(&te, mode, sys_tp, fsrc, (__u32)ns.st_ino);
	if (!sys_tp)
		run_cuts(&te, mode);
	run_file_cuts(&te, mode, fsrc);
out:
	ks_tenv_close(&te);
}

/* mkdir -p for the directories of `path` */
static int mkdirs(const char *path)
{
	char buf[2048];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/*
 * Path field f of ev is `real` cut: its value (the tail) ends it, the
 * head (cut_head bytes at the slot's start) begins it. Returns the head's
 * length.
 */
static size_t check_cut(const struct ks_event *ev, int f, const char *real)
{
	const struct ks_strref *r = &ev->str[f];
	const char *slot = (const char *)ev + r->off + r->len - KS_PATH_MAX;
	size_t n = strlen(real), hd = ev->cut_head[KS_PATH_IDX(f)], tl;
	char buf[KS_PATH_MAX + 1];

	ASSERT_TRUE(ev->truncated & (1u << f), "path cut");
	tl = strlen(ks_tenv_str(ev, f, buf, sizeof(buf)));
	ASSERT_TRUE(tl < n && !strcmp(real + n - tl, buf), "tail is the path's end");
	ASSERT_TRUE(hd < n && !memcmp(slot, real, hd), "head is the path's start");
	return hd;
}

/* Exec a cut path; check the verdict, the event's cut and the count. */
static void cut_one(struct ks_tenv *te, const char *path, int mode, int rule, bool undecided)
{
	struct ks_stats st0, st1;
	const struct ks_event *ev;
	char buf[KS_PATH_MAX + 1];
	int status;
	pid_t pid;

	test__log("cut: %s\n", path);
	ks_tenv_stats(te, &st0);
	status = ks_run_exe(path, "ks_cut", &pid);
	ks_tenv_drain(te, ST_DRAIN_MS);
	ks_tenv_stats(te, &st1);
	ASSERT_GE(st1.truncations[KS_F_PROCESS_EXECUTABLE] - st0.truncations[KS_F_PROCESS_EXECUTABLE],
		  1, "kestrel_field_truncations_total{field=process.executable}");
	ev = find(te, pid, KS_ACT_EXEC);
	if (rule < 0) {
		/* busybox ran (no applet "ks_cut"): nothing failed closed on it */
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 127, "not blocked");
		ASSERT_TRUE(ev == NULL || !(ev->verdict.flags & (KS_V_DENIED | KS_V_KILLED)),
			    "not enforced");
		return;
	}
	ASSERT_TRUE(status_blocked(mode, K_EXEC, status), "blocked");
	if (!ASSERT_OK_PTR(ev, "event forwarded"))
		return;
	ASSERT_GE(check_cut(ev, KS_F_PROCESS_EXECUTABLE, path), strlen(C "/p/"), "head kept");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_PROCESS_NAME, buf, sizeof(buf)), strrchr(path, '/') + 1,
		     "process.name whole");
	ASSERT_EQ(ks_tenv_cut_flag(te, ev, rule), undecided, "undecided by the cut (KS_M_CUT)");
	ASSERT_TRUE(ks_tenv_matched(te, ev, rule, true), "rule completed in the kernel");
}

/* The cut paths, each rule set installed in turn into the loaded engine. */
static void run_cuts(struct ks_tenv *te, int mode)
{
	if (!ASSERT_OK(ks_tenv_swap(te, cut_rules), "install the cut rules"))
		return;
	cut_one(te, CUT_P, mode, ks_tenv_rule(te, "st_cut_prefix"), false);
	cut_one(te, CUT_M, mode, ks_tenv_rule(te, "st_cut_mid"), true);
	cut_one(te, CUT_R, mode, -1, false);
	if (!ASSERT_OK(ks_tenv_swap(te, cut_rules_hidden), "install the hidden-trigger rule"))
		return;
	/* kill: SIGKILL in both modes */
	cut_one(te, CUT_M2, KS_MODE_SIGNAL, ks_tenv_rule(te, "st_cut_hidden"), true);
}

/* A deletion, or a rename of FC_G "/src", of a deep path. */
struct fcut {
	const char *what;
	const char *dir;	/* chdir() here first (NULL: no) */
	const char *name;	/* the name deleted, or renamed to */
	const char *real;	/* the real path: file.path (a rename's new one) */
	const char *rule;	/* the rule that blocks it (NULL: none) */
	bool rename;
	bool tp_nohead;		/* the tracepoint source cannot know its head */
};

#define FC_PREFIX	"st_fcut_prefix"

static const struct fcut fcuts[] = {
	{ "prefix on the head", NULL, FC_F "/v1", FC_F "/v1", FC_PREFIX },
	{ "no rule on it", NULL, FC_G "/v2", FC_G "/v2", NULL },
	{ "relative, cut after its directory", C "/f" CUT_DIRS, CUT_NAME CUT_DIR CUT_DIR "/v3",
	  FC_F "/v3", FC_PREFIX },
	{ "relative to a cut directory", FC_F, "v4", FC_F "/v4", FC_PREFIX },
	{ ".. within a cut directory's tail", FC_H, "../v5", C "/h" CUT_DIRS CUT_DIR CUT_DIR "/v5",
	  NULL },
	/* a short path the cut directory hides: C/h/x, equal to st_fcut_eq */
	{ ".. above a cut directory's tail", FC_H, "../../../../../../x", C "/h/x", "st_fcut_eq",
	  false, true },
	{ "longer than the tracepoint's work area", NULL, FC_LONG "/v6", FC_LONG "/v6", FC_PREFIX,
	  false, true },
	{ "rename onto a deep path", NULL, FC_F "/r1", FC_F "/r1", FC_PREFIX, true },
	{ "rename relative to a cut directory", FC_F, "r2", FC_F "/r2", FC_PREFIX, true },
};

static void fcut_child(const struct fcut *fc)
{
	if (fc->dir && chdir(fc->dir))
		_exit(91);
	if (fc->rename)
		_exit(rename(FC_G "/src", fc->name) ? 100 + errno : 0);
	_exit(unlink(fc->name) ? 100 + errno : 0);
}

/* The event's path: whole, or cut with a true head and tail. */
static void fcut_check(const struct ks_tenv *te, const struct fcut *fc, const struct ks_event *ev,
		       bool tp)
{
	const int f = KS_F_FILE_PATH;
	int rule = fc->rule ? ks_tenv_rule(te, fc->rule) : -1;
	char buf[KS_PATH_MAX + 1];
	size_t hd;

	/* the source, FC_G "/src", is cut too, its head known from the root */
	if (fc->rename)
		ASSERT_GE(check_cut(ev, KS_F_FILE_ORIG_PATH, FC_G "/src"), strlen(C "/g/"),
			  "file.Ext.original.path: head kept");
	if (rule >= 0)
		ASSERT_TRUE(ks_tenv_matched(te, ev, rule, true), "rule completed in the kernel");
	else
		ASSERT_FALSE(ev->verdict.flags & (KS_V_DENIED | KS_V_KILLED), "not enforced");
	if (strlen(fc->real) <= KS_PATH_MAX && !(tp && fc->tp_nohead)) {
		ASSERT_STREQ(ks_tenv_str(ev, f, buf, sizeof(buf)), fc->real, "whole path");
		return;
	}
	hd = check_cut(ev, f, fc->real);
	if (tp && fc->tp_nohead) {
		ASSERT_EQ(hd, 0, "no head: the arguments do not give it");
		ASSERT_EQ(ks_tenv_cut_flag(te, ev, rule), 1, "undecided by the cut (KS_M_CUT)");
	} else {
		ASSERT_GE(hd, strlen(C "/f/"), "head kept");
	}
}

static void fcut_one(struct ks_tenv *te, const struct fcut *fc, int mode, bool tp)
{
	const struct ks_event *ev;
	int status = -1;
	pid_t pid;

	test__log("file cut: %s\n", fc->what);
	if (!ASSERT_OK(fc->rename ? touch(FC_G "/src") : touch(fc->real), "make the file"))
		return;
	pid = fork();
	if (pid == 0)
		fcut_child(fc);
	waitpid(pid, &status, 0);
	if (fc->rule)
		ASSERT_TRUE(status_blocked(mode, K_UNLINK, status), "blocked");
	else
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "not blocked");
	ks_tenv_drain(te, ST_DRAIN_MS);
	ev = find(te, pid, fc->rename ? KS_ACT_RENAME : KS_ACT_DELETION);
	if (ASSERT_OK_PTR(ev, "event forwarded"))
		fcut_check(te, fc, ev, tp);
}

/* Deletions and renames of deep paths, in whichever source the mode has. */
static void run_file_cuts(struct ks_tenv *te, int mode, const char *fsrc)
{
	struct ks_stats st0, st1;
	size_t i;

	if (!ASSERT_OK(ks_tenv_swap(te, fcut_rules), "install the file cut rules"))
		return;
	ks_tenv_stats(te, &st0);
	for (i = 0; i < sizeof(fcuts) / sizeof(fcuts[0]); i++)
		fcut_one(te, &fcuts[i], mode, !strcmp(fsrc, "tracepoint"));
	ks_tenv_stats(te, &st1);
	ASSERT_GE(st1.truncations[KS_F_FILE_PATH] - st0.truncations[KS_F_FILE_PATH], 5,
		  "kestrel_field_truncations_total{field=file.path}");
	ASSERT_GE(st1.truncations[KS_F_FILE_ORIG_PATH] - st0.truncations[KS_F_FILE_ORIG_PATH],
		  2, "kestrel_field_truncations_total{field=file.Ext.original.path}");
}

static int mk_cut_tree(void)
{
	static const char *const bins[] = { CUT_P, CUT_M, CUT_R, CUT_M2 };
	static const char *const files[] = {
		FC_F "/x", FC_G "/x", FC_H "/x", C "/h" CUT_DIRS CUT_DIR CUT_DIR "/x", FC_LONG "/x",
	};
	char bb[64];
	size_t i;

	if (system("rm -rf " C))
		return -1;
	ks_bin("busybox", bb, sizeof(bb));
	for (i = 0; i < sizeof(bins) / sizeof(bins[0]); i++)
		if (strlen(bins[i]) <= KS_PATH_MAX || mkdirs(bins[i]) || ks_copy_exe(bb, bins[i]))
			return -1;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (mkdirs(files[i]))
			return -1;
	return 0;
}

void test_paths(void)
{
	if (!ASSERT_OK(mk_tree(), "build " D) || !ASSERT_OK(mk_cut_tree(), "build " C))
		return;
	if (test__start_subtest("signal"))
		run_mode(KS_MODE_SIGNAL, false);
	if (test__start_subtest("tracepoint"))
		run_mode(KS_MODE_SIGNAL, true);
	if (test__start_subtest("lsm"))
		run_mode(KS_MODE_LSM, false);
	if (system("rm -rf " D " " C))
		test__log("could not remove " D " and " C "\n");
}
