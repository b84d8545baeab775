// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The global subprograms of the task field fill (ks_task.bpf.h), verified
 * once each; linked into kestrel.bpf.o like eval.bpf.c: the path walk
 * (its steps, the head of a cut path), names, arguments, leaders.
 */
#include "ks_task.bpf.h"

static __always_inline __u64 ks_vfsmount(__u64 m)
{
	return m + bpf_core_field_offset(struct mount, mnt);
}

/*
 * What a walk step reads of a dentry: its parent and its name. They are
 * neighbours in struct dentry on every supported kernel (d_parent, then
 * d_name), so one bpf_probe_read_kernel() reads both; the test on the
 * relocated offsets is decided when the program is loaded (the verifier
 * sees constants), the two-read fallback kept for a kernel that moves
 * them apart. A read is a helper call and a copy_from_kernel_nofault()
 * (bench/profile/host-open-walk.txt).
 */
struct ks_dent {
	struct dentry *parent;
	struct qstr name;
};

static __always_inline void ks_dent_read(struct dentry *d, struct ks_dent *out)
{
	__u32 po = bpf_core_field_offset(struct dentry, d_parent);
	__u32 no = bpf_core_field_offset(struct dentry, d_name);

	if (no == po + sizeof(out->parent) && bpf_core_field_size(struct dentry, d_name) ==
						     sizeof(out->name)) {
		bpf_probe_read_kernel(out, sizeof(*out), (__u8 *)d + po);
		return;
	}
	out->parent = BPF_CORE_READ(d, d_parent);
	out->name = BPF_CORE_READ(d, d_name);
}

/*
 * Write "/" + name q (of a dentry) in front of the slot at `slot` (an
 * event offset), whose value starts at pos; returns the new start, or
 * KS_PATH_MAX + 1 when it does not fit.
 */
static __always_inline __u32 ks_path_prepend(struct ks_scratch *sc, __u32 slot, __u32 pos,
					     const struct qstr *q)
{
	__u8 *base = (__u8 *)&sc->ev;
	__u32 len = q->len;

	if (len >= KS_PATH_MAX || len + 1 > pos || pos > KS_PATH_MAX)
		return KS_PATH_MAX + 1;
	pos -= len + 1;
	bpf_probe_read_kernel(base + ks_bound(slot + pos + 1, 0xfff),
			      ks_bound(len, KS_PATH_MAX - 1), q->name);
	base[ks_bound(slot + pos, 0xfff)] = '/';
	return pos;
}

/* State of one path walk, carried across bpf_loop() steps. */
struct ks_walk {
	struct ks_scratch *sc;
	__u64 d, mnt, vm;	/* the dentry and its mount (struct mount, vfsmount) */
	__u64 mroot;		/* the mount's root dentry */
	__u64 root_d, root_m;	/* the task's root */
	__u32 slot;		/* event offset of the slot */
	__u32 pos;		/* start of the value in the slot */
	__u32 keep;		/* last component start >= KS_PATH_HEAD */
	__u32 n;		/* components met (sc->walk_top ring) */
	__u32 cut, done;
};

/* One step up: a mount crossing or one component. 1 ends the walk. */
static long ks_walk_step(__u32 i, struct ks_walk *w)
{
	struct dentry *d = (void *)w->d;
	struct mount *mnt = (void *)w->mnt;
	struct ks_scratch *sc = w->sc;
	struct ks_dent de;
	__u32 next;

	if (!d || (w->d == w->root_d && w->vm == w->root_m)) {
		w->done = 1;
		return 1;
	}
	if (w->d == w->mroot) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);

		if (mp == mnt) {
			w->done = 1;	/* top of the tree: outside the root */
			return 1;
		}
		w->d = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = (__u64)mp;
		w->vm = ks_vfsmount((__u64)mp);
		w->mroot = (__u64)BPF_CORE_READ(mp, mnt.mnt_root);
		return 0;
	}
	sc->walk_top[w->n & (KS_PATH_TOP - 1)] = w->d;
	w->n++;
	ks_dent_read(d, &de);
	if (!w->cut) {
		next = ks_path_prepend(sc, w->slot, w->pos, &de.name);
		if (next > KS_PATH_MAX) {
			w->cut = 1;
		} else {
			w->pos = next;
			if (next >= KS_PATH_HEAD)
				w->keep = next;
		}
	}
	if (d == de.parent) {
		w->done = 1;	/* pseudo or disconnected: its name ends the walk */
		return 1;
	}
	w->d = (__u64)de.parent;
	return 0;
}

/*
 * The head of a cut path: "/" + name of each of the n top-most dentries
 * (sc->walk_top, a ring whose newest entry is nearest the root) into the
 * slot's first `end` bytes, the last one cut where the tail begins.
 * Returns the head's length.
 */
static __always_inline __u32 ks_path_head(struct ks_scratch *sc, __u32 slot, __u32 end,
					  __u32 n)
{
	__u8 *base = (__u8 *)&sc->ev;
	__u32 hp = 0, j;

	for (j = 0; j < KS_PATH_TOP; j++) {
		struct dentry *d;
		struct qstr q;
		__u32 len;

		if (j >= n || hp >= end || end > KS_PATH_MAX)
			break;
		d = (void *)sc->walk_top[(n - 1 - j) & (KS_PATH_TOP - 1)];
		q = BPF_CORE_READ(d, d_name);
		base[ks_bound(slot + hp, 0xfff)] = '/';
		hp++;
		len = q.len < end - hp ? q.len : end - hp;
		bpf_probe_read_kernel(base + ks_bound(slot + hp, 0xfff),
				      ks_bound(len, KS_PATH_MAX - 1), q.name);
		hp += len;
	}
	return hp;
}

/*
 * The path of `path_addr` (a struct path) relative to the root of
 * `task_addr` (a task_struct), written right-aligned into the slot at
 * event offset `slot` (KS_PATH_MAX bytes); returns its start offset in
 * the slot. One bpf_loop() step per component: verified once, whatever
 * the depth. Global, so the verifier checks it once, not once per call
 * site and caller state (three sites in a file event: the file and both
 * executables); every read is a probe read, so the pointers are scalars
 * (a global subprogram takes no BTF pointer on 6.1). Not inlined either
 * way: its state stays off the stack of the hook, whose deepest call
 * chain (the evaluator) must fit 512 bytes.
 */
__noinline int ks_path_walk(struct ks_scratch *sc, __u32 field, __u32 slot, __u64 path_addr,
			    __u64 task_addr)
{
	const struct path *path = (const struct path *)path_addr;
	struct task_struct *task = (struct task_struct *)task_addr;
	struct ks_walk w = {
		.sc = sc,
		.slot = slot,
		.pos = KS_PATH_MAX,
		.keep = KS_PATH_MAX,
	};
	struct path p = {}, root = {};
	struct fs_struct *fs;
	__u32 pos;

	if (!sc)
		return 0;
	/* a struct path ({ mnt, dentry }) is read whole: one read, not two */
	bpf_core_read(&p, sizeof(p), path);
	fs = BPF_CORE_READ(task, fs);
	if (fs)
		bpf_core_read(&root, sizeof(root), &fs->root);
	w.d = (__u64)p.dentry;
	w.vm = (__u64)p.mnt;
	w.root_d = (__u64)root.dentry;
	w.root_m = (__u64)root.mnt;
	w.mnt = w.vm - bpf_core_field_offset(struct mount, mnt);
	w.mroot = (__u64)BPF_CORE_READ(p.mnt, mnt_root);
	bpf_loop(KS_PATH_DEPTH, ks_walk_step, &w, 0);
	pos = w.pos;
	if (w.cut || !w.done) {
		__u32 hd = 0;

		sc->ev.truncated |= 1u << field;
		if (w.done) {
			/* drop tail components that reach into the head's room */
			if (pos < KS_PATH_HEAD && w.keep < KS_PATH_MAX)
				pos = w.keep;
			hd = ks_path_head(sc, slot, pos, w.n);
		}
		sc->ev.cut_head[KS_PATH_IDX(field) & (KS_PATH_SLOTS - 1)] = hd;
	}
	if (pos >= KS_PATH_MAX) {	/* the root itself */
		pos = KS_PATH_MAX - 1;
		((__u8 *)&sc->ev)[ks_bound(slot + pos, 0xfff)] = '/';
	}
	return pos;
}

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
