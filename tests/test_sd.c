// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * systemd's notify and native journal protocols (loader/sd.c), read back
 * by a datagram socket that plays the service manager or journald: the
 * bytes on the wire, and the sealed memfd a message too big for a
 * datagram travels in. selftests/outputs.sh runs a real journald.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "kestrel/sd.h"

struct peer {
	char path[64];
	int fd;
};

static void peer_open(struct peer *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(p->path, sizeof(p->path), "/tmp/ks-test-sd.%d", (int)getpid());
	unlink(p->path);
	strcpy(sa.sun_path, p->path);
	p->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(p->fd >= 0);
	assert_int_equal(bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void peer_close(struct peer *p)
{
	close(p->fd);
	unlink(p->path);
}

/* One datagram; *passed: the descriptor it carried, else -1. */
static ssize_t peer_recv(struct peer *p, char *buf, size_t len, int *passed)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = sizeof(c.b) };
	ssize_t n = recvmsg(p->fd, &m, MSG_DONTWAIT);
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);

	*passed = -1;
	if (n >= 0 && h && h->cmsg_type == SCM_RIGHTS)
		memcpy(passed, CMSG_DATA(h), sizeof(int));
	return n;
}

static void test_notify(void **state)
{
	struct peer p;
	char buf[256];
	int fd;

	peer_open(&p);
	assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
	assert_int_equal(ks_sd_notify("READY=1"), 0);	/* no manager: nothing sent */
	assert_true(peer_recv(&p, buf, sizeof(buf), &fd) < 0);
	setenv("NOTIFY_SOCKET", p.path, 1);
	assert_int_equal(ks_sd_notify("READY=1\nSTATUS=attached: %u rules", 7u), 0);
	assert_int_equal(peer_recv(&p, buf, sizeof(buf), &fd), 32);
	assert_memory_equal(buf, "READY=1\nSTATUS=attached: 7 rules", 32);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(ks_sd_notify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
	peer_close(&p);
}

/* The fields of an entry in the binary-safe form: KEY \n le64 VALUE \n. */
static void check_entry(const char *b, size_t n, const char *msg, size_t msg_len)
{
	uint64_t len;
	size_t at = 0;

	assert_true(n > 8 && !memcmp(b, "MESSAGE\n", 8));
	memcpy(&len, b + 8, 8);
	assert_int_equal(le64toh(len), msg_len);
	assert_memory_equal(b + 16, msg, msg_len);
	at = 16 + msg_len;
	assert_int_equal(b[at], '\n');
	assert_int_equal(n - at - 1, 9 + 8 + 2);
	assert_memory_equal(b + at + 1, "PRIORITY\n\1\0\0\0\0\0\0\0" "3\n", 19);
}

static void test_journal(void **state)
{
	static char big[300000], got[400000];
	struct ks_journal_field f[2] = { { "MESSAGE", "a\nb\0c", 5 }, { "PRIORITY", "3", 1 } };
	struct peer p;
	ssize_t n;
	int fd;

	peer_open(&p);
	/* a value with a newline and a NUL goes as it is */
	assert_int_equal(ks_journal_send_to(p.path, f, 2), 0);
	n = peer_recv(&p, got, sizeof(got), &fd);
	assert_int_equal(fd, -1);
	check_entry(got, (size_t)n, "a\nb\0c", 5);

	/* bigger than a datagram can be: a sealed memfd, the same bytes */
	memset(big, 'x', sizeof(big));
	f[0].val = big;
	f[0].len = sizeof(big);
	assert_int_equal(ks_journal_send_to(p.path, f, 2), 0);
	assert_int_equal(peer_recv(&p, got, sizeof(got), &fd), 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE);
	n = pread(fd, got, sizeof(got), 0);
	check_entry(got, (size_t)n, big, sizeof(big));
	close(fd);
	peer_close(&p);
	assert_int_equal(ks_journal_send_to(p.path, f, 2), -ENOENT);	/* no journald */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
