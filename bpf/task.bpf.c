// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The global subprograms of the task field fill (ks_task.bpf.h), verified
 * once each; linked into kestrel.bpf.o like eval.bpf.c.
 */
#include "ks_task.bpf.h"

/*
 * Offset just past the last `ch` in a value (0 when there is none):
 * process.name and file.name follow the last '/', file.extension the
 * last '.' of the name. Read from the end, so a path costs its last
 * component, not its whole length.
 */
__noinline int ks_after_last(struct ks_scratch *sc, __u32 off, __u32 len, __u32 ch)
{
	__u8 *base;
	__u32 i;

	if (!sc || len > KS_PATH_MAX || off + len > sizeof(struct ks_event))
		return 0;
	base = (__u8 *)&sc->ev;
	for (i = 0; i < KS_PATH_MAX; i++) {
		if (i >= len)
			break;
		if (base[ks_bound(off + len - 1 - i, 0xfff)] == ch)
			return len - i;
	}
	return 0;
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

/*
 * The session leader and the entry leader of `task_addr` (a task_struct;
 * a scalar, as a global subprogram takes no BTF pointer on 6.1, so every
 * read is a probe read), each named as its own events name it: the tgid
 * and its thread group's start (ks_fill_task's pid and start_ns). The
 * session leader is the task whose pid is the session id (pid_task() of
 * signal->pids[PIDTYPE_SID]); when it has exited only the pid is known,
 * and the key KS_ENTITY_KEY(sid, 0) still names that session alone: the
 * session id cannot be reused while a member holds it. The entry leader
 * is the session leader on the host (pid namespace level 0) and the init
 * of the task's pid namespace elsewhere: the container's entry, as
 * process.entry_leader.entry_meta.type calls every such process's entry
 * "container".
 */
__noinline int ks_fill_leaders(struct ks_scratch *sc, __u64 task_addr)
{
	struct task_struct *task = (struct task_struct *)task_addr, *t = NULL;
	struct hlist_node *first;
	struct pid *sid, *tp;
	struct upid up = {};
	struct ks_event *ev;
	__u32 level;

	if (!sc || !task)
		return 0;
	ev = &sc->ev;
	sid = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID]);
	if (sid) {
		ev->sl_pid = BPF_CORE_READ(sid, numbers[0].nr);
		first = BPF_CORE_READ(sid, tasks[PIDTYPE_PID].first);
		if (first)
			t = (void *)first - bpf_core_field_offset(struct task_struct, pid_links);
		ev->sl_start_ns = t ? BPF_CORE_READ(t, group_leader, start_boottime) : 0;
		ev->sl_entity = ev->sl_pid ? KS_ENTITY_KEY(ev->sl_pid, ev->sl_start_ns) : 0;
	}
	tp = BPF_CORE_READ(task, thread_pid);
	level = tp ? BPF_CORE_READ(tp, level) : 0;
	if (!level) {
		ev->el_pid = ev->sl_pid;
		ev->el_start_ns = ev->sl_start_ns;
		ev->el_entity = ev->sl_entity;
		return 0;
	}
	if (bpf_probe_read_kernel(&up, sizeof(up), &tp->numbers[level & 31]) || !up.ns)
		return 0;
	t = BPF_CORE_READ(up.ns, child_reaper);
	if (!t)
		return 0;
	ev->el_pid = BPF_CORE_READ(t, tgid);
	ev->el_start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	ev->el_entity = ev->el_pid ? KS_ENTITY_KEY(ev->el_pid, ev->el_start_ns) : 0;
	return 0;
}
