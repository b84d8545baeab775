// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Kestrel's kernel first stage. Each program turns one kernel event into
 * a struct ks_event and hands it to ks_evaluate() (ks_eval.bpf.h):
 *
 *   hook (this file) -> ks_event in scratch -> DFA + step programs
 *   -> sequence state (ks_entity) -> enforce -> ks_events ring buffer
 *
 * kload picks the enforcement mode at attach: `lsm` loads the ks_lsm_*
 * programs (deny with -EPERM), `signal` the ks_sig_* tp_btf/kprobe twins
 * (SIGKILL before the new image runs); ks_all_* run in both, ks_xdp_* per
 * interface, ks_replay only for `kload replay`. Kprobe hooks (ks_ksig_*,
 * ks_kall_*) give way to syscall tracepoints (ks_tsig_*, ks_tall_*,
 * hook_sys.bpf.c) on kernels without kprobes (see loader/engine.c).
 */
#define KS_MAPS_DEFINE	/* the maps are defined here (ks_maps.bpf.h) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "ks_task.bpf.h"
#include "ks_sys.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * The value of a new ks_entity entry: 136 bytes the call chain's stack
 * cannot spare on 6.1, which also wants a map value (not a function
 * argument's memory) for bpf_map_update_elem().
 */
const volatile struct ks_entity_val ks_entity_zero;

/* Written by kload between open and load; disabled code is removed. */
const volatile struct ks_config ks_cfg = {
	.enforce_mode = KS_MODE_OBSERVE,
	.payload_depth = KS_PAYLOAD_DEFAULT,
	.rb_wakeup_bytes = 256 << 10,
	.dfa_mask = KS_DFA_MIN_TAB_BYTES - 4,
	.time_shift = __builtin_ctz(KS_TIME_EVERY_DEFAULT),
};

/* ---- process exec ---- */

/*
 * process.executable of an exec: the file the kernel is executing
 * (bprm->file), resolved from its dentry, never bprm->filename (the string
 * the caller passed: "..", symlink and relative names). process.args[0]
 * keeps the name the caller used.
 */
static __always_inline void ks_fill_exe_from_bprm(struct ks_scratch *sc,
						  struct linux_binprm *bprm,
						  struct task_struct *task)
{
	struct file *file = BPF_CORE_READ(bprm, file);

	ks_fill_path(sc, KS_SLOT_OFF(exe), KS_F_PROCESS_EXECUTABLE, &file->f_path, task);
	ks_derive_name(sc, KS_F_PROCESS_EXECUTABLE, KS_F_PROCESS_NAME);
}

static __always_inline int ks_on_exec(struct linux_binprm *bprm, __u32 caps, int from_regs)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ks_scratch *sc;
	struct ks_tables *t;
	int denied;

	sc = ks_event_begin(KS_CAT_PROCESS, KS_ACT_EXEC, KS_SRC_EXEC, &t);
	if (!sc)
		return 0;
	ks_fill_task(sc, task);
	ks_fill_exe_from_bprm(sc, bprm, task);
	ks_fill_task_exe(sc, BPF_CORE_READ(task, real_parent), 1);
	if (from_regs)
		ks_fill_args_regs(sc, bprm);
	else
		ks_fill_args_mm(sc, task);
	ks_evaluate_in(t, sc, KS_CTX_TASK, KS_SRC_EXEC, caps);
	denied = sc->ev.verdict.flags & KS_V_DENIED;
	ks_scratch_put(sc);
	return denied ? -EPERM : 0;
}

/*
 * A "#!" file: binfmt_script will open the interpreter and call
 * bprm_check_security again with it (prepare_binprm() has just read the
 * file's first bytes into bprm->buf).
 */
static __always_inline int ks_bprm_is_script(struct linux_binprm *bprm)
{
	char magic[2] = {};

	bpf_core_read(magic, sizeof(magic), &bprm->buf);
	return magic[0] == '#' && magic[1] == '!';
}

/*
 * lsm mode: decide before the new image is even loaded. The hook runs
 * once per binary-format level; judge the level whose file really runs:
 * a "#!" script is skipped and its interpreter judged on the next call,
 * as Elastic Defend reports it (process.executable the interpreter, the
 * script in process.args), so a rule on the interpreter cannot be
 * sidestepped through a script. binfmt_misc formats have no such mark:
 * both the registered file and its interpreter are judged.
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(ks_lsm_exec, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	if (ks_bprm_is_script(bprm))
		return 0;
	return ks_on_exec(bprm, KS_CAN_DENY | KS_CAN_SIGNAL, 1);
}

/*
 * signal mode: the exec has replaced the image but the task has not
 * returned to user space, so a SIGKILL sent now means no instruction of
 * the new program ever runs. bprm->file is the final binary here (the
 * interpreter of a script), the same file as mm->exe_file.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(ks_sig_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	ks_on_exec(bprm, KS_CAN_SIGNAL, 0);
	return 0;
}

/* ---- process exit and fork ---- */

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ks_all_exit, struct task_struct *p)
{
	struct ks_scratch *sc;
	struct ks_tables *t;
	int code;

	/* a process exits when its last thread does */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	sc = ks_event_begin(KS_CAT_PROCESS, KS_ACT_EXIT, KS_SRC_EXIT, &t);
	if (!sc)
		return 0;
	ks_fill_task(sc, p);
	/*
	 * 6.18 fires this before exit_mm(): the executable is still there.
	 * 6.1 fires it after: the mm is gone, process.name is the comm.
	 */
	ks_fill_task_exe(sc, p, 0);
	code = BPF_CORE_READ(p, signal, group_exit_code);
	if (!code)
		code = BPF_CORE_READ(p, exit_code);
	/* shell convention: status for a normal exit, 128 + signal otherwise */
	sc->ev.exit_code = (code & 0x7f) ? 128 + (code & 0x7f) : (code >> 8) & 0xff;
	sc->ev.present |= KS_P_EXIT_CODE;
	ks_evaluate_in(t, sc, KS_CTX_TASK, KS_SRC_EXIT, KS_CAN_SIGNAL);
	ks_scratch_put(sc);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ks_all_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ks_scratch *sc;
	struct ks_tables *t;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;	/* a new thread, not a new process */
	sc = ks_event_begin(KS_CAT_PROCESS, KS_ACT_FORK, KS_SRC_FORK, &t);
	if (!sc)
		return 0;
	ks_fill_task(sc, child);
	ks_fill_task_exe(sc, child, 0);
	ks_fill_task_exe(sc, parent, 1);
	ks_fill_args_mm(sc, parent);
	/* the child has no signal of its own yet: kill it through the parent's rules later */
	ks_evaluate_in(t, sc, KS_CTX_TASK, KS_SRC_FORK, 0);
	ks_scratch_put(sc);
	return 0;
}

/* ---- process credential changes: uid_change, gid_change, session_id_change ---- */

/*
 * One change event of the current task: its process fields, its
 * arguments, the credentials it has after the change (new; NULL: its
 * own). A kill ends the task before it returns to user space with them.
 */
struct ks_cred_change {
	__u64 new;	/* const struct cred *, 0: the task's */
	__u32 acts[2];	/* the actions to report, KS_ACT_NONE: none */
};

static long ks_cred_event(__u32 i, struct ks_cred_change *c)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ks_scratch *sc;
	struct ks_tables *t;
	__u32 act = c->acts[i & 1];

	if (i > 1 || act == KS_ACT_NONE)
		return 0;
	sc = ks_event_begin(KS_CAT_PROCESS, act, KS_SRC_CRED, &t);
	if (!sc)
		return 0;
	ks_fill_current(sc);
	ks_fill_args_mm(sc, task);
	if (c->new)
		ks_fill_new_cred(&sc->ev, (const struct cred *)c->new);
	ks_evaluate_in(t, sc, KS_CTX_TASK, KS_SRC_CRED, KS_CAN_SIGNAL);
	ks_scratch_put(sc);
	return 0;
}

/*
 * Every credential change goes through commit_creds() (the set*id
 * family, the exec of a set-user-ID file, capset, ...): Elastic Defend's
 * uid_change when the real, effective, saved or filesystem uid differs
 * from the task's current ones, gid_change likewise for the gids (both
 * for one call that changes both). bpf_loop evaluates them with one copy
 * of the evaluator for the verifier to walk. A kprobe (trampolines are
 * not on every kernel Kestrel runs on); without kprobes these changes
 * are not reported.
 */
SEC("kprobe/commit_creds")
int BPF_KPROBE(ks_kall_creds, struct cred *new)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const struct cred *old = BPF_CORE_READ(task, real_cred);
	struct ks_cred_change c = { .new = (__u64)new };

	if (BPF_CORE_READ(new, uid.val) != BPF_CORE_READ(old, uid.val) ||
	    BPF_CORE_READ(new, euid.val) != BPF_CORE_READ(old, euid.val) ||
	    BPF_CORE_READ(new, suid.val) != BPF_CORE_READ(old, suid.val) ||
	    BPF_CORE_READ(new, fsuid.val) != BPF_CORE_READ(old, fsuid.val))
		c.acts[0] = KS_ACT_UID_CHANGE;
	if (BPF_CORE_READ(new, gid.val) != BPF_CORE_READ(old, gid.val) ||
	    BPF_CORE_READ(new, egid.val) != BPF_CORE_READ(old, egid.val) ||
	    BPF_CORE_READ(new, sgid.val) != BPF_CORE_READ(old, sgid.val) ||
	    BPF_CORE_READ(new, fsgid.val) != BPF_CORE_READ(old, fsgid.val))
		c.acts[1] = KS_ACT_GID_CHANGE;
	if (c.acts[0] || c.acts[1])
		bpf_loop(2, ks_cred_event, &c, 0);
	return 0;
}

/*
 * The ids of a cred that a change compares: direct loads, c being a BTF
 * pointer (the current task's real_cred; ks_task.bpf.h says why).
 */
static __always_inline void ks_cred_ids_of(struct ks_cred_ids *ids, const struct cred *c)
{
	ids->uid = c->uid.val;
	ids->euid = c->euid.val;
	ids->suid = c->suid.val;
	ids->fsuid = c->fsuid.val;
	ids->gid = c->gid.val;
	ids->egid = c->egid.val;
	ids->sgid = c->sgid.val;
	ids->fsgid = c->fsgid.val;
}

/*
 * Kernels without kprobes: the set*id() calls and execve() (a
 * set-user-ID file) are where a task's ids change. Their entry keeps the
 * ids the thread has (ks_credsave); their exit compares, so a change is
 * reported after the call, the new ids already the task's. Other paths
 * (keyctl, a kernel thread's commit_creds) are not seen this way.
 */
SEC("tracepoint")
int ks_tall_credsave(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ks_tables *t = ks_tables_current();	/* once for both actions */
	__u64 id = bpf_get_current_pid_tgid();
	const struct cred *cred;
	struct ks_cred_ids ids;

	if (!ks_tables_want(t, KS_ACT_UID_CHANGE) && !ks_tables_want(t, KS_ACT_GID_CHANGE))
		return 0;
	cred = task->real_cred;
	if (!cred)
		return 0;
	ks_cred_ids_of(&ids, cred);
	bpf_map_update_elem(&ks_credsave, &id, &ids, BPF_ANY);
	return 0;
}

SEC("tracepoint")
int ks_tall_creds(struct ks_sys_exit_args *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const struct cred *now = BPF_CORE_READ(task, real_cred);
	__u64 id = bpf_get_current_pid_tgid();
	struct ks_cred_change c = {};
	struct ks_cred_ids *old;

	/* compared in place, read from the cred: no copy on the stack,
	 * which the evaluator below needs (6.1 counts 512 bytes in all) */
	old = bpf_map_lookup_elem(&ks_credsave, &id);
	if (!old)
		return 0;
	if (ctx->ret >= 0 &&
	    (BPF_CORE_READ(now, uid.val) != old->uid || BPF_CORE_READ(now, euid.val) != old->euid ||
	     BPF_CORE_READ(now, suid.val) != old->suid ||
	     BPF_CORE_READ(now, fsuid.val) != old->fsuid))
		c.acts[0] = KS_ACT_UID_CHANGE;
	if (ctx->ret >= 0 &&
	    (BPF_CORE_READ(now, gid.val) != old->gid || BPF_CORE_READ(now, egid.val) != old->egid ||
	     BPF_CORE_READ(now, sgid.val) != old->sgid ||
	     BPF_CORE_READ(now, fsgid.val) != old->fsgid))
		c.acts[1] = KS_ACT_GID_CHANGE;
	bpf_map_delete_elem(&ks_credsave, &id);
	if (c.acts[0] || c.acts[1])
		bpf_loop(2, ks_cred_event, &c, 0);
	return 0;
}

/* setsid() that made a new session: session_id_change (not kernel threads). */
static __always_inline void ks_on_setsid(long ret)
{
	struct ks_cred_change c = { .acts = { KS_ACT_SESSION_ID_CHANGE } };

	if (ret < 0 || ks_host_skip(KS_SRC_CRED))
		return;
	bpf_loop(1, ks_cred_event, &c, 0);
}

SEC("kretprobe/ksys_setsid")
int BPF_KRETPROBE(ks_kall_setsid, int ret)
{
	ks_on_setsid(ret);
	return 0;
}

/* the same at setsid()'s exit, on kernels without kprobes */
SEC("tracepoint")
int ks_tall_setsid(struct ks_sys_exit_args *ctx)
{
	ks_on_setsid(ctx->ret);
	return 0;
}

/* ---- replay: recorded events through the same evaluator ---- */

/*
 * The context is struct ks_replay_ctx (maps/ks_event.h): a batch of
 * packed events. One event per bpf_loop() iteration, so the evaluator is
 * verified once. The kernel checks only that the context holds ctx->n
 * and ctx->len; records are read with bpf_probe_read_kernel(), bounded
 * by ctx->len, so a short or malformed batch is counted, not followed.
 */
struct ks_replay_loop {
	const __u8 *data;	/* ctx->data; bpf_loop wants a stack pointer */
	__u32 pos;		/* next record's offset in data */
	__u32 len;		/* bytes of data */
};

/* The bytes of the record at l->pos after its header, or 0 if it does not fit. */
static __always_inline __u32 ks_replay_rec_size(const struct ks_replay_loop *l,
						const struct ks_replay_rec *rec)
{
	__u32 need = KS_REPLAY_HEAD, s, size;

#pragma unroll
	for (s = 0; s < KS_REPLAY_SLOTS; s++) {
		ks_replay_slot(s, &size);
		if (rec->slot_len[s] > size)
			return 0;
		need += rec->slot_len[s];
	}
	return l->len - l->pos - sizeof(*rec) >= need ? need : 0;
}

/* Unpack one record (src: after its header) into sc->ev; 0 or -1. */
static __always_inline int ks_replay_unpack(struct ks_scratch *sc, const struct ks_replay_rec *rec,
					    const __u8 *src)
{
	__u32 s, off, size, n;

	if (bpf_probe_read_kernel(&sc->ev, KS_REPLAY_HEAD, src))
		return -1;
	src += KS_REPLAY_HEAD;
#pragma unroll
	for (s = 0; s < KS_REPLAY_SLOTS; s++) {
		off = ks_replay_slot(s, &size);
		n = rec->slot_len[s];
		if (n > size || (n && bpf_probe_read_kernel((char *)&sc->ev + off, n, src)))
			return -1;
		src += n;
	}
	return 0;
}

static long ks_replay_one(__u32 i, struct ks_replay_loop *l)
{
	struct ks_replay_rec rec;
	struct ks_scratch *sc;
	__u32 size;

	if (l->pos > l->len || l->len - l->pos < sizeof(rec) ||
	    bpf_probe_read_kernel(&rec, sizeof(rec), l->data + l->pos) ||
	    !(size = ks_replay_rec_size(l, &rec))) {
		ks_count_drop(KS_CTX_TASK, KS_SRC_REPLAY, KS_DROP_PARSE);
		return 1;	/* the rest of the batch cannot be found */
	}
	sc = ks_scratch_get(KS_CTX_TASK);
	if (!sc) {
		ks_count_drop(KS_CTX_TASK, KS_SRC_REPLAY, KS_DROP_REENTRANT);
		l->pos += sizeof(rec) + size;
		return 0;
	}
	if (ks_replay_unpack(sc, &rec, l->data + l->pos + sizeof(rec))) {
		ks_scratch_put(sc);
		ks_count_drop(KS_CTX_TASK, KS_SRC_REPLAY, KS_DROP_PARSE);
		return 1;
	}
	l->pos += sizeof(rec) + size;
	__builtin_memset(&sc->ev.verdict, 0, sizeof(sc->ev.verdict));
	sc->ev.source = KS_SRC_REPLAY;
	ks_evaluate(sc, KS_CTX_TASK, KS_SRC_REPLAY, KS_SIMULATE);
	ks_scratch_put(sc);
	return 0;
}

SEC("syscall")
int ks_replay(struct ks_replay_ctx *ctx)
{
	struct ks_replay_loop l = { .data = ctx->data, .len = ctx->len };
	__u32 n = ctx->n;

	if (n > KS_REPLAY_BATCH)
		n = KS_REPLAY_BATCH;
	if (l.len > sizeof(ctx->data))
		l.len = sizeof(ctx->data);
	bpf_loop(n, ks_replay_one, &l, 0);
	return 0;
}
