// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The two systemd protocols kload speaks, written to their documented
 * wire formats instead of linking libsystemd, which brought seven shared
 * libraries (libgcrypt, liblzma, libzstd, liblz4, libcap, libgpg-error)
 * into every kload start-up: a tenth of a `kload reload`'s CPU and part of
 * the attach process's RSS (issue 12; bench/profile/reload3-phases.txt).
 *
 *   sd_notify(3)       one datagram of "KEY=VALUE\n" lines to the socket
 *                      named by $NOTIFY_SOCKET ('@' first: abstract)
 *   journald native    one datagram to /run/systemd/journal/socket of
 *                      fields, each "KEY\n" + 64-bit little-endian length
 *                      + value + "\n" (the binary-safe form, so a value
 *                      may hold any byte); a message too big for a
 *                      datagram goes as a sealed memfd passed with
 *                      SCM_RIGHTS, as journald accepts
 *                      (systemd.journal-fields(7), "Native Journal
 *                      Protocol" in systemd's documentation)
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kestrel/sd.h"

/* A unix datagram socket address from a path, '@' for the abstract namespace. */
static int sd_addr(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(path);

	if (!n || n >= sizeof(sa->sun_path) || (path[0] != '/' && path[0] != '@'))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@')
		sa->sun_path[0] = 0;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return 0;
}

static int sd_send(const char *path, struct iovec *iov, size_t n, int pass_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c = {};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = n };
	struct sockaddr_un sa;
	socklen_t len;
	int fd, err;

	err = sd_addr(path, &sa, &len);
	if (err)
		return err;
	m.msg_name = &sa;
	m.msg_namelen = len;
	if (pass_fd >= 0) {
		m.msg_control = c.buf;
		m.msg_controllen = sizeof(c.buf);
		c.h.cmsg_level = SOL_SOCKET;
		c.h.cmsg_type = SCM_RIGHTS;
		c.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&c.h), &pass_fd, sizeof(int));
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = sendmsg(fd, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
	close(fd);
	return err;
}

int ks_sd_notify(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	char buf[512];
	struct iovec iov = { .iov_base = buf };
	va_list ap;
	int n;

	if (!path || !*path)
		return 0;	/* not started by systemd as Type=notify */
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	iov.iov_len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	return sd_send(path, &iov, 1, -1);
}

/*
 * The fields written out into a sealed memfd, passed instead of the
 * datagram journald could not take (EMSGSIZE): journald reads it whole.
 */
static int journal_memfd(const char *path, struct iovec *iov, size_t n)
{
	int fd = memfd_create("kestrel-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t i;
	int err = 0;

	if (fd < 0)
		return -errno;
	for (i = 0; i < n && !err; i++)
		if (write(fd, iov[i].iov_base, iov[i].iov_len) != (ssize_t)iov[i].iov_len)
			err = -EIO;
	if (!err && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
			  F_SEAL_SEAL) < 0)
		err = -errno;
	if (!err)
		err = sd_send(path, NULL, 0, fd);
	close(fd);
	return err;
}

int ks_journal_send(const struct ks_journal_field *f, size_t n)
{
	return ks_journal_send_to(KS_JOURNAL_SOCKET, f, n);
}

int ks_journal_send_to(const char *path, const struct ks_journal_field *f, size_t n)
{
	struct iovec iov[5 * KS_JOURNAL_FIELDS_MAX];
	uint64_t lens[KS_JOURNAL_FIELDS_MAX];
	size_t i, k = 0;
	int err;

	if (n > KS_JOURNAL_FIELDS_MAX)
		return -E2BIG;
	for (i = 0; i < n; i++) {	/* KEY \n le64(len) VALUE \n */
		lens[i] = htole64(f[i].len);
		iov[k++] = (struct iovec){ (void *)f[i].key, strlen(f[i].key) };
		iov[k++] = (struct iovec){ "\n", 1 };
		iov[k++] = (struct iovec){ &lens[i], sizeof(lens[i]) };
		iov[k++] = (struct iovec){ (void *)f[i].val, f[i].len };
		iov[k++] = (struct iovec){ "\n", 1 };
	}
	err = sd_send(path, iov, k, -1);
	if (err == -EMSGSIZE || err == -ENOBUFS)
		err = journal_memfd(path, iov, k);
	return err;
}
