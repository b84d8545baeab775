// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Metrics endpoint: GET /metrics over HTTP/1.x, loopback unless told
 * otherwise. One thread answers one connection at a time and closes it
 * (a scraper asks every few seconds); a client gets KS_HTTP_TIMEOUT_MS
 * to send its request head. Hand-written rather than libmicrohttpd,
 * which brings gnutls and its dependencies (about 2.3 MiB of resident
 * shared libraries) for the one plain-text page kload serves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kestrel/clock.h"
#include "kestrel/http.h"
#include "kestrel/stats.h"

#define KS_HTTP_HEAD_MAX	8192
#define KS_HTTP_TIMEOUT_MS	5000

struct ks_http {
	int lfd;
	int stop[2];		/* a byte on stop[1] ends the thread */
	pthread_t tid;
	char pin_dir[256];
};

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= n;
	}
}

static void reply(int fd, const char *status, const char *type, const char *body, size_t len,
		  int head_only)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, type, len);

	send_all(fd, hdr, n);
	if (!head_only)
		send_all(fd, body, len);
}

static void reply_text(int fd, const char *status, const char *text, int head_only)
{
	reply(fd, status, "text/plain", text, strlen(text), head_only);
}

static void serve_metrics(struct ks_http *h, int fd, int head_only)
{
	struct ks_snapshot s;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	if (ks_snapshot_read(h->pin_dir, &s)) {
		reply_text(fd, "503 Service Unavailable", "kestrel not attached\n", head_only);
		return;
	}
	f = open_memstream(&body, &len);
	if (f) {
		ks_snapshot_prometheus(&s, f);
		fclose(f);
		reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, len,
		      head_only);
	}
	free(body);
	ks_snapshot_free(&s);
}

/* The request head ("...\r\n\r\n") into buf; its length, or -1. */
static int read_head(int fd, char *buf, size_t size)
{
	long deadline = (long)(ks_mono_ns() / 1000000) + KS_HTTP_TIMEOUT_MS;
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = deadline - (long)(ks_mono_ns() / 1000000);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return -1;
		n = recv(fd, buf + len, size - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += n;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return len;
	}
	return -1;
}

/* "METHOD /path[?query] HTTP/1.x": answer it. */
static void handle(struct ks_http *h, int fd)
{
	char buf[KS_HTTP_HEAD_MAX], method[16], url[1024];
	int head_only;

	if (read_head(fd, buf, sizeof(buf)) < 0)
		return;
	if (sscanf(buf, "%15s %1023s HTTP/1.%*c", method, url) != 2) {
		reply_text(fd, "400 Bad Request", "bad request\n", 0);
		return;
	}
	head_only = !strcmp(method, "HEAD");
	url[strcspn(url, "?")] = 0;
	if (strcmp(method, "GET") && !head_only)
		reply_text(fd, "405 Method Not Allowed", "GET only\n", 0);
	else if (strcmp(url, "/metrics"))
		reply_text(fd, "404 Not Found", "see /metrics\n", head_only);
	else
		serve_metrics(h, fd, head_only);
}

static void *serve(void *arg)
{
	struct ks_http *h = arg;
	struct pollfd p[2] = {
		{ .fd = h->lfd, .events = POLLIN }, { .fd = h->stop[0], .events = POLLIN },
	};

	for (;;) {
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		handle(h, fd);
		close(fd);
	}
	return NULL;
}

static int parse_addr(const char *spec, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[128] = "127.0.0.1";
	const char *colon = strrchr(spec, ':');
	long port;
	char *end;

	if (colon) {
		size_t n = colon - spec;

		if (n >= sizeof(host))
			return -EINVAL;
		if (n) {
			memcpy(host, spec, n);
			host[n] = 0;
		}
		spec = colon + 1;
	}
	port = strtol(spec, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	if (host[0] == '[') {	/* [::1] */
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			return -EINVAL;
		memmove(host, host + 1, n - 2);
		host[n - 2] = 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

struct ks_http *ks_http_start(const char *addr, const char *pin_dir)
{
	struct sockaddr_storage ss;
	struct ks_http *h;
	int one = 1, err;

	if (parse_addr(addr, &ss)) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	snprintf(h->pin_dir, sizeof(h->pin_dir), "%s", pin_dir);
	h->stop[0] = h->stop[1] = -1;
	h->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->lfd < 0)
		goto fail;
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->lfd, (struct sockaddr *)&ss, ss.ss_family == AF_INET6 ?
		 sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) ||
	    listen(h->lfd, 16) || pipe2(h->stop, O_CLOEXEC))
		goto fail;
	err = pthread_create(&h->tid, NULL, serve, h);
	if (!err)
		return h;
	errno = err;
fail:
	err = errno;
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->stop[0] >= 0) {
		close(h->stop[0]);
		close(h->stop[1]);
	}
	free(h);
	errno = err;
	return NULL;
}

void ks_http_stop(struct ks_http *h)
{
	if (!h)
		return;
	if (write(h->stop[1], "", 1) == 1)
		pthread_join(h->tid, NULL);
	close(h->lfd);
	close(h->stop[0]);
	close(h->stop[1]);
	free(h);
}
