/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * struct ks_task_rec: one thread group as the task iterator
 * (bpf/ks_tasks.bpf.c) reports it when kload attaches, for the
 * already_running events (loader/running.c). The start times are the
 * ones the hooks put in an entity id (bpf/ks_task.bpf.h), to the
 * nanosecond: /proc gives them only in clock ticks, and an entity id
 * built from those would join no later event of the process.
 */
#ifndef KS_TASKS_H
#define KS_TASKS_H

#include "maps/ks_abi.h"

#define KS_TASK_KTHREAD		(1u << 0)	/* a kernel thread: no process event */

struct ks_task_rec {
	__u32 pid;		/* tgid */
	__u32 ppid;		/* the real parent's tgid */
	__u64 start_ns;		/* the group leader's start_boottime */
	__u64 parent_start_ns;	/* the parent's group leader's */
	__u32 flags;		/* KS_TASK_* */
	__u32 pad;
};

#endif /* KS_TASKS_H */
