/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Logging: pr_warn/pr_info/pr_debug to stderr, verbosity set by -v. */
#ifndef KESTREL_LOG_H
#define KESTREL_LOG_H

enum ks_log_level { KS_LOG_WARN = 0, KS_LOG_INFO = 1, KS_LOG_DEBUG = 2 };

extern int ks_log_level;

void ks_log(enum ks_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Route libbpf's messages through ks_log, one level quieter than ours. */
void ks_log_setup_libbpf(void);
/* Silence libbpf entirely (probing loads that are expected to fail). */
void ks_log_libbpf_quiet(int quiet);

#define pr_warn(...)	ks_log(KS_LOG_WARN, __VA_ARGS__)
#define pr_info(...)	ks_log(KS_LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	ks_log(KS_LOG_DEBUG, __VA_ARGS__)

/* Exit codes (docs/kload.8, EXIT STATUS): main() returns only these. */
enum ks_exit {
	KS_EXIT_OK = 0,
	KS_EXIT_FAIL = 1,	/* runtime failure / test mismatch */
	KS_EXIT_USAGE = 2,	/* usage error or invalid rules */
	KS_EXIT_ENV = 3,	/* environment cannot run it */
};

#endif /* KESTREL_LOG_H */
