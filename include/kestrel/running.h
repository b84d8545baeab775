/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * already_running: Elastic Defend's process event for each process that
 * runs when the sensor starts (event.action "already_running",
 * event.type ["info"]). kload attach reads them once, after attaching,
 * from /proc, and hands them to the pipeline (ks_session_user_event):
 * the kernel never sees them, so they are never blocked or killed.
 *
 *   r = ks_running_open("/proc", true);
 *   while (ks_running_next(r, ev) > 0)   // a slice at a time
 *           ks_session_user_event(s, ev);
 *   ks_running_close(r);
 *
 * Which processes, and their start times: the task iterator
 * (bpf/ks_tasks.bpf.c) gives every thread group with the start time the
 * hooks put in entity ids, to the nanosecond, so a later event of the
 * process joins its already_running event; without it (no BPF iterators)
 * the numeric entries of /proc, and /proc/PID/stat's start time in clock
 * ticks (ks_running_exact() false: such entity ids join no kernel event).
 * The rest comes from /proc/PID: stat (ppid), status (real and effective
 * ids, capabilities), cmdline (args), exe (executable; name its
 * basename), and the parent's exe and status. The enriched fields
 * (working directory, parent args and command line, ...) are read
 * from /proc when a rule asks, as for every live event. Kernel threads,
 * kload itself and processes gone meanwhile give no event.
 */
#ifndef KESTREL_RUNNING_H
#define KESTREL_RUNNING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps/ks_event.h"
#include "maps/ks_tasks.h"

struct ks_running;

/* The process list from the iterator (use_iter) or proc's entries; NULL + errno. */
struct ks_running *ks_running_open(const char *proc, bool use_iter);
/* The next process's event into ev: 1, or 0 when the list is done. */
int ks_running_next(struct ks_running *r, struct ks_event *ev);
void ks_running_close(struct ks_running *r);
/* Processes listed, events given so far, and whether start times are exact. */
size_t ks_running_listed(const struct ks_running *r);
size_t ks_running_emitted(const struct ks_running *r);
bool ks_running_exact(const struct ks_running *r);

/*
 * The already_running event of rec->pid from the proc directory proc_fd
 * (start times from rec, or from stat when rec's are 0), its time now_ns
 * (boot clock). 0, or -ENOENT when it is gone, a kernel thread, or no
 * longer the process rec names (pid reused).
 */
int ks_proc_event(int proc_fd, const struct ks_task_rec *rec, uint64_t now_ns,
		  struct ks_event *ev);

#endif /* KESTREL_RUNNING_H */
