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

/* kestrel_alerts_lost_total{reason} */
enum ks_lost_reason {
	KS_LOST_WRITE = 0,	/* the write failed, or the receiver refused it */
	KS_LOST_ENCODE = 1,	/* could not be built or encoded (out of memory) */
	KS_LOST_QUEUE_FULL = 2,	/* an output's queue was full (output slow or away) */
	KS_LOST_SHUTDOWN = 3,	/* still queued when kload stopped */
	KS_LOST_N = 4,
};

struct ks_output_stats {
	uint64_t lines;			/* written (or kept, in memory) */
	uint64_t lost[KS_LOST_N];
	int last_err;			/* errno of the last failed write, 0 if none */
};

struct ks_output;

/* What an alert output wants of a line besides its text (NULL: not an alert). */
struct ks_line_info {
	const char *rule_id;
	const char *severity;	/* low | medium | high | critical */
};

/*
 * An output whose complete lines go elsewhere (kload's alert outputs,
 * loader/sink.c): line() gets each encoded line ('\n' included) with what
 * its writer said of it and returns 0 or -errno (the callee counts its own
 * losses); stats() adds the callee's losses to what ks_output_stats()
 * reports.
 */
struct ks_output_ops {
	int (*line)(void *arg, const char *text, size_t len, const struct ks_line_info *info);
	void (*stats)(void *arg, struct ks_output_stats *st);
};

struct ks_output *ks_output_ops(const struct ks_output_ops *ops, void *arg,
				const char *name);
/* Append one already encoded line (text holds its '\n'). 0 or -errno. */
int ks_output_line(struct ks_output *o, const char *text, size_t len);

/* PATH ("-" = stdout), appended to; NULL with errno on error. */
struct ks_output *ks_output_open(const char *path);
/* An fd (closed by ks_output_close() if own); name is for messages. */
struct ks_output *ks_output_fd(int fd, const char *name, bool own);
struct ks_output *ks_output_memory(void);
/* Flush, close, free; returns 0 or the -errno of a failed write ever. */
int ks_output_close(struct ks_output *o);

/*
 * One line, encoded straight into the output's buffer: append the text to
 * the writer ks_output_begin() returns (NULL if o is NULL: nowhere to
 * go), then ks_output_end() adds the '\n' (info: for alert outputs, may
 * be NULL). A line not ok, or that ran out of memory, is taken back and
 * counted as lost (KS_LOST_ENCODE). Returns 0 or -errno (-ENOMEM,
 * -EINVAL, or a failed write: counted).
 */
struct ks_jw *ks_output_begin(struct ks_output *o);
int ks_output_end(struct ks_output *o, bool ok, const struct ks_line_info *info);
/* Count a line that could not be produced. */
void ks_output_lost(struct ks_output *o, enum ks_lost_reason why);
int ks_output_flush(struct ks_output *o);
void ks_output_stats(const struct ks_output *o, struct ks_output_stats *st);
uint64_t ks_output_lost_total(const struct ks_output *o);
/* Text of a memory output (NUL-terminated, owned by o). */
const char *ks_output_text(const struct ks_output *o, size_t *len);
const char *ks_lost_reason_name(unsigned int r);
/* an alert output's error reason (enum ks_sink_err in kestrel/sink.h) */
const char *ks_output_err_name(unsigned int e);

#endif /* KESTREL_OUTPUT_H */
