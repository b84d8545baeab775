/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building a file event (open, creation, modification, deletion, rename)
 * from a struct file or a path: shared by the file hooks
 * (hook_file.bpf.c, whose header says which hook gives which action) and
 * the syscall tracepoints (hook_sys.bpf.c).
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
 * scratch slot, *tp the event's generation. NULL when the event is not
 * built. The process fields come in ks_file_finish(), once the file
 * fields are known.
 */
static __always_inline struct ks_scratch *ks_file_begin(__u32 act, struct ks_tables **tp)
{
	if (ks_host_skip(KS_SRC_FILE))
		return NULL;
	return ks_event_begin(KS_CAT_FILE, act, KS_SRC_FILE, tp);
}

/*
 * Finish a file event whose file.path (and file.Ext.original.path, when
 * KS_P_ORIG is set) is filled: derive names and extensions, stop there
 * when the file fields decide that no rule can match (ks_early_filtered:
 * no process field is read), else fill the process fields and evaluate;
 * release the slot. Returns -EPERM when the verdict denies, 0 otherwise.
 */
static __always_inline int ks_file_finish(struct ks_tables *t, struct ks_scratch *sc, __u32 caps)
{
	int denied;

	ks_derive_file_fields(sc, KS_F_FILE_PATH, KS_F_FILE_NAME, KS_F_FILE_EXTENSION);
	if (sc->ev.present & KS_P_ORIG)
		ks_derive_file_fields(sc, KS_F_FILE_ORIG_PATH, KS_F_FILE_ORIG_NAME,
				      KS_F_FILE_ORIG_EXT);
	sc->ev.present |= KS_P_FILE;
	if (ks_early_filtered(t, sc, KS_SRC_FILE)) {
		ks_scratch_put(sc);
		return 0;
	}
	ks_fill_current(sc);
	ks_evaluate_in(t, sc, KS_CTX_TASK, KS_SRC_FILE, caps);
	denied = sc->ev.verdict.flags & KS_V_DENIED;
	ks_scratch_put(sc);
	return denied ? -EPERM : 0;
}

/*
 * Build, evaluate and account one file event. `path` is file.path,
 * `orig` (may be NULL) file.Ext.original.path: as Elastic Defend, a
 * rename's file.path is where the file goes, and its source the
 * original. Returns -EPERM when the verdict denies, 0 otherwise.
 */
static __always_inline int ks_on_file(__u32 act, const struct path *path,
				      const struct path *orig, __u32 caps)
{
	struct ks_tables *t;
	struct ks_scratch *sc = ks_file_begin(act, &t);

	if (!sc)
		return 0;
	/* file.path from the dentry, relative to the caller's root */
	ks_fill_path(sc, KS_SLOT_OFF(path), KS_F_FILE_PATH, path, bpf_get_current_task_btf());
	if (orig) {
		ks_fill_path(sc, KS_SLOT_OFF(orig), KS_F_FILE_ORIG_PATH, orig,
			     bpf_get_current_task_btf());
		sc->ev.present |= KS_P_ORIG;
	}
	return ks_file_finish(t, sc, caps);
}

/* The action of an open, from the file's f_mode. */
static __always_inline __u32 ks_open_action(__u32 mode)
{
	if (mode & KS_FMODE_CREATED)
		return KS_ACT_CREATION;
	if (mode & KS_FMODE_WRITE)
		return KS_ACT_MODIFICATION;
	return KS_ACT_OPEN;
}

static __always_inline int ks_file_open(struct file *file, __u32 caps)
{
	return ks_on_file(ks_open_action(BPF_CORE_READ(file, f_mode)), &file->f_path, NULL, caps);
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
	return ks_on_file(KS_ACT_RENAME, &to, &from, caps);
}

#endif /* KS_FILE_BPF_H */
