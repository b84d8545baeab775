/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record of the syscalls:sys_exit_* tracepoints, read by the syscall
 * hooks (hook_sys.bpf.c) and the credential ones (kestrel.bpf.c).
 */
#ifndef KS_SYS_BPF_H
#define KS_SYS_BPF_H

#include "vmlinux.h"

/*
 * Context of every syscalls:sys_exit_* tracepoint (its "format" file);
 * declared here, not taken from vmlinux.h, because it is a stable
 * tracepoint layout, not a CO-RE-relocatable kernel struct.
 */
struct ks_sys_exit_args {
	__u64 common;
	__s32 nr;
	__s32 pad;
	__s64 ret;
};

#endif /* KS_SYS_BPF_H */
