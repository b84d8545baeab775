/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Filling struct ks_event from kernel objects: the task (process.*,
 * user.*), paths (dentry walk), and exec arguments. CO-RE reads only.
 */
#ifndef KS_TASK_BPF_H
#define KS_TASK_BPF_H

#include "ks_eval.bpf.h"

#define KS_PATH_DEPTH	32
#define KS_ARGV_MAX	32

#define KS_SLOT_OFF(member)	((__u16)offsetof(struct ks_event, member))

static __always_inline void ks_set_str(struct ks_event *ev, __u32 f, __u32 off, __u32 len)
{
	if (f >= KS_F_STR_N)
		return;
	ev->str[f].off = off;
	ev->str[f].len = len;
}

/*
 * Offset just past the last `ch` in a value (0 when there is none):
 * process.name and file.name follow the last '/', file.extension the
 * last '.' of the name.
 */
__noinline int ks_after_last(struct ks_scratch *sc, __u32 off, __u32 len, __u32 ch)
{
	__u8 *base;
	__u32 i, after = 0;

	if (!sc)
		return 0;
	base = (__u8 *)&sc->ev;
	for (i = 0; i < KS_PATH_MAX; i++) {
		__u32 pos = off + i;

		if (i >= len || pos >= sizeof(struct ks_event))
			break;
		if (base[ks_bound(pos, 0xfff)] == ch)
			after = i + 1;
	}
	return after;
}

/* Derive the name field `nf` (basename) from path field `pf`. */
static __always_inline void ks_derive_name(struct ks_scratch *sc, __u32 pf, __u32 nf)
{
	struct ks_event *ev = &sc->ev;
	__u32 off, len, b;

	if (pf >= KS_F_STR_N || nf >= KS_F_STR_N)
		return;
	off = ev->str[pf].off;
	len = ev->str[pf].len;
	b = ks_after_last(sc, off, len, '/');
	if (b > len)
		return;
	ks_set_str(ev, nf, off + b, len - b);
}

static __always_inline void ks_derive_file_fields(struct ks_scratch *sc)
{
	struct ks_event *ev = &sc->ev;
	__u32 off, len, d;

	ks_derive_name(sc, KS_F_FILE_PATH, KS_F_FILE_NAME);
	off = ev->str[KS_F_FILE_NAME].off;
	len = ev->str[KS_F_FILE_NAME].len;
	d = ks_after_last(sc, off, len, '.');
	if (d && d <= len)
		ks_set_str(ev, KS_F_FILE_EXTENSION, off + d, len - d);
	else
		ks_set_str(ev, KS_F_FILE_EXTENSION, off + len, 0);
}

/*
 * Absolute path of `path` written right-aligned into `slot` (KS_PATH_MAX
 * bytes); returns the start offset inside the slot. Walks dentries up to
 * the global root, crossing mounts; stops (and flags truncation) when the
 * slot is full or the tree is deeper than KS_PATH_DEPTH.
 */
static __noinline int ks_path_walk(struct ks_event *ev, char *slot, __u32 field,
				   const struct path *path)
{
	struct dentry *d = BPF_CORE_READ(path, dentry);
	struct vfsmount *vm = BPF_CORE_READ(path, mnt);
	struct mount *mnt = (void *)vm - bpf_core_field_offset(struct mount, mnt);
	__u32 pos = KS_PATH_MAX, i;

	for (i = 0; i < KS_PATH_DEPTH; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		struct dentry *mroot = BPF_CORE_READ(mnt, mnt.mnt_root);
		struct qstr q;
		__u32 len;

		if (!d)
			break;
		if (d == mroot) {
			struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);

			if (mp == mnt)
				break;
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mp;
			continue;
		}
		if (d == parent)
			break;
		q = BPF_CORE_READ(d, d_name);
		len = q.len;
		if (len >= KS_PATH_MAX || len + 1 > pos) {
			ev->truncated |= 1u << field;
			break;
		}
		pos -= len;
		/* separate masks clang cannot fold into one unbounded check */
		barrier_var(len);
		len &= KS_PATH_MAX - 1;
		barrier_var(pos);
		pos &= KS_PATH_MAX - 1;
		bpf_probe_read_kernel(slot + pos, len, q.name);
		pos--;
		barrier_var(pos);
		pos &= KS_PATH_MAX - 1;
		slot[pos] = '/';
		d = parent;
	}
	if (i == KS_PATH_DEPTH)
		ev->truncated |= 1u << field;
	if (pos == KS_PATH_MAX) {	/* the root itself */
		pos--;
		slot[pos & (KS_PATH_MAX - 1)] = '/';
	}
	return pos;
}

/* Fill a path field from a struct path (slot chosen by the caller). */
static __always_inline void ks_fill_path(struct ks_scratch *sc, char *slot, __u32 slot_off,
					 __u32 field, const struct path *path)
{
	__u32 pos = ks_path_walk(&sc->ev, slot, field, path);

	if (pos >= KS_PATH_MAX)
		return;
	ks_set_str(&sc->ev, field, slot_off + pos, KS_PATH_MAX - pos);
}

/* A kernel string (char *) into a slot; returns its length. */
static __always_inline __u32 ks_read_kstr(struct ks_event *ev, char *slot, __u32 size,
					  __u32 field, const char *src)
{
	long n = bpf_probe_read_kernel_str(slot, size, src);

	if (n <= 0)
		return 0;
	if (n == size && slot[(size - 1) & (KS_PATH_MAX - 1)] == 0)
		ev->truncated |= 1u << field;	/* may have been cut */
	return n - 1;
}

/* process.* and user.* of `task`; parent fields from its real parent. */
static __always_inline void ks_fill_task(struct ks_scratch *sc, struct task_struct *task)
{
	struct ks_event *ev = &sc->ev;
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	struct task_struct *pleader = BPF_CORE_READ(parent, group_leader);

	ev->pid = BPF_CORE_READ(task, tgid);
	ev->start_ns = BPF_CORE_READ(leader, start_boottime);
	ev->entity = KS_ENTITY_KEY(ev->pid, ev->start_ns);
	ev->ppid = BPF_CORE_READ(parent, tgid);
	ev->parent_start_ns = BPF_CORE_READ(pleader, start_boottime);
	ev->parent_entity = KS_ENTITY_KEY(ev->ppid, ev->parent_start_ns);
	ev->uid = BPF_CORE_READ(task, cred, uid.val);
	ev->gid = BPF_CORE_READ(task, cred, gid.val);
	ev->present |= KS_P_PROCESS | KS_P_PARENT | KS_P_USER;
	bpf_probe_read_kernel_str(ev->comm, sizeof(ev->comm), BPF_CORE_READ(leader, comm));
	bpf_probe_read_kernel_str(ev->pcomm, sizeof(ev->pcomm), BPF_CORE_READ(pleader, comm));
}

static __always_inline __u32 ks_strnlen_comm(const char *comm)
{
	__u32 i;

	for (i = 0; i < KS_COMM_MAX; i++)
		if (!comm[i])
			break;
	return i;
}

/* Executable of a task from its mm (exe_file), or its comm when it has none. */
static __always_inline void ks_fill_task_exe(struct ks_scratch *sc, struct task_struct *task,
					     char *slot, __u32 slot_off, __u32 exe_f,
					     __u32 name_f, char *comm, __u32 comm_off)
{
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);

	if (exe) {
		ks_fill_path(sc, slot, slot_off, exe_f, &exe->f_path);
		ks_derive_name(sc, exe_f, name_f);
		return;
	}
	/* kernel threads: no executable, the name is the comm */
	ks_set_str(&sc->ev, exe_f, slot_off, 0);
	ks_set_str(&sc->ev, name_f, comm_off, ks_strnlen_comm(comm));
}

/* Count NUL-separated elements; the count also fixes a missing terminator. */
__noinline int ks_count_args(struct ks_scratch *sc, __u32 len)
{
	__u32 i, n = 0;

	if (!sc)
		return 0;
	for (i = 0; i < KS_ARGS_MAX; i++) {
		if (i >= len)
			break;
		if (!sc->ev.args[i])
			n++;
	}
	return n;
}

/* process.args from the new image's stack (valid from sched_process_exec on). */
static __always_inline void ks_fill_args_mm(struct ks_scratch *sc, struct task_struct *task)
{
	struct ks_event *ev = &sc->ev;
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	__u32 len = end > start ? end - start : 0;

	if (len > KS_ARGS_MAX) {
		len = KS_ARGS_MAX;
		ev->truncated |= 1u << KS_F_PROCESS_ARGS;
	}
	if (len && bpf_probe_read_user(ev->args, len & (KS_ARGS_MAX - 1) ?: KS_ARGS_MAX,
				       (void *)start))
		len = 0;
	ev->args_count = ks_count_args(sc, len);
	if (len && !ev->args[(len - 1) & (KS_ARGS_MAX - 1)])
		len--;			/* drop the final terminator */
	else if (len)
		ev->args_count++;	/* last element cut short */
	ks_set_str(ev, KS_F_PROCESS_ARGS, KS_SLOT_OFF(args), len);
	ks_set_str(ev, KS_F_PROCESS_COMMAND_LINE, KS_SLOT_OFF(args), len);
}

/*
 * process.args from the execve() arguments still in the caller's memory:
 * in bprm_check_security the old mm is current, the new stack is not
 * reachable yet. The argv pointer comes from the syscall's registers.
 */
static __always_inline void ks_fill_args_regs(struct ks_scratch *sc, __u32 argc)
{
	struct ks_event *ev = &sc->ev;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	const char *const *argv;
	__u32 pos = 0, i, room;
	long nr;

	nr = BPF_CORE_READ(regs, orig_ax);
	if (nr == 59)		/* execve(filename, argv, envp) */
		argv = (const char *const *)BPF_CORE_READ(regs, si);
	else if (nr == 322)	/* execveat(dirfd, filename, argv, envp, flags) */
		argv = (const char *const *)BPF_CORE_READ(regs, dx);
	else
		argv = NULL;	/* exec from the kernel: no user argv */

	for (i = 0; argv && i < KS_ARGV_MAX; i++) {
		const char *p = NULL;
		long n;

		if (i >= argc)
			break;
		if (bpf_probe_read_user(&p, sizeof(p), &argv[i]) || !p)
			break;
		if (pos >= KS_ARGS_MAX - 1) {
			ev->truncated |= 1u << KS_F_PROCESS_ARGS;
			break;
		}
		/* room is 2..KS_ARGS_MAX here; a mask would turn 512 into 0 */
		room = KS_ARGS_MAX - pos;
		barrier_var(room);
		if (room > KS_ARGS_MAX)
			break;
		n = bpf_probe_read_user_str(&ev->args[pos & (KS_ARGS_MAX - 1)], room, p);
		if (n <= 0)
			break;
		/* a string that filled what was left was (most likely) cut */
		if (n >= room)
			ev->truncated |= 1u << KS_F_PROCESS_ARGS;
		pos += n;
		ev->args_count++;
	}
	if (i < argc && i == KS_ARGV_MAX)
		ev->truncated |= 1u << KS_F_PROCESS_ARGS;
	if (pos)
		pos--;		/* drop the final terminator */
	ks_set_str(ev, KS_F_PROCESS_ARGS, KS_SLOT_OFF(args), pos);
	ks_set_str(ev, KS_F_PROCESS_COMMAND_LINE, KS_SLOT_OFF(args), pos);
}

static __always_inline void ks_event_init(struct ks_scratch *sc, __u32 cat, __u32 act,
					  __u32 src)
{
	sc->ev.ts_ns = bpf_ktime_get_boot_ns();
	sc->ev.category = cat;
	sc->ev.action = act;
	sc->ev.source = src;
}

#endif /* KS_TASK_BPF_H */
