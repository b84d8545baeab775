// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * already_running events from /proc at attach; see include/kestrel/
 * running.h. The list is taken once (a snapshot, 24 bytes a process);
 * each event is read when asked for, so kload attach hands them to the
 * pipeline a slice at a time between two reads of the ring buffer.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kestrel/procfs.h"
#include "kestrel/running.h"
#include "ks_tasks.skel.h"

/* What one /proc file read keeps: a cmdline beyond it is cut (ARGS_MAX). */
#define KS_PROC_BUF	4096

struct ks_running {
	int proc_fd;
	struct ks_task_rec *recs;
	size_t n, cap, next, emitted;
	bool exact;		/* start times from the iterator */
	uint32_t self;		/* kload's pid: no event of its own */
};

/* ---- one process ---- */

static uint64_t ticks_ns(uint64_t ticks)
{
	static long hz;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	return ticks * (1000000000ull / (uint64_t)hz);
}

/*
 * The executable into its slot, as the hooks lay it out: the whole path,
 * or, cut, its tail at the slot's end with no head (cut_head 0).
 */
static int put_exe(int proc_fd, uint32_t pid, struct ks_event *ev, char *slot,
		   enum ks_field f, enum ks_field name_f)
{
	static const char deleted[] = " (deleted)";
	char buf[KS_PROC_BUF];
	ssize_t n;
	size_t b;

	n = ks_proc_readlink(proc_fd, pid, "exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return -ENOENT;
	/* an unlinked file's link says so; the hooks' path does not */
	if ((size_t)n > sizeof(deleted) - 1 &&
	    !memcmp(buf + n - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1))
		n -= sizeof(deleted) - 1;
	if ((size_t)n > KS_PATH_MAX - 1) {
		/* the tail fills the slot from its second byte to its end */
		memcpy(slot + 1, buf + n - (KS_PATH_MAX - 1), KS_PATH_MAX - 1);
		ev->str[f] = (struct ks_strref){ (__u16)(slot + 1 - (char *)ev),
						 KS_PATH_MAX - 1 };
		ev->truncated |= 1u << f;
		ev->cut_head[KS_PATH_IDX(f)] = 0;
	} else {
		memcpy(slot, buf, n);
		slot[n] = 0;
		ev->str[f] = (struct ks_strref){ (__u16)(slot - (char *)ev), (__u16)n };
	}
	for (b = ev->str[f].len; b > 0 && ((char *)ev)[ev->str[f].off + b - 1] != '/'; b--)
		;
	ev->str[name_f] = (struct ks_strref){ (__u16)(ev->str[f].off + b),
					      (__u16)(ev->str[f].len - b) };
	return 0;
}

/* process.args from cmdline, as the hooks read the arg area; args_count whole. */
static void put_args(int proc_fd, uint32_t pid, struct ks_event *ev)
{
	char buf[KS_PROC_BUF];
	ssize_t n = ks_proc_read(proc_fd, pid, "cmdline", buf, sizeof(buf));
	size_t i, len;

	if (n <= 0)
		return;
	for (i = 0; i < (size_t)n; i++)
		ev->args_count += !buf[i];
	if (buf[n - 1])
		ev->args_count++;	/* no final NUL: the last element is cut */
	len = buf[n - 1] ? (size_t)n : (size_t)n - 1;
	if (len > KS_ARGS_MAX - 1) {
		len = KS_ARGS_MAX - 1;
		ev->truncated |= 1u << KS_F_PROCESS_ARGS;
	}
	memcpy(ev->args, buf, len);
	ev->args[len] = 0;
	ev->str[KS_F_PROCESS_ARGS] = (struct ks_strref){
		(__u16)offsetof(struct ks_event, args), (__u16)len };
	ev->str[KS_F_PROCESS_COMMAND_LINE] = ev->str[KS_F_PROCESS_ARGS];
}

/* The parent's executable, name and effective ids: what a hook fills. */
static void put_parent(int proc_fd, const struct ks_task_rec *rec, struct ks_event *ev)
{
	struct ks_proc_ids ids;

	ev->ppid = rec->ppid;
	ev->parent_start_ns = rec->parent_start_ns;
	ev->parent_entity = KS_ENTITY_KEY(ev->ppid, ev->parent_start_ns);
	if (!rec->ppid)
		return;		/* init's parent: none */
	ev->present |= KS_P_PARENT;
	put_exe(proc_fd, rec->ppid, ev, ev->pexe, KS_F_PARENT_EXECUTABLE, KS_F_PARENT_NAME);
	if (!ks_proc_status(proc_fd, rec->ppid, &ids)) {
		ev->peuid = ids.euid;
		ev->pegid = ids.egid;
		ev->present |= KS_P_PEUID | KS_P_PEGID;
	}
}

/* Start times the iterator did not give: from stat, in clock ticks. */
static int fill_times(int proc_fd, struct ks_task_rec *rec)
{
	struct ks_proc_stat st, pst;

	if (ks_proc_stat(proc_fd, rec->pid, &st))
		return -ENOENT;
	/* exact: still the process the iterator saw (stat floors the ns)? */
	if (rec->start_ns)
		return st.start_ticks == rec->start_ns / ticks_ns(1) ? 0 : -ENOENT;
	rec->start_ns = ticks_ns(st.start_ticks);
	rec->ppid = st.ppid;
	if (st.ppid && !ks_proc_stat(proc_fd, st.ppid, &pst))
		rec->parent_start_ns = ticks_ns(pst.start_ticks);
	return 0;
}

int ks_proc_event(int proc_fd, const struct ks_task_rec *rec_in, uint64_t now_ns,
		  struct ks_event *ev)
{
	struct ks_task_rec rec = *rec_in;
	struct ks_proc_ids ids;

	if ((rec.flags & KS_TASK_KTHREAD) || fill_times(proc_fd, &rec))
		return -ENOENT;
	memset(ev, 0, offsetof(struct ks_event, exe));
	ev->ts_ns = now_ns;
	ev->category = KS_CAT_PROCESS;
	ev->action = KS_ACT_ALREADY_RUNNING;
	ev->source = KS_SRC_EXEC;	/* the process hooks' family */
	ev->pid = rec.pid;
	ev->start_ns = rec.start_ns;
	ev->entity = KS_ENTITY_KEY(ev->pid, ev->start_ns);
	/* no executable: a kernel thread (or gone), which Defend does not report */
	if (put_exe(proc_fd, rec.pid, ev, ev->exe, KS_F_PROCESS_EXECUTABLE, KS_F_PROCESS_NAME) ||
	    ks_proc_status(proc_fd, rec.pid, &ids))
		return -ENOENT;
	ev->present = KS_P_PROCESS | KS_P_USER | KS_P_EUID | KS_P_EGID;
	ev->uid = ids.uid;
	ev->gid = ids.gid;
	ev->euid = ids.euid;
	ev->egid = ids.egid;
	ev->cap_effective = ids.cap_eff;
	ev->cap_permitted = ids.cap_prm;
	put_args(proc_fd, rec.pid, ev);
	put_parent(proc_fd, &rec, ev);
	return 0;
}

/* ---- the list ---- */

static int rec_add(struct ks_running *r, const struct ks_task_rec *rec)
{
	struct ks_task_rec *n;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		n = realloc(r->recs, r->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->recs = n;
	}
	r->recs[r->n++] = *rec;
	return 0;
}

/* Every thread group, exact start times: the task iterator's records. */
static int list_iter(struct ks_running *r)
{
	struct ks_tasks_bpf *skel = ks_tasks_bpf__open_and_load();
	struct ks_task_rec buf[256];
	struct bpf_link *link = NULL;
	ssize_t n, i;
	int fd = -1, err = 0;

	if (!skel)
		return -errno;
	link = bpf_program__attach_iter(skel->progs.ks_iter_tasks, NULL);
	if (!link || (fd = bpf_iter_create(bpf_link__fd(link))) < 0)
		err = -errno;
	while (!err && (n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n / (ssize_t)sizeof(buf[0]) && !err; i++)
			err = rec_add(r, &buf[i]);
	if (!err && n < 0)
		err = -errno;
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	ks_tasks_bpf__destroy(skel);
	return err;
}

/* Without the iterator: the numeric entries of proc, times from stat. */
static int list_dir(struct ks_running *r)
{
	struct ks_task_rec rec = {};
	int fd = dup(r->proc_fd), err = 0;
	struct dirent *de;
	DIR *d;

	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while (!err && (de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0])) {
			rec.pid = (uint32_t)strtoul(de->d_name, NULL, 10);
			err = rec_add(r, &rec);
		}
	closedir(d);
	return err;
}

struct ks_running *ks_running_open(const char *proc, bool use_iter)
{
	struct ks_running *r = calloc(1, sizeof(*r));
	int err = -ENOMEM;

	if (!r)
		goto fail;
	r->self = (uint32_t)getpid();
	r->proc_fd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->proc_fd < 0) {
		err = -errno;
		goto fail;
	}
	r->exact = use_iter && !list_iter(r);
	if (!r->exact) {
		r->n = 0;
		err = list_dir(r);
		if (err)
			goto fail;
	}
	return r;
fail:
	ks_running_close(r);
	errno = -err;
	return NULL;
}

int ks_running_next(struct ks_running *r, struct ks_event *ev)
{
	struct timespec now;

	clock_gettime(CLOCK_BOOTTIME, &now);
	while (r->next < r->n) {
		const struct ks_task_rec *rec = &r->recs[r->next++];

		if (rec->pid == r->self)
			continue;
		if (!ks_proc_event(r->proc_fd, rec, now.tv_sec * 1000000000ull + now.tv_nsec, ev)) {
			r->emitted++;
			return 1;
		}
	}
	return 0;
}

void ks_running_close(struct ks_running *r)
{
	if (!r)
		return;
	if (r->proc_fd > 0)
		close(r->proc_fd);
	free(r->recs);
	free(r);
}

size_t ks_running_listed(const struct ks_running *r)
{
	return r->n;
}

size_t ks_running_emitted(const struct ks_running *r)
{
	return r->emitted;
}

bool ks_running_exact(const struct ks_running *r)
{
	return r->exact;
}
