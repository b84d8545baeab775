// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Engine: open the skeleton, pick the enforcement mode, load, attach,
 * install rule tables generation by generation, pin.
 *
 * About 970 lines: what loads programs is in engine_load.c already; what
 * stays here shares struct ks_engine's map fds and the generation switch
 * (install, roll back, publish, adopt from pins, detach), whose ordering
 * is easier to check read in one place than across files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kestrel/container.h"
#include "kestrel/engine.h"
#include "kestrel/log.h"
#include "kestrel.skel.h"
#include "engine_int.h"

static int is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

/* Mount bpffs, tracefs and securityfs where they belong but are missing. */
static void ks_mount_fs(void)
{
	if (!is_fs("/sys/fs/bpf", BPF_FS_MAGIC))
		mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL);
	if (!is_fs("/sys/kernel/tracing", TRACEFS_MAGIC))
		mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	if (!is_fs("/sys/kernel/security", SECURITYFS_MAGIC))
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
}

int ks_env_check(char *why, size_t len)
{
	if (geteuid() != 0) {
		snprintf(why, len, "kload needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN): run it with sudo");
		return -EPERM;
	}
	ks_mount_fs();
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(why, len, "this kernel has no BTF (/sys/kernel/btf/vmlinux): "
			 "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Linux 6.1 or newer)");
		return -ENOTSUP;
	}
	if (!is_fs("/sys/fs/bpf", BPF_FS_MAGIC)) {
		snprintf(why, len, "bpffs is not mounted and could not be: "
			 "run 'mount -t bpf bpf /sys/fs/bpf'");
		return -ENOENT;
	}
	return 0;
}

/* BPF LSM runs only when "bpf" is in the active LSM list (lsm= boot option). */
static bool ks_lsm_listed(char *why, size_t len)
{
	char buf[512] = "";
	FILE *f = fopen("/sys/kernel/security/lsm", "r");

	if (!f) {
		snprintf(why, len, "cannot read /sys/kernel/security/lsm");
		return false;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (!strstr(buf, "bpf")) {
		snprintf(why, len, "\"bpf\" is not in the active LSMs (boot with lsm=...,bpf)");
		return false;
	}
	return true;
}

/*
 * Can BPF LSM programs load at all? "bpf" in the LSM list is not enough
 * (lockdown, for one, refuses them with EPERM), and finding out by
 * loading kload's LSM programs costs their maps and a verification: a
 * two-instruction program on the exec hook answers in milliseconds.
 */
static bool ks_lsm_loads(char *why, size_t len)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_LSM_MAC);
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id = -ENOENT, fd;

	if (vmlinux)
		id = btf__find_by_name_kind(vmlinux, "bpf_lsm_bprm_check_security",
					    BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id < 0) {
		snprintf(why, len, "the kernel has no BPF LSM hook bprm_check_security");
		return false;
	}
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_LSM, "ks_lsm_probe", "GPL", insns, 2, &opts);
	if (fd < 0) {
		snprintf(why, len, "BPF LSM programs cannot load here: %s", strerror(errno));
		return false;
	}
	close(fd);
	return true;
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
static bool ks_prog_optional(const char *name)
{
	return !strncmp(name, "ks_ksig_", 8) || !strncmp(name, "ks_kall_", 8) ||
	       !strncmp(name, "ks_tsig_", 8) || !strncmp(name, "ks_tall_", 8) ||
	       !strcmp(name, "ks_all_dns");
}

/*
 * What each host hook sees and what block/kill do there; matched by
 * program name prefix, first match wins. The README's "Event sources"
 * table and docs/kload.8 say the same in more words.
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

/*
 * The maps' object: replay's programs (never attached: one object is
 * enough), otherwise none; the host and XDP programs load in objects of
 * their own (ks_load_progs()).
 */
static void ks_select_progs(struct kestrel_bpf *skel, enum ks_enforce_mode mode,
			    const struct ks_engine_opts *o)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, o->replay &&
					  ks_prog_wanted(bpf_program__name(p), mode, o));
}

/* The actions whose programs an engine with options o loads first. */
static __u32 ks_first_actions(const struct ks_engine_opts *o)
{
	__u32 a = o->need & KS_NEED_SET ? o->need & ~KS_NEED_SET : ~KS_NEED_SET;

	if (o->no_host)
		a = 0;
	return o->xdp ? a | 1u << KS_ACT_PACKET : a & ~(1u << KS_ACT_PACKET);
}

/*
 * ks_gen's inner map template: a tables map of the size class, handed to
 * libbpf (the kernel copies what it needs at ks_gen's creation; the caller
 * closes it after load, so its value is never kept).
 */
static int ks_tables_template(struct ks_engine *e, struct kestrel_bpf *skel)
{
	int fd = ks_tables_map_create(e->dfa_bytes, e->tables_flags);

	if (fd < 0)
		return fd;
	if (bpf_map__set_inner_map_fd(skel->maps.ks_gen, fd)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* The random hash key and the rodata configuration of the maps' object. */
static int ks_open_config(struct ks_engine *e, struct kestrel_bpf *skel,
			  const struct ks_engine_opts *o, enum ks_enforce_mode mode)
{
	/* a key nobody can predict, or no load: a known key lets anyone collide */
	if (getrandom(e->hash_key, sizeof(e->hash_key), 0) != sizeof(e->hash_key)) {
		int err = -errno;

		pr_warn("kload: no random bytes for the join-key hash: %s\n", strerror(-err));
		return err;
	}
	skel->rodata->ks_cfg.enforce_mode = mode;
	skel->rodata->ks_cfg.payload_depth = o->payload_depth ?: KS_PAYLOAD_DEFAULT;
	memcpy(skel->rodata->ks_cfg.hash_key, e->hash_key, sizeof(e->hash_key));
	skel->rodata->ks_cfg.self_tgid = o->judge_self ? 0 : getpid();
	skel->rodata->ks_cfg.rb_wakeup_bytes = (o->ringbuf_bytes ?: KS_RINGBUF_DEFAULT) / 16;
	skel->rodata->ks_cfg.dfa_mask = e->dfa_bytes - 4;
	return 0;
}

/* The maps' object for mode (and replay's programs): no host program yet. */
static int ks_open_maps(struct ks_engine *e, const struct ks_engine_opts *o,
			enum ks_enforce_mode mode)
{
	struct kestrel_bpf *skel;
	int ncpu = libbpf_num_possible_cpus();
	int err, tmpl;
	char why[96];

	e->dfa_bytes = o->dfa_bytes ?: KS_DFA_MAX_CLASS;
	e->tables_flags = BPF_F_MMAPABLE;	/* filled in place (engine_swap.c) */
	if (ks_dfa_size_check(e->dfa_bytes, why, sizeof(why))) {
		pr_warn("kload: DFA size class %u %s\n", e->dfa_bytes, why);
		return -EINVAL;
	}
	skel = kestrel_bpf__open();
	if (!skel)
		return -errno;
	if (ncpu <= 0)
		ncpu = KS_MAX_CPUS;
	bpf_map__set_max_entries(skel->maps.ks_scratch, ncpu * 2);
	if (o->ringbuf_bytes)
		bpf_map__set_max_entries(skel->maps.ks_events, o->ringbuf_bytes);
	if (o->entities)
		bpf_map__set_max_entries(skel->maps.ks_entity, o->entities);
	err = ks_open_config(e, skel, o, mode) ?: ks_btf_size_tables(skel->obj, e->dfa_bytes);
	tmpl = err ? err : ks_tables_template(e, skel);
	if (tmpl < 0) {
		kestrel_bpf__destroy(skel);
		return tmpl;
	}
	ks_select_progs(skel, mode, o);

	err = kestrel_bpf__load(skel);
	close(tmpl);
	if (err) {
		kestrel_bpf__destroy(skel);
		return err;
	}
	e->skel = skel;
	e->mode = mode;
	e->opts = *o;
	e->gen_fd = bpf_map__fd(skel->maps.ks_gen);
	e->events_fd = bpf_map__fd(skel->maps.ks_events);
	e->stats_fd = bpf_map__fd(skel->maps.ks_stats);
	e->ctl_fd = bpf_map__fd(skel->maps.ks_ctl);
	e->rule_stats_fd = bpf_map__fd(skel->maps.ks_rule_stats);
	e->entity_fd = bpf_map__fd(skel->maps.ks_entity);
	e->rules_fd = bpf_map__fd(skel->maps.ks_rules);
	e->lost_fd = bpf_map__fd(skel->maps.ks_lost);
	e->outputs_fd = bpf_map__fd(skel->maps.ks_outputs);
	return 0;
}

void ks_engine_init(struct ks_engine *e)
{
	memset(e, 0, sizeof(*e));
	e->tables_fd = e->prev_tables_fd = e->gen_fd = e->events_fd = e->stats_fd = -1;
	e->ctl_fd = e->rule_stats_fd = e->entity_fd = e->rules_fd = e->lost_fd = e->outputs_fd = -1;
}

/*
 * The size class of a pinned generation: its map's value size, else what
 * ks_ctl recorded (maps/ks_tables.h).
 */
static __u32 ks_tables_class(int tables_fd, const struct ks_ctl *ctl, __u32 *flags)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	__u64 v = ctl->tables_bytes;

	/* the flags ks_gen's template was given: a new inner map must match */
	*flags = BPF_F_MMAPABLE;
	if (tables_fd >= 0 && !bpf_obj_get_info_by_fd(tables_fd, &info, &len)) {
		v = info.value_size;
		*flags = info.map_flags & BPF_F_MMAPABLE;
	}
	return v > KS_TABLES_VALUE_SIZE(0) ? (__u32)(v - KS_TABLES_VALUE_SIZE(0)) : 0;
}

int ks_engine_adopt(struct ks_engine *e, const char *dir)
{
	static const char *const names[] = {
		"ks_gen", "ks_events", "ks_stats", "ks_ctl", "ks_rule_stats", "ks_entity",
		"ks_rules", "ks_lost", "ks_outputs",
	};
	int *fds[] = { &e->gen_fd, &e->events_fd, &e->stats_fd, &e->ctl_fd,
		       &e->rule_stats_fd, &e->entity_fd, &e->rules_fd, &e->lost_fd,
		       &e->outputs_fd };
	struct ks_ctl ctl = {};
	char path[KS_PIN_PATH_MAX];
	size_t i;

	ks_engine_init(e);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (ks_pin_path(path, sizeof(path), dir, names[i]))
			return -ENAMETOOLONG;
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0) {
			int err = errno == ENOENT ? -ENOENT : -errno;

			ks_engine_destroy(e);
			return err;
		}
	}
	if (!ks_ctl_read(e->ctl_fd, &ctl)) {
		e->mode = ctl.enforce_mode;
		e->generation = ctl.generation;
	}
	if (!ks_pin_path(path, sizeof(path), dir, "ks_tables"))
		e->tables_fd = bpf_obj_get(path);	/* template for the next generation */
	e->dfa_bytes = ks_tables_class(e->tables_fd, &ctl, &e->tables_flags);
	/* what runs: programs added for later rules share the pinned maps */
	snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", dir);
	e->attached = true;
	e->opts.mode = e->mode;
	e->opts.no_host = !(ctl.host_hooks & KS_HOOKS_ON);
	e->loaded = ks_pinned_actions(dir) | (ctl.host_hooks & ~KS_HOOKS_ON);
	return 0;
}

int ks_engine_open(struct ks_engine *e, const struct ks_engine_opts *o)
{
	ks_engine_init(e);
	ks_mount_fs();

	/* replay loads no hook: its mode only says which outcome to simulate */
	if (o->replay)
		return ks_open_maps(e, o, o->mode >= 0 ? o->mode : KS_MODE_SIGNAL);
	if (o->mode == KS_MODE_SIGNAL || o->mode == KS_MODE_OBSERVE)
		return ks_open_maps(e, o, o->mode);
	if (ks_lsm_listed(e->lsm_why, sizeof(e->lsm_why)) &&
	    ks_lsm_loads(e->lsm_why, sizeof(e->lsm_why)))
		return ks_open_maps(e, o, KS_MODE_LSM);
	if (o->mode == KS_MODE_LSM) {
		pr_warn("lsm mode requested but %s\n", e->lsm_why);
		return -EOPNOTSUPP;
	}
	pr_info("enforcement: signal mode (%s)\n", e->lsm_why);
	return ks_open_maps(e, o, KS_MODE_SIGNAL);
}

/* Everything undone, but the reason lsm mode was not used. */
static void ks_engine_reset(struct ks_engine *e)
{
	char why[sizeof(e->lsm_why)];

	memcpy(why, e->lsm_why, sizeof(why));
	ks_engine_destroy(e);
	memcpy(e->lsm_why, why, sizeof(why));
}

static int ks_load_first(struct ks_engine *e, bool quiet)
{
	__u32 actions = ks_first_actions(&e->opts);
	int err;

	ks_log_libbpf_quiet(quiet);
	err = ks_load_progs(e, actions);
	ks_log_libbpf_quiet(0);
	/* asked for, and what the loaded programs serve (ks_load_progs()) */
	if (!err)
		e->loaded |= actions;
	return err;
}

int ks_engine_load_progs(struct ks_engine *e, __u32 need)
{
	struct ks_engine_opts o = e->opts;
	bool probe = o.mode == KS_MODE_PROBE, lsm = e->mode == KS_MODE_LSM;
	int err;

	o.need = e->opts.need = need;
	if (o.replay)
		return 0;	/* its programs are in the maps' object */
	err = ks_load_first(e, lsm && probe);
	if (!err)
		return 0;
	ks_engine_reset(e);
	if (!lsm)
		return err;
	snprintf(e->lsm_why, sizeof(e->lsm_why), "BPF LSM program failed to load: %s",
		 strerror(-err));
	if (!probe) {
		pr_warn("lsm mode requested but %s\n", e->lsm_why);
		return err;
	}
	pr_info("enforcement: signal mode (%s)\n", e->lsm_why);
	err = ks_open_maps(e, &o, KS_MODE_SIGNAL);
	err = err ?: ks_load_first(e, false);
	if (err)
		ks_engine_reset(e);
	return err;
}

int ks_engine_load(struct ks_engine *e, const struct ks_engine_opts *o)
{
	int err = ks_engine_open(e, o);

	if (err) {
		ks_engine_reset(e);
		return err;
	}
	return ks_engine_load_progs(e, o->need);
}

/*
 * The DNS program watches the sockets of every process: it attaches to
 * the root of the cgroup v2 hierarchy (a link, so it is pinned and
 * adopted as the others are, and adds to what others attached there).
 */
static struct bpf_link *ks_attach_cgroup(struct bpf_program *p)
{
	const char *root = ks_cgroup2_root();
	struct bpf_link *l;
	int fd, err;

	if (!root) {
		pr_warn("kload: %s: cgroup v2 is not mounted (/sys/fs/cgroup)\n",
			bpf_program__name(p));
		errno = ENOENT;
		return NULL;
	}
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	l = bpf_program__attach_cgroup(p, fd);
	err = errno;
	close(fd);
	if (!l && err == EPERM)	/* the shipped unit grants CAP_BPF and CAP_PERFMON only */
		pr_warn("kload: %s: attaching to a cgroup needs CAP_NET_ADMIN\n",
			bpf_program__name(p));
	errno = err;
	return l;
}

/* Attach p, once per syscall for a syscall tracepoint program. */
static int ks_attach_prog(struct ks_engine *e, struct bpf_program *p)
{
	const char *name = bpf_program__name(p);
	const char *const *sys = ks_sys_tp_names(name);
	char tp[64];
	int i;

	for (i = 0; !sys || (i < KS_SYS_TP_MAX && sys[i]); i++) {
		struct bpf_link *l;

		if (e->n_links >= KS_ENGINE_MAX_LINKS)
			return -E2BIG;
		if (sys)
			snprintf(tp, sizeof(tp), "sys_%s_%s",
				 ks_sys_tp_enter(name) ? "enter" : "exit", sys[i]);
		if (sys)
			l = bpf_program__attach_tracepoint(p, "syscalls", tp);
		else if (bpf_program__type(p) == BPF_PROG_TYPE_CGROUP_SKB)
			l = ks_attach_cgroup(p);
		else
			l = bpf_program__attach(p);
		if (!l && ks_prog_optional(name)) {
			pr_warn("kload: %s%s%s not attached (%s): %s\n", name, sys ? " to " : "",
				sys ? tp : "", strerror(errno),
				strcmp(name, "ks_all_dns") ? "its events are not reported" :
				"no event has destination.domain");
		} else if (!l) {
			int err = -errno;

			pr_warn("cannot attach %s: %s\n", name, strerror(-err));
			return err;
		} else {
			snprintf(e->link_name[e->n_links], sizeof(e->link_name[0]), "link_%s%s%s",
				 name, sys ? "_" : "", sys ? sys[i] : "");
			e->link_prog[e->n_links] = p;
			e->links[e->n_links++] = l;
		}
		if (!sys)
			break;
	}
	return 0;
}

int ks_attach_from(struct ks_engine *e, int from)
{
	struct bpf_program *p;
	int i, err;

	for (i = from; i < e->n_objs; i++) {
		bpf_object__for_each_program(p, e->objs[i]->obj) {
			/* XDP programs attach per interface (loader/xdp.c) */
			if (!bpf_program__autoload(p) ||
			    !strncmp(bpf_program__name(p), "ks_xdp_", 7))
				continue;
			err = ks_attach_prog(e, p);
			if (err)
				return err;
		}
	}
	return 0;
}

int ks_engine_attach(struct ks_engine *e)
{
	e->attached = true;
	return ks_attach_from(e, 0);
}

struct bpf_program *ks_obj_prog(struct kestrel_bpf *s, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(s->obj, name);

	return p && bpf_program__autoload(p) && bpf_program__fd(p) >= 0 ? p : NULL;
}

struct bpf_program *ks_engine_prog(const struct ks_engine *e, const char *name)
{
	struct bpf_program *p = e->skel ? ks_obj_prog(e->skel, name) : NULL;
	int i;

	for (i = 0; !p && i < e->n_objs; i++)
		p = ks_obj_prog(e->objs[i], name);
	return p;
}

void ks_dfa_size_refused(const struct ks_engine *e, const struct ks_tables *t, char *why,
			 size_t len)
{
	snprintf(why, len, "the rules' DFA needs %u bytes, the programs were loaded for %u "
		 "(`kload detach`, then `kload attach --dfa-size %u`)", t->dfa_hdr.tab_bytes,
		 e->dfa_bytes, t->dfa_hdr.tab_bytes);
}

int ks_engine_install(struct ks_engine *e, struct ks_tables *t)
{
	size_t used = KS_TABLES_USED(t), size = KS_TABLES_VALUE_SIZE(e->dfa_bytes);
	int fd, err;

	if (t->dfa_hdr.tab_bytes > e->dfa_bytes || used > size)
		return -E2BIG;
	/*
	 * No BTF value type (it would have to describe the whole struct;
	 * bpf/ks_maps.bpf.h), so the kernel finds it "equal" to the template.
	 */
	fd = ks_tables_map_create(e->dfa_bytes, e->tables_flags);
	if (fd < 0) {
		pr_debug("ks_engine_install: map create: %s\n", strerror(-fd));
		return fd;
	}
	/* a number never used before, even after a rollback */
	if (e->last_generation < e->generation)
		e->last_generation = e->generation;
	t->hdr.generation = e->last_generation + 1;
	err = ks_tables_fill(e, fd, t);
	if (err) {
		pr_debug("ks_engine_install: filling the tables: %s\n", strerror(-err));
		goto fail;
	}
	/* the switch: one pointer store in the outer map */
	err = ks_gen_switch(e, fd);
	if (err) {
		pr_debug("ks_engine_install: switching ks_gen: %s\n", strerror(-err));
		goto fail;
	}
	/* the switch before this one has settled: nothing reads that map */
	if (e->prev_tables_fd >= 0)
		close(e->prev_tables_fd);
	e->prev_tables_fd = e->tables_fd;
	e->prev_generation = e->generation;
	e->tables_fd = fd;
	e->generation = e->last_generation = t->hdr.generation;
	return 0;
fail:
	close(fd);
	return err;
}

int ks_engine_rollback(struct ks_engine *e)
{
	__u32 zero = 0;

	if (e->prev_tables_fd < 0)
		return -ENOENT;
	ks_gen_settle(e);
	if (bpf_map_update_elem(e->gen_fd, &zero, &e->prev_tables_fd, 0))
		return -errno;
	close(e->tables_fd);
	e->tables_fd = e->prev_tables_fd;
	e->prev_tables_fd = -1;
	e->generation = e->prev_generation;
	return 0;
}

int ks_ctl_read(int fd, struct ks_ctl *c)
{
	__u32 zero = 0;

	memset(c, 0, sizeof(*c));
	return bpf_map_lookup_elem(fd, &zero, c) ? -errno : 0;
}

int ks_ctl_write(int fd, const struct ks_ctl *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(fd, &zero, c, 0) ? -errno : 0;
}

static uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ks_rules: index -> id, so stats and bpftool can name rules. */
static void publish_rules(int rules_fd, const struct ks_ruleset *rs, const struct ks_tables *t)
{
	__u32 i;

	for (i = 0; i < t->hdr.n_rules && i < rs->n_rules && i < KS_MAX_RULES; i++) {
		struct ks_rule_name nm = {};

		nm.uid = t->rules[i].uid;
		nm.action = t->rules[i].action;
		nm.severity = t->rules[i].severity;
		nm.exact = !!(t->rules[i].flags & KS_R_EXACT);
		snprintf(nm.id, sizeof(nm.id), "%s", rs->rules[i].id);
		bpf_map_update_elem(rules_fd, &i, &nm, 0);
	}
}

void ks_engine_publish(struct ks_engine *e, const char *pin_dir,
		       const struct ks_ruleset *rs, const struct ks_tables *t, bool reload)
{
	char path[KS_PIN_PATH_MAX];
	struct ks_ctl ctl;

	ks_ctl_read(e->ctl_fd, &ctl);
	publish_rules(e->rules_fd, rs, t);
	ctl.generation = e->generation;
	ctl.n_rules = t->hdr.n_rules;
	ctl.tables_bytes = KS_TABLES_VALUE_SIZE(e->dfa_bytes);
	if (reload) {
		ctl.reloads++;
		ctl.last_reload_ns = now_realtime_ns();
	}
	ks_ctl_write(e->ctl_fd, &ctl);
	if (pin_dir && !ks_pin_path(path, sizeof(path), pin_dir, "ks_tables")) {
		unlink(path);
		if (bpf_obj_pin(e->tables_fd, path))
			pr_warn("kload: cannot pin %s: %s\n", path, strerror(errno));
	}
	/*
	 * Both sides run this generation: the one before is no longer a
	 * rollback target, and its tables map (one struct ks_tables cut at
	 * the size class, the largest map kload has) is freed once no running program holds it,
	 * not kept until the next reload.
	 */
	ks_gen_retire(e, e->prev_tables_fd);
	e->prev_tables_fd = -1;
}

void ks_engine_destroy(struct ks_engine *e)
{
	int i;

	ks_gen_settle(e);
	for (i = 0; i < e->n_links; i++)
		bpf_link__destroy(e->links[i]);
	e->n_links = 0;
	for (i = 0; i < e->n_objs; i++)
		kestrel_bpf__destroy(e->objs[i]);
	e->n_objs = 0;
	if (e->tables_fd >= 0)
		close(e->tables_fd);
	if (e->prev_tables_fd >= 0)
		close(e->prev_tables_fd);
	if (!e->skel) {
		/* adopted: the fds are ours, not the skeleton's */
		int *fds[] = { &e->gen_fd, &e->events_fd, &e->stats_fd, &e->ctl_fd,
			       &e->rule_stats_fd, &e->entity_fd, &e->rules_fd, &e->lost_fd,
			       &e->outputs_fd };

		for (i = 0; i < (int)(sizeof(fds) / sizeof(fds[0])); i++)
			if (*fds[i] >= 0)
				close(*fds[i]);
	}
	kestrel_bpf__destroy(e->skel);
	ks_engine_init(e);
}

const char *const ks_pin_maps[KS_PIN_MAPS_N] = {
	"ks_gen", "ks_tables", "ks_stats", "ks_rule_stats", "ks_entity", "ks_events",
	"ks_ctl", "ks_rules", "ks_scratch", "ks_lost", "ks_outputs", "ks_rodata",
	"ks_credsave",
};

int ks_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int ks_pin_fd(int fd, const char *dir, const char *name)
{
	char path[KS_PIN_PATH_MAX];

	if (ks_pin_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	unlink(path);
	if (bpf_obj_pin(fd, path))
		return -errno;
	return 0;
}

int ks_pin_links_from(struct ks_engine *e, int from)
{
	int i, err;

	for (i = from; i < e->n_links; i++) {
		err = ks_pin_fd(bpf_link__fd(e->links[i]), e->pin_dir, e->link_name[i]);
		if (err)
			return err;
	}
	return 0;
}

int ks_engine_pin(struct ks_engine *e, const char *dir)
{
	size_t i;
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	for (i = 0; i < KS_PIN_MAPS_N; i++) {
		struct bpf_map *m;

		if (!strcmp(ks_pin_maps[i], "ks_tables"))
			continue;	/* the current generation, pinned below */
		if (!strcmp(ks_pin_maps[i], "ks_rodata"))
			m = e->skel->maps.rodata;
		else
			m = bpf_object__find_map_by_name(e->skel->obj, ks_pin_maps[i]);
		if (!m)
			return -ENOENT;
		err = ks_pin_fd(bpf_map__fd(m), dir, ks_pin_maps[i]);
		if (err)
			return err;
	}
	if (e->tables_fd >= 0) {
		err = ks_pin_fd(e->tables_fd, dir, "ks_tables");
		if (err)
			return err;
	}
	if (snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", dir) >= (int)sizeof(e->pin_dir))
		return -ENAMETOOLONG;
	return ks_pin_links_from(e, 0);
}

/* Is name one of the objects kload pins? */
static bool ks_pin_ours(const char *name)
{
	size_t i;

	for (i = 0; i < KS_PIN_MAPS_N; i++)
		if (!strcmp(name, ks_pin_maps[i]))
			return true;
	if (!strncmp(name, "link_ks_", 8))
		return true;
	if (strncmp(name, "xdp_if", 6) || !name[6])
		return false;
	return strspn(name + 6, "0123456789") == strlen(name + 6);
}

int ks_pins_remove(const char *dir)
{
	char path[KS_PIN_PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!ks_pin_ours(de->d_name) ||
		    ks_pin_path(path, sizeof(path), dir, de->d_name))
			continue;
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	if (rmdir(dir) && errno == ENOTEMPTY)
		pr_warn("kload: %s holds objects that are not Kestrel's: left in place\n", dir);
	return n;
}

int ks_pin_dir_check(const char *dir, char *why, size_t len)
{
	struct stat st;

	if (lstat(dir, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		snprintf(why, len, "%s is not a directory: remove it or give --pin-dir "
			 "another path", dir);
	else if (st.st_uid != 0)
		snprintf(why, len, "%s is owned by uid %u, not root: anyone who owns it can "
			 "plant maps there; remove it or `chown root %s`", dir,
			 (unsigned int)st.st_uid, dir);
	else if ((st.st_mode & 07777) != 0700)
		snprintf(why, len, "%s has mode %04o, not 0700: others could plant maps "
			 "there; `chmod 0700 %s`", dir, (unsigned int)(st.st_mode & 07777), dir);
	else
		return 0;
	return -EPERM;
}

/* Add a per-CPU map value (all __u64 fields) summed over CPUs to out. */
static int ks_percpu_add(int fd, const void *key, void *out, size_t size)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	size_t words = size / sizeof(__u64), i;
	__u64 *v, *dst = out;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc(ncpu, size);
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, v)) {
		free(v);
		return -errno;
	}
	for (c = 0; c < ncpu; c++)
		for (i = 0; i < words; i++)
			dst[i] += v[c * words + i];
	free(v);
	return 0;
}

int ks_stats_sum(int fd, struct ks_stats *out)
{
	__u32 key;
	int err;

	memset(out, 0, sizeof(*out));
	for (key = 0; key < 2; key++) {
		err = ks_percpu_add(fd, &key, out, sizeof(*out));
		if (err)
			return err;
	}
	return 0;
}

int ks_rule_stats_sum(int fd, __u32 uid, struct ks_rule_stats *out)
{
	memset(out, 0, sizeof(*out));
	return ks_percpu_add(fd, &uid, out, sizeof(*out));
}

int ks_dfa_size_check(unsigned long long bytes, char *why, size_t len)
{
	if (bytes < KS_DFA_MIN_TAB_BYTES || bytes > KS_DFA_MAX_CLASS)
		snprintf(why, len, "must be %u..%u bytes", KS_DFA_MIN_TAB_BYTES, KS_DFA_MAX_CLASS);
	else if (bytes & (bytes - 1))
		snprintf(why, len, "must be a power of two (the kernel masks offsets with it)");
	else
		return 0;
	return -1;
}

int ks_ringbuf_size_check(unsigned long long bytes, char *why, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);

	if (page <= 0)
		page = 4096;
	if (bytes < KS_RINGBUF_MIN || bytes > KS_RINGBUF_MAX)
		snprintf(why, len, "must be %u..%u bytes", KS_RINGBUF_MIN, KS_RINGBUF_MAX);
	else if (bytes & (bytes - 1))
		snprintf(why, len, "must be a power of two (the kernel's ring buffer is)");
	else if (bytes % page)
		snprintf(why, len, "must be a multiple of the page size (%ld bytes)", page);
	else
		return 0;
	return -1;
}

int ks_engine_events_fd(const struct ks_engine *e)
{
	return e->events_fd;
}

int ks_engine_stats_fd(const struct ks_engine *e)
{
	return e->stats_fd;
}

unsigned long long ks_boot_to_epoch_ns(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (rt.tv_sec - bt.tv_sec) * 1000000000ull + rt.tv_nsec - bt.tv_nsec;
}
