// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The DNS answers the host receives, for destination.domain (maps/ks_dns.h,
 * loader/dns.c). A cgroup_skb/ingress program on the root of the cgroup v2
 * hierarchy: it sees every packet delivered to a socket of any process of
 * the host (every cgroup is under the root; any network namespace; UDP
 * after reassembly), needs neither kprobes, fentry nor BPF LSM, and
 * always lets the packet pass. It copies the DNS message of a UDP
 * datagram or TCP segment from port 53, bounded (KS_DNS_MSG_MAX), into
 * the events ring buffer, and only while the installed rules read names
 * (KS_NEED_DNS in their action mask): parsing it is kload's.
 *
 * Not seen: answers over DNS-over-TLS/HTTPS (encrypted: no name to
 * read), IPv6 packets with extension headers before the transport header,
 * and the continuation segments of a TCP answer (the segment that starts
 * the message is copied; kload reads its whole records).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ks_eval.bpf.h"
#include "ks_proto.bpf.h"
#include "maps/ks_dns.h"

#define KS_DNS_PORT	53

/* Do the installed rules read names from DNS answers? No tables: no. */
static __always_inline int ks_dns_wanted(void)
{
	struct ks_tables *t = ks_tables_current();

	return t && (t->hdr.action_mask & KS_NEED_DNS);
}

/* The transport header's offset in skb (from its network header), or -1. */
static __always_inline int ks_dns_l4(struct __sk_buff *skb, __u8 *proto)
{
	struct ipv6hdr ip6;
	struct iphdr ip;

	if (skb->protocol == bpf_htons(KS_ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		*proto = ip.protocol;
		return ip.ihl * 4;
	}
	if (skb->protocol == bpf_htons(KS_ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		*proto = ip6.nexthdr;	/* extension headers are not followed */
		return sizeof(ip6);
	}
	return -1;
}

/*
 * Where the DNS message of a packet from port 53 starts in skb, and its
 * length as the packet says (*len; TCP: the length prefix), or -1.
 */
static __always_inline int ks_dns_msg(struct __sk_buff *skb, __u32 *len, __u8 *tcp)
{
	struct tcphdr th;
	struct udphdr uh;
	__u16 prefix;
	__u8 proto = 0;
	int off = ks_dns_l4(skb, &proto);

	if (off < 0)
		return -1;
	if (proto == KS_IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)) ||
		    uh.source != bpf_htons(KS_DNS_PORT))
			return -1;
		*len = bpf_ntohs(uh.len) - sizeof(uh);
		*tcp = 0;
		return off + sizeof(uh);
	}
	if (proto != KS_IPPROTO_TCP || bpf_skb_load_bytes(skb, off, &th, sizeof(th)) ||
	    th.source != bpf_htons(KS_DNS_PORT))
		return -1;
	off += th.doff * 4;
	if (bpf_skb_load_bytes(skb, off, &prefix, sizeof(prefix)))
		return -1;	/* no payload: a handshake or a bare ACK */
	*len = bpf_ntohs(prefix);
	*tcp = 1;
	return off + sizeof(prefix);
}

static __always_inline void ks_dns_count(int forwarded)
{
	__u32 ctx = KS_CTX_SOFTIRQ;
	struct ks_stats *st = bpf_map_lookup_elem(&ks_stats, &ctx);

	if (!st)
		return;
	if (forwarded)
		st->dns_forwarded++;
	else
		st->dns_dropped++;
}

/* Copy the message at off (len bytes by the packet, fewer if it ends first). */
static __always_inline void ks_dns_forward(struct __sk_buff *skb, int off, __u32 len, __u8 tcp)
{
	struct ks_dns_rec *r;
	__u32 n = len;

	if (skb->len > (__u32)off && n > skb->len - off)
		n = skb->len - off;
	if (n < KS_DNS_HDR_LEN || skb->len <= (__u32)off)
		return;
	if (n > KS_DNS_MSG_MAX)
		n = KS_DNS_MSG_MAX;
	r = bpf_ringbuf_reserve(&ks_events, sizeof(*r), 0);
	if (!r) {
		ks_dns_count(0);
		return;
	}
	/* [1, KS_DNS_MSG_MAX] in a form the verifier bounds */
	barrier_var(n);
	n = ((n - 1) & (KS_DNS_MSG_MAX - 1)) + 1;
	if (bpf_skb_load_bytes(skb, off, r->msg, n)) {
		bpf_ringbuf_discard(r, 0);
		return;
	}
	r->magic = KS_DNS_MAGIC;
	r->len = n;
	r->tcp = tcp;
	r->cut = len > n;
	r->ts_ns = bpf_ktime_get_boot_ns();
	bpf_ringbuf_submit(r, ks_rb_wakeup_flags());	/* batched, as events are */
	ks_dns_count(1);
}

SEC("cgroup_skb/ingress")
int ks_all_dns(struct __sk_buff *skb)
{
	__u32 len = 0;
	__u8 tcp = 0;
	int off;

	if (!ks_dns_wanted())
		return 1;
	off = ks_dns_msg(skb, &len, &tcp);
	if (off >= 0)
		ks_dns_forward(skb, off, len, tcp);
	return 1;	/* observe only: the packet passes */
}
