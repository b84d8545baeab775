// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Metrics endpoint on libmicrohttpd; loopback unless told otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "kestrel/http.h"
#include "kestrel/stats.h"

struct ks_http {
	struct MHD_Daemon *d;
	char pin_dir[256];
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code,
			     char *body, size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_len, void **con_cls)
{
	struct ks_http *h = cls;
	struct ks_snapshot s;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("GET only\n"), 9,
			     "text/plain");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, strdup("see /metrics\n"), 13, "text/plain");
	if (ks_snapshot_read(h->pin_dir, &s))
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, strdup("kestrel not attached\n"),
			     21, "text/plain");
	f = open_memstream(&body, &len);
	if (!f) {
		ks_snapshot_free(&s);
		return MHD_NO;
	}
	ks_snapshot_prometheus(&s, f);
	fclose(f);
	ks_snapshot_free(&s);
	return reply(c, MHD_HTTP_OK, body, len, "text/plain; version=0.0.4; charset=utf-8");
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
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;

	if (parse_addr(addr, &ss)) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	snprintf(h->pin_dir, sizeof(h->pin_dir), "%s", pin_dir);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, 16u,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!h->d) {
		free(h);
		errno = EADDRINUSE;
		return NULL;
	}
	return h;
}

void ks_http_stop(struct ks_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
