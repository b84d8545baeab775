// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * File events: open, creation, modification, deletion, rename.
 *
 *   action        lsm mode (deny: -EPERM)   signal mode (kill: SIGKILL)
 *   open          ks_lsm_file_open          ks_ksig_open
 *   creation        lsm/file_open             kprobe/security_file_open
 *   modification
 *   deletion      ks_lsm_unlink             ks_ksig_unlink
 *                   lsm/path_unlink           kprobe/security_path_unlink
 *   rename        ks_lsm_rename             ks_ksig_rename
 *                   lsm/path_rename           kprobe/security_path_rename
 *
 * One open hook classifies by f_mode, as Falco does:
 *   - FMODE_CREATED: O_CREAT made the file in this open -> "creation".
 *     lookup_open() sets it only when the inode was really created, which
 *     security_path_mknod/inode_create cannot know (they also run for
 *     O_CREAT of a file that exists but is not in the dentry cache).
 *     A denied creation leaves the new, empty file behind; the caller gets
 *     EPERM and no descriptor, so nothing is ever written into it.
 *   - FMODE_WRITE on an existing file (O_WRONLY/O_RDWR, O_TRUNC) ->
 *     "modification": intent to write, judged once per open. Hooking every
 *     write (file_permission with MAY_WRITE) would cost on each write(2).
 *     A denied open is refused before O_TRUNC truncates.
 *   - otherwise "open" (reads, directories, exec of a binary).
 * O_PATH opens never reach security_file_open, and mknod(2)/mkfifo(2)
 * without an open, mkdir and rmdir are not reported.
 *
 * Both f_mode bits are the same on 6.1 and 6.18 (fs.h: FMODE_WRITE 1 << 1,
 * FMODE_CREATED 1 << 20); macros are not in BTF, hence the constants.
 *
 * The signal twins are kprobes on the security_* functions the LSM hooks
 * are called from (CONFIG_SECURITY_PATH=y for security_path_*, on the
 * Debian 6.1 and the 6.18 kernels): same arguments, same moment, but they
 * can only SIGKILL the caller, which dies before returning to user space
 * (the operation itself completes).
 */
#include "ks_file.bpf.h"

/* ---- lsm mode ---- */

SEC("lsm/file_open")
int BPF_PROG(ks_lsm_file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	return ks_file_open(file, KS_CAN_DENY | KS_CAN_SIGNAL);
}

SEC("lsm/path_unlink")
int BPF_PROG(ks_lsm_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return ks_path_unlink(dir, dentry, KS_CAN_DENY | KS_CAN_SIGNAL);
}

SEC("lsm/path_rename")
int BPF_PROG(ks_lsm_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	if (ret)
		return ret;
	return ks_path_rename(old_dir, old_dentry, new_dir, new_dentry,
			      KS_CAN_DENY | KS_CAN_SIGNAL);
}

/*
 * ---- signal and observe modes: kprobes, optional ----
 * Named ks_ksig_* (not ks_sig_*): a kernel without kprobes
 * (CONFIG_KPROBES=n, like the 6.18 development host) loads them but cannot
 * attach them, and no tracepoint or tp_btf hook on either kernel sees
 * opens, unlinks or renames (only the per-syscall tracepoints, which tax
 * every syscall). The engine treats ks_ksig_* as ks_sig_* whose attach
 * may fail: file events are then unavailable in signal mode.
 */

SEC("kprobe/security_file_open")
int BPF_KPROBE(ks_ksig_open, struct file *file)
{
	ks_file_open(file, KS_CAN_SIGNAL);
	return 0;
}

SEC("kprobe/security_path_unlink")
int BPF_KPROBE(ks_ksig_unlink, const struct path *dir, struct dentry *dentry)
{
	ks_path_unlink(dir, dentry, KS_CAN_SIGNAL);
	return 0;
}

SEC("kprobe/security_path_rename")
int BPF_KPROBE(ks_ksig_rename, const struct path *old_dir, struct dentry *old_dentry,
	       const struct path *new_dir, struct dentry *new_dentry)
{
	ks_path_rename(old_dir, old_dentry, new_dir, new_dentry, KS_CAN_SIGNAL);
	return 0;
}
