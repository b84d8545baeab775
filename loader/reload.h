/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reload hand-over between `kload reload` and the `kload attach`
 * that owns the pipeline, through files in KS_RUN_DIR (root, 0700):
 *
 *   reload-<pid>.lock    flock()ed by a reloader for the whole exchange,
 *                        so two reloads at once are serialized
 *   reload-<pid>.kbin    the compiled rules (written to a name of the
 *                        reloader's own, then renamed into place)
 *   reload-<pid>.fd      or, for a .kbin file given as it is, "PID FD":
 *                        the reloader (PID) holds the file open at FD
 *                        until the answer, and the attach process takes
 *                        that descriptor (pidfd_getfd) and reads the file
 *                        into memory of its own before it checks it
 *   reload-<pid>.answer  the attach process's answer: "0 GEN N_RULES" or
 *                        "ERRNO REASON"
 *
 * <pid> is the attach process; SIGHUP tells it a request is there (sent
 * again while the request is not taken; a SIGHUP with no request is
 * ignored).
 */
#ifndef KS_RELOAD_H
#define KS_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kestrel/engine.h"
#include "kestrel/kbin.h"
#include "kestrel/rules.h"

#define KS_RUN_DIR		"/run/kestrel"
#define KS_RELOAD_WAIT_MS	10000
/* SIGHUP again while the request is not taken, this often */
#define KS_RELOAD_RESEND_MS	20

struct ks_reload_answer {
	int err;			/* 0 or -errno */
	unsigned int generation, n_rules;
	char why[256];			/* the reason, when err */
};

/*
 * Reloader: hand (rs, t), or the .kbin file kbin unparsed, to pid and
 * wait for its answer. 0 or -errno (why set); -EINVAL: pid could not
 * read the rules.
 */
int ks_reload_request(pid_t pid, const struct ks_ruleset *rs, const struct ks_tables *t,
		      const char *kbin, struct ks_reload_answer *ans);
/* Attach process: is there a request? (a SIGHUP without one is ignored) */
bool ks_reload_pending(void);
/*
 * Attach process: the request's tables, read and checked (t staged in e,
 * or allocated), its rule metadata still parsing (*kp), or -errno with
 * why. ks_reload_take_rules() then gives the rules (rs allocated; kp
 * consumed, also on failure; -EINVAL: they are not those of t), and
 * ks_reload_release(e, t) follows once t is installed or not.
 */
int ks_reload_take(struct ks_engine *e, struct ks_tables **t, struct ks_kbin_pending **kp,
		   char *why, size_t len);
/* Attach process: the request read, its file removed (after the switch). */
void ks_reload_taken(void);
int ks_reload_take_rules(struct ks_kbin_pending *kp, const struct ks_tables *t,
			 struct ks_ruleset **rs, char *why, size_t len);
void ks_reload_release(struct ks_engine *e, struct ks_tables *t);

/*
 * One reload's phases (CLOCK_MONOTONIC ns), for -vv: SIGHUP received, the
 * request seen, its tables read and checked, the kernel switched to them
 * (install: ks_session_switch), the rules parsed, checked and taken by
 * the pipeline, rule names published (ks_session_follow); the answer
 * follows.
 */
struct ks_reload_clock {
	uint64_t sig, start, read, install, rules;
};
/* The outcome (warning or -v line) and, with -vv, the phases up to now. */
void ks_reload_log(const struct ks_reload_clock *c, const struct ks_reload_answer *ans);
void ks_reload_reply(const struct ks_reload_answer *ans);
/* Attach process at start and exit: remove what a dead exchange left. */
void ks_reload_cleanup(void);

#endif /* KS_RELOAD_H */
