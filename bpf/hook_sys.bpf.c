// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Syscall tracepoints: file events, UDP connect and accept where the
 * kernel has neither BPF LSM nor kprobes (CONFIG_KPROBES=n, like the 6.18
 * development host), so that every event kind exists on every kernel.
 * The engine loads these (ks_tsig_*: signal/observe modes, in place of
 * the ks_ksig_* kprobes; ks_tall_*: every mode, in place of ks_kall_*)
 * when it finds no kprobes (loader/engine.c).
 *
 *   action                       sys_exit_* of          file.path / address from
 *   open, creation, modification open, openat, openat2, the returned descriptor's
 *                                creat,                 struct file: resolved, and
 *                                open_by_handle_at      classified by f_mode, exactly
 *                                                       like the LSM/kprobe hook
 *   deletion                     unlink, unlinkat       the syscall's arguments (below)
 *   rename                       rename, renameat,      the same, for both paths
 *                                renameat2
 *   connect (not TCP)            connect                the connected sock
 *   accept                       accept, accept4        the returned descriptor's sock
 *
 * Why one tracepoint per syscall rather than raw_tp/tp_btf on sys_exit
 * (as Falco's modern probe does): any syscall tracepoint sends every
 * syscall through the traced slow path, but a per-syscall tracepoint runs
 * its program only for that syscall, while sys_exit runs one for all of
 * them. Measured here by build/bench/bench_systp (getppid, hooked by
 * nothing, min of 15 rounds, three runs): +22..52 ns per syscall with
 * these 13 tracepoints attached, +77..112 ns with one empty program on
 * raw_tp/sys_exit, 2 to 3.5 times as much in each run. TCP connect stays on
 * tp_btf/inet_sock_set_state (ks_net.bpf.h), which costs nothing per
 * syscall.
 *
 * Everything is taken at the syscall's exit, with its outcome: a syscall
 * that failed is no event (the LSM and kprobe hooks see attempts that the
 * kernel refuses after them; these see what happened). O_PATH opens are
 * skipped, as security_file_open never sees them; so is
 * unlinkat(AT_REMOVEDIR) (rmdir, not reported by any source).
 *
 * Arguments at exit: x86-64 keeps a syscall's arguments in the saved user
 * registers (rdi, rsi, rdx, r10), which no file syscall rewrites, so no
 * sys_enter program and no per-task map pairing entry with exit is
 * needed, and there is nothing to lose when such a map would be full.
 * The strings are read after the kernel has copied them, so their pages
 * are resident (a read at sys_enter can fail on a page not yet touched);
 * a string that cannot be read is counted as dropped (reason parse).
 *
 * Deletion and rename paths: at exit the dentry is gone (unlink) or out
 * of reach (BPF cannot look a path up), so the path is rebuilt from the
 * arguments: an absolute string is taken from the process's root; a
 * relative one is appended to its directory, the dirfd's struct file or
 * the cwd (AT_FDCWD), resolved by the same dentry walk as every other
 * path (relative to the process's root: ks_task.bpf.h). Then "//", "."
 * and ".." are resolved lexically (".." at the root stays there, as in
 * the kernel). NOT resolved: symlinks among the string's directory
 * components, which the kernel follows, so "/tmp/l/../x" is reported as
 * "/tmp/x" whatever /tmp/l points to. NOT kernel-exact: the string, the
 * cwd and the dirfd are read at exit, and a process can change them from
 * another thread while the syscall runs. A block/kill rule on these
 * paths therefore acts on what the arguments say, and a process that
 * races its own threads can evade it (README, "Event sources").
 *
 * A rebuilt path longer than its slot is cut like any path (maps/ks_abi.h,
 * KS_F_PATH_MASK): the right-most whole components as the value, the
 * path's first bytes as the head, so the evaluator decides prefixes and
 * suffixes and fails closed on the rest. The head is the directory's own
 * head when the directory was cut, and there is none (every atom on the
 * field undecided) when a ".." climbs above the part of a cut directory
 * that was seen, or when the string does not fit the work area
 * (KS_SYS_STR_MAX bytes; the kernel takes up to PATH_MAX).
 *
 * block/kill: bpf_send_signal(SIGKILL) at the syscall's exit. The
 * operation has happened (the file is opened, created or truncated,
 * deleted or renamed; the socket is connected; the connection accepted)
 * and the caller dies before the syscall returns to it, so it never uses
 * the descriptor or the result.
 *
 * Not seen by this source: 32-bit syscalls (ia32 programs and int 0x80;
 * the syscall tracepoints skip compat syscalls) and io_uring operations,
 * which make no syscall. `kload status` says so next to the source.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "ks_file.bpf.h"
#include "ks_net.bpf.h"
#include "ks_sys.bpf.h"

#define KS_FMODE_PATH		0x4000u		/* fs.h: 1 << 14 on 6.1 and 6.18 */
#define KS_AT_FDCWD		(-100)
#define KS_AT_REMOVEDIR		0x200
#define KS_S_IFMT		0170000
#define KS_S_IFSOCK		0140000
#define KS_TCP_ESTABLISHED	1

/* The struct file behind descriptor fd of the current task, or NULL. */
static __always_inline struct file *ks_fd_file(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	struct fdtable *fdt = files ? files->fdt : NULL;
	struct file **fds, *f = NULL;

	/*
	 * Direct loads through BTF pointers (see ks_task.bpf.h) up to the
	 * descriptor array; its slot, at a variable index, by helper.
	 */
	if (fd < 0 || !fdt || fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The sock of socket descriptor fd, or NULL (not a socket, closed). */
static __always_inline struct sock *ks_fd_sock(long fd)
{
	struct file *f = ks_fd_file(fd);
	struct socket *so;

	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & KS_S_IFMT) != KS_S_IFSOCK)
		return NULL;
	so = BPF_CORE_READ(f, private_data);
	return so ? BPF_CORE_READ(so, sk) : NULL;
}

/* The current task's saved user registers: the syscall's arguments. */
static __always_inline struct pt_regs *ks_sys_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* ---- lexical path normalization, one byte per bpf_loop() iteration ---- */

/*
 * The work area, in the payload slot (unused by file events): the
 * directory right-aligned in its first KS_PATH_MAX bytes (a cut
 * directory's head at its start), then '/', then the string (up to
 * KS_SYS_STR_MAX bytes with its NUL), then the loop's state.
 */
#define KS_SYS_STR_MAX	1024u
#define KS_SYS_WORK	(KS_PATH_MAX + 1 + KS_SYS_STR_MAX)

struct ks_norm_ctx {
	struct ks_scratch *sc;
	__u32 in;	/* event offset of the input; the output overwrites it */
	__u32 len;	/* input bytes; one virtual '/' follows them */
};

/*
 * What the loop changes lives in map memory (the payload slot, after the
 * work area), not in the context on the stack: before 6.7 the verifier
 * checks a bpf_loop() callback once, with the values the caller's stack
 * held at the call, and would prune the branches those values rule out.
 */
struct ks_norm_state {
	__u32 olen;
	__u32 cstart;	/* output offset of the current component's '/' */
	__u32 in_comp;
	__u32 trunc;
	__u32 above;	/* a ".." went above the input's first directory */
};

#define KS_NORM_STATE	((KS_SYS_WORK + 7) & ~7u)	/* offset in the payload slot */
_Static_assert(KS_NORM_STATE + sizeof(struct ks_norm_state) <= KS_PAYLOAD_MAX,
	       "work area and state fit the payload slot");

static __always_inline struct ks_norm_state *ks_norm_state(struct ks_scratch *sc)
{
	return (struct ks_norm_state *)(sc->ev.payload + KS_NORM_STATE);
}

/* Output offset of the last '/' before olen (0 when there is none). */
static __always_inline __u32 ks_norm_parent(const struct ks_norm_ctx *c, __u32 olen, __u8 *ev)
{
	__u32 i;

	for (i = 1; i <= KS_SYS_WORK; i++) {
		if (i > olen)
			break;
		if (ev[ks_bound(c->in + olen - i, 0xfff)] == '/')
			return olen - i;
	}
	return 0;
}

/*
 * A component just ended at olen: drop "." and pop for "..". A ".." with
 * nothing before it stays at the top (the root, as in the kernel), and
 * is noted: above a cut directory's tail, the head no longer holds.
 */
static __always_inline void ks_norm_end(const struct ks_norm_ctx *c, struct ks_norm_state *st,
					__u8 *ev)
{
	__u32 clen = st->olen - st->cstart - 1;
	__u8 a = ev[ks_bound(c->in + st->cstart + 1, 0xfff)];
	__u8 b = ev[ks_bound(c->in + st->cstart + 2, 0xfff)];

	st->in_comp = 0;
	if (clen == 1 && a == '.') {
		st->olen = st->cstart;
	} else if (clen == 2 && a == '.' && b == '.') {
		if (!st->cstart)
			st->above = 1;
		st->olen = ks_norm_parent(c, st->cstart, ev);
	}
}

/*
 * One input byte. The output is written over the input, never ahead of
 * it: every component's '/' comes from at least one input '/'.
 */
static long ks_norm_byte(__u32 i, struct ks_norm_ctx *c)
{
	struct ks_norm_state *st = ks_norm_state(c->sc);
	__u8 *ev = (__u8 *)&c->sc->ev;
	__u8 ch = '/';

	if (i < c->len)
		ch = ev[ks_bound(c->in + i, 0xfff)];
	if (ch == '/') {
		if (st->in_comp)
			ks_norm_end(c, st, ev);
		return 0;
	}
	if (st->olen + !st->in_comp > i) {
		st->trunc = 1;	/* would overtake the input: cannot happen */
		return 1;
	}
	if (!st->in_comp) {
		ev[ks_bound(c->in + st->olen, 0xfff)] = '/';
		st->cstart = st->olen++;
		st->in_comp = 1;
	}
	ev[ks_bound(c->in + st->olen, 0xfff)] = ch;
	st->olen++;
	return 0;
}

/*
 * A path the arguments do not give whole (a string longer than the work
 * area): truncated, with no head (cut_head 0) and an empty tail, so the
 * evaluator decides no atom on it and a block or kill rule that needs it
 * fails closed, as for any path cut without a head (ks_task.bpf.h).
 */
static __always_inline int ks_sys_path_cut(struct ks_event *ev, __u32 field, __u32 out)
{
	ev->truncated |= 1u << field;
	ev->cut_head[KS_PATH_IDX(field) & (KS_PATH_SLOTS - 1)] = 0;
	ks_set_str(ev, field, out + KS_PATH_MAX, 0);
	return 0;
}

/* Offset of the first '/' at or after `from` in olen bytes at w; olen if none. */
static __always_inline __u32 ks_sys_slash(struct ks_scratch *sc, __u32 w, __u32 from, __u32 olen)
{
	__u8 *base = (__u8 *)&sc->ev;
	__u32 i, at;

	for (i = 0; i < KS_PATH_MAX; i++) {
		at = from + i;
		if (at >= olen)
			break;
		if (base[ks_bound(w + at, 0xfff)] == '/')
			return at;
	}
	return olen;
}

/*
 * Where the tail of a normalized path of olen bytes at event offset w
 * starts, as ks_path_walk() cuts: the first '/' that leaves KS_PATH_HEAD
 * bytes of the slot to the head, else the first '/' that fits the slot.
 * Global, so its caller is verified once, not once per possible result.
 */
__noinline int ks_sys_tail(struct ks_scratch *sc, __u32 w, __u32 olen)
{
	const __u32 room = KS_PATH_MAX - KS_PATH_HEAD;
	__u32 t;

	if (!sc)
		return olen;
	t = ks_sys_slash(sc, w, olen > room ? olen - room : 0, olen);

	if (t < olen)
		return t;
	return ks_sys_slash(sc, w, olen > KS_PATH_MAX ? olen - KS_PATH_MAX : 0, olen);
}

/*
 * The normalized path (olen bytes at event offset w) into the slot at
 * `out`: whole when it fits and its directory was whole; otherwise cut
 * like every path (maps/ks_abi.h, KS_F_PATH_MASK): the tail right-aligned
 * as the value, and in front of it the head, the path's first bytes, or
 * for a cut directory that directory's head (dhead bytes at the start of
 * the work area), which a ".." above the directory's tail voids.
 */
static __always_inline void ks_sys_place(struct ks_scratch *sc, __u32 field, __u32 out, __u32 w,
					 __u32 olen, int dcut, __u32 dhead)
{
	__u8 *base = (__u8 *)&sc->ev;
	__u32 t, pos, hd;

	if (!dcut && olen <= KS_PATH_MAX) {
		if (!olen)
			base[ks_bound(out, 0xfff)] = '/';
		else
			bpf_probe_read_kernel(base + ks_bound(out, 0xfff), ks_bound(olen, 0x1ff),
					      base + ks_bound(w, 0xfff));
		ks_set_str(&sc->ev, field, out, olen ?: 1);
		return;
	}
	t = ks_sys_tail(sc, w, olen);
	pos = KS_PATH_MAX - (olen - t);
	hd = dcut ? (dhead < pos ? dhead : pos) : pos;
	bpf_probe_read_kernel(base + ks_bound(out + pos, 0xfff), ks_bound(olen - t, 0x1ff),
			      base + ks_bound(w + t, 0xfff));
	bpf_probe_read_kernel(base + ks_bound(out, 0xfff), ks_bound(hd, 0xff),
			      base + ks_bound(dcut ? KS_SLOT_OFF(payload) : w, 0xfff));
	sc->ev.truncated |= 1u << field;
	sc->ev.cut_head[KS_PATH_IDX(field) & (KS_PATH_SLOTS - 1)] = hd;
	ks_set_str(&sc->ev, field, out + pos, olen - t);
}

/*
 * The directory a relative name is resolved in (dirfd, or the cwd for
 * AT_FDCWD), walked into the work area like every path: relative to the
 * process's root, cut with a head when it does not fit. -1: none.
 */
static __always_inline int ks_sys_dir(struct ks_scratch *sc, __u32 field, int dfd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const struct path *dir;

	if (dfd == KS_AT_FDCWD) {
		struct fs_struct *fs = BPF_CORE_READ(task, fs);

		dir = &fs->pwd;
	} else {
		struct file *f = ks_fd_file(dfd);

		if (!f)
			return -1;
		dir = &f->f_path;
	}
	ks_set_str(&sc->ev, field, 0, 0);
	ks_fill_path(sc, KS_SLOT_OFF(payload), field, dir, task);
	if (!sc->ev.str[field].len)
		return -1;
	sc->ev.payload[KS_PATH_MAX] = '/';
	return 0;
}

/*
 * Path field `field` (slot at event offset `out`) from the syscall
 * arguments (dfd, upath): see the top of this file. Returns 0, or -1
 * when the string or the directory cannot be read.
 */
__noinline int ks_sys_user_path(struct ks_scratch *sc, __u32 field, __u32 out, int dfd,
				__u64 upath)
{
	const __u32 str = KS_SLOT_OFF(payload) + KS_PATH_MAX + 1;
	struct ks_norm_ctx c = {};
	struct ks_norm_state *st;
	struct ks_event *ev;
	__u32 in = str, dhead = 0;
	int dcut = 0;
	long n;

	if (!sc || field >= KS_F_STR_N || out + KS_PATH_MAX > sizeof(struct ks_event))
		return -1;
	ev = &sc->ev;
	n = bpf_probe_read_user_str(ev->payload + KS_PATH_MAX + 1, KS_SYS_STR_MAX,
				    (const void *)upath);
	if (n <= 1)
		return -1;
	if (n == KS_SYS_STR_MAX)	/* may have been cut */
		return ks_sys_path_cut(ev, field, out);
	if (ev->payload[KS_PATH_MAX + 1] != '/') {
		if (ks_sys_dir(sc, field, dfd))
			return -1;
		dcut = !!(ev->truncated & (1u << field));
		dhead = ev->cut_head[KS_PATH_IDX(field) & (KS_PATH_SLOTS - 1)];
		in = ev->str[field].off;
	}
	c.sc = sc;
	c.in = in;
	c.len = str + n - 1 - in;
	st = ks_norm_state(sc);
	__builtin_memset(st, 0, sizeof(*st));
	bpf_loop(c.len + 1, ks_norm_byte, &c, 0);
	if (st->trunc)
		return ks_sys_path_cut(ev, field, out);
	ks_sys_place(sc, field, out, in, st->olen, dcut, st->above ? 0 : dhead);
	return 0;
}

/* ---- the events ---- */

__noinline int ks_sys_open(long fd)
{
	struct file *f = ks_fd_file(fd);
	__u32 mode;

	if (!f)
		return 0;
	mode = BPF_CORE_READ(f, f_mode);
	/* O_PATH descriptors are not opens of the file's contents */
	if (!(mode & KS_FMODE_PATH))
		ks_on_file(ks_open_action(mode), &f->f_path, NULL, KS_CAN_SIGNAL);
	return 0;
}

/*
 * Deletion (newp == 0) or rename of the syscall's path arguments. A
 * rename's file.path is the new path, the old one file.Ext.original.path
 * (ks_on_file()).
 */
__noinline int ks_sys_unlink_rename(int odfd, __u64 oldp, int ndfd, __u64 newp)
{
	struct ks_tables *t;
	struct ks_scratch *sc = ks_file_begin(newp ? KS_ACT_RENAME : KS_ACT_DELETION, &t);

	if (!sc)
		return 0;
	if (newp) {
		if (ks_sys_user_path(sc, KS_F_FILE_PATH, KS_SLOT_OFF(path), ndfd, newp) ||
		    ks_sys_user_path(sc, KS_F_FILE_ORIG_PATH, KS_SLOT_OFF(orig), odfd, oldp))
			goto unreadable;
		sc->ev.present |= KS_P_ORIG;
	} else if (ks_sys_user_path(sc, KS_F_FILE_PATH, KS_SLOT_OFF(path), odfd, oldp)) {
		goto unreadable;
	}
	ks_file_finish(t, sc, KS_CAN_SIGNAL);
	return 0;
unreadable:
	ks_scratch_put(sc);
	ks_count_drop(KS_CTX_TASK, KS_SRC_FILE, KS_DROP_PARSE);
	return 0;
}

__noinline int ks_sys_connect(long fd)
{
	struct sock *sk = ks_fd_sock(fd);

	/* TCP is reported at SYN_SENT by ks_sig_connect, in every non-lsm mode */
	if (!sk || BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP)
		return 0;
	/* connect(AF_UNSPEC) dissolves an association: no connection */
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != KS_TCP_ESTABLISHED)
		return 0;
	ks_on_sk_connect(sk);
	return 0;
}

__noinline int ks_sys_accept(long fd)
{
	struct sock *sk = ks_fd_sock(fd);

	if (sk)
		ks_on_accept(sk);
	return 0;
}

/*
 * ---- programs: one per event family, attached at the exit of each of
 * its syscalls (loader/engine.c, ks_sys_tps[]) ----
 *
 * Every sys_exit_* tracepoint has the same record (struct
 * ks_sys_exit_args), so one program serves all the syscalls of a family
 * and the verifier checks the evaluator once per family instead of once
 * per syscall. Where the syscalls' arguments differ, the program
 * dispatches on ctx->nr: only native x86-64 syscalls reach these
 * tracepoints (compat syscalls are not traced), so these are their numbers.
 */
#define KS_NR_RENAME		82
#define KS_NR_UNLINK		87
#define KS_NR_UNLINKAT		263
#define KS_NR_RENAMEAT		264
#define KS_NR_RENAMEAT2		316

/* open, openat, openat2, creat, open_by_handle_at: the new descriptor */
SEC("tracepoint")
int ks_tsig_open(struct ks_sys_exit_args *ctx)
{
	if (ctx->ret >= 0)
		ks_sys_open(ctx->ret);
	return 0;
}

/*
 * The path arguments of a successful unlink(path), unlinkat(dfd, path,
 * flags), rename(old, new), renameat(olddfd, old, newdfd, new) or
 * renameat2(..., flags), told apart by the syscall number. `renames`
 * (a constant) picks the calls of the tracepoint: the other half is
 * compiled out of its program.
 */
static __always_inline void ks_sys_path_op(struct ks_sys_exit_args *ctx, int renames)
{
	int odfd = KS_AT_FDCWD, ndfd = 0;
	__u64 old, new = 0;
	struct pt_regs *regs;
	long nr = ctx->nr;

	if (ctx->ret)
		return;
	regs = ks_sys_regs();
	if (!renames && nr == KS_NR_UNLINK) {
		old = BPF_CORE_READ(regs, di);
	} else if (!renames && nr == KS_NR_UNLINKAT) {
		if (BPF_CORE_READ(regs, dx) & KS_AT_REMOVEDIR)
			return;
		odfd = BPF_CORE_READ(regs, di);
		old = BPF_CORE_READ(regs, si);
	} else if (renames && nr == KS_NR_RENAME) {
		old = BPF_CORE_READ(regs, di);
		ndfd = KS_AT_FDCWD;
		new = BPF_CORE_READ(regs, si);
	} else if (renames && (nr == KS_NR_RENAMEAT || nr == KS_NR_RENAMEAT2)) {
		odfd = BPF_CORE_READ(regs, di);
		old = BPF_CORE_READ(regs, si);
		ndfd = BPF_CORE_READ(regs, dx);
		new = BPF_CORE_READ(regs, r10);
	} else {
		return;
	}
	ks_sys_unlink_rename(odfd, old, ndfd, new);
}

/* unlink, unlinkat */
SEC("tracepoint")
int ks_tsig_unlink(struct ks_sys_exit_args *ctx)
{
	ks_sys_path_op(ctx, 0);
	return 0;
}

/* rename, renameat, renameat2 */
SEC("tracepoint")
int ks_tsig_rename(struct ks_sys_exit_args *ctx)
{
	ks_sys_path_op(ctx, 1);
	return 0;
}

SEC("tracepoint")
int ks_tsig_connect(struct ks_sys_exit_args *ctx)
{
	if (!ctx->ret)
		ks_sys_connect(BPF_CORE_READ(ks_sys_regs(), di));
	return 0;
}

/* accept, accept4: the new descriptor */
SEC("tracepoint")
int ks_tall_accept(struct ks_sys_exit_args *ctx)
{
	if (ctx->ret >= 0)
		ks_sys_accept(ctx->ret);
	return 0;
}
