/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
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
#ifndef KS_FILE_BPF_H
#define KS_FILE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "ks_task.bpf.h"

#define KS_FMODE_WRITE		0x2u
#define KS_FMODE_CREATED	0x100000u

/*
 * Start a file event of action `act`: the early filters (counted), the
 * scratch slot. NULL when the event is not built. The process fields come
 * in ks_file_finish(), once the file fields are known.
 */
static __always_inline struct ks_scratch *ks_file_begin(__u32 act)
{
	if (ks_host_skip(KS_SRC_FILE))
		return NULL;
	return ks_event_begin(KS_CAT_FILE, act, KS_SRC_FILE);
}

/*
 * Finish a file event whose file.path (and file.target_path, when
 * KS_P_TARGET is set) is filled: derive name and extension, stop there
 * when the file fields decide that no rule can match (ks_early_filtered:
 * no process field is read), else fill the process fields and evaluate;
 * release the slot. Returns -EPERM when the verdict denies, 0 otherwise.
 */
static __always_inline int ks_file_finish(struct ks_scratch *sc, __u32 caps)
{
	int denied;

	ks_derive_file_fields(sc);
	sc->ev.present |= KS_P_FILE;
	if (ks_early_filtered(sc, KS_SRC_FILE)) {
		ks_scratch_put(sc);
		return 0;
	}
	ks_fill_current(sc);
	ks_evaluate(sc, KS_CTX_TASK, KS_SRC_FILE, caps);
	denied = sc->ev.verdict.flags & KS_V_DENIED;
	ks_scratch_put(sc);
	return denied ? -EPERM : 0;
}

/*
 * Build, evaluate and account one file event. `path` is file.path,
 * `target` (may be NULL) file.target_path. Returns -EPERM when the
 * verdict denies, 0 otherwise.
 */
static __always_inline int ks_on_file(__u32 act, const struct path *path,
				      const struct path *target, __u32 caps)
{
	struct ks_scratch *sc = ks_file_begin(act);

	if (!sc)
		return 0;
	/* file.path from the dentry, relative to the caller's root */
	ks_fill_path(sc, KS_SLOT_OFF(path), KS_F_FILE_PATH, path, bpf_get_current_task_btf());
	if (target) {
		ks_fill_path(sc, KS_SLOT_OFF(target), KS_F_FILE_TARGET_PATH, target,
			     bpf_get_current_task_btf());
		sc->ev.present |= KS_P_TARGET;
	}
	return ks_file_finish(sc, caps);
}

static __always_inline __u32 ks_open_action(struct file *file)
{
	__u32 mode = BPF_CORE_READ(file, f_mode);

	if (mode & KS_FMODE_CREATED)
		return KS_ACT_CREATION;
	if (mode & KS_FMODE_WRITE)
		return KS_ACT_MODIFICATION;
	return KS_ACT_OPEN;
}

static __always_inline int ks_file_open(struct file *file, __u32 caps)
{
	return ks_on_file(ks_open_action(file), &file->f_path, NULL, caps);
}

/*
 * A directory entry below a directory path: the dentry is already linked
 * to its parent (d_parent), so the walk only needs the directory's mount.
 * struct path is { mnt, dentry } on every supported kernel.
 */
static __always_inline void ks_child_path(struct path *out, const struct path *dir,
					  struct dentry *dentry)
{
	out->mnt = BPF_CORE_READ(dir, mnt);
	out->dentry = dentry;
}

static __always_inline int ks_path_unlink(const struct path *dir, struct dentry *dentry,
					  __u32 caps)
{
	struct path p;

	ks_child_path(&p, dir, dentry);
	return ks_on_file(KS_ACT_DELETION, &p, NULL, caps);
}

static __always_inline int ks_path_rename(const struct path *old_dir, struct dentry *old_dentry,
					  const struct path *new_dir, struct dentry *new_dentry,
					  __u32 caps)
{
	struct path from, to;

	ks_child_path(&from, old_dir, old_dentry);
	ks_child_path(&to, new_dir, new_dentry);
	return ks_on_file(KS_ACT_RENAME, &from, &to, caps);
}

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

#endif /* KS_FILE_BPF_H */
