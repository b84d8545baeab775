/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * JSON lines out (alerts, recorded events) with exact loss accounting.
 *
 * Lines are encoded into the output's own buffer and written with
 * write(2) when it fills and on ks_output_flush(), so when a write fails
 * (disk full, /dev/full, a closed pipe: kload ignores SIGPIPE) the lines
 * not written are known and counted as lost, by reason, and the failure
 * is logged. stdio could not say which lines a failed flush took along.
 * A memory output keeps every line (tests, `kload test`).
 */
#ifndef KESTREL_OUTPUT_H
#define KESTREL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* kestrel_alerts_lost_total{reason} */
enum ks_lost_reason {
	KS_LOST_WRITE = 0,	/* the write failed */
	KS_LOST_ENCODE = 1,	/* could not be built or encoded (out of memory) */
	KS_LOST_N = 2,
};

struct ks_output_stats {
	uint64_t lines;			/* written (or kept, in memory) */
	uint64_t lost[KS_LOST_N];
	int last_err;			/* errno of the last failed write, 0 if none */
};

struct ks_output;

/* PATH ("-" = stdout), appended to; NULL with errno on error. */
struct ks_output *ks_output_open(const char *path);
/* An fd (closed by ks_output_close() if own); name is for messages. */
struct ks_output *ks_output_fd(int fd, const char *name, bool own);
struct ks_output *ks_output_memory(void);
/* Flush, close, free; returns 0 or the -errno of a failed write ever. */
int ks_output_close(struct ks_output *o);

/* One line: j compact with sorted keys, then '\n'. 0 or -errno (counted). */
int ks_output_json(struct ks_output *o, json_t *j);
/* Count a line that could not be produced. */
void ks_output_lost(struct ks_output *o, enum ks_lost_reason why);
int ks_output_flush(struct ks_output *o);
void ks_output_stats(const struct ks_output *o, struct ks_output_stats *st);
uint64_t ks_output_lost_total(const struct ks_output *o);
/* Text of a memory output (NUL-terminated, owned by o). */
const char *ks_output_text(const struct ks_output *o, size_t *len);
const char *ks_lost_reason_name(unsigned int r);

#endif /* KESTREL_OUTPUT_H */
