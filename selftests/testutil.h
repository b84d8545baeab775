/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Selftest helpers: compile rules from YAML text with the production
 * compiler, load the production skeleton through the engine, install the
 * tables, attach, and collect what the kernel forwards.
 */
#ifndef KS_TESTUTIL_H
#define KS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kestrel/engine.h"
#include "kestrel/rules.h"
#include "kestrel/session.h"

struct ks_tenv {
	struct ks_engine e;
	struct ks_ruleset *rs;
	struct ks_tables *t;
	struct ks_session s;	/* attach's consumer, without a pipeline */
	struct ks_event *evs;	/* forwarded events as attach sees them, in order */
	size_t n, cap;
	unsigned long test_runs;	/* BPF_PROG_TEST_RUN calls of ks_tenv_replay*() */
	unsigned long bytes_full;	/* ... of those, batches the context's size ended */
	bool loaded;
};

/* Compile YAML rule text (NULL: no tables). 0 or -errno. */
int ks_tenv_compile(struct ks_tenv *te, const char *yaml);
/*
 * Load (mode/replay/... from o, judge_self forced on), install tables; the
 * DFA size class is o's, else the tables' as kload attach picks it.
 */
int ks_tenv_load(struct ks_tenv *te, const struct ks_engine_opts *o);
int ks_tenv_attach(struct ks_tenv *te);
/* Replace the rules of a loaded environment (a new table generation). */
int ks_tenv_swap(struct ks_tenv *te, const char *yaml);
/*
 * Events through the replay program (BPF_PROG_TEST_RUN of ks_replay, te
 * loaded with o.replay), batch by batch, collecting what it forwards.
 * 0 or -errno.
 */
int ks_tenv_replay(struct ks_tenv *te, const struct ks_event *evs, size_t n);
/* The same, at most per_run events per test run (te->test_runs counts the runs). */
int ks_tenv_replay_n(struct ks_tenv *te, const struct ks_event *evs, size_t n,
		     unsigned int per_run);
/* An event from one Event JSONL object (the production decoder). 0 or -EINVAL. */
int ks_tenv_event(const char *json, struct ks_event *ev);
/* Poll the ring buffer for up to timeout_ms; returns events collected. */
int ks_tenv_drain(struct ks_tenv *te, int timeout_ms);
/* First forwarded event whose exe ends with `suffix` (NULL if none). */
const struct ks_event *ks_tenv_find_exe(const struct ks_tenv *te, const char *suffix);
/* Rule index by id in te->rs, -1 if absent. */
int ks_tenv_rule(const struct ks_tenv *te, const char *id);
/* Does ev carry a match for rule `rule` (exact, optionally completed)? */
bool ks_tenv_matched(const struct ks_tenv *te, const struct ks_event *ev, int rule,
		     bool completed);
/* KS_M_CUT on the match of `rule` in ev (undecided by a cut): 0 or 1, -1 with no match. */
int ks_tenv_cut_flag(const struct ks_tenv *te, const struct ks_event *ev, int rule);
int ks_tenv_stats(const struct ks_tenv *te, struct ks_stats *st);
/* A rule's counters (by id in te->rs) summed over CPUs. 0 or -errno. */
int ks_tenv_rule_stats(const struct ks_tenv *te, const char *id, struct ks_rule_stats *rs);
/* Detach the host hooks (maps stay): counters stop moving. */
void ks_tenv_detach(struct ks_tenv *te);
void ks_tenv_close(struct ks_tenv *te);

/* The string value of field f of ev as a NUL-terminated copy in buf. */
const char *ks_tenv_str(const struct ks_event *ev, int f, char *buf, size_t len);

/* Skip (with the reason) unless the kernel can run mode; true = go on. */
bool ks_tenv_mode_available(int mode);
/*
 * ks_tenv_load() where the mode may be missing: 1 when lsm mode cannot
 * load here (skipped, reason printed), 0 loaded, -errno on failure. One
 * load instead of two (loads are the slow part of the VM run).
 */
int ks_tenv_load_mode(struct ks_tenv *te, const struct ks_engine_opts *o);

/*
 * Run every collected event through a fresh session with a pipeline
 * built from the same YAML (a second parse: the pipeline owns its
 * ruleset), then, as kload does once the ring buffer has room, the
 * enforcements whose events it lost (ks_lost and the kernel's counts);
 * return the Alert JSONL text (malloc'd), NULL on error.
 */
char *ks_tenv_alerts(struct ks_tenv *te, const char *yaml);

/*
 * Fork and exec path with argv { argv0 } (busybox, in the VM, picks its
 * applet by argv[0]); the wait status, or 100 + errno from the child when
 * the exec itself failed. *pid (may be NULL) gets the child.
 */
int ks_run_exe(const char *path, const char *argv0, pid_t *pid);
/* /bin/NAME, or /usr/bin/NAME where /bin is not merged. */
const char *ks_bin(const char *name, char *buf, size_t len);
/* Events lost to detection for a source, summed over reasons. */
__u64 ks_stats_dropped(const struct ks_stats *st, int src);
/* The accounting identity: events == filtered + forwarded + dropped. */
bool ks_stats_identity(const struct ks_stats *st, int src);

/*
 * The source (lsm, tp_btf, kprobe, tracepoint: ks_hook_info()) of the
 * first attached hook of event kind `kind` (exec, file, connect, ...).
 */
const char *ks_tenv_source(const struct ks_tenv *te, const char *kind);
/* Copy a file (following symlinks) to dst with mode 0755. */
int ks_copy_exe(const char *src, const char *dst);

/* xorshift64 step: a number below n from the generator state *s. */
static inline uint32_t ks_tenv_rnd(uint64_t *s, uint32_t n)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 33) % n;
}

#endif /* KS_TESTUTIL_H */
