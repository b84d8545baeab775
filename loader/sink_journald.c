// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * journald: the native protocol (loader/sd.c): MESSAGE is the alert
 * JSON, PRIORITY the rule's severity as a syslog level, KESTREL_RULE_ID
 * the rule, SYSLOG_IDENTIFIER kestrel; so `journalctl -t kestrel
 * KESTREL_RULE_ID=exec_from_tmp -o cat` prints that rule's alerts.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kestrel/sd.h"
#include "sink_int.h"

static int journald_parse(struct ks_sink *s, const char *rest, char *why, size_t len)
{
	if (*rest) {
		snprintf(why, len, "journald: takes nothing after the colon");
		return -EINVAL;
	}
	return 0;
}

/* No journal socket: say so as a connect error, retried (journald may start). */
static int journald_open(struct ks_sink *s)
{
	return access(KS_JOURNAL_SOCKET, W_OK) ? -errno : 0;
}

static int journald_send(struct ks_sink *s, const struct ks_line *l, enum ks_sink_err *why)
{
	char prio[2] = { (char)('0' + (l->level & 7)) };
	struct ks_journal_field f[] = {
		{ "MESSAGE", l->text, l->len - 1 },	/* without its newline */
		{ "PRIORITY", prio, 1 },
		{ "KESTREL_RULE_ID", l->rule, strlen(l->rule) },
		{ "SYSLOG_IDENTIFIER", "kestrel", 7 },
	};
	int err = ks_journal_send(f, sizeof(f) / sizeof(f[0]));

	if (!err)
		return 0;
	*why = KS_SERR_WRITE;
	return err;
}

static void journald_close(struct ks_sink *s)
{
}

const struct ks_sink_ops ks_sink_journald_ops = {
	.scheme = "journald:", .parse = journald_parse, .open = journald_open,
	.send = journald_send, .close = journald_close,
};
