/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Between engine.c and engine_load.c: program selection, loading, links. */
#ifndef KS_ENGINE_INT_H
#define KS_ENGINE_INT_H

#include "kestrel/engine.h"

struct kestrel_bpf;
struct bpf_object;

/* Is program `name` one this mode and these options run? */
bool ks_prog_wanted(const char *name, enum ks_enforce_mode mode,
		    const struct ks_engine_opts *o);
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
/* Load, one object each and in parallel, the programs serving `actions`. */
int ks_load_progs(struct ks_engine *e, __u32 actions);
/* Attach the host programs of e->objs[from...]. */
int ks_attach_from(struct ks_engine *e, int from);
/* Pin e->links[from...] under e->pin_dir. */
int ks_pin_links_from(struct ks_engine *e, int from);

#endif /* KS_ENGINE_INT_H */
