// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syslog outputs; the alert JSON is the message.
 *
 * syslog+udp://HOST:PORT and syslog+tcp://HOST:PORT send RFC 5424:
 *   <PRI>1 2026-12-01T20:40:55.123456Z HOST kestrel PID alert - {"@timestamp":...}
 * and TCP frames each message with RFC 6587 octet counting ("LEN SP MSG"),
 * so a JSON alert of any size is one message. TCP reconnects with back-off
 * (sink.c); before each message the socket is checked for the peer's
 * close, so a restarted server costs a reconnect, not the alerts sent into
 * a dead connection. What TCP accepted but a crashed server never read
 * cannot be known without acknowledgements (use nats:// for that).
 *
 * syslog:[PATH] writes to the local socket (/dev/log) in the format
 * glibc's syslog(3) uses, "<PRI>Mmm dd hh:mm:ss kestrel[PID]: MSG", since
 * that is what every local receiver (rsyslog, syslog-ng, journald) parses.
 *
 * PRI = facility (default authpriv, ?facility=NAME) * 8 + the severity of
 * the rule (low notice, medium warning, high err, critical crit).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kestrel/log.h"
#include "sink_int.h"

#define KS_SYSLOG_TIMEOUT_MS	2000
#define KS_SYSLOG_HDR_MAX	512

struct syslog_sink {
	int fd;
	int type;		/* SOCK_DGRAM, SOCK_STREAM */
	bool local;		/* AF_UNIX, glibc's format */
	char host[256], port[8];
	char path[108];
};

static const struct {
	const char *name;
	int code;
} facilities[] = {
	{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 }, { "auth", 4 },
	{ "syslog", 5 }, { "lpr", 6 }, { "news", 7 }, { "uucp", 8 }, { "cron", 9 },
	{ "authpriv", 10 }, { "ftp", 11 }, { "local0", 16 }, { "local1", 17 },
	{ "local2", 18 }, { "local3", 19 }, { "local4", 20 }, { "local5", 21 },
	{ "local6", 22 }, { "local7", 23 },
};

static int syslog_param(struct ks_sink *s, const char *key, const char *val)
{
	size_t i;

	if (strcmp(key, "facility"))
		return -EINVAL;
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (!strcmp(val, facilities[i].name)) {
			s->facility = facilities[i].code;
			return 0;
		}
	}
	return -EINVAL;
}

static int syslog_new(struct ks_sink *s, int type, bool local)
{
	struct syslog_sink *y = calloc(1, sizeof(*y));

	if (!y)
		return -ENOMEM;
	y->fd = -1;
	y->type = type;
	y->local = local;
	s->priv = y;
	s->facility = 10;	/* authpriv: where security messages are kept */
	return 0;
}

static int parse_local(struct ks_sink *s, const char *rest, char *why, size_t len)
{
	int err = syslog_new(s, SOCK_DGRAM, true);
	struct syslog_sink *y = s->priv;
	const char *path = *rest ? rest : "/dev/log";

	if (err)
		return err;
	if (strlen(path) >= sizeof(y->path) || *path != '/') {
		snprintf(why, len, "syslog:PATH takes an absolute socket path of at most %zu bytes",
			 sizeof(y->path) - 1);
		return -EINVAL;
	}
	strcpy(y->path, path);
	return 0;
}

static int parse_net(struct ks_sink *s, const char *rest, int type, char *why, size_t len)
{
	int err = syslog_new(s, type, false);
	struct syslog_sink *y = s->priv;

	if (err)
		return err;
	if (ks_sink_hostport(rest, y->host, sizeof(y->host), y->port, sizeof(y->port))) {
		snprintf(why, len, "%s takes HOST:PORT, not \"%s\"", s->ops->scheme, rest);
		return -EINVAL;
	}
	return 0;
}

static int parse_udp(struct ks_sink *s, const char *rest, char *why, size_t len)
{
	return parse_net(s, rest, SOCK_DGRAM, why, len);
}

static int parse_tcp(struct ks_sink *s, const char *rest, char *why, size_t len)
{
	return parse_net(s, rest, SOCK_STREAM, why, len);
}

static int set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = KS_SYSLOG_TIMEOUT_MS / 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

/* connect(2) bounded by KS_SYSLOG_TIMEOUT_MS (SO_SNDTIMEO bounds it on Linux). */
static int connect_one(struct syslog_sink *y, const struct sockaddr *sa, socklen_t len,
		       int family)
{
	int fd = socket(family, y->type | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	err = set_timeouts(fd);
	if (!err && connect(fd, sa, len))
		err = errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	if (err) {
		close(fd);
		return err;
	}
	y->fd = fd;
	return 0;
}

static int syslog_open(struct ks_sink *s)
{
	struct syslog_sink *y = s->priv;
	struct addrinfo hints = { .ai_socktype = y->type }, *res, *ai;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int err;

	if (y->local) {
		strcpy(sun.sun_path, y->path);
		return connect_one(y, (struct sockaddr *)&sun, sizeof(sun), AF_UNIX);
	}
	err = getaddrinfo(y->host, y->port, &hints, &res);
	if (err)
		return err == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	err = -ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		err = connect_one(y, ai->ai_addr, ai->ai_addrlen, ai->ai_family);
		if (!err)
			break;
	}
	freeaddrinfo(res);
	return err;
}

/* Has a stream peer closed (or reset) the connection? */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return true;
	/* a syslog server sends nothing: data or EOF both end the stream */
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

static int header(const struct ks_sink *s, const struct syslog_sink *y, int level,
		  char *buf, size_t len)
{
	int pri = s->facility * 8 + level;
	struct timespec ts;
	struct tm tm;
	char t[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (y->local) {
		localtime_r(&ts.tv_sec, &tm);
		strftime(t, sizeof(t), "%b %e %H:%M:%S", &tm);
		return snprintf(buf, len, "<%d>%s kestrel[%d]: ", pri, t, (int)getpid());
	}
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	return snprintf(buf, len, "<%d>1 %s.%06ldZ %s kestrel %d alert - ", pri, t,
			ts.tv_nsec / 1000, ks_sink_hostname(), (int)getpid());
}

static int send_all(int fd, const struct iovec *iov, int n)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	struct iovec v[3];
	ssize_t w;
	int i;

	memcpy(v, iov, n * sizeof(*v));
	mh.msg_iov = v;
	for (;;) {
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		/* a stream may take part of it: skip what went */
		for (i = 0; i < (int)mh.msg_iovlen && (size_t)w >= mh.msg_iov[i].iov_len; i++)
			w -= mh.msg_iov[i].iov_len;
		if (i == (int)mh.msg_iovlen)
			return 0;
		mh.msg_iov += i;
		mh.msg_iovlen -= i;
		mh.msg_iov[0].iov_base = (char *)mh.msg_iov[0].iov_base + w;
		mh.msg_iov[0].iov_len -= w;
	}
}

static int syslog_send(struct ks_sink *s, const struct ks_line *l, enum ks_sink_err *why)
{
	struct syslog_sink *y = s->priv;
	char hdr[KS_SYSLOG_HDR_MAX], frame[24];
	size_t msg = l->len - 1;	/* without the '\n' */
	struct iovec iov[3];
	int n = 0, h, err;

	if (y->type == SOCK_STREAM && peer_gone(y->fd)) {
		*why = KS_SERR_CLOSED;
		return -ECONNRESET;
	}
	h = header(s, y, l->level, hdr, sizeof(hdr));
	if (y->type == SOCK_STREAM)
		iov[n++] = (struct iovec){ frame, snprintf(frame, sizeof(frame), "%zu ", h + msg) };
	iov[n++] = (struct iovec){ hdr, h };
	iov[n++] = (struct iovec){ (char *)l->text, msg };
	err = send_all(y->fd, iov, n);
	if (!err)
		return 0;
	if (err == -EMSGSIZE) {
		pr_warn("kload: output %s: an alert of %zu bytes is larger than a datagram may "
			"be; lost\n", s->name, msg);
		return KS_SINK_LOST;
	}
	*why = KS_SERR_WRITE;
	return err;
}

static void syslog_close(struct ks_sink *s)
{
	struct syslog_sink *y = s->priv;

	if (y->fd >= 0)
		close(y->fd);
	y->fd = -1;
}

static void syslog_free(struct ks_sink *s)
{
	free(s->priv);
}

#define SYSLOG_OPS(sc, p)							\
	{ .scheme = sc, .parse = p, .param = syslog_param, .open = syslog_open,	\
	  .send = syslog_send, .close = syslog_close, .free = syslog_free }

const struct ks_sink_ops ks_sink_syslog_ops = SYSLOG_OPS("syslog:", parse_local);
const struct ks_sink_ops ks_sink_syslog_udp_ops = SYSLOG_OPS("syslog+udp://", parse_udp);
const struct ks_sink_ops ks_sink_syslog_tcp_ops = SYSLOG_OPS("syslog+tcp://", parse_tcp);
