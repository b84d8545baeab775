// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * destination.domain from the host's DNS answers (bpf/hook_dns.bpf.c,
 * loader/dns.c). A child in a network namespace of its own (never the
 * host's interfaces) runs a DNS responder on 127.0.0.1:53, resolves one
 * name over UDP and one over TCP, and connects to each answer's address
 * and to an address no answer named. The rules' tables make kload load
 * the DNS program (KS_NEED_DNS); a session like attach's (pipeline and
 * alerts) reads the ring buffer, and the alerts must carry the names of
 * the two resolved destinations, and none for the third, whose
 * DestinationHostname-style test is then false.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kestrel/output.h"
#include "maps/ks_dns.h"
#include "netns.h"
#include "testutil.h"
#include "test_progs.h"

#define ST_DRAIN_MS	300
#define ST_UDP_NAME	"c2.kestrel.test"
#define ST_TCP_NAME	"c2-tcp.kestrel.test"
#define ST_UDP_ADDR	"127.0.0.2"	/* all of 127/8 is the namespace's lo */
#define ST_TCP_ADDR	"127.0.0.4"
#define ST_NONE_ADDR	"127.0.0.3"

/* A query for name (type A, id 0x4b53): its length in q. */
static size_t query(const char *name, unsigned char *q)
{
	static const unsigned char head[12] = { 0x4b, 0x53, 0x01, 0x00, 0, 1 };
	size_t n = sizeof(head);
	const char *l = name, *dot;

	memcpy(q, head, n);
	do {
		dot = strchr(l, '.');
		q[n] = (unsigned char)(dot ? (size_t)(dot - l) : strlen(l));
		memcpy(q + n + 1, l, q[n]);
		n += 1 + q[n];
		l = dot + 1;
	} while (dot);
	q[n++] = 0;
	memcpy(q + n, "\0\1\0\1", 4);	/* A, IN */
	return n + 4;
}

/* The response to query q[0..n): one A record of addr, TTL 300, its length in q. */
static size_t answer(unsigned char *q, size_t n, const char *addr)
{
	static const unsigned char rr[12] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4 };

	q[2] = 0x81;	/* QR, RD */
	q[3] = 0x80;	/* RA, NOERROR */
	q[7] = 1;	/* one answer */
	memcpy(q + n, rr, sizeof(rr));
	inet_pton(AF_INET, addr, q + n + sizeof(rr));
	return n + sizeof(rr) + 4;
}

static struct sockaddr_in sin_of(const char *addr, int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, addr, &in.sin_addr);
	return in;
}

/* Resolve name over UDP: the responder's answer reaches the client from port 53. */
static int resolve_udp(const char *name, const char *addr)
{
	struct sockaddr_in dns = sin_of("127.0.0.1", 53), from;
	socklen_t flen = sizeof(from);
	unsigned char m[512];
	int srv = socket(AF_INET, SOCK_DGRAM, 0), cli = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n = -1;

	if (srv >= 0 && cli >= 0 && !bind(srv, (void *)&dns, sizeof(dns)) &&
	    sendto(cli, m, query(name, m), 0, (void *)&dns, sizeof(dns)) > 0 &&
	    (n = recvfrom(srv, m, sizeof(m) - 32, 0, (void *)&from, &flen)) > 0)
		n = sendto(srv, m, answer(m, n, addr), 0, (void *)&from, flen) > 0 ?
		    recv(cli, m, sizeof(m), 0) : -1;
	close(srv);
	close(cli);
	return n > 0 ? 0 : -1;
}

/* Resolve name over TCP (RFC 7766: each message after its two-byte length). */
static int resolve_tcp(const char *name, const char *addr)
{
	struct sockaddr_in dns = sin_of("127.0.0.1", 53);
	unsigned char m[512];
	int srv = socket(AF_INET, SOCK_STREAM, 0), cli = socket(AF_INET, SOCK_STREAM, 0);
	int conn = -1, one = 1;
	ssize_t n = -1;
	size_t len;

	setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (srv >= 0 && cli >= 0 && !bind(srv, (void *)&dns, sizeof(dns)) && !listen(srv, 1) &&
	    !connect(cli, (void *)&dns, sizeof(dns)) && (conn = accept(srv, NULL, NULL)) >= 0) {
		len = query(name, m + 2);
		m[0] = 0;
		m[1] = (unsigned char)len;
		if (send(cli, m, len + 2, 0) > 0 && (n = recv(conn, m, sizeof(m) - 32, 0)) > 2) {
			len = answer(m + 2, (size_t)n - 2, addr);
			m[1] = (unsigned char)len;
			n = send(conn, m, len + 2, 0) > 0 ? recv(cli, m, sizeof(m), 0) : -1;
		}
	}
	close(conn);
	close(srv);
	close(cli);
	return n > 0 ? 0 : -1;
}

/* A TCP connect to addr:port (the listener takes any address of lo). */
static void connect_to(const char *addr, int port)
{
	struct sockaddr_in in = sin_of(addr, port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0)
		connect(fd, (void *)&in, sizeof(in));
	close(fd);
}

/* The child: its own netns with lo up, the lookups, the connects. */
static int child(int port)
{
	struct sockaddr_in any = sin_of("0.0.0.0", port);
	int l, ns = ks_netns_new();

	if (ns < 0 || ks_netns_enter(ns) || ks_nl_link_up(1))
		return 2;
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (void *)&any, sizeof(any)) || listen(l, 8))
		return 3;
	if (resolve_udp(ST_UDP_NAME, ST_UDP_ADDR) || resolve_tcp(ST_TCP_NAME, ST_TCP_ADDR))
		return 4;
	connect_to(ST_UDP_ADDR, port);
	connect_to(ST_TCP_ADDR, port);
	connect_to(ST_NONE_ADDR, port);
	return 0;
}

static const char *const st_rules =
	"- rule: st_domain\n"
	"  name: connect to a resolved selftest name\n"
	"  severity: low\n"
	"  query: |\n"
	"    network where event.action == \"connection_attempted\" and\n"
	"      destination.domain : \"*.kestrel.test\" and destination.port == %d\n"
	"- rule: st_port\n"
	"  name: every connect to the selftest port\n"
	"  severity: low\n"
	"  query: |\n"
	"    network where event.action == \"connection_attempted\" and\n"
	"      destination.port == %d\n";

/* The lines of text holding both needles. */
static int lines_with(const char *text, const char *a, const char *b)
{
	const char *l = text, *nl;
	char line[8192];
	int n = 0;

	for (; l && *l; l = nl ? nl + 1 : NULL) {
		nl = strchr(l, '\n');
		snprintf(line, sizeof(line), "%.*s", nl ? (int)(nl - l) : (int)strlen(l), l);
		n += strstr(line, a) && strstr(line, b);
	}
	return n;
}

static void check_alerts(const char *text)
{
	ASSERT_EQ(lines_with(text, "\"id\":\"st_domain\"",
			     "\"domain\":\"" ST_UDP_NAME "\",\"ip\":\"" ST_UDP_ADDR "\""),
		  1, "UDP-resolved destination named");
	ASSERT_EQ(lines_with(text, "\"id\":\"st_domain\"",
			     "\"domain\":\"" ST_TCP_NAME "\",\"ip\":\"" ST_TCP_ADDR "\""),
		  1, "TCP-resolved destination named");
	ASSERT_EQ(lines_with(text, "\"id\":\"st_domain\"", "\"ip\":\"" ST_NONE_ADDR "\""),
		  0, "unnamed destination: the domain test is false");
	ASSERT_EQ(lines_with(text, "\"id\":\"st_port\"",
			     "\"destination\":{\"ip\":\"" ST_NONE_ADDR "\""),
		  1, "unnamed destination: no domain printed");
}

/* A session as attach's: pipeline, alerts in memory, on the engine's ring buffer. */
static int open_session(struct ks_session *s, struct ks_tenv *te, const char *yaml)
{
	struct ks_session_opts so = { .clock = KS_CLOCK_BOOT, .alerts = ks_output_memory() };
	struct ks_ruleset *rs = ks_ruleset_new();

	if (!so.alerts || !rs || ks_ruleset_load_string(rs, yaml, "<selftest>") ||
	    ks_session_init(s, &so) || ks_pipeline_set_rules(s->p, rs, te->t))
		return -1;
	return ks_session_open_rb(s, ks_engine_events_fd(&te->e));
}

static void run(struct ks_tenv *te, struct ks_session *s, int port)
{
	struct ks_stats st;
	int status = -1, i;
	pid_t pid = fork();

	if (pid == 0)
		_exit(child(port));
	if (!ASSERT_GE(pid, 0, "fork"))
		return;
	waitpid(pid, &status, 0);
	if (!ASSERT_EQ(status, 0, "child resolved and connected"))
		return;
	for (i = 0; i < 5; i++)
		ks_session_poll(s, ST_DRAIN_MS / 5);
	check_alerts(ks_output_text(s->o.alerts, NULL));
	if (ASSERT_OK(ks_tenv_stats(te, &st), "stats"))
		ASSERT_GE(st.dns_forwarded, 2, "answers forwarded");
}

void test_dns(void)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL };
	struct ks_output *alerts;
	struct ks_session s = {};
	struct ks_tenv te = {};
	char yaml[1024];
	int port = 20000 + getpid() % 20000;

	snprintf(yaml, sizeof(yaml), st_rules, port, port);
	if (!ASSERT_OK(ks_tenv_compile(&te, yaml), "compile") ||
	    !ASSERT_TRUE(te.t->hdr.action_mask & KS_NEED_DNS, "the rules need DNS answers"))
		goto out;
	o.need = KS_NEED_SET | te.t->hdr.action_mask;
	if (!ASSERT_OK(ks_tenv_load(&te, &o), "load") ||
	    !ASSERT_TRUE(ks_engine_prog(&te.e, "ks_all_dns") != NULL, "DNS program loaded") ||
	    !ASSERT_OK(ks_tenv_attach(&te), "attach") ||
	    !ASSERT_OK(open_session(&s, &te, yaml), "session"))
		goto out;
	run(&te, &s, port);
out:
	alerts = s.o.alerts;
	ks_session_fini(&s);
	if (alerts)
		ks_output_close(alerts);
	ks_tenv_close(&te);
}
