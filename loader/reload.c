// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reload hand-over (see reload.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kestrel/clock.h"
#include "kestrel/engine.h"
#include "kestrel/kbin.h"
#include "kestrel/log.h"
#include "reload.h"

static void run_path(char *buf, size_t len, pid_t pid, const char *what)
{
	snprintf(buf, len, KS_RUN_DIR "/reload-%d.%s", (int)pid, what);
}

/* KS_RUN_DIR, created root-only, or refused when someone else could write it. */
static int run_dir(char *why, size_t len)
{
	if (mkdir(KS_RUN_DIR, 0700) && errno != EEXIST) {
		snprintf(why, len, "cannot create " KS_RUN_DIR ": %s", strerror(errno));
		return -errno;
	}
	return ks_pin_dir_check(KS_RUN_DIR, why, len);
}

/*
 * in to out: in the kernel (sendfile: no 64 KiB bounce through here,
 * bench/profile/reload-kbin-handover.txt), or read/write where in cannot
 * be sent from. 0, or -1 with errno.
 */
static int copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n;
	bool sent = false;

	while ((n = sendfile(out, in, NULL, 1 << 30)) > 0)
		sent = true;
	if (!n)
		return 0;
	if (sent || (errno != EINVAL && errno != ENOSYS))
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			return -1;
	return n ? -1 : 0;
}

/* Copy file src to dst (a new file); 0, or -errno with why. */
static int copy_file(const char *src, const char *dst, char *why, size_t len)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, err = 0;

	if (in >= 0)
		out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (in < 0 || out < 0 || copy_fd(in, out))
		err = -errno;
	if (out >= 0 && close(out) && !err)
		err = -errno;
	if (err) {
		snprintf(why, len, "%s: %s", in < 0 ? src : dst, strerror(-err));
		if (out >= 0)
			unlink(dst);
	}
	if (in >= 0)
		close(in);
	return err;
}

/* The name a request is written under before its rename to req. */
static void tmp_of(char *tmp, size_t len, const char *req)
{
	snprintf(tmp, len, "%s.%d", req, (int)getpid());
}

/* "PID FD": the attach process takes fd of this process (pidfd_getfd). */
static int write_fd_request(const char *tmp, int fd, char *why, size_t len)
{
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), err = 0;

	if (out < 0 || dprintf(out, "%d %d\n", (int)getpid(), fd) < 0)
		err = errno ? -errno : -EIO;
	if (out >= 0 && close(out) && !err)
		err = -errno;
	if (err) {
		snprintf(why, len, "%s: %s", tmp, strerror(-err));
		if (out >= 0)
			unlink(tmp);
	}
	return err;
}

/*
 * The .kbin file kbin, open at *fd until the answer: a regular file is
 * handed over as it is (its descriptor; the attach process hashes and
 * checks the bytes as it reads them, never a mapping of the file), anything
 * else is copied into the request. That copy
 * into KS_RUN_DIR was a sendfile of the whole file on every .kbin reload
 * (bench/profile/kbin6-fd.txt).
 */
static int put_kbin(pid_t pid, const char *kbin, int *fd, char *req, size_t rlen,
		    char *why, size_t len)
{
	char tmp[160];
	struct stat st;

	*fd = open(kbin, O_RDONLY | O_CLOEXEC);
	if (*fd < 0 || fstat(*fd, &st)) {
		snprintf(why, len, "%s: %s", kbin, strerror(errno));
		return -errno;
	}
	if (S_ISREG(st.st_mode)) {
		run_path(req, rlen, pid, "fd");
		tmp_of(tmp, sizeof(tmp), req);
		return write_fd_request(tmp, *fd, why, len);
	}
	close(*fd);
	*fd = -1;
	run_path(req, rlen, pid, "kbin");
	tmp_of(tmp, sizeof(tmp), req);
	return copy_file(kbin, tmp, why, len);
}

/*
 * Write the request (*req, its name) under a name of our own, then rename
 * it into place: (rs, t) as a .kbin, or the .kbin file `kbin` as it is
 * (the attach process checks it as it would any .kbin).
 */
static int put_request(pid_t pid, const struct ks_ruleset *rs, const struct ks_tables *t,
		       const char *kbin, int *fd, char *req, size_t rlen, char *why, size_t len)
{
	char tmp[160];
	int err;

	if (kbin) {
		err = put_kbin(pid, kbin, fd, req, rlen, why, len);
	} else {
		run_path(req, rlen, pid, "kbin");
		tmp_of(tmp, sizeof(tmp), req);
		err = ks_kbin_write(tmp, rs, t, why, len) ? -EIO : 0;
	}
	if (err)
		return err;
	tmp_of(tmp, sizeof(tmp), req);
	if (rename(tmp, req)) {
		snprintf(why, len, "%s: %s", req, strerror(errno));
		unlink(tmp);
		return -errno;
	}
	return 0;
}

static int read_answer(const char *path, struct ks_reload_answer *ans)
{
	FILE *f = fopen(path, "r");
	char line[320] = "";
	int err, pos = 0;

	if (!f)
		return -errno;
	memset(ans, 0, sizeof(*ans));
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	line[strcspn(line, "\n")] = 0;
	if (sscanf(line, "%d %n", &err, &pos) != 1)
		err = -EPROTO;
	else if (!err && sscanf(line + pos, "%u %u", &ans->generation, &ans->n_rules) != 2)
		err = -EPROTO;
	else if (err)
		snprintf(ans->why, sizeof(ans->why), "%s", line + pos);
	if (err == -EPROTO)
		snprintf(ans->why, sizeof(ans->why), "unreadable answer \"%s\"", line);
	ans->err = err;
	return 0;
}

/*
 * Look for the answer every millisecond: a swap takes a few, and the
 * poll is what `kload reload` adds to it. While the request is still
 * there (not taken), SIGHUP again now and then: one that reached the
 * attach process just before it went to sleep in its poll would
 * otherwise wait out the poll's timeout (bench/profile/
 * reload-kbin-handover.txt); one too many finds no request and is
 * ignored.
 */
static int wait_answer(pid_t pid, const char *req, struct ks_reload_answer *ans)
{
	long deadline = (long)(ks_mono_ns() / 1000000) + KS_RELOAD_WAIT_MS, resend = (long)(ks_mono_ns() / 1000000) + KS_RELOAD_RESEND_MS;
	char path[128];

	run_path(path, sizeof(path), pid, "answer");
	while ((long)(ks_mono_ns() / 1000000) < deadline) {
		usleep(1000);
		if (!read_answer(path, ans)) {
			unlink(path);
			return 0;
		}
		if (kill(pid, 0))
			break;
		if ((long)(ks_mono_ns() / 1000000) >= resend && !access(req, F_OK)) {
			kill(pid, SIGHUP);
			resend = (long)(ks_mono_ns() / 1000000) + KS_RELOAD_RESEND_MS;
		}
	}
	snprintf(ans->why, sizeof(ans->why), "kload pid %d %s", (int)pid,
		 kill(pid, 0) ? "exited before it answered" :
		 "did not answer within 10 s");
	return ans->err = -ETIMEDOUT;
}

int ks_reload_request(pid_t pid, const struct ks_ruleset *rs, const struct ks_tables *t,
		      const char *kbin, struct ks_reload_answer *ans)
{
	char path[128], req[128];
	int lock, err, fd = -1;

	memset(ans, 0, sizeof(*ans));
	err = run_dir(ans->why, sizeof(ans->why));
	if (err)
		return ans->err = err;
	run_path(path, sizeof(path), pid, "lock");
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX)) {
		snprintf(ans->why, sizeof(ans->why), "%s: %s", path, strerror(errno));
		err = -errno;
		goto out;
	}
	run_path(path, sizeof(path), pid, "answer");
	unlink(path);	/* a stale one from a reloader that died */
	err = put_request(pid, rs, t, kbin, &fd, req, sizeof(req), ans->why, sizeof(ans->why));
	if (err)
		goto out;
	if (kill(pid, SIGHUP)) {
		snprintf(ans->why, sizeof(ans->why), "kload pid %d: %s", (int)pid,
			 strerror(errno));
		err = -errno;
		goto out;
	}
	err = wait_answer(pid, req, ans) ?: ans->err;
out:
	if (fd >= 0)
		close(fd);
	if (lock >= 0)
		close(lock);
	return ans->err = err;
}

bool ks_reload_pending(void)
{
	char path[128], fd[128];

	run_path(path, sizeof(path), getpid(), "kbin");
	run_path(fd, sizeof(fd), getpid(), "fd");
	return !access(fd, F_OK) || !access(path, F_OK);
}

/*
 * The reloader's descriptor named in the request at req: pidfd_getfd()
 * (Linux 5.6), else its /proc/PID/fd link opened again. -1 with why.
 */
static int take_fd(const char *req, char *why, size_t len)
{
	FILE *f = fopen(req, "r");
	int pid = 0, fd = -1, pfd, got = -1;
	char proc[64];

	if (f) {
		if (fscanf(f, "%d %d", &pid, &fd) != 2)
			pid = 0;
		fclose(f);
	}
	if (pid <= 0 || fd < 0) {
		snprintf(why, len, "%s: %s", req, f ? "not a request" : strerror(errno));
		return -1;
	}
	pfd = syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		got = syscall(SYS_pidfd_getfd, pfd, fd, 0);
		close(pfd);
	}
	if (got < 0) {
		snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", pid, fd);
		got = open(proc, O_RDONLY | O_CLOEXEC);
	}
	if (got < 0)
		snprintf(why, len, "cannot take the .kbin of kload reload pid %d: %s", pid,
			 strerror(errno));
	return got;
}

/*
 * The request's tables: the reloader's file through its descriptor, or
 * the .kbin the request is (rules it compiled, or a file that is not a
 * regular one); named in messages as the .kbin request either way.
 */
static int take_tables(struct ks_tables *t, struct ks_kbin_pending **kp, char *err,
		       size_t len)
{
	unsigned int flags = KS_KBIN_ZEROED | KS_KBIN_RULES_LATER;
	char req[128], name[128];
	int fd, ret;

	run_path(name, sizeof(name), getpid(), "kbin");
	run_path(req, sizeof(req), getpid(), "fd");
	if (access(req, F_OK))
		return ks_kbin_read_tables_private(name, t, flags, kp, err, len);
	fd = take_fd(req, err, len);
	if (fd < 0)
		return -1;
	ret = ks_kbin_read_tables_fd(fd, name, t, flags, kp, err, len);
	close(fd);
	return ret;
}

/*
 * The tables are read straight into a new generation's map when the
 * engine can stage one (ks_tables_stage()): no struct of their size to
 * fault in, fill and copy again. A fresh map, like calloc's memory, is
 * zeros: nothing to clear first. The rule metadata is parsed once the
 * kernel has switched to the tables (ks_reload_take_rules()), not on a
 * thread beside their read: on a loaded host that thread took the read's
 * CPU (bench/profile/kbin4-final.txt).
 */
int ks_reload_take(struct ks_engine *e, struct ks_tables **tp, struct ks_kbin_pending **kp,
		   char *why, size_t len)
{
	struct ks_tables *t = ks_tables_stage(e) ?: calloc(1, sizeof(*t));
	char path[128], err[200];

	run_path(path, sizeof(path), getpid(), "kbin");
	if (!t || take_tables(t, kp, err, sizeof(err))) {
		snprintf(why, len, "cannot read %s: %s", path, t ? err : "no memory");
		ks_reload_taken();
		ks_reload_release(e, t);
		return -EINVAL;
	}
	*tp = t;	/* the request goes once the kernel switched (ks_reload_taken()) */
	return 0;
}

/*
 * After the switch: freeing a 2 MiB file's pages cost 0.1-0.4 ms before
 * it (bench/profile/kbin5-phases.txt). A SIGHUP resent meanwhile finds
 * no request by the time it is looked at.
 */
void ks_reload_taken(void)
{
	char path[128];

	run_path(path, sizeof(path), getpid(), "kbin");
	unlink(path);
	run_path(path, sizeof(path), getpid(), "fd");
	unlink(path);
}

int ks_reload_take_rules(struct ks_kbin_pending *kp, const struct ks_tables *t,
			 struct ks_ruleset **rsp, char *why, size_t len)
{
	struct ks_ruleset *rs = ks_ruleset_new();
	char err[200], path[128];
	const char *msg = err;
	size_t n;

	if (!rs) {
		ks_kbin_pending_free(kp);
		snprintf(why, len, "no memory for the rules");
		return -ENOMEM;
	}
	if (ks_kbin_read_rules(kp, rs, t, err, sizeof(err))) {
		/* the hand-over file's name says nothing: the reloader names its own */
		run_path(path, sizeof(path), getpid(), "kbin");
		n = strlen(path);
		if (!strncmp(err, path, n) && !strncmp(err + n, ": ", 2))
			msg += n + 2;
		snprintf(why, len, "%s", msg);
		ks_ruleset_free(rs);
		return -EINVAL;
	}
	*rsp = rs;
	return 0;
}

void ks_reload_release(struct ks_engine *e, struct ks_tables *t)
{
	if (t && t == e->staged)
		ks_tables_unstage(e);
	else if (!ks_tables_mapped(e, t))	/* else the generation's own pages */
		free(t);
}

void ks_reload_log(const struct ks_reload_clock *c, const struct ks_reload_answer *ans)
{
	uint64_t now = ks_mono_ns(), sig = c->sig && c->sig <= c->start ? c->sig : c->start;

	if (ans->err) {
		pr_warn("kload: reload failed: %s\n", ans->why);
		return;
	}
	pr_info("kload: reloaded %u rules, generation %u\n", ans->n_rules, ans->generation);
	pr_debug("kload: reload phases: wake-up %.2f ms, read %.2f ms, switch %.2f ms, "
		 "rules %.2f ms, answer %.2f ms (SIGHUP to switch %.2f ms, to answer %.2f ms)\n",
		 (c->start - sig) / 1e6, (c->read - c->start) / 1e6,
		 (c->install - c->read) / 1e6, (c->rules - c->install) / 1e6,
		 (now - c->rules) / 1e6, (c->install - sig) / 1e6, (now - sig) / 1e6);
}

void ks_reload_reply(const struct ks_reload_answer *ans)
{
	char tmp[128], path[128];
	FILE *f;

	run_path(path, sizeof(path), getpid(), "answer");
	run_path(tmp, sizeof(tmp), getpid(), "answer.tmp");
	f = fopen(tmp, "w");
	if (!f)
		return;
	if (ans->err)
		fprintf(f, "%d %s\n", ans->err, ans->why);
	else
		fprintf(f, "0 %u %u\n", ans->generation, ans->n_rules);
	if (fclose(f) || rename(tmp, path))
		unlink(tmp);
}

void ks_reload_cleanup(void)
{
	static const char *const what[] = { "kbin", "fd", "answer", "answer.tmp", "lock" };
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		run_path(path, sizeof(path), getpid(), what[i]);
		unlink(path);
	}
}
