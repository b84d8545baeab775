// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON lines out with exact loss accounting (see include/kestrel/output.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kestrel/log.h"
#include "kestrel/output.h"

#define KS_OUT_FLUSH	(64u << 10)	/* write when this much is buffered */

struct ks_output {
	int fd;			/* -1: memory */
	bool own;
	bool torn;		/* a failed write cut a line: start on a new one */
	bool failing;		/* the last write failed: said once, not per line */
	char *buf;
	size_t len, cap;
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
	while (done < o->len) {
		n = write(o->fd, o->buf + done, o->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += n;
	}
	if (done == o->len) {
		if (o->failing && o->len)
			pr_warn("kload: writing to %s works again\n", o->name);
		o->failing = o->failing && !o->len;
		o->len = 0;
		return 0;
	}
	/* every line not completely written is lost, the cut one included */
	for (i = done; i < o->len; i++)
		lost += o->buf[i] == '\n';
	o->st.last_err = errno ?: EIO;
	o->st.lost[KS_LOST_WRITE] += lost;
	o->st.lines -= lost;
	o->torn = done > 0 && o->buf[done - 1] != '\n';
	o->err = o->err ?: -o->st.last_err;
	if (!o->failing)
		pr_warn("kload: writing to %s failed: %s (%zu line(s) lost; further losses "
			"are counted, not logged, until a write succeeds)\n", o->name,
			strerror(o->st.last_err), lost);
	o->failing = true;
	o->len = 0;
	return -o->st.last_err;
}

static int reserve(struct ks_output *o, size_t need)
{
	size_t cap = o->cap ?: 4096;
	char *b;

	if (o->len + need <= o->cap)
		return 0;
	while (cap < o->len + need)
		cap *= 2;
	b = realloc(o->buf, cap);
	if (!b)
		return -ENOMEM;
	o->buf = b;
	o->cap = cap;
	return 0;
}

/* Room for a line of about need bytes, after the '\n' a cut line needs. */
static int start_line(struct ks_output *o, size_t need)
{
	if (reserve(o, need + 2))
		return -ENOMEM;
	if (o->torn) {
		o->buf[o->len++] = '\n';
		o->torn = false;
	}
	return 0;
}

/* Encode j at the end of the buffer, growing it until it fits. */
static int encode(struct ks_output *o, json_t *j)
{
	size_t room = o->cap - o->len, n;

	n = json_dumpb(j, o->buf + o->len, room, JSON_COMPACT | JSON_SORT_KEYS);
	if (!n)
		return -EINVAL;
	if (n + 2 > room) {
		if (reserve(o, n + 2))
			return -ENOMEM;
		if (json_dumpb(j, o->buf + o->len, o->cap - o->len,
			       JSON_COMPACT | JSON_SORT_KEYS) != n)
			return -EINVAL;
	}
	o->len += n;
	o->buf[o->len++] = '\n';
	o->buf[o->len] = 0;
	return 0;
}

int ks_output_json(struct ks_output *o, json_t *j)
{
	int err;

	if (!o)
		return 0;	/* nowhere to go (events only) */
	if (start_line(o, 512)) {
		ks_output_lost(o, KS_LOST_ENCODE);
		return -ENOMEM;
	}
	err = encode(o, j);
	if (err) {
		ks_output_lost(o, KS_LOST_ENCODE);
		return err;
	}
	o->st.lines++;
	if (o->ops) {
		err = o->ops->line(o->ops_arg, o->buf, o->len, j);
		o->len = 0;
		return err;
	}
	if (o->fd >= 0 && o->len >= KS_OUT_FLUSH)
		return ks_output_flush(o);
	return 0;
}

int ks_output_line(struct ks_output *o, const char *text, size_t len)
{
	if (start_line(o, len))
		return -ENOMEM;
	memcpy(o->buf + o->len, text, len);
	o->len += len;
	o->buf[o->len] = 0;
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
		*len = o->len;
	return o->buf ?: "";
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
	free(o->buf);
	free(o);
	return err;
}
