/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The engine: the loaded BPF skeleton of bpf/kestrel.bpf.c with its maps,
 * the enforcement mode picked by probing, the installed rule tables and
 * the pins under the pin directory. Used by kload and by the selftests,
 * so tests drive exactly the production objects.
 */
#ifndef KESTREL_ENGINE_H
#define KESTREL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "maps/ks_abi.h"
#include "maps/ks_event.h"
#include "maps/ks_tables.h"
#include "maps/ks_state.h"
#include "kestrel/names.h"
#include "kestrel/rules.h"

#define KS_PIN_DIR_DEFAULT	"/sys/fs/bpf/kestrel"
/* --pin-dir length: every "<dir>/<object>" then fits KS_PIN_PATH_MAX */
#define KS_PIN_DIR_MAX		256
#define KS_PIN_PATH_MAX		512
#define KS_ENGINE_MAX_LINKS	64
#define KS_ENGINE_MAX_OBJS	24	/* one per loaded host program */
/* ks_engine_opts.need: the set is given (else every host program loads) */
#define KS_NEED_SET		(1u << 31)

struct kestrel_bpf;
struct ks_gen_swap;
struct ring_buffer;
struct bpf_link;
struct bpf_program;

/*
 * A tables map's pages mapped here (engine_swap.c): the mapping outlives
 * the generation, so that a later one is written through pages already
 * mapped (bench/profile/kbin5-*.txt).
 */
struct ks_tables_view {
	struct ks_tables *m;	/* NULL: not mapped */
	size_t len;		/* of the mapping: at least sizeof(struct ks_tables) */
	size_t dirty;		/* bytes from m on that may not be zeros */
};

struct ks_engine_opts {
	int mode;		/* enum ks_enforce_mode, or KS_MODE_PROBE */
	bool replay;		/* load only the replay program */
	bool xdp;		/* load the ks_xdp_* programs too */
	bool no_host;		/* --no-host: no host hooks */
	__u32 payload_depth;	/* 0 = KS_PAYLOAD_DEFAULT */
	__u32 time_every;	/* events per timed one, a power of two; 0 = KS_TIME_EVERY_DEFAULT */
	__u32 ringbuf_bytes;	/* 0 = KS_RINGBUF_DEFAULT; see ks_ringbuf_size_check() */
	__u32 entities;		/* ks_entity LRU size, 0 = 65536 */
	/*
	 * DFA size class of the tables maps (maps/ks_tables.h): the largest
	 * dfa_hdr.tab_bytes any generation of this load may have; a power of
	 * two, KS_DFA_MIN_TAB_BYTES..KS_DFA_MAX_CLASS. 0 = KS_DFA_MAX_CLASS.
	 */
	__u32 dfa_bytes;
	bool judge_self;	/* evaluate kload's own events too (tests) */
	bool sys_tracepoints;	/* syscall tracepoints even where kprobes work (tests) */
	/*
	 * KS_NEED_SET | the actions (1 << enum ks_action) the rules can
	 * match (ks_tables_hdr.action_mask): only their host programs load.
	 * 0: every host program (tests, record).
	 */
	__u32 need;
	bool prog_stats;	/* ask the verifier for its time per program */
};

/* What loading one program cost (`kload -v attach` prints it). */
struct ks_prog_stat {
	char name[48];
	__u32 verified_insns;	/* bpf_prog_info.verified_insns */
	__u32 verify_us;	/* the verifier's own time (prog_stats), else 0 */
	__u32 load_us;		/* open + load of its object, wall time */
};

struct ks_engine {
	struct kestrel_bpf *skel;	/* the maps; NULL when adopted from pins */
	/* one object per loaded host program, sharing skel's maps */
	struct kestrel_bpf *objs[KS_ENGINE_MAX_OBJS];
	int n_objs;
	struct ks_engine_opts opts;	/* as loaded: later loads use the same */
	__u32 loaded;		/* actions whose host programs are loaded */
	bool attached;		/* host programs attach as they load */
	char pin_dir[KS_PIN_DIR_MAX];	/* links pinned here as they attach */
	struct ks_prog_stat stat[KS_ENGINE_MAX_OBJS];
	int n_stat;
	enum ks_enforce_mode mode;
	/* map fds, from the skeleton or from the pins */
	int gen_fd, events_fd, stats_fd, ctl_fd, rule_stats_fd, entity_fd, rules_fd, lost_fd;
	int outputs_fd;		/* ks_outputs: per alert output counters */
	int tables_fd;		/* inner map of the current generation */
	int prev_tables_fd;	/* the one before, for ks_engine_rollback() */
	__u32 dfa_bytes;	/* the DFA size class loaded (opts.dfa_bytes, or the pins') */
	__u32 generation;	/* the current one */
	__u32 prev_generation;	/* of prev_tables_fd */
	__u32 last_generation;	/* the highest installed: never used twice */
	__u32 tables_flags;	/* of the inner maps: BPF_F_MMAPABLE (ks_gen's template) */
	struct ks_tables *staged;	/* a new map's pages to read tables into (ks_tables_stage) */
	size_t staged_len;	/* of that mapping */
	int staged_fd;		/* its map, until installed */
	struct ks_tables_view cur_view;		/* tables_fd's mapping, if any */
	struct ks_tables_view prev_view;	/* prev_tables_fd's */
	struct ks_tables_view spare;	/* a retired generation's, staged next */
	int spare_fd;		/* its map */
	struct ks_gen_swap *swap;	/* a switch whose RCU wait still runs (engine_swap.c) */
	/* the payload prefilter's slots of ks_fdr_gen (engine_fdr.c, maps/ks_fdr.h) */
	int fdr_gen_fd;		/* adopted engine: ks_fdr_gen opened from the pins */
	int fdr_fd[KS_FDR_SLOTS];	/* slot s's map; -1: not opened */
	struct ks_fdr_slot *fdr_map[KS_FDR_SLOTS];	/* its mapping */
	__u64 switched_ns;	/* CLOCK_REALTIME when programs got the current generation */
	struct bpf_link *links[KS_ENGINE_MAX_LINKS];
	struct bpf_program *link_prog[KS_ENGINE_MAX_LINKS];
	char link_name[KS_ENGINE_MAX_LINKS][64];	/* pin name: link_<prog>[_<syscall>] */
	int n_links;
	char lsm_why[128];	/* why lsm mode was not used */
	__u64 hash_key[2];	/* the join-key SipHash key drawn at load */
};

/*
 * Event sources: which hook serves each event kind and what `block` and
 * `kill` mean there (`kload status` reads the pinned links' names).
 */
struct ks_hook_info {
	const char *kind;	/* exec, exit, fork, file, connect, accept, cred, dns */
	const char *source;	/* lsm, tp_btf, kprobe, tracepoint */
	const char *scope;	/* what of the kind it sees ("all", "TCP", ...) */
	const char *block;	/* what block/kill do to such an event */
};

#define KS_KIND_N	8
#define KS_KIND_HOOKS	2

/* The hooks of one event kind whose links are pinned. */
struct ks_kind_sources {
	const char *kind;
	const struct ks_hook_info *hook[KS_KIND_HOOKS];
	int n;
};

/* The kind and source of a host program by name; NULL for other programs. */
const struct ks_hook_info *ks_hook_info(const char *prog);
/* The actions (1 << enum ks_action) the links pinned in dir serve. */
__u32 ks_pinned_actions(const char *dir);
/*
 * ks_ctl.host_hooks: KS_HOOKS_ON (the bit of KS_ACT_NONE, which no event
 * has) when host programs may run, with the bit of every action whose
 * host programs are loaded.
 */
#define KS_HOOKS_ON	(1u << KS_ACT_NONE)
/* Per event kind (exec, exit, fork, file, connect, accept), the pinned hooks. */
int ks_pinned_sources(const char *dir, struct ks_kind_sources out[KS_KIND_N]);

/* DFA size classes `kload attach --dfa-size` accepts (maps/ks_tables.h). */
#define KS_DFA_MAX_CLASS	(KS_DFA_CELLS * 4)

/* Ring buffer sizes `kload attach --ringbuf-size` accepts. */
#define KS_RINGBUF_DEFAULT	(4u << 20)
/* kload's fixed mmap threshold (main()); loading raises it for a while */
#define KS_MMAP_THRESHOLD	(256 * 1024)
#define KS_RINGBUF_MIN		4096u		/* one page: one event */
#define KS_RINGBUF_MAX		(1u << 30)

/* An engine with nothing loaded (every fd -1), safe to destroy. */
void ks_engine_init(struct ks_engine *e);
/* Open, probe, load. Returns 0 or -errno with a message already printed. */
int ks_engine_load(struct ks_engine *e, const struct ks_engine_opts *o);
/*
 * ks_engine_load() in two steps, so that what does not depend on the
 * rules (the mode, the maps) can be set up while they compile:
 * ks_engine_open() picks the mode and creates the maps (o->need unused),
 * ks_engine_load_progs() loads the host programs `need` asks for (falling
 * back to signal mode, maps and all, when lsm programs fail in auto mode).
 * On failure either leaves nothing loaded.
 */
int ks_engine_open(struct ks_engine *e, const struct ks_engine_opts *o);
int ks_engine_load_progs(struct ks_engine *e, __u32 need);
/*
 * Probe whether BPF LSM programs load here (once per process; the open of
 * an lsm or auto mode engine waits for the answer): callable on a thread
 * of its own before ks_engine_open().
 */
void ks_engine_probe_lsm(void);
/* Attach every loaded host program. */
int ks_engine_attach(struct ks_engine *e);
/*
 * Load (and attach and pin, when the engine is) the host programs that
 * serve `actions` and are not loaded yet: before tables that want more
 * than the current ones are installed. 0 or -errno (nothing changed).
 */
int ks_engine_need(struct ks_engine *e, __u32 actions);
/* A loaded program by name, in whichever object holds it; NULL if none. */
struct bpf_program *ks_engine_prog(const struct ks_engine *e, const char *name);
/*
 * Install `t` as the next generation: a new inner map is filled completely,
 * then the single outer slot is switched, so an event sees either all of
 * the old tables or all of the new ones. Every generation has the size
 * class of the load: tables whose DFA needs more are refused (-E2BIG,
 * nothing changed); t's cells past its DFA are zeroed up to the class.
 */
int ks_engine_install(struct ks_engine *e, struct ks_tables *t);
/*
 * The tables of a new generation, to be written in place: a new map's
 * pages (then sizeof(struct ks_tables) bytes, zeros past what the map
 * holds). ks_engine_install() of them switches to that map with no copy.
 * NULL when the maps cannot be mapped: read into a struct of your own.
 * The map is a retired generation's when there is one (its mapping kept,
 * its bytes cleared: no new map's pages to map and touch), else a new one.
 * ks_tables_unstage() after the install (then nothing to do: the mapping
 * stays with the generation), or instead of it: the mapping and the map go.
 */
struct ks_tables *ks_tables_stage(struct ks_engine *e);
void ks_tables_unstage(struct ks_engine *e);
/* Whether t is one of e's tables maps' mappings (not to be freed). */
bool ks_tables_mapped(const struct ks_engine *e, const struct ks_tables *t);
/*
 * ks_engine_install()'s -E2BIG: t's DFA is larger than the size class the
 * programs were loaded for. Says so in why (naming --dfa-size).
 */
void ks_dfa_size_refused(const struct ks_engine *e, const struct ks_tables *t, char *why,
			 size_t len);
/*
 * Switch back to the generation before the last ks_engine_install(), when
 * userspace cannot follow it: both sides then run the same generation.
 */
int ks_engine_rollback(struct ks_engine *e);
/*
 * After an install both sides took: rule names (ks_rules), ks_ctl's
 * generation fields (and when reload, the reload count and
 * last_reload_ns: the switch's time, e->switched_ns), and the ks_tables
 * pin under pin_dir (NULL: not pinned). The generation before is released
 * (no rollback past this point).
 */
void ks_engine_publish(struct ks_engine *e, const char *pin_dir,
		       const struct ks_ruleset *rs, const struct ks_tables *t, bool reload);
void ks_engine_destroy(struct ks_engine *e);

/*
 * Adopt what a previous `kload attach` left pinned in dir (its programs
 * still run): open the pinned maps instead of loading and attaching again.
 * Returns 0, -ENOENT when nothing is pinned there.
 */
int ks_engine_adopt(struct ks_engine *e, const char *dir);

/* The maps kload pins by name (ks_tables: the current generation's). */
#define KS_PIN_MAPS_N	14
extern const char *const ks_pin_maps[KS_PIN_MAPS_N];

/*
 * Pinning under dir: maps by name (.rodata as ks_rodata, so programs
 * loaded later by an adopting kload share its configuration), links as
 * link_<prog>, or link_<prog>_<syscall> for syscall tracepoints.
 */
int ks_engine_pin(struct ks_engine *e, const char *dir);
/*
 * Remove Kestrel's pins from dir (maps, link_ks_*, xdp_if*), then dir if
 * it is empty; anything else stays. Returns how many were removed.
 */
int ks_pins_remove(const char *dir);
/* "<dir>/<name>" into buf; -ENAMETOOLONG when it does not fit. */
int ks_pin_path(char *buf, size_t len, const char *dir, const char *name);
/*
 * An existing pin directory must be a directory owned by root with mode
 * 0700 (nobody else may plant maps kload would trust). 0 when it is or
 * does not exist; otherwise -EPERM with the reason in why.
 */
int ks_pin_dir_check(const char *dir, char *why, size_t len);

/* ks_ctl entry 0. */
int ks_ctl_read(int ctl_fd, struct ks_ctl *c);
int ks_ctl_write(int ctl_fd, const struct ks_ctl *c);

/*
 * A ring buffer size the kernel takes: a power of two, a multiple of the
 * page size, KS_RINGBUF_MIN..KS_RINGBUF_MAX. 0, or -1 with why set.
 */
int ks_ringbuf_size_check(unsigned long long bytes, char *why, size_t len);
/* A DFA size class: a power of two, KS_DFA_MIN_TAB_BYTES..KS_DFA_MAX_CLASS. */
int ks_dfa_size_check(unsigned long long bytes, char *why, size_t len);
/* Events per timed one (--time-every): a power of two, 1..KS_TIME_EVERY_MAX. */
int ks_time_every_check(unsigned long long n, char *why, size_t len);

/* Sum the per-CPU counters of a ks_stats map fd over CPUs and contexts. */
int ks_stats_sum(int stats_fd, struct ks_stats *out);
/* A rule's counters in a ks_rule_stats map fd, summed over CPUs. 0 or -errno. */
int ks_rule_stats_sum(int rule_stats_fd, __u32 uid, struct ks_rule_stats *out);

/* Wall-clock minus boot clock: add to kernel timestamps for @timestamp. */
unsigned long long ks_boot_to_epoch_ns(void);

/* Kernel features: bpffs/tracefs mounted, BTF present; exit 3 text if not. */
int ks_env_check(char *why, size_t len);
/* The rb fd and the verdict program fds, for callers. */
int ks_engine_events_fd(const struct ks_engine *e);
int ks_engine_stats_fd(const struct ks_engine *e);

#endif /* KESTREL_ENGINE_H */
