// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * file:PATH and "-" (stdout): Alert JSONL through a ks_output (its loss
 * accounting: a failed or cut write loses that line, logged and counted;
 * the next line starts on a new one). file: is reopened on SIGUSR1, so
 * logrotate's postrotate can move the file away and signal kload.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kestrel/log.h"
#include "sink_int.h"

struct file_sink {
	char *path;		/* NULL: stdout */
	struct ks_output *o;
};

static int file_parse(struct ks_sink *s, const char *rest, char *why, size_t len)
{
	struct file_sink *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	s->priv = f;
	if (s->ops == &ks_sink_stdout_ops)
		return 0;
	if (!*rest) {
		snprintf(why, len, "file: needs a PATH (file:/var/log/kestrel/alerts.jsonl)");
		return -EINVAL;
	}
	f->path = strdup(rest);
	return f->path ? 0 : -ENOMEM;
}

static int file_open(struct ks_sink *s)
{
	struct file_sink *f = s->priv;

	f->o = f->path ? ks_output_open(f->path) : ks_output_fd(STDOUT_FILENO, "stdout", false);
	return f->o ? 0 : -errno;
}

static int file_send(struct ks_sink *s, const struct ks_line *l, enum ks_sink_err *why)
{
	struct file_sink *f = s->priv;

	if (ks_output_line(f->o, l->text, l->len))
		return KS_SINK_LOST;
	/* the ks_output logged the failure; a full disk is no reason to stop */
	return ks_output_flush(f->o) ? KS_SINK_LOST : 0;
}

static void file_close(struct ks_sink *s)
{
	struct file_sink *f = s->priv;

	ks_output_close(f->o);
	f->o = NULL;
}

static void file_free(struct ks_sink *s)
{
	struct file_sink *f = s->priv;

	if (!f)
		return;
	free(f->path);
	free(f);
}

const struct ks_sink_ops ks_sink_file_ops = {
	.scheme = "file:", .parse = file_parse, .open = file_open, .send = file_send,
	.close = file_close, .free = file_free, .reopen_on_usr1 = true, .open_at_start = true,
};

const struct ks_sink_ops ks_sink_stdout_ops = {
	.scheme = "-", .parse = file_parse, .open = file_open, .send = file_send,
	.close = file_close, .free = file_free, .open_at_start = true,
};
