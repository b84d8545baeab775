/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Between engine.c (open, attach, generations, pins), engine_hooks.c (the
 * program catalogue), engine_load.c (loading) and engine_swap.c (a
 * generation's tables map and the switch to it).
 */
#ifndef KS_ENGINE_INT_H
#define KS_ENGINE_INT_H

#include "kestrel/engine.h"

struct kestrel_bpf;
struct bpf_object;

/* Is program `name` one this mode and these options run? */
bool ks_prog_wanted(const char *name, enum ks_enforce_mode mode,
		    const struct ks_engine_opts *o);
/* May program `name` fail to attach (kprobes, syscall tracepoints, DNS)? Warn, go on. */
bool ks_prog_optional(const char *name);
/* The actions (1 << enum ks_action) a program's events can have; 0: none. */
__u32 ks_prog_actions(const char *name);
/* The syscalls a syscall tracepoint program attaches to (NULL-ended, at
 * most KS_SYS_TP_MAX), or NULL; at their entry (sys_enter_*) or exit. */
#define KS_SYS_TP_MAX	10
const char *const *ks_sys_tp_names(const char *prog);
bool ks_sys_tp_enter(const char *prog);
/* Program `name` of object s, if s loads it. */
struct bpf_program *ks_obj_prog(struct kestrel_bpf *s, const char *name);
/* Give struct ks_tables in obj's BTF the size of the tables map's value. */
int ks_btf_size_tables(struct bpf_object *obj, __u32 dfa_bytes);
/* The heap set up for libbpf's BTF parses (engine_load.c), and back. */
#define KS_HEAP_ONE_PARSE	(14u << 20)	/* the kernel's BTF twice, and more */
void ks_heap_prime(size_t bytes);
void ks_heap_release(void);
/* Load, one object each and in parallel, the programs serving `actions`. */
int ks_load_progs(struct ks_engine *e, __u32 actions);
/* Attach the host programs of e->objs[from...]. */
int ks_attach_from(struct ks_engine *e, int from);
/* Pin e->links[from...] under e->pin_dir. */
int ks_pin_links_from(struct ks_engine *e, int from);

/* engine_swap.c: a generation's tables map and the switch to it. */
/* A tables map of the size class; flags: BPF_F_MMAPABLE or 0. fd or -errno. */
int ks_tables_map_create(__u32 dfa_bytes, __u32 flags);
/* The map ks_tables_stage() gave t in, now the caller's; or -1 (t is not staged). */
int ks_tables_staged_take(struct ks_engine *e, const struct ks_tables *t);
/*
 * t (its used bytes, zeros after them up to the class) into the new map
 * fd. Not kept mapped: attach's RSS would count the map's pages
 * (mem.kload_rss_mib); reloads' staged maps are.
 */
int ks_tables_fill(const struct ks_engine *e, int fd, struct ks_tables *t);
/* The staged mapping, installed: now the generation's (e->staged none). */
struct ks_tables_view ks_tables_staged_done(struct ks_engine *e);
/*
 * A generation no program reads once the pending switch settles: its map
 * and mapping *v kept as the spare if there is none, else closed after
 * that wait (*v unmapped). fd < 0: nothing.
 */
void ks_tables_retire(struct ks_engine *e, int fd, struct ks_tables_view *v);
/* The spare and its map freed; and every mapping (ks_engine_destroy()). */
void ks_tables_spare_drop(struct ks_engine *e);
void ks_tables_views_drop(struct ks_engine *e);
/*
 * ks_gen[0] = fd: returns once programs see fd's tables; the RCU wait of
 * the update goes on on a thread until ks_gen_settle(). 0 or -errno.
 */
int ks_gen_switch(struct ks_engine *e, int fd);
/* Wait for the pending switch's RCU wait (before touching ks_gen again). */
void ks_gen_settle(struct ks_engine *e);
/* Close the generation before the switch, once no program can read it. */
void ks_gen_retire(struct ks_engine *e, int fd);

/*
 * engine_fdr.c: t's prefilter table, when an automaton is flagged for
 * it, into a free slot of ks_fdr_gen for `generation`, and
 * t->hdr.fdr_slot set (0 when none is flagged). 0 or -errno.
 */
int ks_fdr_install(struct ks_engine *e, struct ks_tables *t, __u32 generation);
/* The slots' maps and mappings let go (ks_engine_destroy()). */
void ks_fdr_drop(struct ks_engine *e);

#endif /* KS_ENGINE_INT_H */
