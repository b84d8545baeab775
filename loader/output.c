// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON lines out with exact loss accounting (see include/kestrel/output.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kestrel/json.h"
#include "kestrel/log.h"
#include "kestrel/output.h"

#define KS_OUT_FLUSH	(64u << 10)	/* write when this much is buffered */

struct ks_output {
	int fd;			/* -1: memory */
	bool own;
	bool torn;		/* a failed write cut a line: start on a new one */
	bool failing;		/* the last write failed: said once, not per line */
	struct ks_jw w;		/* the buffer: lines are encoded straight into it */
	size_t mark;		/* where the line begun by ks_output_begin() starts */
	char name[64];
	struct ks_output_stats st;
	int err;		/* first failure, for ks_output_close() */
	const struct ks_output_ops *ops;	/* lines go there, not to fd */
	void *ops_arg;
};

static const char *const lost_names[KS_LOST_N] = {
	"write", "encode", "queue_full", "shutdown",
};

static const char *const err_names[] = { "connect", "write", "ack", "closed" };

const char *ks_lost_reason_name(unsigned int r)
{
	return r < KS_LOST_N ? lost_names[r] : "?";
}

const char *ks_output_err_name(unsigned int e)
{
	return e < sizeof(err_names) / sizeof(err_names[0]) ? err_names[e] : "?";
}

struct ks_output *ks_output_fd(int fd, const char *name, bool own)
{
	struct ks_output *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->fd = fd;
	o->own = own;
	snprintf(o->name, sizeof(o->name), "%s", name);
	return o;
}

struct ks_output *ks_output_open(const char *path)
{
	struct ks_output *o;
	int fd;

	if (!strcmp(path, "-"))
		return ks_output_fd(STDOUT_FILENO, "stdout", false);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	o = ks_output_fd(fd, path, true);
	if (!o)
		close(fd);
	return o;
}

struct ks_output *ks_output_memory(void)
{
	return ks_output_fd(-1, "memory", false);
}

struct ks_output *ks_output_ops(const struct ks_output_ops *ops, void *arg, const char *name)
{
	struct ks_output *o = ks_output_fd(-1, name, false);

	if (o) {
		o->ops = ops;
		o->ops_arg = arg;
	}
	return o;
}

int ks_output_flush(struct ks_output *o)
{
	size_t done = 0, lost = 0, i;
	ssize_t n;

	if (!o || o->fd < 0)
		return 0;
	while (done < o->w.len) {
		n = write(o->fd, o->w.p + done, o->w.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += n;
	}
	if (done == o->w.len) {
		if (o->failing && o->w.len)
			pr_warn("kload: writing to %s works again\n", o->name);
		o->failing = o->failing && !o->w.len;
		o->w.len = 0;
		return 0;
	}
	/* every line not completely written is lost, the cut one included */
	for (i = done; i < o->w.len; i++)
		lost += o->w.p[i] == '\n';
	o->st.last_err = errno ?: EIO;
	o->st.lost[KS_LOST_WRITE] += lost;
	o->st.lines -= lost;
	o->torn = done > 0 && o->w.p[done - 1] != '\n';
	o->err = o->err ?: -o->st.last_err;
	if (!o->failing)
		pr_warn("kload: writing to %s failed: %s (%zu line(s) lost; further losses "
			"are counted, not logged, until a write succeeds)\n", o->name,
			strerror(o->st.last_err), lost);
	o->failing = true;
	o->w.len = 0;
	return -o->st.last_err;
}

/* Room for a line of about need bytes, after the '\n' a cut line needs. */
static int start_line(struct ks_output *o, size_t need)
{
	if (!ks_jw_reserve(&o->w, need + 2))
		return -ENOMEM;
	if (o->torn) {
		o->w.p[o->w.len++] = '\n';
		o->torn = false;
	}
	return 0;
}

struct ks_jw *ks_output_begin(struct ks_output *o)
{
	if (!o)
		return NULL;	/* nowhere to go (events only) */
	o->w.oom = false;
	o->w.depth = 0;
	o->mark = o->w.len;
	if (!start_line(o, 512))
		o->mark = o->w.len;
	return &o->w;
}

int ks_output_end(struct ks_output *o, bool ok, const struct ks_line_info *info)
{
	int err;

	if (!o)
		return 0;
	if (!ok || o->w.oom || !ks_jw_reserve(&o->w, 2)) {
		o->w.len = o->mark;
		ks_output_lost(o, KS_LOST_ENCODE);
		return o->w.oom ? -ENOMEM : -EINVAL;
	}
	o->w.p[o->w.len++] = '\n';
	o->w.p[o->w.len] = 0;
	o->st.lines++;
	if (o->ops) {
		err = o->ops->line(o->ops_arg, o->w.p + o->mark, o->w.len - o->mark, info);
		o->w.len = o->mark;
		return err;
	}
	if (o->fd >= 0 && o->w.len >= KS_OUT_FLUSH)
		return ks_output_flush(o);
	return 0;
}

int ks_output_line(struct ks_output *o, const char *text, size_t len)
{
	if (start_line(o, len))
		return -ENOMEM;
	memcpy(o->w.p + o->w.len, text, len);
	o->w.len += len;
	o->w.p[o->w.len] = 0;
	o->st.lines++;
	return 0;
}

void ks_output_lost(struct ks_output *o, enum ks_lost_reason why)
{
	if (!o)
		return;
	if (why < KS_LOST_N)
		o->st.lost[why]++;
	if (why == KS_LOST_ENCODE && o->st.lost[why] == 1)
		pr_warn("kload: a line for %s could not be encoded (out of memory); "
			"counted as lost\n", o->name);
}

void ks_output_stats(const struct ks_output *o, struct ks_output_stats *st)
{
	*st = o->st;
	if (o->ops && o->ops->stats)
		o->ops->stats(o->ops_arg, st);
}

uint64_t ks_output_lost_total(const struct ks_output *o)
{
	struct ks_output_stats st;
	uint64_t n = 0;
	int r;

	ks_output_stats(o, &st);
	for (r = 0; r < KS_LOST_N; r++)
		n += st.lost[r];
	return n;
}

const char *ks_output_text(const struct ks_output *o, size_t *len)
{
	if (len)
		*len = o->w.len;
	return o->w.p ?: "";
}

int ks_output_close(struct ks_output *o)
{
	int err;

	if (!o)
		return 0;
	ks_output_flush(o);
	err = o->err;
	if (o->own && o->fd >= 0 && close(o->fd) && !err)
		err = -errno;
	ks_jw_free(&o->w);
	free(o);
	return err;
}
