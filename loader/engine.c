// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Engine: check the environment, open the skeleton, pick the enforcement
 * mode, load, attach, install rule tables generation by generation
 * (install, roll back, publish, adopt from pins, detach: the generation
 * switch's ordering reads in one place). Its parts: engine_hooks.c (which
 * programs, what each hook is), engine_load.c (loading only the programs
 * the rules need, in parallel), engine_swap.c (a generation's tables map
 * and the switch to it), engine_pin.c (the pin directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
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
 * Whether BPF LSM programs run here does not change while kload runs: it
 * is probed once, on a thread of its own while the rules compile when
 * `kload attach` starts it early (ks_engine_probe_lsm()), else by the
 * first ks_engine_open() that needs it; a second caller waits for the
 * first's answer.
 */
static pthread_once_t ks_lsm_once = PTHREAD_ONCE_INIT;
static bool ks_lsm_ok;
static char ks_lsm_no[sizeof(((struct ks_engine *)0)->lsm_why)];

static void ks_lsm_probe(void)
{
	/* the heap for ks_lsm_loads()'s BTF parse (ks_open_maps() has none) */
	ks_heap_prime(KS_HEAP_ONE_PARSE);
	ks_lsm_ok = ks_lsm_listed(ks_lsm_no, sizeof(ks_lsm_no)) &&
		    ks_lsm_loads(ks_lsm_no, sizeof(ks_lsm_no));
}

void ks_engine_probe_lsm(void)
{
	pthread_once(&ks_lsm_once, ks_lsm_probe);
}

static bool ks_lsm_usable(char *why, size_t len)
{
	ks_engine_probe_lsm();
	if (!ks_lsm_ok)
		snprintf(why, len, "%s", ks_lsm_no);
	return ks_lsm_ok;
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
	skel->rodata->ks_cfg.time_shift = __builtin_ctz(o->time_every ?: KS_TIME_EVERY_DEFAULT);
	return 0;
}

/*
 * An empty BTF in a memfd, as a target for CO-RE: the maps' object loads
 * no program (but replay's), so it has nothing to relocate, yet libbpf
 * parses the kernel's BTF (5.5 MB on 6.18) for every object with CO-RE
 * relocations unless it is given a target of its own. -errno when there
 * is none: the object then parses the kernel's as before.
 */
static int ks_empty_btf(char *path, size_t len)
{
	struct btf *btf = btf__new_empty();
	const void *raw;
	__u32 sz = 0;
	int fd;

	if (!btf)
		return -errno;
	raw = btf__raw_data(btf, &sz);
	fd = raw ? memfd_create("ks_empty_btf", MFD_CLOEXEC) : -1;
	if (fd >= 0 && write(fd, raw, sz) != (ssize_t)sz) {
		close(fd);
		fd = -1;
	}
	btf__free(btf);
	if (fd < 0)
		return -EIO;
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* The skeleton, with the empty BTF in *btf_fd (closed after the load) unless replay. */
static struct kestrel_bpf *ks_open_skel(const struct ks_engine_opts *o, int *btf_fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	char path[64];

	*btf_fd = o->replay ? -1 : ks_empty_btf(path, sizeof(path));
	if (*btf_fd >= 0 && !access(path, R_OK))
		oo.btf_custom_path = path;	/* copied; read at the load */
	return kestrel_bpf__open_opts(&oo);
}

/* e takes the loaded maps' object */
static void ks_engine_take(struct ks_engine *e, struct kestrel_bpf *skel,
			   enum ks_enforce_mode mode, const struct ks_engine_opts *o)
{
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
}

/* The maps' object for mode (and replay's programs): no host program yet. */
static int ks_open_maps(struct ks_engine *e, const struct ks_engine_opts *o,
			enum ks_enforce_mode mode)
{
	struct kestrel_bpf *skel;
	int ncpu = libbpf_num_possible_cpus();
	int err, tmpl, btf_fd;
	char why[96];

	e->dfa_bytes = o->dfa_bytes ?: KS_DFA_MAX_CLASS;
	e->tables_flags = BPF_F_MMAPABLE;	/* filled in place (engine_swap.c) */
	if (ks_dfa_size_check(e->dfa_bytes, why, sizeof(why))) {
		pr_warn("kload: DFA size class %u %s\n", e->dfa_bytes, why);
		return -EINVAL;
	}
	skel = ks_open_skel(o, &btf_fd);
	if (!skel) {
		err = -errno;
		goto out;
	}
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
		err = tmpl;
		goto out;
	}
	ks_select_progs(skel, mode, o);

	err = kestrel_bpf__load(skel);
	close(tmpl);
	if (err)
		kestrel_bpf__destroy(skel);
	else
		ks_engine_take(e, skel, mode, o);
out:
	if (btf_fd >= 0)
		close(btf_fd);
	return err;
}

void ks_engine_init(struct ks_engine *e)
{
	memset(e, 0, sizeof(*e));
	e->tables_fd = e->prev_tables_fd = e->gen_fd = e->events_fd = e->stats_fd = -1;
	e->ctl_fd = e->rule_stats_fd = e->entity_fd = e->rules_fd = e->lost_fd = e->outputs_fd = -1;
	e->staged_fd = e->spare_fd = e->fdr_gen_fd = -1;
	memset(e->fdr_fd, -1, sizeof(e->fdr_fd));
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
	if (ks_lsm_usable(e->lsm_why, sizeof(e->lsm_why)))
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
	if (o.replay) {
		ks_heap_release();
		return 0;	/* its programs are in the maps' object */
	}
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
		ks_heap_release();
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

static uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int ks_engine_install(struct ks_engine *e, struct ks_tables *t)
{
	size_t used = KS_TABLES_USED(t), size = KS_TABLES_VALUE_SIZE(e->dfa_bytes);
	bool staged;
	int fd, err;

	if (t->dfa_hdr.tab_bytes > e->dfa_bytes || used > size)
		return -E2BIG;
	/*
	 * No BTF value type (it would have to describe the whole struct;
	 * bpf/ks_maps.bpf.h), so the kernel finds it "equal" to the template.
	 */
	staged = (fd = ks_tables_staged_take(e, t)) >= 0;
	if (!staged)
		fd = ks_tables_map_create(e->dfa_bytes, e->tables_flags);
	if (fd < 0) {
		pr_debug("ks_engine_install: map create: %s\n", strerror(-fd));
		return fd;
	}
	/* a number never used before, even after a rollback */
	if (e->last_generation < e->generation)
		e->last_generation = e->generation;
	t->hdr.generation = e->last_generation + 1;
	/* its prefilter, if any, before the tables that name its slot */
	err = ks_fdr_install(e, t, t->hdr.generation);
	/* staged: t is the map's own pages, read in place (past used: zeros) */
	if (!err)
		err = staged ? 0 : ks_tables_fill(e, fd, t);
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
	ks_tables_retire(e, e->prev_tables_fd, &e->prev_view);
	e->prev_tables_fd = e->tables_fd;
	e->prev_view = e->cur_view;
	e->prev_generation = e->generation;
	e->tables_fd = fd;
	e->cur_view = staged ? ks_tables_staged_done(e) : (struct ks_tables_view){};
	e->generation = e->last_generation = t->hdr.generation;
	e->switched_ns = now_realtime_ns();
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
	/*
	 * The update waited: no program reads the generation left. It is
	 * the spare, so the tables a caller still holds stay mapped.
	 */
	ks_tables_spare_drop(e);
	ks_tables_retire(e, e->tables_fd, &e->cur_view);
	e->tables_fd = e->prev_tables_fd;
	e->cur_view = e->prev_view;
	e->prev_view = (struct ks_tables_view){};
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

/* ks_rules: index -> id, so stats and bpftool can name rules. */
static void rule_name(struct ks_rule_name *nm, const struct ks_ruleset *rs,
		      const struct ks_tables *t, __u32 i)
{
	memset(nm, 0, sizeof(*nm));
	nm->uid = t->rules[i].uid;
	nm->action = t->rules[i].action;
	nm->severity = t->rules[i].severity;
	nm->exact = !!(t->rules[i].flags & KS_R_EXACT);
	snprintf(nm->id, sizeof(nm->id), "%s", rs->rules[i].id);
}

/*
 * The rules' names, in one BPF_MAP_UPDATE_BATCH: one update per rule
 * was a thousand syscalls between the switch and a reload's answer
 * (bench/profile/reload-kbin-handover.txt). Element by element where
 * the kernel has no batch for the map, or no memory for the batch.
 */
static void publish_rules(int rules_fd, const struct ks_ruleset *rs, const struct ks_tables *t)
{
	__u32 n = t->hdr.n_rules, i, count;
	struct ks_rule_name *nm, one;
	__u32 *keys;

	if (n > rs->n_rules)
		n = rs->n_rules;
	if (n > KS_MAX_RULES)
		n = KS_MAX_RULES;
	nm = calloc(n ?: 1, sizeof(*nm));
	keys = calloc(n ?: 1, sizeof(*keys));
	for (i = 0; nm && keys && i < n; i++) {
		keys[i] = i;
		rule_name(&nm[i], rs, t, i);
	}
	count = n;
	if (!nm || !keys || bpf_map_update_batch(rules_fd, keys, nm, &count, NULL))
		for (i = 0; i < n; i++) {
			rule_name(&one, rs, t, i);
			bpf_map_update_elem(rules_fd, &i, &one, 0);
		}
	free(nm);
	free(keys);
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
		/* the swap itself: a .kbin reload's rules follow it (ks_session_follow) */
		ctl.reloads++;
		ctl.last_reload_ns = e->switched_ns ?: now_realtime_ns();
	}
	ks_ctl_write(e->ctl_fd, &ctl);
	if (pin_dir && !ks_pin_path(path, sizeof(path), pin_dir, "ks_tables")) {
		unlink(path);
		if (bpf_obj_pin(e->tables_fd, path))
			pr_warn("kload: cannot pin %s: %s\n", path, strerror(errno));
	}
	/*
	 * Both sides run this generation: the one before is no longer a
	 * rollback target. Its tables map (one struct ks_tables cut at the
	 * size class, the largest map kload has) is the spare the next
	 * reload writes into once no running program holds it (engine_swap.c:
	 * a new map's pages cost most of a reload), else freed then.
	 */
	ks_tables_retire(e, e->prev_tables_fd, &e->prev_view);
	e->prev_tables_fd = -1;
}

void ks_engine_destroy(struct ks_engine *e)
{
	int i;

	ks_tables_unstage(e);
	ks_gen_settle(e);
	ks_tables_views_drop(e);
	ks_fdr_drop(e);
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

int ks_time_every_check(unsigned long long n, char *why, size_t len)
{
	if (!n || n > KS_TIME_EVERY_MAX || (n & (n - 1))) {
		snprintf(why, len, "must be a power of two, 1..%u (the kernel masks a count with it)",
			 KS_TIME_EVERY_MAX);
		return -1;
	}
	return 0;
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
