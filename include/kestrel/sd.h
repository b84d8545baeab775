/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * systemd's notify and journal protocols without libsystemd (loader/sd.c).
 */
#ifndef KESTREL_SD_H
#define KESTREL_SD_H

#include <stddef.h>

#define KS_JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define KS_JOURNAL_FIELDS_MAX	8

/* Tell the service manager (READY=1, RELOADING=1, STATUS=...): a
 * printf-style message sent to $NOTIFY_SOCKET; 0 without one (not a
 * Type=notify service), else 0 or -errno. */
int ks_sd_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A journal entry of n fields (KEY: uppercase letters, digits, '_'; value
 * any bytes); 0 or -errno. */
struct ks_journal_field {
	const char *key;
	const void *val;
	size_t len;
};
int ks_journal_send(const struct ks_journal_field *f, size_t n);
/* The same to another socket (tests/test_sd.c plays journald). */
int ks_journal_send_to(const char *path, const struct ks_journal_field *f, size_t n);

#endif
