// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ks_xdp_main: network/packet events from XDP.
 *
 *   frame -> Ethernet [802.1Q|802.1AD]{0,2} -> IPv4 (options) | IPv6 (ext
 *   headers) -> TCP | UDP | other -> struct ks_event in softirq scratch
 *   -> ks_evaluate() -> XDP_DROP when a `block` rule completed, else XDP_PASS
 *
 * Parsing is a bounds-checked cursor over the linear part of the frame
 * (headers); the payload is copied with bpf_xdp_load_bytes(), which also
 * reads the fragments of a multi-buffer frame. A detector fails open on the
 * data path: whatever cannot be parsed passes, and is counted.
 *
 * Accounting for source "xdp" (total = filtered + forwarded + dropped):
 *   - IP packet:          evaluated; ks_evaluate() counts it exactly once
 *   - not IP (ARP, LLDP, ...): events + filtered, never evaluated
 *   - malformed/truncated: events + dropped{reason="parse"} (lost to
 *                          detection; the packet passes)
 *   - scratch busy:       events + dropped{reason="reentrant"}
 * and per packet either ks_stats.packets_pass or ks_stats.packets_drop.
 *
 * Event fields (struct ks_event, maps/ks_event.h):
 *   category network, action packet, source xdp, direction 1 (ingress),
 *   family 4/6, saddr/daddr (IPv4 as ::ffff:a.b.c.d), transport = IP
 *   protocol number (after IPv6 extension headers), sport/dport in host
 *   byte order (0 for protocols without ports), ifindex = ingress ifindex.
 *
 *   payload: the transport's data (after the TCP/UDP header; for other
 *   protocols everything after the IP header and its extension headers),
 *   bounded by the IP length (Ethernet padding is not payload), its first
 *   ks_cfg.payload_depth bytes (<= KS_PAYLOAD_MAX). Longer data sets the
 *   KS_F_PAYLOAD truncation bit (ks_evaluate counts truncations[KS_F_PAYLOAD]).
 *   An empty payload (pure ACK, empty datagram) is NULL: KS_P_PAYLOAD is set
 *   only when at least one byte was copied, so `payload != null` means
 *   "the packet carries data", and an empty value is never scanned.
 *   Non-first fragments (IPv4 offset != 0, IPv6 fragment header offset != 0)
 *   carry no transport header: ports 0, payload null.
 *
 *   observer.ingress.interface.name: XDP cannot read the net_device name,
 *   so ks_xdp_attach() (loader/xdp.c) records ifindex -> name in the
 *   ks_xdp_ifnames map for every interface it attaches to, and the program
 *   copies it from there (one hash lookup), so interface-name conditions are
 *   decided in the kernel. Without an entry (BPF_PROG_TEST_RUN, another
 *   loader) the name stays null here and kload fills it from ifindex in
 *   userspace (ks_xdp_fill_iface()).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ks_eval.bpf.h"
#include "ks_proto.bpf.h"


#define KS_XDP_VLAN_MAX		2	/* 802.1Q, or 802.1AD + 802.1Q (QinQ) */
#define KS_XDP_EXT_MAX		8	/* IPv6 extension headers followed */

/* Outcome of parsing one frame. */
#define KS_XDP_EVENT		0	/* IP packet: sc->ev is ready */
#define KS_XDP_NOT_IP		1	/* not IP: filtered without evaluation */
#define KS_XDP_MALFORMED	2	/* truncated or invalid: dropped[PARSE] */

/* Wire layouts, spelled out so the parser does not depend on vmlinux.h. */
struct ks_ethhdr {
	__u8 dst[6];
	__u8 src[6];
	__be16 proto;
};

struct ks_vlanhdr {
	__be16 tci;
	__be16 proto;
};

struct ks_ipv4hdr {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__be32 saddr;
	__be32 daddr;
};

struct ks_ipv6hdr {
	__be32 ver_tc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct ks_ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;		/* 8-octet units past the first 8 (AH: 4-octet - 2) */
	__be16 frag_off;	/* fragment header only */
	__be32 pad;
};

struct ks_tcphdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 res_doff;		/* data offset in the high nibble */
	__u8 flags;
	__be16 window;
	__be16 check;
	__be16 urg_ptr;
};

struct ks_udphdr {
	__be16 source;
	__be16 dest;
	__be16 len;
	__be16 check;
};

/*
 * ifindex -> interface name, written by ks_xdp_attach() for the interfaces
 * kload attaches to (value: NUL-padded name, KS_IFNAME_MAX bytes).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, char[KS_IFNAME_MAX]);
} ks_xdp_ifnames SEC(".maps");

static __always_inline void ks_xdp_count_verdict(int drop)
{
	struct ks_stats *st = ks_stats_get(KS_CTX_SOFTIRQ);

	if (!st)
		return;
	ks_count(drop ? &st->packets_drop : &st->packets_pass);
}

static __always_inline void ks_xdp_v4mapped(__u8 *dst, __be32 addr)
{
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

/* observer.ingress.interface.name from ks_xdp_ifnames, when recorded. */
static __always_inline void ks_xdp_iface_from_map(struct ks_event *ev)
{
	__u32 ifindex = ev->ifindex, n;
	const char *name;

	name = bpf_map_lookup_elem(&ks_xdp_ifnames, &ifindex);
	if (!name)
		return;
	__builtin_memcpy(ev->iface, name, KS_IFNAME_MAX);
	for (n = 0; n < KS_IFNAME_MAX; n++)
		if (!ev->iface[n])
			break;
	if (!n)
		return;
	ev->str[KS_F_IFACE_NAME].off = offsetof(struct ks_event, iface);
	ev->str[KS_F_IFACE_NAME].len = n;
	ev->present |= KS_P_IFACE;
}

/*
 * What the network and transport layers say, parsed before any event is
 * built: the early decisions (ks_xdp_no_match) need only this, and the
 * event is filled from it (ks_xdp_fill) when they do not decide.
 */
struct ks_xdp_pkt {
	__u8 saddr[16];		/* IPv4 as ::ffff:a.b.c.d */
	__u8 daddr[16];
	__u32 family;
	__u32 l4proto;
	__u32 sport, dport;	/* host byte order, 0 without ports */
	__u32 pay_off;		/* the payload: [pay_off, ip_end) of the frame */
	__u32 ip_end;
};

/*
 * Copy the payload (linear part and fragments) into its slot, cut at the
 * configured depth.
 */
static __always_inline int ks_xdp_payload(struct xdp_md *ctx, struct ks_scratch *sc,
					  __u32 off, __u32 len)
{
	struct ks_event *ev = &sc->ev;
	__u32 depth = ks_cfg.payload_depth, n;

	if (depth > KS_PAYLOAD_MAX)
		depth = KS_PAYLOAD_MAX;
	if (len > depth) {
		len = depth;
		ev->truncated |= 1u << KS_F_PAYLOAD;
	}
	if (!len)
		return 0;
	/*
	 * The helper wants a size the verifier knows is 1..KS_PAYLOAD_MAX:
	 * bound len - 1 on its own register, so clang cannot test one copy
	 * of the value and pass another.
	 */
	n = len - 1;
	barrier_var(n);
	if (n >= KS_PAYLOAD_MAX)
		return 0;
	if (bpf_xdp_load_bytes(ctx, off, ev->payload, n + 1))
		return -1;
	ev->str[KS_F_PAYLOAD].off = offsetof(struct ks_event, payload);
	ev->str[KS_F_PAYLOAD].len = n + 1;
	ev->present |= KS_P_PAYLOAD;
	return 0;
}

/*
 * The transport header, from offsets: a global function with scalar
 * arguments, so the verifier checks it once whatever path the network
 * layer took (IPv4 options, IPv6 extension chains). The header is read
 * with bpf_xdp_load_bytes(), which also reaches multi-buffer fragments.
 */
__noinline int ks_xdp_l4(struct xdp_md *ctx, struct ks_xdp_pkt *pk, __u32 l4_off,
			 __u32 has_l4)
{
	__u32 pay_off;

	if (!pk)
		return KS_XDP_MALFORMED;
	pk->pay_off = pk->ip_end;	/* no payload unless a first fragment has one */
	if (l4_off > pk->ip_end)
		return KS_XDP_MALFORMED;	/* extension headers beyond the IP length */
	if (!has_l4 || pk->l4proto == KS_IPPROTO_NONE)
		return KS_XDP_EVENT;
	if (pk->l4proto == KS_IPPROTO_TCP) {
		struct ks_tcphdr th;
		__u32 doff;

		if (bpf_xdp_load_bytes(ctx, l4_off, &th, sizeof(th)))
			return KS_XDP_MALFORMED;
		doff = (th.res_doff >> 4) * 4;
		if (doff < sizeof(th))
			return KS_XDP_MALFORMED;
		pk->sport = bpf_ntohs(th.source);
		pk->dport = bpf_ntohs(th.dest);
		pay_off = l4_off + doff;
	} else if (pk->l4proto == KS_IPPROTO_UDP) {
		struct ks_udphdr uh;

		if (bpf_xdp_load_bytes(ctx, l4_off, &uh, sizeof(uh)))
			return KS_XDP_MALFORMED;
		pk->sport = bpf_ntohs(uh.source);
		pk->dport = bpf_ntohs(uh.dest);
		pay_off = l4_off + sizeof(uh);
	} else {
		pay_off = l4_off;
	}
	if (pay_off > pk->ip_end)
		return KS_XDP_MALFORMED;	/* headers beyond the IP length */
	pk->pay_off = pay_off;
	return KS_XDP_EVENT;
}
static __always_inline int ks_ipv6_is_ext(__u32 nh)
{
	return nh == KS_IPPROTO_HOPOPTS || nh == KS_IPPROTO_ROUTING ||
	       nh == KS_IPPROTO_DSTOPTS || nh == KS_IPPROTO_FRAGMENT || nh == KS_IPPROTO_AH;
}

/*
 * Walk the IPv6 extension headers from *off; returns the upper-layer
 * protocol, or -1 when the chain is malformed or longer than we follow.
 * A scalar offset, not a packet pointer: the three header-length rules
 * would otherwise multiply the verifier's states with every header.
 */
static __always_inline int ks_ipv6_walk(struct xdp_md *ctx, __u32 nh, __u32 *off,
					__u32 *has_l4)
{
	__u32 i;

	for (i = 0; i < KS_XDP_EXT_MAX; i++) {
		struct ks_ipv6_ext x;

		if (!ks_ipv6_is_ext(nh))
			return nh;
		if (bpf_xdp_load_bytes(ctx, *off, &x, sizeof(x)))
			return -1;
		if (nh == KS_IPPROTO_FRAGMENT) {
			*off += 8;
			/* non-first fragment: the rest is fragment data */
			if (x.frag_off & bpf_htons(0xfff8)) {
				*has_l4 = 0;
				return x.nexthdr;
			}
		} else if (nh == KS_IPPROTO_AH) {
			*off += ((__u32)x.hdrlen + 2) * 4;
		} else {
			*off += ((__u32)x.hdrlen + 1) * 8;
		}
		nh = x.nexthdr;
	}
	return ks_ipv6_is_ext(nh) ? -1 : (int)nh;
}

/* Where the network layer leaves the transport layer (offsets from data). */
struct ks_xdp_l3 {
	__u32 l4_off;		/* the transport header */
	__u32 has_l4;		/* 0: a non-first fragment */
};

/*
 * The link layer: Ethernet and up to KS_XDP_VLAN_MAX tags. The network
 * header, its EtherType in *proto, or NULL for a malformed frame.
 */
static __always_inline void *ks_xdp_l2(void *data, void *end, __be16 *proto)
{
	struct ks_ethhdr *eth = data;
	void *pos;
	__u32 i;

	if ((void *)(eth + 1) > end)
		return NULL;
	*proto = eth->proto;
	pos = eth + 1;
#pragma unroll
	for (i = 0; i < KS_XDP_VLAN_MAX; i++) {
		struct ks_vlanhdr *vh = pos;

		if (*proto != bpf_htons(KS_ETH_P_8021Q) && *proto != bpf_htons(KS_ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return NULL;
		*proto = vh->proto;
		pos = vh + 1;
	}
	/* a third tag: an encapsulation we do not inspect */
	if (*proto == bpf_htons(KS_ETH_P_8021Q) || *proto == bpf_htons(KS_ETH_P_8021AD))
		return NULL;
	return pos;
}

/* IPv4 header at pos: addresses into pk, the rest into l3. */
static __always_inline int ks_xdp_ipv4(void *data, void *pos, void *end, struct ks_xdp_pkt *pk,
				       struct ks_xdp_l3 *l3)
{
	struct ks_ipv4hdr *ip = pos;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > end)
		return KS_XDP_MALFORMED;
	hlen = (ip->ver_ihl & 0xf) * 4;
	tot = bpf_ntohs(ip->tot_len);
	if ((ip->ver_ihl >> 4) != 4 || hlen < sizeof(*ip) || tot < hlen)
		return KS_XDP_MALFORMED;
	if (pos + hlen > end)
		return KS_XDP_MALFORMED;	/* options cut */
	pk->family = 4;
	ks_xdp_v4mapped(pk->saddr, ip->saddr);
	ks_xdp_v4mapped(pk->daddr, ip->daddr);
	pk->l4proto = ip->protocol;
	if (ip->frag_off & bpf_htons(0x1fff))
		l3->has_l4 = 0;	/* non-first fragment */
	pk->ip_end = (pos - data) + tot;
	l3->l4_off = (pos - data) + hlen;
	return KS_XDP_EVENT;
}

/* IPv6 header at pos and its extension headers: addresses into pk, the rest into l3. */
static __always_inline int ks_xdp_ipv6(struct xdp_md *ctx, void *data, void *pos, void *end,
				       struct ks_xdp_pkt *pk, struct ks_xdp_l3 *l3, __u32 frame_len)
{
	struct ks_ipv6hdr *ip6 = pos;
	__u32 plen;
	int nh;

	if ((void *)(ip6 + 1) > end)
		return KS_XDP_MALFORMED;
	if ((bpf_ntohl(ip6->ver_tc_flow) >> 28) != 6)
		return KS_XDP_MALFORMED;
	pk->family = 6;
	__builtin_memcpy(pk->saddr, ip6->saddr, 16);
	__builtin_memcpy(pk->daddr, ip6->daddr, 16);
	plen = bpf_ntohs(ip6->payload_len);
	pk->ip_end = (pos - data) + sizeof(*ip6) + plen;
	if (!plen)	/* jumbogram: the frame is the limit */
		pk->ip_end = frame_len;
	l3->l4_off = (pos - data) + sizeof(*ip6);
	nh = ks_ipv6_walk(ctx, ip6->nexthdr, &l3->l4_off, &l3->has_l4);
	if (nh < 0)
		return KS_XDP_MALFORMED;
	pk->l4proto = nh;
	return KS_XDP_EVENT;
}

/*
 * Parse the frame's headers into *pk: link and network layers with a
 * bounds-checked cursor, then ks_xdp_l4(). No event yet: the early
 * decisions need only these fields. A global function: verified once,
 * and the packet cursor's states stay out of the evaluator's.
 */
__noinline int ks_xdp_parse(struct xdp_md *ctx, struct ks_xdp_pkt *pk)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ks_xdp_l3 l3 = { .has_l4 = 1 };
	__u32 frame_len;
	__be16 proto;
	void *pos;
	int ret;

	if (!pk)
		return KS_XDP_MALFORMED;
	frame_len = bpf_xdp_get_buff_len(ctx);
	pos = ks_xdp_l2(data, end, &proto);
	if (!pos)
		return KS_XDP_MALFORMED;
	if (proto == bpf_htons(KS_ETH_P_IP))
		ret = ks_xdp_ipv4(data, pos, end, pk, &l3);
	else if (proto == bpf_htons(KS_ETH_P_IPV6))
		ret = ks_xdp_ipv6(ctx, data, pos, end, pk, &l3, frame_len);
	else
		return KS_XDP_NOT_IP;
	if (ret != KS_XDP_EVENT)
		return ret;
	if (pk->ip_end > frame_len)
		return KS_XDP_MALFORMED;	/* IP length beyond the frame */
	return ks_xdp_l4(ctx, pk, l3.l4_off, l3.has_l4);
}

/* The event in sc->ev from the parsed headers, and the payload copied. */
static __always_inline int ks_xdp_fill(struct xdp_md *ctx, struct ks_scratch *sc,
				       const struct ks_xdp_pkt *pk)
{
	struct ks_event *ev = &sc->ev;

	ks_event_due(sc);
	ev->category = KS_CAT_NETWORK;
	ev->action = KS_ACT_PACKET;
	ev->source = KS_SRC_XDP;
	ev->direction = 1;
	ev->family = pk->family;
	ev->transport = pk->l4proto;
	ev->sport = pk->sport;
	ev->dport = pk->dport;
	__builtin_memcpy(ev->saddr, pk->saddr, 16);
	__builtin_memcpy(ev->daddr, pk->daddr, 16);
	ev->ifindex = ctx->ingress_ifindex;
	ev->present |= KS_P_NET;
	ks_xdp_iface_from_map(ev);
	return ks_xdp_payload(ctx, sc, pk->pay_off, pk->ip_end - pk->pay_off);
}

/*
 * Whether no step can match the packet, decided from the tables and the
 * headers alone, before any scratch is claimed or payload copied: its
 * protocol and ports are not admitted by the tables' packet filter
 * (struct ks_net_filter, maps/ks_tables.h), or, with no
 * step in the category lists (steps without a string atom), a step is a
 * candidate only when an atom of a field the packet carries hits: the
 * payload or the interface name (ks_evaluate's candidate sources). Such a
 * packet would be counted filtered by ks_evaluate; it is counted so here.
 */
static __always_inline int ks_xdp_no_match(struct ks_tables *t, const struct ks_xdp_pkt *pk)
{
	const struct ks_dfa_auto *pay = t->dfa_hdr.autos[KS_F_PAYLOAD];
	const struct ks_dfa_auto *ifn = t->dfa_hdr.autos[KS_F_IFACE_NAME];

	if (!ks_net_admits(&t->net, pk->l4proto, pk->sport, pk->dport))
		return 1;
	if ((t->cat_first[KS_CAT_ANY] & 0xffff) || (t->cat_first[KS_CAT_NETWORK] & 0xffff))
		return 0;
	if (ifn[0].start || ifn[1].start)
		return 0;
	return pk->pay_off >= pk->ip_end || (!pay[0].start && !pay[1].start);
}

/* events, filtered and packets_pass in one lookup of the counters */
static __always_inline int ks_xdp_filtered(const struct ks_xdp_pkt *pk)
{
	struct ks_stats *st = ks_stats_get(KS_CTX_SOFTIRQ);
	__u32 depth = ks_cfg.payload_depth;

	if (!st)
		return XDP_PASS;
	ks_count(&st->events[KS_SRC_XDP]);
	ks_count(&st->filtered[KS_SRC_XDP]);
	ks_count(&st->packets_pass);
	/* ks_evaluate counts the cut of every event it sees; so here */
	if (pk && pk->ip_end - pk->pay_off > (depth < KS_PAYLOAD_MAX ? depth : KS_PAYLOAD_MAX))
		st->truncations[KS_F_PAYLOAD]++;
	return XDP_PASS;
}

SEC("xdp")
int ks_xdp_main(struct xdp_md *ctx)
{
	struct ks_xdp_pkt pk = {};
	struct ks_tables *t;
	struct ks_scratch *sc;
	int ret, drop;

	/* one generation for the packet, from here to the verdict */
	t = ks_tables_current();
	/* no packet rules: count and pass without parsing */
	if (!ks_tables_want(t, KS_ACT_PACKET))
		return ks_xdp_filtered(NULL);
	ret = ks_xdp_parse(ctx, &pk);
	if (ret == KS_XDP_NOT_IP)
		return ks_xdp_filtered(NULL);
	if (ret != KS_XDP_EVENT) {
		ks_count_drop(KS_CTX_SOFTIRQ, KS_SRC_XDP, KS_DROP_PARSE);
		ks_xdp_count_verdict(0);
		return XDP_PASS;
	}
	if (t && ks_xdp_no_match(t, &pk))
		return ks_xdp_filtered(&pk);
	sc = ks_scratch_get(KS_CTX_SOFTIRQ);
	if (!sc) {
		ks_count_drop(KS_CTX_SOFTIRQ, KS_SRC_XDP, KS_DROP_REENTRANT);
		ks_xdp_count_verdict(0);
		return XDP_PASS;
	}
	if (ks_xdp_fill(ctx, sc, &pk)) {
		ks_scratch_put(sc);
		ks_count_drop(KS_CTX_SOFTIRQ, KS_SRC_XDP, KS_DROP_PARSE);
		ks_xdp_count_verdict(0);
		return XDP_PASS;
	}
	/* a payload cut at the depth is counted by ks_evaluate, like every field */
	ks_evaluate_in(t, sc, KS_CTX_SOFTIRQ, KS_SRC_XDP, KS_CAN_DENY);
	drop = !!(sc->ev.verdict.flags & KS_V_DENIED);
	ks_scratch_put(sc);
	ks_xdp_count_verdict(drop);
	return drop ? XDP_DROP : XDP_PASS;
}
