/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared helpers of the benchmarks: clocks, medians, a seeded generator,
 * cache eviction, rule-set generation, and the result line every benchmark
 * prints on stdout (one JSON object per figure; bench/report.c turns them
 * into bench/results.json, the Markdown table and bench/PERFORMANCE.md).
 *
 * Result line fields:
 *   name      stable id, e.g. "dfa.kernel.warm.p1000.b1500.ns_per_byte"
 *   figure    human label
 *   value     number, or null with "reason" saying why it could not be measured
 *   unit      "ns/byte", "events/s", ...
 *   target    "<= 1.5" / ">= 2000000" or absent; report.c decides "met"
 *   baseline  what the ratio compares against (measured in the same run)
 *   ratio     value / baseline value, or absent
 *   command   how to reproduce this figure alone
 *   group     "dfa" rows also go to the DFA matrix of PERFORMANCE.md
 *   headline  true: shown in the summary table
 *   note      free text (definition, profile pointer, ...)
 */
#ifndef KS_BENCH_COMMON_H
#define KS_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kestrel/rules.h"

struct kb_result {
	const char *name;
	const char *figure;
	double value;
	bool has_value;
	const char *unit;
	const char *target;	/* NULL: informational */
	const char *baseline;	/* NULL: none */
	double ratio;
	bool has_ratio;
	const char *command;
	const char *group;
	bool headline;
	const char *reason;	/* when !has_value */
	const char *note;
	/* extra numeric fields, printed as "extra": {k: v} */
#define KB_EXTRA_N	8
	const char *xk[KB_EXTRA_N];
	double xv[KB_EXTRA_N];
};

void kb_emit(const struct kb_result *r);
/* printf-style helper for a static string that lives until exit */
char *kb_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t kb_now_ns(void);		/* CLOCK_MONOTONIC */
double kb_median(double *v, size_t n);	/* sorts v */
double kb_mean(const double *v, size_t n);

/* xorshift64*: deterministic across runs for a seed */
struct kb_rng { uint64_t s; };
void kb_rng_seed(struct kb_rng *r, uint64_t seed);
uint64_t kb_rng_next(struct kb_rng *r);
uint32_t kb_rng_range(struct kb_rng *r, uint32_t lo, uint32_t hi);	/* [lo, hi] */

/* Evict caches: stream through a buffer bigger than the last level cache. */
void kb_cache_flush(void);

/* Resident set of a process from /proc/PID/status (kB), -1 if unknown. */
long kb_rss_kb(int pid);

/* Compile YAML rule text with the production compiler. NULL on failure
 * with the diagnostics' first error line copied to err. */
struct ks_tables *kb_compile(const char *yaml, struct ks_ruleset **rs_out,
			     struct ks_compile_info *info, char *err, size_t errlen);

/* Growable text buffer */
struct kb_buf {
	char *s;
	size_t n, cap;
};
void kb_buf_printf(struct kb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kb_buf_free(struct kb_buf *b);

/* Parse "10,100,1000" into v (max n); returns count. */
size_t kb_parse_list(const char *s, unsigned long *v, size_t n);

/* The command line that reproduces a row: argv[0] plus the given args. */
const char *kb_cmd(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* KS_BENCH_COMMON_H */

/*
 * A background `kload attach` (our own child). kb_kload_start returns 0
 * once kload printed its "attached" line (attach_ns: from fork to that
 * line) or -1 with why filled (its last stderr line). Alerts go to
 * /dev/null unless extra_args has an --alerts of its own.
 */
struct kb_kload {
	int pid;
	int err_fd;		/* kload's stderr, still open */
	double attach_ms;
	char why[512];
	char log[4096];		/* kload's stderr lines up to "attached" */
};
int kb_kload_start(struct kb_kload *k, const char *kload, const char *pin_dir,
		   const char *rules, const char *extra_args);
/* SIGTERM, wait (SIGKILL after timeout_ms), then `kload detach` as a safety net. */
void kb_kload_stop(struct kb_kload *k, const char *kload, const char *pin_dir);

/* Generated rule sets (YAML text, malloc'd) */
/* N event rules, alternating exec rules on process.executable and open
 * rules on file.path, none of which matches anything under /usr, /bin, /etc. */
char *kb_gen_host_rules(size_t n, uint64_t seed);
/* The same, and the executables the exact-path rules match, one a line. */
char *kb_gen_host_rules_ex(size_t n, uint64_t seed, struct kb_buf *exes);
/*
 * N two-step sequences by process.entity_id: [process exec X] -> [file open
 * Y]. compact: 4-6 lowercase letters per generated word; otherwise 6-10
 * letters and digits (1,000 such rules need more than KS_DFA_CELLS).
 */
char *kb_gen_seq_rules(size_t n, uint64_t seed, bool compact);
/* Write text to path; 0 or -errno. */
int kb_write_file(const char *path, const char *text);
