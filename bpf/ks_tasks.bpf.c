// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Task iterator: one struct ks_task_rec (maps/ks_tasks.h) per thread
 * group, read once by kload at attach for the already_running events
 * (loader/running.c). An object of its own: it shares nothing with the
 * hooks and is unloaded once read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps/ks_tasks.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define KS_PF_KTHREAD	0x00200000	/* include/linux/sched.h */

/* start_boottime of the thread group of t, as ks_fill_task_self() reads it */
static __always_inline __u64 group_start(struct task_struct *t)
{
	struct task_struct *leader = t ? t->group_leader : NULL;

	return leader ? leader->start_boottime : 0;
}

SEC("iter/task")
int ks_iter_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task, *parent;
	struct ks_task_rec r = {};

	/* one record per thread group: its leader's */
	if (!t || t->pid != t->tgid)
		return 0;
	parent = t->real_parent;
	r.pid = t->tgid;
	r.start_ns = group_start(t);
	r.ppid = parent ? parent->tgid : 0;
	r.parent_start_ns = group_start(parent);
	r.flags = t->flags & KS_PF_KTHREAD ? KS_TASK_KTHREAD : 0;
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
