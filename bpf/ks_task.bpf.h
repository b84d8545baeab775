/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Filling struct ks_event from kernel objects: the task (process.*,
 * user.*), paths (dentry walk), and exec arguments: CO-RE reads, and
 * direct loads through BTF pointers where the pointer is one (ks_fill_task).
 */
#ifndef KS_TASK_BPF_H
#define KS_TASK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "ks_eval.bpf.h"

#define KS_ARGV_MAX	32

#define KS_SLOT_OFF(member)	((__u16)offsetof(struct ks_event, member))

static __always_inline void ks_set_str(struct ks_event *ev, __u32 f, __u32 off, __u32 len)
{
	if (f >= KS_F_STR_N)
		return;
	ev->str[f].off = off;
	ev->str[f].len = len;
}

int ks_after_last(struct ks_scratch *sc, __u32 off, __u32 len, __u32 ch);

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

/* Name `nf` and extension `xf` of path field `pf`. */
static __always_inline void ks_derive_file_fields(struct ks_scratch *sc, __u32 pf, __u32 nf,
						  __u32 xf)
{
	struct ks_event *ev = &sc->ev;
	__u32 off, len, d;

	if (nf >= KS_F_STR_N)
		return;
	ks_derive_name(sc, pf, nf);
	off = ev->str[nf].off;
	len = ev->str[nf].len;
	d = ks_after_last(sc, off, len, '.');
	if (d && d <= len)
		ks_set_str(ev, xf, off + d, len - d);
	else
		ks_set_str(ev, xf, off + len, 0);
}

/*
 * Paths. One convention for every path field of every event: the path of
 * the object as the process sees it from its own root (chroot, container),
 * built from the dentry and mount the kernel holds, never from a string a
 * caller passed. ev->mnt_ns says which mount namespace it is relative to.
 *
 * The walk goes from the dentry up, crossing mounts to their mountpoints,
 * and stops at the first of:
 *   - the task's root {fs->root.mnt, fs->root.dentry}: the normal end;
 *   - the top of the mount tree (a mount that is its own parent): the
 *     object lies outside the task's root (a file opened or an executable
 *     mapped before chroot(), a descriptor passed in from outside). The
 *     path is then the one from the root of the mount namespace, as
 *     d_path() reports it, so a rule on the host path still applies;
 *   - a dentry that is its own parent but not a mount root: a pseudo file
 *     (memfd, anonymous inode) or a disconnected dentry. Its name is the
 *     last component: a memfd executes as "/memfd:NAME" (d_path() adds
 *     " (deleted)"; Kestrel never adds it, to any path).
 * Every component takes at least 2 bytes ("/x"), so KS_PATH_DEPTH steps
 * cover a full slot plus nested mount crossings. A path that does not fit
 * is cut on the left (KS_F_PATH_MASK in maps/ks_abi.h): the value is the
 * right-most whole components (it still starts with '/'), the truncated
 * bit is set, the walk goes on to the root without writing, and the first
 * bytes of the real path are written at the start of the slot from the
 * top-most components it met (ev->cut_head). A walk that cannot reach the
 * root within KS_PATH_DEPTH steps has no head (cut_head 0).
 */
#define KS_PATH_DEPTH	(KS_PATH_MAX / 2 + 32)

int ks_path_walk(struct ks_scratch *sc, __u32 field, __u32 slot, __u64 path, __u64 task);

/*
 * A pointer as the plain number a global subprogram takes: stored in and
 * read back from map memory (sc->walk_top, the walk's own scratch, which
 * it overwrites only later), where the verifier tracks no pointer type.
 */
static __always_inline __u64 ks_walk_arg(struct ks_scratch *sc, __u32 i, const void *p)
{
	volatile __u64 *cell = &sc->walk_top[i & (KS_PATH_TOP - 1)];

	*cell = (__u64)p;
	return *cell;
}

/*
 * Fill path field `field` (slot at event offset slot_off) from a struct
 * path, relative to the root of `task`: the process the event describes
 * (current for file and network events). Sets the field's truncated bit
 * and ev->cut_head when the path does not fit.
 */
static __always_inline void ks_fill_path(struct ks_scratch *sc, __u32 slot_off, __u32 field,
					 const struct path *path, struct task_struct *task)
{
	__u32 pos = ks_path_walk(sc, field, slot_off, ks_walk_arg(sc, 0, path),
				 ks_walk_arg(sc, 1, task));

	ks_set_str(&sc->ev, field, slot_off + pos, KS_PATH_MAX - pos);
}

/*
 * Task fields are read with direct loads through BTF pointers (the task
 * comes from bpf_get_current_task_btf() or a tp_btf argument): the
 * verifier turns them into faulting-safe loads (PROBE_MEM) that cost a
 * load each, where a BPF_CORE_READ() is a bpf_probe_read_kernel() call per
 * pointer hop (copy_from_kernel_nofault: 30% of an open/close loop under
 * 1,000 rules, bench/profile/host-open-before.txt). Every pointer loaded
 * is tested before it is followed: 6.18 marks __rcu fields (cred,
 * exe_file) maybe-NULL and refuses the load without the test.
 */

/*
 * The task field fill is written in blocks, each loading its pointers,
 * testing them and done with them before the next (barrier() keeps the
 * compiler from hoisting a load across): a pointer that may be NULL and
 * is still live where two paths meet keeps the verifier's states apart,
 * and each state that reaches a pointer load through a trusted or RCU
 * pointer costs the 6.18 verifier linear searches of the kernel's BTF by
 * name (bench/profile/attach6-verifier.txt, attach7-verifier.txt).
 */

/*
 * The namespaces /proc/PID/ns/{pid,mnt,net,user} name (their nsfs inode
 * numbers) and the task's cgroup v2 id, the one bpf_get_current_cgroup_id()
 * returns for current (the task may be a new child here). pid is the
 * namespace the task's pid lives in, task_active_pid_ns(): the upid at
 * the pid's own level (a variable index: read by helper, a direct load
 * must have a constant offset). A task past exit_task_namespaces() has
 * none (0).
 */
static __always_inline void ks_fill_task_ns(struct ks_event *ev, struct task_struct *task)
{
	struct pid *pid = task->thread_pid;
	struct nsproxy *nsp;
	const struct cred *cred;
	struct css_set *cgs;
	struct cgroup *cg;
	struct upid up = {};

	if (pid) {
		bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[pid->level & 31]);
		ev->pid_ns = BPF_CORE_READ(up.ns, ns.inum);
	}
	barrier();
	nsp = task->nsproxy;
	if (nsp) {
		ev->mnt_ns = nsp->mnt_ns ? nsp->mnt_ns->ns.inum : 0;
		ev->net_ns = nsp->net_ns ? nsp->net_ns->ns.inum : 0;
	}
	barrier();
	cred = task->cred;
	if (cred && cred->user_ns)
		ev->user_ns = cred->user_ns->ns.inum;
	barrier();
	cgs = task->cgroups;
	cg = cgs ? cgs->dfl_cgrp : NULL;
	if (cg && cg->kn)
		ev->cgroup_id = cg->kn->id;
}

/*
 * process.thread.capabilities.*: the task's effective and permitted sets.
 * kernel_cap_t is 8 bytes on every kernel Kestrel supports: a u64 since
 * 6.3, two u32s (capabilities 0-31, then 32-63) before, which read as
 * one little-endian u64 are the same bits. CO-RE relocates the members.
 */
static __always_inline void ks_fill_caps(struct ks_event *ev, const struct cred *cred)
{
	_Static_assert(sizeof(kernel_cap_t) == sizeof(ev->cap_effective),
		       "kernel_cap_t is one 64-bit set");
	if (bpf_core_read(&ev->cap_effective, sizeof(ev->cap_effective),
			  &cred->cap_effective))
		ev->cap_effective = 0;
	if (bpf_core_read(&ev->cap_permitted, sizeof(ev->cap_permitted),
			  &cred->cap_permitted))
		ev->cap_permitted = 0;
}

int ks_fill_leaders(struct ks_scratch *sc, __u64 task_addr);

/* process.pid, its thread group's start and entity, the comm, user.* */
static __always_inline void ks_fill_task_self(struct ks_event *ev, struct task_struct *task)
{
	struct task_struct *leader = task->group_leader;
	const struct cred *cred;
	__u64 start = 0;

	ev->pid = task->tgid;
	if (leader) {
		start = leader->start_boottime;
		bpf_probe_read_kernel_str(ev->comm, sizeof(ev->comm), leader->comm);
	}
	ev->start_ns = start;
	ev->entity = KS_ENTITY_KEY(ev->pid, start);
	barrier();
	cred = task->cred;
	if (cred) {
		ev->uid = cred->uid.val;
		ev->gid = cred->gid.val;
		ev->euid = cred->euid.val;
		ev->egid = cred->egid.val;
		ks_fill_caps(ev, cred);
	} else {
		ev->cap_effective = 0;
		ev->cap_permitted = 0;
	}
}

/* process.parent.pid, its group's start and entity, comm, effective ids */
static __always_inline void ks_fill_task_parent(struct ks_event *ev, struct task_struct *task)
{
	struct task_struct *parent = task->real_parent;
	struct task_struct *pleader;
	const struct cred *pcred;
	__u32 ppid = 0;
	__u64 start = 0;

	if (parent) {
		ppid = parent->tgid;
		pleader = parent->group_leader;
		if (pleader) {
			start = pleader->start_boottime;
			bpf_probe_read_kernel_str(ev->pcomm, sizeof(ev->pcomm), pleader->comm);
		}
	}
	ev->ppid = ppid;
	ev->parent_start_ns = start;
	ev->parent_entity = KS_ENTITY_KEY(ppid, start);
	barrier();
	pcred = parent ? parent->cred : NULL;
	if (pcred) {
		ev->peuid = pcred->euid.val;
		ev->pegid = pcred->egid.val;
	}
}

/*
 * process.*, user.* and the parent's ids of `task` (a BTF pointer);
 * parent fields from its real parent. Read fresh for every event: each
 * is a few loads, and none may be stale (uids after setuid, namespaces
 * after setns, capabilities, the cgroup after a move, the comm after
 * PR_SET_NAME).
 */
static __always_inline void ks_fill_task(struct ks_scratch *sc, struct task_struct *task)
{
	struct ks_event *ev = &sc->ev;

	ks_fill_task_self(ev, task);
	barrier();
	ks_fill_task_parent(ev, task);
	barrier();
	ks_fill_task_ns(ev, task);
	/* its thread group's leader (same session and pid namespace) as a scalar */
	ks_fill_leaders(sc, (__u64)BPF_CORE_READ(task, group_leader));
	ev->present |= KS_P_PROCESS | KS_P_PARENT | KS_P_USER | KS_P_EUID | KS_P_EGID |
		       KS_P_PEUID | KS_P_PEGID;
}

static __always_inline __u32 ks_strnlen_comm(const char *comm)
{
	__u32 i;

	for (i = 0; i < KS_COMM_MAX; i++)
		if (!comm[i])
			break;
	return i;
}

/*
 * process.executable and process.name of `task` (parent 0), or the
 * process.parent.* pair (parent 1): its mm's exe_file relative to the
 * task's own root, so a child's process.parent.executable is what its
 * parent's own events say; the comm for tasks without an mm.
 */
static __always_inline void ks_fill_task_exe(struct ks_scratch *sc, struct task_struct *task,
					     int parent)
{
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	__u32 exe_f = parent ? KS_F_PARENT_EXECUTABLE : KS_F_PROCESS_EXECUTABLE;
	__u32 name_f = parent ? KS_F_PARENT_NAME : KS_F_PROCESS_NAME;

	if (exe) {
		ks_fill_path(sc, parent ? KS_SLOT_OFF(pexe) : KS_SLOT_OFF(exe), exe_f,
			     &exe->f_path, task);
		ks_derive_name(sc, exe_f, name_f);
		return;
	}
	/* kernel threads: no executable, the name is the comm */
	ks_set_str(&sc->ev, exe_f, parent ? KS_SLOT_OFF(pexe) : KS_SLOT_OFF(exe), 0);
	ks_set_str(&sc->ev, name_f, parent ? KS_SLOT_OFF(pcomm) : KS_SLOT_OFF(comm),
		   ks_strnlen_comm(parent ? sc->ev.pcomm : sc->ev.comm));
}

int ks_count_args(struct ks_scratch *sc, __u32 len);

/* process.args from the new image's stack (valid from sched_process_exec on). */
static __always_inline void ks_fill_args_mm(struct ks_scratch *sc, struct task_struct *task)
{
	struct ks_event *ev = &sc->ev;
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	__u32 len = end > start ? end - start : 0;

	if (len > KS_ARGS_MAX) {
		/* the rest is read and walked by ks_scan_args_rest() */
		sc->args_argc = 0;	/* an area, not argv */
		sc->args_ua = start;
		sc->args_total = end - start > KS_REST_AREA_MAX ? KS_REST_AREA_MAX + 1 : end - start;
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
 * Append one string to process.args at *pos, from user memory (user != 0)
 * or kernel memory. Returns 1 when nothing more fits or it is unreadable.
 */
static __always_inline int ks_args_append(struct ks_event *ev, __u32 *pos, const char *p,
					  int user)
{
	__u32 room;
	long n;

	if (*pos >= KS_ARGS_MAX - 1) {
		ev->truncated |= 1u << KS_F_PROCESS_ARGS;
		return 1;
	}
	/* room is 2..KS_ARGS_MAX here; a mask would turn 512 into 0 */
	room = KS_ARGS_MAX - *pos;
	barrier_var(room);
	if (room > KS_ARGS_MAX)
		return 1;
	if (user)
		n = bpf_probe_read_user_str(&ev->args[*pos & (KS_ARGS_MAX - 1)], room, p);
	else
		n = bpf_probe_read_kernel_str(&ev->args[*pos & (KS_ARGS_MAX - 1)], room, p);
	if (n <= 0)
		return 1;
	/* a string that filled what was left was (most likely) cut */
	if (n >= room)
		ev->truncated |= 1u << KS_F_PROCESS_ARGS;
	*pos += n;
	ev->args_count++;
	return 0;
}

/*
 * Where ks_scan_args_rest() goes on in the caller's argv: element i at
 * sc->args_off (0 unless the cut was inside it), after the last bytes
 * read, which end at `end` in ev->args (without a NUL the cut wrote).
 */
static __always_inline void ks_args_rest_from(struct ks_scratch *sc, const char *const *argv,
					      __u32 argc, __u32 i, __u32 end)
{
	sc->args_ua = (__u64)argv;
	sc->args_argc = argc;
	sc->args_i = i;
	sc->args_pos = sc->args_off && end ? end - 1 : end;
	sc->args_total = KS_REST_AREA_MAX;	/* at most; the elements end it */
}

/*
 * process.args from the execve() arguments still in the caller's memory:
 * in bprm_check_security the old mm is current, the new stack is not
 * reachable yet. The argv pointer comes from the syscall's registers.
 *
 * At an interpreter's level (binfmt_script or binfmt_misc ran first,
 * bprm->interp no longer the file name) the kernel has rewritten argv to
 * { interpreter, file as given, argv[1..] }: build the same, which is
 * what signal mode reads from the new image. (The optional argument of a
 * "#!" line is between the two there; it is gone from bprm by now.)
 */
static __always_inline void ks_fill_args_regs(struct ks_scratch *sc, struct linux_binprm *bprm)
{
	struct ks_event *ev = &sc->ev;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	const char *interp = BPF_CORE_READ(bprm, interp);
	const char *fn = BPF_CORE_READ(bprm, filename);
	__u32 argc = BPF_CORE_READ(bprm, argc);
	const char *const *argv;
	__u32 pos = 0, i = 0, start, kcut;
	long nr;

	sc->args_off = 0;
	nr = BPF_CORE_READ(regs, orig_ax);
	if (nr == 59)		/* execve(filename, argv, envp) */
		argv = (const char *const *)BPF_CORE_READ(regs, si);
	else if (nr == 322)	/* execveat(dirfd, filename, argv, envp, flags) */
		argv = (const char *const *)BPF_CORE_READ(regs, dx);
	else
		argv = NULL;	/* exec from the kernel: no user argv */

	if (interp != fn) {
		ks_args_append(ev, &pos, interp, 0);
		ks_args_append(ev, &pos, fn, 0);
		i = 1;
	}
	/* a cut in the kernel's own strings: the rest cannot be joined to it */
	kcut = ev->truncated & (1u << KS_F_PROCESS_ARGS);
	for (; argv && i < KS_ARGV_MAX; i++) {
		const char *p = NULL;

		if (i >= argc)
			break;
		if (bpf_probe_read_user(&p, sizeof(p), &argv[i]) || !p)
			break;
		start = pos;
		if (ks_args_append(ev, &pos, p, 1))
			break;
		if (!kcut && (ev->truncated & (1u << KS_F_PROCESS_ARGS))) {
			/* element i cut: its bytes read, without the NUL written after them */
			sc->args_off = pos - start - 1;
			break;
		}
	}
	if (i < argc && i == KS_ARGV_MAX)
		ev->truncated |= 1u << KS_F_PROCESS_ARGS;
	if ((ev->truncated & (1u << KS_F_PROCESS_ARGS)) && argv && !kcut)
		ks_args_rest_from(sc, argv, argc, i, pos);
	if (pos)
		pos--;		/* drop the final terminator */
	ks_set_str(ev, KS_F_PROCESS_ARGS, KS_SLOT_OFF(args), pos);
	ks_set_str(ev, KS_F_PROCESS_COMMAND_LINE, KS_SLOT_OFF(args), pos);
}

/* The event's time is read when first needed (ks_event_time). */
static __always_inline void ks_event_init(struct ks_scratch *sc, __u32 cat, __u32 act,
					  __u32 src)
{
	ks_event_due(sc);
	sc->ev.category = cat;
	sc->ev.action = act;
	sc->ev.source = src;
}

/* Whether the current task is kload itself (its own file and socket work). */
static __always_inline int ks_is_self(void)
{
	return ks_cfg.self_tgid && (bpf_get_current_pid_tgid() >> 32) == ks_cfg.self_tgid;
}

/*
 * Start a task-context event: look the generation up (*tp, for every later
 * stage of the event), count it filtered when no rule wants the action,
 * claim the scratch slot (counted dropped when busy), stamp it. NULL when
 * the event is not built (already counted). Without a generation the
 * event is counted here as ks_evaluate_in() would count it (dropped
 * no_tables; kload's own: filtered) and never built: *tp is not NULL past
 * this, so the verifier walks the event's build once, for a generation,
 * instead of once more for none (bench/profile/attach7-verifier.txt).
 */
static __always_inline struct ks_scratch *ks_event_begin(__u32 cat, __u32 act, __u32 src,
							 struct ks_tables **tp)
{
	struct ks_scratch *sc;

	*tp = ks_tables_current();
	if (!*tp) {
		if (ks_is_self())
			ks_count_filtered(KS_CTX_TASK, src);
		else
			ks_count_drop(KS_CTX_TASK, src, KS_DROP_NO_TABLES);
		return NULL;
	}
	if (!ks_tables_want(*tp, act)) {
		ks_count_filtered(KS_CTX_TASK, src);
		return NULL;
	}
	sc = ks_scratch_get(KS_CTX_TASK);
	if (!sc) {
		ks_count_drop(KS_CTX_TASK, src, KS_DROP_REENTRANT);
		return NULL;
	}
	ks_event_init(sc, cat, act, src);
	return sc;
}

/*
 * Cheap early filter for host hooks that fire for everyone: kload itself
 * and kernel threads (no mm: kworkers, nfsd, ...) are counted as filtered
 * before any field is read. Returns 1 when the event is skipped.
 */
static __always_inline int ks_host_skip(__u32 src)
{
	struct task_struct *task = bpf_get_current_task_btf();

	/* a direct load: the task is a BTF pointer (ks_fill_task) */
	if (!ks_is_self() && task->mm)
		return 0;
	ks_count_filtered(KS_CTX_TASK, src);
	return 1;
}

/*
 * ---- the executable-path cache ----
 *
 * process.executable and process.parent.executable are path walks (one
 * bpf_probe_read_kernel() per component and mount), the dearest part of
 * every task-context event, and they change only at exec. Each task
 * keeps the two walks' results in its task storage (ks_task_cache), each
 * with a tag of what it depends on: the process it describes (task_struct
 * address and start_time, so a new task at a reused address differs),
 * that process's self_exec_id, its mm->exe_file and its fs->root.
 *
 * Invariant: a cached path is used only when the tag read now equals the
 * tag stored with it, and the tag is read before the walk whose result
 * is stored, so a change racing the walk leaves an entry that never
 * matches again. The tagged values are what the walk's result is a
 * function of:
 *   - exec (also from another thread, also setuid binaries) increments
 *     self_exec_id, a 64-bit counter that never repeats for a task;
 *   - PR_SET_MM_EXE_FILE replaces exe_file (the new file is opened before
 *     the old one is released: a new address);
 *   - chroot, pivot_root and setns(CLONE_NEWNS) replace fs->root;
 *   - a new parent (reparenting to a reaper) is a new task_struct address
 *     or start_time; the parent's exec and chroot are in its own tag.
 * Everything else of the event (ids, uids, namespaces, cgroup, comm) is
 * read fresh every time (ks_fill_task), so a setuid or setns is never
 * hidden by the cache; capabilities and other cred fields belong there.
 * Not followed, as by no tag: a rename of the executable or of a
 * directory above it after the task's first event since its exec: the
 * cached path stays the one the file had then (a rename needs no new
 * exec, so the name a process was run as is what its events keep).
 * Only the task itself reads or writes its storage (ks_fill_current runs
 * in its context, with this CPU's scratch slot claimed), so an entry is
 * never read half-written.
 */

#define KS_EXE_SELF	0
#define KS_EXE_PARENT	1

/*
 * The tag of task `who` now, into map memory (c->now): the pointers stored
 * there read back as plain numbers, which the verifier lets us compare
 * (it forbids arithmetic on the pointer registers themselves).
 */
static __always_inline void ks_exe_tag_now(struct ks_task_cache *c, struct task_struct *who)
{
	struct mm_struct *mm = who->mm;
	struct fs_struct *fs = who->fs;

	c->now.task = (__u64)who;
	c->now.start = who->start_time;
	c->now.exec_id = who->self_exec_id;
	c->now.exe_file = mm ? (__u64)mm->exe_file : 0;
	c->now.root_d = fs ? (__u64)fs->root.dentry : 0;
	c->now.root_m = fs ? (__u64)fs->root.mnt : 0;
	barrier();	/* compare what memory holds, not the registers */
}

static __always_inline int ks_exe_tag_eq(const struct ks_exe_tag *a, const struct ks_exe_tag *b)
{
	return a->exe_file && a->exe_file == b->exe_file && a->exec_id == b->exec_id &&
	       a->task == b->task && a->start == b->start && a->root_d == b->root_d &&
	       a->root_m == b->root_m;
}

/* Copy a cached entry into the event: the slot, both refs, their cut state. */
static __always_inline void ks_exe_load(struct ks_scratch *sc, const struct ks_exe_entry *e,
					__u32 who)
{
	__u32 exe_f = who ? KS_F_PARENT_EXECUTABLE : KS_F_PROCESS_EXECUTABLE;
	__u32 name_f = who ? KS_F_PARENT_NAME : KS_F_PROCESS_NAME;

	if (who)
		__builtin_memcpy(sc->ev.pexe, e->slot, KS_PATH_MAX);
	else
		__builtin_memcpy(sc->ev.exe, e->slot, KS_PATH_MAX);
	sc->ev.str[exe_f] = e->exe;
	sc->ev.str[name_f] = e->name;
	sc->ev.truncated |= e->truncated;
	sc->ev.cut_head[KS_PATH_IDX(exe_f) & (KS_PATH_SLOTS - 1)] = e->cut_head;
}

/* Store what ks_fill_task_exe() just wrote, under the tag in c->now. */
static __always_inline void ks_exe_store(struct ks_scratch *sc, struct ks_exe_entry *e,
					 const struct ks_exe_tag *now, __u32 who)
{
	__u32 exe_f = who ? KS_F_PARENT_EXECUTABLE : KS_F_PROCESS_EXECUTABLE;
	__u32 name_f = who ? KS_F_PARENT_NAME : KS_F_PROCESS_NAME;

	if (who)
		__builtin_memcpy(e->slot, sc->ev.pexe, KS_PATH_MAX);
	else
		__builtin_memcpy(e->slot, sc->ev.exe, KS_PATH_MAX);
	e->exe = sc->ev.str[exe_f];
	e->name = sc->ev.str[name_f];
	e->truncated = sc->ev.truncated & (1u << exe_f | 1u << name_f);
	e->cut_head = sc->ev.cut_head[KS_PATH_IDX(exe_f) & (KS_PATH_SLOTS - 1)];
	e->tag = *now;
}

/*
 * process.executable/.name (who KS_EXE_SELF, of `task`) or the parent's
 * pair (KS_EXE_PARENT, `task` being the parent) from the cache of the
 * current task `cur`, or walked and cached. Tasks without an executable
 * (kernel threads: the name is the comm) are not cached.
 */
static __always_inline void ks_exe_cached(struct ks_scratch *sc, struct task_struct *cur,
					  struct task_struct *task, __u32 who)
{
	struct ks_task_cache *c;
	struct ks_exe_entry *e;

	c = bpf_task_storage_get(&ks_task_cache, cur, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c) {
		ks_fill_task_exe(sc, task, who);
		return;
	}
	e = &c->e[who & 1];
	ks_exe_tag_now(c, task);
	if (ks_exe_tag_eq(&c->now, &e->tag)) {
		ks_exe_load(sc, e, who);
		return;
	}
	ks_fill_task_exe(sc, task, who);
	if (c->now.exe_file)
		ks_exe_store(sc, e, &c->now, who);
}

/*
 * The credentials a change installs (commit_creds' new): user.id,
 * group.id, the effective ids and the capability sets are those the
 * process has after the change, as Elastic Defend reports them.
 */
static __always_inline void ks_fill_new_cred(struct ks_event *ev, const struct cred *new)
{
	ev->uid = BPF_CORE_READ(new, uid.val);
	ev->gid = BPF_CORE_READ(new, gid.val);
	ev->euid = BPF_CORE_READ(new, euid.val);
	ev->egid = BPF_CORE_READ(new, egid.val);
	ks_fill_caps(ev, new);
}

/* process.*, user.* and process.parent.* of the current task. */
static __always_inline void ks_fill_current(struct ks_scratch *sc)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct *parent = task->real_parent;

	ks_fill_task(sc, task);
	ks_exe_cached(sc, task, task, KS_EXE_SELF);
	if (parent)
		ks_exe_cached(sc, task, parent, KS_EXE_PARENT);
	else
		ks_fill_task_exe(sc, parent, 1);
}

#endif /* KS_TASK_BPF_H */
