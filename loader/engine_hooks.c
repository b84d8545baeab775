// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The catalogue of kload's BPF programs, by name: which ones a mode and
 * the options run, which are optional, which actions each serves (what
 * engine_load.c loads for a rule set), which syscalls a syscall
 * tracepoint program attaches to, what each hook sees and what block and
 * kill do there (`kload status`), and what the pinned links of a running
 * kload say about all of it. engine.c and engine_load.c act on it.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kestrel/engine.h"
#include "engine_int.h"
#include "maps/ks_dns.h"

#define ACT(a)	(1u << KS_ACT_##a)

/* What a host program serves, by the part of its name after ks_<mode>_. */
static const struct {
	const char *stem;
	__u32 actions;
} ks_prog_acts[] = {
	{ "exec", ACT(EXEC) },
	{ "exit", ACT(EXIT) },
	{ "fork", ACT(FORK) },
	{ "open", ACT(OPEN) | ACT(CREATION) | ACT(MODIFICATION) },
	{ "file_open", ACT(OPEN) | ACT(CREATION) | ACT(MODIFICATION) },
	{ "unlink", ACT(DELETION) },
	{ "rename", ACT(RENAME) },
	{ "connect", ACT(CONNECT) },
	{ "accept", ACT(ACCEPT) },
	{ "creds", ACT(UID_CHANGE) | ACT(GID_CHANGE) },
	{ "setsid", ACT(SESSION_ID_CHANGE) },
	{ "credsave", ACT(UID_CHANGE) | ACT(GID_CHANGE) },
	{ "main", ACT(PACKET) },	/* ks_xdp_main */
	{ "dns", KS_NEED_DNS },		/* ks_all_dns: names for destination.domain */
};

__u32 ks_prog_actions(const char *name)
{
	const char *stem;
	size_t i;

	if (strncmp(name, "ks_", 3) || !(stem = strchr(name + 3, '_')))
		return 0;
	/* a pinned link's name may go on with _<syscall> */
	for (i = 0; i < sizeof(ks_prog_acts) / sizeof(ks_prog_acts[0]); i++) {
		size_t n = strlen(ks_prog_acts[i].stem);

		if (!strncmp(stem + 1, ks_prog_acts[i].stem, n) &&
		    (!stem[1 + n] || stem[1 + n] == '_'))
			return ks_prog_acts[i].actions;
	}
	return 0;
}

/*
 * The syscalls whose exit (or entry) each syscall tracepoint program
 * serves (bpf/hook_sys.bpf.c, bpf/kestrel.bpf.c): one program, one link per
 * syscall.
 */
#define KS_CRED_SYSCALLS	"setuid", "setreuid", "setresuid", "setfsuid", "setgid", \
				"setregid", "setresgid", "setfsgid", "execve", "execveat"
static const struct {
	const char *prog;
	const char *const sys[KS_SYS_TP_MAX + 1];
	bool enter;
} ks_sys_tps[] = {
	{ "ks_tsig_open", { "open", "openat", "openat2", "creat", "open_by_handle_at" } },
	{ "ks_tsig_unlink", { "unlink", "unlinkat" } },
	{ "ks_tsig_rename", { "rename", "renameat", "renameat2" } },
	{ "ks_tsig_connect", { "connect" } },
	{ "ks_tall_accept", { "accept", "accept4" } },
	{ "ks_tall_setsid", { "setsid" } },
	{ "ks_tall_credsave", { KS_CRED_SYSCALLS }, true },
	{ "ks_tall_creds", { KS_CRED_SYSCALLS } },
};

const char *const *ks_sys_tp_names(const char *prog)
{
	size_t i;

	for (i = 0; i < sizeof(ks_sys_tps) / sizeof(ks_sys_tps[0]); i++)
		if (!strcmp(prog, ks_sys_tps[i].prog))
			return ks_sys_tps[i].sys;
	return NULL;
}

bool ks_sys_tp_enter(const char *prog)
{
	size_t i;

	for (i = 0; i < sizeof(ks_sys_tps) / sizeof(ks_sys_tps[0]); i++)
		if (!strcmp(prog, ks_sys_tps[i].prog))
			return ks_sys_tps[i].enter;
	return false;
}

/*
 * A program's name says when it runs, so adding a hook needs no table here:
 *   ks_lsm_*   lsm mode only (BPF LSM hooks that can deny)
 *   ks_sig_*   signal and observe modes (tp_btf/kprobe twins of the above)
 *   ks_all_*   every host mode (events no LSM hook needs to deny)
 *   ks_ksig_*  like ks_sig_*, ks_kall_* like ks_all_*, but kprobes: only
 *              loaded when the kernel has kprobes (CONFIG_KPROBES)
 *   ks_tsig_*  like ks_ksig_*, ks_tall_* like ks_kall_*, but syscall
 *              tracepoints (bpf/hook_sys.bpf.c): loaded instead of the
 *              kprobes when the kernel has none, so every event kind
 *              exists on every kernel; ks_hook_info() says what each is
 *   ks_xdp_*   loaded when an interface is given, attached per interface
 *   ks_replay  replay only
 * and of host programs, only those serving an action the rules need
 * (engine_load.c).
 */
/* The kprobe PMU (or legacy kprobe_events) is how libbpf attaches kprobes. */
static bool ks_kprobes_available(void)
{
	return !access("/sys/bus/event_source/devices/kprobe/type", F_OK) ||
	       !access("/sys/kernel/tracing/kprobe_events", F_OK) ||
	       !access("/sys/kernel/debug/tracing/kprobe_events", F_OK);
}

bool ks_prog_wanted(const char *name, enum ks_enforce_mode mode,
		    const struct ks_engine_opts *o)
{
	bool kprobes = !o->sys_tracepoints && ks_kprobes_available();

	if (!strcmp(name, "ks_replay"))
		return o->replay;
	if (!strncmp(name, "ks_xdp_", 7))
		return o->xdp;	/* replay runs pcaps through it with test-run */
	if (o->replay || o->no_host)
		return false;
	if (!strncmp(name, "ks_all_", 7))
		return true;
	if (!strncmp(name, "ks_lsm_", 7))
		return mode == KS_MODE_LSM;
	if (!strncmp(name, "ks_sig_", 7))
		return mode != KS_MODE_LSM;
	if (!strncmp(name, "ks_ksig_", 8))
		return mode != KS_MODE_LSM && kprobes;
	if (!strncmp(name, "ks_kall_", 8))
		return kprobes;
	if (!strncmp(name, "ks_tsig_", 8))
		return mode != KS_MODE_LSM && !kprobes;
	if (!strncmp(name, "ks_tall_", 8))
		return !kprobes;
	return false;
}

/*
 * Kprobes and syscall tracepoints: a kernel may lack one; the DNS program
 * needs cgroup v2 mounted: warn, go on (the rules still run; a
 * destination.domain test is false without names, as for an unnamed
 * address).
 */
bool ks_prog_optional(const char *name)
{
	return !strncmp(name, "ks_ksig_", 8) || !strncmp(name, "ks_kall_", 8) ||
	       !strncmp(name, "ks_tsig_", 8) || !strncmp(name, "ks_tall_", 8) ||
	       !strcmp(name, "ks_all_dns");
}

/*
 * What each host hook sees and what block/kill do there; matched by
 * program name prefix, first match wins. The README's "Event sources"
 * table and docs/kload.8 say the same in more words. Its rows are
 * deliberate twins of each other (one shape of data, which duplicates
 * pairs: the connect rows with the accept and file ones).
 */
static const struct {
	const char *prefix;
	struct ks_hook_info info;
} ks_hooks[] = {
	{ "ks_lsm_exec", { "exec", "lsm", "all",
	  "the exec fails with EPERM: the program is never loaded" } },
	{ "ks_sig_exec", { "exec", "tp_btf", "all",
	  "SIGKILL after the new image is loaded, before its first instruction" } },
	{ "ks_all_exit", { "exit", "tp_btf", "all", "none: the process is exiting" } },
	{ "ks_all_fork", { "fork", "tp_btf", "all",
	  "none: the parent's and the child's later events are judged" } },
	{ "ks_kall_creds", { "cred", "kprobe", "all (commit_creds); none without kprobes",
	  "SIGKILL in commit_creds(): the task dies before it returns to user "
	  "space with the new ids (a set-user-ID exec runs no instruction)" } },
	{ "ks_kall_setsid", { "cred", "kretprobe", "all but kernel threads",
	  "SIGKILL after setsid(), before it returns" } },
	{ "ks_tall_setsid", { "cred", "tracepoint", "successful 64-bit syscalls",
	  "SIGKILL at setsid()'s exit, before it returns" } },
	{ "ks_tall_creds", { "cred", "tracepoint",
	  "set*id() and execve() (64-bit syscalls), reported at their exit",
	  "SIGKILL at the syscall's exit: the ids have changed (a set-user-ID "
	  "exec has replaced the image), the caller dies before it returns" } },
	{ "ks_lsm_connect", { "connect", "lsm", "all",
	  "connect() fails with EPERM: nothing is sent" } },
	{ "ks_sig_connect", { "connect", "tp_btf", "TCP",
	  "SIGKILL at SYN_SENT: the SYN leaves, the caller dies before connect() "
	  "returns and its socket is reset" } },
	{ "ks_ksig_connect", { "connect", "kprobe", "UDP and other non-TCP",
	  "SIGKILL in security_socket_connect(): the connect completes, the caller "
	  "dies before it returns" } },
	{ "ks_tsig_connect", { "connect", "tracepoint",
	  "UDP and other non-TCP; successful 64-bit syscalls; not io_uring",
	  "SIGKILL at connect()'s exit: the socket is connected, the caller dies "
	  "before connect() returns" } },
	{ "ks_kall_accept", { "accept", "kprobe", "all",
	  "SIGKILL in security_sock_graft(): the caller dies before accept() "
	  "returns the descriptor" } },
	{ "ks_tall_accept", { "accept", "tracepoint",
	  "successful 64-bit syscalls; not io_uring",
	  "SIGKILL at accept()'s exit: the connection is accepted, the caller "
	  "dies before it gets the descriptor" } },
	{ "ks_all_dns", { "dns", "cgroup_skb", "answers from port 53 (UDP, and TCP "
	  "segments that start one) to sockets of any cgroup and network namespace",
	  "none: the names only enrich events (destination.domain is alert-only)" } },
	/* file: open, creation, modification (one hook), deletion, rename */
	{ "ks_lsm_", { "file", "lsm", "all",
	  "EPERM from the LSM hook: the open, unlink or rename does not happen "
	  "(a denied O_CREAT open leaves the new, empty file)" } },
	{ "ks_ksig_", { "file", "kprobe", "all",
	  "SIGKILL in security_*(): the operation still completes (opened, "
	  "created, deleted, renamed), the caller dies before the syscall returns" } },
	{ "ks_tsig_", { "file", "tracepoint",
	  "successful 64-bit syscalls; not io_uring",
	  "SIGKILL at the syscall's exit: the operation has happened (opened, "
	  "created, truncated, deleted, renamed), the caller dies before the "
	  "syscall returns; deletion and rename paths come from the syscall's "
	  "arguments, lexically (not kernel-exact)" } },
};

static const char *const ks_kinds[KS_KIND_N] = {
	"exec", "exit", "fork", "file", "connect", "accept", "cred", "dns",
};

const struct ks_hook_info *ks_hook_info(const char *prog)
{
	size_t i;

	for (i = 0; i < sizeof(ks_hooks) / sizeof(ks_hooks[0]); i++)
		if (!strncmp(prog, ks_hooks[i].prefix, strlen(ks_hooks[i].prefix)))
			return &ks_hooks[i].info;
	return NULL;
}

/* Add hook h to its kind once (several syscalls share one entry). */
static void ks_kind_add(struct ks_kind_sources *out, const struct ks_hook_info *h)
{
	int k, j;

	for (k = 0; k < KS_KIND_N; k++) {
		if (strcmp(out[k].kind, h->kind))
			continue;
		for (j = 0; j < out[k].n; j++)
			if (out[k].hook[j] == h)
				return;
		if (out[k].n < KS_KIND_HOOKS)
			out[k].hook[out[k].n++] = h;
		return;
	}
}

__u32 ks_pinned_actions(const char *dir)
{
	struct dirent *de;
	__u32 a = 0;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "link_", 5))
			a |= ks_prog_actions(de->d_name + 5);
	if (d)
		closedir(d);
	return a;
}

int ks_pinned_sources(const char *dir, struct ks_kind_sources out[KS_KIND_N])
{
	struct dirent *de;
	DIR *d;
	int k;

	memset(out, 0, sizeof(*out) * KS_KIND_N);
	for (k = 0; k < KS_KIND_N; k++)
		out[k].kind = ks_kinds[k];
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const struct ks_hook_info *h;

		if (strncmp(de->d_name, "link_", 5))
			continue;
		h = ks_hook_info(de->d_name + 5);
		if (h)
			ks_kind_add(out, h);
	}
	closedir(d);
	return 0;
}
